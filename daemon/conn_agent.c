/*
 * conn_agent.c - the agent role of a binary connection (call-centre terminals).
 *
 * Owns: authenticating agents (Hello.id is the agent's id, Hello.token the
 * shared [agents] token), pointing their Intake at the agents' feed ([agents]
 * feed; conn_feed.c stores it, and the router closes a record resolved on the call
 * at once), and the callback loop (回访): CallbackClaim hands out the next
 * replied ticket from hotline:callbacks (one consumer of group "agents" per
 * connection, at most AGENT_MAX_CLAIMS held at once), CallbackResult records
 * the caller's verdict through transition.c and, once that committed,
 * acknowledges the stream entry. Claims and results of one connection are
 * applied and answered one at a time, in the order sent.
 * Never: accepts a result for a callback this connection does not hold (the
 * same NOT_FOUND whether or not the ticket exists), answers a result before
 * its change committed, logs a caller's phone number, or frees the connection
 * (conn.c does, after conn_agent_free()).
 * Callers: daemon/conn.c (frames, close), daemon/conn_hello.c (the Hello),
 * daemon/server.c (conn_agent_full).
 *
 * A claim is held in Redis (the entry is pending for this connection's
 * consumer) and remembered here (ticket_no -> entry id). It lapses after
 * [callbacks] claim_timeout_ms: another agent's claim may then take it. A
 * result is checked against Redis first (bus_callback_hold), so a lapsed claim
 * still counts as long as nobody else took it. When the connection closes,
 * what it holds stays pending and comes back after the timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus_redis.h"
#include "clock.h"
#include "code.h"
#include "conn.h"
#include "hotline.pb-c.h"
#include "log.h"
#include "pgtext.h"
#include "server.h"
#include "store_pg.h"
#include "ticket_state.h"
#include "transition.h"
#include "utf8.h"

#define AGENT_MAX_CLAIMS 16 /* callbacks one connection may hold at once */
#define AGENT_MAX_OPS                                                                   \
	64		       /* claims and results waiting their turn per connection; \
				* past it the server stops reading (conn_agent_full) */
#define AGENT_MAX_STALE 256    /* stale queue entries skipped within one claim */
#define AGENT_NOTE_MAX 8192    /* bytes of a CallbackResult note */
#define AGENT_TICKET_NO_MAX 32 /* a ticket number and its NUL */

/* A callback this connection holds. */
struct agent_claim {
	char entry_id[BUS_ENTRY_ID_MAX];
	char ticket_no[AGENT_TICKET_NO_MAX];
	int64_t claimed_until_ms;
};

enum agent_op_kind { AGENT_OP_CLAIM, AGENT_OP_RESULT };

/* A claim or a result waiting its turn on its connection (FIFO). */
struct agent_op {
	struct agent_op *next;
	enum agent_op_kind kind;
	/* result: the ticket, its event and note; claim: the entry being handed out */
	char ticket_no[AGENT_TICKET_NO_MAX];
	enum ticket_event_kind event;
	char *note; /* owned; NULL = none */
	char entry_id[BUS_ENTRY_ID_MAX];
	unsigned stale; /* claim: stale entries skipped so far */
};

struct agent_session {
	char id[CODE_MAX + 1];
	char consumer[BUS_CONSUMER_MAX];
	char actor[CODE_MAX + 8];
	struct agent_claim claims[AGENT_MAX_CLAIMS];
	size_t nclaims;
	struct agent_op *head, *tail;
	size_t nops;
	bool retired; /* closed and idle: the Redis consumer was let go */
};

static void op_start(struct conn *c);

/* ---- claims held ----------------------------------------------------------- */

static struct agent_claim *claim_find(struct agent_session *s, const char *ticket_no)
{
	for (size_t i = 0; i < s->nclaims; i++)
		if (strcmp(s->claims[i].ticket_no, ticket_no) == 0)
			return &s->claims[i];
	return NULL;
}

static bool claim_holds_entry(const struct agent_session *s, const char *entry_id)
{
	for (size_t i = 0; i < s->nclaims; i++)
		if (strcmp(s->claims[i].entry_id, entry_id) == 0)
			return true;
	return false;
}

