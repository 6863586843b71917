/*
 * conn_dept.c - the department role of a binary connection.
 *
 * Owns: delivering the department's stream to the connection (one consumer
 * of group "hotline" per connection, at most dept_window tickets awaiting
 * Ack), acking them in Redis, and department actions (accept / return /
 * reply / extend): read the ticket, apply lib/ticket_state.c, write the new
 * state, its audit row and the TicketUpdate owed to the originating feed in
 * one statement guarded by the ticket's version (a concurrent change makes
 * us re-read and re-apply), then answer ActionAck.
 * Never: shows one department another's ticket (NOT_FOUND, the same answer as
 * for a ticket that does not exist), or answers before the change committed.
 * Callers: daemon/conn.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus_redis.h"
#include "conn.h"
#include "hotline.pb-c.h"
#include "log.h"
#include "server.h"
#include "store_pg.h"
#include "ticket_state.h"
#include "utf8.h"

#define ACTION_MAX_ATTEMPTS 3
#define ACTION_TEXT_MAX 8192

static const char read_ticket_sql[] =
	"SELECT ticket_id, state, COALESCE(dept_code, ''),"
	"  COALESCE((extract(epoch FROM deadline_at) * 1000)::int8, 0), return_count,"
	"  reopen_count, extend_count, callback_attempts, COALESCE(rating, ''), version"
	" FROM tickets WHERE ticket_no = $1";

/*
 * $1 ticket_id, $2 version read, $3 new state, $4 dept, $5 deadline ms (0 =
 * none), $6..$9 counters, $10 rating, $11 reply (NULL keeps), $12 event,
 * $13 from state, $14 actor, $15 detail. Returns the feed_code when it wrote.
 */
static const char write_ticket_sql[] =
	"WITH u AS ("
	"  UPDATE tickets SET state = $3, dept_code = NULLIF($4, ''),"
	"    deadline_at = CASE WHEN $5::int8 = 0 THEN NULL"
	"      ELSE to_timestamp($5::int8::float8 / 1000) END,"
	"    return_count = $6, reopen_count = $7, extend_count = $8, callback_attempts = $9,"
	"    rating = NULLIF($10, ''), reply = COALESCE($11, reply),"
	"    closed_at = CASE WHEN $3 = 'CLOSED' THEN now() ELSE closed_at END,"
	"    dispatched_at = CASE WHEN $3 = 'DISPATCHED' AND $13 <> 'DISPATCHED' THEN now()"
	"      ELSE dispatched_at END,"
	"    version = version + 1, updated_at = now()"
	"  WHERE ticket_id = $1 AND version = $2"
	"  RETURNING ticket_id, ticket_no, feed_code, external_id, state, reply, dept_code"
	"), e AS ("
	"  INSERT INTO ticket_events (ticket_id, kind, from_state, to_state, actor, detail)"
	"  SELECT ticket_id, $12, $13, state, $14, $15 FROM u"
	"), f AS ("
	"  INSERT INTO feed_updates (feed_code, ticket_id, ticket_no, external_id, state, reply)"
	"  SELECT feed_code, ticket_id, ticket_no, external_id, state,"
	"    CASE WHEN $12 = 'REPLY' THEN reply END FROM u WHERE $12 <> 'EXTEND'"
	"), o AS ("
	"  INSERT INTO outbox (ticket_id, kind, dept_code)"
	"  SELECT ticket_id, 'dispatch', dept_code FROM u"
	"  WHERE $3 = 'DISPATCHED' AND $13 <> 'DISPATCHED'"
	")"
	" SELECT feed_code FROM u";

struct action {
	struct action *next; /* the connection's FIFO */
	struct conn *conn;
	enum ticket_event_kind kind;
	char ticket_no[32];
	int64_t until_ms;
	char *text; /* reason or reply; owned */
	int attempts;
	/* what was read */
	struct ticket_status before;
	enum ticket_state after;
	long long ticket_id;
	int version;
};

static void action_read(struct action *a);

