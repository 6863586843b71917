/*
 * http_routes.c - the HTTP API's route table (docs/http-api.md).
 */
#include "http_routes.h"

#include <event2/http.h>
#include <string.h>

#define GET EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST
#define AGENT HTTP_ROLE_AGENT
#define SUPERVISOR HTTP_ROLE_SUPERVISOR

static const struct http_route routes[] = {
	{ "/api/v1/me", GET, { "me" }, AGENT, http_me },
	{ "/api/v1/tickets", POST, { "tickets" }, AGENT, http_ticket_create },
	{ "/api/v1/tickets/{ticket_no}", GET, { "tickets", "*" }, AGENT, http_ticket_get },
	{ "/api/v1/callers/{phone}/tickets",
	  GET,
	  { "callers", "*", "tickets" },
	  AGENT,
	  http_caller_history },
	{ "/api/v1/callbacks/claim", POST, { "callbacks", "claim" }, AGENT, http_callback_claim },
	{ "/api/v1/callbacks/{ticket_no}/result",
	  POST,
	  { "callbacks", "*", "result" },
	  AGENT,
	  http_callback_result },
	{ "/api/v1/desk", GET, { "desk" }, AGENT, http_desk_list },
	{ "/api/v1/departments", GET, { "departments" }, AGENT, http_departments },
	{ "/api/v1/tickets/{ticket_no}/dispatch",
	  POST,
	  { "tickets", "*", "dispatch" },
	  SUPERVISOR,
	  http_desk_dispatch },
	{ "/api/v1/tickets/{ticket_no}/ruling",
	  POST,
	  { "tickets", "*", "ruling" },
	  SUPERVISOR,
	  http_desk_ruling },
	{ "/api/v1/tickets/{ticket_no}/close",
	  POST,
	  { "tickets", "*", "close" },
	  SUPERVISOR,
	  http_desk_close },
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

const struct http_route *http_route_find(int method, const char *const *segments, int n,
					 bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!matches(&routes[i], segments, n))
			continue;
		if (routes[i].method == method)
			return &routes[i];
		*path_known = true;
	}
	return NULL;
}
