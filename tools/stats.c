/*
 * stats.c - hotline-stats: the supervisors' tool, exact at a city's scale.
 *
 * Owns: the command line (a name -> handler table like hotlinectl's), the
 * connection and the settings taken from the hotlined config, and the commands
 * that are not the report: `live` (the board: open tickets per department from
 * one index-only scan, intake per feed, PostgreSQL and Redis reachability, each
 * daemon's /healthz through tools/stats_health.c),
 * `check` (the rollup against the audit trail, row by row, saying where they
 * differ) and `rebuild` (the rollup recomputed from the audit trail, under a lock
 * that makes it exact while daemons run). `report` is tools/stats_report.c.
 * Every number comes from the rollup (stats_daily, kept by the daemon in the
 * transactions that write the events) or from the tickets table, and every
 * formula from lib/kpi.c.
 * Never: changes a ticket, or writes anything but the rollup (rebuild).
 * Callers: supervisors, cron, tests/integration/test_stats.py, bench/stats.
 */
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dates.h"
#include "pgtext.h"
#include "stats.h"
#include "stats_rows.h"
#include "tool_conn.h"

#define REDIS_CALLBACKS "hotline:callbacks"
#define REDIS_CALLBACK_GROUP "agents"
#define REDIS_TIMEOUT_S 2      /* live: connecting to Redis, and each command */
#define HEALTH_TIMEOUT_MS 1000 /* a daemon's /healthz, the whole exchange */

static void usage(FILE *out)
{
	fputs("usage: hotline-stats [-c FILE] [--dsn CONNINFO] [--redis ADDR]\n"
	      "                     [--format table|csv|json] COMMAND [ARGS]\n"
	      "\n"
	      "The supervisors' numbers of a hotline12345 installation: from the rollup the\n"
	      "daemon keeps in the transactions that write the events, and the tickets table.\n"
	      "\n"
	      "options:\n"
	      "  -c, --config FILE    the hotlined config: [postgres] conninfo and timezone,\n"
	      "                       [escalation] due_soon_ms, [redis] address and AUTH\n"
	      "      --dsn CONNINFO   libpq connection string (overrides --config)\n"
	      "      --redis ADDR     Redis host:port or /socket (live: callbacks claimed)\n"
	      "      --format F       table (default), csv or json\n"
	      "  -h, --help           this text\n"
	      "      --version        print the version\n"
	      "\n"
	      "commands:\n"
	      "  live [--watch N] [--daemon HOST:PORT]...\n"
	      "                       the board now: per department tickets waiting, in hand,\n"
	      "                       overdue, due soon and the oldest waiting; the manual desk,\n"
	      "                       escalations, callbacks waiting (and claimed, from Redis);\n"
	      "                       intake per feed in the last minute and hour; PostgreSQL\n"
	      "                       and Redis reachability; each daemon's /healthz (--daemon:\n"
	      "                       its [http] ops_listen; default: the config's). --watch N:\n"
	      "                       again every N seconds\n"
	      "  report --from DATE --to DATE [--by feed|channel|category|dept|district|day|\n"
	      "         month] [--dept CODE] [--compare-previous] [--source rollup|audit]\n"
	      "         [--html FILE]\n"
	      "                       volumes and KPIs of the local days DATE..DATE, and the\n"
	      "                       reconciliation (exit 1 when it does not balance)\n"
	      "  check [--from DATE] [--to DATE]\n"
	      "                       recompute the rollup from the audit trail and say where\n"
	      "                       it differs (exit 1); default: all days\n"
	      "  rebuild [--from DATE] [--to DATE]\n"
	      "                       replace the rollup's rows by the audit trail's (after\n"
	      "                       migration 010, or to repair what check found)\n"
	      "\n"
	      "Dates are local days (YYYY-MM-DD) in [postgres] timezone. Without -c or --dsn,\n"
	      "libpq's environment (PGHOST, PGDATABASE, ...) is used.\n"
	      "Exit status: 0 done, 1 failed (unreachable server, a reconciliation that does\n"
	      "not balance, a rollup that differs from the audit trail), 2 usage.\n",
	      out);
}

