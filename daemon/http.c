/*
 * http.c - the HTTP listener, routing and authentication (the answers:
 * http_reply.c).
 *
 * A request's life: evhttp has read it whole (within max_headers and max_body:
 * beyond them it answers 400/413 itself); on_request() tells the API by the path's
 * prefix (/api/v1/ or /open311/v2/, whose last segment names a format: .json or
 * .xml), finds its route (404, 405), decodes a POST body (/api/v1: one JSON object;
 * Open311: form-encoded, kept raw for its handler) (400, 413, 415), and, unless the
 * route is public (every Open311 route is), checks the bearer token against the
 * users table (401) and the route's role (403); then the handler runs. Every database step is a
 * statement of the pool (http_call_pg), so nothing blocks; a request not answered within
 * request_timeout_ms gets 503, and what its handler still had in flight is
 * dropped when it comes back. PostgreSQL down: 503 at once.
 *
 * A call is freed when it has been answered and none of its steps is in flight.
 * evhttp keeps the request whose client went away until it is answered (it then
 * frees it), so an answer is always sent.
 */
#include "http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/listener.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "http_private.h"
#include "http_routes.h"
#include "httpreq.h"
#include "log.h"
#include "open311.h"
#include "pgtext.h"
#include "queries.h"
#include "shown.h"
#include "timer.h"

#define ACCEPT_PAUSE_MS 1000

const int http_statuses[HTTP_STATUS_KINDS] = { 200, 201, 204, 304, 400, 401, 403,
					       404, 405, 409, 413, 415, 503, 0 };

static void call_free(struct call_private *cp)
{
	struct http *http = cp->call.http;
	if (cp->call.free_state && cp->call.state)
		cp->call.free_state(cp->call.state);
	json_decref(cp->call.body);
	if (cp->query_parsed)
		evhttp_clear_headers(&cp->query);
	if (cp->ev_timeout)
		event_free(cp->ev_timeout);
	free(cp->path_copy);
	sodium_memzero(cp->secret, sizeof(cp->secret));
	free(cp);
	http->pending--;
}

void http_call_release(struct call_private *cp)
{
	if (cp->answered && cp->ops == 0)
		call_free(cp);
}

bool http_store_up(const struct http_call *call)
{
	struct store_pg_stats st;
	store_pg_get_stats(call->deps->store, &st);
	return st.connections_ready > 0;
}

const char *http_query_string(struct http_call *call)
{
	struct call_private *cp = priv(call);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(cp->req);
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	return query ? query : "";
}

const char *http_header(struct http_call *call, const char *name, bool *repeated)
{
	const char *value = NULL;
	struct evkeyval *header;
	*repeated = false;
	TAILQ_FOREACH(header, evhttp_request_get_input_headers(priv(call)->req), next)
	{
		if (strcasecmp(header->key, name) != 0)
			continue;
		if (value)
			*repeated = true;
		else
			value = header->value;
	}
	return value;
}

const char *http_query(struct http_call *call, const char *name)
{
	struct call_private *cp = priv(call);
	if (!cp->query_parsed)
		return "";
	const char *v = evhttp_find_header(&cp->query, name);
	return v ? v : "";
}

bool http_body_fields(struct http_call *call, const struct httpreq_field *fields, size_t n)
{
	char err[256];
	if (httpreq_fields(call->body, fields, n, err, sizeof(err)) == 0)
		return true;
	http_error(call, 400, "invalid", "%s", err);
	return false;
}

const char *http_ticket_no(struct http_call *call, int i)
{
	const char *no = i < call->nsegments ? call->segments[i] : "";
	size_t len = strlen(no);
	if (len == 0 || len >= HTTP_TICKET_NO_MAX) {
		http_error(call, 404, "not_found", "no such ticket");
		return NULL;
	}
	return no;
}

/* ---- steps in flight ------------------------------------------------------ */

struct pg_step {
	struct call_private *cp;
	http_pg_fn cb;
};

static void on_pg_step(void *arg, const PGresult *res, const char *error)
{
	struct pg_step *step = arg;
	struct call_private *cp = step->cp;
	http_pg_fn cb = step->cb;
	free(step);
	cp->ops--;
	if (cp->answered) {
		http_call_release(cp); /* timed out meanwhile: the result has no one to go to */
		return;
	}
	cb(&cp->call, res, error);
}

void http_call_pg(struct http_call *call, enum query q, const char *const *values, http_pg_fn cb)
{
	struct call_private *cp = priv(call);
	struct pg_step *step = malloc(sizeof(*step));
	if (!step) {
		http_error(call, 500, "internal", "out of memory");
		return;
	}
	*step = (struct pg_step){ cp, cb };
	cp->ops++;
	store_pg_query(call->deps->store, q, values, on_pg_step, step);
}

