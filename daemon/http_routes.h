/*
 * http_routes.h - the HTTP APIs' routes and their handlers.
 *
 * Owns: the table of (API, method, path pattern, role, handler) that http.c looks a
 * request up in, and the handlers' declarations; docs/http-api.md describes each
 * /api/v1 route, its "Open311" section each Open311 one.
 * Callers: daemon/http.c (lookup), daemon/http_*.c (handlers).
 */
#ifndef HOTLINE_HTTP_ROUTES_H
#define HOTLINE_HTTP_ROUTES_H

#include "http.h"

typedef void (*http_handler_fn)(struct http_call *call);

struct http_route {
	/* for /metrics: the path, {placeholders}; where one path takes two methods, the
	 * method first ("POST /open311/v2/requests.{format}"), so every label is one route */
	const char *label;
	enum http_api api;
	int method;				   /* EVHTTP_REQ_GET or _POST */
	const char *pattern[HTTPREQ_MAX_SEGMENTS]; /* "*" matches any one segment; NULL ends */
	enum http_role role;			   /* the least role that may call it */
	http_handler_fn handler;
	bool config_only; /* answered from the config alone: served while PostgreSQL is down */
};

/*
 * The route of api for method and path segments; NULL when none, with *path_known
 * telling whether some other method has one (405 rather than 404).
 */
const struct http_route *http_route_find(enum http_api api, int method, const char *const *segments,
					 int n, bool *path_known);

/* Every route, in table order: http_route_at(0 .. http_route_count() - 1). */
size_t http_route_count(void);
const struct http_route *http_route_at(size_t i);

/* http_tickets.c */
void http_me(struct http_call *call);
void http_ticket_create(struct http_call *call);
void http_ticket_get(struct http_call *call);
void http_caller_history(struct http_call *call);
/* http_desk.c */
void http_desk_list(struct http_call *call);
void http_departments(struct http_call *call);
void http_desk_dispatch(struct http_call *call);
void http_desk_ruling(struct http_call *call);
void http_desk_close(struct http_call *call);
/* http_stats.c */
void http_stats_live(struct http_call *call);
void http_stats_report(struct http_call *call);
/* http_kb.c */
void http_kb_search(struct http_call *call);
/* http_open311.c: Open311 GeoReport v2 */
void http_open311_services(struct http_call *call);
void http_open311_service(struct http_call *call);
void http_open311_create(struct http_call *call);
void http_open311_requests(struct http_call *call);
void http_open311_request(struct http_call *call);
/* http_static.c: the pages of ui/, for any path outside /api/ and /open311/v2/ */
void http_static_serve(struct http_call *call);
/* http_callbacks.c */
void http_callback_claim(struct http_call *call);
void http_callback_result(struct http_call *call);
/* The accounts' callback holders, at exit. */
void http_callbacks_free(void);

#endif