/* ---- shared helpers (stats.h) ------------------------------------------- */

int stats_connect(struct stats_ctx *ctx)
{
	if (!ctx->pg)
		ctx->pg = tool_pg_connect("hotline-stats", ctx->dsn, ctx->config_path);
	return ctx->pg ? 0 : -1;
}

PGresult *stats_exec(struct stats_ctx *ctx, enum query q, const char *const *values,
		     const char *what)
{
	PGresult *res = PQexecParams(ctx->pg, queries[q].text, queries[q].nparams, NULL, values,
				     NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		fprintf(stderr, "hotline-stats: %s: %s", what, PQerrorMessage(ctx->pg));
		PQclear(res);
		return NULL;
	}
	return res;
}

int stats_parse_day(const char *s, int64_t *days)
{
	int y, m, d;
	if (!s || dates_parse_ymd(s, strlen(s), &y, &m, &d) != 0) {
		fprintf(stderr, "hotline-stats: '%s' is not a date (YYYY-MM-DD)\n", s ? s : "");
		return -1;
	}
	*days = dates_days_from_civil(y, m, d);
	return 0;
}

void stats_format_day(int64_t days, char *buf, size_t len)
{
	int y, m, d;
	dates_civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
}

void stats_format_rate(struct kpi_rate rate, char *buf, size_t len)
{
	double v = kpi_rate_value(rate);
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f%%", v * 100.0);
}

void stats_format_hours(double seconds, char *buf, size_t len)
{
	if (isnan(seconds))
		snprintf(buf, len, "-");
	else if (seconds >= (double)kpi_hist_bounds_s[KPI_HIST_BOUNDS - 1])
		snprintf(buf, len, ">=%.0fh",
			 (double)kpi_hist_bounds_s[KPI_HIST_BOUNDS - 1] / 3600);
	else
		snprintf(buf, len, "%.1fh", seconds / 3600.0);
}

int64_t stats_now_ms(void)
{
	const char *fixed = getenv("HOTLINE_STATS_NOW");
	int64_t ms;
	if (fixed && fixed[0]) {
		if (dates_parse_iso(fixed, strlen(fixed), &ms) == 0)
			return ms;
		if (pgtext_int64(fixed, &ms) == 0)
			return ms;
	}
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

double stats_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Reads what the tool needs of the config (or its defaults). 0, or -1 after saying why. */
static int load_settings(struct stats_ctx *ctx)
{
	struct hotline_config cfg;
	char err[1024];
	if (ctx->config_path) {
		if (config_load(ctx->config_path, &cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "hotline-stats: %s\n", err);
			return -1;
		}
	} else {
		config_defaults(&cfg);
	}
	snprintf(ctx->timezone, sizeof(ctx->timezone), "%s", cfg.pg_timezone);
	ctx->due_soon_ms = cfg.due_soon_ms;
	ctx->utc_offset_min = (int)cfg.utc_offset_minutes;
	if (ctx->config_path && cfg.http_ops_listen)
		snprintf(ctx->ops_listen, sizeof(ctx->ops_listen), "%s", cfg.http_ops_listen);
	if (ctx->redis_opt || ctx->config_path) {
		snprintf(ctx->redis_addr, sizeof(ctx->redis_addr), "%s",
			 ctx->redis_opt ? ctx->redis_opt : cfg.redis_address);
		snprintf(ctx->redis_user, sizeof(ctx->redis_user), "%s",
			 ctx->config_path ? cfg.redis_username : "");
		snprintf(ctx->redis_pass, sizeof(ctx->redis_pass), "%s",
			 ctx->config_path ? cfg.redis_password : "");
	}
	config_free(&cfg);
	return 0;
}

/* ---- live ---------------------------------------------------------------- */

struct redis_view {
	bool asked, up;
	char error[256];
	long long waiting, claimed; /* entries of hotline:callbacks; pending in group agents */
};

static void redis_look(const struct stats_ctx *ctx, struct redis_view *view)
{
	memset(view, 0, sizeof(*view));
	if (ctx->redis_addr[0] == '\0')
		return;
	view->asked = true;
	redisContext *rc = tool_redis_connect(ctx->redis_addr, ctx->redis_user, ctx->redis_pass,
					      REDIS_TIMEOUT_S, REDIS_TIMEOUT_S, view->error,
					      sizeof(view->error));
	if (!rc)
		return;
	redisReply *r;
	r = redisCommand(rc, "XLEN %s", REDIS_CALLBACKS);
	if (!r || r->type != REDIS_REPLY_INTEGER) {
		snprintf(view->error, sizeof(view->error), "%s",
			 r && r->type == REDIS_REPLY_ERROR ? r->str : rc->errstr);
		freeReplyObject(r);
		redisFree(rc);
		return;
	}
	view->up = true;
	view->waiting = r->integer;
	freeReplyObject(r);
	/* XPENDING's summary: [count, first id, last id, consumers]; no group: none */
	r = redisCommand(rc, "XPENDING %s %s", REDIS_CALLBACKS, REDIS_CALLBACK_GROUP);
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER)
		view->claimed = r->element[0]->integer;
	freeReplyObject(r);
	redisFree(rc);
}

