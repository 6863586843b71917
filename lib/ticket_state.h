/*
 * ticket_state.h - the ticket state machine: the one place a ticket's state changes.
 *
 * Owns: the ticket states (the proto's TicketState values), the events that move
 * a ticket (route, dispatch, accept, return, reply, extend, callback, ruling), the
 * table of which event is allowed in which state, and the bookkeeping each
 * transition carries (department, deadline, return/reopen/extend/callback counters,
 * rating). STYLE #3: nothing else writes a state; the daemon calls
 * ticket_transition() and stores `next` with its audit row in one transaction.
 * Never: reads the clock (the event carries `at_ms`), allocates, or does I/O.
 * Callers: daemon (routing, department actions, manual desk, callbacks), tools
 * (names), tests/unit/test_ticket_state.c.
 *
 * The closed loop (docs/ticket-life.md):
 *
 *   RECEIVED --ROUTE_MATCHED--> DISPATCHED --ACCEPT--> ACCEPTED --REPLY--> REPLIED
 *   RECEIVED --ROUTE_NONE--> PENDING_DISPATCH --MANUAL_DISPATCH--> DISPATCHED
 *   RECEIVED --DIRECT_CLOSE--> CLOSED                  (agent answered on the call)
 *   DISPATCHED|ACCEPTED --RETURN--> PENDING_DISPATCH   (return_count + 1)
 *                       --RETURN--> ESCALATED          (when return_count reaches max_returns)
 *   ESCALATED --RULING_DISPATCH--> DISPATCHED (ruled: no RETURN), --RULING_CLOSE--> CLOSED
 *   PENDING_DISPATCH|ESCALATED --DESK_CLOSE--> CLOSED, --DESK_DUPLICATE--> LINKED (supervisor)
 *   DISPATCHED|ACCEPTED --EXTEND--> same state, later deadline
 *   REPLIED --CALLBACK_SATISFIED|CALLBACK_BASICALLY_SATISFIED--> CLOSED
 *   REPLIED --CALLBACK_UNSATISFIED--> DISPATCHED       (same department, reopen_count + 1)
 *   REPLIED --CALLBACK_UNREACHABLE--> REPLIED          (callback_attempts + 1)
 *                                 --> CLOSED, rating UNRATED (at max_callback_attempts)
 *   RECEIVED --LINK--> LINKED                          (repeat complaint of an open ticket)
 *   LINKED --PARENT_REPLIED--> LINKED (the parent's reply), --PARENT_CLOSED--> CLOSED
 *   CLOSED: final; nothing leaves it.
 */
#ifndef HOTLINE_TICKET_STATE_H
#define HOTLINE_TICKET_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "code.h"

/* Values equal hotline.v1.TicketState (checked at compile time in ticket_state.c). */
enum ticket_state {
	TICKET_RECEIVED = 1,
	TICKET_PENDING_DISPATCH = 2, /* no rule matched, or returned: the manual desk's queue */
	TICKET_DISPATCHED = 3,
	TICKET_ACCEPTED = 4,
	TICKET_REPLIED = 5,
	TICKET_CLOSED = 6,
	TICKET_ESCALATED = 7, /* returned too often: waiting for a supervisor's ruling */
	TICKET_LINKED = 8     /* a repeat complaint: follows its open parent ticket */
};
#define TICKET_STATE_FIRST TICKET_RECEIVED
#define TICKET_STATE_LAST TICKET_LINKED

enum ticket_event_kind {
	TICKET_EV_ROUTE_MATCHED = 0,		/* a rule named a department */
	TICKET_EV_ROUTE_NONE,			/* no rule matched: to the manual desk */
	TICKET_EV_DIRECT_CLOSE,			/* agent resolved it on the call */
	TICKET_EV_MANUAL_DISPATCH,		/* the manual desk chose a department */
	TICKET_EV_ACCEPT,			/* 签收: the department took it */
	TICKET_EV_RETURN,			/* 退单: not ours */
	TICKET_EV_RULING_DISPATCH,		/* supervisor: this department must handle it */
	TICKET_EV_RULING_CLOSE,			/* supervisor: closed without handling */
	TICKET_EV_REPLY,			/* 答复: the department's answer */
	TICKET_EV_EXTEND,			/* 延期: a later deadline */
	TICKET_EV_CALLBACK_SATISFIED,		/* 回访: caller satisfied */
	TICKET_EV_CALLBACK_BASICALLY_SATISFIED, /* 回访: caller basically satisfied */
	TICKET_EV_CALLBACK_UNSATISFIED,		/* 回访: unsatisfied -> 重办 (reopen) */
	TICKET_EV_CALLBACK_UNREACHABLE,		/* 回访: nobody answered */
	TICKET_EV_LINK,				/* a repeat complaint joins its open parent */
	TICKET_EV_PARENT_REPLIED,		/* the parent was replied to: the reply is shared */
	TICKET_EV_PARENT_CLOSED,		/* the parent was closed: so is the child */
	TICKET_EV_DESK_CLOSE,			/* supervisor: junk, closed from the desk */
	TICKET_EV_DESK_DUPLICATE, /* supervisor: a duplicate, linked to the original */
	TICKET_EV_COUNT
};