/* The head action finished: free it and start the next one, in order. */
static void action_free(struct action *a)
{
	struct conn *c = a->conn;
	c->actions_head = a->next;
	if (!c->actions_head)
		c->actions_tail = NULL;
	c->nactions--;
	free(a->text);
	free(a);
	if (c->actions_head)
		action_read(c->actions_head);
	conn_work_end(c);
}

static void send_action_ack(struct conn *c, const char *ticket_no, bool ok, const char *error,
			    int state)
{
	Hotline__V1__ActionAck ack = HOTLINE__V1__ACTION_ACK__INIT;
	ack.ticket_no = (char *)ticket_no;
	ack.ok = ok;
	ack.error = (char *)(error ? error : "");
	ack.state = state;
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_ACTION_ACK;
	frame.action_ack = &ack;
	conn_send_frame(c, &frame);
}

static void on_written(void *arg, const PGresult *res, const char *error)
{
	struct action *a = arg;
	struct conn *c = a->conn;
	if (error) {
		log_warn("conn=%llu dept=%s action on %s failed: %s", (unsigned long long)c->id,
			 c->dept_code, a->ticket_no, error);
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL,
				       "the action could not be stored; send it again",
				       a->ticket_no);
		action_free(a);
		return;
	}
	if (PQntuples(res) == 0) {
		/* Someone changed the ticket after we read it: read and decide again. */
		if (++a->attempts < ACTION_MAX_ATTEMPTS) {
			action_read(a);
			return;
		}
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE,
				       "the ticket is changing concurrently; send it again",
				       a->ticket_no);
		action_free(a);
		return;
	}
	int state = (int)a->after;
	log_info("conn=%llu dept=%s ticket %s: %s -> %s", (unsigned long long)c->id, c->dept_code,
		 a->ticket_no, ticket_event_name(a->kind), ticket_state_name(state));
	if (c->state == CONN_ACTIVE || c->state == CONN_DRAINING)
		send_action_ack(c, a->ticket_no, true, NULL, state);
	server_feed_updates(c->server, PQgetvalue(res, 0, 0));
	action_free(a);
}

static void on_read(void *arg, const PGresult *res, const char *error)
{
	struct action *a = arg;
	struct conn *c = a->conn;
	if (error) {
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL,
				       "the ticket could not be read; send the action again",
				       a->ticket_no);
		action_free(a);
		return;
	}
	if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 2), c->dept_code) != 0) {
		/* Not found and not yours get the same answer: no probing. */
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_NOT_FOUND,
				       "no such ticket for this department", a->ticket_no);
		action_free(a);
		return;
	}
	struct ticket_status cur;
	ticket_status_init(&cur);
	a->ticket_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	int state = ticket_state_from_name(PQgetvalue(res, 0, 1));
	cur.state = state > 0 ? (enum ticket_state)state : TICKET_RECEIVED;
	snprintf(cur.dept_code, sizeof(cur.dept_code), "%s", PQgetvalue(res, 0, 2));
	cur.deadline_at_ms = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	cur.return_count = (uint32_t)atoi(PQgetvalue(res, 0, 4));
	cur.reopen_count = (uint32_t)atoi(PQgetvalue(res, 0, 5));
	cur.extend_count = (uint32_t)atoi(PQgetvalue(res, 0, 6));
	cur.callback_attempts = (uint32_t)atoi(PQgetvalue(res, 0, 7));
	int rating = ticket_rating_from_name(PQgetvalue(res, 0, 8));
	cur.rating = rating > 0 ? (enum ticket_rating)rating : TICKET_RATING_NONE;
	a->version = atoi(PQgetvalue(res, 0, 9));
	a->before = cur;

	struct ticket_event ev = { 0 };
	ev.kind = a->kind;
	ev.at_ms = server_now_ms(c->server);
	ev.deadline_at_ms = a->until_ms;
	ev.text = a->text;
	struct ticket_limits limits;
	ticket_limits_default(&limits);
	limits.max_returns = (uint32_t)server_config(c->server)->max_returns;
	struct ticket_status next;
	char err[256];
	int rc = ticket_transition(&cur, &ev, &limits, &next, err, sizeof(err));
	if (rc != TICKET_OK) {
		send_action_ack(c, a->ticket_no, false, err, cur.state);
		action_free(a);
		return;
	}
	a->after = next.state;

	char id[32], version[16], deadline[32], ret[16], reopen[16], extend[16], attempts[16],
		actor[96];
	snprintf(id, sizeof(id), "%lld", a->ticket_id);
	snprintf(version, sizeof(version), "%d", a->version);
	snprintf(deadline, sizeof(deadline), "%lld", (long long)next.deadline_at_ms);
	snprintf(ret, sizeof(ret), "%u", next.return_count);
	snprintf(reopen, sizeof(reopen), "%u", next.reopen_count);
	snprintf(extend, sizeof(extend), "%u", next.extend_count);
	snprintf(attempts, sizeof(attempts), "%u", next.callback_attempts);
	snprintf(actor, sizeof(actor), "dept:%s", c->dept_code);
	const char *values[15] = {
		id,
		version,
		ticket_state_name(next.state),
		next.dept_code,
		deadline,
		ret,
		reopen,
		extend,
		attempts,
		next.rating == TICKET_RATING_NONE ? "" : ticket_rating_name(next.rating),
		a->kind == TICKET_EV_REPLY ? a->text : NULL,
		ticket_event_name(a->kind),
		ticket_state_name(cur.state),
		actor,
		a->text,
	};
	store_pg_query(server_store(c->server), write_ticket_sql, 15, values, on_written, a);
}

