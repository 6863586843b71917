/*
 * agent_api.h - one call of hotlined's HTTP API as hotline-agent makes it:
 * where to, as whom, and what comes back.
 *
 * Owns: the session (host, port, the token, --json, the timeout); the token,
 * from --token-file (a file only its owner may read, as ssh wants of a
 * private key) or $HOTLINE_TOKEN, loaded on the first request; the request's
 * path, its parts percent-encoded; the answer: a 2xx JSON object, a 204, or
 * an API error printed as "hotline-agent: STATUS CODE: MESSAGE" with the exit
 * status it means; printing an answer as the API's JSON on one line.
 * Never: prints the token, or text from the server with its control
 * characters (they could drive the terminal).
 * Callers: tools/agent_http.c.
 */
#ifndef HOTLINE_AGENT_API_H
#define HOTLINE_AGENT_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "httpresp.h"

#define AGENT_TOKEN_ENV "HOTLINE_TOKEN"
#define AGENT_DEFAULT_PORT 12346
#define AGENT_DEFAULT_TIMEOUT_MS 20000 /* above the daemon's request_timeout_ms (10 s) */

/* Where to, as whom, how to print: the options every command takes. */
struct agent_session {
	char host[256];
	int port;
	const char *token_file; /* NULL: $HOTLINE_TOKEN */
	bool json;
	int timeout_ms;
	char *token; /* loaded by the first request; malloc'd */
};

/* An answer of the API. */
struct agent_answer {
	struct httpresp resp;
	json_t *doc; /* the JSON object; NULL for 204 */
};

/*
 * Sends method target, with body (consumed) when not NULL, as the session's
 * account. Returns 0 with a 2xx answer in *ans (doc a JSON object, or NULL
 * for a 204), or an exit status (enum agent_exit) after printing why not on
 * stderr: no usable token, the server unreachable or silent, an API error.
 * Free *ans with agent_answer_free() either way.
 */
int agent_request(struct agent_session *s, const char *method, const char *target, json_t *body,
		  struct agent_answer *ans) __attribute__((warn_unused_result));

void agent_answer_free(struct agent_answer *ans);

/* The answer's document as it came, on one line (its line breaks dropped), on stdout. */
void agent_print_json(const struct httpresp *resp);

/*
 * A whole command: path (malloc'd, consumed; see AGENT_PATH) with query (NULL,
 * or name, value pairs, NULL-terminated, at most 8; pairs whose value is NULL
 * are left out; values percent-encoded) sent with agent_request(), then the
 * document printed with print (readable) or agent_print_json() (--json).
 * Returns the exit status; a 204 where a document was due is a failure.
 */
int agent_call(struct agent_session *s, const char *method, char *path, const char *const *query,
	       json_t *body, void (*print)(FILE *out, json_t *doc));

/*
 * "/api/v1/" and the parts joined, the odd ones (parts[1], parts[3], ...:
 * ticket numbers, phones) percent-encoded. malloc'd; exits 1 when out of memory.
 */
char *agent_path(const char *const *parts, size_t n);
#define AGENT_PATH(...)                                  \
	agent_path((const char *const[]){ __VA_ARGS__ }, \
		   sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *))

#endif
