/*
 * mask.c - masking of caller phone numbers (rules in mask.h).
 *
 * Owns: turning a stored phone number into the form every other place may show.
 * Never: returns or logs any digit the rule hides; allocates; fails (a bad or
 * empty number simply masks to "").
 * Callers: daemon logging and the department feed, tools, tests.
 */
#include "mask.h"

#include <stdbool.h>

/*
 * Appends c to out unless only the terminator's byte is left; *pos counts what
 * was written. Truncation only ever drops the tail, so it cannot reveal more.
 */
static void mask_put(char *out, size_t outlen, size_t *pos, char c)
{
	if (*pos + 1 < outlen) {
		out[*pos] = c;
		(*pos)++;
	}
}

void mask_phone(const char *phone, char *out, size_t outlen)
{
	size_t digits = 0, keep_head, keep_tail, pos = 0, seen = 0;
	bool plus = false, any = false;

	if (out == NULL || outlen == 0)
		return;
	out[0] = '\0';
	if (phone == NULL)
		return;

	/* First pass: count digits, and note a '+' that comes before any digit. */
	for (const char *p = phone; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			digits++;
			any = true;
		} else if (*p == '+' && !any) {
			plus = true;
		}
	}
	if (digits >= 11) {
		keep_head = 3;
		keep_tail = 4;
	} else if (digits >= 7) {
		keep_head = 0;
		keep_tail = 4;
	} else if (digits >= 3) {
		keep_head = 0;
		keep_tail = 2;
	} else {
		return; /* nothing worth showing */
	}

	if (plus)
		mask_put(out, outlen, &pos, '+');
	for (const char *p = phone; *p; p++) {
		if (*p < '0' || *p > '9')
			continue;
		if (seen < keep_head || seen >= digits - keep_tail)
			mask_put(out, outlen, &pos, *p);
		else
			mask_put(out, outlen, &pos, '*');
		seen++;
	}
	out[pos] = '\0';
}
