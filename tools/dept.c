/*
 * dept.c - hotline-dept: the reference department client.
 *
 * Owns: one department connection to hotlined's binary port on one libevent
 * loop: Hello as ROLE_DEPARTMENT, printing each pushed Ticket as a JSON line
 * and only then acknowledging it (Ack{ticket_no}); sending DeptActions typed
 * on stdin or chosen by --auto, at most Welcome.action_window of them
 * unanswered (the rest wait here), and matching each ActionAck / Error back to
 * the action it answers; sending an action again after Error{UNAVAILABLE} or
 * Error{INTERNAL} (with backoff, at most MAX_RESENDS times) and, after a
 * reconnection (--reconnect), the actions that were never answered. What
 * every reference client does alike (options, the run, Hello and Welcome,
 * stdin lines, the summary) is cli_client.c's.
 * Never: acknowledges a ticket it has not printed (the daemon must then
 * redeliver it), has more than action_window actions in flight (past that the
 * daemon stops reading the connection, our Acks with it), holds more than
 * MAX_PENDING unanswered actions or MAX_OUTPUT queued bytes (a ticket that
 * finds no room is left unacknowledged for redelivery, and stdin is read no
 * further until there is room), or touches PostgreSQL or Redis.
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backoff.h"
#include "hotline.pb-c.h"
#include "cli_client.h"
#include "cli_json.h"
#include "cli_opt.h"
#include "cli_queue.h"
#include "cli_stdin.h"
#include "log.h"

#define PROG "hotline-dept"
#define DEFAULT_REPLY_TEXT "已处理 handled"
#define DEFAULT_RETURN_REASON "不属于本部门职责 not this department's matter"
#define TOKEN_ENV "HOTLINE_DEPT_TOKEN"
#define MAX_PENDING 65536	     /* actions sent and not yet answered */
#define PENDING_BUCKETS 65536	     /* hash buckets for them (power of two) */
#define MAX_OUTPUT (8 * 1024 * 1024) /* bytes queued to the daemon */
#define MAX_COMMAND_LINE 65536	     /* bytes in one stdin command */
#define MAX_TICKET_NO 128	     /* bytes in a ticket number we take */
#define MAX_ACTION_TICKET_NO 31	     /* bytes in one the daemon takes in a DeptAction */
#define RESEND_MIN_MS 50	     /* first wait before resending after UNAVAILABLE / INTERNAL */
#define RESEND_MAX_MS 2000	     /* longest such wait (doubling in between, +-20%) */
#define MAX_RESENDS 10		     /* then the action is reported as failed */
#define MAX_LOGGED_SKIPS 20
#define SEEN_MAX 65536 /* ticket numbers remembered as taken (power of two) */
#define SEEN_NIL UINT32_MAX

enum auto_mode { AUTO_NONE = 0, AUTO_ACCEPT, AUTO_REPLY, AUTO_RETURN };

enum action_kind { ACT_ACCEPT = 0, ACT_RETURN, ACT_REPLY, ACT_EXTEND };

static const char *const action_names[] = {
	[ACT_ACCEPT] = "accept",
	[ACT_RETURN] = "return",
	[ACT_REPLY] = "reply",
	[ACT_EXTEND] = "extend",
};

/*
 * Where an unanswered action is. At most one action per ticket is past
 * ACTION_WAITING: the daemon applies a connection's actions in the order sent,
 * but one answered UNAVAILABLE or INTERNAL goes again later, and a later
 * action on its ticket (a reply after an accept) must not overtake it. With
 * one per ticket in flight, an answer (which names only the ticket) also
 * matches its action whatever order answers come in (the daemon answers an
 * invalid action at once, ahead of those it is applying).
 */
enum action_state {
	ACTION_WAITING,	  /* behind an earlier action on its ticket */
	ACTION_READY,	  /* its ticket's turn: in the send queue */
	ACTION_IN_FLIGHT, /* sent on the current connection, answer awaited */
	ACTION_RESEND	  /* answered UNAVAILABLE / INTERNAL: ready when its timer fires */
};

