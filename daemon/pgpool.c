/*
 * pgpool.c - PostgreSQL connections, prepared statements, and the statement queue.
 *
 * A connection goes WAITING (backoff) -> CONNECTING (PQconnectPoll) -> PREPARING
 * (pipeline mode; every statement of queries/ prepared by name, one Sync) ->
 * READY (idle, or one transaction in flight). Whenever a ready connection is idle
 * it sends the next transaction: a statement from the FIFO, or a batch a source
 * (the intake path, the transitions' group commit) has ready, taking turns when
 * several wait. A transaction is its
 * statements and a pipeline Sync; its owner hears the outcome when the Sync
 * arrives, i.e. after the implicit transaction committed (or failed).
 *
 * Failures: a lost connection, or a transient SQLSTATE (connection exception,
 * serialization failure or deadlock, insufficient resources, shutdown, system
 * error, a schema not migrated yet, a standby, a prepared statement whose plan's
 * result type changed under a migration) drops the connection, hands the
 * transaction back (the statement goes to the head of the FIFO; the source gets
 * lost()) and reconnects with exponential backoff. Anything else is reported to
 * the owner. A transaction unanswered for query_timeout_ms drops the connection.
 */
#include "pgpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "backoff.h"
#include "log.h"

enum pgconn_state {
	PGCONN_WAITING,	   /* backoff timer running before the next attempt */
	PGCONN_CONNECTING, /* PQconnectPoll in progress */
	PGCONN_PREPARING,  /* pipeline mode; the statements' Prepare and Sync sent */
	PGCONN_READY	   /* idle, or one transaction in flight */
};

/* A statement waiting for, or in, a transaction of its own. */
struct pgquery {
	TAILQ_ENTRY(pgquery) link;
	enum query q;
	char **values; /* copies, in the same allocation as the struct */
	pgpool_result_fn cb;
	void *arg;
	PGresult *result; /* kept until the Sync */
};
TAILQ_HEAD(pgquery_list, pgquery);

/* What a connection has in flight. */
struct inflight {
	struct pgquery *query; /* a statement, or */
	void *work;	       /* a source transaction */
	int source;	       /* ... of this source (pgpool->sources) */
	bool failed;
	char sqlstate[6];
	char message[256];
};

struct pgconn {
	struct pgpool *pool;
	int index;
	enum pgconn_state state;
	PGconn *pg;
	struct event *ev_read;	/* persistent while PREPARING/READY; one-shot while CONNECTING */
	struct event *ev_write; /* one-shot: socket writable (connect step or flush) */
	struct event *ev_timer; /* backoff, or the query timeout of what is in flight */
	bool busy;		/* a transaction (or the preparation) is in flight */
	struct inflight in;
	long backoff_ms;
	int nulls; /* consecutive NULL results: guards the result loop */
};

struct pgpool {
	struct event_base *base;
	const struct hotline_config *cfg;
	struct pgpool_source sources[PGPOOL_MAX_SOURCES]; /* take NULL: removed */
	int nsources;
	struct pgquery_list queries;
	size_t queries_queued;
	int turn; /* fairness: who is asked first next (nsources: the statements' FIFO) */
	struct pgconn *conns;
	int nconns;
	struct event *ev_kick; /* deferred "try to send" so callers never re-enter */
	struct pgpool_stats stats;
};

static void pgconn_schedule_connect(struct pgconn *pc, long delay_ms);
static void pgconn_drop(struct pgconn *pc, const char *why);

/* SQLSTATEs after which the same work should simply be tried again later. */
static bool sqlstate_transient(const char *state)
{
	if (state[0] == '\0')
		return true; /* no server error: a client-side or connection failure */
	return strncmp(state, "08", 2) == 0 || /* connection exception */
	       strncmp(state, "40", 2) == 0 || /* serialization failure, deadlock */
	       strncmp(state, "53", 2) == 0 || /* insufficient resources */
	       strncmp(state, "57", 2) == 0 || /* operator intervention (shutdown) */
	       strncmp(state, "58", 2) == 0 || /* system error */
	       strcmp(state, "42P01") == 0 ||  /* undefined table: not migrated yet */
	       strcmp(state, "42703") == 0 ||  /* undefined column: not migrated yet */
	       strcmp(state, "42883") == 0 ||  /* undefined function: not migrated yet */
	       strcmp(state, "26000") == 0 ||  /* no such prepared statement */
	       strcmp(state, "0A000") == 0 ||  /* cached plan's result type changed */
	       strcmp(state, "25006") == 0;    /* read-only transaction (a standby) */
}

