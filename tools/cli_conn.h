/*
 * cli_conn.h - the connection of a reference client (hotline-dept,
 * hotline-agent) to hotlined's binary port, and how its run ends.
 *
 * Owns: resolving and connecting over TCP (TCP_NODELAY, SO_KEEPALIVE), the
 * connect + Hello -> Welcome time limit, cutting the input into frames for the
 * client, queueing frames, reconnecting with backoff and jitter (when the
 * client asked for it), and the end of the run: stopping (no new requests, a
 * grace period for the answers), finishing (exit once the queued frames are
 * sent, or after a drain timeout), --timeout, SIGINT and SIGTERM.
 * Never: decides what a frame means beyond the handshake (only Welcome or
 * Error may answer a Hello), builds a request, counts answers, or reads stdin:
 * the client does, through the callbacks in struct cli_conn_ops.
 * Callers: tools/cli_client.c (the skeleton of tools/dept.c and tools/agent.c),
 * embedding one struct cli_conn.
 *
 * Every callback runs on the loop with the client's arg; none is called under
 * another, and none is called once the run is finishing unless said so.
 */
#ifndef HOTLINE_CLI_CONN_H
#define HOTLINE_CLI_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "frame.h"
#include "hotline.pb-c.h"

enum cli_conn_state {
	CLI_CONN_WAITING,    /* backoff before (re)connecting */
	CLI_CONN_CONNECTING, /* TCP connect in progress */
	CLI_CONN_HELLO,	     /* Hello sent, waiting for Welcome */
	CLI_CONN_READY,	     /* welcomed: requests and answers flow */
	CLI_CONN_CLOSED	     /* not connected (and, unless reconnecting, not going to be) */
};

struct cli_conn_ops {
	/* TCP is up: send Hello (cli_conn_send_hello); on failure the loss is done. */
	void (*on_connected)(void *arg);
	/* One frame, owned by the caller. In CLI_CONN_HELLO only Welcome or Error. */
	void (*on_frame)(void *arg, const Hotline__V1__Frame *frame);
	/* After the frames of one read (also when reading stopped early). */
	void (*on_read_done)(void *arg);
	/* The output fell to half of max_output: there may be room again. */
	void (*on_writable)(void *arg);
	/*
	 * The connection is gone (logged with why); was_ready: it had been
	 * welcomed. Not called while finishing. Afterwards the run ends, or with
	 * reconnect set and not stopping, a new connection is tried later.
	 */
	void (*on_lost)(void *arg, const char *why, bool was_ready);
	/* After a loss libevent or the time limit noticed: end the run if done. */
	void (*check_done)(void *arg);
	/* Stopping began (cli_conn_stop): re-evaluate input, then check_done. */
	void (*on_stop)(void *arg);
	/* Finishing began: stop reading commands and stop timers of its own. */
	void (*on_finish)(void *arg);
	/* --timeout expired: log what was missing; the run then ends with 1. */
	void (*on_deadline)(void *arg);
	/* Requests sent and not yet answered (for stopping and the logs). */
	size_t (*unanswered)(void *arg);
};

struct cli_conn_config {
	const char *host;
	int port;
	size_t max_output;    /* the client's limit of queued bytes (on_writable at half) */
	bool reconnect;	      /* after a loss, connect again with backoff */
	double timeout_s;     /* --timeout; 0 = none */
	const char *requests; /* what unanswered() counts, for logs: "requests" */
};

struct cli_conn {
	/* Read by the client; written here (but exit_code, once the run is over). */
	struct event_base *base;
	enum cli_conn_state state;
	bool stopping;	/* quit, signal or end of input: no new requests */
	bool finishing; /* exit once the output has drained */
	int exit_code;

	struct cli_conn_config cfg;
	const struct cli_conn_ops *ops;
	void *arg;
	struct bufferevent *bev; /* NULL while not connected */
	struct frame_decoder decoder;
	bool ever_welcomed;
	long backoff_ms;
	unsigned signals;
	struct event *timer;	/* backoff, or the connect + Hello time limit */
	struct event *deadline; /* --timeout */
	struct event *grace;	/* stopping: end of the wait for answers */
	struct event *drain;	/* finishing: end of the wait for queued output */
	struct event *sigint_ev, *sigterm_ev;
};

/*
 * Sets c up: the event loop (c->base), its timers and signal handlers, the
 * --timeout deadline; ignores SIGPIPE. cfg's strings must outlive c. Fatal on
 * failure (start-up only).
 */
void cli_conn_setup(struct cli_conn *c, const struct cli_conn_config *cfg,
		    const struct cli_conn_ops *ops, void *arg);

/* Connects and runs the loop until the run ends; then c->exit_code holds the result. */
void cli_conn_run(struct cli_conn *c);

/* Frees the connection, the timers and the loop (free the client's events first). */
void cli_conn_free(struct cli_conn *c);

/* Packs and queues one frame. Returns 0, or -1 when the connection is gone (then lost). */
int cli_conn_send(struct cli_conn *c, const Hotline__V1__Frame *frame)
	__attribute__((warn_unused_result));

/* Sends Hello{role, id, token, the protocol version}; as cli_conn_send. */
int cli_conn_send_hello(struct cli_conn *c, Hotline__V1__Role role, const char *id,
			const char *token) __attribute__((warn_unused_result));

/* Welcome came: the connection is ready. Returns true when it is a reconnection. */
bool cli_conn_welcomed(struct cli_conn *c);

/* Whether new requests may go: welcomed, and neither stopping nor finishing. */
bool cli_conn_accepting(const struct cli_conn *c);

/* Bytes queued for the daemon (0 while not connected). */
size_t cli_conn_output_queued(const struct cli_conn *c);

/*
 * Drops the connection because of why (safe from the connection's own
 * callbacks: libevent defers the release; a no-op when not connected).
 */
void cli_conn_lost(struct cli_conn *c, const char *why);

/* quit, a signal or the end of input: no new requests; wait for answers, then exit. */
void cli_conn_stop(struct cli_conn *c, const char *why);

/*
 * For the client's check_done: ends a stopping run once nothing is unanswered
 * (or nothing can be answered any more). Returns true when the run is finishing.
 */
bool cli_conn_check_stop(struct cli_conn *c);

/* Ends the run with exit_code once everything queued for the daemon is sent. */
void cli_conn_finish(struct cli_conn *c, int exit_code);

/* Writes obj (consumed) as one line to stdout and flushes it; a lost stdout ends the run. */
void cli_conn_emit(struct cli_conn *c, json_t *obj);

#endif
