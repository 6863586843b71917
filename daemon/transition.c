/*
 * transition.c - one event on one stored ticket: read, decide, write.
 *
 * Read (queries/ticket_read.sql), decide (lib/ticket_state.c: the next status
 * and every effect of the move, its linked repeat complaints' move too), write
 * (queries/ticket_write.sql, one statement that applies those decisions and
 * decides nothing). The UPDATE carries "AND version = <read>", so it changes
 * nothing when someone else got there first; then the cycle runs again.
 *
 * Group commit (transition_batch.c): a decided write waits in the ready queue;
 * whenever a connection is free the pool asks this module (a pgpool source) for a batch: every
 * write waiting (up to BATCH_MAX, in ticket order: lib/write_batch.c), then
 * queries/ticket_write_stats.sql, which adds to the statistics' rollup what those
 * writes moved, and one Sync: one transaction, one commit for many events. Each
 * job hears its outcome only after that commit. A write that matched no row
 * (the version moved) reads and decides again, alone, as before; the others of
 * its batch are done. A batch that fails on data was rolled back whole: its
 * writes go again one per transaction, so that only the one at fault fails. A
 * batch whose outcome is unknown (connection lost before the Sync) goes again
 * whole: a write that had committed then matches nothing, and the re-read finds
 * its key (011_write_key, 013).
 */
#include "transition.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "kpi.h"
#include "log.h"
#include "pgarray.h"
#include "pgtext.h"
#include "transition_private.h"

#define MAX_ATTEMPTS 3

/* A callback tried again after an unreachable call waits this long in the outbox,
 * so that it does not go straight back to the agent who just called. */
#define CALLBACK_RETRY_DELAY_MS 5000

static void job_read(struct job *job);

void transition_job_free(struct job *job)
{
	free(job->write_values);
	free(job->text);
	free(job);
}

static void job_finish(struct job *job, enum transition_outcome outcome, const char *message,
		       enum ticket_state state, const char *feed_code)
{
	struct transition_result result = { outcome, message, state, feed_code, false };
	job->done(job->arg, &result);
	transition_job_free(job);
}

static void job_invalid(struct job *job, const char *message, enum ticket_state state)
{
	struct transition_result result = { TRANSITION_REFUSED, message, state, NULL, true };
	job->done(job->arg, &result);
	transition_job_free(job);
}

/* The batch holding job committed (error NULL; res: its write's result) or failed. */
void transition_written(struct job *job, const PGresult *res, const char *error)
{
	free(job->write_values);
	job->write_values = NULL;
	if (error) {
		log_warn("transition: %s on %s failed: %s", ticket_event_name(job->kind),
			 job->ticket_no, error);
		job_finish(job, TRANSITION_FAILED, "the change could not be stored; try again",
			   job->before, NULL);
		return;
	}
	if (PQntuples(res) == 0) {
		/* Someone changed the ticket after we read it: read and decide again. */
		if (++job->attempts < MAX_ATTEMPTS) {
			job_read(job);
			return;
		}
		job_finish(job, TRANSITION_BUSY, "the ticket is changing concurrently; try again",
			   job->before, NULL);
		return;
	}
	log_info("ticket %s: %s by %s: %s -> %s", job->ticket_no, ticket_event_name(job->kind),
		 job->actor, ticket_state_name(job->before), ticket_state_name(job->after));
	job_finish(job, TRANSITION_DONE, NULL, job->after,
		   PQgetvalue(res, 0, TICKET_WRITE_C_FEED_CODE));
}

/* A fresh deadline for events that (re)dispatch a ticket. */
static int64_t dispatch_deadline(struct transitions *t, const char *category, int priority,
				 int64_t at_ms, const char *ticket_no)
{
	bool past_known = false;
	int64_t deadline = deadline_compute(&t->cfg->deadlines, t->calendar ? *t->calendar : NULL,
					    (int)t->cfg->utc_offset_minutes, priority, category,
					    at_ms, &past_known);
	if (past_known)
		log_warn("ticket %s: its deadline runs past the last year the calendar knows; "
			 "add next year's file to [calendar] dir",
			 ticket_no);
	return deadline > at_ms ? deadline : 0;
}

