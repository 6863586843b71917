/*
 * ini.h - the INI syntax of hotlined's configuration, and nothing else.
 *
 * Owns: cutting bytes into `[section]` headers and `key = value` pairs, the
 * comment rules and the limits of a line (README.md, "Configuration": a full-line
 * comment starts with ';' or '#'; an inline comment is a ';' after whitespace; no
 * continuation lines; lines up to INI_MAX_LINE bytes; a UTF-8 BOM is skipped; a
 * NUL byte is an error). Never: knows any section or option, opens files, or keeps
 * what it hands out (duplicate keys and sections are lib/config.c's concern).
 * Callers: lib/config.c.
 */
#ifndef HOTLINE_INI_H
#define HOTLINE_INI_H

#include <stddef.h>

/* Longest line, in bytes without its '\n'; a longer one is an error, never split. */
#define INI_MAX_LINE 65536

/*
 * What the reader calls, in file order. `line` is 1-based. The strings are NUL-free,
 * trimmed of blanks and valid only during the call. A callback returns 0 to go on,
 * or -1 to stop the parse after writing its reason into err (errlen bytes).
 */
struct ini_callbacks {
	int (*section)(void *user, int line, const char *name, char *err, size_t errlen);
	int (*value)(void *user, int line, const char *key, const char *value, char *err,
		     size_t errlen);
};

/*
 * Parses text[0..len) (not NUL-terminated, may hold any bytes). Returns 0, or -1
 * with the failing line in *err_line and the reason (without "file:line: ") in err:
 * a syntax error, a NUL byte, a line over INI_MAX_LINE bytes, a callback's own
 * reason, or "out of memory".
 */
int ini_parse(const char *text, size_t len, const struct ini_callbacks *callbacks, void *user,
	      int *err_line, char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
