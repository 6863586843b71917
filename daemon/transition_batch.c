/*
 * transition_batch.c - the group commit of transitions: this module's pgpool source.
 *
 * Owns: taking the writes waiting (up to BATCH_MAX, in ticket order:
 * lib/write_batch.c) and the reads waiting into one batch; sending it as one
 * transaction (transition_plans.sql, every ticket_write.sql, then
 * ticket_write_stats.sql for the rollup of what they moved, then the reads, one
 * Sync); handing each job its own result once the Sync says committed; a batch
 * failed on data goes again one job per transaction, a batch whose outcome is
 * unknown goes again whole (transition.c's opening comment says why that is safe).
 * Never: decides a move (transition.c, lib/ticket_state.c) or answers an actor
 * before the commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kpi.h"
#include "log.h"
#include "pgarray.h"
#include "queries.h"
#include "transition_private.h"
#include "write_batch.h"

void transition_batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->nres; i++)
		PQclear(b->res[i]);
	free(b);
}

/* The batch's jobs go back to the heads of their queues, in its order; solo: each
 * of them alone from now on. */
static void batch_requeue(struct transitions *t, struct batch *b, bool solo)
{
	for (size_t i = b->nwrites + b->nreads; i-- > 0;) {
		struct job *job = b->jobs[i];
		job->solo = job->solo || solo;
		if (i < b->nwrites) {
			TAILQ_INSERT_HEAD(&t->ready, job, link);
			t->nready++;
		} else {
			TAILQ_INSERT_HEAD(&t->to_read, job, link);
			t->nto_read++;
		}
	}
	LIST_REMOVE(b, link);
	transition_batch_free(b);
	pgpool_kick(t->pool);
}

/* Takes the writes of the next batch from the ready queue (lib/write_batch.c). */
static void take_writes(struct transitions *t, struct batch *b)
{
	struct write_batch_item items[BATCH_MAX];
	struct job *queued[BATCH_MAX];
	size_t order[BATCH_MAX], n = 0;
	for (struct job *job = TAILQ_FIRST(&t->ready); job && n < BATCH_MAX;
	     job = TAILQ_NEXT(job, link)) {
		queued[n] = job;
		items[n++] = (struct write_batch_item){ job->ticket_id, job->solo };
	}
	b->nwrites = write_batch_plan(items, n, BATCH_MAX, order);
	for (size_t i = 0; i < b->nwrites; i++) {
		b->jobs[i] = queued[order[i]];
		TAILQ_REMOVE(&t->ready, queued[i], link);
	}
	t->nready -= b->nwrites;
}

/*
 * pgpool: what waits now, as one transaction (NULL: nothing): the decided writes,
 * then the reads of new jobs (and of jobs deciding again) up to BATCH_MAX in all. A
 * job marked solo (its batch failed on data) goes alone.
 */
static void *batch_take(void *owner)
{
	struct transitions *t = owner;
	if (t->nready == 0 && t->nto_read == 0)
		return NULL;
	struct batch *b = malloc(sizeof(*b));
	if (!b) {
		log_warn("transition: out of memory for a batch; its work waits");
		return NULL;
	}
	b->nwrites = b->nreads = b->nres = 0;
	b->plans_seen = false;
	if (t->nready > 0)
		take_writes(t, b);
	bool alone = b->nwrites == 1 && b->jobs[0]->solo;
	struct job *job;
	while (!alone && b->nwrites + b->nreads < BATCH_MAX &&
	       (job = TAILQ_FIRST(&t->to_read)) != NULL) {
		if (job->solo && b->nwrites + b->nreads > 0)
			break;
		TAILQ_REMOVE(&t->to_read, job, link);
		t->nto_read--;
		b->jobs[b->nwrites + b->nreads++] = job;
		alone = job->solo;
	}
	LIST_INSERT_HEAD(&t->flying, b, link);
	return b;
}

