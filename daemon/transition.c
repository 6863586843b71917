/*
 * transition.c - one event on one stored ticket: read, decide, write.
 *
 * The write is one statement: the UPDATE carries "AND version = <read>", so it
 * changes nothing when someone else got there first; the CTEs that add the
 * audit row, the TicketUpdate and the outbox rows select from the UPDATE's
 * RETURNING, so they too happen only when it did.
 */
#include "transition.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

#define MAX_ATTEMPTS 3

struct transitions {
	struct event_base *base;
	const struct hotline_config *cfg;
	struct store_pg *store;
	const struct calendar **calendar;
};

static const char read_sql[] =
	"SELECT ticket_id, state, COALESCE(dept_code, ''),"
	"  COALESCE((extract(epoch FROM deadline_at) * 1000)::int8, 0), return_count,"
	"  reopen_count, extend_count, callback_attempts, COALESCE(rating, ''), version,"
	"  COALESCE(category, ''), priority"
	" FROM tickets WHERE ticket_no = $1";

/*
 * $1 ticket_id, $2 version read, $3 new state, $4 dept, $5 deadline ms (0 =
 * none), $6..$9 counters, $10 rating, $11 reply (NULL keeps), $12 event,
 * $13 from state, $14 actor, $15 detail, $16 linked children's new state,
 * $17 their event ('' = none), $18 the agents' feed (owed no TicketUpdates: the
 * agent desk follows its tickets by callbacks), $19 the event's instant (unix ms,
 * clock.h: every time the change writes). Returns the feed_code when it wrote.
 */
static const char write_sql[] =
	"WITH u AS ("
	"  UPDATE tickets SET state = $3, dept_code = NULLIF($4, ''),"
	"    deadline_at = CASE WHEN $5::int8 = 0 THEN NULL"
	"      ELSE to_timestamp($5::int8::float8 / 1000) END,"
	"    return_count = $6, reopen_count = $7, extend_count = $8, callback_attempts = $9,"
	"    rating = NULLIF($10, ''), reply = COALESCE($11, reply),"
	"    closed_at = CASE WHEN $3 = 'CLOSED' THEN to_timestamp($19::float8 / 1000)"
	"      ELSE closed_at END,"
	"    dispatched_at = CASE WHEN $3 = 'DISPATCHED' AND $13 <> 'DISPATCHED'"
	"      THEN to_timestamp($19::float8 / 1000)"
	"      ELSE dispatched_at END,"
	/* a mark is made once per deadline: kept while the deadline stays (an
	 * accept), cleared when it moves (extend, a new dispatch) or goes */
	"    due_soon_at = CASE WHEN deadline_at IS NOT DISTINCT FROM CASE WHEN $5::int8 = 0"
	"      THEN NULL ELSE to_timestamp($5::int8::float8 / 1000) END"
	"      THEN due_soon_at END,"
	"    overdue_at = CASE WHEN deadline_at IS NOT DISTINCT FROM CASE WHEN $5::int8 = 0"
	"      THEN NULL ELSE to_timestamp($5::int8::float8 / 1000) END"
	"      THEN overdue_at END,"
	"    version = version + 1, updated_at = to_timestamp($19::float8 / 1000)"
	"  WHERE ticket_id = $1 AND version = $2"
	"  RETURNING ticket_id, ticket_no, feed_code, external_id, state, reply, dept_code,"
	"    updated_at"
	"), e AS ("
	"  INSERT INTO ticket_events (ticket_id, kind, from_state, to_state, actor, detail, at)"
	"  SELECT ticket_id, $12, $13, state, $14, $15, updated_at FROM u"
	"), f AS ("
	"  INSERT INTO feed_updates (feed_code, ticket_id, ticket_no, external_id, state, reply,"
	"    at)"
	"  SELECT feed_code, ticket_id, ticket_no, external_id, state,"
	"    CASE WHEN state IN ('REPLIED', 'CLOSED') THEN reply END, updated_at FROM u"
	"  WHERE $12 <> 'EXTEND' AND NOT ($12 = 'CALLBACK_UNREACHABLE' AND $3 = 'REPLIED')"
	"    AND feed_code <> $18"
	/* Outbox rows of a transition have no fast path: dated back so the relay's
	 * next sweep (relay_interval_ms) takes them instead of waiting 5 s. */
	"), d AS ("
	"  INSERT INTO outbox (ticket_id, kind, dept_code, created_at)"
	"  SELECT ticket_id, 'dispatch', dept_code, now() - interval '1 minute' FROM u"
	"  WHERE $3 = 'DISPATCHED' AND $13 <> 'DISPATCHED'"
	"), c AS ("
	/* a reply is called back; an unreachable caller is tried again */
	/* a retry after an unreachable call waits for the sweeper's usual delay */
	"  INSERT INTO outbox (ticket_id, kind, created_at)"
	"  SELECT ticket_id, 'callback',"
	"    CASE WHEN $12 = 'CALLBACK_UNREACHABLE' THEN now() ELSE now() - interval '1 minute' END"
	"  FROM u WHERE $3 = 'REPLIED' AND ($13 <> 'REPLIED' OR $12 = 'CALLBACK_UNREACHABLE')"
	"), k AS ("
	/* linked repeat complaints follow: $17 is their event ('' = none), $16 the
	 * state the state machine gives them */
	"  UPDATE tickets k SET state = $16,"
	"    reply = CASE WHEN $17 = 'PARENT_REPLIED' THEN u.reply ELSE k.reply END,"
	"    closed_at = CASE WHEN $16 = 'CLOSED' THEN u.updated_at ELSE k.closed_at END,"
	"    version = k.version + 1, updated_at = u.updated_at"
	"  FROM u WHERE $17 <> '' AND k.parent_ticket_id = u.ticket_id AND k.state = 'LINKED'"
	"  RETURNING k.ticket_id, k.ticket_no, k.feed_code, k.external_id, k.state, k.reply,"
	"    u.ticket_no AS parent_no, k.updated_at"
	"), ke AS ("
	"  INSERT INTO ticket_events (ticket_id, kind, from_state, to_state, actor, detail, at)"
	"  SELECT ticket_id, $17, 'LINKED', state, $14, 'parent:' || parent_no, updated_at FROM k"
	"), kf AS ("
	"  INSERT INTO feed_updates (feed_code, ticket_id, ticket_no, external_id, state, reply,"
	"    at)"
	"  SELECT feed_code, ticket_id, ticket_no, external_id, state, reply, updated_at FROM k"
	"  WHERE feed_code <> $18"
	")"
	" SELECT feed_code FROM u";