static void format_instant(int64_t ms, int offset_min, char *buf, size_t len)
{
	if (ms <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	struct dates_local l;
	dates_from_ms(ms, offset_min, &l);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d", l.year, l.month, l.day, l.hour, l.minute);
}

static int live_once(struct stats_ctx *ctx)
{
	int64_t now = stats_now_ms();
	char now_s[24], soon_s[24];
	snprintf(now_s, sizeof(now_s), "%lld", (long long)now);
	snprintf(soon_s, sizeof(soon_s), "%ld", ctx->due_soon_ms);
	struct redis_view redis;
	redis_look(ctx, &redis);
	struct stats_daemon_health health[STATS_DAEMONS_MAX];
	int nhealth = ctx->ndaemons > 0 ? ctx->ndaemons : ctx->ops_listen[0] ? 1 : 0;
	bool daemons_ok = true;
	for (int i = 0; i < nhealth; i++) {
		stats_health_probe(ctx->ndaemons > 0 ? ctx->daemons[i] : ctx->ops_listen,
				   HEALTH_TIMEOUT_MS, &health[i]);
		daemons_ok = daemons_ok && health[i].ok;
	}

	struct live_board b = { 0 };
	double t0 = stats_monotonic_ms();
	const char *lv[STATS_LIVE_NPARAMS] = {
		[STATS_LIVE_P_NOW_MS] = now_s, [STATS_LIVE_P_DUE_SOON_MS] = soon_s
	};
	PGresult *res = ctx->pg ? stats_exec(ctx, QUERY_STATS_LIVE, lv, "live") : NULL;
	const char *iv[STATS_LIVE_INTAKE_NPARAMS] = { [STATS_LIVE_INTAKE_P_NOW_MS] = now_s };
	PGresult *intake = res ? stats_exec(ctx, QUERY_STATS_LIVE_INTAKE, iv, "live intake") : NULL;
	double pg_ms = stats_monotonic_ms() - t0;
	bool pg_up = res && intake;
	if (pg_up && stats_rows_live(res, &b) != 0)
		fprintf(stderr, "hotline-stats: live: out of memory\n");

	char at[24];
	format_instant(now, ctx->utc_offset_min, at, sizeof(at));
	if (ctx->format == STATS_JSON) {
		json_t *o = json_object();
		json_object_set_new(o, "now_ms", json_integer(now));
		json_t *pg = json_object();
		json_object_set_new(pg, "up", json_boolean(pg_up));
		json_object_set_new(pg, "query_ms", json_real(pg_ms));
		json_object_set_new(o, "postgres", pg);
		json_t *rd = json_object();
		json_object_set_new(rd, "asked", json_boolean(redis.asked));
		json_object_set_new(rd, "up", json_boolean(redis.up));
		if (redis.up) {
			json_object_set_new(rd, "callbacks_queued", json_integer(redis.waiting));
			json_object_set_new(rd, "callbacks_claimed", json_integer(redis.claimed));
		} else if (redis.asked) {
			json_object_set_new(rd, "error", json_string(redis.error));
		}
		json_object_set_new(o, "redis", rd);
		json_t *daemons = json_array();
		for (int i = 0; i < nhealth; i++) {
			const struct stats_daemon_health *h = &health[i];
			json_t *j = json_object();
			json_object_set_new(j, "address", json_string(h->address));
			json_object_set_new(j, "reachable", json_boolean(h->reachable));
			json_object_set_new(j, "ok", json_boolean(h->ok));
			if (h->postgres >= 0)
				json_object_set_new(j, "postgres", json_boolean(h->postgres));
			if (h->redis >= 0)
				json_object_set_new(j, "redis", json_boolean(h->redis));
			if (h->loop_lag_ms >= 0)
				json_object_set_new(j, "loop_lag_ms", json_integer(h->loop_lag_ms));
			if (!h->ok)
				json_object_set_new(j, "error", json_string(h->error));
			json_array_append_new(daemons, j);
		}
		json_object_set_new(o, "daemons", daemons);
		json_t *feeds = pg_up ? stats_rows_intake(intake) : json_array();
		if (live_board_json(&b, o) != 0 || json_object_set_new(o, "intake", feeds) != 0)
			fprintf(stderr, "hotline-stats: live: out of memory\n");
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	} else if (ctx->format == STATS_CSV) {
		printf("dept_code,waiting,in_hand,overdue,due_soon,oldest_waiting_ms\n");
		for (size_t i = 0; i < b.ndepts; i++) {
			const struct live_dept *d = &b.depts[i];
			printf("%s,%lld,%lld,%lld,%lld,%lld\n", d->dept_code, (long long)d->waiting,
			       (long long)d->in_hand, (long long)d->overdue, (long long)d->due_soon,
			       (long long)d->oldest_ms);
		}
		printf("(manual desk),%lld,0,0,0,%lld\n", (long long)b.desk,
		       (long long)b.desk_oldest_ms);
		printf("(escalated),%lld,0,0,0,%lld\n", (long long)b.escalated,
		       (long long)b.escalated_oldest_ms);
		printf("(callbacks),%lld,0,0,0,0\n", (long long)b.replied);
	} else {
		printf("hotline-stats live at %s  PostgreSQL %s (%.0f ms)  Redis %s\n", at,
		       pg_up ? "ok" : "UNREACHABLE", pg_ms,
		       !redis.asked ? "not asked (-c or --redis)"
		       : redis.up   ? "ok"
				    : redis.error);
		for (int i = 0; i < nhealth; i++) {
			const struct stats_daemon_health *h = &health[i];
			if (h->ok)
				printf("hotlined %-22s ok (event loop lag %lld ms)\n", h->address,
				       h->loop_lag_ms);
			else
				printf("hotlined %-22s %s: %s\n", h->address,
				       h->reachable ? "UNHEALTHY" : "UNREACHABLE", h->error);
		}
		if (nhealth == 0)
			printf("hotlined: not asked (-c or --daemon)\n");
		printf("\n");
		printf("%-20s %8s %8s %8s %8s  %s\n", "department", "waiting", "in hand", "overdue",
		       "due soon", "oldest waiting (dispatched)");
		for (size_t i = 0; i < b.ndepts; i++) {
			const struct live_dept *d = &b.depts[i];
			char oldest[24];
			format_instant(d->oldest_ms, ctx->utc_offset_min, oldest, sizeof(oldest));
			char hours[32] = "";
			if (d->oldest_ms > 0)
				snprintf(hours, sizeof(hours), " (%.1fh)",
					 (double)(now - d->oldest_ms) / 3600000.0);
			printf("%-20s %8lld %8lld %8lld %8lld  %s%s\n", d->dept_code,
			       (long long)d->waiting, (long long)d->in_hand, (long long)d->overdue,
			       (long long)d->due_soon, oldest, hours);
		}
		char desk_oldest[24], esc_oldest[24];
		format_instant(b.desk_oldest_ms, ctx->utc_offset_min, desk_oldest,
			       sizeof(desk_oldest));
		format_instant(b.escalated_oldest_ms, ctx->utc_offset_min, esc_oldest,
			       sizeof(esc_oldest));
		printf("\nmanual desk (PENDING_DISPATCH)   %8lld  oldest created %s\n",
		       (long long)b.desk, desk_oldest);
		printf("escalations (ESCALATED)          %8lld  oldest created %s\n",
		       (long long)b.escalated, esc_oldest);
		if (redis.up)
			printf("callbacks waiting (REPLIED)      %8lld  claimed by agents %lld (of "
			       "%lld queued)\n",
			       (long long)b.replied, redis.claimed, redis.waiting);
		else
			printf("callbacks waiting (REPLIED)      %8lld\n", (long long)b.replied);
		printf("linked repeat complaints         %8lld\n", (long long)b.linked);
		printf("\n%-20s %12s %12s\n", "intake per feed", "last minute", "last hour");
		for (int r = 0; pg_up && r < PQntuples(intake); r++)
			printf("%-20s %12s %12s\n",
			       PQgetvalue(intake, r, STATS_LIVE_INTAKE_C_FEED_CODE),
			       PQgetvalue(intake, r, STATS_LIVE_INTAKE_C_LAST_MINUTE),
			       PQgetvalue(intake, r, STATS_LIVE_INTAKE_C_LAST_HOUR));
	}
	fflush(stdout);
	live_board_free(&b);
	PQclear(res);
	PQclear(intake);
	return pg_up && (!redis.asked || redis.up) && daemons_ok ? 0 : 1;
}

static int cmd_live(struct stats_ctx *ctx, int argc, char **argv)
{
	long watch = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--watch") == 0 && i + 1 < argc) {
			char *end;
			watch = strtol(argv[++i], &end, 10);
			if (*end || watch < 1 || watch > 86400) {
				fprintf(stderr,
					"hotline-stats live: --watch takes 1..86400 seconds\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--daemon") == 0 && i + 1 < argc) {
			if (ctx->ndaemons == STATS_DAEMONS_MAX) {
				fprintf(stderr, "hotline-stats live: at most %d --daemon\n",
					STATS_DAEMONS_MAX);
				return 2;
			}
			ctx->daemons[ctx->ndaemons++] = argv[++i];
		} else {
			fprintf(stderr, "hotline-stats live: unknown argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (stats_connect(ctx) != 0) {
		if (ctx->format == STATS_TABLE)
			printf("PostgreSQL UNREACHABLE\n");
		return 1;
	}
	for (;;) {
		if (watch && ctx->format == STATS_TABLE && isatty(STDOUT_FILENO))
			fputs("\033[H\033[2J", stdout);
		int rc = live_once(ctx);
		if (!watch)
			return rc;
		if (PQstatus(ctx->pg) != CONNECTION_OK)
			PQreset(ctx->pg);
		sleep((unsigned)watch);
	}
}

/* ---- check and rebuild ---------------------------------------------------- */

/* A CSV field in quotes, its quotes doubled (district names are free text). */
static void print_csv_quoted(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* --from DATE --to DATE (either optional: all days on that side). */
static int day_range(const char *cmd, int argc, char **argv, const char **from, const char **to)
{
	*from = "-infinity";
	*to = "infinity";
	for (int i = 1; i < argc; i++) {
		int64_t days;
		if ((strcmp(argv[i], "--from") == 0 || strcmp(argv[i], "--to") == 0) &&
		    i + 1 < argc) {
			if (stats_parse_day(argv[i + 1], &days) != 0)
				return 2;
			*(argv[i][2] == 'f' ? from : to) = argv[i + 1];
			i++;
		} else {
			fprintf(stderr, "hotline-stats %s: unknown argument '%s'\n", cmd, argv[i]);
			return 2;
		}
	}
	return 0;
}

static int cmd_check(struct stats_ctx *ctx, int argc, char **argv)
{
	const char *from, *to;
	int rc = day_range("check", argc, argv, &from, &to);
	if (rc != 0)
		return rc;
	if (stats_connect(ctx) != 0)
		return 1;
	const char *values[STATS_CHECK_NPARAMS] = {
		[STATS_CHECK_P_FROM_DAY] = from,
		[STATS_CHECK_P_TO_DAY] = to,
		[STATS_CHECK_P_TIMEZONE] = ctx->timezone,
		[STATS_CHECK_P_HIST_BOUNDS] = kpi_hist_bounds_literal(),
	};
	PGresult *res = stats_exec(ctx, QUERY_STATS_CHECK, values, "check");
	if (!res)
		return 1;
	json_t *found = json_array(); /* --format json: the differences */
	if (ctx->format == STATS_CSV)
		printf("day,dept_code,dim,value,column,rollup,audit_trail\n");
	long differences = 0;
	for (int r = 0; r < PQntuples(res); r++) {
		json_t *sides[2] = { NULL, NULL };
		int cols[2] = { STATS_CHECK_C_ROLLUP, STATS_CHECK_C_AUDIT };
		for (int s = 0; s < 2; s++)
			if (!PQgetisnull(res, r, cols[s]))
				sides[s] = json_loads(PQgetvalue(res, r, cols[s]), 0, NULL);
		const char *day = PQgetvalue(res, r, STATS_CHECK_C_DAY);
		const char *dept = PQgetvalue(res, r, STATS_CHECK_C_DEPT_CODE);
		const char *dim = PQgetvalue(res, r, STATS_CHECK_C_DIM);
		const char *value = PQgetvalue(res, r, STATS_CHECK_C_VALUE);
		for (int c = 0; c < KPI_COL_COUNT; c++) {
			const char *name = kpi_column_name((enum kpi_column)c);
			long long v[2] = { 0, 0 };
			for (int s = 0; s < 2; s++)
				if (sides[s])
					v[s] = json_integer_value(json_object_get(sides[s], name));
			if (v[0] == v[1])
				continue;
			differences++;
			if (ctx->format == STATS_JSON) {
				json_array_append_new(
					found,
					json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "day", day,
						  "dept_code", dept, "dim", dim, "value", value,
						  "column", name, "rollup", (json_int_t)v[0],
						  "audit_trail", (json_int_t)v[1]));
			} else if (ctx->format == STATS_CSV) {
				printf("%s,%s,%s,", day, dept, dim);
				print_csv_quoted(value);
				printf(",%s,%lld,%lld\n", name, v[0], v[1]);
			} else {
				printf("%s dept=%s %s%s%s: %s rollup %lld, audit trail %lld "
				       "(%+lld)\n",
				       day, dept, dim[0] ? dim : "total", dim[0] ? "=" : "",
				       dim[0] ? value : "", name, v[0], v[1], v[0] - v[1]);
			}
		}
		json_decref(sides[0]);
		json_decref(sides[1]);
	}
	PQclear(res);
	if (ctx->format == STATS_JSON) {
		json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:o}", "from", from, "to", to,
				      "matches", differences == 0, "differences_count",
				      (json_int_t)differences, "differences", found);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	} else {
		json_decref(found);
	}
	/* the verdict: on stdout for a person, on stderr beside CSV and JSON */
	FILE *say = ctx->format == STATS_TABLE ? stdout : stderr;
	if (differences) {
		fprintf(say,
			"check: %ld counts of the rollup differ from the audit trail (days %s .. "
			"%s); `hotline-stats rebuild` recomputes them\n",
			differences, from, to);
		return 1;
	}
	fprintf(say, "check: the rollup matches the audit trail (days %s .. %s)\n", from, to);
	return 0;
}

