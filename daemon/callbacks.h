/*
 * callbacks.h - the callback queue (回访) as agents use it, whichever port they
 * come in on: claim the next replied ticket, record the caller's verdict.
 *
 * Owns: a holder (one consumer of the Redis group "agents", with the claims it
 * holds: ticket_no -> stream entry, and until when); handing out a claim (take
 * an entry, skip the stale ones whose ticket moved on, read what the agent
 * needs, remember the claim) and recording a result (check in Redis that the
 * claim is still this holder's and restart its clock, let transition.c apply
 * the event, then acknowledge the entry). The binary AGENT role holds one per
 * connection (daemon/conn_agent.c); the HTTP API one per account
 * (daemon/http_callbacks.c).
 * Never: hands out a claim its requester no longer wants (the entry goes back
 * at once), accepts a result for a callback the holder does not hold (the same
 * answer whether or not the ticket exists), acknowledges an entry before the
 * result committed, or logs a caller's phone number.
 * Callers: daemon/conn_agent.c, daemon/http_callbacks.c.
 *
 * A claim is held in Redis (the entry is pending for the holder's consumer)
 * and remembered here. It lapses after [callbacks] claim_timeout_ms: another
 * holder's claim may then take it. A result is checked against Redis first, so
 * a lapsed claim still counts as long as nobody else took it.
 */
#ifndef HOTLINE_CALLBACKS_H
#define HOTLINE_CALLBACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus_redis.h"
#include "config.h"
#include "store_pg.h"
#include "ticket_state.h"
#include "transition.h"

#define CALLBACK_MAX_CLAIMS 16	  /* callbacks one holder may hold at once */
#define CALLBACK_NOTE_MAX 8192	  /* bytes of a result's note */
#define CALLBACK_TICKET_NO_MAX 32 /* a ticket number and its NUL */

/* What a holder works with (borrowed; they outlive every holder). */
struct callback_env {
	struct bus *bus;
	struct store_pg *store;
	struct transitions *transitions;
	const struct hotline_config *cfg;
};

struct callback_holder;

/* consumer: unique across daemons sharing Redis; actor: the audit rows' actor. */
struct callback_holder *callback_holder_new(const struct callback_env *env, const char *consumer,
					    const char *actor) __attribute__((warn_unused_result));
/* The owner lets go: the holder is freed, and its consumer forgotten in Redis when
 * it holds nothing, once no claim or result of it is in flight. */
void callback_holder_release(struct callback_holder *h);
/* Callbacks held now. */
size_t callback_holder_claims(const struct callback_holder *h);

enum callback_claim_outcome {
	CALLBACK_TASK,	      /* task is the callback now held */
	CALLBACK_NONE,	      /* no callback is waiting */
	CALLBACK_FULL,	      /* the holder holds CALLBACK_MAX_CLAIMS: send a result first */
	CALLBACK_UNAVAILABLE, /* Redis or PostgreSQL failed (message says which): claim again */
	CALLBACK_UNWANTED     /* wanted() said no: nothing handed out */
};

struct callback_task {
	const char *ticket_no;
	const char *caller_phone; /* in full: the agent calls back */
	const char *caller_name;
	const char *category;
	const char *content;
	const char *reply;
	const char *dept_code;
	uint32_t attempt; /* 1 for the first call of this reply */
	int64_t claimed_until_ms;
};

/* task (valid during the call) with CALLBACK_TASK only; message with FULL and UNAVAILABLE. */
typedef void (*callback_claim_fn)(void *arg, enum callback_claim_outcome outcome,
				  const struct callback_task *task, const char *message);

/*
 * Hands out the next callback: 0, and done runs exactly once (later, or before
 * this returns when the answer is known at once); -1 when out of memory (done
 * never runs). wanted(arg) (may be NULL) is asked before a claim
 * is taken and before it is handed out: false gives the entry back.
 */
int callback_claim(struct callback_holder *h, bool (*wanted)(void *arg), callback_claim_fn done,
		   void *arg) __attribute__((warn_unused_result));

enum callback_result_outcome {
	CALLBACK_RECORDED,     /* committed: state is the ticket's new state */
	CALLBACK_REFUSED,      /* the ticket's state does not allow it (message, state) */
	CALLBACK_NOT_HELD,     /* this holder does not hold that callback (message) */
	CALLBACK_RETRY,	       /* Redis or PostgreSQL failed, or the ticket kept changing */
	CALLBACK_RESULT_FAILED /* out of memory or storage refused: message */
};

struct callback_result {
	enum callback_result_outcome outcome;
	const char *message;
	enum ticket_state state;
	const char *feed_code; /* RECORDED: the feed owed a TicketUpdate */
};

typedef void (*callback_result_fn)(void *arg, const struct callback_result *result);

/*
 * Records the verdict of a held callback: event is one of the CALLBACK_* events,
 * note may be NULL. 0, and done runs exactly once (later, or before this
 * returns); -1 when out of memory (done never runs).
 */
int callback_record(struct callback_holder *h, const char *ticket_no, enum ticket_event_kind event,
		    const char *note, callback_result_fn done, void *arg)
	__attribute__((warn_unused_result));

#endif
