/*
 * httpresp.c - the HTTP/1.1 response reader behind httpresp.h.
 *
 * Lines (the status line, headers, chunk sizes, trailers) are gathered byte by
 * byte into r->line, bounded; body bytes are copied in runs. So a response is
 * read in time linear in its size however the bytes are split, and a header
 * cut between two reads is never seen half.
 */
#include "httpresp.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum state {
	ST_STATUS,     /* the status line */
	ST_HEADER,     /* a header line, or the empty line ending them */
	ST_LENGTH,     /* body bytes framed by Content-Length */
	ST_CHUNK_SIZE, /* a chunk-size line */
	ST_CHUNK_DATA, /* a chunk's bytes */
	ST_CHUNK_END,  /* the CRLF after a chunk's bytes */
	ST_TRAILER,    /* a trailer line, or the empty line ending the response */
	ST_CLOSE,      /* body bytes up to the end of the connection */
	ST_DONE,
	ST_FAILED
};

static enum httpresp_result fail(struct httpresp *r, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum httpresp_result fail(struct httpresp *r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	r->state = ST_FAILED;
	return HTTPRESP_ERROR;
}

void httpresp_init(struct httpresp *r, size_t max_body, bool head_request)
{
	memset(r, 0, sizeof(*r));
	r->state = ST_STATUS;
	r->max_body = max_body;
	r->head_request = head_request;
}

void httpresp_free(struct httpresp *r)
{
	free(r->body);
	free(r->line);
	r->body = NULL;
	r->line = NULL;
	r->body_len = r->body_cap = r->line_len = r->line_cap = 0;
}

/* Room for n more body bytes and the NUL; false when out of memory. */
static bool body_reserve(struct httpresp *r, size_t n)
{
	size_t need = r->body_len + n + 1;
	if (need <= r->body_cap)
		return true;
	size_t cap = r->body_cap ? r->body_cap : 1024;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > r->max_body + 1)
		cap = need; /* never more than the limit allows */
	char *body = realloc(r->body, cap);
	if (body == NULL)
		return false;
	r->body = body;
	r->body_cap = cap;
	return true;
}

/* The body so far is the response's: NUL-terminate it. */
static enum httpresp_result done(struct httpresp *r, char *err, size_t errlen)
{
	if (!body_reserve(r, 0))
		return fail(r, err, errlen, "out of memory");
	r->body[r->body_len] = '\0';
	r->state = ST_DONE;
	return HTTPRESP_DONE;
}

/* A header's value without the blanks around it, in place. */
static char *header_value(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* True when the comma-separated list holds token (case-insensitive). */
static bool list_has(const char *list, const char *token)
{
	size_t tl = strlen(token);
	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *start = p;
		while (*p && *p != ',')
			p++;
		const char *end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - start) == tl && strncasecmp(start, token, tl) == 0)
			return true;
	}
	return false;
}

/* True when the last coding of a Transfer-Encoding list is chunked. */
static bool last_is_chunked(const char *list)
{
	const char *last = strrchr(list, ',');
	last = last ? last + 1 : list;
	while (*last == ' ' || *last == '\t')
		last++;
	size_t n = strlen(last);
	while (n > 0 && (last[n - 1] == ' ' || last[n - 1] == '\t'))
		n--;
	return n == 7 && strncasecmp(last, "chunked", 7) == 0;
}

static enum httpresp_result status_line(struct httpresp *r, char *line, char *err, size_t errlen)
{
	/* HTTP/1.x SP 3DIGIT SP reason (the reason may be empty, the SP before it missing) */
	if (strncmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
	    line[8] != ' ' || !isdigit((unsigned char)line[9]) ||
	    !isdigit((unsigned char)line[10]) || !isdigit((unsigned char)line[11]) ||
	    (line[12] != ' ' && line[12] != '\0'))
		return fail(r, err, errlen, "not an HTTP/1.x status line");
	r->http10 = line[7] == '0';
	r->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	if (r->status < 100)
		return fail(r, err, errlen, "status %d out of range", r->status);
	snprintf(r->reason, sizeof(r->reason), "%s", line[12] ? line + 13 : "");
	r->close = r->http10;
	r->chunked = r->has_length = false;
	r->content_type[0] = '\0';
	r->state = ST_HEADER;
	return HTTPRESP_MORE;
}

