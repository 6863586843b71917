/*
 * cli_conn.c - a reference client's connection and the end of its run; see cli_conn.h.
 */
#include "cli_conn.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "cli_addr.h"
#include "cli_json.h"
#include "backoff.h"
#include "log.h"

#define PROTOCOL_VERSION 1
#define HELLO_TIMEOUT_MS 10000 /* connect + Hello -> Welcome */
#define BACKOFF_MIN_MS 100     /* first reconnect delay; doubles per failure */
#define BACKOFF_MAX_MS 5000    /* longest reconnect delay */
#define STOP_GRACE_MS 10000    /* stopping: longest wait for answers */
#define DRAIN_TIMEOUT_MS 5000  /* at exit: longest wait for queued frames to go out */

static void start_connect(struct cli_conn *c);

size_t cli_conn_output_queued(const struct cli_conn *c)
{
	return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

bool cli_conn_accepting(const struct cli_conn *c)
{
	return c->state == CLI_CONN_READY && !c->stopping && !c->finishing;
}

/* ---- sending --------------------------------------------------------------- */

int cli_conn_send(struct cli_conn *c, const Hotline__V1__Frame *frame)
{
	if (c->bev == NULL)
		return -1;
	size_t len;
	uint8_t *buf = frame_pack(frame, &len);
	if (buf == NULL)
		fatal("out of memory packing a frame");
	int rc = bufferevent_write(c->bev, buf, len);
	free(buf);
	if (rc != 0) {
		cli_conn_lost(c, "write failed");
		return -1;
	}
	return 0;
}

int cli_conn_send_hello(struct cli_conn *c, Hotline__V1__Role role, const char *id,
			const char *token)
{
	Hotline__V1__Hello hello = HOTLINE__V1__HELLO__INIT;
	hello.role = role;
	hello.id = (char *)id;
	hello.token = (char *)token;
	hello.version = PROTOCOL_VERSION;
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_HELLO;
	frame.hello = &hello;
	return cli_conn_send(c, &frame);
}

/* ---- receiving ------------------------------------------------------------- */

/* Feeds the input to the frame decoder and hands each complete frame to the client. */
static void read_cb(struct bufferevent *bev, void *arg)
{
	struct cli_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	/* The client may lose the connection or end the run under any frame. */
	while (c->bev == bev && !c->finishing) {
		struct evbuffer_iovec vec;
		if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1 || vec.iov_len == 0)
			break;
		size_t consumed = 0;
		enum frame_status st =
			frame_decoder_feed(&c->decoder, vec.iov_base, vec.iov_len, &consumed);
		evbuffer_drain(in, consumed);
		if (st < 0) {
			cli_conn_lost(c, st == FRAME_TOO_LARGE
						 ? "frame from server above the size limit"
						 : "out of memory decoding a frame");
			break;
		}
		if (st != FRAME_READY)
			continue;
		size_t body_len;
		const uint8_t *body = frame_decoder_body(&c->decoder, &body_len);
		Hotline__V1__Frame *frame = frame_unpack(body, body_len);
		if (frame == NULL) {
			cli_conn_lost(c, "undecodable frame from server");
			break;
		}
		if (c->state == CLI_CONN_HELLO &&
		    frame->msg_case != HOTLINE__V1__FRAME__MSG_WELCOME &&
		    frame->msg_case != HOTLINE__V1__FRAME__MSG_ERROR) {
			frame_message_free(frame);
			cli_conn_lost(c, "server sent something else than Welcome or Error");
			break;
		}
		c->ops->on_frame(c->arg, frame);
		frame_message_free(frame);
	}
	c->ops->on_read_done(c->arg);
}

/* The output drained below half of max_output, or (when finishing) to nothing. */
static void write_cb(struct bufferevent *bev, void *arg)
{
	struct cli_conn *c = arg;
	if (c->finishing) {
		if (cli_conn_output_queued(c) == 0)
			event_base_loopexit(c->base, NULL);
		return;
	}
	c->ops->on_writable(c->arg);
}

bool cli_conn_welcomed(struct cli_conn *c)
{
	c->state = CLI_CONN_READY;
	c->backoff_ms = 0;
	evtimer_del(c->timer);
	bool again = c->ever_welcomed;
	c->ever_welcomed = true;
	return again;
}

/* ---- connecting ------------------------------------------------------------ */

