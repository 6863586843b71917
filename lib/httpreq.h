/*
 * httpreq.h - the pure parts of reading an HTTP API request: the path, the
 * bearer token, and the fields of a JSON body.
 *
 * Owns: splitting a path under /api/v1/ (or /open311/v2/) into percent-decoded
 * segments (no NUL, valid UTF-8, bounded), the one reading of a %XX escape's digits,
 * reading "Authorization: Bearer hl1.ID.SECRET", and taking a body object's fields by
 * a table (type, required, byte limit, unknown keys refused) so every handler checks
 * its input the same way.
 * Never: allocates beyond what the caller's buffers hold, or does I/O.
 * Callers: daemon/http.c and its handlers, lib/form.c (the digits),
 * tests/unit/test_httpreq.c, tests/fuzz/fuzz_httpreq.c.
 */
#ifndef HOTLINE_HTTPREQ_H
#define HOTLINE_HTTPREQ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTPREQ_PREFIX "/api/v1/"
#define HTTPREQ_MAX_SEGMENTS 8
#define HTTPREQ_TOKEN_PREFIX "hl1."
#define HTTPREQ_SECRET_MAX 128

/*
 * Splits the raw (percent-encoded) path after HTTPREQ_PREFIX into at most
 * HTTPREQ_MAX_SEGMENTS decoded segments, written into buf (buflen bytes, which
 * must be at least strlen(path) + 1) and pointed to by segs. Empty segments
 * ("a//b", a trailing '/') are skipped. Returns the number of segments, or -1
 * when the path is not under the prefix, has too many segments, or a segment
 * decodes to a NUL, a '/' (%2F), invalid UTF-8 or a bad %-escape.
 */
int httpreq_split_path(const char *path, char *buf, size_t buflen,
		       const char *segs[HTTPREQ_MAX_SEGMENTS]);
/* The same under another prefix (ending in '/'): the Open311 API's "/open311/v2/". */
int httpreq_split_path_under(const char *prefix, const char *path, char *buf, size_t buflen,
			     const char *segs[HTTPREQ_MAX_SEGMENTS]);

/* A %XX escape's digit: 0-15 for 0-9, a-f, A-F; -1 for anything else. */
int httpreq_hex_digit(char c);

/*
 * Reads "Bearer hl1.ID.SECRET" (ID a positive decimal, SECRET 1..128 bytes of
 * base64url). Returns 0 with *user_id and secret (secret_len >= 129) set, or -1.
 */
int httpreq_bearer(const char *header, int64_t *user_id, char *secret, size_t secret_len);

enum httpreq_type { HTTPREQ_STRING, HTTPREQ_BOOL, HTTPREQ_INT };

/* One field a body may hold. */
struct httpreq_field {
	const char *name;
	enum httpreq_type type;
	bool required;	  /* absent or null: refused */
	size_t max;	  /* STRING: at most this many bytes (0: no limit) */
	bool not_blank;	  /* STRING: not empty and not only white space */
	const char **str; /* STRING: the value (borrowed from the object); NULL if absent */
	bool *flag;	  /* BOOL */
	int64_t *num;	  /* INT */
};

/* A text field (not blank when given) of at most max bytes, into *ptr. */
#define HTTPREQ_TEXT(field_name, is_required, max_bytes, ptr)                            \
	{                                                                                \
		.name = (field_name), .type = HTTPREQ_STRING, .required = (is_required), \
		.max = (max_bytes), .not_blank = true, .str = (ptr)                      \
	}

/*
 * Takes the fields of obj by the table: a key not in it, a wrong type, a
 * missing required field, a string too long or blank where it may not be is
 * refused. A null value counts as absent. Absent fields leave their outputs
 * untouched. Returns 0, or -1 with a one-line reason naming the key in err.
 */
int httpreq_fields(json_t *obj, const struct httpreq_field *fields, size_t nfields, char *err,
		   size_t errlen) __attribute__((warn_unused_result));

/* A query parameter as a bounded integer: 0 (with *out; def when s is "" ), or -1. */
int httpreq_int_param(const char *s, int64_t def, int64_t min, int64_t max, int64_t *out);

#endif