static int exec_plain(struct stats_ctx *ctx, enum query q, const char *what)
{
	PGresult *res = PQexec(ctx->pg, queries[q].text);
	ExecStatusType st = PQresultStatus(res);
	PQclear(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "hotline-stats: %s: %s", what, PQerrorMessage(ctx->pg));
		return -1;
	}
	return 0;
}

static int cmd_rebuild(struct stats_ctx *ctx, int argc, char **argv)
{
	const char *from, *to;
	int rc = day_range("rebuild", argc, argv, &from, &to);
	if (rc != 0)
		return rc;
	if (stats_connect(ctx) != 0)
		return 1;
	double t0 = stats_monotonic_ms();
	const char *del[STATS_REBUILD_DELETE_NPARAMS] = {
		[STATS_REBUILD_DELETE_P_FROM_DAY] = from, [STATS_REBUILD_DELETE_P_TO_DAY] = to
	};
	const char *ins[STATS_REBUILD_INSERT_NPARAMS] = {
		[STATS_REBUILD_INSERT_P_FROM_DAY] = from,
		[STATS_REBUILD_INSERT_P_TO_DAY] = to,
		[STATS_REBUILD_INSERT_P_TIMEZONE] = ctx->timezone,
		[STATS_REBUILD_INSERT_P_HIST_BOUNDS] = kpi_hist_bounds_literal(),
	};
	PGresult *d = NULL, *i = NULL;
	if (exec_plain(ctx, QUERY_MIGRATE_BEGIN, "BEGIN") != 0 ||
	    exec_plain(ctx, QUERY_STATS_REBUILD_LOCK, "locking the rollup") != 0 ||
	    !(d = stats_exec(ctx, QUERY_STATS_REBUILD_DELETE, del, "deleting the rollup's rows")) ||
	    !(i = stats_exec(ctx, QUERY_STATS_REBUILD_INSERT, ins, "recomputing the rollup")) ||
	    exec_plain(ctx, QUERY_MIGRATE_COMMIT, "COMMIT") != 0) {
		PQclear(d);
		PQclear(i);
		fprintf(stderr, "hotline-stats: rebuild failed; the rollup is as it was\n");
		return 1;
	}
	double took_ms = stats_monotonic_ms() - t0;
	const char *deleted = PQgetvalue(d, 0, STATS_REBUILD_DELETE_C_DELETED);
	if (ctx->format == STATS_JSON)
		printf("{\n  \"from\": \"%s\",\n  \"to\": \"%s\",\n  \"deleted\": %s,\n"
		       "  \"inserted\": %s,\n  \"ms\": %.0f\n}\n",
		       from, to, deleted, PQcmdTuples(i), took_ms);
	else if (ctx->format == STATS_CSV)
		printf("from,to,deleted,inserted,ms\n%s,%s,%s,%s,%.0f\n", from, to, deleted,
		       PQcmdTuples(i), took_ms);
	else
		printf("rebuild: %s rows of days %s .. %s replaced by %s recomputed from the "
		       "audit trail (%.0f ms)\n",
		       deleted, from, to, PQcmdTuples(i), took_ms);
	PQclear(d);
	PQclear(i);
	return 0;
}

