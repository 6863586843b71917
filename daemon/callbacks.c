/*
 * callbacks.c - claiming callbacks and recording their verdicts, for any port.
 */
#include "callbacks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "pgtext.h"
#include "utf8.h"

#define MAX_STALE 256 /* stale queue entries skipped within one claim */

/* A callback the holder holds. */
struct held {
	char entry_id[BUS_ENTRY_ID_MAX];
	char ticket_no[CALLBACK_TICKET_NO_MAX];
	int64_t until_ms;
};

struct callback_holder {
	struct callback_env env;
	char consumer[BUS_CONSUMER_MAX];
	char actor[96];
	struct held claims[CALLBACK_MAX_CLAIMS];
	size_t nclaims;
	size_t ops;    /* claims and results in flight */
	bool released; /* the owner let go: free when ops reaches 0 */
};

/* One claim or result in flight. */
struct op {
	struct callback_holder *h;
	char entry_id[BUS_ENTRY_ID_MAX];
	char ticket_no[CALLBACK_TICKET_NO_MAX];
	unsigned stale;
	bool (*wanted)(void *arg);
	callback_claim_fn claim_done;
	enum ticket_event_kind event;
	char *note;
	callback_result_fn result_done;
	void *arg;
};

/* ---- holder ---------------------------------------------------------------- */

static struct held *held_by_ticket(struct callback_holder *h, const char *ticket_no)
{
	for (size_t i = 0; i < h->nclaims; i++)
		if (strcmp(h->claims[i].ticket_no, ticket_no) == 0)
			return &h->claims[i];
	return NULL;
}

static bool holds_entry(const struct callback_holder *h, const char *entry_id)
{
	for (size_t i = 0; i < h->nclaims; i++)
		if (strcmp(h->claims[i].entry_id, entry_id) == 0)
			return true;
	return false;
}

static void drop_entry(struct callback_holder *h, const char *entry_id)
{
	for (size_t i = 0; i < h->nclaims; i++) {
		if (strcmp(h->claims[i].entry_id, entry_id) == 0) {
			h->claims[i] = h->claims[--h->nclaims];
			return;
		}
	}
}

/* Forgets claims past their time: they are back in the queue for anyone. */
static void drop_lapsed(struct callback_holder *h, int64_t now_ms)
{
	for (size_t i = 0; i < h->nclaims;) {
		if (h->claims[i].until_ms <= now_ms)
			h->claims[i] = h->claims[--h->nclaims];
		else
			i++;
	}
}

struct callback_holder *callback_holder_new(const struct callback_env *env, const char *consumer,
					    const char *actor)
{
	struct callback_holder *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->env = *env;
	snprintf(h->consumer, sizeof(h->consumer), "%s", consumer);
	snprintf(h->actor, sizeof(h->actor), "%s", actor);
	return h;
}

static void holder_maybe_free(struct callback_holder *h)
{
	if (!h->released || h->ops > 0)
		return;
	bus_callback_forget(h->env.bus, h->consumer);
	free(h);
}

void callback_holder_release(struct callback_holder *h)
{
	if (!h)
		return;
	if (h->nclaims > 0)
		log_info("callbacks: %s let go holding %zu callback(s); they return to the queue "
			 "after claim_timeout_ms",
			 h->consumer, h->nclaims);
	h->released = true;
	holder_maybe_free(h);
}

size_t callback_holder_claims(const struct callback_holder *h)
{
	return h->nclaims;
}

static struct op *op_new(struct callback_holder *h, void *arg)
{
	struct op *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->h = h;
	op->arg = arg;
	h->ops++;
	return op;
}

static void op_free(struct op *op)
{
	struct callback_holder *h = op->h;
	free(op->note);
	free(op);
	h->ops--;
	holder_maybe_free(h);
}

/* ---- claims ---------------------------------------------------------------- */

static void claim_finish(struct op *op, enum callback_claim_outcome outcome,
			 const struct callback_task *task, const char *message)
{
	op->claim_done(op->arg, outcome, task, message);
	op_free(op);
}