/* Reads the stored status; false (and the job finished) when a value is not one. */
static bool read_status(struct job *job, const PGresult *res, struct ticket_status *cur,
			int64_t *ticket_id, int32_t *version, int *priority, int64_t *dispatched_ms)
{
	ticket_status_init(cur);
	int state = ticket_state_from_name(PQgetvalue(res, 0, TICKET_READ_C_STATE));
	int rating = ticket_rating_from_name(PQgetvalue(res, 0, TICKET_READ_C_RATING));
	int32_t prio;
	bool ok =
		state > 0 &&
		pgtext_int64(PQgetvalue(res, 0, TICKET_READ_C_TICKET_ID), ticket_id) == 0 &&
		pgtext_int64(PQgetvalue(res, 0, TICKET_READ_C_DEADLINE_MS), &cur->deadline_at_ms) ==
			0 &&
		pgtext_uint32(PQgetvalue(res, 0, TICKET_READ_C_RETURN_COUNT), &cur->return_count) ==
			0 &&
		pgtext_uint32(PQgetvalue(res, 0, TICKET_READ_C_REOPEN_COUNT), &cur->reopen_count) ==
			0 &&
		pgtext_uint32(PQgetvalue(res, 0, TICKET_READ_C_EXTEND_COUNT), &cur->extend_count) ==
			0 &&
		pgtext_uint32(PQgetvalue(res, 0, TICKET_READ_C_CALLBACK_ATTEMPTS),
			      &cur->callback_attempts) == 0 &&
		pgtext_int32(PQgetvalue(res, 0, TICKET_READ_C_VERSION), version) == 0 &&
		pgtext_int32(PQgetvalue(res, 0, TICKET_READ_C_PRIORITY), &prio) == 0 &&
		pgtext_int64(PQgetvalue(res, 0, TICKET_READ_C_DISPATCHED_MS), dispatched_ms) == 0;
	if (!ok) {
		log_error("transition: ticket %s as stored cannot be read (state '%s')",
			  job->ticket_no, PQgetvalue(res, 0, TICKET_READ_C_STATE));
		job_finish(job, TRANSITION_FAILED, "the ticket could not be read", TICKET_RECEIVED,
			   NULL);
		return false;
	}
	cur->state = (enum ticket_state)state;
	cur->ruled = strcmp(PQgetvalue(res, 0, TICKET_READ_C_RULED), "t") == 0;
	cur->rating = rating > 0 ? (enum ticket_rating)rating : TICKET_RATING_NONE;
	snprintf(cur->dept_code, sizeof(cur->dept_code), "%s",
		 PQgetvalue(res, 0, TICKET_READ_C_DEPT_CODE));
	*priority = prio;
	return true;
}

static const char *yes(bool b)
{
	return b ? "t" : "f";
}

/* values[0..n) copied into one allocation (NULL entries stay NULL), or NULL. */
static char **values_copy(const char *const *values, int n)
{
	size_t size = (size_t)n * sizeof(char *);
	for (int i = 0; i < n; i++)
		if (values[i])
			size += strlen(values[i]) + 1;
	char **copy = calloc(1, size);
	if (!copy)
		return NULL;
	char *p = (char *)(copy + n);
	for (int i = 0; i < n; i++) {
		if (!values[i])
			continue;
		size_t len = strlen(values[i]) + 1;
		memcpy(p, values[i], len);
		copy[i] = p;
		p += len;
	}
	return copy;
}

