/*
 * http_tickets.c - the agent's calls: who am I, a ticket taken on the phone, a
 * ticket with its audit trail, and a caller's history (docs/http-api.md).
 *
 * A ticket created here is an intake record of the agents' feed ([agents] feed)
 * and goes the way a feed's record goes: the same validation (lib/intake.c),
 * the same group commit and routing (store_pg_submit), answered only after it
 * committed; only its audit rows' actor says who took it (user:NAME).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http_routes.h"
#include "json_codec.h"
#include "log.h"
#include "mask.h"
#include "queries.h"
#include "store_pg.h"
#include "ticket_state.h"

#define MAX_INTAKE_INFLIGHT 1024 /* tickets of the HTTP API waiting for their commit */
#define MAX_PHONE 32		 /* bytes of a caller's number in a path */

static size_t intake_inflight;

/* http_reply_document() sends column 0: these statements build their answer there. */
_Static_assert(TICKET_SHOW_C_TICKET == 0 && TICKET_SHOW_NCOLUMNS == 1, "ticket_show.sql");
_Static_assert(CALLER_HISTORY_C_PAGE == 0 && CALLER_HISTORY_NCOLUMNS == 1, "caller_history.sql");

void http_me(struct http_call *call)
{
	http_reply(call, 200,
		   json_pack("{s:s,s:s}", "name", call->user, "role",
			     call->role == HTTP_ROLE_SUPERVISOR ? "supervisor" : "agent"));
}

/* ---- POST /tickets ---------------------------------------------------------- */

static void on_stored(struct store_intake *rec, const struct store_result *result)
{
	struct http_call *call = rec->owner;
	intake_inflight--;
	bool answered_meanwhile = !http_step_end(call);
	if (!answered_meanwhile) {
		if (result->outcome == STORE_COMMITTED)
			http_reply(call, result->duplicate ? 200 : 201,
				   json_pack("{s:s,s:b,s:s?}", "ticket_no", result->ticket_no,
					     "duplicate", result->duplicate, "state",
					     result->duplicate ? NULL
							       : ticket_state_name(rec->state)));
		else
			http_unavailable(call, "the ticket could not be stored");
	}
	intake_free(rec->intake);
	free(rec);
}

void http_ticket_create(struct http_call *call)
{
	const struct hotline_config *cfg = call->cfg;
	const char *feed_code = cfg->agents_feed ? cfg->agents_feed : "";
	if (!config_find_feed(cfg, feed_code)) {
		http_error(call, 503, "unavailable",
			   "the server takes no agents' tickets: [agents] feed '%.64s' has no "
			   "[feed.%.64s] section",
			   feed_code, feed_code);
		return;
	}
	if (intake_inflight >= MAX_INTAKE_INFLIGHT) {
		http_unavailable(call, "too many tickets are being stored");
		return;
	}
	struct intake *in = NULL;
	char external_id[INTAKE_MAX_EXTERNAL_ID + 1], err[256];
	if (json_parse_intake(call->body_raw, call->body_len, &in, external_id, err, sizeof(err)) !=
	    0) {
		http_error(call, 400, "invalid", "%s", err);
		return;
	}
	int64_t now = clock_now_ms();
	struct intake_limits limits;
	intake_limits_default(&limits);
	limits.max_content = (size_t)cfg->max_content;
	if (intake_validate(in, now, &limits, err, sizeof(err)) != 0) {
		intake_free(in);
		http_error(call, 400, "invalid", "%s", err);
		return;
	}
	if (in->received_at_ms == 0)
		in->received_at_ms = now;
	struct store_intake *rec = calloc(1, sizeof(*rec));
	if (!rec) {
		intake_free(in);
		http_error(call, 503, "unavailable", "out of memory");
		return;
	}
	snprintf(rec->feed_code, sizeof(rec->feed_code), "%s", feed_code);
	snprintf(rec->actor, sizeof(rec->actor), "%s", call->actor);
	rec->intake = in;
	rec->done = on_stored;
	rec->owner = call;
	char masked[MASK_PHONE_SIZE];
	mask_phone(in->caller_phone, masked, sizeof(masked));
	log_debug("http: %s takes a ticket (caller %s)", call->actor, masked);
	intake_inflight++;
	http_step_begin(call);
	store_pg_submit(call->deps->store, rec);
}

/* ---- GET /tickets/{no} ----------------------------------------------------- */

static void on_ticket(struct http_call *call, const PGresult *res, const char *error)
{
	http_reply_document(call, res, error, "the ticket could not be read", "no such ticket");
}

void http_ticket_get(struct http_call *call)
{
	const char *no = http_ticket_no(call, 1);
	if (!no)
		return;
	const char *values[TICKET_SHOW_NPARAMS] = { [TICKET_SHOW_P_TICKET_NO] = no };
	http_call_pg(call, QUERY_TICKET_SHOW, values, on_ticket);
}

/* ---- GET /callers/{phone}/tickets ------------------------------------------ */

static void on_history(struct http_call *call, const PGresult *res, const char *error)
{
	http_reply_document(call, res, error, "the caller's history could not be read", NULL);
}

void http_caller_history(struct http_call *call)
{
	const char *phone = call->segments[1];
	size_t len = strlen(phone);
	if (len == 0 || len > MAX_PHONE) {
		http_error(call, 400, "invalid", "a caller's number is 1-%d bytes", MAX_PHONE);
		return;
	}
	int64_t limit, offset;
	if (httpreq_int_param(http_query(call, "limit"), 20, 1, 100, &limit) != 0 ||
	    httpreq_int_param(http_query(call, "offset"), 0, 0, 10000, &offset) != 0) {
		http_error(call, 400, "invalid", "limit must be 1..100 and offset 0..10000");
		return;
	}
	char lim[24], off[24], at[24];
	snprintf(lim, sizeof(lim), "%lld", (long long)limit);
	snprintf(off, sizeof(off), "%lld", (long long)offset);
	snprintf(at, sizeof(at), "%lld", (long long)clock_now_ms());
	const char *values[CALLER_HISTORY_NPARAMS] = {
		[CALLER_HISTORY_P_CALLER_PHONE] = phone, [CALLER_HISTORY_P_LIMIT] = lim,
		[CALLER_HISTORY_P_OFFSET] = off,	 [CALLER_HISTORY_P_USER_NAME] = call->user,
		[CALLER_HISTORY_P_AT_MS] = at,
	};
	http_call_pg(call, QUERY_CALLER_HISTORY, values, on_history);
}
