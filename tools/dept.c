/*
 * dept.c - hotline-dept: the reference department client.
 *
 * Owns: one department connection to hotlined's binary port on one libevent
 * loop: Hello as ROLE_DEPARTMENT, printing each pushed Ticket as a JSON line
 * and only then acknowledging it (Ack{ticket_no}); sending DeptActions typed
 * on stdin or chosen by --auto, and matching each ActionAck / Error back to
 * the action it answers; reconnecting with backoff (--reconnect), resending
 * actions that were never answered.
 * Never: acknowledges a ticket it has not printed (the daemon must then
 * redeliver it), holds more than MAX_PENDING unanswered actions or
 * MAX_OUTPUT queued bytes (a ticket that finds no room is left unacknowledged
 * for redelivery, and stdin is read no further until there is room), or
 * touches PostgreSQL or Redis.
 * Callers: department integrators (an example of the protocol), people at a
 * terminal, tests/integration and bench/ (through --auto, --count, --no-ack).
 *
 * stdout carries one JSON object per line per event ("event": welcome, ticket,
 * action_ack, error, command_error, disconnected, summary); diagnostics go
 * to stderr through log.h.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "code.h"
#include "frame.h"
#include "hotline.pb-c.h"
#include "cli_json.h"
#include "cli_stdin.h"
#include "log.h"
#include "utf8.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 12345
#define DEFAULT_REPLY_TEXT "已处理 handled"
#define DEFAULT_RETURN_REASON "不属于本部门职责 not this department's matter"
#define TOKEN_ENV "HOTLINE_DEPT_TOKEN"
#define PROTOCOL_VERSION 1
#define HELLO_TIMEOUT_MS 10000	     /* connect + Hello -> Welcome */
#define BACKOFF_MIN_MS 100	     /* first reconnect delay; doubles per failure */
#define BACKOFF_MAX_MS 5000	     /* longest reconnect delay */
#define STOP_GRACE_MS 10000	     /* quit / signal: longest wait for answers */
#define DRAIN_TIMEOUT_MS 5000	     /* at exit: longest wait for queued frames to go out */
#define MAX_PENDING 65536	     /* actions sent and not yet answered */
#define PENDING_BUCKETS 65536	     /* hash buckets for them (power of two) */
#define MAX_OUTPUT (8 * 1024 * 1024) /* bytes queued to the daemon */
#define MAX_COMMAND_LINE 65536	     /* bytes in one stdin command */
#define MAX_TICKET_NO 128	     /* bytes in a ticket number we act on */
#define MAX_LOGGED_SKIPS 20
#define SEEN_MAX 65536 /* ticket numbers remembered as taken (power of two) */
#define SEEN_NIL UINT32_MAX

enum auto_mode { AUTO_NONE = 0, AUTO_ACCEPT, AUTO_REPLY, AUTO_RETURN };

enum conn_state {
	CONN_WAITING,	 /* backoff before (re)connecting */
	CONN_CONNECTING, /* TCP connect in progress */
	CONN_HELLO,	 /* Hello sent, waiting for Welcome */
	CONN_READY,	 /* welcomed: tickets and actions flow */
	CONN_CLOSED	 /* not connected and not going to be */
};

enum action_kind { ACT_ACCEPT = 0, ACT_RETURN, ACT_REPLY, ACT_EXTEND };

static const char *const action_names[] = {
	[ACT_ACCEPT] = "accept",
	[ACT_RETURN] = "return",
	[ACT_REPLY] = "reply",
	[ACT_EXTEND] = "extend",
};

/*
 * An action not yet answered. Lives in a hash chain (by ticket_no) and in the
 * order list (sent, and after a reconnect sent again, in that order).
 *
 * At most one action per ticket is in flight: ActionAck and Error name only
 * the ticket, and the daemon may apply and answer two actions on one ticket
 * in either order, so a second one would make the answers ambiguous and the
 * outcome a race (a reply overtaking its accept). Later actions for a ticket
 * stay queued until the one in flight is answered.
 */
struct action {
	struct action *hash_next;
	struct action *prev, *next; /* order of creation */
	uint64_t seq;
	bool in_flight; /* sent on the current connection, answer awaited */
	enum action_kind kind;
	bool automatic; /* chosen by --auto */
	int64_t until;	/* extend: unix ms */
	char *text;	/* return / extend reason, reply content; owned, may be NULL */
	char ticket_no[];
};

/*
 * The last SEEN_MAX ticket numbers this process took, oldest evicted first: a
 * ring of owned strings with hash chains through it. It tells a redelivery
 * (our ack was lost with a connection) from a new ticket, so --count counts
 * distinct tickets and, once the goal is reached, a redelivered ticket is
 * acknowledged again instead of being left for the daemon to redeliver.
 */
struct seen_set {
	char *ticket_no[SEEN_MAX];
	uint32_t next[SEEN_MAX];   /* chain through slots; SEEN_NIL ends it */
	uint32_t bucket[SEEN_MAX]; /* first slot per hash; SEEN_NIL = empty */
	uint32_t hash[SEEN_MAX];   /* bucket of each slot */
	size_t cursor;		   /* next slot to (re)use */
};

struct options {
	const char *host;
	int port;
	const char *dept;
	const char *token;
	bool no_ack;
	enum auto_mode auto_mode;
	const char *reply_text;
	const char *reason;
	uint64_t count;	  /* 0 = run until quit */
	double timeout_s; /* 0 = none */
	bool reconnect;
	bool quiet;
};

struct stats {
	uint64_t tickets;  /* deliveries taken (printed, then acknowledged) */
	uint64_t distinct; /* different ticket numbers among them (--count) */
	uint64_t reacked;  /* redeliveries of taken tickets acknowledged after the goal */
	uint64_t acked;
	uint64_t skipped; /* no room: left unacknowledged for redelivery */
	uint64_t ignored; /* after --count or quit: left unacknowledged */
	uint64_t actions_sent;
	uint64_t actions_ok;
	uint64_t actions_failed; /* ActionAck ok=false, or an Error naming the ticket */
	uint64_t errors;	 /* Error frames */
	uint64_t unexpected;	 /* answers matching no pending action */
	uint64_t reconnects;
};