/*
 * An action not yet finally answered. Lives in a hash chain (by ticket_no) and,
 * while READY or IN_FLIGHT, in the send queue or the in-flight list.
 */
struct action {
	struct action *hash_next;
	struct cli_link link; /* in the send queue or the in-flight list */
	struct dept *dept;    /* for the resend timer */
	uint64_t seq;	      /* creation order */
	enum action_state state;
	unsigned sends;		    /* times sent, resends included */
	unsigned retries;	    /* UNAVAILABLE / INTERNAL answers so far */
	long backoff_ms;	    /* backoff_next's step for the next resend */
	struct event *resend_timer; /* created at the first UNAVAILABLE / INTERNAL */
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

/* The options of its own (--count, distinct tickets to take, is cli_client's). */
struct options {
	bool no_ack;
	enum auto_mode auto_mode;
	const char *reply_text;
	const char *reason;
	bool reconnect;
	bool quiet;
};

struct stats {
	uint64_t tickets;  /* deliveries taken (printed, then acknowledged) */
	uint64_t distinct; /* different ticket numbers among them (--count) */
	uint64_t reacked;  /* redeliveries of taken tickets acknowledged after the goal */
	uint64_t acked;
	uint64_t skipped;      /* no room: left unacknowledged for redelivery */
	uint64_t ignored;      /* after --count or quit: left unacknowledged */
	uint64_t actions_sent; /* sends, resends included */
	uint64_t actions_ok;
	uint64_t actions_failed; /* ActionAck ok=false, or a final Error naming the ticket */
	uint64_t resent;	 /* sends of an action after its first one */
};

struct dept {
	struct options opt;
	struct cli_client cli; /* the options, connection, stdin and run every client has */

	/* Unanswered actions: all in the hash; READY ones in send_queue (resends
	 * and those of a lost connection first, then oldest first), IN_FLIGHT ones
	 * in in_flight (in the order sent). */
	struct action *buckets[PENDING_BUCKETS];
	struct cli_queue send_queue, in_flight; /* of struct action (link) */
	size_t pending;				/* in any state */
	size_t action_window; /* most in flight at once (from Welcome; 0 before it) */
	uint64_t seq;

	struct seen_set *seen;