static void schedule_reconnect(struct cli_conn *c)
{
	/* +-20% jitter so many clients do not come back in lockstep. */
	long delay = backoff_next(&c->backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS, 20, 20,
				  (unsigned long)rand());
	c->state = CLI_CONN_WAITING;
	log_info("reconnecting in %ld ms", delay);
	struct timeval tv = cli_tv_ms((unsigned)delay);
	evtimer_add(c->timer, &tv);
}

static void event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct cli_conn *c = arg;
	if (events & BEV_EVENT_CONNECTED) {
		int one = 1;
		evutil_socket_t fd = bufferevent_getfd(bev);
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* A client connection may idle for long stretches: notice a dead peer. */
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		c->state = CLI_CONN_HELLO;
		c->ops->on_connected(c->arg);
		return;
	}
	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		int err = EVUTIL_SOCKET_ERROR();
		cli_conn_lost(c, (events & BEV_EVENT_ERROR) && err != 0
					 ? evutil_socket_error_to_string(err)
					 : "closed by server");
		c->ops->check_done(c->arg);
	}
}

static void start_connect(struct cli_conn *c)
{
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char err[256];
	if (cli_resolve(c->cfg.host, c->cfg.port, &addr, &addr_len, err, sizeof(err)) != 0) {
		log_error("%s", err);
		c->state = CLI_CONN_CLOSED;
		if (c->cfg.reconnect && !c->stopping)
			schedule_reconnect(c);
		else
			cli_conn_finish(c, 1);
		return;
	}
	c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatal("out of memory creating a connection");
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	/* write_cb when the output falls to half the limit: room for stdin again. */
	bufferevent_setwatermark(c->bev, EV_WRITE, c->cfg.max_output / 2, 0);
	frame_decoder_init(&c->decoder, FRAME_MAX_LIMIT);
	c->state = CLI_CONN_CONNECTING;
	struct timeval tv = cli_tv_ms(HELLO_TIMEOUT_MS);
	evtimer_add(c->timer, &tv);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0 ||
	    bufferevent_socket_connect(c->bev, (struct sockaddr *)&addr, (int)addr_len) != 0)
		cli_conn_lost(c, strerror(errno));
}

void cli_conn_lost(struct cli_conn *c, const char *why)
{
	if (c->bev == NULL)
		return;
	bool had_output = cli_conn_output_queued(c) > 0;
	bool was_ready = c->state == CLI_CONN_READY;
	bufferevent_free(c->bev);
	c->bev = NULL;
	frame_decoder_free(&c->decoder);
	evtimer_del(c->timer);
	c->state = CLI_CONN_CLOSED;
	if (c->finishing) {
		/* Frames still queued (acks, results) are lost with the connection. */
		if (had_output) {
			log_warn("connection lost before everything was sent: %s", why);
			c->exit_code = 1;
		}
		event_base_loopexit(c->base, NULL);
		return;
	}
	size_t unanswered = c->ops->unanswered(c->arg);
	log_warn("connection to %s:%d lost: %s (%zu %s unanswered)", c->cfg.host, c->cfg.port, why,
		 unanswered, c->cfg.requests);
	c->ops->on_lost(c->arg, why, was_ready);
	if (c->finishing)
		return; /* the client could not report the loss */
	if (c->stopping)
		cli_conn_finish(c, c->ops->unanswered(c->arg) == 0 ? 0 : 1);
	else if (c->cfg.reconnect)
		schedule_reconnect(c);
	else
		cli_conn_finish(c, 1);
}

/* Backoff over: connect again. Connect or Hello too slow: give up on this connection. */
static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cli_conn *c = arg;
	if (c->state == CLI_CONN_WAITING) {
		start_connect(c);
	} else if (c->state == CLI_CONN_CONNECTING || c->state == CLI_CONN_HELLO) {
		cli_conn_lost(c, c->state == CLI_CONN_CONNECTING
					 ? "connect timed out"
					 : "no Welcome within the time limit");
		c->ops->check_done(c->arg);
	}
}

/* ---- the end of the run ---------------------------------------------------- */

void cli_conn_finish(struct cli_conn *c, int exit_code)
{
	if (c->finishing)
		return;
	c->finishing = true;
	c->exit_code = exit_code;
	c->ops->on_finish(c->arg);
	evtimer_del(c->timer);
	if (c->bev == NULL || cli_conn_output_queued(c) == 0) {
		event_base_loopexit(c->base, NULL);
		return;
	}
	/* Wait for write_cb to see the output empty (acks must not be lost at exit). */
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	struct timeval tv = cli_tv_ms(DRAIN_TIMEOUT_MS);
	evtimer_add(c->drain, &tv);
}