struct dept {
	struct options opt;
	struct event_base *base;
	struct bufferevent *bev; /* NULL while not connected */
	struct frame_decoder decoder;
	enum conn_state state;
	bool ever_welcomed;
	unsigned backoff_ms;
	struct event *conn_timer; /* backoff, or the Hello timeout */
	struct event *deadline;	  /* --timeout */
	struct event *grace;	  /* quit / signal: end of the wait for answers */
	struct event *drain;	  /* end of the wait for queued output */
	struct event *sigint_ev, *sigterm_ev;

	struct cli_stdin in; /* commands */

	/* pending actions */
	struct action *buckets[PENDING_BUCKETS];
	struct action *head, *tail;
	size_t pending;
	uint64_t seq;

	struct seen_set *seen;

	struct stats stats;
	/* Tickets printed (not yet flushed) by the read in progress: acknowledged
	 * and acted on only once read_cb has flushed stdout (flush_taken). */
	char (*taken)[MAX_TICKET_NO + 1];
	size_t ntaken, taken_cap;
	struct cli_line line; /* the ticket line being written */
	unsigned signals;
	bool stopping;	/* quit or signal: no new tickets or commands */
	bool finishing; /* exit once the output has drained */
	int exit_code;
};

static void conn_lost(struct dept *d, const char *why);
static void check_done(struct dept *d);
static void stdin_update(struct dept *d);
static void finish(struct dept *d, int exit_code);

static int emit(json_t *obj) __attribute__((warn_unused_result));
static int emit(json_t *obj)
{
	return cli_emit_line(obj, true);
}

/* For events whose loss costs nothing but the line itself. */
static void emit_info(struct dept *d, json_t *obj)
{
	if (emit(obj) != 0) {
		log_error("cannot write to stdout: %s", strerror(errno));
		finish(d, 1);
	}
}

/* ---- taken tickets --------------------------------------------------- */

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

static struct seen_set *seen_new(void)
{
	struct seen_set *set = calloc(1, sizeof(*set));
	if (set == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < SEEN_MAX; i++)
		set->bucket[i] = SEEN_NIL;
	return set;
}

static void seen_free(struct seen_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < SEEN_MAX; i++)
		free(set->ticket_no[i]);
	free(set);
}

static bool seen_contains(const struct seen_set *set, const char *ticket_no)
{
	for (uint32_t i = set->bucket[hash_str(ticket_no) & (SEEN_MAX - 1)]; i != SEEN_NIL;
	     i = set->next[i])
		if (strcmp(set->ticket_no[i], ticket_no) == 0)
			return true;
	return false;
}

/* Remembers ticket_no (not yet in set), forgetting the oldest when full. */
static void seen_add(struct seen_set *set, const char *ticket_no)
{
	uint32_t slot = (uint32_t)set->cursor;
	set->cursor = (set->cursor + 1) & (SEEN_MAX - 1);
	if (set->ticket_no[slot] != NULL) {
		uint32_t *pp = &set->bucket[set->hash[slot]];
		while (*pp != slot)
			pp = &set->next[*pp];
		*pp = set->next[slot];
		free(set->ticket_no[slot]);
	}
	uint32_t b = hash_str(ticket_no) & (SEEN_MAX - 1);
	set->ticket_no[slot] = strdup(ticket_no);
	if (set->ticket_no[slot] == NULL)
		fatal("out of memory");
	set->hash[slot] = b;
	set->next[slot] = set->bucket[b];
	set->bucket[b] = slot;
}

/* ---- pending actions -------------------------------------------------- */

static size_t bucket_of(const char *ticket_no)
{
	return hash_str(ticket_no) & (PENDING_BUCKETS - 1);
}

static struct action *action_add(struct dept *d, const char *ticket_no, enum action_kind kind,
				 bool automatic, int64_t until, const char *text)
{
	size_t len = strlen(ticket_no);
	struct action *a = calloc(1, sizeof(*a) + len + 1);
	if (a == NULL || (text != NULL && (a->text = strdup(text)) == NULL))
		fatal("out of memory");
	memcpy(a->ticket_no, ticket_no, len + 1);
	a->kind = kind;
	a->automatic = automatic;
	a->until = until;
	a->seq = ++d->seq;
	size_t b = bucket_of(ticket_no);
	a->hash_next = d->buckets[b];
	d->buckets[b] = a;
	a->prev = d->tail;
	if (d->tail)
		d->tail->next = a;
	else
		d->head = a;
	d->tail = a;
	d->pending++;
	return a;
}

/* Unlinks a from the send-order list only (it keeps its hash entry). */
static void order_unlink(struct dept *d, struct action *a)
{
	if (a->prev)
		a->prev->next = a->next;
	else
		d->head = a->next;
	if (a->next)
		a->next->prev = a->prev;
	else
		d->tail = a->prev;
	a->prev = a->next = NULL;
}

static void order_append(struct dept *d, struct action *a)
{
	a->prev = d->tail;
	if (d->tail)
		d->tail->next = a;
	else
		d->head = a;
	d->tail = a;
}

/* Unlinks a from its hash chain and the order list; the caller owns it then. */
static void action_unlink(struct dept *d, struct action *a)
{
	struct action **pp = &d->buckets[bucket_of(a->ticket_no)];
	while (*pp != a)
		pp = &(*pp)->hash_next;
	*pp = a->hash_next;
	a->hash_next = NULL;
	order_unlink(d, a);
	d->pending--;
}

/* The action in flight for ticket_no, or NULL. */
static struct action *action_in_flight(const struct dept *d, const char *ticket_no)
{
	for (struct action *a = d->buckets[bucket_of(ticket_no)]; a; a = a->hash_next)
		if (a->in_flight && strcmp(a->ticket_no, ticket_no) == 0)
			return a;
	return NULL;
}

/* The oldest queued (not in flight) action for ticket_no, or NULL. */
static struct action *action_next_queued(const struct dept *d, const char *ticket_no)
{
	struct action *best = NULL;
	for (struct action *a = d->buckets[bucket_of(ticket_no)]; a; a = a->hash_next)
		if (!a->in_flight && strcmp(a->ticket_no, ticket_no) == 0 &&
		    (best == NULL || a->seq < best->seq))
			best = a;
	return best;
}

/* The answer to ticket_no's action in flight: that action, unlinked; NULL if none. */
static struct action *action_take_answered(struct dept *d, const char *ticket_no)
{
	struct action *a = action_in_flight(d, ticket_no);
	if (a)
		action_unlink(d, a);
	return a;
}

