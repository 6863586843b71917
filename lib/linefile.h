/*
 * linefile.h - the line-oriented files an operator writes (routing rules,
 * holiday calendars): the part every such file shares.
 *
 * Owns: cutting the text into lines (an optional UTF-8 BOM, LF or CRLF line
 * ends, numbered from 1), the checks every line passes before a parser sees
 * it (not too long, no control character but tab, valid UTF-8), skipping
 * blank lines and '#' comments, splitting off a line's keyword (its first
 * word), and error messages that name "file:line".
 * Pure. Never: reads files, allocates, or knows a keyword (the parser given
 * to linefile_parse does). Callers: lib/rules.c, lib/calendar.c,
 * tests/unit/test_linefile.c.
 */
#ifndef HOTLINE_LINEFILE_H
#define HOTLINE_LINEFILE_H

#include <stddef.h>

struct linefile {
	const char *filename; /* for messages; must outlive the parse */
	unsigned lineno;      /* the line being parsed; 0 = the file as a whole */
	char *err;	      /* the reason of a failure (may be NULL) */
	size_t errlen;
};

/*
 * Writes "file:line: reason" (or "file: reason" when lineno is 0) into f->err
 * (cut to fit) and returns -1.
 */
int linefile_error(struct linefile *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* linefile_error(f, "out of memory") for the file as a whole (no line number). */
int linefile_out_of_memory(struct linefile *f);

/* What linefile_parse hands a parser: a line's first word, and the rest..end after it. */
typedef int linefile_line_fn(void *arg, const char *keyword, size_t keyword_len, const char *rest,
			     const char *end);

/*
 * Runs parse_line on every line of text[0..len) that is neither blank nor a
 * comment, cut into its keyword and the rest (without the line end, trimmed
 * of white space, text.h), while f->lineno says which line it is. A line
 * over max_line bytes, with a control character other than tab, or not valid
 * UTF-8 is refused before parse_line sees it. Stops at the first line refused
 * or that parse_line fails (returns non-zero, having set f->err). Returns 0,
 * or -1 with f->err saying why.
 */
int linefile_parse(struct linefile *f, const char *text, size_t len, size_t max_line,
		   linefile_line_fn *parse_line, void *arg) __attribute__((warn_unused_result));

/* At most max bytes of s[0..len) for a "%.*s" in a message, cut at a UTF-8 character boundary. */
int linefile_shown(const char *s, size_t len, size_t max);

#endif
