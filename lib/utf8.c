/*
 * utf8.c - strict UTF-8 validation (RFC 3629, Unicode table 3-7).
 *
 * Owns: the one answer to "is this text well-formed": no overlong forms, no
 * UTF-16 surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no NUL byte.
 * Never: allocates, repairs or normalises text; it only says yes or no.
 * Callers: intake validation, the JSON codec, tests, fuzzers.
 */
#include "utf8.h"

#include <stdint.h>

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

bool utf8_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	if (len > 0 && s == NULL)
		return false;
	while (i < len) {
		uint8_t lo, hi;
		int n = utf8_lead(p[i], &lo, &hi);

		if (n == 0)
			return false;
		if (n == 1) {
			i++;
			continue;
		}
		if (len - i < (size_t)n)
			return false; /* truncated sequence */
		if (p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (int k = 2; k < n; k++) {
			if (p[i + k] < 0x80 || p[i + k] > 0xBF)
				return false;
		}
		i += (size_t)n;
	}
	return true;
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