/* Puts a taken action back as the newest pending one (same ticket). */
static void action_readd(struct dept *d, struct action *a)
{
	size_t b = bucket_of(a->ticket_no);
	a->seq = ++d->seq;
	a->hash_next = d->buckets[b];
	d->buckets[b] = a;
	order_append(d, a);
	d->pending++;
}

static void action_free(struct action *a)
{
	if (a == NULL)
		return;
	free(a->text);
	free(a);
}

/* ---- sending ---------------------------------------------------------- */

static size_t output_queued(const struct dept *d)
{
	return d->bev ? evbuffer_get_length(bufferevent_get_output(d->bev)) : 0;
}

/* True when there is room for one more action and its frames. */
static bool have_room(const struct dept *d)
{
	return d->pending + d->ntaken < MAX_PENDING && output_queued(d) < MAX_OUTPUT;
}

/* Each returns 0, or -1 when the connection was lost (conn_lost() has run). */
static int send_frame(struct dept *d, const Hotline__V1__Frame *frame)
	__attribute__((warn_unused_result));
static int send_hello(struct dept *d) __attribute__((warn_unused_result));
static int send_ack(struct dept *d, const char *ticket_no) __attribute__((warn_unused_result));
static int send_action(struct dept *d, const struct action *a) __attribute__((warn_unused_result));

/* Packs and queues one frame. */
static int send_frame(struct dept *d, const Hotline__V1__Frame *frame)
{
	if (d->bev == NULL)
		return -1;
	size_t len;
	uint8_t *buf = frame_pack(frame, &len);
	if (buf == NULL)
		fatal("out of memory packing a frame");
	int rc = bufferevent_write(d->bev, buf, len);
	free(buf);
	if (rc != 0) {
		conn_lost(d, "write failed");
		return -1;
	}
	return 0;
}

static int send_hello(struct dept *d)
{
	Hotline__V1__Hello hello = HOTLINE__V1__HELLO__INIT;
	hello.role = HOTLINE__V1__ROLE__ROLE_DEPARTMENT;
	hello.id = (char *)d->opt.dept;
	hello.token = (char *)d->opt.token;
	hello.version = PROTOCOL_VERSION;
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_HELLO;
	frame.hello = &hello;
	return send_frame(d, &frame);
}

static int send_ack(struct dept *d, const char *ticket_no)
{
	Hotline__V1__Ack ack = HOTLINE__V1__ACK__INIT;
	ack.ticket_no = (char *)ticket_no;
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_ACK;
	frame.ack = &ack;
	return send_frame(d, &frame);
}

/* Sends a (pending) action. Returns 0, or -1 when the connection was lost. */
static int send_action(struct dept *d, const struct action *a)
{
	Hotline__V1__DeptAction act = HOTLINE__V1__DEPT_ACTION__INIT;
	Hotline__V1__DeptAction__Accept accept = HOTLINE__V1__DEPT_ACTION__ACCEPT__INIT;
	Hotline__V1__DeptAction__Return ret = HOTLINE__V1__DEPT_ACTION__RETURN__INIT;
	Hotline__V1__DeptAction__Reply reply = HOTLINE__V1__DEPT_ACTION__REPLY__INIT;
	Hotline__V1__DeptAction__Extend extend = HOTLINE__V1__DEPT_ACTION__EXTEND__INIT;
	char *text = a->text ? a->text : (char *)"";
	act.ticket_no = (char *)a->ticket_no;
	switch (a->kind) {
	case ACT_ACCEPT:
		act.action_case = HOTLINE__V1__DEPT_ACTION__ACTION_ACCEPT;
		act.accept = &accept;
		break;
	case ACT_RETURN:
		ret.reason = text;
		act.action_case = HOTLINE__V1__DEPT_ACTION__ACTION_RETURN_TICKET;
		act.return_ticket = &ret;
		break;
	case ACT_REPLY:
		reply.content = text;
		act.action_case = HOTLINE__V1__DEPT_ACTION__ACTION_REPLY;
		act.reply = &reply;
		break;
	case ACT_EXTEND:
		extend.until = a->until;
		extend.reason = text;
		act.action_case = HOTLINE__V1__DEPT_ACTION__ACTION_EXTEND;
		act.extend = &extend;
		break;
	}
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_DEPT_ACTION;
	frame.dept_action = &act;
	d->stats.actions_sent++;
	return send_frame(d, &frame);
}

/*
 * Sends ticket_no's oldest queued action when connected and nothing else is in
 * flight for that ticket. On a send failure the connection is lost and the
 * action waits for the next Welcome.
 */
static void pump_ticket(struct dept *d, const char *ticket_no)
{
	if (d->state != CONN_READY || action_in_flight(d, ticket_no) != NULL)
		return;
	struct action *a = action_next_queued(d, ticket_no);
	if (a == NULL)
		return;
	a->in_flight = true;
	if (send_action(d, a) != 0)
		return; /* a is queued again for the next Welcome */
}

/* Records a new action and sends it as soon as its ticket has nothing in flight. */
static void start_action(struct dept *d, const char *ticket_no, enum action_kind kind,
			 bool automatic, int64_t until, const char *text)
{
	struct action *a = action_add(d, ticket_no, kind, automatic, until, text);
	pump_ticket(d, a->ticket_no);
}

/* ---- receiving -------------------------------------------------------- */

static void on_welcome(struct dept *d, const Hotline__V1__Welcome *w)
{
	d->state = CONN_READY;
	d->backoff_ms = 0;
	evtimer_del(d->conn_timer);
	if (d->ever_welcomed)
		d->stats.reconnects++;
	d->ever_welcomed = true;
	log_info("welcomed by %s as department %s", w->server ? w->server : "?", d->opt.dept);
	json_t *ev = cli_json_event("welcome");
	cli_set_str(ev, "server", w->server);
	cli_set_int(ev, "version", w->version);
	cli_set_int(ev, "max_frame", w->max_frame);
	cli_set_int(ev, "window", w->window);
	cli_set_str(ev, "dept", d->opt.dept);
	emit_info(d, ev);
	/* Actions never answered on the lost connection go again, oldest first. */
	for (struct action *a = d->head; a && d->state == CONN_READY; a = a->next)
		pump_ticket(d, a->ticket_no);
	stdin_update(d);
}

