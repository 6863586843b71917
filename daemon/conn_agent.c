/*
 * conn_agent.c - the agent role of a binary connection (call-centre terminals).
 *
 * Owns: authenticating agents (Hello.id is the agent's id, Hello.token the
 * shared [agents] token), pointing their Intake at the agents' feed ([agents]
 * feed; conn_feed.c stores it, and the router closes a record resolved on the call
 * at once), and the callback loop (回访) on the binary port: CallbackClaim and
 * CallbackResult go to this connection's callback holder (daemon/callbacks.c,
 * one consumer of group "agents" per connection), one at a time, in the order
 * sent, each answered before the next starts.
 * Never: answers a result before its change committed, logs a caller's phone
 * number, or frees the connection (conn.c does, after conn_agent_free(); what
 * the connection holds stays pending and comes back after the claim timeout).
 * Callers: daemon/conn.c (frames), daemon/conn_hello.c (the Hello),
 * daemon/server.c (conn_agent_full).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus_redis.h"
#include "callbacks.h"
#include "code.h"
#include "conn.h"
#include "hotline.pb-c.h"
#include "log.h"
#include "server.h"
#include "ticket_state.h"
#include "utf8.h"

#define AGENT_MAX_OPS                                                                  \
	64 /* claims and results waiting their turn per connection; past it the server \
	    * stops reading (conn_agent_full) */

enum agent_op_kind { AGENT_OP_CLAIM, AGENT_OP_RESULT };

/* A claim or a result waiting its turn on its connection (FIFO). */
struct agent_op {
	struct agent_op *next;
	enum agent_op_kind kind;
	char ticket_no[CALLBACK_TICKET_NO_MAX]; /* result: the ticket */
	enum ticket_event_kind event;		/* result: its event */
	char *note;				/* owned; NULL = none */
};

struct agent_session {
	char id[CODE_MAX + 1];
	struct callback_holder *holder; /* this connection's consumer and its claims */
	struct agent_op *head, *tail;
	size_t nops;
};

static void op_start(struct conn *c);

/* ---- the queue of claims and results ------------------------------------------ */

static void op_free(struct agent_op *op)
{
	free(op->note);
	free(op);
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

/* A closing connection is handed no callback: nobody could send its result. */
static bool conn_wants(void *arg)
{
	const struct conn *c = arg;
	return c->state == CONN_ACTIVE;
}

static void on_claim(void *arg, enum callback_claim_outcome outcome,
		     const struct callback_task *task, const char *message)
{
	struct conn *c = arg;
	switch (outcome) {
	case CALLBACK_TASK: {
		Hotline__V1__CallbackTask pb = HOTLINE__V1__CALLBACK_TASK__INIT;
		pb.ticket_no = (char *)task->ticket_no;
		pb.caller_phone = (char *)task->caller_phone;
		pb.caller_name = (char *)task->caller_name;
		pb.category = (char *)task->category;
		pb.content = (char *)task->content;
		pb.reply = (char *)task->reply;
		pb.dept_code = (char *)task->dept_code;
		pb.attempt = task->attempt;
		pb.claimed_until = task->claimed_until_ms;
		send_task(c, &pb);
		break;
	}
	case CALLBACK_NONE: {
		Hotline__V1__CallbackTask none = HOTLINE__V1__CALLBACK_TASK__INIT;
		send_task(c, &none);
		break;
	}
	case CALLBACK_FULL:
	case CALLBACK_UNAVAILABLE:
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE, message, NULL);
		break;
	case CALLBACK_UNWANTED:
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE,
				"this connection is closing: no callback is handed out", NULL);
		break;
	}
	op_done(c);
}

static void claim_start(struct conn *c)
{
	if (callback_claim(c->agent->holder, conn_wants, on_claim, c) != 0) {
		conn_send_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL,
				"out of memory; claim again", NULL);
		op_done(c);
	}
}

/* ---- CallbackResult -------------------------------------------------------- */

static void on_result(void *arg, const struct callback_result *r)
{
	struct conn *c = arg;
	const char *ticket_no = c->agent->head->ticket_no;
	switch (r->outcome) {
	case CALLBACK_RECORDED:
		conn_send_action_ack(c, ticket_no, true, NULL, r->state);
		server_feed_updates(c->server, r->feed_code);
		break;
	case CALLBACK_REFUSED:
		conn_send_action_ack(c, ticket_no, false, r->message, r->state);
		break;
	case CALLBACK_NOT_HELD:
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_NOT_FOUND, r->message,
				       ticket_no);
		break;
	case CALLBACK_RETRY:
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE, r->message,
				       ticket_no);
		break;
	case CALLBACK_RESULT_FAILED:
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL, r->message,
				       ticket_no);
		break;
	}
	op_done(c);
}

static void result_start(struct conn *c)
{
	struct agent_op *op = c->agent->head;
	if (callback_record(c->agent->holder, op->ticket_no, op->event, op->note, on_result, c) !=
	    0) {
		conn_send_ticket_error(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL,
				       "out of memory; send the result again", op->ticket_no);
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
	if (n == 0 || n >= CALLBACK_TICKET_NO_MAX || !utf8_valid(ticket_no, n)) {
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
	if (note_len > CALLBACK_NOTE_MAX || !utf8_valid(note, note_len)) {
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
	char actor[CODE_MAX + 8], consumer[BUS_CONSUMER_MAX];
	snprintf(actor, sizeof(actor), "agent:%s", id);
	/* One consumer per connection, unique across daemons sharing Redis. */
	snprintf(consumer, sizeof(consumer), "agent-%s-%d-%llu", id, (int)getpid(),
		 (unsigned long long)c->id);
	struct callback_env env = { server_bus(c->server), server_store(c->server),
				    server_transitions(c->server), cfg };
	if (!(s->holder = callback_holder_new(&env, consumer, actor))) {
		free(s);
		conn_fail(c, HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		return -1;
	}
	c->agent = s;
	c->role = HOTLINE__V1__ROLE__ROLE_AGENT;
	snprintf(c->feed_code, sizeof(c->feed_code), "%s", feed->code);
	log_info("conn=%llu peer=%s agent=%s hello accepted (intake as feed %s)",
		 (unsigned long long)c->id, c->peer, s->id, c->feed_code);
	return 0;
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
	callback_holder_release(s->holder);
	free(s);
	c->agent = NULL;
}