void transition_read_done(void *arg, const PGresult *res, const char *error)
{
	struct job *job = arg;
	struct transitions *t = job->t;
	if (error) {
		job_finish(job, TRANSITION_FAILED, "the ticket could not be read; try again",
			   TICKET_RECEIVED, NULL);
		return;
	}
	if (PQntuples(res) == 0) {
		job_finish(job, TRANSITION_NOT_FOUND, "no such ticket", TICKET_RECEIVED, NULL);
		return;
	}
	struct ticket_status cur;
	int64_t ticket_id;
	int32_t version;
	int priority;
	int64_t dispatched_ms;
	if (!read_status(job, res, &cur, &ticket_id, &version, &priority, &dispatched_ms))
		return;
	if (job->attempts > 0) {
		int64_t last_write = 0;
		bool last = pgtext_int64(PQgetvalue(res, 0, TICKET_READ_C_LAST_WRITE),
					 &last_write) == 0 &&
			    last_write == job->write_key;
		if (last || strcmp(PQgetvalue(res, 0, TICKET_READ_C_WROTE), "t") == 0) {
			/* Our earlier send committed; only its confirmation was lost (and
			 * perhaps another move landed since: the audit row still says so). */
			log_info("ticket %s: %s by %s committed before its confirmation was lost",
				 job->ticket_no, ticket_event_name(job->kind), job->actor);
			job_finish(job, TRANSITION_DONE, NULL, cur.state,
				   PQgetvalue(res, 0, TICKET_READ_C_FEED_CODE));
			return;
		}
	}
	if (job->has_owner && strcmp(cur.dept_code, job->owner_dept) != 0) {
		/* Not this department's: the same answer as for no ticket at all. */
		job_finish(job, TRANSITION_NOT_FOUND, "no such ticket", TICKET_RECEIVED, NULL);
		return;
	}
	job->before = cur.state;

	struct ticket_event ev = { 0 };
	ev.kind = job->kind;
	ev.at_ms = clock_now_ms();
	ev.text = job->text;
	ev.dept_code = job->dept_code[0] ? job->dept_code : NULL;
	if (job->kind == TICKET_EV_EXTEND)
		ev.deadline_at_ms = job->deadline_at_ms;
	else if (job->kind == TICKET_EV_CALLBACK_UNSATISFIED ||
		 job->kind == TICKET_EV_MANUAL_DISPATCH || job->kind == TICKET_EV_RULING_DISPATCH)
		ev.deadline_at_ms = dispatch_deadline(t, PQgetvalue(res, 0, TICKET_READ_C_CATEGORY),
						      priority, ev.at_ms, job->ticket_no);
	struct ticket_limits limits;
	ticket_limits_default(&limits);
	limits.max_returns = (uint32_t)t->cfg->max_returns;
	limits.max_callback_attempts = (uint32_t)t->cfg->callback_max_attempts;
	struct ticket_status next;
	struct ticket_effects fx;
	char err[256];
	int rc = ticket_transition(&cur, &ev, &limits, &next, &fx, err, sizeof(err));
	if (rc == TICKET_EINVAL) {
		job_invalid(job, err, cur.state);
		return;
	}
	if (rc != TICKET_OK) {
		job_finish(job, TRANSITION_REFUSED, err, cur.state, NULL);
		return;
	}
	job->after = next.state;

	/* Linked repeat complaints go through fx.children: what that does to a LINKED
	 * ticket is the state machine's answer, like any move. */
	struct ticket_status child_next = { 0 };
	struct ticket_effects child_fx = { 0 };
	bool children = false;
	if (fx.children != TICKET_EV_COUNT) {
		struct ticket_status child;
		ticket_status_init(&child);
		child.state = TICKET_LINKED;
		struct ticket_event child_ev = { fx.children, ev.at_ms, NULL, 0, job->text };
		children = ticket_transition(&child, &child_ev, &limits, &child_next, &child_fx,
					     err, sizeof(err)) == TICKET_OK;
		if (!children)
			log_warn("transition: %s on %s: its linked tickets stay as they are: %s",
				 ticket_event_name(job->kind), job->ticket_no, err);
	}

	/* The statistics: the move is counted to the department that held the ticket,
	 * else to the one it goes to; an accept and a reply carry a timeliness verdict
	 * (lib/kpi.h), recorded in the audit row and the rollup alike. */
	const char *stats_dept = cur.dept_code[0] ? cur.dept_code : next.dept_code;
	int on_time = -1;
	if (job->kind == TICKET_EV_ACCEPT)
		on_time = kpi_sign_for_on_time(&t->cfg->sign_for, t->calendar ? *t->calendar : NULL,
					       (int)t->cfg->utc_offset_minutes, dispatched_ms,
					       ev.at_ms);
	else if (job->kind == TICKET_EV_REPLY)
		on_time = kpi_reply_on_time(cur.deadline_at_ms, ev.at_ms);

	char id[24], ver[16], deadline[24], ret[16], reopen[16], extend[16], attempts[16], at[24],
		delay[24], write_key[24];
	snprintf(write_key, sizeof(write_key), "%lld", (long long)job->write_key);
	snprintf(id, sizeof(id), "%lld", (long long)ticket_id);
	snprintf(ver, sizeof(ver), "%d", (int)version);
	snprintf(deadline, sizeof(deadline), "%lld", (long long)next.deadline_at_ms);
	snprintf(ret, sizeof(ret), "%u", next.return_count);
	snprintf(reopen, sizeof(reopen), "%u", next.reopen_count);
	snprintf(extend, sizeof(extend), "%u", next.extend_count);
	snprintf(attempts, sizeof(attempts), "%u", next.callback_attempts);
	snprintf(at, sizeof(at), "%lld", (long long)ev.at_ms);
	snprintf(delay, sizeof(delay), "%d", fx.outbox_later ? CALLBACK_RETRY_DELAY_MS : 0);
	/* Feeds no connection takes TicketUpdates for: the agents' and the Open311
	 * clients' (they read a request's status with GET requests). */
	struct pgarray quiet = { 0 };
	pgarray_begin_text(&quiet);
	pgarray_text(&quiet, t->cfg->agents_feed, strlen(t->cfg->agents_feed));
	for (size_t i = 0; i < t->cfg->nfeeds; i++)
		if (t->cfg->feeds[i].open311_key)
			pgarray_text(&quiet, t->cfg->feeds[i].code, strlen(t->cfg->feeds[i].code));
	if (pgarray_end(&quiet) != 0) {
		pgarray_free(&quiet);
		job_finish(job, TRANSITION_FAILED, "out of memory; try again", job->before, NULL);
		return;
	}
	const char *outbox = fx.outbox == TICKET_OUTBOX_DISPATCH   ? "dispatch"
			     : fx.outbox == TICKET_OUTBOX_CALLBACK ? "callback"
								   : "";
	const char *values[TICKET_WRITE_NPARAMS] = {
		[TICKET_WRITE_P_TICKET_ID] = id,
		[TICKET_WRITE_P_VERSION] = ver,
		[TICKET_WRITE_P_STATE] = ticket_state_name(next.state),
		[TICKET_WRITE_P_DEPT_CODE] = next.dept_code,
		[TICKET_WRITE_P_DEADLINE_MS] = deadline,
		[TICKET_WRITE_P_RETURN_COUNT] = ret,
		[TICKET_WRITE_P_REOPEN_COUNT] = reopen,
		[TICKET_WRITE_P_EXTEND_COUNT] = extend,
		[TICKET_WRITE_P_CALLBACK_ATTEMPTS] = attempts,
		[TICKET_WRITE_P_RATING] =
			next.rating == TICKET_RATING_NONE ? "" : ticket_rating_name(next.rating),
		/* the caller hears the reply, or why the ticket was closed without one */
		[TICKET_WRITE_P_REPLY] = job->kind == TICKET_EV_REPLY ||
							 job->kind == TICKET_EV_RULING_CLOSE ||
							 job->kind == TICKET_EV_DESK_CLOSE
						 ? job->text
						 : NULL,
		[TICKET_WRITE_P_EVENT] = ticket_event_name(job->kind),
		[TICKET_WRITE_P_FROM_STATE] = ticket_state_name(cur.state),
		[TICKET_WRITE_P_ACTOR] = job->actor,
		[TICKET_WRITE_P_DETAIL] = job->text,
		[TICKET_WRITE_P_AT_MS] = at,
		[TICKET_WRITE_P_RESET_MARKS] = yes(fx.reset_marks),
		[TICKET_WRITE_P_SET_DISPATCHED] = yes(fx.set_dispatched),
		[TICKET_WRITE_P_SET_CLOSED] = yes(fx.set_closed),
		[TICKET_WRITE_P_FEED_UPDATE] = yes(fx.feed_update),
		[TICKET_WRITE_P_UPDATE_REPLY] = yes(fx.update_reply),
		[TICKET_WRITE_P_OUTBOX_KIND] = outbox,
		[TICKET_WRITE_P_OUTBOX_DELAY_MS] = delay,
		[TICKET_WRITE_P_CHILD_STATE] = children ? ticket_state_name(child_next.state) : "",
		[TICKET_WRITE_P_CHILD_EVENT] = children ? ticket_event_name(fx.children) : "",
		[TICKET_WRITE_P_CHILD_REPLY] =
			yes(children && fx.children == TICKET_EV_PARENT_REPLIED),
		[TICKET_WRITE_P_CHILD_CLOSED] = yes(children && child_fx.set_closed),
		[TICKET_WRITE_P_QUIET_FEEDS] = quiet.data,
		[TICKET_WRITE_P_RULED] = yes(next.ruled),
		[TICKET_WRITE_P_PARENT_NO] = job->parent_no,
		[TICKET_WRITE_P_WRITE_KEY] = write_key,
		[TICKET_WRITE_P_ON_TIME] = on_time < 0 ? NULL : yes(on_time == 1),
		[TICKET_WRITE_P_STATS_DEPT] = stats_dept,
	};
	job->write_values = values_copy(values, TICKET_WRITE_NPARAMS);
	pgarray_free(&quiet);
	if (!job->write_values) {
		job_finish(job, TRANSITION_FAILED, "out of memory; try again", job->before, NULL);
		return;
	}
	job->ticket_id = ticket_id;
	job->counters = fx.counters;
	job->child_counters = children ? child_fx.counters : 0;
	job->on_time = on_time;
	snprintf(job->stats_dept, sizeof(job->stats_dept), "%s", stats_dept);
	TAILQ_INSERT_TAIL(&t->ready, job, link);
	t->nready++;
	pgpool_kick(t->pool);
}

