/*
 * utf8.c - strict UTF-8 validation (RFC 3629, Unicode table 3-7).
 *
 * Owns: the one answer to "is this text well-formed": no overlong forms, no
 * UTF-16 surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no NUL byte;
 * and the one way text that is not gets shown anyway (utf8_repaired: U+FFFD
 * for each bad byte).
 * Never: normalises text, or allocates but for utf8_repaired's copy.
 * Callers: intake validation, the JSON codec, tools/cli_json.c, tests, fuzzers.
 */
#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Length of the sequence a lead byte starts, with the allowed range of its
 * first continuation byte. Narrowing that range per lead byte is what rules
 * out overlongs (E0, F0), surrogates (ED) and code points above U+10FFFF (F4).
 * Returns 0 for bytes that cannot start a sequence (80..C1, F5..FF).
 */
static int utf8_lead(uint8_t lead, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (lead >= 0x01 && lead <= 0x7F)
		return 1;
	if (lead >= 0xC2 && lead <= 0xDF)
		return 2;
	if (lead >= 0xE0 && lead <= 0xEF) {
		if (lead == 0xE0)
			*lo = 0xA0;
		else if (lead == 0xED)
			*hi = 0x9F;
		return 3;
	}
	if (lead >= 0xF0 && lead <= 0xF4) {
		if (lead == 0xF0)
			*lo = 0x90;
		else if (lead == 0xF4)
			*hi = 0x8F;
		return 4;
	}
	return 0; /* NUL, stray continuation, C0/C1 overlong leads, F5..FF */
}

/* Bytes of the well-formed sequence at p[0..avail) (avail > 0), or 0 when none starts there. */
static size_t sequence_at(const uint8_t *p, size_t avail)
{
	uint8_t lo, hi;
	int n = utf8_lead(p[0], &lo, &hi);

	if (n == 0 || avail < (size_t)n)
		return 0; /* not a lead byte, or a truncated sequence */
	if (n == 1)
		return 1;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (int k = 2; k < n; k++) {
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
	}
	return (size_t)n;
}

bool utf8_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	if (len > 0 && s == NULL)
		return false;
	while (i < len) {
		size_t n = sequence_at(p + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

char *utf8_repaired(const char *s, size_t len, size_t *out_len)
{
	static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
	const uint8_t *p = (const uint8_t *)s;
	size_t used = 0;

	if ((len > 0 && s == NULL) || len > (SIZE_MAX - 1) / 3)
		return NULL;
	char *out = malloc(len * 3 + 1); /* at worst every byte is replaced */
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = sequence_at(p + i, len - i);

		if (n > 0) {
			memcpy(out + used, s + i, n);
			used += n;
			i += n;
		} else {
			memcpy(out + used, replacement, 3);
			used += 3;
			i++;
		}
	}
	out[used] = '\0';
	*out_len = used;
	return out;
}

size_t utf8_length(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t count = 0;

	/* In well-formed text every byte that is not a continuation starts a code point. */
	for (size_t i = 0; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			count++;
	}
	return count;
}
