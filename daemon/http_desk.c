/*
 * http_desk.c - the desk: tickets waiting for a person, and the supervisor's
 * moves on them (docs/http-api.md).
 *
 * Each move is one event of the state machine applied by transition.c, as a
 * department's or an agent's is: MANUAL_DISPATCH, RULING_DISPATCH, RULING_CLOSE,
 * DESK_CLOSE, DESK_DUPLICATE. The ticket's version guards the write, so of two
 * supervisors acting on one ticket at once one wins and the other gets 409.
 * The answer to a move that committed is the ticket as it now stands.
 */
#include <stdio.h>
#include <string.h>

#include "http_routes.h"
#include "queries.h"
#include "server.h"
#include "transition.h"

#define REASON_MAX 8192 /* bytes of a reason or a note */

/* http_reply_document() sends column 0: this statement builds its answer there. */
_Static_assert(DESK_LIST_C_DESK == 0 && DESK_LIST_NCOLUMNS == 1, "desk_list.sql");

/* ---- GET /desk ------------------------------------------------------------- */

static void on_desk(struct http_call *call, const PGresult *res, const char *error)
{
	http_reply_document(call, res, error, "the desk could not be read", NULL);
}

void http_desk_list(struct http_call *call)
{
	int64_t limit;
	if (httpreq_int_param(http_query(call, "limit"), 100, 1, 500, &limit) != 0) {
		http_error(call, 400, "invalid", "limit must be 1..500");
		return;
	}
	char lim[24];
	snprintf(lim, sizeof(lim), "%lld", (long long)limit);
	const char *values[DESK_LIST_NPARAMS] = { [DESK_LIST_P_LIMIT] = lim };
	http_call_pg(call, QUERY_DESK_LIST, values, on_desk);
}

/* ---- GET /departments ------------------------------------------------------ */

/* The [dept.CODE] sections of the running configuration: what a ticket may be
 * dispatched to (the desk's choice), in file order. */
void http_departments(struct http_call *call)
{
	json_t *list = json_array();
	for (size_t i = 0; list && i < call->cfg->ndepts; i++) {
		const struct dept_config *d = &call->cfg->depts[i];
		json_array_append_new(list, json_pack("{s:s,s:s}", "code", d->code, "name",
						      d->name && d->name[0] ? d->name : d->code));
	}
	http_reply(call, 200, json_pack("{s:o*}", "departments", list));
}

/* ---- moves ----------------------------------------------------------------- */

static void on_shown(struct http_call *call, const PGresult *res, const char *error)
{
	if (error || PQntuples(res) != 1) {
		/* The move committed; only reading it back failed. */
		http_reply(
			call, 200,
			json_pack("{s:s,s:s}", "ticket_no", call->segments[1], "result", "done"));
		return;
	}
	http_reply_document(call, res, error, "the ticket could not be read", NULL);
}

static void on_moved(void *arg, const struct transition_result *r)
{
	struct http_call *call = arg;
	if (r->outcome == TRANSITION_DONE)
		server_feed_updates(call->deps->server, r->feed_code);
	if (!http_step_end(call))
		return;
	switch (r->outcome) {
	case TRANSITION_DONE: {
		const char *values[TICKET_SHOW_NPARAMS] = { [TICKET_SHOW_P_TICKET_NO] =
								    call->segments[1] };
		http_call_pg(call, QUERY_TICKET_SHOW, values, on_shown);
		return;
	}
	case TRANSITION_REFUSED:
		if (r->invalid)
			http_error(call, 400, "invalid", "%s", r->message);
		else
			http_error(call, 409, "conflict", "%s", r->message);
		return;
	case TRANSITION_NOT_FOUND:
		http_error(call, 404, "not_found", "no such ticket");
		return;
	case TRANSITION_BUSY:
		http_error(call, 409, "conflict", "%s", r->message);
		return;
	case TRANSITION_FAILED:
		http_unavailable(call, r->message);
		return;
	}
	http_unavailable(call, "unknown outcome");
}

/* Applies kind to the ticket of the path; the answer follows from on_moved. */
static void move(struct http_call *call, const char *ticket_no, enum ticket_event_kind kind,
		 const char *dept_code, const char *text, const char *parent_no)
{
	struct transition_request req = { 0 };
	req.ticket_no = ticket_no;
	req.kind = kind;
	req.dept_code = dept_code;
	req.text = text;
	req.actor = call->actor;
	req.parent_no = parent_no;
	http_step_begin(call);
	if (transition_start(call->deps->transitions, &req, on_moved, call) != 0) {
		if (http_step_end(call))
			http_unavailable(call, "out of memory");
	}
}

/* A department the configuration knows: true, else false after answering 400. */
static bool known_dept(struct http_call *call, const char *dept_code)
{
	if (config_find_dept(call->cfg, dept_code))
		return true;
	http_error(call, 400, "invalid", "no department \"%.64s\" is configured ([dept.CODE])",
		   dept_code);
	return false;
}

void http_desk_dispatch(struct http_call *call)
{
	const char *no = http_ticket_no(call, 1);
	const char *dept = NULL, *note = NULL;
	struct httpreq_field fields[] = {
		HTTPREQ_TEXT("dept_code", true, 64, &dept),
		HTTPREQ_TEXT("note", false, REASON_MAX, &note),
	};
	if (!no || !http_body_fields(call, fields, 2) || !known_dept(call, dept))
		return;
	move(call, no, TICKET_EV_MANUAL_DISPATCH, dept, note, NULL);
}

void http_desk_ruling(struct http_call *call)
{
	const char *no = http_ticket_no(call, 1);
	const char *decision = NULL, *dept = NULL, *reason = NULL;
	struct httpreq_field fields[] = {
		HTTPREQ_TEXT("decision", true, 16, &decision),
		HTTPREQ_TEXT("dept_code", false, 64, &dept),
		HTTPREQ_TEXT("reason", true, REASON_MAX, &reason),
	};
	if (!no || !http_body_fields(call, fields, 3))
		return;
	if (strcmp(decision, "dispatch") == 0) {
		if (!dept) {
			http_error(call, 400, "invalid",
				   "a ruling to dispatch needs \"dept_code\"");
			return;
		}
		if (known_dept(call, dept))
			move(call, no, TICKET_EV_RULING_DISPATCH, dept, reason, NULL);
	} else if (strcmp(decision, "close") == 0) {
		if (dept) {
			http_error(call, 400, "invalid",
				   "a ruling to close takes no \"dept_code\"");
			return;
		}
		move(call, no, TICKET_EV_RULING_CLOSE, NULL, reason, NULL);
	} else {
		http_error(call, 400, "invalid", "\"decision\" must be \"dispatch\" or \"close\"");
	}
}

void http_desk_close(struct http_call *call)
{
	const char *no = http_ticket_no(call, 1);
	const char *reason = NULL, *duplicate_of = NULL;
	struct httpreq_field fields[] = {
		HTTPREQ_TEXT("reason", true, REASON_MAX, &reason),
		HTTPREQ_TEXT("duplicate_of", false, HTTP_TICKET_NO_MAX - 1, &duplicate_of),
	};
	if (!no || !http_body_fields(call, fields, 2))
		return;
	if (!duplicate_of) {
		move(call, no, TICKET_EV_DESK_CLOSE, NULL, reason, NULL);
		return;
	}
	if (strcmp(duplicate_of, no) == 0) {
		http_error(call, 400, "invalid", "a ticket cannot duplicate itself");
		return;
	}
	move(call, no, TICKET_EV_DESK_DUPLICATE, NULL, reason, duplicate_of);
}
