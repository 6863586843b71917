/*
 * http_client.h - a small blocking HTTP/1.1 client for the command-line tools
 * that drive hotlined's HTTP API (hotline-agent's commands).
 *
 * Owns: one request on one connection of its own: connect (the address from
 * tools/cli_addr.c), send the request with its Content-Length and
 * "Connection: close", read the answer through lib/httpresp.c (Content-Length,
 * chunked, or to the end of the connection; at most max_body bytes), all
 * within one deadline; and the two pieces of text a request is built from:
 * "HOST:PORT" and percent-encoded path segments and query values.
 * Never: keeps a connection, follows a redirect, writes the token anywhere but
 * the request, or raises SIGPIPE (a server that closes early is an error
 * return).
 * Callers: tools/agent_http.c, tests/unit/test_http_client.c.
 */
#ifndef HOTLINE_HTTP_CLIENT_H
#define HOTLINE_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "httpresp.h"

#define HTTP_CLIENT_MAX_BODY (16u * 1024 * 1024) /* the default bound of an answer */

/* One request. */
struct http_client_request {
	const char *host;
	int port;
	const char *method; /* "GET", "POST" */
	const char *target; /* "/api/v1/tickets/20261207-00000042", already encoded */
	const char *bearer; /* the token for "Authorization: Bearer ..."; NULL: none */
	const char *body;   /* NULL: no body; else body_len bytes of JSON */
	size_t body_len;
	int timeout_ms;	 /* for everything: connect, send, the whole answer */
	size_t max_body; /* bytes of the answer's body at most */
};

/*
 * Sends rq and reads its answer into resp (initialised here; the caller frees
 * it with httpresp_free() whatever the result). Returns 0 with the answer, or
 * -1 with a one-line reason in err (cannot resolve or connect, timed out,
 * connection closed, a malformed or too large answer).
 */
int http_client_send(const struct http_client_request *rq, struct httpresp *resp, char *err,
		     size_t errlen) __attribute__((warn_unused_result));

/*
 * "HOST:PORT", "[IPV6]:PORT" or "HOST" (then default_port) into host (at most
 * hostlen bytes with the NUL) and *port (1..65535). Returns 0, or -1 when
 * the text is not one of these.
 */
int http_client_parse_hostport(const char *text, int default_port, char *host, size_t hostlen,
			       int *port) __attribute__((warn_unused_result));

/*
 * s with every byte outside RFC 3986's unreserved set (letters, digits,
 * "-._~") written as %XX, for a path segment or a query value. Returns a
 * malloc'd string (the caller frees it), or NULL when out of memory.
 */
char *http_client_escape(const char *s) __attribute__((warn_unused_result));

#endif