static void claim_drop(struct agent_session *s, const char *entry_id)
{
	for (size_t i = 0; i < s->nclaims; i++) {
		if (strcmp(s->claims[i].entry_id, entry_id) == 0) {
			s->claims[i] = s->claims[--s->nclaims];
			return;
		}
	}
}

/* Forgets claims past their time: they are back in the queue for anyone. */
static void claims_drop_lapsed(struct agent_session *s, int64_t now_ms)
{
	for (size_t i = 0; i < s->nclaims;) {
		if (s->claims[i].claimed_until_ms <= now_ms)
			s->claims[i] = s->claims[--s->nclaims];
		else
			i++;
	}
}

/* ---- the queue of claims and results ------------------------------------------ */

static void op_free(struct agent_op *op)
{
	free(op->note);
	free(op);
}

/* A closed connection with nothing left to do gives up its Redis consumer. */
static void session_retire(struct conn *c)
{
	struct agent_session *s = c->agent;
	if (s->retired || c->state != CONN_CLOSED || s->nops > 0)
		return;
	s->retired = true;
	bus_callback_forget(server_bus(c->server), s->consumer);
}

/* The head op is answered: free it, start the next one in order. */
static void op_done(struct conn *c)
{
	struct agent_session *s = c->agent;
	struct agent_op *op = s->head;
	s->head = op->next;
	if (!s->head)
		s->tail = NULL;
	s->nops--;
	op_free(op);
	if (s->head)
		op_start(c);
	else
		session_retire(c);
	conn_work_end(c);
}

static void op_enqueue(struct conn *c, struct agent_op *op)
{
	struct agent_session *s = c->agent;
	conn_work_begin(c);
	if (s->tail)
		s->tail->next = op;
	else
		s->head = op;
	s->tail = op;
	if (++s->nops == 1)
		op_start(c);
}

/* ---- CallbackClaim --------------------------------------------------------- */

static void send_task(struct conn *c, const Hotline__V1__CallbackTask *task)
{
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_CALLBACK_TASK;
	frame.callback_task = (Hotline__V1__CallbackTask *)task;
	conn_send_frame(c, &frame);
}

static void on_claimed(void *arg, enum bus_claim_status status, const char *entry_id,
		       const char *ticket_no);

/* Asks the queue for a callback for the head op (again, after a stale one). */
static void claim_ask(struct conn *c)
{
	struct agent_session *s = c->agent;
	const struct hotline_config *cfg = server_config(c->server);
	if (bus_callback_claim(server_bus(c->server), s->consumer, cfg->callback_claim_timeout_ms,
			       on_claimed, c) != 0) {
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE,
				"the callback queue is unavailable (Redis); claim again later",
				NULL);
		op_done(c);
	}
}

#define CLOSING "this connection is closing: no callback is handed out"

/*
 * The head claim is not handed out: the connection is closing (nobody could
 * send its result), or the ticket could not be read. A freshly taken entry
 * (taken: op->entry_id is set) goes back to the queue at once; one this
 * connection held before stays held.
 */
static void claim_give_up(struct conn *c, struct agent_op *op, bool taken, const char *message)
{
	if (taken && !claim_holds_entry(c->agent, op->entry_id))
		bus_callback_release(server_bus(c->server), op->entry_id);
	conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE, message, NULL);
	op_done(c);
}

/* The head claim's entry was stale (the ticket moved on): drop it, take the next. */
static void claim_skip_stale(struct conn *c, struct agent_op *op)
{
	struct agent_session *s = c->agent;
	bus_callback_ack(server_bus(c->server), op->entry_id);
	claim_drop(s, op->entry_id);
	if (c->state != CONN_ACTIVE) {
		claim_give_up(c, op, false, CLOSING);
		return;
	}
	if (++op->stale > AGENT_MAX_STALE) {
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE,
				"many finished callbacks were cleared from the queue; claim again",
				NULL);
		op_done(c);
		return;
	}
	claim_ask(c);
}