int pgpool_send_prepared(PGconn *pg, enum query q, const char *const *values, const int *lengths,
			 const int *formats)
{
	return PQsendQueryPrepared(pg, queries[q].name, queries[q].nparams, values, lengths,
				   formats, 0)
		       ? 0
		       : -1;
}

/* ---- the statement queue ------------------------------------------------- */

static struct pgquery *query_new(enum query q, const char *const *values, pgpool_result_fn cb,
				 void *arg)
{
	int n = queries[q].nparams;
	size_t size = sizeof(struct pgquery) + (size_t)n * sizeof(char *);
	for (int i = 0; i < n; i++)
		if (values[i])
			size += strlen(values[i]) + 1;
	struct pgquery *query = calloc(1, size);
	if (!query)
		fatal("out of memory queueing statement %s", queries[q].name);
	query->q = q;
	query->values = (char **)(query + 1);
	char *p = (char *)(query->values + n);
	for (int i = 0; i < n; i++) {
		if (!values[i])
			continue;
		size_t len = strlen(values[i]) + 1;
		memcpy(p, values[i], len);
		query->values[i] = p;
		p += len;
	}
	query->cb = cb;
	query->arg = arg;
	return query;
}

void pgpool_query(struct pgpool *pool, enum query q, const char *const *values, pgpool_result_fn cb,
		  void *arg)
{
	struct pgquery *query = query_new(q, values, cb, arg); /* the macro names it twice */
	TAILQ_INSERT_TAIL(&pool->queries, query, link);
	pool->queries_queued++;
	pgpool_kick(pool);
}

void pgpool_query_first(struct pgpool *pool, enum query q, const char *const *values,
			pgpool_result_fn cb, void *arg)
{
	struct pgquery *query = query_new(q, values, cb, arg);
	TAILQ_INSERT_HEAD(&pool->queries, query, link);
	pool->queries_queued++;
	pgpool_kick(pool);
}

/* What is in flight goes back: the statement to the head of the FIFO, a source
 * transaction to its owner. */
static void inflight_hand_back(struct pgpool *pool, struct inflight *in)
{
	if (in->query) {
		if (in->query->result)
			PQclear(in->query->result);
		in->query->result = NULL;
		TAILQ_INSERT_HEAD(&pool->queries, in->query, link);
		pool->queries_queued++;
	} else if (in->work) {
		pool->sources[in->source].lost(pool->sources[in->source].owner, in->work);
	}
	memset(in, 0, sizeof(*in));
}

/* ---- sending ---------------------------------------------------------------- */

/* Flushes libpq's output; arms the write event while data remains. */
static int pgconn_flush(struct pgconn *pc)
{
	int rc = PQflush(pc->pg);
	if (rc < 0)
		return -1;
	if (rc > 0 && event_add(pc->ev_write, NULL) != 0)
		return -1;
	return 0;
}

static int arm_query_timeout(struct pgconn *pc)
{
	long ms = pc->pool->cfg->pg_query_timeout_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	return event_add(pc->ev_timer, &tv);
}

