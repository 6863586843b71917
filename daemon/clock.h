/*
 * clock.h - hotlined's one clock.
 *
 * Owns: "now" for everything the daemon decides or writes. Every time written
 * for one event (a ticket's received_at, created_at, dispatched_at, deadline,
 * audit row, TicketUpdate, escalation mark) comes from clock_now_ms() and is
 * passed to PostgreSQL as a parameter, never taken from the server's now(): two
 * clocks for one event once gave a deadline 30 ns short of its limit.
 * The value is libevent's cached time (one reading per loop pass) plus a fixed
 * offset, so that tests and drills can run the daemon at a chosen date:
 * HOTLINED_CLOCK_START=2026-12-07T09:00:00+08:00 (RFC 3339, or unix ms) makes the
 * clock start at that instant and run at real speed from there.
 * Never: jumps (the offset is fixed at start) or is read by lib/ (lib/ takes now
 * as a parameter). PostgreSQL's own clock still times internal bookkeeping that
 * no ticket shows (when an outbox row was written and when it is due).
 * Callers: every daemon/ module that needs the time.
 */
#ifndef HOTLINE_CLOCK_H
#define HOTLINE_CLOCK_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#define CLOCK_ENV "HOTLINED_CLOCK_START"

/*
 * Binds the clock to base's cached time and reads CLOCK_ENV. Returns 0, or -1
 * with the reason in err when the variable is set but not an instant.
 */
int clock_init(struct event_base *base, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Unix milliseconds now (the loop pass's cached time, plus the offset). */
int64_t clock_now_ms(void);

/*
 * A monotonic reading in microseconds, for measuring how long something took
 * (the metrics' latencies): never a time written anywhere.
 */
int64_t clock_mono_us(void);

/* The offset from the system clock in ms (0 unless CLOCK_ENV is set). */
int64_t clock_offset_ms(void);

#endif