/* A printed (and flushed) ticket is ours: acknowledge it, act on it. */
static void take_ticket(struct dept *d, const char *ticket_no)
{
	if (!d->opt.no_ack) {
		if (send_ack(d, ticket_no) != 0)
			return;
		d->stats.acked++;
	}
	switch (d->opt.auto_mode) {
	case AUTO_NONE:
		break;
	case AUTO_ACCEPT:
	case AUTO_REPLY:
		start_action(d, ticket_no, ACT_ACCEPT, true, 0, NULL);
		break;
	case AUTO_RETURN:
		start_action(d, ticket_no, ACT_RETURN, true, 0, d->opt.reason);
		break;
	}
}

static void on_ticket(struct dept *d, const Hotline__V1__Ticket *t)
{
	const char *ticket_no = t->ticket_no ? t->ticket_no : "";
	if (ticket_no[0] == '\0' || strlen(ticket_no) > MAX_TICKET_NO) {
		log_warn("ticket without a usable ticket_no ignored");
		d->stats.unexpected++;
		return;
	}
	bool seen_before = seen_contains(d->seen, ticket_no);
	if (d->stopping || d->finishing || (d->opt.count && d->stats.distinct >= d->opt.count)) {
		if (seen_before && !d->opt.no_ack && !d->finishing) {
			/* Ours already; the ack was lost with a connection. */
			if (send_ack(d, ticket_no) == 0)
				d->stats.reacked++;
			return;
		}
		/* Not taken, so not acknowledged: the daemon gives it to someone else. */
		d->stats.ignored++;
		log_debug("ticket %s not taken (stopping)", ticket_no);
		return;
	}
	if (d->opt.auto_mode != AUTO_NONE ? !have_room(d) : output_queued(d) >= MAX_OUTPUT) {
		d->stats.skipped++;
		if (d->stats.skipped <= MAX_LOGGED_SKIPS)
			log_warn("ticket %s left unacknowledged: %zu actions unanswered, %zu bytes "
				 "queued%s",
				 ticket_no, d->pending, output_queued(d),
				 d->stats.skipped == MAX_LOGGED_SKIPS
					 ? " [further skips not logged]"
					 : "");
		return;
	}
	if (!d->opt.quiet) {
		/* Written without a jansson tree: this is the line printed per ticket. */
		struct cli_line *l = &d->line;
		cli_line_begin(l, "ticket");
		cli_line_str(l, "ticket_no", ticket_no);
		cli_line_str(l, "category", t->category);
		cli_line_str(l, "district", t->district);
		cli_line_str(l, "address", t->address);
		cli_line_str(l, "content", t->content);
		cli_line_str(l, "caller_phone_masked", t->caller_phone_masked);
		cli_line_int(l, "priority", t->priority);
		cli_line_int(l, "received_at", t->received_at);
		cli_line_int(l, "deadline_at", t->deadline_at);
		cli_line_int(l, "reopen_count", t->reopen_count);
		cli_line_str(l, "state", cli_state_name(t->state));
		if (seen_before)
			cli_line_true(l, "seen_before");
		if (t->lat != 0 || t->lon != 0) {
			cli_line_real(l, "lat", t->lat);
			cli_line_real(l, "lon", t->lon);
		}
		if (cli_line_emit(l, false) != 0) {
			/* Not printed, so not taken: no ack, and stop. */
			log_error("cannot write ticket %s to stdout: %s", ticket_no,
				  strerror(errno));
			finish(d, 1);
			return;
		}
	}
	d->stats.tickets++;
	if (!seen_before) {
		seen_add(d->seen, ticket_no);
		d->stats.distinct++;
	}
	if (d->opt.quiet) {
		take_ticket(d, ticket_no);
		return;
	}
	if (d->ntaken == d->taken_cap) {
		size_t cap = d->taken_cap ? 2 * d->taken_cap : 64;
		void *grown = realloc(d->taken, cap * sizeof(*d->taken));
		if (grown == NULL)
			fatal("out of memory");
		d->taken = grown;
		d->taken_cap = cap;
	}
	snprintf(d->taken[d->ntaken++], sizeof(*d->taken), "%s", ticket_no);
}

static void on_action_ack(struct dept *d, const Hotline__V1__ActionAck *ack)
{
	const char *ticket_no = ack->ticket_no ? ack->ticket_no : "";
	struct action *a = action_take_answered(d, ticket_no);
	if (a == NULL)
		d->stats.unexpected++;
	if (ack->ok)
		d->stats.actions_ok++;
	else
		d->stats.actions_failed++;
	if (!d->opt.quiet || !ack->ok) {
		json_t *ev = cli_json_event("action_ack");
		cli_set_str(ev, "ticket_no", ticket_no);
		if (a)
			cli_set_str(ev, "action", action_names[a->kind]);
		json_object_set_new(ev, "ok", json_boolean(ack->ok));
		cli_set_str(ev, "state", cli_state_name(ack->state));
		if (!ack->ok || (ack->error && ack->error[0]))
			cli_set_str(ev, "error", ack->error);
		emit_info(d, ev);
	}
	/*
	 * --auto reply: reply once the ticket is ACCEPTED. An accept refused because
	 * the ticket already is ACCEPTED (resent after a lost answer) counts too.
	 */
	if (a && a->automatic && a->kind == ACT_ACCEPT && d->opt.auto_mode == AUTO_REPLY &&
	    (ack->ok || ack->state == HOTLINE__V1__TICKET_STATE__TICKET_STATE_ACCEPTED) &&
	    !d->finishing) {
		free(a->text);
		a->text = strdup(d->opt.reply_text);
		if (a->text == NULL)
			fatal("out of memory");
		a->kind = ACT_REPLY;
		a->in_flight = false;
		action_readd(d, a);
	} else {
		action_free(a);
	}
	pump_ticket(d, ticket_no);
}

/* Returns 0, or -1 when the connection is (about to be) gone. */
static int on_error(struct dept *d, const Hotline__V1__Error *err)
{
	d->stats.errors++;
	const char *ticket_no = err->ticket_no ? err->ticket_no : "";
	struct action *a = ticket_no[0] ? action_take_answered(d, ticket_no) : NULL;
	json_t *ev = cli_json_event("error");
	cli_set_str(ev, "code", cli_error_code_name(err->code));
	cli_set_str(ev, "message", err->message);
	if (ticket_no[0])
		cli_set_str(ev, "ticket_no", ticket_no);
	if (a)
		cli_set_str(ev, "action", action_names[a->kind]);
	emit_info(d, ev);
	if (a) {
		d->stats.actions_failed++;
		action_free(a);
		pump_ticket(d, ticket_no);
		return d->bev != NULL ? 0 : -1;
	}
	if (d->state != CONN_HELLO)
		return 0; /* the server decides whether the connection goes on */
	log_error("refused by %s:%d: %s: %s", d->opt.host, d->opt.port,
		  cli_error_code_name(err->code), err->message ? err->message : "");
	bool retry = d->opt.reconnect && (err->code == HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE ||
					  err->code == HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL);
	if (retry) {
		conn_lost(d, "refused for now");
		return -1;
	}
	finish(d, 1);
	return -1;
}

