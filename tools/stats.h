/*
 * stats.h - what the parts of hotline-stats share.
 *
 * Owns: the tool's context (the PostgreSQL connection, the settings read from the
 * config: time zone, due-soon window, Redis), the output formats, running one
 * statement of queries/. Reading the rows (lib/stats_rows.c), the live board
 * (lib/stats_live.c) and the report's document (lib/stats_doc.c) are lib/'s,
 * shared with hotlined's GET /api/v1/stats/live and /report.
 * Never: computes a rate (lib/kpi.c does), or writes anything but the rollup
 * (rebuild).
 * Callers: tools/stats.c (main, live, check, rebuild), tools/stats_report.c,
 * tools/stats_html.c, tools/stats_health.c.
 */
#ifndef HOTLINE_STATS_H
#define HOTLINE_STATS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kpi.h"
#include "queries.h"
#include "stats_doc.h"

enum stats_format { STATS_TABLE, STATS_CSV, STATS_JSON };

#define STATS_DAEMONS_MAX 32 /* live --daemon ADDR, at most this many */

struct stats_ctx {
	const char *config_path; /* -c FILE */
	const char *dsn;	 /* --dsn */
	const char *redis_opt;	 /* --redis */
	enum stats_format format;
	char timezone[128];   /* [postgres] timezone: the rollup's local days */
	long due_soon_ms;     /* [escalation] due_soon_ms */
	int utc_offset_min;   /* [calendar] utc_offset_minutes */
	char redis_addr[512]; /* [redis] address, or --redis; "" = not asked for */
	char redis_user[256];
	char redis_pass[512];
	/* live: the daemons' operations listeners, --daemon ADDR..., else the config's
	 * [http] ops_listen (none without -c) */
	const char *daemons[STATS_DAEMONS_MAX];
	int ndaemons;
	char ops_listen[256];
	PGconn *pg;
};

/* Connects to PostgreSQL (once); 0, or -1 after printing why. */
int stats_connect(struct stats_ctx *ctx) __attribute__((warn_unused_result));

/*
 * Runs statement q with text parameters values[0..nparams) (NULL = SQL NULL).
 * Returns its result (the caller PQclear()s it), or NULL after printing
 * "hotline-stats: WHAT: error".
 */
PGresult *stats_exec(struct stats_ctx *ctx, enum query q, const char *const *values,
		     const char *what) __attribute__((warn_unused_result));

/* "YYYY-MM-DD" -> days since 1970-01-01; -1 (and a message) when not a date. */
int stats_parse_day(const char *s, int64_t *days) __attribute__((warn_unused_result));
/* days since 1970-01-01 -> "YYYY-MM-DD" (buf of 11+ bytes). */
void stats_format_day(int64_t days, char *buf, size_t len);

/* A rate as "80.0%", or "-" when it has no data. */
void stats_format_rate(struct kpi_rate rate, char *buf, size_t len);
/* Seconds as hours, "58.5h", or "-" for NaN; ">=1440h" for the open last bucket. */
void stats_format_hours(double seconds, char *buf, size_t len);

/* The unix ms now (wall clock), or $HOTLINE_STATS_NOW (RFC 3339 or unix ms) for tests. */
int64_t stats_now_ms(void);
/* A monotonic clock in ms, for timing statements. */
double stats_monotonic_ms(void);

/* One daemon's /healthz (daemon/metrics.c), as live shows it. */
struct stats_daemon_health {
	char address[256];
	bool reachable;	       /* it answered HTTP */
	bool ok;	       /* 200 with status "ok" */
	int http_status;       /* 0: no answer */
	int postgres, redis;   /* 1 reachable, 0 not, -1 not said */
	long long loop_lag_ms; /* -1: not said */
	char error[160];       /* why it is not ok ("" when ok) */
};

/*
 * GET http://ADDRESS/healthz (ADDRESS host:port or [v6]:port) within timeout_ms
 * for the whole exchange, into *out (always filled; out->error says why when not
 * out->ok). Blocks at most timeout_ms.
 */
void stats_health_probe(const char *address, int timeout_ms, struct stats_daemon_health *out);

/* `report` and its --html (tools/stats_report.c). */
int stats_cmd_report(struct stats_ctx *ctx, int argc, char **argv);

/* Writes the report as one self-contained HTML file (tools/stats_html.c); 0 or -1. */
int stats_html_write(FILE *out, const struct stats_report *rep) __attribute__((warn_unused_result));

#endif