static void on_task_read(void *arg, const PGresult *res, const char *error)
{
	struct conn *c = arg;
	struct agent_session *s = c->agent;
	struct agent_op *op = s->head;
	if (error) {
		log_warn("agent=%s conn=%llu reading ticket %s for a callback failed: %s", s->id,
			 (unsigned long long)c->id, op->ticket_no, error);
		claim_give_up(c, op, true, "the ticket could not be read; claim again");
		return;
	}
	if (PQntuples(res) == 0 ||
	    strcmp(PQgetvalue(res, 0, CALLBACK_TASK_C_STATE), "REPLIED") != 0) {
		log_debug("agent=%s callback entry %s for ticket %s is stale (%s): acknowledged",
			  s->id, op->entry_id, op->ticket_no,
			  PQntuples(res) ? PQgetvalue(res, 0, CALLBACK_TASK_C_STATE)
					 : "no such ticket");
		claim_skip_stale(c, op);
		return;
	}
	if (c->state != CONN_ACTIVE) {
		claim_give_up(c, op, true, CLOSING);
		return;
	}
	const struct hotline_config *cfg = server_config(c->server);
	int64_t until = clock_now_ms() + cfg->callback_claim_timeout_ms;
	struct agent_claim *claim = claim_find(s, op->ticket_no);
	if (!claim) {
		/* claim_start() made room, and nothing else ran meanwhile (FIFO). */
		if (s->nclaims >= AGENT_MAX_CLAIMS) {
			claim_give_up(c, op, true, "too many callbacks held; claim again");
			return;
		}
		claim = &s->claims[s->nclaims++];
		snprintf(claim->entry_id, sizeof(claim->entry_id), "%s", op->entry_id);
		snprintf(claim->ticket_no, sizeof(claim->ticket_no), "%s", op->ticket_no);
	}
	claim->claimed_until_ms = until;
	uint32_t attempts = 0;
	if (pgtext_uint32(PQgetvalue(res, 0, CALLBACK_TASK_C_CALLBACK_ATTEMPTS), &attempts) != 0)
		log_error("agent=%s ticket %s: callback_attempts '%s' is not a count", s->id,
			  op->ticket_no, PQgetvalue(res, 0, CALLBACK_TASK_C_CALLBACK_ATTEMPTS));
	Hotline__V1__CallbackTask task = HOTLINE__V1__CALLBACK_TASK__INIT;
	task.ticket_no = op->ticket_no;
	task.caller_phone = PQgetvalue(res, 0, CALLBACK_TASK_C_CALLER_PHONE);
	task.caller_name = PQgetvalue(res, 0, CALLBACK_TASK_C_CALLER_NAME);
	task.category = PQgetvalue(res, 0, CALLBACK_TASK_C_CATEGORY);
	task.content = PQgetvalue(res, 0, CALLBACK_TASK_C_CONTENT);
	task.reply = PQgetvalue(res, 0, CALLBACK_TASK_C_REPLY);
	task.dept_code = PQgetvalue(res, 0, CALLBACK_TASK_C_DEPT_CODE);
	task.attempt = attempts + 1;
	task.claimed_until = until;
	send_task(c, &task);
	log_info("agent=%s conn=%llu claimed the callback of ticket %s (attempt %u, entry %s)",
		 s->id, (unsigned long long)c->id, op->ticket_no, task.attempt, op->entry_id);
	op_done(c);
}