/* The caller's verdict from the last callback. */
enum ticket_rating {
	TICKET_RATING_NONE = 0, /* no callback result yet (or closed without one) */
	TICKET_RATING_SATISFIED = 1,
	TICKET_RATING_BASICALLY_SATISFIED = 2,
	TICKET_RATING_UNSATISFIED = 3, /* the ticket was reopened */
	TICKET_RATING_UNRATED = 4      /* closed after max_callback_attempts unreachable calls */
};
#define TICKET_RATING_LAST TICKET_RATING_UNRATED

/* Returns of ticket_transition(). */
enum ticket_error {
	TICKET_OK = 0,
	TICKET_ESTATE = -1, /* the event is not allowed in the current state (proto ERROR_STATE) */
	TICKET_EINVAL = -2  /* bad argument: unknown state or event, missing department, empty
			       reply, deadline not later, bad limits (proto ERROR_INVALID) */
};

/*
 * What the state machine knows about one ticket. Fixed size, no pointers: the
 * daemon loads it from the tickets row and stores it back. A new ticket is
 * ticket_status_init(): RECEIVED, no department, everything zero.
 */
struct ticket_status {
	enum ticket_state state;
	char dept_code[CODE_MAX + 1]; /* department holding the ticket; "" = none */
	int64_t deadline_at_ms;	      /* unix ms; 0 = none */
	uint32_t return_count;	      /* returns over the ticket's life; never reset */
	uint32_t reopen_count;	      /* CALLBACK_UNSATISFIED reopenings */
	uint32_t extend_count;	      /* accepted EXTENDs */
	uint32_t callback_attempts;   /* callback calls for the current reply; REPLY resets */
	enum ticket_rating rating;    /* last callback verdict */
	bool ruled;		      /* dispatched by a supervisor's ruling: RETURN is refused */
};

struct ticket_limits {
	/* The RETURN that brings return_count to this escalates instead. >= 1. */
	uint32_t max_returns;
	/* The CALLBACK_UNREACHABLE that brings callback_attempts to this closes the
	 * ticket, rated UNRATED. >= 1. */
	uint32_t max_callback_attempts;
};

/*
 * One event. Which fields an event reads:
 *   dept_code       ROUTE_MATCHED, MANUAL_DISPATCH, RULING_DISPATCH: required, a valid
 *                   code (code.h). Ignored by every other event (CALLBACK_UNSATISFIED
 *                   keeps the current department).
 *   deadline_at_ms  ROUTE_MATCHED, MANUAL_DISPATCH, RULING_DISPATCH, CALLBACK_UNSATISFIED:
 *                   the new deadline (the caller's calendar computes it), 0 = none,
 *                   otherwise > at_ms. EXTEND: the new deadline, required, later than
 *                   both the current deadline and at_ms. Ignored by the rest.
 *   text            REPLY content, RETURN / EXTEND / RULING_CLOSE / DESK_CLOSE /
 *                   DESK_DUPLICATE reason, DIRECT_CLOSE
 *                   answer, PARENT_REPLIED reply: required, not blank. Optional (a note) for the
 * rest. When given it must be valid UTF-8. Stored by the caller in the audit row. at_ms every
 * event: when it happens (the caller's cached now), > 0.
 */
struct ticket_event {
	enum ticket_event_kind kind;
	int64_t at_ms;
	const char *dept_code;
	int64_t deadline_at_ms;
	const char *text;
};

/* What the relay must publish after a move. */
enum ticket_outbox {
	TICKET_OUTBOX_NONE = 0,
	TICKET_OUTBOX_DISPATCH, /* the ticket, to its department's stream */
	TICKET_OUTBOX_CALLBACK	/* the ticket, to the agents' callback queue */
};

