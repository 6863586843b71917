/*
 * pgpool.h - hotlined's PostgreSQL connections.
 *
 * Owns: a small pool of non-blocking libpq connections in pipeline mode, each
 * with at most one transaction in flight; connecting and reconnecting with
 * backoff; preparing every statement of queries/ that hotlined runs (queries.h)
 * once per connection and executing them by name; the FIFO of statements other
 * modules run (pgpool_query: each its own transaction); sharing the connections
 * between those statements and the intake path's batches (never two statements
 * in a row while a batch waits); sorting failures into "try again" (the
 * connection is dropped and the work handed back) and "refused" (reported); the
 * query timeout.
 * Never: decides what a statement means, or acknowledges anything: the caller
 * hears the outcome only when the transaction's Sync arrived (it committed).
 * Callers: daemon/store_pg.c (which owns the pool and is its intake source);
 * every other module through store_pg_query().
 */
#ifndef HOTLINE_PGPOOL_H
#define HOTLINE_PGPOOL_H

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "queries.h"

struct pgpool;

/*
 * The result of a statement: res is valid only during the call (NULL when error
 * is set). The statement ran as its own transaction, which has committed when res
 * is given. A transient failure (connection lost, server shutting down,
 * serialization failure, schema not migrated yet) never gets here: the statement
 * is sent again, so it must be safe to repeat. A data error calls back with it.
 */
typedef void (*pgpool_result_fn)(void *arg, const PGresult *res, const char *error);

/* Why a source's transaction failed for good (not a transient failure). */
struct pgpool_failure {
	const char *sqlstate; /* "" when not the server's */
	const char *message;
};

/*
 * A source of transactions built by their owner: the intake path's batches
 * (the source given to pgpool_new), the transitions' group commit (added with
 * pgpool_add_source). take() returns a transaction
 * ready to send, or NULL; send() puts its statements (not the Sync) on pg;
 * result() sees each result before the Sync (true: it kept res); done() reports
 * the outcome once the Sync arrived (failure NULL: committed); lost() hands back a
 * transaction whose outcome is unknown or whose failure was transient, to be sent
 * again; connected() runs whenever a connection becomes ready (the config mirror
 * is re-synced then; may be NULL). All are called from the loop, never from
 * inside a pgpool_* call of the source itself.
 */
struct pgpool_source {
	void *owner;
	void *(*take)(void *owner);
	int (*send)(void *owner, void *work, PGconn *pg);
	bool (*result)(void *owner, void *work, PGresult *res);
	void (*done)(void *owner, void *work, const struct pgpool_failure *failure);
	void (*lost)(void *owner, void *work);
	void (*connected)(void *owner);
};

struct pgpool_stats {
	uint64_t reconnects;
	uint64_t queries;      /* statements run */
	size_t queries_queued; /* waiting for a connection */
	int connections_ready;
};

/* Sources a pool takes transactions from: the first, and the ones added. */
#define PGPOOL_MAX_SOURCES 4

/* cfg is borrowed (read live) and must outlive the pool. */
struct pgpool *pgpool_new(struct event_base *base, const struct hotline_config *cfg,
			  const struct pgpool_source *source) __attribute__((warn_unused_result));
void pgpool_free(struct pgpool *pool);

/* Starts connecting; never fails: an unreachable server is retried with backoff. */
void pgpool_start(struct pgpool *pool);

/*
 * Runs the prepared statement q (one transaction) with text parameters values[0..
 * queries[q].nparams) (copied; NULL entries are SQL NULL). cb runs later from the
 * loop, never from inside this call. first: ahead of the statements already
 * waiting (the config mirror on a new connection).
 */
void pgpool_query(struct pgpool *pool, enum query q, const char *const *values, pgpool_result_fn cb,
		  void *arg);
void pgpool_query_first(struct pgpool *pool, enum query q, const char *const *values,
			pgpool_result_fn cb, void *arg);

/*
 * Adds a source (copied; its owner must outlive the pool or remove it first):
 * idle connections ask every source in turn, and the statements' FIFO after
 * them. Returns 0, or -1 when PGPOOL_MAX_SOURCES are there already.
 */
int pgpool_add_source(struct pgpool *pool, const struct pgpool_source *source)
	__attribute__((warn_unused_result));
/* Forgets the source of owner: it is asked nothing more, and hears nothing of the
 * transactions it has in flight (their outcome unknown: never acknowledged). */
void pgpool_remove_source(struct pgpool *pool, void *owner);

/* A source may have work now: idle connections ask it (from the loop). */
void pgpool_kick(struct pgpool *pool);

void pgpool_get_stats(const struct pgpool *pool, struct pgpool_stats *out);

/*
 * Sends the prepared statement q on pg with these parameters (lengths and
 * formats may be NULL: text); for the source's send(). Returns 0 or -1.
 */
int pgpool_send_prepared(PGconn *pg, enum query q, const char *const *values, const int *lengths,
			 const int *formats) __attribute__((warn_unused_result));

#endif
