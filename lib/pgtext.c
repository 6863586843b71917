/*
 * pgtext.c - strict readers of PostgreSQL's text output behind pgtext.h.
 */
#include "pgtext.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

int pgtext_int64(const char *s, int64_t *out)
{
	if (!s || !*s)
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || s[0] == ' ' || s[0] == '+')
		return -1;
	*out = v;
	return 0;
}

int pgtext_int32(const char *s, int32_t *out)
{
	int64_t v;
	if (pgtext_int64(s, &v) != 0 || v < INT32_MIN || v > INT32_MAX)
		return -1;
	*out = (int32_t)v;
	return 0;
}

int pgtext_uint32(const char *s, uint32_t *out)
{
	int64_t v;
	if (pgtext_int64(s, &v) != 0 || v < 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int pgtext_bool(const char *s, bool *out)
{
	if (!s || (s[0] != 't' && s[0] != 'f') || s[1] != '\0')
		return -1;
	*out = s[0] == 't';
	return 0;
}

int pgtext_double(const char *s, double *out)
{
	if (!s || !*s || s[0] == ' ')
		return -1;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno == ERANGE || *end != '\0' || end == s || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}
