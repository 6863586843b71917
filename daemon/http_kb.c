/*
 * http_kb.c - the knowledge base's search for agents on a call (GET /api/v1/kb,
 * docs/http-api.md "Knowledge base").
 *
 * Owns: checking the query (q: 1..200 bytes of text; limit: 1..50) and answering
 * with the document queries/kb_search.sql builds: matching, ranking and the JSON
 * are the statement's, so `hotlinectl kb search` shows exactly what agents see.
 * Never: writes anything, or logs what was searched for (a caller's words).
 * Callers: daemon/http.c, by the route table (http_routes.c).
 */
#include <stdio.h>
#include <string.h>

#include "http_routes.h"
#include "queries.h"

#define KB_QUERY_MAX 200 /* bytes of q */
#define KB_LIMIT_DEFAULT 10
#define KB_LIMIT_MAX 50

static void on_found(struct http_call *call, const PGresult *res, const char *error)
{
	if (error || PQntuples(res) != 1) {
		http_unavailable(call, "the knowledge base could not be searched");
		return;
	}
	http_reply_text(call, 200, PQgetvalue(res, 0, KB_SEARCH_C_RESULT),
			(size_t)PQgetlength(res, 0, KB_SEARCH_C_RESULT));
}

void http_kb_search(struct http_call *call)
{
	/* http.c refused a query string with a NUL byte or invalid UTF-8 already. */
	const char *q = http_query(call, "q");
	size_t len = strlen(q);
	if (len == 0 || len > KB_QUERY_MAX) {
		http_error(call, 400, "invalid", "q (what to search for) must be 1-%d bytes",
			   KB_QUERY_MAX);
		return;
	}
	int64_t limit;
	if (httpreq_int_param(http_query(call, "limit"), KB_LIMIT_DEFAULT, 1, KB_LIMIT_MAX,
			      &limit) != 0) {
		http_error(call, 400, "invalid", "limit must be 1..%d", KB_LIMIT_MAX);
		return;
	}
	char lim[24];
	snprintf(lim, sizeof(lim), "%lld", (long long)limit);
	const char *values[KB_SEARCH_NPARAMS] = { [KB_SEARCH_P_Q] = q, [KB_SEARCH_P_LIMIT] = lim };
	http_call_pg(call, QUERY_KB_SEARCH, values, on_found);
}