	struct stats stats;
	/* Tickets printed (not yet flushed) by the read in progress: acknowledged
	 * and acted on only once on_read_done has flushed stdout (flush_taken). */
	char (*taken)[MAX_TICKET_NO + 1];
	size_t ntaken, taken_cap;
	struct cli_line line; /* the ticket line being written */
};

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

/* The action a link of the send queue or the in-flight list belongs to. */
static struct action *action_of(struct cli_link *link)
{
	return CLI_QUEUE_ENTRY(link, struct action, link);
}

/* The action of ticket_no past ACTION_WAITING (at most one), or NULL. */
static struct action *ticket_current(const struct dept *d, const char *ticket_no)
{
	for (struct action *a = d->buckets[bucket_of(ticket_no)]; a; a = a->hash_next)
		if (a->state != ACTION_WAITING && strcmp(a->ticket_no, ticket_no) == 0)
			return a;
	return NULL;
}

/* The oldest action of ticket_no waiting for its turn, or NULL. */
static struct action *ticket_next_waiting(const struct dept *d, const char *ticket_no)
{
	struct action *best = NULL;
	for (struct action *a = d->buckets[bucket_of(ticket_no)]; a; a = a->hash_next)
		if (a->state == ACTION_WAITING && strcmp(a->ticket_no, ticket_no) == 0 &&
		    (best == NULL || a->seq < best->seq))
			best = a;
	return best;
}

static void action_ready(struct dept *d, struct action *a)
{
	a->state = ACTION_READY;
	cli_queue_append(&d->send_queue, &a->link);
}

/*
 * Records a new action: ready to send when its ticket has no other action
 * under way, else waiting behind it.
 */
static struct action *action_add(struct dept *d, const char *ticket_no, enum action_kind kind,
				 bool automatic, int64_t until, const char *text)
{
	size_t len = strlen(ticket_no);
	struct action *a = calloc(1, sizeof(*a) + len + 1);
	if (a == NULL || (text != NULL && (a->text = strdup(text)) == NULL))
		fatal("out of memory");
	memcpy(a->ticket_no, ticket_no, len + 1);
	a->dept = d;
	a->kind = kind;
	a->automatic = automatic;
	a->until = until;
	a->seq = ++d->seq;
	a->state = ACTION_WAITING;
	bool first = ticket_current(d, ticket_no) == NULL;
	size_t b = bucket_of(ticket_no);
	a->hash_next = d->buckets[b];
	d->buckets[b] = a;
	d->pending++;
	if (first)
		action_ready(d, a);
	return a;
}

/*
 * The in-flight action ticket_no's answer is for: taken off the in-flight
 * list (still in the hash, state unchanged); NULL if none.
 */
static struct action *action_answered(struct dept *d, const char *ticket_no)
{
	struct action *a = ticket_current(d, ticket_no);
	if (a == NULL || a->state != ACTION_IN_FLIGHT)
		return NULL;
	cli_queue_remove(&d->in_flight, &a->link);
	return a;
}

/*
 * a (answered, on no list) is done with: out of the hash, and its ticket's
 * next action, if any, gets its turn. The caller frees a.
 */
static void action_done(struct dept *d, struct action *a)
{
	struct action **pp = &d->buckets[bucket_of(a->ticket_no)];
	while (*pp != a)
		pp = &(*pp)->hash_next;
	*pp = a->hash_next;
	a->hash_next = NULL;
	d->pending--;
	struct action *next = ticket_next_waiting(d, a->ticket_no);
	if (next)
		action_ready(d, next);
}

static void action_free(struct action *a)
{
	if (a == NULL)
		return;
	if (a->resend_timer)
		event_free(a->resend_timer);
	free(a->text);
	free(a);
}

/* ---- sending ---------------------------------------------------------- */

/* Each returns 0, or -1 when the connection was lost (cli_conn_lost() has run). */
static int send_ack(struct dept *d, const char *ticket_no) __attribute__((warn_unused_result));
static int send_action(struct dept *d, struct action *a) __attribute__((warn_unused_result));

static int send_ack(struct dept *d, const char *ticket_no)
{
	Hotline__V1__Ack ack = HOTLINE__V1__ACK__INIT;
	ack.ticket_no = (char *)ticket_no;
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_ACK;
	frame.ack = &ack;
	return cli_conn_send(&d->cli.conn, &frame);
}

/* Sends a (pending) action, counting the send. Returns 0, or -1 when the connection was lost. */
static int send_action(struct dept *d, struct action *a)
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
	if (a->sends++ > 0)
		d->stats.resent++;
	return cli_conn_send(&d->cli.conn, &frame);
}

/*
 * Sends queued actions, oldest first, while the connection takes them and
 * fewer than action_window are in flight. A send failure loses the connection
 * (on_lost queues the in-flight actions again for the next Welcome).
 */
static void pump(struct dept *d)
{
	while (d->cli.conn.state == CLI_CONN_READY && !d->cli.conn.finishing &&
	       d->in_flight.n < d->action_window && d->send_queue.head != NULL) {
		struct action *a = action_of(d->send_queue.head);
		cli_queue_remove(&d->send_queue, &a->link);
		a->state = ACTION_IN_FLIGHT;
		cli_queue_append(&d->in_flight, &a->link);
		if (send_action(d, a) != 0)
			return;
	}
}

/* Records a new action and sends it when its turn and the window allow. */
static void start_action(struct dept *d, const char *ticket_no, enum action_kind kind,
			 bool automatic, int64_t until, const char *text)
{
	action_add(d, ticket_no, kind, automatic, until, text);
	pump(d);
}