/* ---- main ------------------------------------------------------------------ */

struct command {
	const char *name;
	int (*run)(struct stats_ctx *ctx, int argc, char **argv);
};

static const struct command commands[] = {
	{ "live", cmd_live },
	{ "report", stats_cmd_report },
	{ "check", cmd_check },
	{ "rebuild", cmd_rebuild },
};

int main(int argc, char **argv)
{
	struct stats_ctx ctx = { 0 };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dsn", required_argument, NULL, 'd' },
		{ "redis", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			ctx.config_path = optarg;
			break;
		case 'd':
			ctx.dsn = optarg;
			break;
		case 'r':
			ctx.redis_opt = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "table") == 0) {
				ctx.format = STATS_TABLE;
			} else if (strcmp(optarg, "csv") == 0) {
				ctx.format = STATS_CSV;
			} else if (strcmp(optarg, "json") == 0) {
				ctx.format = STATS_JSON;
			} else {
				fprintf(stderr, "hotline-stats: --format is table, csv or json\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hotline-stats %s\n", HOTLINE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			if (load_settings(&ctx) != 0)
				return 1;
			int rc = commands[i].run(&ctx, argc - optind, argv + optind);
			if (ctx.pg)
				PQfinish(ctx.pg);
			return rc;
		}
	}
	fprintf(stderr, "hotline-stats: unknown command '%s' (see --help)\n", argv[optind]);
	return 2;
}
