/*
 * form.h - application/x-www-form-urlencoded text: a POST body or a query string.
 *
 * Owns: splitting the text into name=value pairs at '&', decoding '+' (a space) and
 * %XX escapes, and refusing what a handler must not have to guess about: a name given
 * twice (a second value never silently wins), an empty name, a bad escape, a NUL
 * byte, text that is not UTF-8, more pairs than FORM_MAX_FIELDS.
 * Never: allocates (the decoded text goes into the caller's buffer), does I/O, or
 * knows what the names mean (daemon/http_open311.c and lib/open311.c do).
 * Callers: daemon/http_open311.c, lib/open311.c, tests/unit/test_form.c,
 * tests/fuzz/fuzz_form.c.
 */
#ifndef HOTLINE_FORM_H
#define HOTLINE_FORM_H

#include <stddef.h>

/* Most pairs in one form: the Open311 POST has 16 names; anything far beyond is not ours. */
#define FORM_MAX_FIELDS 64
/* Bytes of a name quoted in an error message. */
#define FORM_SHOWN_NAME 64

struct form_field {
	const char *name;  /* decoded, NUL-terminated, in the caller's buffer; never "" */
	const char *value; /* decoded, NUL-terminated; "" for "name=" and for "name" */
};

struct form {
	struct form_field fields[FORM_MAX_FIELDS];
	size_t count;
};

/*
 * Decodes text[0..len) (no terminator needed) into buf, which must hold at least
 * len + 1 bytes, and points out's fields into it, in the order given. Empty pairs
 * ("a=1&&b=2", a trailing '&') are skipped; a pair without '=' has the value "".
 * Returns 0, or -1 with a one-line reason in err (the name quoted, escaped and cut
 * when it is the name's fault): more than FORM_MAX_FIELDS pairs, an empty name, a
 * '%' not followed by two hex digits, a NUL byte (raw or %00), a name or value that
 * is not valid UTF-8, a name given twice. out is left empty on -1.
 */
int form_parse(const char *text, size_t len, char *buf, size_t buflen, struct form *out, char *err,
	       size_t errlen) __attribute__((warn_unused_result));

/* The value given for name, or NULL when the form has no such name. */
const char *form_get(const struct form *form, const char *name);

#endif