static bool still_wanted(struct op *op)
{
	return !op->h->released && (!op->wanted || op->wanted(op->arg));
}

/*
 * The claim is not handed out. A freshly taken entry goes back to the queue at
 * once; one the holder held before stays held.
 */
static void claim_give_up(struct op *op, enum callback_claim_outcome outcome, const char *message)
{
	if (op->entry_id[0] && !holds_entry(op->h, op->entry_id))
		bus_callback_release(op->h->env.bus, op->entry_id);
	claim_finish(op, outcome, NULL, message);
}

static void on_claimed(void *arg, enum bus_claim_status status, const char *entry_id,
		       const char *ticket_no);

static void claim_ask(struct op *op)
{
	struct callback_holder *h = op->h;
	op->entry_id[0] = '\0';
	if (bus_callback_claim(h->env.bus, h->consumer, h->env.cfg->callback_claim_timeout_ms,
			       on_claimed, op) != 0)
		claim_finish(op, CALLBACK_UNAVAILABLE, NULL,
			     "the callback queue is unavailable (Redis); claim again later");
}

/* The entry was stale (its ticket moved on): drop it, take the next. */
static void claim_skip_stale(struct op *op)
{
	bus_callback_ack(op->h->env.bus, op->entry_id);
	drop_entry(op->h, op->entry_id);
	op->entry_id[0] = '\0';
	if (!still_wanted(op)) {
		claim_finish(op, CALLBACK_UNWANTED, NULL, NULL);
		return;
	}
	if (++op->stale > MAX_STALE) {
		claim_finish(op, CALLBACK_UNAVAILABLE, NULL,
			     "many finished callbacks were cleared from the queue; claim again");
		return;
	}
	claim_ask(op);
}

static void on_task_read(void *arg, const PGresult *res, const char *error)
{
	struct op *op = arg;
	struct callback_holder *h = op->h;
	if (error) {
		log_warn("callbacks: %s: reading ticket %s for a callback failed: %s", h->consumer,
			 op->ticket_no, error);
		claim_give_up(op, CALLBACK_UNAVAILABLE,
			      "the ticket could not be read; claim again");
		return;
	}
	if (PQntuples(res) == 0 ||
	    strcmp(PQgetvalue(res, 0, CALLBACK_TASK_C_STATE), "REPLIED") != 0) {
		log_debug("callbacks: entry %s for ticket %s is stale (%s): acknowledged",
			  op->entry_id, op->ticket_no,
			  PQntuples(res) ? PQgetvalue(res, 0, CALLBACK_TASK_C_STATE)
					 : "no such ticket");
		claim_skip_stale(op);
		return;
	}
	if (!still_wanted(op)) {
		claim_give_up(op, CALLBACK_UNWANTED, NULL);
		return;
	}
	int64_t until = clock_now_ms() + h->env.cfg->callback_claim_timeout_ms;
	struct held *held = held_by_ticket(h, op->ticket_no);
	if (!held) {
		if (h->nclaims >= CALLBACK_MAX_CLAIMS)
			drop_lapsed(h, clock_now_ms());
		if (h->nclaims >= CALLBACK_MAX_CLAIMS) {
			claim_give_up(op, CALLBACK_FULL, "too many callbacks held; claim again");
			return;
		}
		held = &h->claims[h->nclaims++];
		snprintf(held->entry_id, sizeof(held->entry_id), "%s", op->entry_id);
		snprintf(held->ticket_no, sizeof(held->ticket_no), "%s", op->ticket_no);
	}
	held->until_ms = until;
	uint32_t attempts = 0;
	if (pgtext_uint32(PQgetvalue(res, 0, CALLBACK_TASK_C_CALLBACK_ATTEMPTS), &attempts) != 0)
		log_error("callbacks: ticket %s: callback_attempts '%s' is not a count",
			  op->ticket_no, PQgetvalue(res, 0, CALLBACK_TASK_C_CALLBACK_ATTEMPTS));
	struct callback_task task = {
		.ticket_no = op->ticket_no,
		.caller_phone = PQgetvalue(res, 0, CALLBACK_TASK_C_CALLER_PHONE),
		.caller_name = PQgetvalue(res, 0, CALLBACK_TASK_C_CALLER_NAME),
		.category = PQgetvalue(res, 0, CALLBACK_TASK_C_CATEGORY),
		.content = PQgetvalue(res, 0, CALLBACK_TASK_C_CONTENT),
		.reply = PQgetvalue(res, 0, CALLBACK_TASK_C_REPLY),
		.dept_code = PQgetvalue(res, 0, CALLBACK_TASK_C_DEPT_CODE),
		.attempt = attempts + 1,
		.claimed_until_ms = until,
	};
	log_info("callbacks: %s claimed the callback of ticket %s (attempt %u, entry %s)",
		 h->consumer, op->ticket_no, task.attempt, op->entry_id);
	claim_finish(op, CALLBACK_TASK, &task, NULL);
}

