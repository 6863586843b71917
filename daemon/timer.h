/*
 * timer.h - arming a one-shot timer event.
 *
 * Owns: timer_arm(), the one way daemon/ arms a timer: event_add() of an event
 * with no descriptor fails only on a broken invariant (an event freed or never
 * made), which stops the process with the reason rather than leaving a job that
 * silently never runs again. Callers: every daemon/ module with a periodic job.
 */
#ifndef HOTLINE_TIMER_H
#define HOTLINE_TIMER_H

#include <event2/event.h>

#include "log.h"

/* Runs ev once, ms milliseconds from now (0: at the next loop pass). */
static inline void timer_arm(struct event *ev, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	if (event_add(ev, &tv) != 0)
		fatal("cannot arm a timer (%ld ms): the event loop refused it", ms);
}

#endif