/* The ticket is read in the next batch (with other jobs' reads and writes). */
static void read_ticket(struct job *job)
{
	struct transitions *t = job->t;
	TAILQ_INSERT_TAIL(&t->to_read, job, link);
	t->nto_read++;
	pgpool_kick(t->pool);
}

/* DESK_DUPLICATE: the ticket it duplicates must be open and not a duplicate itself. */
static void on_parent_read(void *arg, const PGresult *res, const char *error)
{
	struct job *job = arg;
	char msg[160];
	if (error) {
		job_finish(job, TRANSITION_FAILED, "the ticket could not be read; try again",
			   TICKET_RECEIVED, NULL);
		return;
	}
	if (PQntuples(res) == 0) {
		snprintf(msg, sizeof(msg), "there is no ticket %s to join", job->parent_no);
		job_invalid(job, msg, TICKET_RECEIVED);
		return;
	}
	const char *state = PQgetvalue(res, 0, TICKET_READ_C_STATE);
	if (strcmp(state, "CLOSED") == 0) {
		snprintf(msg, sizeof(msg),
			 "ticket %s is closed: close this one with a reason that names it",
			 job->parent_no);
		job_finish(job, TRANSITION_REFUSED, msg, TICKET_RECEIVED, NULL);
		return;
	}
	if (strcmp(PQgetvalue(res, 0, TICKET_READ_C_PARENT_TICKET_ID), "0") != 0) {
		snprintf(msg, sizeof(msg),
			 "ticket %s is itself a duplicate: join the ticket it follows",
			 job->parent_no);
		job_finish(job, TRANSITION_REFUSED, msg, TICKET_RECEIVED, NULL);
		return;
	}
	read_ticket(job);
}