/* Sends the next transaction on an idle ready connection, if there is work. */
static void pgconn_dispatch(struct pgconn *pc)
{
	struct pgpool *pool = pc->pool;
	if (pc->state != PGCONN_READY || pc->busy)
		return;
	struct inflight in = { 0 };
	int rc;
	/* Each source in turn, then the FIFO: whoever sent last is asked last, so a
	 * flood of statements never starves the feeds' batches, nor they the rest. */
	int slots = pool->nsources + 1;
	for (int i = 0; i < slots && !in.work && !in.query; i++) {
		int s = (pool->turn + i) % slots;
		if (s == pool->nsources) {
			in.query = TAILQ_FIRST(&pool->queries);
		} else if (pool->sources[s].take) {
			in.source = s;
			in.work = pool->sources[s].take(pool->sources[s].owner);
		}
		if (in.work || in.query)
			pool->turn = (s + 1) % slots;
	}
	if (in.work) {
		rc = pool->sources[in.source].send(pool->sources[in.source].owner, in.work, pc->pg);
	} else if (in.query) {
		TAILQ_REMOVE(&pool->queries, in.query, link);
		pool->queries_queued--;
		rc = pgpool_send_prepared(pc->pg, in.query->q,
					  (const char *const *)in.query->values, NULL, NULL);
	} else {
		return;
	}
	pc->in = in;
	pc->busy = true;
	pc->nulls = 0;
	if (rc != 0 || !PQpipelineSync(pc->pg) || pgconn_flush(pc) != 0 ||
	    arm_query_timeout(pc) != 0) {
		pgconn_drop(pc, PQerrorMessage(pc->pg));
		return;
	}
}

/* ---- results ---------------------------------------------------------------- */

/* The Sync of what was in flight arrived: its transaction is over. */
static void transaction_complete(struct pgconn *pc)
{
	struct pgpool *pool = pc->pool;
	struct inflight in = pc->in;
	memset(&pc->in, 0, sizeof(pc->in));
	pc->busy = false;
	event_del(pc->ev_timer);
	pc->backoff_ms = 0;
	if (pc->state == PGCONN_PREPARING) {
		if (in.failed) {
			char why[400];
			snprintf(why, sizeof(why), "preparing the statements failed (%s: %s)",
				 in.sqlstate, in.message);
			pgconn_drop(pc, why);
			return;
		}
		pc->state = PGCONN_READY;
		pool->stats.connections_ready++;
		log_info("pgpool: connection %d to PostgreSQL ready (server %d, %d statements "
			 "prepared)",
			 pc->index, PQserverVersion(pc->pg), (int)QUERY_COUNT);
		for (int s = 0; s < pool->nsources; s++)
			if (pool->sources[s].take && pool->sources[s].connected)
				pool->sources[s].connected(pool->sources[s].owner);
		pgpool_kick(pool);
		return;
	}
	if (in.failed && sqlstate_transient(in.sqlstate)) {
		log_warn("pgpool: transaction not committed (%s%s%s); retrying", in.sqlstate,
			 in.sqlstate[0] ? ": " : "", in.message);
		inflight_hand_back(pool, &in);
		pgconn_drop(pc, "transient error");
		return;
	}
	if (in.work) {
		struct pgpool_failure failure = { in.sqlstate, in.message };
		pool->sources[in.source].done(pool->sources[in.source].owner, in.work,
					      in.failed ? &failure : NULL);
		return;
	}
	struct pgquery *query = in.query;
	if (!query)
		return; /* its source was removed while it was in flight */
	pool->stats.queries++;
	if (in.failed)
		query->cb(query->arg, NULL, in.message[0] ? in.message : "statement failed");
	else
		query->cb(query->arg, query->result, NULL);
	if (query->result)
		PQclear(query->result);
	free(query);
}

/* Returns true when it kept res (the caller must not clear it). */
static bool pgconn_on_result(struct pgconn *pc, PGresult *res)
{
	struct inflight *in = &pc->in;
	ExecStatusType st = PQresultStatus(res);
	switch (st) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		if (in->work)
			return pc->pool->sources[in->source].result(
				pc->pool->sources[in->source].owner, in->work, res);
		if (in->query && !in->query->result) {
			in->query->result = res;
			return true; /* kept until the Sync */
		}
		return false;
	case PGRES_PIPELINE_ABORTED:
		in->failed = true;
		return false;
	case PGRES_PIPELINE_SYNC:
		transaction_complete(pc);
		return false;
	default: {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		if (!in->failed) {
			snprintf(in->sqlstate, sizeof(in->sqlstate), "%s", state ? state : "");
			snprintf(in->message, sizeof(in->message), "%s",
				 msg ? msg : PQresStatus(st));
		}
		in->failed = true;
		return false;
	}
	}
}