static enum httpresp_result header_line(struct httpresp *r, char *line, char *err, size_t errlen)
{
	if (line[0] == ' ' || line[0] == '\t')
		return fail(r, err, errlen, "folded header line");
	char *colon = strchr(line, ':');
	if (colon == NULL || colon == line)
		return fail(r, err, errlen, "header line without a name");
	for (char *p = line; p < colon; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return fail(r, err, errlen, "bad header name");
	*colon = '\0';
	char *value = header_value(colon + 1);
	if (strcasecmp(line, "Content-Length") == 0) {
		uint64_t n = 0;
		if (*value == '\0')
			return fail(r, err, errlen, "empty Content-Length");
		for (const char *p = value; *p; p++) {
			if (!isdigit((unsigned char)*p) || n > (UINT64_MAX - 9) / 10)
				return fail(r, err, errlen, "bad Content-Length");
			n = n * 10 + (uint64_t)(*p - '0');
		}
		if (r->has_length && r->length != n)
			return fail(r, err, errlen, "two different Content-Lengths");
		r->has_length = true;
		r->length = n;
	} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
		r->chunked = last_is_chunked(value);
		if (!r->chunked)
			r->close =
				true; /* another coding last: the body ends with the connection */
	} else if (strcasecmp(line, "Connection") == 0) {
		if (list_has(value, "close"))
			r->close = true;
		else if (list_has(value, "keep-alive") && r->http10)
			r->close = false;
	} else if (strcasecmp(line, "Content-Type") == 0) {
		snprintf(r->content_type, sizeof(r->content_type), "%s", value);
	}
	return HTTPRESP_MORE;
}

/* The empty line after the headers: decides how the body is framed. */
static enum httpresp_result headers_end(struct httpresp *r, char *err, size_t errlen)
{
	if (r->status < 200) {
		if (r->status == 101)
			return fail(r, err, errlen, "the server switched protocols");
		r->state = ST_STATUS; /* an interim answer (100 Continue): the real one follows */
		return HTTPRESP_MORE;
	}
	if (r->head_request || r->status == 204 || r->status == 304)
		return done(r, err, errlen);
	if (r->chunked) {
		r->state = ST_CHUNK_SIZE;
		return HTTPRESP_MORE;
	}
	if (r->has_length) {
		if (r->length > r->max_body)
			return fail(r, err, errlen, "an answer of %llu bytes is larger than %zu",
				    (unsigned long long)r->length, r->max_body);
		if (r->length == 0)
			return done(r, err, errlen);
		if (!body_reserve(r, (size_t)r->length))
			return fail(r, err, errlen, "out of memory");
		r->remaining = r->length;
		r->state = ST_LENGTH;
		return HTTPRESP_MORE;
	}
	r->close = true;
	r->state = ST_CLOSE;
	return HTTPRESP_MORE;
}