static void on_claimed(void *arg, enum bus_claim_status status, const char *entry_id,
		       const char *ticket_no)
{
	struct op *op = arg;
	struct callback_holder *h = op->h;
	if (status == BUS_CLAIM_FAILED) {
		claim_finish(op, CALLBACK_UNAVAILABLE, NULL,
			     "the callback queue is unavailable (Redis); claim again later");
		return;
	}
	if (status == BUS_CLAIM_NONE) {
		claim_finish(op, CALLBACK_NONE, NULL, NULL);
		return;
	}
	snprintf(op->entry_id, sizeof(op->entry_id), "%s", entry_id);
	if (!still_wanted(op)) {
		claim_give_up(op, CALLBACK_UNWANTED, NULL);
		return;
	}
	size_t n = strlen(ticket_no);
	if (n >= sizeof(op->ticket_no) || !utf8_valid(ticket_no, n)) {
		log_error("callbacks: entry %s names no usable ticket; acknowledging it away",
			  entry_id);
		snprintf(op->ticket_no, sizeof(op->ticket_no), "?");
		claim_skip_stale(op);
		return;
	}
	snprintf(op->ticket_no, sizeof(op->ticket_no), "%s", ticket_no);
	struct held *held = held_by_ticket(h, ticket_no);
	if (held && strcmp(held->entry_id, entry_id) != 0) {
		/* A new entry for a ticket this holder holds: Redis lost the old one and
		 * the queue was rebuilt, or the old one's acknowledgement was lost. Hold
		 * the new one, finish the old one; the task goes out again. */
		bus_callback_ack(h->env.bus, held->entry_id);
		snprintf(held->entry_id, sizeof(held->entry_id), "%s", entry_id);
	}
	const char *values[CALLBACK_TASK_NPARAMS] = { [CALLBACK_TASK_P_TICKET_NO] = op->ticket_no };
	store_pg_query(h->env.store, QUERY_CALLBACK_TASK, values, on_task_read, op);
}

int callback_claim(struct callback_holder *h, bool (*wanted)(void *arg), callback_claim_fn done,
		   void *arg)
{
	struct op *op = op_new(h, arg);
	if (!op)
		return -1;
	op->wanted = wanted;
	op->claim_done = done;
	if (h->nclaims >= CALLBACK_MAX_CLAIMS)
		drop_lapsed(h, clock_now_ms());
	if (h->nclaims >= CALLBACK_MAX_CLAIMS) {
		char msg[128];
		snprintf(msg, sizeof(msg),
			 "%d callbacks are held, the most allowed; record a result first",
			 CALLBACK_MAX_CLAIMS);
		claim_finish(op, CALLBACK_FULL, NULL, msg);
		return 0;
	}
	claim_ask(op);
	return 0;
}

/* ---- results --------------------------------------------------------------- */

static void result_finish(struct op *op, enum callback_result_outcome outcome, const char *message,
			  enum ticket_state state, const char *feed_code)
{
	struct callback_result r = { outcome, message, state, feed_code };
	op->result_done(op->arg, &r);
	op_free(op);
}