/* Handles one frame. Returns 0, or -1 when reading must stop. */
static int handle_frame(struct dept *d, const Hotline__V1__Frame *frame)
{
	if (d->state == CONN_HELLO && frame->msg_case != HOTLINE__V1__FRAME__MSG_WELCOME &&
	    frame->msg_case != HOTLINE__V1__FRAME__MSG_ERROR) {
		conn_lost(d, "server sent something else than Welcome or Error");
		return -1;
	}
	switch (frame->msg_case) {
	case HOTLINE__V1__FRAME__MSG_WELCOME:
		if (d->state != CONN_HELLO) {
			d->stats.unexpected++;
			return 0;
		}
		on_welcome(d, frame->welcome);
		break;
	case HOTLINE__V1__FRAME__MSG_TICKET:
		on_ticket(d, frame->ticket);
		break;
	case HOTLINE__V1__FRAME__MSG_ACTION_ACK:
		on_action_ack(d, frame->action_ack);
		break;
	case HOTLINE__V1__FRAME__MSG_ERROR:
		if (on_error(d, frame->error) != 0)
			return -1;
		break;
	default:
		d->stats.unexpected++;
		log_debug("ignoring a frame of kind %d", (int)frame->msg_case);
		break;
	}
	return d->bev != NULL && !d->finishing ? 0 : -1;
}

/*
 * One flush for every ticket line a read produced, not one per line; then the
 * tickets are acknowledged. If stdout fails, none of them is: a ticket not
 * printed is not taken (the daemon delivers it again).
 */
static void flush_taken(struct dept *d)
{
	size_t n = d->ntaken;
	if (n == 0)
		return;
	d->ntaken = 0;
	if (fflush(stdout) == EOF) {
		log_error("cannot write tickets to stdout: %s", strerror(errno));
		finish(d, 1);
		return;
	}
	for (size_t i = 0; i < n && d->state == CONN_READY; i++)
		take_ticket(d, d->taken[i]);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct dept *d = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	while (d->bev == bev && !d->finishing) {
		struct evbuffer_iovec vec;
		if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1 || vec.iov_len == 0)
			break;
		size_t consumed = 0;
		enum frame_status st =
			frame_decoder_feed(&d->decoder, vec.iov_base, vec.iov_len, &consumed);
		evbuffer_drain(in, consumed);
		if (st < 0) {
			conn_lost(d, st == FRAME_TOO_LARGE
					     ? "frame from server above the size limit"
					     : "out of memory decoding a frame");
			break;
		}
		if (st != FRAME_READY)
			continue;
		size_t body_len;
		const uint8_t *body = frame_decoder_body(&d->decoder, &body_len);
		Hotline__V1__Frame *frame = frame_unpack(body, body_len);
		if (frame == NULL) {
			conn_lost(d, "undecodable frame from server");
			break;
		}
		int rc = handle_frame(d, frame);
		frame_message_free(frame);
		if (rc != 0)
			break;
	}
	flush_taken(d);
	check_done(d);
	stdin_update(d);
}

/* The output drained below MAX_OUTPUT, or (when finishing) to nothing. */
static void write_cb(struct bufferevent *bev, void *arg)
{
	struct dept *d = arg;
	if (d->finishing) {
		if (output_queued(d) == 0)
			event_base_loopexit(d->base, NULL);
		return;
	}
	stdin_update(d);
}

/* ---- connection ------------------------------------------------------- */

static void event_cb(struct bufferevent *bev, short events, void *arg);

static void schedule_reconnect(struct dept *d)
{
	d->backoff_ms = d->backoff_ms == 0 ? BACKOFF_MIN_MS : d->backoff_ms * 2;
	if (d->backoff_ms > BACKOFF_MAX_MS)
		d->backoff_ms = BACKOFF_MAX_MS;
	/* +-20% jitter so many clients do not come back in lockstep. */
	unsigned jitter = (unsigned)(rand() % (d->backoff_ms * 2 / 5 + 1));
	unsigned delay = d->backoff_ms - d->backoff_ms / 5 + jitter;
	d->state = CONN_WAITING;
	log_info("reconnecting in %u ms", delay);
	struct timeval tv = cli_tv_ms(delay);
	evtimer_add(d->conn_timer, &tv);
}

static void start_connect(struct dept *d)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char port[16];
	snprintf(port, sizeof(port), "%d", d->opt.port);
	int rc = getaddrinfo(d->opt.host, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		log_error("cannot resolve %s:%s: %s", d->opt.host, port, gai_strerror(rc));
		if (res)
			freeaddrinfo(res);
		d->state = CONN_CLOSED;
		if (d->opt.reconnect && !d->stopping)
			schedule_reconnect(d);
		else
			finish(d, 1);
		return;
	}
	d->bev = bufferevent_socket_new(d->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (d->bev == NULL)
		fatal("out of memory creating a connection");
	bufferevent_setcb(d->bev, read_cb, write_cb, event_cb, d);
	/* write_cb when the output falls to half the limit: room for stdin again. */
	bufferevent_setwatermark(d->bev, EV_WRITE, MAX_OUTPUT / 2, 0);
	frame_decoder_init(&d->decoder, FRAME_MAX_LIMIT);
	d->state = CONN_CONNECTING;
	struct timeval tv = cli_tv_ms(HELLO_TIMEOUT_MS);
	evtimer_add(d->conn_timer, &tv);
	if (bufferevent_enable(d->bev, EV_READ | EV_WRITE) != 0 ||
	    bufferevent_socket_connect(d->bev, res->ai_addr, (int)res->ai_addrlen) != 0)
		conn_lost(d, strerror(errno));
	freeaddrinfo(res);
}