/* Reads every result that is complete; stops when libpq needs more input. */
static void pgconn_drain_results(struct pgconn *pc)
{
	while ((pc->state == PGCONN_READY || pc->state == PGCONN_PREPARING) && pc->busy) {
		if (PQisBusy(pc->pg))
			return;
		PGresult *res = PQgetResult(pc->pg);
		if (!res) {
			/* End of one statement's results; a second NULL in a row means
			 * nothing more is ready. */
			if (++pc->nulls > 1)
				return;
			continue;
		}
		pc->nulls = 0;
		if (!pgconn_on_result(pc, res))
			PQclear(res);
	}
	if ((pc->state == PGCONN_READY || pc->state == PGCONN_PREPARING) &&
	    PQstatus(pc->pg) == CONNECTION_BAD)
		pgconn_drop(pc, PQerrorMessage(pc->pg));
}

static void on_pg_readable(evutil_socket_t fd, short what, void *arg)
{
	struct pgconn *pc = arg;
	if (!PQconsumeInput(pc->pg)) {
		pgconn_drop(pc, PQerrorMessage(pc->pg));
		return;
	}
	pgconn_drain_results(pc);
	if (pc->state == PGCONN_READY)
		pgconn_dispatch(pc);
}

static void on_pg_writable(evutil_socket_t fd, short what, void *arg)
{
	struct pgconn *pc = arg;
	if (pgconn_flush(pc) != 0)
		pgconn_drop(pc, PQerrorMessage(pc->pg));
}

/* ---- connecting ------------------------------------------------------------ */

static void pgconn_free_events(struct pgconn *pc)
{
	if (pc->ev_read) {
		event_free(pc->ev_read);
		pc->ev_read = NULL;
	}
	if (pc->ev_write) {
		event_free(pc->ev_write);
		pc->ev_write = NULL;
	}
}

/*
 * Copies libpq's message why into buf (len bytes) as one line: its lines joined
 * with "; ". A conninfo naming several hosts (a primary and its standbys) fails
 * with one line per host tried, and the reason the standby was refused ("session
 * is read-only") is on the last.
 */
static void one_line(char *buf, size_t len, const char *why)
{
	size_t at = 0;
	bool pending_sep = false;
	for (const char *p = why; *p && at + 1 < len; p++) {
		if (*p == '\n' || *p == '\r' || (*p == '\t' && (p == why || p[-1] == '\n'))) {
			pending_sep = at > 0;
			continue;
		}
		if (pending_sep) {
			int n = snprintf(buf + at, len - at, "; ");
			at = n > 0 && (size_t)n < len - at ? at + (size_t)n : len - 1;
			pending_sep = false;
			if (at + 1 >= len)
				break;
		}
		buf[at++] = *p;
	}
	buf[at] = '\0';
}

/*
 * Drops the connection: what is in flight goes back (without its Sync nobody
 * knows whether it committed; sending it again is safe: intake is idempotent on
 * (feed, external_id), statements are written to be).
 */
static void pgconn_drop(struct pgconn *pc, const char *why)
{
	struct pgpool *pool = pc->pool;
	char reason[512];
	one_line(reason, sizeof(reason), why && why[0] ? why : "unknown error");
	if (pc->busy)
		inflight_hand_back(pool, &pc->in);
	pc->busy = false;
	if (pc->state == PGCONN_READY)
		pool->stats.connections_ready--;
	pgconn_free_events(pc);
	if (pc->pg) {
		PQfinish(pc->pg);
		pc->pg = NULL;
	}
	/* Jitter (+0..25%) keeps many daemons from reconnecting in lockstep. */
	long delay = backoff_next(&pc->backoff_ms, pool->cfg->pg_reconnect_min_ms,
				  pool->cfg->pg_reconnect_max_ms, 0, 25, (unsigned long)random());
	log_warn("pgpool: connection %d to PostgreSQL lost (%s); retrying in %ld ms", pc->index,
		 reason, delay);
	pool->stats.reconnects++;
	pgconn_schedule_connect(pc, delay);
	pgpool_kick(pool); /* another ready connection may take the work handed back */
}

