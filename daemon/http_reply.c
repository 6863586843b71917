/*
 * http_reply.c - the answers of the HTTP listener: JSON, Open311 (JSON or XML),
 * the static files' bytes, and errors, each counted by route and status.
 *
 * Owns: the status line and the headers of every answer (no-store, or the static
 * files' caching and content-security headers; "Connection: close" while
 * stopping), marking a call answered exactly once (a second answer is dropped),
 * and releasing the call afterwards (http_call_release).
 * Never: reads a request or decides a route (http.c) or what to answer (the handlers).
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_private.h"
#include "open311.h"

static const char *status_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 503:
		return "Service Unavailable";
	default:
		return status < 500 ? "Client Error" : "Server Error";
	}
}

#define TYPE_JSON "application/json; charset=utf-8"
#define TYPE_XML "text/xml; charset=utf-8"

/* Marks cp answered and counts its status; false when it was answered already. */
static bool begin_answer(struct call_private *cp, int status)
{
	struct http *http = cp->call.http;
	if (cp->answered)
		return false;
	cp->answered = true;
	if (cp->ev_timeout)
		event_del(cp->ev_timeout);
	size_t kind = 0;
	while (http_statuses[kind] != 0 && http_statuses[kind] != status)
		kind++;
	size_t route = cp->route ? (size_t)(cp->route - http_route_at(0)) + 1 : 0;
	http->answered[route <= HTTP_ROUTES_MAX ? route : 0][kind]++;
	return true;
}

/* Sends text (a document of type, len bytes; NULL: no body) as the answer. */
static void send_typed(struct call_private *cp, int status, const char *type, const char *text,
		       size_t len)
{
	struct http *http = cp->call.http;
	if (!begin_answer(cp, status))
		return;
	struct evbuffer *buf = evbuffer_new();
	if (buf && text && status != 204) {
		evbuffer_add(buf, text, len);
		evbuffer_add(buf, "\n", 1);
	}
	struct evkeyvalq *headers = evhttp_request_get_output_headers(cp->req);
	if (status != 204) {
		evhttp_add_header(headers, "Content-Type", type);
	}
	evhttp_add_header(headers, "Cache-Control", "no-store");
	if (http->stopping)
		evhttp_add_header(headers, "Connection", "close");
	evhttp_send_reply(cp->req, status, status_reason(status), status == 204 ? NULL : buf);
	if (buf)
		evbuffer_free(buf);
}

static void send_text(struct call_private *cp, int status, const char *text, size_t len)
{
	send_typed(cp, status, TYPE_JSON, text, len);
}

static void send_json(struct call_private *cp, int status, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	send_text(cp, status, text, text ? strlen(text) : 0);
	free(text);
}

void http_reply_text(struct http_call *call, int status, const char *json, size_t len)
{
	struct call_private *cp = priv(call);
	send_text(cp, status, json, len);
	http_call_release(cp);
}

/* The last resort of an Open311 answer that could not be written. */
static const char open311_broken[] =
	"[{\"code\":500,\"description\":\"the answer could not be written\"}]";

/* Sends doc (taken) as an Open311 answer of status in the call's format. */
static void send_open311(struct call_private *cp, int status, json_t *doc, enum open311_doc kind)
{
	int sent = open311_http_status(status);
	char *text = NULL;
	size_t len = 0;
	if (doc && cp->call.format == OPEN311_XML) {
		text = open311_xml(doc, kind, &len);
	} else if (doc) {
		text = json_dumps(doc, JSON_COMPACT);
		len = text ? strlen(text) : 0;
	}
	json_decref(doc);
	if (text)
		send_typed(cp, sent, cp->call.format == OPEN311_XML ? TYPE_XML : TYPE_JSON, text,
			   len);
	else
		send_typed(cp, 400, TYPE_JSON, open311_broken, sizeof(open311_broken) - 1);
	free(text);
}

void http_reply_open311(struct http_call *call, int status, json_t *doc, enum open311_doc kind)
{
	struct call_private *cp = priv(call);
	send_open311(cp, status, doc, kind);
	http_call_release(cp);
}

void http_reply_open311_text(struct http_call *call, int status, const char *json, size_t len,
			     enum open311_doc kind)
{
	struct call_private *cp = priv(call);
	if (call->format == OPEN311_JSON) {
		send_typed(cp, open311_http_status(status), TYPE_JSON, json, len);
	} else {
		json_t *doc = json_loadb(json, len, 0, NULL);
		send_open311(cp, doc ? status : 500, doc, kind);
	}
	http_call_release(cp);
}

void http_reply_file(struct http_call *call, int status, const char *content_type, const char *etag,
		     const void *data, size_t len)
{
	struct call_private *cp = priv(call);
	if (begin_answer(cp, status)) {
		struct evkeyvalq *headers = evhttp_request_get_output_headers(cp->req);
		evhttp_add_header(headers, "Content-Type", content_type);
		evhttp_add_header(headers, "Cache-Control", "no-cache");
		evhttp_add_header(headers, "ETag", etag);
		evhttp_add_header(headers, "X-Content-Type-Options", "nosniff");
		/* The pages load only their own scripts and styles and talk only to us. */
		evhttp_add_header(headers, "Content-Security-Policy",
				  "default-src 'self'; img-src 'self' data:; "
				  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
		if (call->http->stopping)
			evhttp_add_header(headers, "Connection", "close");
		struct evbuffer *buf = NULL;
		if (status == 200 && call->method == EVHTTP_REQ_HEAD) {
			char length[24];
			snprintf(length, sizeof(length), "%zu", len);
			evhttp_add_header(headers, "Content-Length", length);
		} else if (data && (buf = evbuffer_new())) {
			evbuffer_add_reference(buf, data, len, NULL, NULL);
		}
		evhttp_send_reply(cp->req, status, status_reason(status), buf);
		if (buf)
			evbuffer_free(buf);
	}
	http_call_release(cp);
}

void http_reply(struct http_call *call, int status, json_t *obj)
{
	struct call_private *cp = priv(call);
	send_json(cp, status, obj);
	http_call_release(cp);
}

void http_reply_document(struct http_call *call, const PGresult *res, const char *error,
			 const char *what, const char *missing)
{
	if (!error && PQntuples(res) == 0 && missing) {
		http_error(call, 404, "not_found", "%s", missing);
		return;
	}
	if (error || PQntuples(res) != 1 || PQnfields(res) < 1) {
		http_unavailable(call, what);
		return;
	}
	http_reply_text(call, 200, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
}

static json_t *error_object(const char *code, const char *message)
{
	return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
}

void http_error(struct http_call *call, int status, const char *code, const char *fmt, ...)
{
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (call->api == HTTP_API_OPEN311) {
		http_reply_open311(call, status,
				   json_pack("[{s:i,s:s}]", "code", status, "description", message),
				   OPEN311_DOC_ERRORS);
		return;
	}
	http_reply(call, status, error_object(code, message));
}

void http_unavailable(struct http_call *call, const char *what)
{
	http_error(call, 503, "unavailable", "%s; try again later", what);
}