static void event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct dept *d = arg;
	if (events & BEV_EVENT_CONNECTED) {
		int one = 1;
		evutil_socket_t fd = bufferevent_getfd(bev);
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* A department connection idles for long stretches: notice a dead peer. */
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		d->state = CONN_HELLO;
		if (send_hello(d) != 0)
			check_done(d); /* the connection is lost already */
		return;
	}
	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		int err = EVUTIL_SOCKET_ERROR();
		conn_lost(d, (events & BEV_EVENT_ERROR) && err != 0
				     ? evutil_socket_error_to_string(err)
				     : "closed by server");
		check_done(d);
	}
}

/*
 * Drops the socket (bufferevent_free may be called from the bufferevent's own
 * callback: libevent defers the release). Pending actions are kept: with
 * --reconnect they go again after the next Welcome. Without it, or while
 * stopping, the run ends.
 */
static void conn_lost(struct dept *d, const char *why)
{
	if (d->bev == NULL)
		return;
	bool had_output = output_queued(d) > 0;
	bool was_ready = d->state == CONN_READY;
	bufferevent_free(d->bev);
	d->bev = NULL;
	frame_decoder_free(&d->decoder);
	evtimer_del(d->conn_timer);
	d->state = CONN_CLOSED;
	/* Whatever was in flight may or may not have been applied: send it again. */
	for (struct action *a = d->head; a; a = a->next)
		a->in_flight = false;
	stdin_update(d);
	if (d->finishing) {
		/* Frames still queued (acks) are lost with the connection. */
		if (had_output) {
			log_warn("connection lost before everything was sent: %s", why);
			d->exit_code = 1;
		}
		event_base_loopexit(d->base, NULL);
		return;
	}
	log_warn("connection to %s:%d lost: %s (%zu actions unanswered)", d->opt.host, d->opt.port,
		 why, d->pending);
	if (was_ready) {
		json_t *ev = cli_json_event("disconnected");
		cli_set_str(ev, "reason", why);
		cli_set_int(ev, "pending_actions", (json_int_t)d->pending);
		emit_info(d, ev);
		if (d->finishing)
			return;
	}
	if (d->stopping) {
		finish(d, d->pending == 0 ? 0 : 1);
		return;
	}
	if (d->opt.reconnect) {
		schedule_reconnect(d);
		return;
	}
	finish(d, 1);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dept *d = arg;
	if (d->state == CONN_WAITING) {
		start_connect(d);
	} else if (d->state == CONN_CONNECTING || d->state == CONN_HELLO) {
		conn_lost(d, d->state == CONN_CONNECTING ? "connect timed out"
							 : "no Welcome within the time limit");
		check_done(d);
	}
}

/* ---- stdin commands --------------------------------------------------- */

static void command_error(struct dept *d, const char *line, const char *message)
{
	json_t *ev = cli_json_event("command_error");
	cli_set_str(ev, "message", message);
	cli_set_str(ev, "line", line);
	emit_info(d, ev);
}

/* Splits the first space-separated word off *rest; returns it (NUL-terminated) or NULL. */
static char *next_word(char **rest)
{
	char *p = *rest;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*rest = p;
		return NULL;
	}
	char *word = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p)
		*p++ = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	*rest = p;
	return word;
}

static void begin_stop(struct dept *d, const char *why);

/* Runs one command line (modified in place). */
static void run_command(struct dept *d, char *line)
{
	char *copy = strdup(line);
	if (copy == NULL)
		fatal("out of memory");
	char *rest = line;
	char *cmd = next_word(&rest);
	if (cmd == NULL || cmd[0] == '#')
		goto out;
	if (strcmp(cmd, "quit") == 0) {
		begin_stop(d, "quit");
		goto out;
	}
	enum action_kind kind;
	if (strcmp(cmd, "accept") == 0) {
		kind = ACT_ACCEPT;
	} else if (strcmp(cmd, "return") == 0) {
		kind = ACT_RETURN;
	} else if (strcmp(cmd, "reply") == 0) {
		kind = ACT_REPLY;
	} else if (strcmp(cmd, "extend") == 0) {
		kind = ACT_EXTEND;
	} else {
		command_error(d, copy, "unknown command (accept, return, reply, extend or quit)");
		goto out;
	}
	char *ticket_no = next_word(&rest);
	if (ticket_no == NULL || strlen(ticket_no) > MAX_TICKET_NO) {
		command_error(d, copy, "missing or over-long TICKET_NO");
		goto out;
	}
	int64_t until = 0;
	if (kind == ACT_EXTEND) {
		char *word = next_word(&rest), *end;
		errno = 0;
		long long value = word ? strtoll(word, &end, 10) : 0;
		if (word == NULL || errno != 0 || *end != '\0' || value <= 0) {
			command_error(d, copy,
				      "usage: extend TICKET_NO UNTIL_UNIX_MS REASON... (UNTIL in "
				      "unix milliseconds)");
			goto out;
		}
		until = value;
	}
	if (kind == ACT_ACCEPT && *rest != '\0') {
		command_error(d, copy, "usage: accept TICKET_NO");
		goto out;
	}
	/* The text keeps its inner spaces; the daemon decides whether it may be empty. */
	size_t tlen = strlen(rest);
	while (tlen > 0 && (rest[tlen - 1] == ' ' || rest[tlen - 1] == '\t'))
		rest[--tlen] = '\0';
	start_action(d, ticket_no, kind, false, until, kind == ACT_ACCEPT ? NULL : rest);
out:
	free(copy);
}

/* Runs the complete lines on stdin while there is room and a connection. */
static void run_buffered_commands(struct dept *d)
{
	while (d->state == CONN_READY && !d->stopping && !d->finishing && have_room(d)) {
		size_t len;
		bool too_long;
		char *line = cli_stdin_next_line(&d->in, &len, &too_long);
		if (too_long) {
			command_error(d, "", "command line too long");
			continue;
		}
		if (line == NULL)
			return;
		run_command(d, line);
		free(line);
	}
}

/* Whether stdin should be read now. */
static bool stdin_wanted(const struct dept *d)
{
	return cli_stdin_can_read(&d->in) && d->state == CONN_READY && !d->stopping &&
	       !d->finishing && have_room(d);
}

/*
 * Re-evaluates stdin after anything that changes the room for actions: runs
 * buffered lines, then arms or disarms reading. A regular file cannot be
 * polled (epoll refuses it), so it is read one chunk per loop pass instead.
 */
