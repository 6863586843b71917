/*
 * form.c - application/x-www-form-urlencoded text (form.h).
 *
 * One pass over the text: each pair's name and value are decoded into the caller's
 * buffer right after the previous ones. A decoded part is never longer than its
 * encoded form, and the '=' and '&' that end them make room for their NULs, so
 * len + 1 bytes always suffice (the last pair has no '&' after it: the + 1).
 */
#include "form.h"

#include <string.h>

#include "errbuf.h"
#include "httpreq.h"
#include "shown.h"
#include "utf8.h"

/* What went wrong decoding a part: the form's fault, named in err. */
enum decode_fault { DECODE_OK, DECODE_ESCAPE, DECODE_NUL, DECODE_UTF8 };

/* Decodes s[0..len) into out (NUL-terminated); the decoded length in *outlen. */
static enum decode_fault decode(const char *s, size_t len, char *out, size_t *outlen)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 1 < len ? httpreq_hex_digit(s[i + 1]) : -1;
			int lo = i + 2 < len ? httpreq_hex_digit(s[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return DECODE_ESCAPE;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0')
			return DECODE_NUL;
		out[n++] = c;
	}
	out[n] = '\0';
	*outlen = n;
	return utf8_valid(out, n) ? DECODE_OK : DECODE_UTF8;
}

static int fault(enum decode_fault f, const char *part, const char *name, char *err, size_t errlen)
{
	char shown[SHOWN_SIZE(FORM_SHOWN_NAME)];
	shown_escape(name, strlen(name), FORM_SHOWN_NAME, shown, sizeof(shown));
	switch (f) {
	case DECODE_ESCAPE:
		return errbuf_fail(err, errlen, "the %s of '%s' has a '%%' without two hex digits",
				   part, shown);
	case DECODE_NUL:
		return errbuf_fail(err, errlen, "the %s of '%s' holds a NUL byte", part, shown);
	case DECODE_UTF8:
		return errbuf_fail(err, errlen, "the %s of '%s' is not valid UTF-8", part, shown);
	case DECODE_OK:
		break;
	}
	return -1;
}

int form_parse(const char *text, size_t len, char *buf, size_t buflen, struct form *out, char *err,
	       size_t errlen)
{
	out->count = 0;
	if (!text || !buf || buflen < len + 1)
		return errbuf_fail(err, errlen, "no room to decode the form");
	size_t used = 0;
	const char *end = text + len;
	for (const char *p = text; p < end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *q = amp ? amp : end;
		if (q == p) {
			p = q + 1; /* an empty pair */
			continue;
		}
		const char *eq = memchr(p, '=', (size_t)(q - p));
		const char *name_end = eq ? eq : q;
		if (name_end == p) {
			out->count = 0;
			return errbuf_fail(err, errlen, "a pair has no name before its '='");
		}
		if (out->count == FORM_MAX_FIELDS) {
			out->count = 0;
			return errbuf_fail(err, errlen, "more than %d names", FORM_MAX_FIELDS);
		}
		char *name = buf + used;
		size_t n;
		enum decode_fault f = decode(p, (size_t)(name_end - p), name, &n);
		if (f != DECODE_OK) {
			/* the raw name, escaped, since the decoded one is what is wrong */
			char raw[FORM_SHOWN_NAME + 1];
			size_t rawlen = (size_t)(name_end - p);
			if (rawlen > FORM_SHOWN_NAME)
				rawlen = FORM_SHOWN_NAME;
			memcpy(raw, p, rawlen);
			raw[rawlen] = '\0';
			out->count = 0;
			return fault(f, "name", raw, err, errlen);
		}
		used += n + 1;
		const char *value = "";
		if (eq) {
			char *v = buf + used;
			f = decode(eq + 1, (size_t)(q - eq - 1), v, &n);
			if (f != DECODE_OK) {
				out->count = 0;
				return fault(f, "value", name, err, errlen);
			}
			used += n + 1;
			value = v;
		}
		for (size_t i = 0; i < out->count; i++) {
			if (strcmp(out->fields[i].name, name) == 0) {
				char shown[SHOWN_SIZE(FORM_SHOWN_NAME)];
				shown_escape(name, strlen(name), FORM_SHOWN_NAME, shown,
					     sizeof(shown));
				out->count = 0;
				return errbuf_fail(err, errlen, "'%s' is given twice", shown);
			}
		}
		out->fields[out->count].name = name;
		out->fields[out->count].value = value;
		out->count++;
		p = amp ? amp + 1 : end;
	}
	return 0;
}

const char *form_get(const struct form *form, const char *name)
{
	for (size_t i = 0; i < form->count; i++)
		if (strcmp(form->fields[i].name, name) == 0)
			return form->fields[i].value;
	return NULL;
}