static void on_claimed(void *arg, enum bus_claim_status status, const char *entry_id,
		       const char *ticket_no)
{
	struct conn *c = arg;
	struct agent_session *s = c->agent;
	struct agent_op *op = s->head;
	struct bus *bus = server_bus(c->server);
	if (status == BUS_CLAIM_FAILED) {
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE,
				"the callback queue is unavailable (Redis); claim again later",
				NULL);
		op_done(c);
		return;
	}
	if (status == BUS_CLAIM_NONE) {
		Hotline__V1__CallbackTask none = HOTLINE__V1__CALLBACK_TASK__INIT;
		send_task(c, &none);
		op_done(c);
		return;
	}
	snprintf(op->entry_id, sizeof(op->entry_id), "%s", entry_id);
	if (c->state != CONN_ACTIVE) {
		claim_give_up(c, op, true, CLOSING);
		return;
	}
	size_t n = strlen(ticket_no);
	if (n >= sizeof(op->ticket_no) || !utf8_valid(ticket_no, n)) {
		log_error("agent=%s callback entry %s names no usable ticket; acknowledging it "
			  "away",
			  s->id, entry_id);
		snprintf(op->ticket_no, sizeof(op->ticket_no), "?");
		claim_skip_stale(c, op);
		return;
	}
	snprintf(op->ticket_no, sizeof(op->ticket_no), "%s", ticket_no);
	struct agent_claim *held = claim_find(s, ticket_no);
	if (held && strcmp(held->entry_id, entry_id) != 0) {
		/* A new entry for a ticket this connection holds: Redis lost the old
		 * one and the queue was rebuilt, or the old one's acknowledgement was
		 * lost. Hold the new one, finish the old one; the task goes out again. */
		bus_callback_ack(bus, held->entry_id);
		snprintf(held->entry_id, sizeof(held->entry_id), "%s", entry_id);
	}
	const char *values[CALLBACK_TASK_NPARAMS] = { [CALLBACK_TASK_P_TICKET_NO] = op->ticket_no };
	store_pg_query(server_store(c->server), QUERY_CALLBACK_TASK, values, on_task_read, c);
}

static void claim_start(struct conn *c)
{
	struct agent_session *s = c->agent;
	if (c->state != CONN_ACTIVE) {
		claim_give_up(c, c->agent->head, false, CLOSING);
		return;
	}
	if (s->nclaims >= AGENT_MAX_CLAIMS)
		claims_drop_lapsed(s, clock_now_ms());
	if (s->nclaims >= AGENT_MAX_CLAIMS) {
		char msg[128];
		snprintf(msg, sizeof(msg),
			 "this connection holds %d callbacks, the most allowed; send a "
			 "CallbackResult first",
			 AGENT_MAX_CLAIMS);
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE, msg, NULL);
		op_done(c);
		return;
	}
	claim_ask(c);
}

/* ---- CallbackResult -------------------------------------------------------- */

static void on_result_done(void *arg, const struct transition_result *r)
{
	struct conn *c = arg;
	struct agent_session *s = c->agent;
	struct agent_op *op = s->head;
	struct bus *bus = server_bus(c->server);
	switch (r->outcome) {
	case TRANSITION_DONE:
		/* Recorded: this entry is finished (an unreachable caller gets a new
		 * one through the outbox). */
		bus_callback_ack(bus, op->entry_id);
		claim_drop(s, op->entry_id);
		conn_send_action_ack(c, op->ticket_no, true, NULL, r->state);
		server_feed_updates(c->server, r->feed_code);
		break;
	case TRANSITION_REFUSED:
		if (r->state != TICKET_REPLIED) {
			/* The ticket moved on (closed by someone else): nothing to call. */
			bus_callback_ack(bus, op->entry_id);
			claim_drop(s, op->entry_id);
		}
		conn_send_action_ack(c, op->ticket_no, false, r->message, r->state);
		break;
	case TRANSITION_NOT_FOUND:
		bus_callback_ack(bus, op->entry_id);
		claim_drop(s, op->entry_id);
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_NOT_FOUND,
				       "no such ticket", op->ticket_no);
		break;
	case TRANSITION_BUSY:
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE, r->message,
				       op->ticket_no);
		break;
	case TRANSITION_FAILED:
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL, r->message,
				       op->ticket_no);
		break;
	}
	op_done(c);
}

static void on_held(void *arg, int held)
{
	struct conn *c = arg;
	struct agent_session *s = c->agent;
	struct agent_op *op = s->head;
	if (held < 0) {
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE,
				       "the callback queue is unavailable (Redis); send the result "
				       "again later",
				       op->ticket_no);
		op_done(c);
		return;
	}
	if (held == 0) {
		claim_drop(s, op->entry_id);
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_NOT_FOUND,
				       "this connection no longer holds the callback of this "
				       "ticket (its claim lapsed and another agent took it)",
				       op->ticket_no);
		op_done(c);
		return;
	}
	/* The hold restarted the claim's clock in Redis. */
	struct agent_claim *claim = claim_find(s, op->ticket_no);
	if (claim)
		claim->claimed_until_ms =
			clock_now_ms() + server_config(c->server)->callback_claim_timeout_ms;
	struct transition_request req = { 0 };
	req.ticket_no = op->ticket_no;
	req.kind = op->event;
	req.text = op->note;
	req.actor = s->actor;
	if (transition_start(server_transitions(c->server), &req, on_result_done, c) != 0) {
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL,
				       "out of memory; send the result again", op->ticket_no);
		op_done(c);
	}
}