/* The resend timer of an action answered UNAVAILABLE / INTERNAL: its turn again, first. */
static void on_resend_due(evutil_socket_t fd, short what, void *arg)
{
	struct action *a = arg;
	struct dept *d = a->dept;
	a->state = ACTION_READY;
	cli_queue_prepend(&d->send_queue, &a->link);
	pump(d);
}

/*
 * a (just answered, on no list) was refused for now: returns the wait in ms
 * before it goes again (its timer is set), or -1 when it has been resent
 * MAX_RESENDS times already (then it has failed).
 */
static long action_schedule_resend(struct dept *d, struct action *a)
{
	if (a->retries >= MAX_RESENDS)
		return -1;
	a->retries++;
	long delay = backoff_next(&a->backoff_ms, RESEND_MIN_MS, RESEND_MAX_MS, 20, 20,
				  (unsigned long)rand());
	if (a->resend_timer == NULL &&
	    (a->resend_timer = evtimer_new(d->cli.conn.base, on_resend_due, a)) == NULL)
		fatal("out of memory");
	a->state = ACTION_RESEND;
	struct timeval tv = cli_tv_ms((unsigned)delay);
	evtimer_add(a->resend_timer, &tv);
	return delay;
}

/* ---- receiving -------------------------------------------------------- */

/* cli_client: the welcome line's member of the department's own. */
static void welcome_members(void *arg, const Hotline__V1__Welcome *w, json_t *line)
{
	cli_set_int(line, "action_window", w->action_window);
}

