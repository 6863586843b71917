/*
 * ratelimit.c - see ratelimit.h.
 */
#include "ratelimit.h"

#define MILLI 1000

bool rate_take(struct rate_bucket *b, long rate, long burst, int64_t now_ms)
{
	if (rate <= 0)
		return true;
	if (burst < 1)
		burst = 1;
	int64_t cap = (int64_t)burst * MILLI;
	if (!b->started) {
		b->started = true;
		b->milli = cap;
		b->last_ms = now_ms;
	} else if (now_ms > b->last_ms) {
		int64_t elapsed = now_ms - b->last_ms;
		/* elapsed * rate overflows only after centuries at any sane rate; cap first. */
		if (elapsed >= cap / rate + 1)
			b->milli = cap;
		else
			b->milli += elapsed * rate;
	}
	if (b->milli > cap)
		b->milli = cap; /* burst lowered by a reload */
	if (now_ms > b->last_ms)
		b->last_ms = now_ms;
	if (b->milli < MILLI)
		return false;
	b->milli -= MILLI;
	return true;
}