static void result_start(struct conn *c)
{
	struct agent_session *s = c->agent;
	struct agent_op *op = s->head;
	const struct agent_claim *claim = claim_find(s, op->ticket_no);
	if (!claim) {
		/* Never claimed here, or already finished: the same answer as for a
		 * ticket that does not exist. */
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_NOT_FOUND,
				       "no callback of this ticket is claimed on this connection",
				       op->ticket_no);
		op_done(c);
		return;
	}
	snprintf(op->entry_id, sizeof(op->entry_id), "%s", claim->entry_id);
	if (bus_callback_hold(server_bus(c->server), s->consumer, op->entry_id, on_held, c) != 0) {
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE,
				       "the callback queue is unavailable (Redis); send the result "
				       "again later",
				       op->ticket_no);
		op_done(c);
	}
}

static void op_start(struct conn *c)
{
	if (c->agent->head->kind == AGENT_OP_CLAIM)
		claim_start(c);
	else
		result_start(c);
}

/* ---- frames ---------------------------------------------------------------- */

bool conn_agent_full(const struct conn *c)
{
	return c->agent && c->agent->nops >= AGENT_MAX_OPS;
}

static struct agent_op *op_new(struct conn *c, enum agent_op_kind kind, const char *ticket_no)
{
	struct agent_op *op = calloc(1, sizeof(*op));
	if (!op) {
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory",
				       ticket_no);
		return NULL;
	}
	op->kind = kind;
	return op;
}

static void agent_claim(struct conn *c)
{
	struct agent_op *op = op_new(c, AGENT_OP_CLAIM, "");
	if (op)
		op_enqueue(c, op);
}

static void agent_result(struct conn *c, const Hotline__V1__CallbackResult *result)
{
	const char *ticket_no = result->ticket_no ? result->ticket_no : "";
	size_t n = strlen(ticket_no);
	if (n == 0 || n >= AGENT_TICKET_NO_MAX || !utf8_valid(ticket_no, n)) {
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID,
				       "ticket_no is required (up to 31 bytes)", "");
		return;
	}
	enum ticket_event_kind event;
	switch (result->outcome) {
	case HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_SATISFIED:
		event = TICKET_EV_CALLBACK_SATISFIED;
		break;
	case HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_BASICALLY_SATISFIED:
		event = TICKET_EV_CALLBACK_BASICALLY_SATISFIED;
		break;
	case HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_UNSATISFIED:
		event = TICKET_EV_CALLBACK_UNSATISFIED;
		break;
	case HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_UNREACHABLE:
		event = TICKET_EV_CALLBACK_UNREACHABLE;
		break;
	default:
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID,
				       "outcome must be SATISFIED, BASICALLY_SATISFIED, "
				       "UNSATISFIED or UNREACHABLE",
				       ticket_no);
		return;
	}
	const char *note = result->note ? result->note : "";
	size_t note_len = strlen(note);
	if (note_len > AGENT_NOTE_MAX || !utf8_valid(note, note_len)) {
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INVALID,
				       "note must be valid UTF-8 of at most 8192 bytes", ticket_no);
		return;
	}
	struct agent_op *op = op_new(c, AGENT_OP_RESULT, ticket_no);
	if (!op)
		return;
	if (note_len > 0 && !(op->note = strdup(note))) {
		op_free(op);
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory",
				       ticket_no);
		return;
	}
	snprintf(op->ticket_no, sizeof(op->ticket_no), "%s", ticket_no);
	op->event = event;
	op_enqueue(c, op);
}

