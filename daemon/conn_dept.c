/*
 * conn_dept.c - the department role of a binary connection.
 *
 * Owns: delivering the department's stream to the connection (one consumer
 * of group "hotline" per connection, at most dept_window tickets awaiting
 * Ack, found by ticket_no and entry id through two keyindexes; each stored
 * Ticket framed as it is once frame_ticket_check passes), acking them in
 * Redis, and department actions (accept / return /
 * reply / extend), applied through transition.c, up to ACTIONS_RUNNING of a
 * connection's at once (so that they share commits: transition.c's group
 * commit), a ticket's own in the order sent, and answered with ActionAck once
 * committed, in the order sent.
 * Never: shows one department another's ticket (NOT_FOUND, the same answer as
 * for a ticket that does not exist), or answers before the change committed.
 * Callers: daemon/conn.c (frames, close), daemon/conn_hello.c (the Hello),
 * daemon/server.c (conn_action_window).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus_redis.h"
#include "clock.h"
#include "conn.h"
#include "dates.h"
#include "frame.h"
#include "hotline.pb-c.h"
#include "keyindex.h"
#include "log.h"
#include "prom.h"
#include "server.h"
#include "store_pg.h"
#include "ticket_state.h"
#include "transition.h"
#include "utf8.h"

#define ACTION_TEXT_MAX 8192

/* A connection's actions applied at once (each on a ticket none of the others
 * running touches). Enough to fill the batches of transition.c's group commit;
 * bounded so that finding the next one to start stays a short walk. */
#define ACTIONS_RUNNING 64

enum action_stage { ACTION_WAITING, ACTION_RUNNING, ACTION_DONE };

/* A department action on its connection's list (arrival order). */
struct action {
	struct action *next;
	struct conn *conn;
	enum ticket_event_kind kind;
	char ticket_no[32];
	int64_t until_ms;
	char *text; /* reason or reply; owned */
	enum action_stage stage;
	/* ACTION_DONE: the outcome, answered once every earlier action was */
	enum transition_outcome outcome;
	enum ticket_state state;
	char *message; /* owned; NULL = none */
	char feed_code[CODE_MAX + 1];
};

static int action_start(struct action *a);

/* Answers a finished action (the head of its list) and frees it. */
static void action_answer(struct conn *c, struct action *a)
{
	const char *message = a->message ? a->message : "";
	switch (a->outcome) {
	case TRANSITION_DONE:
		conn_send_action_ack(c, a->ticket_no, true, NULL, a->state);
		server_feed_updates(c->server, a->feed_code);
		break;
	case TRANSITION_REFUSED:
		conn_send_action_ack(c, a->ticket_no, false, message, a->state);
		break;
	case TRANSITION_NOT_FOUND:
		/* Not found and not yours get the same answer: no probing. */
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_NOT_FOUND,
				       "no such ticket for this department", a->ticket_no);
		break;
	case TRANSITION_BUSY:
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE, message,
				       a->ticket_no);
		break;
	case TRANSITION_FAILED:
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL, message,
				       a->ticket_no);
		break;
	}
	c->actions_head = a->next;
	if (!c->actions_head)
		c->actions_tail = NULL;
	c->nactions--;
	free(a->message);
	free(a->text);
	free(a);
}

/*
 * Starts waiting actions while fewer than ACTIONS_RUNNING run: in arrival order,
 * each unless an earlier unfinished action is on the same ticket (accept, then
 * reply: the reply waits). Walks at most the first 2 * ACTIONS_RUNNING actions.
 */
