/*
 * shown.c - bytes a peer sent, made safe to quote in an error message.
 *
 * Owns: the escaping and the cut of untrusted text shown in replies and logs,
 * so that a key holding control characters, a NUL or broken UTF-8 neither
 * breaks the line it is quoted in nor hides what it was.
 * Never: reads past len, allocates, calls strlen on its input.
 * Callers: lib/json_codec.c, tests.
 */
#include "shown.h"

#include <string.h>

#include "utf8.h"

/* Bytes of the well-formed multi-byte UTF-8 character at s (rem bytes left), or 0. */
static size_t shown_utf8_len(const char *s, size_t rem)
{
	for (size_t n = 2; n <= 4 && n <= rem; n++) {
		if (utf8_valid(s, n))
			return n;
	}
	return 0;
}

/*
 * Writes how s[0..rem) starts into piece[0..*piece_len) (at most 6 bytes):
 * the escape or the character. Returns the input bytes it stands for.
 */
static size_t shown_piece(const char *s, size_t rem, char piece[8], size_t *piece_len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c = (unsigned char)s[0];
	size_t n;

	if (c == '\\' || c == '\'') {
		piece[0] = '\\';
		piece[1] = (char)c;
		*piece_len = 2;
	} else if (c >= 0x20 && c < 0x7f) {
		piece[0] = (char)c;
		*piece_len = 1;
	} else if (c == '\n' || c == '\r' || c == '\t') {
		piece[0] = '\\';
		piece[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		*piece_len = 2;
	} else if (c >= 0x80 && (n = shown_utf8_len(s, rem)) > 0) {
		if (n == 2 && c == 0xc2 && (unsigned char)s[1] < 0xa0) {
			/* a C1 control (U+0080..U+009F: the second byte is the code
			 * point): invisible, and some terminals act on it */
			memcpy(piece, "\\u00", 4);
			piece[4] = hex[(unsigned char)s[1] >> 4];
			piece[5] = hex[(unsigned char)s[1] & 15];
			*piece_len = 6;
		} else {
			memcpy(piece, s, n);
			*piece_len = n;
		}
		return n;
	} else {
		piece[0] = '\\';
		piece[1] = 'x';
		piece[2] = hex[c >> 4];
		piece[3] = hex[c & 15];
		*piece_len = 4;
	}
	return 1;
}

size_t shown_escape(const char *s, size_t len, size_t max, char *out, size_t outlen)
{
	size_t used = 0, at = 0, limit;

	if (outlen == 0)
		return 0;
	limit = outlen >= 4 ? outlen - 4 : 0; /* room for "..." and the NUL */
	if (limit > max)
		limit = max;
	while (at < len) {
		char piece[8];
		size_t piece_len;
		size_t took = shown_piece(s + at, len - at, piece, &piece_len);

		if (piece_len > limit - used)
			break;
		memcpy(out + used, piece, piece_len);
		used += piece_len;
		at += took;
	}
	if (at < len && outlen >= 4) {
		memcpy(out + used, "...", 3);
		used += 3;
	}
	out[used] = '\0';
	return used;
}