bool conn_agent_frame(struct conn *c, Hotline__V1__Frame *frame)
{
	switch (frame->msg_case) {
	case HOTLINE__V1__FRAME__MSG_INTAKE:
		return false;
	case HOTLINE__V1__FRAME__MSG_CALLBACK_CLAIM:
		agent_claim(c);
		return true;
	case HOTLINE__V1__FRAME__MSG_CALLBACK_RESULT:
		agent_result(c, frame->callback_result);
		return true;
	default:
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_PROTOCOL,
				"this message is not accepted from an agent", NULL);
		return true;
	}
}

/* ---- lifecycle ------------------------------------------------------------- */

static void hello_refused(struct conn *c, Hotline__V1__ErrorCode code, const char *message)
{
	conn_send_error(c, code, message, NULL);
	conn_refuse(c);
}

int conn_agent_hello(struct conn *c, const char *id, const char *token)
{
	const struct hotline_config *cfg = server_config(c->server);
	const char *want = cfg->agents_token ? cfg->agents_token : "";
	if (want[0] == '\0' || !config_token_equal(want, token ? token : "")) {
		server_stats_mut(c->server)->auth_failed++;
		log_warn("conn=%llu peer=%s agent hello refused: %s", (unsigned long long)c->id,
			 c->peer,
			 want[0] ? "wrong agent token"
				 : "agents are disabled ([agents] token is empty)");
		hello_refused(c, HOTLINE__V1__ERROR_CODE__ERROR_AUTH,
			      want[0] ? "wrong agent token" : "this server accepts no agents");
		return -1;
	}
	if (!code_valid(id)) {
		server_stats_mut(c->server)->auth_failed++;
		log_warn("conn=%llu peer=%s agent hello refused: invalid agent id",
			 (unsigned long long)c->id, c->peer);
		hello_refused(c, HOTLINE__V1__ERROR_CODE__ERROR_AUTH,
			      "agent id must be 1-64 letters, digits, '_' or '-'");
		return -1;
	}
	const char *feed_code = cfg->agents_feed ? cfg->agents_feed : "";
	const struct feed_config *feed = config_find_feed(cfg, feed_code);
	if (!feed) {
		char msg[256];
		snprintf(msg, sizeof(msg),
			 "agents cannot be served: the server's [agents] feed '%.64s' has no "
			 "[feed.%.64s] section",
			 feed_code, feed_code);
		log_error("conn=%llu peer=%s agent=%s refused: %s", (unsigned long long)c->id,
			  c->peer, id, msg);
		hello_refused(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL, msg);
		return -1;
	}
	struct agent_session *s = calloc(1, sizeof(*s));
	if (!s) {
		conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		return -1;
	}
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->actor, sizeof(s->actor), "agent:%s", id);
	/* One consumer per connection, unique across daemons sharing Redis. */
	snprintf(s->consumer, sizeof(s->consumer), "agent-%s-%d-%llu", id, (int)getpid(),
		 (unsigned long long)c->id);
	c->agent = s;
	c->role = HOTLINE__V1__ROLE__ROLE_AGENT;
	snprintf(c->feed_code, sizeof(c->feed_code), "%s", feed->code);
	log_info("conn=%llu peer=%s agent=%s hello accepted (intake as feed %s)",
		 (unsigned long long)c->id, c->peer, s->id, c->feed_code);
	return 0;
}

void conn_agent_closed(struct conn *c)
{
	struct agent_session *s = c->agent;
	if (!s)
		return;
	if (s->nclaims > 0)
		log_info("agent=%s conn=%llu closed holding %zu callback(s); they return to "
			 "the queue after claim_timeout_ms",
			 s->id, (unsigned long long)c->id, s->nclaims);
	/* Results already sent still get recorded (their ops run on); claims
	 * waiting their turn are skipped. */
	session_retire(c);
}

void conn_agent_free(struct conn *c)
{
	struct agent_session *s = c->agent;
	if (!s)
		return;
	while (s->head) {
		struct agent_op *op = s->head;
		s->head = op->next;
		op_free(op);
	}
	free(s);
	c->agent = NULL;
}
