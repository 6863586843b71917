/*
 * http_routes.h - the HTTP API's routes and their handlers.
 *
 * Owns: the table of (method, path pattern, role, handler) that http.c looks a
 * request up in, and the handlers' declarations; docs/http-api.md describes each.
 * Callers: daemon/http.c (lookup), daemon/http_*.c (handlers).
 */
#ifndef HOTLINE_HTTP_ROUTES_H
#define HOTLINE_HTTP_ROUTES_H

#include "http.h"

typedef void (*http_handler_fn)(struct http_call *call);

struct http_route {
	const char *label;			   /* for /metrics: the path, {placeholders} */
	int method;				   /* EVHTTP_REQ_GET or _POST */
	const char *pattern[HTTPREQ_MAX_SEGMENTS]; /* "*" matches any one segment; NULL ends */
	enum http_role role;			   /* the least role that may call it */
	http_handler_fn handler;
};

/*
 * The route for method and path segments; NULL when none, with *path_known
 * telling whether some other method has one (405 rather than 404).
 */
const struct http_route *http_route_find(int method, const char *const *segments, int n,
					 bool *path_known);

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
/* http_static.c: the pages of ui/, for any path outside /api/ */
void http_static_serve(struct http_call *call);
/* http_callbacks.c */
void http_callback_claim(struct http_call *call);
void http_callback_result(struct http_call *call);
/* The accounts' callback holders, at exit. */
void http_callbacks_free(void);

#endif