/* cli_client: welcomed (again, after a reconnection): actions may go. */
static void on_welcome(void *arg, const Hotline__V1__Welcome *w)
{
	struct dept *d = arg;
	/*
	 * A server older than action_window sends 0; it refused actions past
	 * `window` waiting, so that many at most. Actions never answered on a lost
	 * connection go first.
	 */
	d->action_window = w->action_window ? w->action_window : w->window;
	if (d->action_window == 0)
		d->action_window = 1;
	pump(d);
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
		d->cli.unexpected++;
		return;
	}
	bool seen_before = seen_contains(d->seen, ticket_no);
	if (d->cli.conn.stopping || d->cli.conn.finishing ||
	    (d->cli.opt.count && d->stats.distinct >= d->cli.opt.count)) {
		if (seen_before && !d->opt.no_ack && !d->cli.conn.finishing) {
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
	if (d->opt.auto_mode != AUTO_NONE ? !cli_client_has_room(&d->cli)
					  : cli_conn_output_queued(&d->cli.conn) >= MAX_OUTPUT) {
		d->stats.skipped++;
		if (d->stats.skipped <= MAX_LOGGED_SKIPS)
			log_warn("ticket %s left unacknowledged: %zu actions unanswered, %zu bytes "
				 "queued%s",
				 ticket_no, d->pending, cli_conn_output_queued(&d->cli.conn),
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
			cli_conn_finish(&d->cli.conn, 1);
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
	struct action *a = action_answered(d, ticket_no);
	if (a == NULL)
		d->cli.unexpected++;
	if (ack->ok)
		d->stats.actions_ok++;
	else
		d->stats.actions_failed++;
	if (!d->opt.quiet || !ack->ok) {
		json_t *ev = cli_json_event("action_ack");
		cli_set_str(ev, "ticket_no", ticket_no);
		if (a)
			cli_set_str(ev, "action", action_names[a->kind]);
		cli_client_ack_members(ev, ack);
		cli_conn_emit(&d->cli.conn, ev);
	}
	if (a) {
		/*
		 * --auto reply: reply once the ticket is ACCEPTED, after any action
		 * on it already waiting. An accept refused because the ticket already
		 * is ACCEPTED (resent after a lost answer) counts too.
		 */
		bool reply = a->automatic && a->kind == ACT_ACCEPT &&
			     d->opt.auto_mode == AUTO_REPLY &&
			     (ack->ok ||
			      ack->state == HOTLINE__V1__TICKET_STATE__TICKET_STATE_ACCEPTED) &&
			     !d->cli.conn.finishing;
		action_done(d, a);
		if (reply)
			action_add(d, a->ticket_no, ACT_REPLY, true, 0, d->opt.reply_text);
		action_free(a);
	}
	pump(d);
}

/* An Error: the answer to an action in flight, or (to Hello) a refusal. */
static void on_error(struct dept *d, const Hotline__V1__Error *err)
{
	const char *ticket_no = err->ticket_no ? err->ticket_no : "";
	bool for_now = cli_client_error_is_temporary(err->code);
	/* PROTOCOL with a ticket_no answers an Ack of ours, never an action. */
	struct action *a = ticket_no[0] && err->code != HOTLINE__V1__ERROR_CODE__ERROR_PROTOCOL
				   ? action_answered(d, ticket_no)
				   : NULL;
	long resend_in_ms = a && for_now ? action_schedule_resend(d, a) : -1;
	json_t *ev = cli_client_error_line(&d->cli, err);
	if (a)
		cli_set_str(ev, "action", action_names[a->kind]);
	if (resend_in_ms >= 0)
		cli_set_int(ev, "resend_in_ms", resend_in_ms);
	cli_conn_emit(&d->cli.conn, ev);
	if (a) {
		if (resend_in_ms < 0) {
			d->stats.actions_failed++;
			action_done(d, a);
			action_free(a);
		}
		pump(d);
		return;
	}
	if (d->cli.conn.state == CLI_CONN_HELLO)
		cli_client_refused(&d->cli, err);
	/* else the server decides whether the connection goes on */
}

/* cli_client: one frame other than Welcome (in CLI_CONN_HELLO only Error). */
static void on_frame(void *arg, const Hotline__V1__Frame *frame)
{
	struct dept *d = arg;
	switch (frame->msg_case) {
	case HOTLINE__V1__FRAME__MSG_TICKET:
		on_ticket(d, frame->ticket);
		break;
	case HOTLINE__V1__FRAME__MSG_ACTION_ACK:
		on_action_ack(d, frame->action_ack);
		break;
	case HOTLINE__V1__FRAME__MSG_ERROR:
		on_error(d, frame->error);
		break;
	default:
		cli_client_unknown_frame(&d->cli, frame);
		break;
	}
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
		cli_conn_finish(&d->cli.conn, 1);
		return;
	}
	for (size_t i = 0; i < n && d->cli.conn.state == CLI_CONN_READY; i++)
		take_ticket(d, d->taken[i]);
}

/* cli_client: after the frames of one read: the tickets they brought are flushed, then acked. */
static void on_read_done(void *arg)
{
	flush_taken(arg);
}

/*
 * cli_client: the connection is gone. Pending actions are kept: with
 * --reconnect they go again after the next Welcome.
 */
static void on_lost(void *arg)
{
	struct dept *d = arg;
	/* Whatever was in flight may or may not have been applied: send it again, first. */
	for (struct cli_link *l = d->in_flight.head; l; l = l->next)
		action_of(l)->state = ACTION_READY;
	cli_queue_prepend_all(&d->send_queue, &d->in_flight);
}

/* ---- stdin commands --------------------------------------------------- */

/* cli_client: one command line other than quit. */
static void run_command(void *arg, const char *line, char *cmd, char *rest)
{
	struct dept *d = arg;
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
		cli_client_command_error(&d->cli, line,
					 "unknown command (accept, return, reply, extend or quit)");
		return;
	}
	char *ticket_no = cli_next_word(&rest);
	if (ticket_no == NULL || strlen(ticket_no) > MAX_ACTION_TICKET_NO) {
		/* The daemon's refusal of a longer one would not name it. */
		cli_client_command_error(&d->cli, line,
					 "missing or over-long TICKET_NO (at most 31 bytes)");
		return;
	}
	int64_t until = 0;
	if (kind == ACT_EXTEND) {
		char *word = cli_next_word(&rest), *end;
		errno = 0;
		long long value = word ? strtoll(word, &end, 10) : 0;
		if (word == NULL || errno != 0 || *end != '\0' || value <= 0) {
			cli_client_command_error(&d->cli, line,
						 "usage: extend TICKET_NO UNTIL_UNIX_MS REASON... "
						 "(UNTIL in unix milliseconds)");
			return;
		}
		until = value;
	}
	if (kind == ACT_ACCEPT && *rest != '\0') {
		cli_client_command_error(&d->cli, line, "usage: accept TICKET_NO");
		return;
	}
	/* The text keeps its inner spaces; the daemon decides whether it may be empty. */
	cli_trim_end(rest);
	start_action(d, ticket_no, kind, false, until, kind == ACT_ACCEPT ? NULL : rest);
}

/* ---- run control ------------------------------------------------------ */

/* cli_client: --count distinct tickets taken and every action answered: exit 0. */
static int goal_reached(void *arg)
{
	const struct dept *d = arg;
	if (d->cli.opt.count > 0 && d->stats.distinct >= d->cli.opt.count && d->pending == 0)
		return 0;
	return -1;
}

static void on_deadline(void *arg)
{
	struct dept *d = arg;
	if (d->cli.opt.count)
		log_error("timed out after %.1f s: %" PRIu64 " of %" PRIu64
			  " tickets, %zu actions unanswered",
			  d->cli.opt.timeout_s, d->stats.distinct, d->cli.opt.count, d->pending);
	else
		log_error("timed out after %.1f s", d->cli.opt.timeout_s);
}

static size_t unanswered(void *arg)
{
	const struct dept *d = arg;
	return d->pending;
}

/* Actions unanswered and tickets printed but not yet acknowledged: the room check. */
static size_t held(void *arg)
{
	const struct dept *d = arg;
	return d->pending + d->ntaken;
}

static void summary_members(void *arg, json_t *line)
{
	const struct stats *st = &((const struct dept *)arg)->stats;
	cli_set_int(line, "tickets", (json_int_t)st->tickets);
	cli_set_int(line, "distinct", (json_int_t)st->distinct);
	cli_set_int(line, "reacked", (json_int_t)st->reacked);
	cli_set_int(line, "acked", (json_int_t)st->acked);
	cli_set_int(line, "skipped", (json_int_t)st->skipped);
	cli_set_int(line, "ignored", (json_int_t)st->ignored);
	cli_set_int(line, "actions_sent", (json_int_t)st->actions_sent);
	cli_set_int(line, "actions_ok", (json_int_t)st->actions_ok);
	cli_set_int(line, "actions_failed", (json_int_t)st->actions_failed);
	cli_set_int(line, "resent", (json_int_t)st->resent);
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
	      "At most Welcome.action_window actions are unanswered at once (the rest wait\n"
	      "here), actions on one ticket one at a time. An action answered UNAVAILABLE or\n"
	      "INTERNAL is sent again after 50 ms doubling to 2 s, up to 10 times.\n"
	      "\n"
	      "stdout: one JSON object per line with \"at_ms\" (unix ms) and \"event\", one of\n"
	      "welcome, ticket, action_ack,\n"
	      "error, command_error, disconnected, summary (always last). Logs go to stderr.\n"
	      "Exit status: 0 done (--count reached, quit, signal with nothing unanswered),\n"
	      "1 refused, connection lost (without --reconnect), timeout, 2 usage.\n",
	      out);
}

