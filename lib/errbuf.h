/*
 * errbuf.h - the reason a pure function failed, written into its caller's buffer.
 *
 * Owns: the one way lib/ functions that take (char *err, size_t errlen) fill
 * them: printf-formatted, cut to fit and always NUL-terminated, and nothing
 * at all when err is NULL or errlen is 0 (a caller that does not want the
 * reason). Pure. Never: allocates, logs, or reads errno.
 * Callers: lib/intake.c, lib/json_codec.c, lib/ticket_state.c, lib/deadline.c,
 * lib/linefile.c (the "file:line: " of rule and calendar files), lib/redis_ha.c,
 * tests/unit/test_errbuf.c.
 */
#ifndef HOTLINE_ERRBUF_H
#define HOTLINE_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

/* Writes the reason into err[0..errlen) as vsnprintf would (a no-op without a buffer). */
void errbuf_vprintf(char *err, size_t errlen, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Writes the reason and returns -1, for `return errbuf_fail(err, errlen, "...", ...);`. */
int errbuf_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same, returning code: for functions whose failures have several codes. */
int errbuf_fail_code(int code, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