/* In pipeline mode: prepares every statement hotlined runs, then one Sync. */
static void pgconn_prepare(struct pgconn *pc)
{
	struct pgpool *pool = pc->pool;
	pgconn_free_events(pc);
	if (PQsetnonblocking(pc->pg, 1) != 0 || !PQenterPipelineMode(pc->pg)) {
		pgconn_drop(pc, PQerrorMessage(pc->pg));
		return;
	}
	int sock = PQsocket(pc->pg);
	pc->ev_read = event_new(pool->base, sock, EV_READ | EV_PERSIST, on_pg_readable, pc);
	pc->ev_write = event_new(pool->base, sock, EV_WRITE, on_pg_writable, pc);
	if (!pc->ev_read || !pc->ev_write)
		fatal("out of memory creating PostgreSQL events");
	pc->state = PGCONN_PREPARING;
	pc->busy = true;
	pc->nulls = 0;
	memset(&pc->in, 0, sizeof(pc->in));
	bool ok = event_add(pc->ev_read, NULL) == 0;
	for (int q = 0; ok && q < QUERY_COUNT; q++)
		if (queries[q].daemon)
			ok = PQsendPrepare(pc->pg, queries[q].name, queries[q].text,
					   queries[q].nparams, NULL) != 0;
	if (!ok || !PQpipelineSync(pc->pg) || pgconn_flush(pc) != 0 || arm_query_timeout(pc) != 0)
		pgconn_drop(pc, PQerrorMessage(pc->pg));
}

static void pgconn_connect_step(struct pgconn *pc);

static void on_connect_io(evutil_socket_t fd, short what, void *arg)
{
	pgconn_connect_step(arg);
}

/* Advances PQconnectPoll and waits for whatever the socket must do next. */
static void pgconn_connect_step(struct pgconn *pc)
{
	struct pgpool *pool = pc->pool;
	PostgresPollingStatusType st = PQconnectPoll(pc->pg);
	pgconn_free_events(pc);
	switch (st) {
	case PGRES_POLLING_OK:
		pgconn_prepare(pc);
		return;
	case PGRES_POLLING_FAILED:
		pgconn_drop(pc, PQerrorMessage(pc->pg));
		return;
	case PGRES_POLLING_READING:
	case PGRES_POLLING_WRITING:
	default: {
		/* The socket can change between attempts (several hosts). */
		short ev = st == PGRES_POLLING_WRITING ? EV_WRITE : EV_READ;
		pc->ev_read = event_new(pool->base, PQsocket(pc->pg), ev, on_connect_io, pc);
		if (!pc->ev_read)
			fatal("out of memory creating PostgreSQL events");
		if (event_add(pc->ev_read, NULL) != 0)
			pgconn_drop(pc, "cannot watch the connection's socket");
		return;
	}
	}
}

static void pgconn_begin_connect(struct pgconn *pc)
{
	const struct hotline_config *cfg = pc->pool->cfg;
	/* Defaults first: anything in conninfo (expanded from dbname) overrides them.
	 * jit=off: the intake statement's estimated cost passes jit_above_cost, and
	 * compiling it anew for every batch costs more than it saves. */
	char options[96];
	snprintf(options, sizeof(options), "-c work_mem=%s -c jit=off", cfg->pg_work_mem);
	const char *keys[] = { "application_name",
			       "connect_timeout",
			       "keepalives",
			       "keepalives_idle",
			       "keepalives_interval",
			       "keepalives_count",
			       "options",
			       "dbname",
			       NULL };
	const char *values[] = { "hotlined",	   "10", "1", "30", "10", "3", options,
				 cfg->pg_conninfo, NULL };
	pc->pg = PQconnectStartParams(keys, values, 1);
	if (!pc->pg)
		fatal("out of memory starting a PostgreSQL connection");
	if (PQstatus(pc->pg) == CONNECTION_BAD) {
		pgconn_drop(pc, PQerrorMessage(pc->pg));
		return;
	}
	pc->state = PGCONN_CONNECTING;
	pgconn_connect_step(pc);
}

