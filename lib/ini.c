/*
 * ini.c - the INI reader behind ini.h.
 *
 * Each line is copied whole into one buffer of INI_MAX_LINE + 1 bytes and cut
 * there: a line never spills into the next call (Debian's libinih, which this
 * replaces, split lines at 200 bytes, so a long token or conninfo came out as a
 * syntax error or as a second, bogus key). Never: allocates anything but that
 * buffer, or treats leading blanks as a continuation. Callers: see ini.h.
 */
#include "ini.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UTF8_BOM "\xEF\xBB\xBF"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims blanks off both ends of s[0..*len) in place; returns the new start. */
static char *trim(char *s, size_t *len)
{
	size_t n = *len;
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	s[n] = '\0';
	while (n > 0 && is_blank(*s)) {
		s++;
		n--;
	}
	*len = n;
	return s;
}

static bool is_comment_start(char c)
{
	return c == ';' || c == '#';
}

/*
 * One line, NUL-terminated in a buffer of our own (so it may be cut in place),
 * without its '\n' and with no NUL inside. Returns 0 or -1 with a reason in err.
 */
static int parse_line(char *text, size_t len, int line, const struct ini_callbacks *callbacks,
		      void *user, char *err, size_t errlen)
{
	/* An inline comment is a ';' after a blank, as in inih: "a;b" is a value. */
	for (size_t i = 1; i < len; i++) {
		if (text[i] == ';' && is_blank(text[i - 1])) {
			len = i;
			break;
		}
	}
	char *s = trim(text, &len);
	if (len == 0 || is_comment_start(s[0]))
		return 0;
	if (s[0] == '[') {
		char *close = memchr(s, ']', len);
		if (!close) {
			snprintf(err, errlen, "expected [section]: no ']'");
			return -1;
		}
		*close = '\0';
		const char *name = s + 1;
		const char *rest = close + 1;
		if (name[0] == '\0') {
			snprintf(err, errlen, "empty section name []");
			return -1;
		}
		if (rest[0] != '\0' && !is_comment_start(rest[0])) {
			snprintf(err, errlen, "unexpected text after [%s]", name);
			return -1;
		}
		return callbacks->section(user, line, name, err, errlen);
	}
	char *equals = memchr(s, '=', len);
	if (!equals || equals == s) {
		snprintf(err, errlen, "expected key = value");
		return -1;
	}
	size_t key_len = (size_t)(equals - s);
	size_t value_len = len - key_len - 1;
	char *key = trim(s, &key_len);
	char *value = trim(equals + 1, &value_len);
	if (key_len == 0) {
		snprintf(err, errlen, "expected key = value");
		return -1;
	}
	return callbacks->value(user, line, key, value, err, errlen);
}

int ini_parse(const char *text, size_t len, const struct ini_callbacks *callbacks, void *user,
	      int *err_line, char *err, size_t errlen)
{
	const char *p = text;
	const char *end = text + len;
	int line = 0;
	*err_line = 0;
	err[0] = '\0';
	char *buf = malloc(INI_MAX_LINE + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (len >= 3 && memcmp(p, UTF8_BOM, 3) == 0)
		p += 3;
	int rc = 0;
	while (p < end) {
		if (line == INT_MAX) {
			snprintf(err, errlen, "more than %d lines", INT_MAX - 1);
			rc = -1;
			break;
		}
		line++;
		const char *newline = memchr(p, '\n', (size_t)(end - p));
		size_t n = newline ? (size_t)(newline - p) : (size_t)(end - p);
		if (n > INI_MAX_LINE) {
			snprintf(err, errlen, "line longer than %d bytes", INI_MAX_LINE);
			rc = -1;
			break;
		}
		if (memchr(p, '\0', n)) {
			snprintf(err, errlen, "NUL byte in the line (not a text file?)");
			rc = -1;
			break;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (parse_line(buf, n, line, callbacks, user, err, errlen) != 0) {
			rc = -1;
			break;
		}
		p = newline ? newline + 1 : end;
	}
	free(buf);
	if (rc != 0)
		*err_line = line;
	return rc;
}
