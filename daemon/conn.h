/*
 * conn.h - one client connection of hotlined, in either wire format.
 *
 * Owns: struct conn and a connection's state machine (HELLO -> ACTIVE ->
 * DRAINING/LINGER -> CLOSED, driven by conn_on_readable() and the bufferevent
 * callbacks), and the calls between the files that serve a connection: conn.c
 * (its life, decoding frames or JSON lines, routing them, writing replies),
 * conn_hello.c (Hello authentication for every role), conn_feed.c (handing
 * intake records to the store and writing each one's IntakeAck or Error once the
 * store answers; delivering TicketUpdates to feeds), conn_dept.c and conn_agent.c
 * (the department and agent roles' own work).
 * Never: frees itself (the server reaps CLOSED connections after the loop
 * pass, once no record of theirs is in flight), or reads past the limits the
 * server sets (back-pressure).
 * Callers: daemon/server.c, and the conn*.c files among themselves.
 */
#ifndef HOTLINE_CONN_H
#define HOTLINE_CONN_H

#include <event2/bufferevent.h>
#include <event2/util.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "config.h"
#include "frame.h"
#include "idset.h"
#include "intake.h"
#include "keyindex.h"

/* Most reply bytes waiting for a slow reader before we stop reading from it. */
#define CONN_MAX_OUTPUT (256 * 1024)

enum conn_state {
	CONN_HELLO,    /* connected; the first frame/line must be a Hello */
	CONN_ACTIVE,   /* authenticated; records are read */
	CONN_DRAINING, /* reading stopped; replies still owed are sent, then close */
	CONN_LINGER,   /* refused: the Error is sent and our side shut down; input is
			* read and dropped until the peer closes, CONN_LINGER_MS pass or
			* CONN_LINGER_MAX_BYTES arrive, so the peer reads the Error instead
			* of a reset (a close with unread input sends RST) */
	CONN_CLOSED    /* socket gone; waits for in-flight records, then reaped */
};
#define CONN_LINGER_MS 2000
#define CONN_LINGER_MAX_BYTES (1024 * 1024)

enum conn_proto { CONN_PROTO_BINARY, CONN_PROTO_JSON };

struct server;
struct bus_consumer;
struct action;
struct agent_session;

/* A ticket handed to a department connection and not yet acknowledged. */
struct dept_delivery {
	char entry_id[48];
	char ticket_no[32];
};

struct conn {
	TAILQ_ENTRY(conn) link;	       /* server's open list, then its dead list */
	TAILQ_ENTRY(conn) paused_link; /* server's paused list while paused */
	TAILQ_ENTRY(conn) hello_link;  /* server's unauthenticated list, oldest first */
	bool unauthenticated;	       /* on that list: no Hello accepted yet */
	bool paused;
	struct server *server;
	struct bufferevent *bev; /* NULL once CLOSED */
	enum conn_state state;
	enum conn_proto proto;
	uint64_t id;
	char peer[64];
	char peer_host[48]; /* the source address alone, for the per-address limit */
	int role;	    /* Hotline__V1__Role, set at Hello */
	char feed_code[65]; /* feed connections: set at Hello */
	char dept_code[65]; /* department connections: set at Hello */
	struct frame_decoder decoder;
	size_t inflight; /* store work (records, statements) not yet answered */
	int64_t opened_ms;
	bool linger;	     /* refused: linger after the last reply (CONN_LINGER) */
	bool sniffed;	     /* the first bytes were checked for another protocol */
	size_t linger_bytes; /* dropped while lingering */
	/* department connections (conn_dept.c) */
	struct bus_consumer *consumer;
	struct dept_delivery *deliveries; /* dept_window slots, the first ndeliveries used */
	size_t ndeliveries, window;
	struct keyindex by_ticket, by_entry; /* deliveries by ticket_no, by entry_id */
	/* actions in arrival order, answered in it; up to CONN_ACTIONS_RUNNING of them
	 * (on different tickets) applied at once (conn_dept.c) */
	struct action *actions_head, *actions_tail;
	size_t nactions, actions_running;
	/* feed connections: TicketUpdates (conn_feed.c) */
	struct idset updates_sent; /* sent on this connection, not acknowledged yet */
	/* sent here and acknowledged on another connection of the feed first: an Ack
	 * of one here is taken, and does nothing (at most update_window kept) */
	struct idset updates_released;
	bool updates_busy; /* a pull is in flight */
	bool updates_again;
	/* agent connections (conn_agent.c): set at Hello, freed by conn_free() */
	struct agent_session *agent;
};