static void on_recorded(void *arg, const struct transition_result *r)
{
	struct op *op = arg;
	struct callback_holder *h = op->h;
	switch (r->outcome) {
	case TRANSITION_DONE:
		/* Recorded: this entry is finished (an unreachable caller gets a new one
		 * through the outbox). */
		bus_callback_ack(h->env.bus, op->entry_id);
		drop_entry(h, op->entry_id);
		result_finish(op, CALLBACK_RECORDED, NULL, r->state, r->feed_code);
		return;
	case TRANSITION_REFUSED:
		if (r->state != TICKET_REPLIED) {
			/* The ticket moved on (closed by someone else): nothing to call. */
			bus_callback_ack(h->env.bus, op->entry_id);
			drop_entry(h, op->entry_id);
		}
		result_finish(op, CALLBACK_REFUSED, r->message, r->state, NULL);
		return;
	case TRANSITION_NOT_FOUND:
		bus_callback_ack(h->env.bus, op->entry_id);
		drop_entry(h, op->entry_id);
		result_finish(op, CALLBACK_NOT_HELD, "no such ticket", r->state, NULL);
		return;
	case TRANSITION_BUSY:
	case TRANSITION_FAILED:
		result_finish(op, CALLBACK_RETRY, r->message, r->state, NULL);
		return;
	}
	result_finish(op, CALLBACK_RESULT_FAILED, "unknown outcome", r->state, NULL);
}

static void on_held(void *arg, int held)
{
	struct op *op = arg;
	struct callback_holder *h = op->h;
	if (held < 0) {
		result_finish(op, CALLBACK_RETRY,
			      "the callback queue is unavailable (Redis); send the result again "
			      "later",
			      TICKET_REPLIED, NULL);
		return;
	}
	if (held == 0) {
		drop_entry(h, op->entry_id);
		result_finish(op, CALLBACK_NOT_HELD,
			      "the callback of this ticket is no longer held here (its claim "
			      "lapsed and another agent took it)",
			      TICKET_REPLIED, NULL);
		return;
	}
	/* The hold restarted the claim's clock in Redis. */
	struct held *claim = held_by_ticket(h, op->ticket_no);
	if (claim)
		claim->until_ms = clock_now_ms() + h->env.cfg->callback_claim_timeout_ms;
	struct transition_request req = { 0 };
	req.ticket_no = op->ticket_no;
	req.kind = op->event;
	req.text = op->note;
	req.actor = h->actor;
	if (transition_start(h->env.transitions, &req, on_recorded, op) != 0)
		result_finish(op, CALLBACK_RESULT_FAILED, "out of memory; send the result again",
			      TICKET_REPLIED, NULL);
}

int callback_record(struct callback_holder *h, const char *ticket_no, enum ticket_event_kind event,
		    const char *note, callback_result_fn done, void *arg)
{
	struct op *op = op_new(h, arg);
	if (!op)
		return -1;
	if (note && *note && !(op->note = strdup(note))) {
		op_free(op);
		return -1;
	}
	op->result_done = done;
	op->event = event;
	snprintf(op->ticket_no, sizeof(op->ticket_no), "%s", ticket_no);
	const struct held *claim = held_by_ticket(h, ticket_no);
	if (!claim) {
		/* Never claimed here, or already finished: the same answer as for a
		 * ticket that does not exist. */
		result_finish(op, CALLBACK_NOT_HELD, "no callback of this ticket is claimed here",
			      TICKET_REPLIED, NULL);
		return 0;
	}
	snprintf(op->entry_id, sizeof(op->entry_id), "%s", claim->entry_id);
	if (bus_callback_hold(h->env.bus, h->consumer, op->entry_id, on_held, op) != 0)
		result_finish(op, CALLBACK_RETRY,
			      "the callback queue is unavailable (Redis); send the result again "
			      "later",
			      TICKET_REPLIED, NULL);
	return 0;
}
