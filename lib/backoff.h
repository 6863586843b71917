/*
 * backoff.h - exponential backoff with jitter, for every reconnect loop.
 *
 * Owns: the one formula: the step doubles from min_ms per failure up to max_ms,
 * and the delay to wait is the step spread by jitter, so that many clients or
 * daemons do not come back in lockstep. Never: reads a clock or draws its own
 * randomness (the caller passes a random number), so it is unit-tested exactly.
 * Callers: daemon/pgpool.c, daemon/bus_redis.c (bus_next_backoff, also for the
 * department consumers), tools/cli_conn.c, tools/dept.c, tools/loadgen.c,
 * tests/unit/test_backoff.c.
 */
#ifndef HOTLINE_BACKOFF_H
#define HOTLINE_BACKOFF_H

/*
 * Doubles *step_ms (0 = no failure yet: it becomes min_ms), caps it at max_ms,
 * and returns a delay drawn by random from step - down_pct% to step + up_pct%
 * of it (integer arithmetic: from step - step * down_pct / 100, spanning
 * step * (down_pct + up_pct) / 100).
 */
long backoff_next(long *step_ms, long min_ms, long max_ms, int down_pct, int up_pct,
		  unsigned long random);

#endif
