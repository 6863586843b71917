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
	{ GET, { "me" }, AGENT, http_me },
	{ POST, { "tickets" }, AGENT, http_ticket_create },
	{ GET, { "tickets", "*" }, AGENT, http_ticket_get },
	{ GET, { "callers", "*", "tickets" }, AGENT, http_caller_history },
	{ GET, { "kb" }, AGENT, http_kb_search },
	{ POST, { "callbacks", "claim" }, AGENT, http_callback_claim },
	{ POST, { "callbacks", "*", "result" }, AGENT, http_callback_result },
	{ GET, { "desk" }, AGENT, http_desk_list },
	{ POST, { "tickets", "*", "dispatch" }, SUPERVISOR, http_desk_dispatch },
	{ POST, { "tickets", "*", "ruling" }, SUPERVISOR, http_desk_ruling },
	{ POST, { "tickets", "*", "close" }, SUPERVISOR, http_desk_close },
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