/*
 * The counters a move makes move, one each (the statistics' rollups keep them in
 * the transaction that writes the move, so they can never drift from the audit).
 */
enum ticket_counter {
	TICKET_COUNT_RECEIVED = 0,  /* 受理: a new ticket */
	TICKET_COUNT_DISPATCHED,    /* 派单: to a department (routed, by hand, ruled, reopened) */
	TICKET_COUNT_PENDING,	    /* to the manual desk at intake (no rule matched) */
	TICKET_COUNT_DIRECT_CLOSED, /* 直接办结 */
	TICKET_COUNT_LINKED,	    /* a repeat complaint */
	TICKET_COUNT_ACCEPTED,	    /* 签收 */
	TICKET_COUNT_RETURNED,	    /* 退单 */
	TICKET_COUNT_ESCALATED,	    /* returned too often: to a supervisor */
	TICKET_COUNT_REPLIED,	    /* 答复 */
	TICKET_COUNT_EXTENDED,	    /* 延期 */
	TICKET_COUNT_REOPENED,	    /* 重办 */
	TICKET_COUNT_CALLBACK_CALLS, /* 回访: a callback's outcome recorded */
	TICKET_COUNT_SATISFIED,	     /* rated satisfied */
	TICKET_COUNT_BASICALLY,	     /* rated basically satisfied */
	TICKET_COUNT_UNSATISFIED,    /* rated unsatisfied */
	TICKET_COUNT_UNRATED,	     /* closed unrated after the last unreachable call */
	TICKET_COUNT_CLOSED,	     /* 办结, however */
	TICKET_COUNTER_COUNT
};
#define TICKET_COUNTER_BIT(c) (1u << (c))

/*
 * What one move does besides the status, decided here so that the I/O layer only
 * carries it out (daemon/transition.c, daemon/store_pg.c).
 */
struct ticket_effects {
	enum ticket_outbox outbox;
	bool outbox_later;   /* a callback tried again after an unreachable call: not at once */
	bool feed_update;    /* the feed the ticket came from gets a TicketUpdate ... */
	bool update_reply;   /* ... carrying the reply */
	bool reset_marks;    /* the deadline moved or went: its due-soon and overdue marks go */
	bool set_dispatched; /* dispatched_at = the event's instant */
	bool set_closed;     /* closed_at = the event's instant */
	/* what its LINKED repeat complaints go through (TICKET_EV_COUNT: nothing) */
	enum ticket_event_kind children;
	uint32_t counters; /* TICKET_COUNTER_BIT()s of the counters that move by one */
};

/* "received", "dispatched", ...: the counters' names (lower case, for SQL columns). */
const char *ticket_counter_name(enum ticket_counter counter);

/* RECEIVED, no department, no deadline, counters zero, rating NONE. */
void ticket_status_init(struct ticket_status *st);

/* max_returns 3, max_callback_attempts 3. */
void ticket_limits_default(struct ticket_limits *lim);

/*
 * Applies ev to cur under lim and writes the resulting status to next (next may
 * be cur) and what the move does to *effects (may be NULL). Returns TICKET_OK, or
 * TICKET_ESTATE / TICKET_EINVAL with a one-line reason in err (e.g. "cannot
 * accept a ticket in state REPLIED (ACCEPT needs DISPATCHED)", "a reply needs
 * non-empty content"); on error next and effects are untouched. A state check
 * comes before argument checks, so a forbidden move is always reported as
 * TICKET_ESTATE.
 */
int ticket_transition(const struct ticket_status *cur, const struct ticket_event *ev,
		      const struct ticket_limits *lim, struct ticket_status *next,
		      struct ticket_effects *effects, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* True when kind may be applied in state (the table behind ticket_transition()). */
bool ticket_event_allowed(enum ticket_state state, enum ticket_event_kind kind);

/*
 * Names as SQL, logs and tools spell them: "PENDING_DISPATCH", "CALLBACK_UNREACHABLE",
 * "BASICALLY_SATISFIED". *_name() returns "INVALID" for a value outside the enum;
 * *_from_name() is exact (case-sensitive) and returns -1 for an unknown or NULL name.
 */
const char *ticket_state_name(enum ticket_state state);
int ticket_state_from_name(const char *name);
const char *ticket_event_name(enum ticket_event_kind kind);
int ticket_event_from_name(const char *name);
const char *ticket_rating_name(enum ticket_rating rating);
int ticket_rating_from_name(const char *name);

#endif