static void actions_start_more(struct conn *c)
{
	const char *busy[2 * ACTIONS_RUNNING]; /* tickets of unfinished actions seen */
	size_t nbusy = 0;
	struct action *a = c->actions_head;
	for (size_t seen = 0; a && seen < 2 * ACTIONS_RUNNING; seen++, a = a->next) {
		if (c->actions_running >= ACTIONS_RUNNING)
			return;
		if (a->stage == ACTION_DONE)
			continue;
		bool free_ticket = true;
		for (size_t i = 0; i < nbusy && free_ticket; i++)
			free_ticket = strcmp(busy[i], a->ticket_no) != 0;
		busy[nbusy++] = a->ticket_no;
		if (a->stage != ACTION_WAITING || !free_ticket)
			continue;
		if (action_start(a) == 0) {
			a->stage = ACTION_RUNNING;
			c->actions_running++;
		} else {
			/* answered in its turn, by the caller's actions_pump() */
			a->stage = ACTION_DONE;
			a->outcome = TRANSITION_FAILED;
			a->state = TICKET_RECEIVED;
			a->message = strdup("out of memory; try again");
		}
	}
}

/* Answers the finished actions at the head of the list (answers go in the order
 * sent) and starts the next ones. Every action started finishes later, from the
 * loop, so nothing here runs inside itself. */
static void actions_pump(struct conn *c)
{
	size_t answered = 0;
	for (int round = 0; round < 2; round++) {
		while (c->actions_head && c->actions_head->stage == ACTION_DONE) {
			action_answer(c, c->actions_head);
			answered++;
		}
		if (round == 0)
			actions_start_more(c);
	}
	while (answered-- > 0)
		conn_work_end(c);
}

/* An action finished: keep its outcome until its turn to be answered. */
static void on_action_done(void *arg, const struct transition_result *r)
{
	struct action *a = arg;
	struct conn *c = a->conn;
	a->stage = ACTION_DONE;
	c->actions_running--;
	a->outcome = r->outcome;
	a->state = r->state;
	a->message = r->message ? strdup(r->message) : NULL;
	snprintf(a->feed_code, sizeof(a->feed_code), "%s", r->feed_code ? r->feed_code : "");
	actions_pump(c);
}

/* Starts a's transition: 0, or -1 when out of memory (nothing started). */
static int action_start(struct action *a)
{
	struct conn *c = a->conn;
	char actor[96];
	snprintf(actor, sizeof(actor), "dept:%s", c->dept_code);
	struct transition_request req = { 0 };
	req.ticket_no = a->ticket_no;
	req.owner_dept = c->dept_code;
	req.kind = a->kind;
	req.text = a->text;
	req.deadline_at_ms = a->until_ms;
	req.actor = actor;
	return transition_start(server_transitions(c->server), &req, on_action_done, a);
}

static void dept_action(struct conn *c, const Hotline__V1__DeptAction *act)
{
	const char *ticket_no = act->ticket_no ? act->ticket_no : "";
	size_t n = strlen(ticket_no);
	if (n == 0 || n >= sizeof(((struct action *)0)->ticket_no) || !utf8_valid(ticket_no, n)) {
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID,
				       "ticket_no is required (up to 31 bytes)", "");
		return;
	}
	enum ticket_event_kind kind;
	const char *text = NULL;
	int64_t until = 0;
	switch (act->action_case) {
	case HOTLINE__V1__DEPT_ACTION__ACTION_ACCEPT:
		kind = TICKET_EV_ACCEPT;
		break;
	case HOTLINE__V1__DEPT_ACTION__ACTION_RETURN_TICKET:
		kind = TICKET_EV_RETURN;
		text = act->return_ticket->reason;
		break;
	case HOTLINE__V1__DEPT_ACTION__ACTION_REPLY:
		kind = TICKET_EV_REPLY;
		text = act->reply->content;
		break;
	case HOTLINE__V1__DEPT_ACTION__ACTION_EXTEND: {
		kind = TICKET_EV_EXTEND;
		text = act->extend->reason;
		until = act->extend->until;
		/* An extension moves the deadline at most extend_max_days ahead: a date
		 * in the year 100000 would remove it in effect. */
		const struct hotline_config *cfg = server_config(c->server);
		int64_t now = clock_now_ms(), max_ms = cfg->extend_max_days * DATES_MS_PER_DAY;
		if (until <= now || until - now > max_ms) {
			char msg[160];
			snprintf(msg, sizeof(msg),
				 "extend until must be a unix time in ms after now and at most "
				 "%ld days ahead ([routing] extend_max_days)",
				 cfg->extend_max_days);
			conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID, msg,
					       ticket_no);
			return;
		}
		break;
	}
	default:
		conn_send_ticket_error(
			c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID,
			"DeptAction needs one of accept, return_ticket, reply, extend", ticket_no);
		return;
	}
	if (text && (strlen(text) > ACTION_TEXT_MAX || !utf8_valid(text, strlen(text)))) {
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID,
				       "text must be valid UTF-8 of at most 8192 bytes", ticket_no);
		return;
	}
	struct action *a = calloc(1, sizeof(*a));
	if (!a || (text && !(a->text = strdup(text)))) {
		free(a);
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory",
				       ticket_no);
		return;
	}
	a->conn = c;
	a->kind = kind;
	a->until_ms = until;
	snprintf(a->ticket_no, sizeof(a->ticket_no), "%s", ticket_no);
	/* Answered in the order sent; a ticket's actions applied in it (accept
	 * before reply), others' meanwhile. */
	conn_work_begin(c);
	if (c->actions_tail)
		c->actions_tail->next = a;
	else
		c->actions_head = a;
	c->actions_tail = a;
	c->nactions++;
	actions_pump(c);
}