void cli_conn_stop(struct cli_conn *c, const char *why)
{
	if (c->stopping)
		return;
	c->stopping = true;
	log_info("%s: waiting for %zu unanswered %s", why, c->ops->unanswered(c->arg),
		 c->cfg.requests);
	struct timeval tv = cli_tv_ms(STOP_GRACE_MS);
	evtimer_add(c->grace, &tv);
	c->ops->on_stop(c->arg);
}

bool cli_conn_check_stop(struct cli_conn *c)
{
	if (c->finishing)
		return true;
	if (!c->stopping)
		return false;
	size_t unanswered = c->ops->unanswered(c->arg);
	/* Answers can only come on a ready connection. */
	if (unanswered > 0 && c->state == CLI_CONN_READY)
		return false;
	if (unanswered > 0)
		log_warn("stopping with %zu %s unanswered", unanswered, c->cfg.requests);
	cli_conn_finish(c, unanswered == 0 ? 0 : 1);
	return true;
}

void cli_conn_emit(struct cli_conn *c, json_t *obj)
{
	if (cli_emit_line(obj, true) != 0) {
		log_error("cannot write to stdout: %s", strerror(errno));
		cli_conn_finish(c, 1);
	}
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cli_conn *c = arg;
	log_warn("gave up waiting for %zu unanswered %s", c->ops->unanswered(c->arg),
		 c->cfg.requests);
	cli_conn_finish(c, 1);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cli_conn *c = arg;
	log_warn("%zu bytes for the daemon not sent at exit", cli_conn_output_queued(c));
	c->exit_code = 1;
	event_base_loopexit(c->base, NULL);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cli_conn *c = arg;
	c->ops->on_deadline(c->arg);
	cli_conn_finish(c, 1);
}

/* The first signal stops the run gently; a second one, or one while finishing, ends it now. */
static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct cli_conn *c = arg;
	if (++c->signals > 1 || c->finishing) {
		c->exit_code = 1;
		event_base_loopexit(c->base, NULL);
		return;
	}
	cli_conn_stop(c, sig == SIGINT ? "interrupted" : "terminated");
}

/* ---- life cycle ------------------------------------------------------------ */

void cli_conn_setup(struct cli_conn *c, const struct cli_conn_config *cfg,
		    const struct cli_conn_ops *ops, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->ops = ops;
	c->arg = arg;
	c->state = CLI_CONN_CLOSED;
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)getpid()); /* reconnect jitter differs between processes */

	c->base = event_base_new();
	if (c->base == NULL)
		fatal("cannot create the event loop");
	c->timer = evtimer_new(c->base, timer_cb, c);
	c->deadline = evtimer_new(c->base, deadline_cb, c);
	c->grace = evtimer_new(c->base, grace_cb, c);
	c->drain = evtimer_new(c->base, drain_cb, c);
	c->sigint_ev = evsignal_new(c->base, SIGINT, signal_cb, c);
	c->sigterm_ev = evsignal_new(c->base, SIGTERM, signal_cb, c);
	if (!c->timer || !c->deadline || !c->grace || !c->drain || !c->sigint_ev ||
	    !c->sigterm_ev || evsignal_add(c->sigint_ev, NULL) != 0 ||
	    evsignal_add(c->sigterm_ev, NULL) != 0)
		fatal("cannot set up the event loop");
	if (cfg->timeout_s > 0) {
		double whole = (double)(long)cfg->timeout_s;
		struct timeval tv = { .tv_sec = (time_t)whole,
				      .tv_usec = (suseconds_t)((cfg->timeout_s - whole) * 1e6) };
		evtimer_add(c->deadline, &tv);
	}
}

void cli_conn_run(struct cli_conn *c)
{
	start_connect(c);
	if (!c->finishing)
		event_base_dispatch(c->base);
}

void cli_conn_free(struct cli_conn *c)
{
	if (c->bev)
		bufferevent_free(c->bev);
	c->bev = NULL;
	frame_decoder_free(&c->decoder);
	event_free(c->timer);
	event_free(c->deadline);
	event_free(c->grace);
	event_free(c->drain);
	event_free(c->sigint_ev);
	event_free(c->sigterm_ev);
	event_base_free(c->base);
	c->base = NULL;
}