bool http_call_open(const struct http_call *call)
{
	return !((const struct call_private *)call)->answered;
}

void http_step_begin(struct http_call *call)
{
	priv(call)->ops++;
}

bool http_step_end(struct http_call *call)
{
	struct call_private *cp = priv(call);
	cp->ops--;
	if (!cp->answered)
		return true;
	http_call_release(cp);
	return false;
}

/* ---- authentication ----------------------------------------------------- */

/* hex of bytea's text form "\x..." into out[32]: 0 or -1. */
static int bytea_hash(const char *text, unsigned char out[crypto_hash_sha256_BYTES])
{
	if (strncmp(text, "\\x", 2) != 0 || strlen(text) != 2 + 2 * crypto_hash_sha256_BYTES)
		return -1;
	size_t len;
	if (sodium_hex2bin(out, crypto_hash_sha256_BYTES, text + 2, 2 * crypto_hash_sha256_BYTES,
			   NULL, &len, NULL) != 0 ||
	    len != crypto_hash_sha256_BYTES)
		return -1;
	return 0;
}

static void on_user(struct http_call *call, const PGresult *res, const char *error)
{
	struct call_private *cp = priv(call);
	if (error) {
		http_unavailable(call, "the accounts could not be read");
		return;
	}
	unsigned char want[crypto_hash_sha256_BYTES], got[crypto_hash_sha256_BYTES];
	bool disabled = true;
	bool ok = PQntuples(res) == 1 &&
		  bytea_hash(PQgetvalue(res, 0, USERS_AUTH_C_TOKEN_HASH), want) == 0 &&
		  pgtext_bool(PQgetvalue(res, 0, USERS_AUTH_C_DISABLED), &disabled) == 0;
	crypto_hash_sha256(got, (const unsigned char *)cp->secret, strlen(cp->secret));
	sodium_memzero(cp->secret, sizeof(cp->secret));
	/* Compared whatever the lookup found, so the answer takes as long either way. */
	bool match = sodium_memcmp(got, want, sizeof(got)) == 0;
	if (!ok || !match || disabled) {
		http_error(call, 401, "unauthenticated",
			   disabled && ok && match ? "this account is disabled"
						   : "the token is not valid");
		return;
	}
	const char *role = PQgetvalue(res, 0, USERS_AUTH_C_ROLE);
	snprintf(call->user, sizeof(call->user), "%s", PQgetvalue(res, 0, USERS_AUTH_C_NAME));
	snprintf(call->actor, sizeof(call->actor), "user:%s", call->user);
	call->role = strcmp(role, "supervisor") == 0 ? HTTP_ROLE_SUPERVISOR : HTTP_ROLE_AGENT;
	if (call->role < cp->route->role) {
		http_error(call, 403, "forbidden", "this needs the %s role", "supervisor");
		return;
	}
	cp->route->handler(call);
}

/* ---- requests ------------------------------------------------------------- */

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct call_private *cp = arg;
	http_error(&cp->call, 503, "timeout", "no answer within request_timeout_ms = %ld",
		   cp->call.cfg->http_request_timeout_ms);
}

/*
 * Splits the path after its API's prefix into segments; false when it is not one of
 * ours. An Open311 path's last segment loses its format (call->format), which it must
 * name.
 */
static bool split_path(struct call_private *cp)
{
	struct http_call *call = &cp->call;
	size_t len = strlen(call->path) + 1;
	if (!(cp->path_copy = malloc(len)))
		return false;
	const char *prefix = call->api == HTTP_API_OPEN311 ? OPEN311_PREFIX : HTTPREQ_PREFIX;
	int n = httpreq_split_path_under(prefix, call->path, cp->path_copy, len, call->segments);
	if (n < 0)
		return false;
	call->nsegments = n;
	if (call->api == HTTP_API_OPEN311) {
		/* the segments point into path_copy, which is ours to cut */
		int format = n > 0 ? open311_cut_format((char *)call->segments[n - 1]) : -1;
		if (format < 0)
			return false;
		call->format = (enum open311_format)format;
	}
	return true;
}