/* Sends the rollup of the batch's writes (queries/ticket_write_stats.sql). */
static int send_stats(struct transitions *t, const struct batch *b, PGconn *pg)
{
	struct pgarray ids = { 0 }, keys = { 0 }, counters = { 0 }, child_counters = { 0 },
		       on_time = { 0 }, depts = { 0 };
	pgarray_begin_text(&ids);
	pgarray_begin_text(&keys);
	pgarray_begin_text(&counters);
	pgarray_begin_text(&child_counters);
	pgarray_begin_text(&on_time);
	pgarray_begin_text(&depts);
	for (size_t i = 0; i < b->nwrites; i++) {
		const struct job *job = b->jobs[i];
		pgarray_text_int64(&ids, job->ticket_id);
		pgarray_text_int64(&keys, job->write_key);
		pgarray_text_int64(&counters, job->counters);
		pgarray_text_int64(&child_counters, job->child_counters);
		if (job->on_time < 0)
			pgarray_text_null(&on_time);
		else
			pgarray_text(&on_time, job->on_time == 1 ? "t" : "f", 1);
		pgarray_text(&depts, job->stats_dept, strlen(job->stats_dept));
	}
	int rc = -1;
	if (pgarray_end(&ids) == 0 && pgarray_end(&keys) == 0 && pgarray_end(&counters) == 0 &&
	    pgarray_end(&child_counters) == 0 && pgarray_end(&on_time) == 0 &&
	    pgarray_end(&depts) == 0) {
		const char *values[TICKET_WRITE_STATS_NPARAMS] = {
			[TICKET_WRITE_STATS_P_TICKET_IDS] = ids.data,
			[TICKET_WRITE_STATS_P_WRITE_KEYS] = keys.data,
			[TICKET_WRITE_STATS_P_COUNTERS] = counters.data,
			[TICKET_WRITE_STATS_P_CHILD_COUNTERS] = child_counters.data,
			[TICKET_WRITE_STATS_P_ON_TIME] = on_time.data,
			[TICKET_WRITE_STATS_P_STATS_DEPTS] = depts.data,
			[TICKET_WRITE_STATS_P_TIMEZONE] = t->cfg->pg_timezone,
			[TICKET_WRITE_STATS_P_HIST_BOUNDS] = kpi_hist_bounds_literal(),
		};
		rc = pgpool_send_prepared(pg, QUERY_TICKET_WRITE_STATS, values, NULL, NULL);
	}
	pgarray_free(&ids);
	pgarray_free(&keys);
	pgarray_free(&counters);
	pgarray_free(&child_counters);
	pgarray_free(&on_time);
	pgarray_free(&depts);
	return rc;
}

/* pgpool: the plan mode (transition_plans.sql), every write of the batch, the rollup
 * of what they moved, every read. */
static int batch_send(void *owner, void *work, PGconn *pg)
{
	struct transitions *t = owner;
	struct batch *b = work;
	if (pgpool_send_prepared(pg, QUERY_TRANSITION_PLANS, NULL, NULL, NULL) != 0)
		return -1;
	for (size_t i = 0; i < b->nwrites; i++)
		if (pgpool_send_prepared(pg, QUERY_TICKET_WRITE,
					 (const char *const *)b->jobs[i]->write_values, NULL,
					 NULL) != 0)
			return -1;
	if (b->nwrites > 0 && send_stats(t, b, pg) != 0)
		return -1;
	for (size_t i = b->nwrites; i < b->nwrites + b->nreads; i++) {
		const struct job *job = b->jobs[i];
		char key[24];
		snprintf(key, sizeof(key), "%lld",
			 job->attempts > 0 ? (long long)job->write_key : 0LL);
		const char *values[TICKET_READ_NPARAMS] = {
			[TICKET_READ_P_TICKET_NO] = job->ticket_no, [TICKET_READ_P_WRITE_KEY] = key
		};
		if (pgpool_send_prepared(pg, QUERY_TICKET_READ, values, NULL, NULL) != 0)
			return -1;
	}
	return 0;
}

/* pgpool: each result in the order sent, kept until the Sync. */
static bool batch_result(void *owner, void *work, PGresult *res)
{
	struct batch *b = work;
	if (!b->plans_seen) { /* transition_plans' */
		b->plans_seen = true;
		return false;
	}
	if (b->nres == sizeof(b->res) / sizeof(b->res[0]))
		return false;
	b->res[b->nres++] = res;
	return true;
}

/* pgpool: the Sync arrived: committed (failure NULL), or rolled back on data. */
static void batch_done(void *owner, void *work, const struct pgpool_failure *failure)
{
	struct transitions *t = owner;
	struct batch *b = work;
	size_t n = b->nwrites + b->nreads;
	if (failure && n > 1) {
		/* Nothing of it was written: each job goes again in a transaction of its
		 * own, so that only the one at fault fails. */
		log_warn("transition: a batch of %zu writes and %zu reads failed (%s%s%s); "
			 "sending them one by one",
			 b->nwrites, b->nreads, failure->sqlstate, failure->sqlstate[0] ? ": " : "",
			 failure->message);
		t->stats.split++;
		batch_requeue(t, b, true);
		return;
	}
	LIST_REMOVE(b, link);
	if (!failure && b->nwrites > 0) {
		t->stats.batches++;
		t->stats.writes += b->nwrites;
		if (b->nwrites > t->stats.batch_max)
			t->stats.batch_max = b->nwrites;
	}
	size_t stats = b->nwrites > 0 ? 1 : 0; /* the rollup's result sits after the writes' */
	for (size_t i = 0; i < n; i++) {
		size_t at = i < b->nwrites ? i : i + stats;
		const PGresult *res = !failure && at < b->nres ? b->res[at] : NULL;
		const char *error = failure ? failure->message : res ? NULL : "no result";
		if (i < b->nwrites)
			transition_written(b->jobs[i], res, error);
		else
			transition_read_done(b->jobs[i], res, error);
	}
	transition_batch_free(b);
}

/* pgpool: the outcome is unknown (or the failure transient): the batch goes again. */
static void batch_lost(void *owner, void *work)
{
	batch_requeue(owner, work, false);
}

struct pgpool_source transition_batch_source(struct transitions *t)
{
	return (struct pgpool_source){ .owner = t,
				       .take = batch_take,
				       .send = batch_send,
				       .result = batch_result,
				       .done = batch_done,
				       .lost = batch_lost };
}