long conn_action_window(const struct hotline_config *cfg)
{
	return 2 * cfg->dept_window;
}

/* ---- delivery ------------------------------------------------------------------ */

/*
 * Tickets awaiting Ack live in deliveries[0..ndeliveries), indexed by ticket_no
 * (for the department's Ack) and by stream entry id (so a redelivered entry
 * already held here is not sent twice); removing one moves the last into its
 * place. Both lookups are O(1) whatever the window.
 */
static const char *ticket_no_of(const void *ctx, uint32_t slot)
{
	const struct conn *c = ctx;
	return c->deliveries[slot].ticket_no;
}

static const char *entry_id_of(const void *ctx, uint32_t slot)
{
	const struct conn *c = ctx;
	return c->deliveries[slot].entry_id;
}

static void delivery_remove(struct conn *c, size_t i)
{
	struct dept_delivery *d = &c->deliveries[i], *last = &c->deliveries[c->ndeliveries - 1];
	uint32_t from = (uint32_t)(c->ndeliveries - 1);
	keyindex_del(&c->by_ticket, d->ticket_no, (uint32_t)i);
	keyindex_del(&c->by_entry, d->entry_id, (uint32_t)i);
	if (d != last) {
		keyindex_move(&c->by_ticket, last->ticket_no, from, (uint32_t)i);
		keyindex_move(&c->by_entry, last->entry_id, from, (uint32_t)i);
		*d = *last;
	}
	c->ndeliveries--;
}

/*
 * The stream entry holds the Ticket the relay packed (phone already masked); it
 * goes out as it is, framed, once checked to be a well-formed Ticket that any
 * department unpacks and that carries the entry's ticket_no.
 */