static void job_read(struct job *job)
{
	if (job->parent_no[0] == '\0') {
		read_ticket(job);
		return;
	}
	const char *values[TICKET_READ_NPARAMS] = {
		[TICKET_READ_P_TICKET_NO] = job->parent_no, [TICKET_READ_P_WRITE_KEY] = "0"
	};
	store_pg_query(job->t->store, QUERY_TICKET_READ, values, on_parent_read, job);
}

int transition_start(struct transitions *t, const struct transition_request *req,
		     transition_fn done, void *arg)
{
	struct job *job = calloc(1, sizeof(*job));
	if (!job || (req->text && !(job->text = strdup(req->text)))) {
		free(job);
		return -1;
	}
	job->t = t;
	job->write_key = t->next_write_key++;
	snprintf(job->ticket_no, sizeof(job->ticket_no), "%s", req->ticket_no);
	if (req->owner_dept) {
		job->has_owner = true;
		snprintf(job->owner_dept, sizeof(job->owner_dept), "%s", req->owner_dept);
	}
	job->kind = req->kind;
	job->deadline_at_ms = req->deadline_at_ms;
	if (req->dept_code)
		snprintf(job->dept_code, sizeof(job->dept_code), "%s", req->dept_code);
	snprintf(job->actor, sizeof(job->actor), "%s", req->actor ? req->actor : "system");
	if (req->parent_no)
		snprintf(job->parent_no, sizeof(job->parent_no), "%s", req->parent_no);
	job->done = done;
	job->arg = arg;
	job_read(job);
	return 0;
}