/* The body's media type is want (parameters such as "; charset=utf-8" may follow). */
static bool body_type(struct call_private *cp, const char *want)
{
	const char *type =
		evhttp_find_header(evhttp_request_get_input_headers(cp->req), "Content-Type");
	size_t n = strlen(want);
	return type && strncasecmp(type, want, n) == 0 &&
	       (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

/*
 * The POST body: /api/v1, one JSON object; Open311, form-encoded text kept raw for
 * the handler (lib/form.c reads it). 0, or -1 after answering why not.
 */
static int decode_body(struct call_private *cp)
{
	struct http_call *call = &cp->call;
	struct evbuffer *in = evhttp_request_get_input_buffer(cp->req);
	size_t len = evbuffer_get_length(in);
	if (len > (size_t)call->cfg->http_max_body) {
		http_error(call, 413, "too_large", "the body is longer than max_body = %ld bytes",
			   call->cfg->http_max_body);
		return -1;
	}
	if (call->api == HTTP_API_OPEN311) {
		if (!body_type(cp, "application/x-www-form-urlencoded")) {
			http_error(call, 415, "unsupported_media_type",
				   "the body must be application/x-www-form-urlencoded");
			return -1;
		}
		call->body_raw = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : "";
		call->body_len = len;
		return 0;
	}
	const char *type =
		evhttp_find_header(evhttp_request_get_input_headers(cp->req), "Content-Type");
	if (len > 0 && (!type || strncmp(type, "application/json", 16) != 0)) {
		http_error(call, 415, "unsupported_media_type",
			   "the body must be application/json");
		return -1;
	}
	const char *data = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : "{}";
	call->body_raw = data;
	call->body_len = len ? len : 2;
	json_error_t jerr;
	call->body = json_loadb(data, len ? len : 2, JSON_REJECT_DUPLICATES, &jerr);
	if (!call->body || !json_is_object(call->body)) {
		http_error(call, 400, "invalid", "the body is not a JSON object%s%s",
			   call->body ? "" : ": ", call->body ? "" : jerr.text);
		return -1;
	}
	return 0;
}

/* Whether a raw query string decodes to text: httpreq_query_check with a buffer. */
static bool query_is_text(const char *query)
{
	size_t len = strlen(query) + 1;
	char *decoded = malloc(len);
	bool ok = decoded && httpreq_query_check(query, decoded, len) == 0;
	free(decoded);
	return ok;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct http *http = arg;
	struct call_private *cp = calloc(1, sizeof(*cp));
	if (!cp) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	http->pending++;
	cp->req = req;
	struct http_call *call = &cp->call;
	call->http = http;
	call->deps = &http->deps;
	call->cfg = http->cfg;
	call->method = (int)evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	call->path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!call->path) {
		http_error(call, 400, "invalid", "no path");
		return;
	}
	if (strncmp(call->path, OPEN311_PREFIX, strlen(OPEN311_PREFIX)) == 0)
		call->api = HTTP_API_OPEN311;
	const char *query = evhttp_uri_get_query(uri);
	/* evhttp would hand a /api/v1 handler a value cut at a %00, or bytes that are not
	 * text. Open311's handlers read the query string themselves, as strictly
	 * (lib/form.c), and name the parameter at fault. */
	if (query && call->api == HTTP_API_V1 && !query_is_text(query)) {
		http_error(call, 400, "invalid",
			   "the query string is not valid: a bad %%-escape, a NUL byte or "
			   "invalid UTF-8");
		return;
	}
	if (query) {
		if (evhttp_parse_query_str(query, &cp->query) != 0) {
			http_error(call, 400, "invalid", "the query string cannot be decoded");
			return;
		}
		cp->query_parsed = true;
	}
	if (http->stopping) {
		http_error(call, 503, "unavailable", "the server is stopping");
		return;
	}
	if (call->api != HTTP_API_OPEN311 && strncmp(call->path, "/api/", 5) != 0) {
		http_static_serve(call); /* no account, no database: the pages load anyway */
		return;
	}
	if (!split_path(cp)) {
		if (call->api == HTTP_API_OPEN311)
			http_error(call, 404, "not_found",
				   "no such resource (its name ends in .json or .xml)");
		else
			http_error(call, 404, "not_found",
				   "no such resource (the API is under /api/v1/)");
		return;
	}
	bool path_known = false;
	cp->route = http_route_find(call->api, call->method, call->segments, call->nsegments,
				    &path_known);
	if (!cp->route) {
		if (path_known)
			http_error(call, 405, "method_not_allowed",
				   "this resource does not take that method");
		else
			http_error(call, 404, "not_found", "no such resource");
		return;
	}
	if (call->method == EVHTTP_REQ_POST && decode_body(cp) != 0)
		return;
	cp->ev_timeout = event_new(http->base, -1, 0, on_timeout, cp);
	if (!cp->ev_timeout) {
		http_error(call, 500, "internal", "out of memory");
		return;
	}
	timer_arm(cp->ev_timeout, call->cfg->http_request_timeout_ms);
	if (!cp->route->config_only && !http_store_up(call)) {
		http_unavailable(call, "PostgreSQL is unreachable");
		return;
	}
	if (cp->route->role == HTTP_ROLE_ANY) {
		cp->route->handler(call);
		return;
	}
	const char *auth =
		evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (httpreq_bearer(auth, &cp->user_id, cp->secret, sizeof(cp->secret)) != 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
				  "Bearer");
		http_error(call, 401, "unauthenticated",
			   auth ? "the token is not valid"
				: "an Authorization: Bearer token is needed");
		return;
	}
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)cp->user_id);
	const char *values[USERS_AUTH_NPARAMS] = { [USERS_AUTH_P_USER_ID] = id };
	http_call_pg(call, QUERY_USERS_AUTH, values, on_user);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct http *http = arg;
	if (!http->stopping)
		evconnlistener_enable(http->listener);
}

