/*
 * backoff.c - exponential backoff with jitter (see backoff.h).
 */
#include "backoff.h"

long backoff_next(long *step_ms, long min_ms, long max_ms, int down_pct, int up_pct,
		  unsigned long random)
{
	*step_ms = *step_ms > 0 ? *step_ms * 2 : min_ms;
	if (*step_ms > max_ms)
		*step_ms = max_ms;
	long step = *step_ms;
	long span = step * (down_pct + up_pct) / 100;
	return step - step * down_pct / 100 + (long)(random % (unsigned long)(span + 1));
}