/* Wraps an accepted socket (the connection owns fd). NULL on failure (fd closed). */
struct conn *conn_new(struct server *server, evutil_socket_t fd, const struct sockaddr *addr,
		      enum conn_proto proto) __attribute__((warn_unused_result));

/* Writes addr's host (numeric) into host; returns its port. */
int conn_addr_host(const struct sockaddr *addr, char *host, size_t len);

/* Processes whatever input is buffered, as far as back-pressure allows. */
void conn_on_readable(struct conn *c);

/* Stops reading; the connection closes once every reply it owes is written. */
void conn_begin_drain(struct conn *c);

/* The same after an Error that refuses the peer: it closes through CONN_LINGER. */
void conn_refuse(struct conn *c);

/* Closes the socket now (replies still owed are dropped; feeds resend). */
void conn_close(struct conn *c);

/* Frees a CLOSED connection with nothing in flight (server's reaper only). */
void conn_free(struct conn *c);

/* ---- shared with conn_dept.c and conn_agent.c ---- */
void conn_send_frame(struct conn *c, const Hotline__V1__Frame *frame);
/* Sends a Ticket frame around bytes already checked by frame_ticket_check. */
void conn_send_ticket_bytes(struct conn *c, const uint8_t *ticket, size_t len);
void conn_send_error(struct conn *c, Hotline__V1__ErrorCode code, const char *message,
		     const char *external_id);
void conn_send_ticket_error(struct conn *c, Hotline__V1__ErrorCode code, const char *message,
			    const char *ticket_no);
void conn_fail(struct conn *c, Hotline__V1__ErrorCode code, const char *message);
/* ActionAck{ticket_no, ok, error, state}: the answer to a department action or callback. */
void conn_send_action_ack(struct conn *c, const char *ticket_no, bool ok, const char *error,
			  int state);
/* Store work for c begins / ends (keeps c allocated while it is in flight). */
void conn_work_begin(struct conn *c);
void conn_work_end(struct conn *c);
/* Copies an untrusted id for a log line: printable ASCII only, truncated. */
void conn_log_safe(char *dst, size_t n, const char *src);
/* Writes a JSON line (taking ownership of line; NULL: out of memory, closes c). */
void conn_send_line(struct conn *c, char *line, size_t len);

/* A DRAINING connection whose replies are all written closes (or lingers). */
void conn_maybe_finish(struct conn *c);

/* conn_hello.c: authenticates a Hello (either wire format) and welcomes or refuses. */
void conn_hello(struct conn *c, int role, const char *id, const char *token, uint32_t version);

/* conn_feed.c: the feed role (intake, TicketUpdates) */
/* A record or frame refused as invalid: the server's and the feed's counters. */
void conn_count_invalid(struct conn *c);
/* Validates in and hands it to the store; takes ownership of in. */
void conn_intake(struct conn *c, struct intake *in);
/* Ack{update_id} (or a JSON ack_update) from a feed connection. */
void conn_update_acked(struct conn *c, uint64_t update_id);
/* Fetches TicketUpdates owed to this feed connection, if it has room. */
void conn_updates_pull(struct conn *c);
/* Another connection of the feed had update_id acknowledged: it is no longer owed here. */
void conn_update_delivered(struct conn *c, long long update_id);

/* conn_dept.c: the department role */
/*
 * DeptActions a department connection may have waiting (queued or being
 * applied) before the server stops reading it: announced as
 * Welcome.action_window. Twice dept_window, so a department can accept and then
 * reply to a whole window of tickets without waiting.
 */
long conn_action_window(const struct hotline_config *cfg);
void conn_dept_hello(struct conn *c);
void conn_dept_frame(struct conn *c, Hotline__V1__Frame *frame);
void conn_dept_closed(struct conn *c);

/*
 * conn_agent.c: the agent role. conn_agent_hello() authenticates a Hello with
 * role AGENT: 0 (c is now an agent connection storing Intake under the agents'
 * feed; the caller welcomes it), or -1 after it has sent the Error and begun to
 * drain. conn_agent_frame() takes the frames of an agent connection that are
 * not Intake: true when it handled frame, false for an Intake (conn_feed.c's
 * intake path stores it).
 */
int conn_agent_hello(struct conn *c, const char *id, const char *token)
	__attribute__((warn_unused_result));
bool conn_agent_frame(struct conn *c, Hotline__V1__Frame *frame);
/* True while the connection's claims and results fill their queue: the server
 * stops reading it until one is answered (answers stay in the order sent). */
bool conn_agent_full(const struct conn *c);
void conn_agent_free(struct conn *c);

#endif