static enum httpresp_result chunk_size_line(struct httpresp *r, char *line, char *err,
					    size_t errlen)
{
	uint64_t n = 0;
	const char *p = line;
	if (!isxdigit((unsigned char)*p))
		return fail(r, err, errlen, "bad chunk size");
	for (; isxdigit((unsigned char)*p); p++) {
		if (n > (UINT64_MAX >> 4))
			return fail(r, err, errlen, "bad chunk size");
		int digit = isdigit((unsigned char)*p) ? *p - '0'
						       : (tolower((unsigned char)*p) - 'a' + 10);
		n = (n << 4) | (uint64_t)digit;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0' && *p != ';')
		return fail(r, err, errlen, "bad chunk size");
	if (n == 0) {
		r->state = ST_TRAILER;
		return HTTPRESP_MORE;
	}
	if (n > r->max_body - r->body_len)
		return fail(r, err, errlen, "the answer is larger than %zu bytes", r->max_body);
	if (!body_reserve(r, (size_t)n))
		return fail(r, err, errlen, "out of memory");
	r->remaining = n;
	r->state = ST_CHUNK_DATA;
	return HTTPRESP_MORE;
}

/* One complete line (CR LF or LF stripped) in the state that reads lines. */
static enum httpresp_result line_done(struct httpresp *r, char *err, size_t errlen)
{
	char *line = r->line;
	switch (r->state) {
	case ST_STATUS:
		if (line[0] == '\0' && r->status == 0)
			return HTTPRESP_MORE; /* a stray empty line before the response */
		return status_line(r, line, err, errlen);
	case ST_HEADER:
		return line[0] == '\0' ? headers_end(r, err, errlen)
				       : header_line(r, line, err, errlen);
	case ST_CHUNK_SIZE:
		return chunk_size_line(r, line, err, errlen);
	case ST_CHUNK_END:
		if (line[0] != '\0')
			return fail(r, err, errlen, "chunk longer than its size");
		r->state = ST_CHUNK_SIZE;
		return HTTPRESP_MORE;
	case ST_TRAILER:
		return line[0] == '\0' ? done(r, err, errlen) : HTTPRESP_MORE;
	default:
		return fail(r, err, errlen, "parser state %d reads no line", r->state);
	}
}

/* Adds byte c to the line being read; ERROR when the line or the head is too long. */
static enum httpresp_result line_byte(struct httpresp *r, char c, char *err, size_t errlen)
{
	bool head = r->state == ST_STATUS || r->state == ST_HEADER;
	if (head && ++r->head_bytes > HTTPRESP_MAX_HEAD)
		return fail(r, err, errlen, "status line and headers longer than %d bytes",
			    HTTPRESP_MAX_HEAD);
	if (!head && r->line_len >= HTTPRESP_MAX_LINE)
		return fail(r, err, errlen, "chunk line longer than %d bytes", HTTPRESP_MAX_LINE);
	if (c == '\0')
		return fail(r, err, errlen, "NUL byte in the head");
	if (r->line_len + 2 > r->line_cap) {
		size_t cap = r->line_cap ? r->line_cap * 2 : 256;
		char *line = realloc(r->line, cap);
		if (line == NULL)
			return fail(r, err, errlen, "out of memory");
		r->line = line;
		r->line_cap = cap;
	}
	if (c != '\n') {
		r->line[r->line_len++] = c;
		return HTTPRESP_MORE;
	}
	if (r->line_len > 0 && r->line[r->line_len - 1] == '\r')
		r->line_len--;
	r->line[r->line_len] = '\0';
	r->line_len = 0;
	return line_done(r, err, errlen);
}

enum httpresp_result httpresp_feed(struct httpresp *r, const char *data, size_t len, size_t *used,
				   char *err, size_t errlen)
{
	size_t i = 0;
	enum httpresp_result rc = HTTPRESP_MORE;
	if (r->state == ST_DONE || r->state == ST_FAILED)
		rc = fail(r, err, errlen, "fed after the end of the response");
	while (rc == HTTPRESP_MORE && i < len) {
		size_t n = len - i;
		switch (r->state) {
		case ST_LENGTH:
		case ST_CHUNK_DATA:
			if (n > r->remaining)
				n = (size_t)r->remaining;
			memcpy(r->body + r->body_len, data + i, n);
			r->body_len += n;
			r->remaining -= n;
			i += n;
			if (r->remaining == 0)
				rc = r->state == ST_LENGTH
					     ? done(r, err, errlen)
					     : (r->state = ST_CHUNK_END, HTTPRESP_MORE);
			break;
		case ST_CLOSE:
			if (n > r->max_body - r->body_len) {
				rc = fail(r, err, errlen, "the answer is larger than %zu bytes",
					  r->max_body);
				break;
			}
			if (!body_reserve(r, n)) {
				rc = fail(r, err, errlen, "out of memory");
				break;
			}
			memcpy(r->body + r->body_len, data + i, n);
			r->body_len += n;
			i += n;
			break;
		default:
			rc = line_byte(r, data[i++], err, errlen);
			break;
		}
	}
	*used = i;
	return rc;
}

enum httpresp_result httpresp_eof(struct httpresp *r, char *err, size_t errlen)
{
	switch (r->state) {
	case ST_DONE:
		return HTTPRESP_DONE;
	case ST_CLOSE:
		return done(r, err, errlen);
	case ST_STATUS:
		if (r->status == 0 && r->line_len == 0)
			return fail(r, err, errlen, "the connection closed without an answer");
		return fail(r, err, errlen, "the connection closed inside the answer's headers");
	case ST_HEADER:
		return fail(r, err, errlen, "the connection closed inside the answer's headers");
	case ST_FAILED:
		return HTTPRESP_ERROR;
	default:
		return fail(r, err, errlen,
			    "the connection closed after %zu bytes of the answer's body",
			    r->body_len);
	}
}
