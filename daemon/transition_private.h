/*
 * transition_private.h - what transition.c (one event: read, decide, write) and
 * transition_batch.c (the group commit: many writes in one transaction) share: a
 * job, a batch and the module's state. Not for callers: they see transition.h.
 */
#ifndef HOTLINE_TRANSITION_PRIVATE_H
#define HOTLINE_TRANSITION_PRIVATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "code.h"
#include "pgpool.h"
#include "transition.h"

/* Writes in one transaction at most: a batch's statements are sent at once, and a
 * few hundred keep the transaction (and the rows it locks) short. */
#define BATCH_MAX 256

struct job {
	TAILQ_ENTRY(job) link; /* to_read, or ready (decided): waiting for a batch */
	struct transitions *t;
	char ticket_no[32];
	char owner_dept[CODE_MAX + 1];
	bool has_owner;
	enum ticket_event_kind kind;
	char *text;
	int64_t deadline_at_ms;
	char dept_code[CODE_MAX + 1];
	char actor[96];
	char parent_no[32];
	int64_t write_key; /* this job's writes carry it: found on a re-read, ours committed */
	int attempts;
	enum ticket_state before, after;
	transition_fn done;
	void *arg;
	/* the decided write: ticket_write.sql's parameters (copies, one allocation),
	 * and what ticket_write_stats.sql counts for it */
	char **write_values;
	int64_t ticket_id;
	uint32_t counters, child_counters;
	int on_time; /* 1 in time, 0 late, -1 no verdict */
	char stats_dept[CODE_MAX + 1];
	bool solo; /* a batch it was in failed on data: from then on it goes alone */
};
TAILQ_HEAD(job_list, job);

/* One transaction, from take() to the Sync: writes, their rollup, then reads. */
struct batch {
	LIST_ENTRY(batch) link; /* transitions.flying */
	size_t nwrites, nreads, nres;
	bool plans_seen;	     /* the result of transition_plans.sql, first of all */
	struct job *jobs[BATCH_MAX]; /* the writes' jobs, then the reads' */
	/* every result in the order sent (the rollup's after the writes' when there are
	 * writes), kept until the commit */
	PGresult *res[BATCH_MAX + 1];
};

struct transitions {
	struct event_base *base;
	int64_t next_write_key; /* the next job's key (011_write_key), from a random start */
	const struct hotline_config *cfg;
	struct store_pg *store;
	struct pgpool *pool;
	const struct calendar **calendar;
	struct job_list ready; /* decided: writes waiting */
	size_t nready;
	struct job_list to_read; /* reads waiting */
	size_t nto_read;
	LIST_HEAD(, batch) flying;
	struct transition_stats stats;
};

/* Frees job (its copies; the caller has told its actor, or never will). */
void transition_job_free(struct job *job);

/* The batch holding job committed (error NULL; res: its write's result) or failed. */
void transition_written(struct job *job, const PGresult *res, const char *error);

/* The result of job's read (arg): decides, and queues the write or answers. */
void transition_read_done(void *arg, const PGresult *res, const char *error);

void transition_batch_free(struct batch *b);

/* This module as a pgpool source: it hands the pool a batch whenever a connection
 * is free (transition_batch.c). */
struct pgpool_source transition_batch_source(struct transitions *t);

#endif
