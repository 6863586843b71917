/*
 * transition.h - applying one event to one stored ticket.
 *
 * Owns: the read -> lib/ticket_state.c -> write cycle for tickets that already
 * exist (department actions, callbacks, supervisors' rulings): read the ticket,
 * check who may touch it, let the state machine decide the move and its effects
 * (the TicketUpdate owed to the originating feed, the outbox row the new state
 * needs, the deadline marks, the linked repeat complaints), and write them in
 * one statement guarded by the ticket's version; the writes of concurrent events
 * share one transaction (group commit). A concurrent change makes it read and
 * decide again (a few times, then TRANSITION_BUSY).
 * Never: decides a move itself (the state machine does), or reports success
 * before the write committed.
 * Callers: daemon/conn_dept.c, daemon/callbacks.c, daemon/http_desk.c; daemon/main.c
 * (lifecycle).
 */
#ifndef HOTLINE_TRANSITION_H
#define HOTLINE_TRANSITION_H

#include <event2/event.h>
#include <stdint.h>

#include "calendar.h"
#include "config.h"
#include "store_pg.h"
#include "ticket_state.h"

struct transitions;

struct transition_request {
	const char *ticket_no;
	/* Non-NULL: the ticket must be held by this department, else NOT_FOUND
	 * (the same answer as for a ticket that does not exist). */
	const char *owner_dept;
	enum ticket_event_kind kind;
	const char *text;	/* reply, reason, answer or note; copied; may be NULL */
	int64_t deadline_at_ms; /* EXTEND: the new deadline */
	const char *dept_code;	/* MANUAL_DISPATCH, RULING_DISPATCH: the department */
	const char *actor;	/* audit: "dept:water", "agent:li", ... */
	const char *parent_no;	/* DESK_DUPLICATE: the ticket it duplicates */
};

enum transition_outcome {
	TRANSITION_DONE,      /* committed */
	TRANSITION_REFUSED,   /* the state machine forbids it (message says why; invalid
			       * tells a wrong request from a state that does not allow it) */
	TRANSITION_NOT_FOUND, /* no such ticket, or not the owner's */
	TRANSITION_BUSY,      /* kept changing under us: try again */
	TRANSITION_FAILED     /* storage error: try again later */
};

struct transition_result {
	enum transition_outcome outcome;
	const char *message;	 /* for anything but DONE */
	enum ticket_state state; /* after (DONE), or as found (REFUSED) */
	const char *feed_code;	 /* DONE: the feed owed a TicketUpdate */
	bool invalid;		 /* REFUSED: the request is wrong (a missing reason, an
				  * unknown ticket to join), not the ticket's state */
};

typedef void (*transition_fn)(void *arg, const struct transition_result *result);

/* cfg, store and calendar (may be NULL: weekdays only) are borrowed. */
struct transitions *transitions_new(struct event_base *base, const struct hotline_config *cfg,
				    struct store_pg *store, const struct calendar **calendar)
	__attribute__((warn_unused_result));
void transitions_free(struct transitions *t);

/* The group commit's counters (for /metrics). */
struct transition_stats {
	uint64_t batches;    /* transactions of writes committed */
	uint64_t writes;     /* writes in them (a write that matched no row included) */
	uint64_t batch_max;  /* the most writes in one */
	uint64_t split;	     /* batches that failed on data: their writes went one by one */
	size_t queued;	     /* writes decided, waiting for a transaction */
	size_t reads_queued; /* reads waiting for one */
};
void transitions_get_stats(const struct transitions *t, struct transition_stats *out);

/*
 * Starts the cycle: returns 0, and done(arg, result) runs exactly once, later,
 * from the loop; or -1 when out of memory (done never runs).
 */
int transition_start(struct transitions *t, const struct transition_request *req,
		     transition_fn done, void *arg) __attribute__((warn_unused_result));

#endif
