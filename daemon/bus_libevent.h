/*
 * bus_libevent.h - hiredis on the libevent loop, without an epoll_ctl per command.
 *
 * Owns: bus_libevent_attach, the adapter of the bus's busy connections (the command
 * connection, every department consumer's). hiredis's own adapter
 * (hiredis/adapters/libevent.h) adds the write event for every command and deletes
 * it once written, and re-adds its one-shot read event after every read: with
 * libevent's epoll backend that is four epoll_ctl calls per round trip, about a
 * third of hotlined's system calls while it dispatches (issue 16). Here the read
 * event persists (added once), and a command queued on a connected context only
 * makes the write event active for the next loop pass, which writes without asking
 * epoll; only a write the socket could not take in full (EAGAIN), or the connect
 * (hiredis learns it from the first writability), waits for writability in epoll.
 * Never: touches a context after hiredis may have freed it (a write can end in a
 * disconnect that frees it and these events: the write callback remembers which
 * events it serves in a static, never through them).
 * Callers: daemon/bus_redis.c (bus_open_context).
 */
#ifndef HOTLINE_BUS_LIBEVENT_H
#define HOTLINE_BUS_LIBEVENT_H

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdlib.h>

struct bus_libevent {
	redisAsyncContext *context;
	struct event *rev, *wev;
	bool reading;	    /* rev added (it persists) */
	bool write_waiting; /* wev added: waiting for writability in epoll */
};

/* The events whose write callback is running: hiredis asking to write again from
 * inside it means the socket did not take everything, so wait for writability. */
static struct bus_libevent *bus_libevent_writing;

static void bus_libevent_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct bus_libevent *e = arg;
	(void)fd;
	(void)what;
	redisAsyncHandleRead(e->context);
}

static void bus_libevent_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct bus_libevent *e = arg;
	(void)fd;
	(void)what;
	/* A one-shot event is off the loop once it runs, however it was triggered. */
	e->write_waiting = false;
	bus_libevent_writing = e;
	redisAsyncHandleWrite(e->context); /* may free e */
	bus_libevent_writing = NULL;
}

static void bus_libevent_add_read(void *privdata)
{
	struct bus_libevent *e = privdata;
	if (!e->reading) {
		event_add(e->rev, NULL);
		e->reading = true;
	}
}

/* Takes ev off the loop if *added says it is on. */
static void bus_libevent_off(struct event *ev, bool *added)
{
	if (*added)
		event_del(ev);
	*added = false;
}

static void bus_libevent_del_read(void *privdata)
{
	struct bus_libevent *e = privdata;
	bus_libevent_off(e->rev, &e->reading);
}

static void bus_libevent_add_write(void *privdata)
{
	struct bus_libevent *e = privdata;
	if (e->write_waiting)
		return;
	if (e == bus_libevent_writing || !(e->context->c.flags & REDIS_CONNECTED)) {
		event_add(e->wev, NULL);
		e->write_waiting = true;
		return;
	}
	/* Write at the next loop pass, with every command queued meanwhile. Making an
	 * event active asks the kernel nothing; twice is once. */
	event_active(e->wev, EV_WRITE, 1);
}

static void bus_libevent_del_write(void *privdata)
{
	struct bus_libevent *e = privdata;
	bus_libevent_off(e->wev, &e->write_waiting);
}

static void bus_libevent_cleanup(void *privdata)
{
	struct bus_libevent *e = privdata;
	if (bus_libevent_writing == e)
		bus_libevent_writing = NULL;
	event_free(e->rev); /* also takes an active write off the loop */
	event_free(e->wev);
	free(e);
}

/* Attaches ac to base (instead of redisLibeventAttach). REDIS_ERR when something is
 * attached already or out of memory. */
static inline int bus_libevent_attach(redisAsyncContext *ac, struct event_base *base)
{
	if (ac->ev.data != NULL)
		return REDIS_ERR;
	struct bus_libevent *e = calloc(1, sizeof(*e));
	if (!e)
		return REDIS_ERR;
	e->context = ac;
	e->rev = event_new(base, ac->c.fd, EV_READ | EV_PERSIST, bus_libevent_on_read, e);
	e->wev = event_new(base, ac->c.fd, EV_WRITE, bus_libevent_on_write, e);
	if (!e->rev || !e->wev) {
		if (e->rev)
			event_free(e->rev);
		if (e->wev)
			event_free(e->wev);
		free(e);
		return REDIS_ERR;
	}
	ac->ev.addRead = bus_libevent_add_read;
	ac->ev.delRead = bus_libevent_del_read;
	ac->ev.addWrite = bus_libevent_add_write;
	ac->ev.delWrite = bus_libevent_del_write;
	ac->ev.cleanup = bus_libevent_cleanup;
	ac->ev.data = e;
	/* As hiredis's adapter: read, and wait for the connect's writability. */
	bus_libevent_add_read(e);
	event_add(e->wev, NULL);
	e->write_waiting = true;
	return REDIS_OK;
}

#endif