/*
 * The listener's error callback gets evhttp's argument, not ours: the one HTTP
 * listener of the process is found here.
 */
static struct http *listening;

/* accept() failed: out of descriptors pauses the listener a second instead of spinning. */
static void on_accept_error(struct evconnlistener *listener, void *arg)
{
	(void)arg;
	int err = EVUTIL_SOCKET_ERROR();
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	if (!listening || listening->listener != listener)
		return;
	evconnlistener_disable(listener);
	timer_arm(listening->ev_resume, ACCEPT_PAUSE_MS);
	log_warn("http: accept failed (%s): not accepting for %d ms", strerror(err),
		 ACCEPT_PAUSE_MS);
}

struct http *http_new(struct event_base *base, const struct hotline_config *cfg,
		      const struct http_deps *deps)
{
	struct http *http = calloc(1, sizeof(*http));
	if (!http)
		return NULL;
	http->base = base;
	http->cfg = cfg;
	http->deps = *deps;
	_Static_assert(HTTP_ROUTES_MAX >= 16, "room for the routes");
	if (http_route_count() > HTTP_ROUTES_MAX)
		fatal("http: %zu routes, more than HTTP_ROUTES_MAX", http_route_count());
	if (cfg->http_listen[0] == '\0')
		return http;
	if (sodium_init() < 0) {
		log_error("http: libsodium cannot start");
		free(http);
		return NULL;
	}
	char host[256];
	int port;
	if (config_parse_hostport(cfg->http_listen, host, sizeof(host), &port) != 0) {
		log_error("http: listen '%s' is not host:port", cfg->http_listen);
		free(http);
		return NULL;
	}
	http->evhttp = evhttp_new(base);
	struct evhttp_bound_socket *bound =
		http->evhttp ? evhttp_bind_socket_with_handle(http->evhttp, host, (uint16_t)port)
			     : NULL;
	if (!bound) {
		log_error("http: cannot listen on %s", cfg->http_listen);
		http_free(http);
		return NULL;
	}
	http->listener = evhttp_bound_socket_get_listener(bound);
	http->ev_resume = event_new(base, -1, 0, on_resume, http);
	if (!http->ev_resume) {
		http_free(http);
		return NULL;
	}
	evconnlistener_set_error_cb(http->listener, on_accept_error);
	listening = http;
	evhttp_set_max_headers_size(http->evhttp, cfg->http_max_headers);
	/* Past this evhttp answers 413 itself, before reading the body, with a body
	 * of its own (not JSON); below it decode_body() gives the JSON 413. Up to
	 * four times max_body is read to be able to say so in JSON. */
	evhttp_set_max_body_size(http->evhttp, (ev_ssize_t)cfg->http_max_body * 4 + 1);
	/* evhttp's own timeout (slow headers or body, idle keep-alive) closes the
	 * connection without a word: it runs a second past request_timeout_ms, so that
	 * a request stuck in a handler gets its JSON 503 from on_timeout first. */
	long conn_timeout_ms = cfg->http_request_timeout_ms + 1000;
	struct timeval tv = { conn_timeout_ms / 1000, (conn_timeout_ms % 1000) * 1000 };
	evhttp_set_timeout_tv(http->evhttp, &tv);
	/* Every method reaches on_request, so that a wrong one gets a JSON 405. */
	evhttp_set_allowed_methods(
		http->evhttp, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
				      EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(http->evhttp, on_request, http);
	log_info("listening on %s (http)", cfg->http_listen);
	return http;
}

void http_stop(struct http *http)
{
	http->stopping = true;
	if (http->listener)
		evconnlistener_disable(http->listener);
}

size_t http_pending(const struct http *http)
{
	return http->pending;
}

uint64_t http_answered(const struct http *http, size_t route, size_t status_kind)
{
	return route <= HTTP_ROUTES_MAX && status_kind < HTTP_STATUS_KINDS
		       ? http->answered[route][status_kind]
		       : 0;
}

void http_free(struct http *http)
{
	if (!http)
		return;
	if (listening == http)
		listening = NULL;
	http_callbacks_free();
	if (http->evhttp)
		evhttp_free(http->evhttp);
	if (http->ev_resume)
		event_free(http->ev_resume);
	free(http);
}
