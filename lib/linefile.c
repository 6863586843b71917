/*
 * linefile.c - lines of an operator-written file (see linefile.h).
 */
#include "linefile.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"
#include "text.h"
#include "utf8.h"

int linefile_error(struct linefile *f, const char *fmt, ...)
{
	if (f->err == NULL || f->errlen == 0)
		return -1;
	int n = f->lineno > 0 ? snprintf(f->err, f->errlen, "%s:%u: ", f->filename, f->lineno)
			      : snprintf(f->err, f->errlen, "%s: ", f->filename);
	if (n >= 0 && (size_t)n < f->errlen) {
		va_list ap;
		va_start(ap, fmt);
		errbuf_vprintf(f->err + n, f->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int linefile_out_of_memory(struct linefile *f)
{
	f->lineno = 0;
	return linefile_error(f, "out of memory");
}

/* The checks every line passes; then blank lines and comments are skipped. */
static int parse_one(struct linefile *f, const char *s, const char *e, size_t max_line,
		     linefile_line_fn *parse_line, void *arg)
{
	size_t len = (size_t)(e - s);

	if (len > max_line)
		return linefile_error(f, "line is longer than %zu bytes", max_line);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7F)
			return linefile_error(f, "control character (byte 0x%02x) in line", c);
	}
	if (!utf8_valid(s, len))
		return linefile_error(f, "invalid UTF-8");

	text_trim(&s, &e);
	if (s == e || *s == '#')
		return 0;
	const char *rest = s;
	const char *keyword_e = text_next_word(&rest, e);
	return parse_line(arg, s, (size_t)(keyword_e - s), rest, e) != 0 ? -1 : 0;
}

int linefile_parse(struct linefile *f, const char *text, size_t len, size_t max_line,
		   linefile_line_fn *parse_line, void *arg)
{
	const char *s = text != NULL ? text : "", *end = s + len;

	if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl != NULL ? nl : end;
		const char *line_e = e > s && e[-1] == '\r' ? e - 1 : e;
		f->lineno++;
		if (parse_one(f, s, line_e, max_line, parse_line, arg) != 0)
			return -1;
		s = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

int linefile_shown(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return (int)len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return (int)n;
}
