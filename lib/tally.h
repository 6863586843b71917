/*
 * tally.h - the per-feed intake counters /metrics reports, and each feed's rate bucket.
 *
 * Owns: one row per feed code seen (records submitted, acknowledged, duplicates,
 * refused as invalid, refused over the feed's max_rate, failed in the store; the
 * token bucket of [feed.CODE] max_rate, lib/ratelimit.h), found by code, made on
 * first use, at most TALLY_MAX_FEEDS rows (codes come from authenticated
 * connections, so from the configuration; the bound only guards a bug).
 * Never: forgets a row (counters are monotonic for Prometheus), or does I/O.
 * Callers: daemon/server.c (owns one; the rate bucket), daemon/conn_feed.c,
 * daemon/conn.c and daemon/http_open311.c (count), daemon/metrics.c (reports),
 * tests/unit/test_tally.c.
 */
#ifndef HOTLINE_TALLY_H
#define HOTLINE_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "code.h"
#include "ratelimit.h"

#define TALLY_MAX_FEEDS 4096

struct feed_tally {
	char feed_code[CODE_MAX + 1];
	uint64_t records;    /* submitted to the store */
	uint64_t acked;	     /* committed and acknowledged */
	uint64_t duplicates; /* ... of which duplicates */
	uint64_t invalid;    /* refused by validation */
	uint64_t failed;     /* refused by the store */
	uint64_t limited;    /* refused over [feed.CODE] max_rate */
	struct rate_bucket bucket;
	int64_t limited_logged_ms; /* when the last "over its rate" warning was logged */
	uint64_t limited_logged;   /* limited at that time */
};

struct tally {
	struct feed_tally *feeds;
	size_t nfeeds, cap;
};

void tally_init(struct tally *t);
void tally_free(struct tally *t);

/*
 * The row of feed_code, made (zeroed) on first use. NULL when the code is not
 * a valid code (code.h), out of memory, or TALLY_MAX_FEEDS rows exist: the
 * caller then counts nothing. The pointer is valid until the next call.
 */
struct feed_tally *tally_feed(struct tally *t, const char *feed_code);

#endif