static void on_pgconn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pgconn *pc = arg;
	if (pc->state == PGCONN_WAITING) {
		pgconn_begin_connect(pc);
	} else if (pc->busy) {
		char why[96];
		snprintf(why, sizeof(why), "no answer within query_timeout_ms = %ld",
			 pc->pool->cfg->pg_query_timeout_ms);
		pgconn_drop(pc, why);
	}
}

static void pgconn_schedule_connect(struct pgconn *pc, long delay_ms)
{
	pc->state = PGCONN_WAITING;
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };
	if (event_add(pc->ev_timer, &tv) != 0)
		fatal("cannot arm the PostgreSQL reconnect timer");
}

/* ---- the pool ----------------------------------------------------------- */

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct pgpool *pool = arg;
	for (int i = 0; i < pool->nconns; i++)
		pgconn_dispatch(&pool->conns[i]);
}

void pgpool_kick(struct pgpool *pool)
{
	event_active(pool->ev_kick, EV_TIMEOUT, 0);
}

struct pgpool *pgpool_new(struct event_base *base, const struct hotline_config *cfg,
			  const struct pgpool_source *source)
{
	struct pgpool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	pool->base = base;
	pool->cfg = cfg;
	pool->sources[0] = *source;
	pool->nsources = 1;
	TAILQ_INIT(&pool->queries);
	pool->nconns = (int)cfg->pg_connections;
	pool->conns = calloc((size_t)pool->nconns, sizeof(*pool->conns));
	pool->ev_kick = event_new(base, -1, 0, on_kick, pool);
	if (!pool->conns || !pool->ev_kick) {
		if (pool->ev_kick)
			event_free(pool->ev_kick);
		free(pool->conns);
		free(pool);
		return NULL;
	}
	for (int i = 0; i < pool->nconns; i++) {
		struct pgconn *pc = &pool->conns[i];
		pc->pool = pool;
		pc->index = i;
		pc->state = PGCONN_WAITING;
		pc->ev_timer = event_new(base, -1, 0, on_pgconn_timer, pc);
		if (!pc->ev_timer)
			fatal("out of memory creating PostgreSQL timers");
	}
	return pool;
}

void pgpool_start(struct pgpool *pool)
{
	for (int i = 0; i < pool->nconns; i++)
		pgconn_schedule_connect(&pool->conns[i], 0);
}

void pgpool_free(struct pgpool *pool)
{
	if (!pool)
		return;
	for (int i = 0; i < pool->nconns; i++) {
		struct pgconn *pc = &pool->conns[i];
		pgconn_free_events(pc);
		if (pc->ev_timer)
			event_free(pc->ev_timer);
		if (pc->pg)
			PQfinish(pc->pg);
		if (pc->busy && pc->state == PGCONN_READY)
			inflight_hand_back(pool, &pc->in); /* at exit: never acknowledged */
	}
	struct pgquery *query;
	while ((query = TAILQ_FIRST(&pool->queries)) != NULL) {
		TAILQ_REMOVE(&pool->queries, query, link);
		if (query->result)
			PQclear(query->result);
		free(query);
	}
	event_free(pool->ev_kick);
	free(pool->conns);
	free(pool);
}

int pgpool_add_source(struct pgpool *pool, const struct pgpool_source *source)
{
	if (pool->nsources == PGPOOL_MAX_SOURCES)
		return -1;
	pool->sources[pool->nsources++] = *source;
	pgpool_kick(pool);
	return 0;
}

void pgpool_remove_source(struct pgpool *pool, void *owner)
{
	for (int s = 0; s < pool->nsources; s++) {
		if (pool->sources[s].owner != owner || !pool->sources[s].take)
			continue;
		pool->sources[s].take = NULL;
		/* Its transactions in flight end unheard: the owner frees them itself. */
		for (int i = 0; i < pool->nconns; i++) {
			struct inflight *in = &pool->conns[i].in;
			if (pool->conns[i].busy && in->work && in->source == s)
				in->work = NULL;
		}
	}
}

void pgpool_get_stats(const struct pgpool *pool, struct pgpool_stats *out)
{
	*out = pool->stats;
	out->queries_queued = pool->queries_queued;
}
