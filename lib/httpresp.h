/*
 * httpresp.h - reading an HTTP/1.1 response as its bytes arrive: the status
 * line, the headers that frame it, and the body, framed by Content-Length, by
 * the chunked transfer coding, or by the end of the connection.
 *
 * Owns: the one parser of answers for the command-line clients of the HTTP
 * API (tools/http_client.c), fed whatever a read() returned, in any split;
 * interim 1xx answers skipped; a bounded head and a bounded body.
 * Never: does I/O, keeps a pointer into the caller's bytes, or lets a body
 * grow past the caller's limit (too large is an error, not a truncation).
 * Callers: tools/http_client.c, tests/unit/test_httpresp.c,
 * tests/fuzz/fuzz_httpresp.c.
 */
#ifndef HOTLINE_HTTPRESP_H
#define HOTLINE_HTTPRESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTPRESP_MAX_HEAD 65536 /* bytes of the status line and headers together */
#define HTTPRESP_MAX_LINE 4096	/* bytes of a chunk-size line or a trailer line */

enum httpresp_result {
	HTTPRESP_MORE = 0,  /* everything given was used: feed more */
	HTTPRESP_DONE = 1,  /* the response is complete */
	HTTPRESP_ERROR = -1 /* malformed or too large; the reason is in err */
};

/* A response being read; every member is the parser's, read the results only once DONE. */
struct httpresp {
	/* results */
	int status;		/* 200 */
	char reason[64];	/* "OK", cut to fit */
	char content_type[128]; /* "" when absent; cut to fit */
	bool close;		/* the server closes after it (Connection: close, HTTP/1.0) */
	char *body;		/* NUL-terminated (not counted in body_len), malloc'd */
	size_t body_len;

	/* parse state */
	int state;
	size_t max_body;
	bool head_request;
	bool http10;
	bool chunked;
	bool has_length;
	uint64_t length;    /* Content-Length, or the current chunk's size */
	uint64_t remaining; /* body bytes (or chunk bytes) still to come */
	size_t head_bytes;
	size_t body_cap;
	char *line; /* the line being read */
	size_t line_len, line_cap;
};

/*
 * Prepares r to read one response. max_body: the largest body accepted;
 * head_request: the request was HEAD (no body follows whatever the headers
 * say). Free with httpresp_free().
 */
void httpresp_init(struct httpresp *r, size_t max_body, bool head_request);

/*
 * Feeds the next len bytes. Returns MORE (all used), DONE (the response ended
 * after *used bytes; what follows belongs to the next response), or ERROR
 * with a one-line reason in err. After DONE or ERROR do not feed again.
 * Out of memory is an ERROR too.
 */
enum httpresp_result httpresp_feed(struct httpresp *r, const char *data, size_t len, size_t *used,
				   char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * The connection ended. DONE when that completes the response (a body framed
 * by the end of the connection), else ERROR naming what was cut short.
 */
enum httpresp_result httpresp_eof(struct httpresp *r, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Frees what r holds (body too: take it first by setting r->body = NULL). */
void httpresp_free(struct httpresp *r);

#endif
