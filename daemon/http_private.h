/*
 * http_private.h - what http.c (requests, routing, authentication) and
 * http_reply.c (the answers) share: the listener's state and a call's private
 * part. Not for handlers: they see struct http_call (http.h) only.
 */
#ifndef HOTLINE_HTTP_PRIVATE_H
#define HOTLINE_HTTP_PRIVATE_H

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "http.h"
#include "http_routes.h"
#include "httpreq.h"

struct http {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *ev_resume; /* re-enables the listener after running out of fds */
	const struct hotline_config *cfg;
	struct http_deps deps;
	struct evhttp *evhttp;
	bool stopping;
	size_t pending;
	uint64_t answered[HTTP_ROUTES_MAX + 1][HTTP_STATUS_KINDS];
};

/* What http.c keeps besides the handlers' view of a call. */
struct call_private {
	struct http_call call; /* first: a struct http_call * is a struct call_private * */
	struct evhttp_request *req;
	struct evkeyvalq query;
	bool query_parsed;
	char *path_copy;
	const struct http_route *route;
	struct event *ev_timeout;
	int ops;       /* steps in flight */
	bool answered; /* the reply went out */
	char secret[HTTPREQ_SECRET_MAX + 1];
	int64_t user_id;
};

static inline struct call_private *priv(struct http_call *call)
{
	return (struct call_private *)call;
}

/* Frees cp once it is answered and none of its steps is in flight. */
void http_call_release(struct call_private *cp);

#endif