enum {
	OPT_NO_ACK = CLI_OPT_OWN,
	OPT_AUTO,
	OPT_REPLY_TEXT,
	OPT_REASON,
	OPT_RECONNECT,
	OPT_QUIET,
};

/* cli_client: an option of the department's own. */
static bool option(void *arg, int opt, char *value)
{
	struct options *o = &((struct dept *)arg)->opt;
	switch (opt) {
	case OPT_NO_ACK:
		o->no_ack = true;
		return true;
	case OPT_AUTO:
		if (strcmp(value, "accept") == 0)
			o->auto_mode = AUTO_ACCEPT;
		else if (strcmp(value, "reply") == 0)
			o->auto_mode = AUTO_REPLY;
		else if (strcmp(value, "return") == 0)
			o->auto_mode = AUTO_RETURN;
		else
			cli_usage_error(PROG, "--auto takes accept, reply or return, not '%s'",
					value);
		return true;
	case OPT_REPLY_TEXT:
		o->reply_text = value;
		return true;
	case OPT_REASON:
		o->reason = value;
		return true;
	case OPT_RECONNECT:
		o->reconnect = true;
		return true;
	case OPT_QUIET:
		o->quiet = true;
		return true;
	}
	return false;
}

static const struct option longopts[] = {
	{ "host", required_argument, NULL, CLI_OPT_HOST },
	{ "port", required_argument, NULL, CLI_OPT_PORT },
	{ "dept", required_argument, NULL, CLI_OPT_ID },
	{ "token", required_argument, NULL, CLI_OPT_TOKEN },
	{ "no-ack", no_argument, NULL, OPT_NO_ACK },
	{ "auto", required_argument, NULL, OPT_AUTO },
	{ "reply-text", required_argument, NULL, OPT_REPLY_TEXT },
	{ "reason", required_argument, NULL, OPT_REASON },
	{ "count", required_argument, NULL, CLI_OPT_COUNT },
	{ "timeout", required_argument, NULL, CLI_OPT_TIMEOUT },
	{ "reconnect", no_argument, NULL, OPT_RECONNECT },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, CLI_OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* ---- the client ------------------------------------------------------- */

static const struct cli_client_config dept_client = {
	.prog = PROG,
	.role = HOTLINE__V1__ROLE__ROLE_DEPARTMENT,
	.role_name = "department",
	.id_option = "--dept",
	.id_meta = "CODE",
	.id_key = "dept",
	.token_env = TOKEN_ENV,
	.requests = "actions",
	.pending_key = "pending_actions",
	.max_requests = MAX_PENDING,
	.max_output = MAX_OUTPUT,
	.max_command_line = MAX_COMMAND_LINE,
	.summary_reconnects = true,
	.usage = usage,
};

static const struct cli_client_ops dept_ops = {
	.option = option,
	.on_frame = on_frame,
	.welcome_members = welcome_members,
	.on_welcome = on_welcome,
	.on_read_done = on_read_done,
	.on_lost = on_lost,
	.on_deadline = on_deadline,
	.unanswered = unanswered,
	.held = held,
	.goal_reached = goal_reached,
	.run_command = run_command,
	.summary_members = summary_members,
};

int main(int argc, char **argv)
{
	log_set_ident(PROG);
	struct dept *d = calloc(1, sizeof(*d));
	if (d == NULL)
		fatal("out of memory");
	cli_client_init(&d->cli, &dept_client, &dept_ops, d);
	d->opt = (struct options){ .reply_text = DEFAULT_REPLY_TEXT,
				   .reason = DEFAULT_RETURN_REASON };
	cli_client_parse_options(&d->cli, longopts, argc, argv);
	d->seen = seen_new();
	if (d->opt.quiet)
		log_set_level(LOG_WARN);
	d->cli.reconnect = d->opt.reconnect;
	cli_client_setup(&d->cli);

	int exit_code = cli_client_run(&d->cli);
	for (size_t b = 0; b < PENDING_BUCKETS; b++)
		while (d->buckets[b]) {
			struct action *a = d->buckets[b];
			d->buckets[b] = a->hash_next;
			action_free(a);
		}
	cli_client_free(&d->cli);
	seen_free(d->seen);
	free(d->taken);
	cli_line_free(&d->line);
	free(d);
	return exit_code;
}
