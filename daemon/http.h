/*
 * http.h - the agents' and supervisors' HTTP JSON API (/api/v1/...), and the
 * public Open311 GeoReport v2 API (/open311/v2/..., docs/http-api.md "Open311") beside it.
 *
 * Owns: the HTTP listener (libevent's evhttp, on the daemon's one loop), its
 * limits (body and header sizes, a read timeout, a per-request answer timeout),
 * routing a request to its handler by API, method and path, authenticating the
 * person behind an /api/v1 request (a bearer token of an account in PostgreSQL:
 * users, hashed with SHA-256, compared in constant time) and the role a route needs,
 * decoding a JSON body, and writing every answer: /api/v1 as JSON, errors as
 * {"error": {"code": "...", "message": "..."}} with the right status; Open311 in the
 * format its path names (.json, .xml), errors as the spec's [{"code", "description"}]
 * with 403, 404 or 400.
 * Never: blocks (every database step goes through the PostgreSQL pool), answers a
 * request twice, or logs a token or a caller's phone number.
 * Callers: daemon/main.c (lifecycle); the route handlers (daemon/http_*.c).
 */
#ifndef HOTLINE_HTTP_H
#define HOTLINE_HTTP_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>

#include "bus_redis.h"
#include "config.h"
#include "httpreq.h"
#include "open311.h"
#include "store_pg.h"

struct http;
struct transitions;
struct horizon;

struct server;

/* What of the daemon's modules the handlers need (borrowed). */
struct http_deps {
	struct store_pg *store;
	struct transitions *transitions;
	struct bus *bus;
	struct server *server;	 /* told of new TicketUpdates (server_feed_updates) */
	struct horizon *horizon; /* the calendar's warning (GET /api/v1/stats/live) */
};

/*
 * Binds [http] listen (empty: no listener, returns an http that does nothing).
 * NULL (after logging why) when the address cannot be bound.
 */
struct http *http_new(struct event_base *base, const struct hotline_config *cfg,
		      const struct http_deps *deps) __attribute__((warn_unused_result));
void http_free(struct http *http);
/* Stops taking requests (shutdown); requests in progress still get answers. */
void http_stop(struct http *http);
/* Requests being answered now. */
size_t http_pending(const struct http *http);

/*
 * Requests answered, for /metrics: by route (0: no route matched; i + 1: the
 * route http_route_at(i)) and by status (http_statuses[k]; the last kind, 0,
 * counts any other status).
 */
#define HTTP_ROUTES_MAX 32
#define HTTP_STATUS_KINDS 14
extern const int http_statuses[HTTP_STATUS_KINDS];
uint64_t http_answered(const struct http *http, size_t route, size_t status_kind);

/* ---- for the route handlers ---------------------------------------------- */

#define HTTP_TICKET_NO_MAX 32 /* a ticket number and its NUL */

enum http_role { HTTP_ROLE_ANY = 0, HTTP_ROLE_AGENT = 1, HTTP_ROLE_SUPERVISOR = 2 };

/* Which API a path is under: it decides the routes and how errors are written. */
enum http_api { HTTP_API_V1 = 0, HTTP_API_OPEN311 = 1 };

/* One request being answered; owned by http.c, alive until it is answered. */
struct http_call {
	struct http *http;
	const struct http_deps *deps;
	const struct hotline_config *cfg;
	int method;				    /* EVHTTP_REQ_* */
	const char *path;			    /* decoded, without the query */
	enum http_api api;			    /* the API the path is under */
	enum open311_format format;		    /* Open311: the format the path names */
	const char *segments[HTTPREQ_MAX_SEGMENTS]; /* the path after the API's prefix, decoded
						     * (Open311: the last without its format) */
	int nsegments;
	json_t *body;	      /* POST /api/v1: the decoded object; else NULL */
	const char *body_raw; /* POST: the body's bytes (body_len of them) */
	size_t body_len;
	char user[65];	     /* the account's name */
	enum http_role role; /* its role */
	char actor[80];	     /* "user:NAME", for audit rows */
	void *state;	     /* the handler's own (freed by its free_state) */
	void (*free_state)(void *state);
};

/* A query parameter of the call's URI ("" when absent). */
const char *http_query(struct http_call *call, const char *name);
/* The call's whole query string, still encoded ("" when the URI has none). */
const char *http_query_string(struct http_call *call);
/*
 * A request header's value, or NULL when absent; *repeated tells whether it was sent
 * more than once (the caller refuses that: a second value never silently wins).
 */
const char *http_header(struct http_call *call, const char *name, bool *repeated);

/* Answers with status and obj (taking it); frees the call. */
void http_reply(struct http_call *call, int status, json_t *obj);
/* Answers with status and a JSON document already written (a statement's
 * json_build_object); frees the call. */
void http_reply_text(struct http_call *call, int status, const char *json, size_t len);
/*
 * Answers 200 with the JSON document in column 0 of res's one row (a statement
 * that builds its answer); 503 naming what when the statement failed; 404 with
 * missing as the message when no row came back (NULL: 503 then too).
 */
void http_reply_document(struct http_call *call, const PGresult *res, const char *error,
			 const char *what, const char *missing);
/*
 * Answers with status and len bytes of data (NULL: none) of content_type, with
 * ETag etag and Cache-Control: no-cache (a page of ui/; HEAD gets the headers
 * only, with the Content-Length a GET would have); frees the call.
 */
void http_reply_file(struct http_call *call, int status, const char *content_type, const char *etag,
		     const void *data, size_t len);
/*
 * Answers {"error": {"code", "message"}} with status; frees the call. An Open311
 * call gets [{"code": status, "description": message}] in its format instead (code
 * unused), sent with open311_http_status(status).
 */
void http_error(struct http_call *call, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/*
 * Open311: answers status (open311_http_status) with doc (taken; NULL is an error) in
 * the call's format: JSON as it is, XML as open311_xml(doc, kind); frees the call.
 */
void http_reply_open311(struct http_call *call, int status, json_t *doc, enum open311_doc kind);
/* The same from a JSON document already written (a statement's json_agg), len bytes. */
void http_reply_open311_text(struct http_call *call, int status, const char *json, size_t len,
			     enum open311_doc kind);
/* The answer to a store failure (PostgreSQL unreachable or refusing): 503. */
void http_unavailable(struct http_call *call, const char *what);

/* True while PostgreSQL has a ready connection (else handlers answer 503 at once). */
bool http_store_up(const struct http_call *call);

/* The result of a statement run for a call; error non-NULL when it failed. */
typedef void (*http_pg_fn)(struct http_call *call, const PGresult *res, const char *error);

/*
 * Runs statement q for the call (values as store_pg_query). cb runs later,
 * unless the call was answered meanwhile (its timeout): then the result is dropped.
 */
void http_call_pg(struct http_call *call, enum query q, const char *const *values, http_pg_fn cb);

/*
 * For a step that is not a statement (a transition, a Redis command): begin
 * before starting it; its callback calls http_step_end() first and goes on only
 * when that returns true (false: the call was answered meanwhile and is gone).
 */
void http_step_begin(struct http_call *call);
bool http_step_end(struct http_call *call);
/* False once the call was answered (its timeout): a step's result has no one to go to. */
bool http_call_open(const struct http_call *call);

/* Takes the body's fields by the table; false after answering 400. */
bool http_body_fields(struct http_call *call, const struct httpreq_field *fields, size_t n);

/* Segment i of the path as a ticket number: NULL after answering 404. */
const char *http_ticket_no(struct http_call *call, int i);

#endif
