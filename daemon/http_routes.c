/*
 * http_routes.c - the HTTP APIs' route table (docs/http-api.md).
 */
#include "http_routes.h"

#include <event2/http.h>
#include <string.h>

#define GET EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST
#define AGENT HTTP_ROLE_AGENT
#define SUPERVISOR HTTP_ROLE_SUPERVISOR
#define ANYONE HTTP_ROLE_ANY
#define V1 HTTP_API_V1
#define OPEN311 HTTP_API_OPEN311

static const struct http_route routes[] = {
	{ "/api/v1/me", V1, GET, { "me" }, AGENT, http_me, false },
	{ "/api/v1/tickets", V1, POST, { "tickets" }, AGENT, http_ticket_create, false },
	{ "/api/v1/tickets/{ticket_no}",
	  V1,
	  GET,
	  { "tickets", "*" },
	  AGENT,
	  http_ticket_get,
	  false },
	{ "/api/v1/callers/{phone}/tickets",
	  V1,
	  GET,
	  { "callers", "*", "tickets" },
	  AGENT,
	  http_caller_history,
	  false },
	{ "/api/v1/kb", V1, GET, { "kb" }, AGENT, http_kb_search, false },
	{ "/api/v1/callbacks/claim",
	  V1,
	  POST,
	  { "callbacks", "claim" },
	  AGENT,
	  http_callback_claim,
	  false },
	{ "/api/v1/callbacks/{ticket_no}/result",
	  V1,
	  POST,
	  { "callbacks", "*", "result" },
	  AGENT,
	  http_callback_result,
	  false },
	{ "/api/v1/desk", V1, GET, { "desk" }, AGENT, http_desk_list, false },
	{ "/api/v1/departments", V1, GET, { "departments" }, AGENT, http_departments, false },
	/* the statistics: read-only, for agents too (the wallboard hangs where they work) */
	{ "/api/v1/stats/live", V1, GET, { "stats", "live" }, AGENT, http_stats_live, false },
	{ "/api/v1/stats/report", V1, GET, { "stats", "report" }, AGENT, http_stats_report, false },
	{ "/api/v1/tickets/{ticket_no}/dispatch",
	  V1,
	  POST,
	  { "tickets", "*", "dispatch" },
	  SUPERVISOR,
	  http_desk_dispatch,
	  false },
	{ "/api/v1/tickets/{ticket_no}/ruling",
	  V1,
	  POST,
	  { "tickets", "*", "ruling" },
	  SUPERVISOR,
	  http_desk_ruling,
	  false },
	{ "/api/v1/tickets/{ticket_no}/close",
	  V1,
	  POST,
	  { "tickets", "*", "close" },
	  SUPERVISOR,
	  http_desk_close,
	  false },
	/* Open311 GeoReport v2: public (POST requests checks its api_key itself); the
	 * path's last segment had its format (.json, .xml) cut off. */
	{ "/open311/v2/services.{format}",
	  OPEN311,
	  GET,
	  { "services" },
	  ANYONE,
	  http_open311_services,
	  true },
	{ "/open311/v2/services/{service_code}.{format}",
	  OPEN311,
	  GET,
	  { "services", "*" },
	  ANYONE,
	  http_open311_service,
	  true },
	{ "POST /open311/v2/requests.{format}",
	  OPEN311,
	  POST,
	  { "requests" },
	  ANYONE,
	  http_open311_create,
	  false },
	{ "GET /open311/v2/requests.{format}",
	  OPEN311,
	  GET,
	  { "requests" },
	  ANYONE,
	  http_open311_requests,
	  false },
	{ "/open311/v2/requests/{service_request_id}.{format}",
	  OPEN311,
	  GET,
	  { "requests", "*" },
	  ANYONE,
	  http_open311_request,
	  false },
};

static bool matches(const struct http_route *r, const char *const *segments, int n)
{
	int i = 0;
	for (; i < HTTPREQ_MAX_SEGMENTS && r->pattern[i]; i++) {
		if (i >= n)
			return false;
		if (strcmp(r->pattern[i], "*") != 0 && strcmp(r->pattern[i], segments[i]) != 0)
			return false;
	}
	return i == n;
}

size_t http_route_count(void)
{
	return sizeof(routes) / sizeof(routes[0]);
}

const struct http_route *http_route_at(size_t i)
{
	return i < http_route_count() ? &routes[i] : NULL;
}

const struct http_route *http_route_find(enum http_api api, int method, const char *const *segments,
					 int n, bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (routes[i].api != api || !matches(&routes[i], segments, n))
			continue;
		if (routes[i].method == method)
			return &routes[i];
		*path_known = true;
	}
	return NULL;
}
