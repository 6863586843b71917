/*
 * shown.h - bytes a peer sent, made safe to quote in an error message.
 *
 * Owns: one way of showing untrusted text (a JSON key, a field name) inside
 * '...' in a reply or a log line: escaped where it is not printable, and cut
 * to a bounded length. Pure. Never: reads past the given length (the text may
 * hold NUL bytes), allocates, or calls strlen on the input.
 * Callers: lib/json_codec.c (unknown keys), tests/unit/test_shown.c.
 */
#ifndef HOTLINE_SHOWN_H
#define HOTLINE_SHOWN_H

#include <stddef.h>

/* Bytes of out that shown_escape() needs to show up to max bytes, "..." and a NUL. */
#define SHOWN_SIZE(max) ((max) + 4)

/*
 * Writes s[0..len) into out as printable text: printable ASCII and
 * well-formed UTF-8 characters as they are, except \\ and \' for the
 * backslash and the quote; \n, \r and \t; \u00NN for the C1 controls
 * U+0080..U+009F; \xNN for any other byte below 0x20, DEL, NUL, and each
 * byte that is not part of well-formed UTF-8. At most max bytes of shown text
 * (fewer when outlen - 4 is less), cut only between characters or escapes,
 * then "..." when anything was left out. out is always NUL-terminated when
 * outlen > 0. Returns the length written, not counting the NUL.
 */
size_t shown_escape(const char *s, size_t len, size_t max, char *out, size_t outlen);

#endif