static void on_deliver(void *arg, const char *entry_id, const char *ticket_no, const char *bytes,
		       size_t len)
{
	struct conn *c = arg;
	if (c->state != CONN_ACTIVE)
		return;
	if (keyindex_find(&c->by_entry, entry_id) >= 0) {
		/* Already held here, unacknowledged: never let a second copy take a
		 * window slot. Give the slot back to the consumer. */
		bus_consumer_room(c->consumer, c->window - c->ndeliveries);
		return;
	}
	size_t no_len = strlen(ticket_no), id_len = strlen(entry_id);
	if (no_len >= sizeof(c->deliveries->ticket_no) ||
	    id_len >= sizeof(c->deliveries->entry_id) ||
	    !frame_ticket_check((const uint8_t *)bytes, len, ticket_no) ||
	    frame_ticket_size(len) == 0) {
		log_error("dept=%s stream entry %s is not a Ticket; acknowledging it away",
			  c->dept_code, entry_id);
		bus_consumer_ack(c->consumer, entry_id);
		return;
	}
	if (c->ndeliveries >= c->window)
		return; /* Cannot happen (we read only with room); stays pending, redelivered. */
	size_t i = c->ndeliveries++;
	struct dept_delivery *d = &c->deliveries[i];
	memcpy(d->entry_id, entry_id, id_len + 1);
	memcpy(d->ticket_no, ticket_no, no_len + 1);
	/* Cannot fail: both are sized to the window. A ticket dispatched again
	 * while its earlier delivery awaits Ack is held twice; each Ack takes one. */
	(void)keyindex_add(&c->by_ticket, d->ticket_no, (uint32_t)i);
	(void)keyindex_add(&c->by_entry, d->entry_id, (uint32_t)i);
	conn_send_ticket_bytes(c, (const uint8_t *)bytes, len);
	/* An entry id is "MS-SEQ", MS Redis's clock when it was added. */
	char *end;
	long long added_ms = strtoll(entry_id, &end, 10);
	long long waited_ms = clock_now_ms() - clock_offset_ms() - added_ms;
	if (end != entry_id && *end == '-' && added_ms > 0)
		prom_histogram_observe(server_delivery_latency(c->server),
				       (double)(waited_ms > 0 ? waited_ms : 0) / 1e3);
}

static void dept_ack(struct conn *c, const char *ticket_no)
{
	long i = keyindex_find(&c->by_ticket, ticket_no);
	if (i >= 0) {
		bus_consumer_ack(c->consumer, c->deliveries[i].entry_id);
		delivery_remove(c, (size_t)i);
		bus_consumer_room(c->consumer, c->window - c->ndeliveries);
		return;
	}
	/* PROTOCOL, not NOT_FOUND: an action's answer must not be mistaken for this. */
	conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_PROTOCOL,
			       "Ack for a ticket that awaits no acknowledgement on this connection",
			       ticket_no);
}

void conn_dept_hello(struct conn *c)
{
	const struct hotline_config *cfg = server_config(c->server);
	c->window = (size_t)cfg->dept_window;
	c->deliveries = calloc(c->window, sizeof(*c->deliveries));
	char name[96];
	snprintf(name, sizeof(name), "conn-%d-%llu", (int)getpid(), (unsigned long long)c->id);
	bool ok = c->deliveries && keyindex_init(&c->by_ticket, c->window, ticket_no_of, c) == 0 &&
		  keyindex_init(&c->by_entry, c->window, entry_id_of, c) == 0;
	c->consumer =
		ok ? bus_consumer_new(server_bus(c->server), c->dept_code, name, on_deliver, c)
		   : NULL;
	if (!c->consumer) {
		conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		return;
	}
	bus_consumer_room(c->consumer, c->window);
}

void conn_dept_frame(struct conn *c, Hotline__V1__Frame *frame)
{
	switch (frame->msg_case) {
	case HOTLINE__V1__FRAME__MSG_ACK:
		dept_ack(c, frame->ack->ticket_no ? frame->ack->ticket_no : "");
		return;
	case HOTLINE__V1__FRAME__MSG_DEPT_ACTION:
		dept_action(c, frame->dept_action);
		return;
	default:
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_PROTOCOL,
				"this message is not accepted from a department", NULL);
		return;
	}
}

void conn_dept_closed(struct conn *c)
{
	if (!c->consumer)
		return;
	const char **ids = calloc(c->ndeliveries ? c->ndeliveries : 1, sizeof(*ids));
	size_t n = 0;
	if (ids)
		for (size_t i = 0; i < c->ndeliveries; i++)
			ids[n++] = c->deliveries[i].entry_id;
	bus_consumer_free(c->consumer, ids, n);
	free(ids);
	c->consumer = NULL;
	c->ndeliveries = 0;
}
