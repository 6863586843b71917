/*
 * ratelimit.h - a token bucket: the most records a feed may submit per second.
 *
 * Owns: the one formula. The bucket holds up to burst records' worth of tokens and
 * refills at rate records per second, in integer thousandths of a record (rate is
 * whole records per second, so every elapsed millisecond adds exactly rate
 * thousandths): no floating point, no drift, exact under unit test.
 * Never: reads a clock (the caller passes now_ms) or allocates.
 * Callers: daemon/conn_feed.c (one bucket per feed, in lib/tally.h's row),
 * tests/unit/test_ratelimit.c.
 */
#ifndef HOTLINE_RATELIMIT_H
#define HOTLINE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct rate_bucket {
	int64_t milli;	 /* tokens held, in thousandths of a record */
	int64_t last_ms; /* when milli was last refilled */
	bool started;	 /* false: never used (the first take finds it full) */
};

/*
 * Takes one record's token at now_ms. rate <= 0 means no limit (always true, the
 * bucket untouched). burst < 1 counts as 1. A first use starts full; a clock that
 * went backwards refills nothing. Returns false, taking nothing, when the bucket
 * holds less than one record's worth.
 */
bool rate_take(struct rate_bucket *b, long rate, long burst, int64_t now_ms);

#endif
