/*
 * clock.c - the daemon's clock behind clock.h: libevent's cached time of the
 * loop pass plus a fixed offset (0 in production).
 */
#include "clock.h"

#include <time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "dates.h"

static struct event_base *clock_base;
static int64_t clock_offset;

static int64_t system_ms(void)
{
	struct timeval tv;
	if (clock_base)
		event_base_gettimeofday_cached(clock_base, &tv);
	else
		gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int clock_init(struct event_base *base, char *err, size_t errlen)
{
	clock_base = base;
	clock_offset = 0;
	const char *start = getenv(CLOCK_ENV);
	if (!start || !start[0])
		return 0;
	size_t len = strlen(start);
	int64_t at;
	if (strspn(start, "0123456789") == len && len <= 15) {
		at = strtoll(start, NULL, 10);
	} else if (dates_parse_iso(start, len, &at) != 0) {
		snprintf(err, errlen,
			 "%s='%.64s' is neither unix milliseconds nor an RFC 3339 instant "
			 "(2026-12-07T09:00:00+08:00)",
			 CLOCK_ENV, start);
		return -1;
	}
	struct timeval tv;
	gettimeofday(&tv, NULL);
	clock_offset = at - ((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000);
	return 0;
}

int64_t clock_now_ms(void)
{
	return system_ms() + clock_offset;
}

int64_t clock_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_offset_ms(void)
{
	return clock_offset;
}