struct job {
	struct transitions *t;
	char ticket_no[32];
	char owner_dept[CODE_MAX + 1];
	bool has_owner;
	enum ticket_event_kind kind;
	char *text;
	int64_t deadline_at_ms;
	char dept_code[CODE_MAX + 1];
	char actor[96];
	int attempts;
	enum ticket_state before, after;
	transition_fn done;
	void *arg;
};

static void job_read(struct job *job);

static void job_finish(struct job *job, enum transition_outcome outcome, const char *message,
		       enum ticket_state state, const char *feed_code)
{
	struct transition_result result = { outcome, message, state, feed_code };
	job->done(job->arg, &result);
	free(job->text);
	free(job);
}

static void on_written(void *arg, const PGresult *res, const char *error)
{
	struct job *job = arg;
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
	job_finish(job, TRANSITION_DONE, NULL, job->after, PQgetvalue(res, 0, 0));
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

static void on_read(void *arg, const PGresult *res, const char *error)
{
	struct job *job = arg;
	struct transitions *t = job->t;
	if (error) {
		job_finish(job, TRANSITION_FAILED, "the ticket could not be read; try again",
			   TICKET_RECEIVED, NULL);
		return;
	}
	if (PQntuples(res) == 0 ||
	    (job->has_owner && strcmp(PQgetvalue(res, 0, 2), job->owner_dept) != 0)) {
		job_finish(job, TRANSITION_NOT_FOUND, "no such ticket", TICKET_RECEIVED, NULL);
		return;
	}
	struct ticket_status cur;
	ticket_status_init(&cur);
	long long ticket_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	int state = ticket_state_from_name(PQgetvalue(res, 0, 1));
	cur.state = state > 0 ? (enum ticket_state)state : TICKET_RECEIVED;
	snprintf(cur.dept_code, sizeof(cur.dept_code), "%s", PQgetvalue(res, 0, 2));
	cur.deadline_at_ms = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	cur.return_count = (uint32_t)atoi(PQgetvalue(res, 0, 4));
	cur.reopen_count = (uint32_t)atoi(PQgetvalue(res, 0, 5));
	cur.extend_count = (uint32_t)atoi(PQgetvalue(res, 0, 6));
	cur.callback_attempts = (uint32_t)atoi(PQgetvalue(res, 0, 7));
	int rating = ticket_rating_from_name(PQgetvalue(res, 0, 8));
	cur.rating = rating > 0 ? (enum ticket_rating)rating : TICKET_RATING_NONE;
	int version = atoi(PQgetvalue(res, 0, 9));
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
		ev.deadline_at_ms =
			dispatch_deadline(t, PQgetvalue(res, 0, 10), atoi(PQgetvalue(res, 0, 11)),
					  ev.at_ms, job->ticket_no);
	struct ticket_limits limits;
	ticket_limits_default(&limits);
	limits.max_returns = (uint32_t)t->cfg->max_returns;
	limits.max_callback_attempts = (uint32_t)t->cfg->callback_max_attempts;
	struct ticket_status next;
	char err[256];
	if (ticket_transition(&cur, &ev, &limits, &next, err, sizeof(err)) != TICKET_OK) {
		job_finish(job, TRANSITION_REFUSED, err, cur.state, NULL);
		return;
	}
	job->after = next.state;

	/* Linked repeat complaints share the reply and the close: what that does
	 * to a LINKED ticket is the state machine's answer, like any move. */
	const char *child_state = "", *child_event = "";
	struct ticket_event child_ev = { 0 };
	child_ev.at_ms = ev.at_ms;
	child_ev.text = job->text;
	if (job->kind == TICKET_EV_REPLY)
		child_ev.kind = TICKET_EV_PARENT_REPLIED;
	else if (next.state == TICKET_CLOSED)
		child_ev.kind = TICKET_EV_PARENT_CLOSED;
	else
		child_ev.kind = TICKET_EV_COUNT;
	if (child_ev.kind != TICKET_EV_COUNT) {
		struct ticket_status child, child_next;
		ticket_status_init(&child);
		child.state = TICKET_LINKED;
		if (ticket_transition(&child, &child_ev, &limits, &child_next, err, sizeof(err)) ==
		    TICKET_OK) {
			child_state = ticket_state_name(child_next.state);
			child_event = ticket_event_name(child_ev.kind);
		}
	}

	char id[32], ver[16], deadline[32], ret[16], reopen[16], extend[16], attempts[16], at[32];
	snprintf(at, sizeof(at), "%lld", (long long)ev.at_ms);
	snprintf(id, sizeof(id), "%lld", ticket_id);
	snprintf(ver, sizeof(ver), "%d", version);
	snprintf(deadline, sizeof(deadline), "%lld", (long long)next.deadline_at_ms);
	snprintf(ret, sizeof(ret), "%u", next.return_count);
	snprintf(reopen, sizeof(reopen), "%u", next.reopen_count);
	snprintf(extend, sizeof(extend), "%u", next.extend_count);
	snprintf(attempts, sizeof(attempts), "%u", next.callback_attempts);
	const char *values[19] = {
		id,
		ver,
		ticket_state_name(next.state),
		next.dept_code,
		deadline,
		ret,
		reopen,
		extend,
		attempts,
		next.rating == TICKET_RATING_NONE ? "" : ticket_rating_name(next.rating),
		job->kind == TICKET_EV_REPLY ? job->text : NULL,
		ticket_event_name(job->kind),
		ticket_state_name(cur.state),
		job->actor,
		job->text,
		child_state,
		child_event,
		t->cfg->agents_feed,
		at,
	};
	store_pg_query(t->store, write_sql, 19, values, on_written, job);
}

static void job_read(struct job *job)
{
	const char *values[1] = { job->ticket_no };
	store_pg_query(job->t->store, read_sql, 1, values, on_read, job);
}

void transition_start(struct transitions *t, const struct transition_request *req,
		      transition_fn done, void *arg)
{
	struct job *job = calloc(1, sizeof(*job));
	if (!job || (req->text && !(job->text = strdup(req->text)))) {
		free(job);
		struct transition_result result = { TRANSITION_FAILED, "out of memory",
						    TICKET_RECEIVED, NULL };
		done(arg, &result);
		return;
	}
	job->t = t;
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
	job->done = done;
	job->arg = arg;
	job_read(job);
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
	t->calendar = calendar;
	return t;
}

void transitions_free(struct transitions *t)
{
	free(t);
}