static void stdin_update(struct dept *d)
{
	if (d->in.buf == NULL)
		return;
	run_buffered_commands(d);
	cli_stdin_want(&d->in, stdin_wanted(d));
}

/* After each read of stdin, and at its end. */
static void on_stdin(void *arg)
{
	struct dept *d = arg;
	stdin_update(d);
	check_done(d);
}

/* ---- run control ------------------------------------------------------ */

/*
 * Ends the run with exit_code once everything queued for the daemon is sent
 * (acks must not be lost at exit), or after DRAIN_TIMEOUT_MS.
 */
static void finish(struct dept *d, int exit_code)
{
	if (d->finishing)
		return;
	d->finishing = true;
	d->exit_code = exit_code;
	cli_stdin_want(&d->in, false);
	evtimer_del(d->conn_timer);
	if (d->bev == NULL || output_queued(d) == 0) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	bufferevent_disable(d->bev, EV_READ);
	bufferevent_setwatermark(d->bev, EV_WRITE, 0, 0);
	struct timeval tv = cli_tv_ms(DRAIN_TIMEOUT_MS);
	evtimer_add(d->drain, &tv);
}

/* Called after every event: ends the run when its goal is reached. */
static void check_done(struct dept *d)
{
	if (d->finishing)
		return;
	if (d->stopping && (d->pending == 0 || d->state != CONN_READY)) {
		if (d->pending > 0)
			log_warn("stopping with %zu actions unanswered", d->pending);
		finish(d, d->pending == 0 ? 0 : 1);
		return;
	}
	if (d->opt.count > 0 && d->stats.distinct >= d->opt.count && d->pending == 0)
		finish(d, 0);
}

/* quit or a signal: take no new tickets or commands; wait for answers, then exit. */
static void begin_stop(struct dept *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	log_info("%s: waiting for %zu unanswered actions", why, d->pending);
	struct timeval tv = cli_tv_ms(STOP_GRACE_MS);
	evtimer_add(d->grace, &tv);
	stdin_update(d);
	check_done(d);
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dept *d = arg;
	log_warn("gave up waiting for %zu unanswered actions", d->pending);
	finish(d, 1);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dept *d = arg;
	log_warn("%zu bytes for the daemon not sent at exit", output_queued(d));
	d->exit_code = 1;
	event_base_loopexit(d->base, NULL);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dept *d = arg;
	if (d->opt.count)
		log_error("timed out after %.1f s: %" PRIu64 " of %" PRIu64
			  " tickets, %zu actions unanswered",
			  d->opt.timeout_s, d->stats.distinct, d->opt.count, d->pending);
	else
		log_error("timed out after %.1f s", d->opt.timeout_s);
	finish(d, 1);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct dept *d = arg;
	if (++d->signals > 1 || d->finishing) {
		d->exit_code = 1;
		event_base_loopexit(d->base, NULL);
		return;
	}
	begin_stop(d, sig == SIGINT ? "interrupted" : "terminated");
}

static void print_summary(struct dept *d)
{
	const struct stats *st = &d->stats;
	json_t *ev = cli_json_event("summary");
	cli_set_int(ev, "tickets", (json_int_t)st->tickets);
	cli_set_int(ev, "distinct", (json_int_t)st->distinct);
	cli_set_int(ev, "reacked", (json_int_t)st->reacked);
	cli_set_int(ev, "acked", (json_int_t)st->acked);
	cli_set_int(ev, "skipped", (json_int_t)st->skipped);
	cli_set_int(ev, "ignored", (json_int_t)st->ignored);
	cli_set_int(ev, "actions_sent", (json_int_t)st->actions_sent);
	cli_set_int(ev, "actions_ok", (json_int_t)st->actions_ok);
	cli_set_int(ev, "actions_failed", (json_int_t)st->actions_failed);
	cli_set_int(ev, "pending_actions", (json_int_t)d->pending);
	cli_set_int(ev, "errors", (json_int_t)st->errors);
	cli_set_int(ev, "unexpected", (json_int_t)st->unexpected);
	cli_set_int(ev, "reconnects", (json_int_t)st->reconnects);
	cli_set_int(ev, "exit", d->exit_code);
	if (emit(ev) != 0)
		d->exit_code = 1;
}

/* ---- options ---------------------------------------------------------- */

static void usage(FILE *out)
{
	fputs("usage: hotline-dept --dept CODE [--token TOKEN] [--host H] [--port P]\n"
	      "                    [--auto accept|reply|return] [--reply-text TEXT] [--reason "
	      "TEXT]\n"
	      "                    [--count N] [--timeout SEC] [--no-ack] [--reconnect] [--quiet]\n"
	      "\n"
	      "The reference department client of hotline12345: connects to hotlined's binary\n"
	      "port as a department, prints every ticket pushed to it as a JSON line, then\n"
	      "acknowledges it, and sends accept / return / reply / extend.\n"
	      "\n"
	      "options:\n"
	      "      --host H           hotlined host (default 127.0.0.1)\n"
	      "      --port P           binary port (default 12345)\n"
	      "      --dept CODE        department code (Hello.id); required\n"
	      "      --token TOKEN      department token (default: $HOTLINE_DEPT_TOKEN)\n"
	      "      --no-ack           print tickets but never acknowledge them (they are\n"
	      "                         redelivered; for tests)\n"
	      "      --auto MODE        act on every ticket received: accept; reply (accept,\n"
	      "                         then reply with --reply-text once accepted); return\n"
	      "                         (with --reason)\n"
	      "      --reply-text TEXT  reply content for --auto reply (default "
	      "\"" DEFAULT_REPLY_TEXT "\")\n"
	      "      --reason TEXT      return reason for --auto return\n"
	      "      --count N          exit 0 once N different tickets were received and every\n"
	      "                         action answered; later new tickets are left\n"
	      "                         unacknowledged (redelivered to the next consumer)\n"
	      "      --timeout SEC      exit 1 if not done within SEC seconds\n"
	      "      --reconnect        reconnect with backoff after losing the connection;\n"
	      "                         unanswered actions are sent again\n"
	      "      --quiet            no ticket and successful action_ack lines\n"
	      "  -h, --help             this text\n"
	      "      --version          print the version\n"
	      "\n"
	      "stdin commands, one per line (unless stdin is /dev/null):\n"
	      "  accept TICKET_NO\n"
	      "  return TICKET_NO REASON...\n"
	      "  reply TICKET_NO TEXT...\n"
	      "  extend TICKET_NO UNTIL_UNIX_MS REASON...\n"
	      "  quit                   wait (up to 10 s) for unanswered actions, then exit\n"
	      "End of stdin stops reading commands; it does not end the run.\n"
	      "\n"
	      "stdout: one JSON object per line with \"at_ms\" (unix ms) and \"event\", one of\n"
	      "welcome, ticket, action_ack,\n"
	      "error, command_error, disconnected, summary (always last). Logs go to stderr.\n"
	      "Exit status: 0 done (--count reached, quit, signal with nothing unanswered),\n"
	      "1 refused, connection lost (without --reconnect), timeout, 2 usage.\n",
	      out);
}

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "hotline-dept: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see --help)\n");
	exit(2);
}

