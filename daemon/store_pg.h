/*
 * store_pg.h - the PostgreSQL store: durable intake with group commit.
 *
 * Owns: the queue of intake records waiting for a transaction (bounded by the
 * caller), batching them (many records per transaction: the next batch goes as
 * soon as a connection is free, so batch size follows load), the ticket ids drawn
 * ahead of need, the intake statement's parameters, mirroring the config's feeds
 * and departments, and telling each record's owner the outcome only after its
 * transaction committed. The connections themselves, and the statements of the
 * other modules (store_pg_query), are daemon/pgpool.c's.
 * Never: talks to clients, decides admission (the server bounds what it
 * submits), or acknowledges anything itself.
 * Callers: daemon/conn_feed.c (submit), daemon/main.c (lifecycle, reload), every
 * module that runs a statement (store_pg_query).
 */
#ifndef HOTLINE_STORE_PG_H
#define HOTLINE_STORE_PG_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <libpq-fe.h>

#include "code.h"
#include "config.h"
#include "intake.h"
#include "pgpool.h"
#include "queries.h"
#include "route.h"

#define STORE_TICKET_NO_MAX 32
#define STORE_RULE_NAME_MAX ROUTE_LABEL_MAX /* a rule name, or "subcenter:" + a feed code */

enum store_outcome {
	STORE_COMMITTED, /* ticket_no is set; duplicate tells whether it was new */
	STORE_FAILED	 /* the record cannot be stored; message says why */
};

struct store_result {
	enum store_outcome outcome;
	const char *ticket_no;
	bool duplicate;
	const char *message; /* STORE_FAILED only */
};

struct store_intake;
/*
 * Called exactly once per submitted record, from the event loop, after the
 * outcome is durable. Ownership of rec (and rec->intake) returns to the callee.
 */
typedef void (*store_done_fn)(struct store_intake *rec, const struct store_result *result);

struct store_intake {
	TAILQ_ENTRY(store_intake) link; /* store's queue / batch; owned by the store */
	char feed_code[65];
	char actor[80];	       /* the audit rows' actor; "" = feed:FEED_CODE */
	struct intake *intake; /* the record; owned by whoever owns rec */
	store_done_fn done;
	void *owner;
	int64_t submitted_us; /* clock_mono_us() at submit, for the commit-latency metric */
	/* the instant its batch was built (clock.h): the ticket's created_at, the
	 * time of its routing (dispatch, close), its audit rows and the start of
	 * its deadline, one clock for the whole event */
	int64_t at_ms;
	/* routing, filled by store_hooks.route when the record's batch is built */
	int state;	 /* enum ticket_state the ticket is stored in */
	int route_event; /* enum ticket_event_kind that led there */
	char dept_code[CODE_MAX + 1];
	char route_rule[STORE_RULE_NAME_MAX];
	int64_t deadline_at_ms; /* 0 = none */
	uint32_t counters;	/* the routing move's ticket_counter bits (the rollup's) */
	/* store-private */
	bool solo;	   /* batch alone: a batch it was in failed on data */
	int64_t ticket_id; /* drawn for the batch it is in now */
	int retries;	   /* lost a uniqueness race with another daemon */
	char ticket_no[STORE_TICKET_NO_MAX];
	bool duplicate;
	/* > 0: a new DISPATCHED ticket; its outbox row, shared by every ticket its
	 * batch dispatched (reported to hooks.dispatched one after the other) */
	int64_t outbox_id;
};

/*
 * What the store asks of the rest of the daemon (all optional):
 *  ready(route_arg)      may intake batches be built now? (routing rules known)
 *  route(route_arg, rec) fill rec's routing fields, just before its batch is built
 *  dispatched(dispatched_arg, rec)  after commit, for each new DISPATCHED ticket, before
 *                  its owner hears the outcome (the relay publishes it)
 */
struct store_hooks {
	bool (*ready)(void *route_arg);
	void (*route)(void *route_arg, struct store_intake *rec);
	void *route_arg;
	void (*dispatched)(void *dispatched_arg, const struct store_intake *rec);
	void *dispatched_arg;
};

/* The result of a statement (pgpool.h pgpool_result_fn). */
typedef pgpool_result_fn store_query_fn;

struct store_pg_stats {
	uint64_t batches;
	uint64_t committed;
	uint64_t duplicates;
	uint64_t failed;
	uint64_t retried;      /* records sent again: key not visible yet (race, repeat in batch) */
	uint64_t repeat_waits; /* a record waited for a batch holding its caller+category */
	uint64_t reconnects;
	uint64_t batch_records_max;
	uint64_t queries;
	size_t queries_queued;
	size_t queued;	 /* waiting for a batch */
	size_t inflight; /* in a transaction now */
	int connections_ready;
};

struct store_pg;

/* cfg stays owned by the caller and must outlive the store (it is read live). */
struct store_pg *store_pg_new(struct event_base *base, const struct hotline_config *cfg)
	__attribute__((warn_unused_result));
void store_pg_free(struct store_pg *store);

/* Starts connecting; never fails: an unreachable server is retried with backoff. */
void store_pg_start(struct store_pg *store);

void store_pg_set_hooks(struct store_pg *store, const struct store_hooks *hooks);

/*
 * Runs the statement q of queries/ (its own transaction) with text parameters
 * values[0..queries[q].nparams) (copied; NULL entries are SQL NULL): see
 * pgpool_query(). On a lost connection or a transient error the statement is
 * sent again, so it must be safe to repeat (ON CONFLICT, version checks).
 */
void store_pg_query(struct store_pg *store, enum query q, const char *const *values,
		    store_query_fn cb, void *arg);

/* The connections (borrowed), for modules that add a source of their own
 * transactions (pgpool_add_source): daemon/transition.c's group commit. */
struct pgpool *store_pg_pool(struct store_pg *store);

/* Queues rec; its done callback runs later, never from inside this call. */
void store_pg_submit(struct store_pg *store, struct store_intake *rec);

/* Records queued or in a transaction. */
size_t store_pg_pending(const struct store_pg *store);

/* Something a hook depends on changed (routing became possible): try the queue again. */
void store_pg_kick(struct store_pg *store);

/* The feeds table is re-synced from the config on the next ready connection. */
void store_pg_config_changed(struct store_pg *store);

void store_pg_get_stats(const struct store_pg *store, struct store_pg_stats *out);

struct prom_histogram;
/* The intake histograms (for /metrics): records per transaction, and seconds from
 * submit to commit. Borrowed; they live as long as the store. */
void store_pg_histograms(const struct store_pg *store, const struct prom_histogram **batch_size,
			 const struct prom_histogram **commit_latency);

#endif
