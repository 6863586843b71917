/*
 * http_callbacks.c - the callback queue (回访) over HTTP: claim the next one,
 * record its outcome (docs/http-api.md).
 *
 * The logic is daemon/callbacks.c's, the same the binary AGENT role uses; here
 * each account is one holder (one consumer of the queue, "user-NAME-PID"), kept
 * for the daemon's life, so a claim made from one request (or terminal) can be
 * finished from another. Holders are few (one per account that ever claimed)
 * and freed at exit (http_callbacks_free).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callbacks.h"
#include "dates.h"
#include "http_routes.h"
#include "server.h"

struct account_holder {
	struct account_holder *next;
	char user[65];
	struct callback_holder *holder;
};

static struct account_holder *holders;

static struct callback_holder *holder_of(struct http_call *call)
{
	for (struct account_holder *a = holders; a; a = a->next)
		if (strcmp(a->user, call->user) == 0)
			return a->holder;
	struct account_holder *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	char consumer[BUS_CONSUMER_MAX];
	snprintf(consumer, sizeof(consumer), "user-%s-%d", call->user, (int)getpid());
	struct callback_env env = { call->deps->bus, call->deps->store, call->deps->transitions,
				    call->cfg };
	if (!(a->holder = callback_holder_new(&env, consumer, call->actor))) {
		free(a);
		return NULL;
	}
	snprintf(a->user, sizeof(a->user), "%s", call->user);
	a->next = holders;
	holders = a;
	return a->holder;
}

void http_callbacks_free(void)
{
	while (holders) {
		struct account_holder *a = holders;
		holders = a->next;
		callback_holder_release(a->holder);
		free(a);
	}
}

/* ---- POST /callbacks/claim --------------------------------------------------- */

static bool call_wants(void *arg)
{
	return http_call_open(arg);
}

static void on_claim(void *arg, enum callback_claim_outcome outcome,
		     const struct callback_task *task, const char *message)
{
	struct http_call *call = arg;
	if (!http_step_end(call))
		return;
	switch (outcome) {
	case CALLBACK_TASK: {
		char until[DATES_UTC_LEN];
		dates_format_utc(task->claimed_until_ms, until, sizeof(until));
		http_reply(call, 200,
			   json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "ticket_no",
				     task->ticket_no, "caller_phone", task->caller_phone,
				     "caller_name", task->caller_name, "category", task->category,
				     "content", task->content, "reply", task->reply, "dept_code",
				     task->dept_code, "attempt", (json_int_t)task->attempt,
				     "claimed_until", until));
		return;
	}
	case CALLBACK_NONE:
		http_reply(call, 204, NULL);
		return;
	case CALLBACK_FULL:
		http_error(call, 409, "conflict", "%s", message);
		return;
	case CALLBACK_UNAVAILABLE:
	case CALLBACK_UNWANTED:
		http_unavailable(call, message ? message : "the callback was not handed out");
		return;
	}
}

void http_callback_claim(struct http_call *call)
{
	struct callback_holder *holder = holder_of(call);
	if (!holder) {
		http_unavailable(call, "out of memory");
		return;
	}
	http_step_begin(call);
	if (callback_claim(holder, call_wants, on_claim, call) != 0 && http_step_end(call))
		http_unavailable(call, "out of memory");
}

/* ---- POST /callbacks/{no}/result ----------------------------------------------- */

static void on_result(void *arg, const struct callback_result *r)
{
	struct http_call *call = arg;
	if (r->outcome == CALLBACK_RECORDED)
		server_feed_updates(call->deps->server, r->feed_code);
	if (!http_step_end(call))
		return;
	switch (r->outcome) {
	case CALLBACK_RECORDED:
		http_reply(call, 200,
			   json_pack("{s:s,s:s}", "ticket_no", call->segments[1], "state",
				     ticket_state_name(r->state)));
		return;
	case CALLBACK_REFUSED:
		http_error(call, 409, "conflict", "%s", r->message);
		return;
	case CALLBACK_NOT_HELD:
		http_error(call, 404, "not_found", "%s", r->message);
		return;
	case CALLBACK_RETRY:
	case CALLBACK_RESULT_FAILED:
		http_unavailable(call, r->message);
		return;
	}
}

static const struct {
	const char *name;
	enum ticket_event_kind event;
} outcomes[] = {
	{ "satisfied", TICKET_EV_CALLBACK_SATISFIED },
	{ "basically_satisfied", TICKET_EV_CALLBACK_BASICALLY_SATISFIED },
	{ "unsatisfied", TICKET_EV_CALLBACK_UNSATISFIED },
	{ "unreachable", TICKET_EV_CALLBACK_UNREACHABLE },
};

void http_callback_result(struct http_call *call)
{
	const char *no = http_ticket_no(call, 1);
	const char *outcome = NULL, *note = NULL;
	struct httpreq_field fields[] = {
		HTTPREQ_TEXT("outcome", true, 32, &outcome),
		HTTPREQ_TEXT("note", false, CALLBACK_NOTE_MAX, &note),
	};
	if (!no || !http_body_fields(call, fields, 2))
		return;
	size_t i = 0;
	while (i < sizeof(outcomes) / sizeof(outcomes[0]) && strcmp(outcomes[i].name, outcome) != 0)
		i++;
	if (i == sizeof(outcomes) / sizeof(outcomes[0])) {
		http_error(call, 400, "invalid",
			   "\"outcome\" must be satisfied, basically_satisfied, unsatisfied or "
			   "unreachable");
		return;
	}
	struct callback_holder *holder = holder_of(call);
	if (!holder) {
		http_unavailable(call, "out of memory");
		return;
	}
	http_step_begin(call);
	if (callback_record(holder, no, outcomes[i].event, note, on_result, call) != 0 &&
	    http_step_end(call))
		http_unavailable(call, "out of memory");
}