static uint64_t parse_uint(const char *arg, const char *name, uint64_t min, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long value = strtoull(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || value < min || value > max)
		usage_error("invalid %s", name);
	return value;
}

enum {
	OPT_HOST = 0x100,
	OPT_PORT,
	OPT_DEPT,
	OPT_TOKEN,
	OPT_NO_ACK,
	OPT_AUTO,
	OPT_REPLY_TEXT,
	OPT_REASON,
	OPT_COUNT,
	OPT_TIMEOUT,
	OPT_RECONNECT,
	OPT_QUIET,
	OPT_VERSION
};

static void parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, OPT_HOST },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "dept", required_argument, NULL, OPT_DEPT },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "no-ack", no_argument, NULL, OPT_NO_ACK },
		{ "auto", required_argument, NULL, OPT_AUTO },
		{ "reply-text", required_argument, NULL, OPT_REPLY_TEXT },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "reconnect", no_argument, NULL, OPT_RECONNECT },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct options){
		.host = DEFAULT_HOST,
		.port = DEFAULT_PORT,
		.reply_text = DEFAULT_REPLY_TEXT,
		.reason = DEFAULT_RETURN_REASON,
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HOST:
			o->host = optarg;
			break;
		case OPT_PORT:
			o->port = (int)parse_uint(optarg, "--port", 1, 65535);
			break;
		case OPT_DEPT:
			o->dept = optarg;
			break;
		case OPT_TOKEN:
			o->token = optarg;
			break;
		case OPT_NO_ACK:
			o->no_ack = true;
			break;
		case OPT_AUTO:
			if (strcmp(optarg, "accept") == 0)
				o->auto_mode = AUTO_ACCEPT;
			else if (strcmp(optarg, "reply") == 0)
				o->auto_mode = AUTO_REPLY;
			else if (strcmp(optarg, "return") == 0)
				o->auto_mode = AUTO_RETURN;
			else
				usage_error("--auto takes accept, reply or return, not '%s'",
					    optarg);
			break;
		case OPT_REPLY_TEXT:
			o->reply_text = optarg;
			break;
		case OPT_REASON:
			o->reason = optarg;
			break;
		case OPT_COUNT:
			o->count = parse_uint(optarg, "--count", 1, UINT64_MAX);
			break;
		case OPT_TIMEOUT: {
			char *end;
			errno = 0;
			o->timeout_s = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(o->timeout_s > 0) ||
			    o->timeout_s > 365.0 * 86400)
				usage_error("invalid --timeout '%s' (seconds)", optarg);
			break;
		}
		case OPT_RECONNECT:
			o->reconnect = true;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("hotline-dept %s\n", HOTLINE_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->dept == NULL)
		usage_error("%s", "--dept CODE is required");
	if (!code_valid(o->dept))
		usage_error("invalid --dept '%s' (1-64 letters, digits, '_' or '-')", o->dept);
	if (o->token == NULL)
		o->token = getenv(TOKEN_ENV);
	if (o->token == NULL || o->token[0] == '\0')
		usage_error("%s", "no token: use --token TOKEN or set " TOKEN_ENV);
}

int main(int argc, char **argv)
{
	log_set_ident("hotline-dept");
	struct dept *d = calloc(1, sizeof(*d));
	if (d == NULL)
		fatal("out of memory");
	parse_options(&d->opt, argc, argv);
	d->seen = seen_new();
	if (d->opt.quiet)
		log_set_level(LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)getpid());

	d->base = event_base_new();
	if (d->base == NULL)
		fatal("cannot create the event loop");
	d->conn_timer = evtimer_new(d->base, conn_timer_cb, d);
	d->deadline = evtimer_new(d->base, deadline_cb, d);
	d->grace = evtimer_new(d->base, grace_cb, d);
	d->drain = evtimer_new(d->base, drain_cb, d);
	d->sigint_ev = evsignal_new(d->base, SIGINT, signal_cb, d);
	d->sigterm_ev = evsignal_new(d->base, SIGTERM, signal_cb, d);
	if (!d->conn_timer || !d->deadline || !d->grace || !d->drain || !d->sigint_ev ||
	    !d->sigterm_ev || evsignal_add(d->sigint_ev, NULL) != 0 ||
	    evsignal_add(d->sigterm_ev, NULL) != 0)
		fatal("cannot set up the event loop");
	if (d->opt.timeout_s > 0) {
		double whole = (double)(long)d->opt.timeout_s;
		struct timeval tv = { .tv_sec = (time_t)whole,
				      .tv_usec = (suseconds_t)((d->opt.timeout_s - whole) * 1e6) };
		evtimer_add(d->deadline, &tv);
	}
	cli_stdin_setup(&d->in, d->base, MAX_COMMAND_LINE, on_stdin, d);
	log_info("connecting to %s:%d as department %s", d->opt.host, d->opt.port, d->opt.dept);
	start_connect(d);
	if (!d->finishing)
		event_base_dispatch(d->base);

	print_summary(d);
	int exit_code = d->exit_code;
	if (d->bev)
		bufferevent_free(d->bev);
	frame_decoder_free(&d->decoder);
	while (d->head) {
		struct action *a = d->head;
		action_unlink(d, a);
		action_free(a);
	}
	cli_stdin_free(&d->in);
	event_free(d->conn_timer);
	event_free(d->deadline);
	event_free(d->grace);
	event_free(d->drain);
	event_free(d->sigint_ev);
	event_free(d->sigterm_ev);
	event_base_free(d->base);
	seen_free(d->seen);
	free(d->taken);
	cli_line_free(&d->line);
	free(d);
	return exit_code;
}
