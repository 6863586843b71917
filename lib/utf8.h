/*
 * utf8.h - strict UTF-8 validation (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), and the one repair of text that fails it.
 * Pure. Callers: intake validation, the JSON codec, lib/linefile.c, shown.c,
 * deadline.c and ticket_state.c (texts they check or show), daemon/conn.c,
 * conn_dept.c and conn_agent.c (ids and texts of actions and results), the
 * reference clients (tools/cli_json.c's JSON lines, tools/agent.c's options).
 */
#ifndef HOTLINE_UTF8_H
#define HOTLINE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8 with no NUL byte. */
bool utf8_valid(const char *s, size_t len);

/* Number of code points in well-formed s[0..len). */
size_t utf8_length(const char *s, size_t len);

/*
 * s[0..len) made well-formed for showing it: a copy in which each byte that
 * is not part of a well-formed sequence (a NUL byte too) is replaced by
 * U+FFFD (EF BF BD), one per byte, so text a peer sent is shown rather than
 * refused whole. Returns a malloc'd NUL-terminated copy (the caller frees it;
 * its length in *out_len), or NULL when out of memory.
 */
char *utf8_repaired(const char *s, size_t len, size_t *out_len) __attribute__((warn_unused_result));

#endif