void transitions_get_stats(const struct transitions *t, struct transition_stats *out)
{
	*out = t->stats;
	out->queued = t->nready;
	out->reads_queued = t->nto_read;
}

struct transitions *transitions_new(struct event_base *base, const struct hotline_config *cfg,
				    struct store_pg *store, const struct calendar **calendar)
{
	struct transitions *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->base = base;
	t->cfg = cfg;
	t->store = store;
	t->pool = store_pg_pool(store);
	t->calendar = calendar;
	TAILQ_INIT(&t->ready);
	TAILQ_INIT(&t->to_read);
	LIST_INIT(&t->flying);
	struct pgpool_source source = transition_batch_source(t);
	if (pgpool_add_source(t->pool, &source) != 0) {
		free(t);
		return NULL;
	}
	/* 62 random bits: keys of this process never meet another's on one ticket. */
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = ((uint64_t)getpid() << 32) ^ (uint64_t)clock_now_ms();
	t->next_write_key = (int64_t)(seed >> 2) + 1;
	return t;
}

void transitions_free(struct transitions *t)
{
	if (!t)
		return;
	/* At exit: what was not committed was never acknowledged. */
	pgpool_remove_source(t->pool, t);
	struct batch *b;
	while ((b = LIST_FIRST(&t->flying)) != NULL) {
		for (size_t i = 0; i < b->nwrites + b->nreads; i++)
			transition_job_free(b->jobs[i]);
		LIST_REMOVE(b, link);
		transition_batch_free(b);
	}
	struct job *job;
	while ((job = TAILQ_FIRST(&t->ready)) != NULL) {
		TAILQ_REMOVE(&t->ready, job, link);
		transition_job_free(job);
	}
	while ((job = TAILQ_FIRST(&t->to_read)) != NULL) {
		TAILQ_REMOVE(&t->to_read, job, link);
		transition_job_free(job);
	}
	free(t);
}