static void action_read(struct action *a)
{
	const char *values[1] = { a->ticket_no };
	store_pg_query(server_store(a->conn->server), read_ticket_sql, 1, values, on_read, a);
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
	case HOTLINE__V1__DEPT_ACTION__ACTION_EXTEND:
		kind = TICKET_EV_EXTEND;
		text = act->extend->reason;
		until = act->extend->until;
		break;
	default:
		conn_send_ticket_error(
			c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID,
			"DeptAction needs one of accept, return_ticket, reply, extend", ticket_no);
		return;
	}
	if (c->nactions >= c->window) {
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE,
				       "too many actions waiting on this connection; send it again",
				       ticket_no);
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
	/* One at a time per connection, so actions apply and are answered in the
	 * order sent (accept before reply). */
	conn_work_begin(c);
	if (c->actions_tail)
		c->actions_tail->next = a;
	else
		c->actions_head = a;
	c->actions_tail = a;
	if (++c->nactions == 1)
		action_read(a);
}

/* ---- delivery ------------------------------------------------------------------ */

static void on_deliver(void *arg, const char *entry_id, const char *ticket_no, const char *bytes,
		       size_t len)
{
	struct conn *c = arg;
	if (c->state != CONN_ACTIVE)
		return;
	Hotline__V1__Ticket *ticket =
		hotline__v1__ticket__unpack(NULL, len, (const uint8_t *)bytes);
	if (!ticket) {
		log_error("dept=%s stream entry %s is not a Ticket; acknowledging it away",
			  c->dept_code, entry_id);
		bus_consumer_ack(c->consumer, entry_id);
		return;
	}
	if (c->ndeliveries >= c->window) {
		/* Cannot happen (we read only with room); stays pending, redelivered. */
		hotline__v1__ticket__free_unpacked(ticket, NULL);
		return;
	}
	struct dept_delivery *d = &c->deliveries[c->ndeliveries++];
	snprintf(d->entry_id, sizeof(d->entry_id), "%s", entry_id);
	snprintf(d->ticket_no, sizeof(d->ticket_no), "%s", ticket_no);
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_TICKET;
	frame.ticket = ticket;
	conn_send_frame(c, &frame);
	hotline__v1__ticket__free_unpacked(ticket, NULL);
}

static void dept_ack(struct conn *c, const char *ticket_no)
{
	for (size_t i = 0; i < c->ndeliveries; i++) {
		if (strcmp(c->deliveries[i].ticket_no, ticket_no) != 0)
			continue;
		bus_consumer_ack(c->consumer, c->deliveries[i].entry_id);
		c->deliveries[i] = c->deliveries[--c->ndeliveries];
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
	c->consumer = c->deliveries ? bus_consumer_new(server_bus(c->server), c->dept_code, name,
						       on_deliver, c)
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
