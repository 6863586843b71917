/*
 * stats_report.c - hotline-stats report: volumes and KPIs of a period.
 *
 * Owns: the report command's options, fetching the rollup's sums for the period
 * (queries/stats_report.sql; --source audit: recomputed from the audit trail,
 * stats_report_audit.sql) grouped by one dimension, the reconciliation (carried
 * over and still open from the tickets table, queries/stats_stock.sql: the rollup
 * cannot vouch for itself), the previous period of equal length, and printing it
 * as a table, CSV or JSON (HTML: tools/stats_html.c). The rows are read and the
 * JSON document written by lib/stats_rows.c and lib/stats_doc.c, which hotlined's
 * GET /api/v1/stats/report uses too.
 * Never: computes a rate itself (lib/kpi.c does), or writes to the database.
 * Callers: tools/stats.c.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "stats_rows.h"

/*
 * The sums of days from..to grouped by `by` ("" one row), only of dept ("" all),
 * from the rollup or (audit) the audit trail. 0, or -1 after saying why.
 */
static int fetch(struct stats_ctx *ctx, const char *from, const char *to, const char *by,
		 const char *dept, bool audit, struct stats_groups *out)
{
	PGresult *res;
	if (audit) {
		const char *v[STATS_REPORT_AUDIT_NPARAMS] = {
			[STATS_REPORT_AUDIT_P_FROM_DAY] = from,
			[STATS_REPORT_AUDIT_P_TO_DAY] = to,
			[STATS_REPORT_AUDIT_P_BY] = by,
			[STATS_REPORT_AUDIT_P_DEPT_CODE] = dept,
			[STATS_REPORT_AUDIT_P_TIMEZONE] = ctx->timezone,
			[STATS_REPORT_AUDIT_P_HIST_BOUNDS] = kpi_hist_bounds_literal(),
		};
		res = stats_exec(ctx, QUERY_STATS_REPORT_AUDIT, v, "report from the audit trail");
	} else {
		const char *v[STATS_REPORT_NPARAMS] = {
			[STATS_REPORT_P_FROM_DAY] = from,
			[STATS_REPORT_P_TO_DAY] = to,
			[STATS_REPORT_P_BY] = by,
			[STATS_REPORT_P_DEPT_CODE] = dept,
		};
		res = stats_exec(ctx, QUERY_STATS_REPORT, v, "report");
	}
	if (!res)
		return -1;
	char err[160];
	int rc = stats_rows_groups(res, out, err, sizeof(err));
	PQclear(res);
	if (rc != 0)
		fprintf(stderr,
			"hotline-stats: report: a row does not read as the rollup's columns: %s\n",
			err);
	return rc;
}

static int fetch_total(struct stats_ctx *ctx, const char *from, const char *to, const char *dept,
		       bool audit, struct kpi_totals *total)
{
	struct stats_groups g = { 0 };
	if (fetch(ctx, from, to, "", dept, audit, &g) != 0)
		return -1;
	stats_groups_sum(&g, total);
	stats_groups_free(&g);
	return 0;
}

/* ---- output ---------------------------------------------------------------- */

static void print_table(const struct stats_report *rep)
{
	printf("hotline-stats report %s .. %s (%d days)%s%s%s, from the %s\n\n", rep->from, rep->to,
	       rep->days, rep->by[0] ? ", by " : "", rep->by, rep->dept[0] ? ", department " : "",
	       rep->source);
	if (rep->dept[0])
		printf("department: %s\n", rep->dept);
	printf("%-16s %9s %7s %9s %8s %8s %7s %7s %7s %7s %7s %7s %7s %7s %8s %8s %8s\n", "",
	       "received", "direct", "dispatch", "sign-for", "on-time", "returns", "return",
	       "ret/tkt", "reopen", "callbk", "satisf", "repeat", "overdue", "mean", "p50", "p90");
	for (size_t i = 0; i <= rep->groups.count; i++) {
		const struct kpi_totals *t =
			i < rep->groups.count ? &rep->groups.rows[i].t : &rep->total;
		const char *key = i < rep->groups.count ? rep->groups.rows[i].key : "(total)";
		if (i < rep->groups.count && key[0] == '\0')
			key = "(none)";
		char r[KPI_RATE_COUNT][16], mean[16], p50[16], p90[16], rpt[16];
		for (int k = 0; k < KPI_RATE_COUNT; k++)
			stats_format_rate(kpi_rate_of(t, (enum kpi_rate_kind)k), r[k],
					  sizeof(r[k]));
		stats_format_hours(kpi_handling_mean_s(t), mean, sizeof(mean));
		stats_format_hours(kpi_handling_quantile_s(t, 0.5), p50, sizeof(p50));
		stats_format_hours(kpi_handling_quantile_s(t, 0.9), p90, sizeof(p90));
		double per = kpi_returns_per_ticket(t);
		if (isnan(per))
			snprintf(rpt, sizeof(rpt), "-");
		else
			snprintf(rpt, sizeof(rpt), "%.3f", per);
		if (i == rep->groups.count && rep->groups.count > 1)
			printf("\n");
		if (i == rep->groups.count && rep->groups.count == 1 && !rep->by[0])
			break;
		printf("%-16.16s %9lld %7s %9lld %8s %8s %7lld %7s %7s %7s %7s %7s %7s %7lld %8s "
		       "%8s %8s\n",
		       key, (long long)t->v[TICKET_COUNT_RECEIVED], r[KPI_DIRECT_RESOLUTION],
		       (long long)t->v[TICKET_COUNT_DISPATCHED], r[KPI_SIGN_FOR_TIMELY],
		       r[KPI_ON_TIME], (long long)t->v[TICKET_COUNT_RETURNED], r[KPI_RETURN], rpt,
		       r[KPI_REOPEN], r[KPI_CALLBACK], r[KPI_SATISFACTION], r[KPI_REPEAT],
		       (long long)t->v[KPI_COL_OVERDUE], mean, p50, p90);
	}
	if (rep->has_previous) {
		printf("\nprevious period %s .. %s, and the change:\n", rep->prev_from,
		       rep->prev_to);
		const struct {
			const char *name;
			double cur, prev;
			bool rate;
		} rows[] = {
			{ "received", (double)rep->total.v[TICKET_COUNT_RECEIVED],
			  (double)rep->previous.v[TICKET_COUNT_RECEIVED], false },
			{ "closed", (double)rep->total.v[TICKET_COUNT_CLOSED],
			  (double)rep->previous.v[TICKET_COUNT_CLOSED], false },
			{ "overdue", (double)rep->total.v[KPI_COL_OVERDUE],
			  (double)rep->previous.v[KPI_COL_OVERDUE], false },
		};
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			double ch = kpi_change(rows[i].cur, rows[i].prev);
			char chs[32];
			if (isnan(ch))
				snprintf(chs, sizeof(chs), "-");
			else
				snprintf(chs, sizeof(chs), "%+.0f%%", ch * 100.0);
			printf("  %-26s %12.0f  previous %12.0f  %s\n", rows[i].name, rows[i].cur,
			       rows[i].prev, chs);
		}
		for (int k = 0; k < KPI_RATE_COUNT; k++) {
			double cur =
				kpi_rate_value(kpi_rate_of(&rep->total, (enum kpi_rate_kind)k));
			double prev =
				kpi_rate_value(kpi_rate_of(&rep->previous, (enum kpi_rate_kind)k));
			char a[16], b[16], chs[32];
			stats_format_rate(kpi_rate_of(&rep->total, (enum kpi_rate_kind)k), a,
					  sizeof(a));
			stats_format_rate(kpi_rate_of(&rep->previous, (enum kpi_rate_kind)k), b,
					  sizeof(b));
			double ch = kpi_change(cur, prev);
			if (isnan(ch))
				snprintf(chs, sizeof(chs), "-");
			else
				snprintf(chs, sizeof(chs), "%+.0f%%", ch * 100.0);
			printf("  %-26s %12s  previous %12s  %s\n",
			       kpi_rate_name((enum kpi_rate_kind)k), a, b, chs);
		}
	}
}

static void print_reconciliation(FILE *out, const struct stats_report *rep)
{
	fprintf(out,
		"reconciliation (whole hotline): carried over %lld + received %lld = closed %lld + "
		"open at the end %lld: %s",
		(long long)rep->carried, (long long)rep->received, (long long)rep->closed,
		(long long)rep->open_end, rep->imbalance == 0 ? "balanced\n" : "");
	if (rep->imbalance != 0)
		fprintf(out,
			"DOES NOT BALANCE by %+lld (left side minus right side): run "
			"`hotline-stats "
			"check`\n",
			(long long)rep->imbalance);
}

/* One CSV row: the key (quoted, quotes doubled: keys come from feed, category, ...
 * codes), every rollup column, every rate, then the per-ticket figures. */
static void print_csv_row(const char *key, const struct kpi_totals *t)
{
	putchar('"');
	for (const char *p = key; *p; p++) {
		if (*p == '"')
			putchar('"');
		putchar(*p);
	}
	putchar('"');
	for (int c = 0; c < KPI_COL_COUNT; c++)
		printf(",%lld", (long long)t->v[c]);
	for (int k = 0; k < KPI_RATE_COUNT; k++) {
		double v = kpi_rate_value(kpi_rate_of(t, (enum kpi_rate_kind)k));
		if (isnan(v))
			printf(",");
		else
			printf(",%.6f", v);
	}
	double more[4] = { kpi_returns_per_ticket(t), kpi_handling_mean_s(t),
			   kpi_handling_quantile_s(t, 0.5), kpi_handling_quantile_s(t, 0.9) };
	for (int m = 0; m < 4; m++) {
		if (isnan(more[m]))
			printf(",");
		else
			printf(",%.3f", more[m]);
	}
	printf("\n");
}

/* The groups, "(total)", and with --compare-previous "(previous FROM..TO)". */
static void print_csv(const struct stats_report *rep)
{
	printf("key");
	for (int c = 0; c < KPI_COL_COUNT; c++)
		printf(",%s", kpi_column_name((enum kpi_column)c));
	for (int k = 0; k < KPI_RATE_COUNT; k++)
		printf(",%s", kpi_rate_name((enum kpi_rate_kind)k));
	printf(",returns_per_ticket,handling_mean_s,handling_p50_s,handling_p90_s\n");
	for (size_t i = 0; i < rep->groups.count; i++)
		print_csv_row(rep->groups.rows[i].key, &rep->groups.rows[i].t);
	print_csv_row("(total)", &rep->total);
	if (rep->has_previous) {
		char key[64];
		snprintf(key, sizeof(key), "(previous %s..%s)", rep->prev_from, rep->prev_to);
		print_csv_row(key, &rep->previous);
	}
}

static void print_json(const struct stats_report *rep)
{
	json_t *o = stats_doc_report(rep);
	if (!o) {
		fprintf(stderr, "hotline-stats: report: out of memory\n");
		return;
	}
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(o);
}

/* ---- the command ------------------------------------------------------------ */

int stats_cmd_report(struct stats_ctx *ctx, int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *by = "", *dept = "", *html = NULL;
	bool compare = false, audit = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;
		if (strcmp(a, "--from") == 0 && has_value) {
			from = argv[++i];
		} else if (strcmp(a, "--to") == 0 && has_value) {
			to = argv[++i];
		} else if (strcmp(a, "--by") == 0 && has_value) {
			by = argv[++i];
			if (!stats_doc_dimension(by)) {
				fprintf(stderr,
					"hotline-stats report: --by is feed, channel, category, "
					"dept, district, day or month\n");
				return 2;
			}
		} else if (strcmp(a, "--dept") == 0 && has_value) {
			dept = argv[++i];
		} else if (strcmp(a, "--html") == 0 && has_value) {
			html = argv[++i];
		} else if (strcmp(a, "--source") == 0 && has_value) {
			const char *s = argv[++i];
			if (strcmp(s, "audit") != 0 && strcmp(s, "rollup") != 0) {
				fprintf(stderr,
					"hotline-stats report: --source is rollup or audit\n");
				return 2;
			}
			audit = strcmp(s, "audit") == 0;
		} else if (strcmp(a, "--compare-previous") == 0) {
			compare = true;
		} else {
			fprintf(stderr,
				"hotline-stats report: unknown argument '%s' (see --help)\n", a);
			return 2;
		}
	}
	int64_t d0, d1;
	if (!from || !to) {
		fprintf(stderr, "hotline-stats report: --from DATE and --to DATE are required\n");
		return 2;
	}
	if (stats_parse_day(from, &d0) != 0 || stats_parse_day(to, &d1) != 0)
		return 2;
	if (d1 < d0) {
		fprintf(stderr, "hotline-stats report: --to %s is before --from %s\n", to, from);
		return 2;
	}
	if (stats_connect(ctx) != 0)
		return 1;

	struct stats_report rep;
	memset(&rep, 0, sizeof(rep));
	stats_format_day(d0, rep.from, sizeof(rep.from));
	stats_format_day(d1, rep.to, sizeof(rep.to));
	rep.days = (int)(d1 - d0 + 1);
	rep.by = by;
	rep.dept = dept;
	rep.source = audit ? "audit trail" : "rollup";
	int rc = 1;
	double t0 = stats_monotonic_ms();
	if (fetch(ctx, rep.from, rep.to, by, dept, audit, &rep.groups) != 0)
		goto out;
	stats_groups_sum(&rep.groups, &rep.total);

	/* The reconciliation is the whole hotline's: a department's share of it would
	 * need the tickets it handed on and took over. */
	struct kpi_totals all = rep.total;
	if (dept[0] && fetch_total(ctx, rep.from, rep.to, "", audit, &all) != 0)
		goto out;
	const char *sv[STATS_STOCK_NPARAMS] = { [STATS_STOCK_P_FROM_DAY] = rep.from,
						[STATS_STOCK_P_TO_DAY] = rep.to,
						[STATS_STOCK_P_TIMEZONE] = ctx->timezone };
	PGresult *stock = stats_exec(ctx, QUERY_STATS_STOCK, sv, "reconciliation");
	if (!stock)
		goto out;
	int stock_rc = stats_rows_stock(stock, &rep);
	PQclear(stock);
	if (stock_rc != 0) {
		fprintf(stderr, "hotline-stats: reconciliation: unreadable counts\n");
		goto out;
	}
	stats_report_reconcile(&rep, &all);

	if (compare) {
		rep.has_previous = true;
		stats_format_day(d0 - rep.days, rep.prev_from, sizeof(rep.prev_from));
		stats_format_day(d0 - 1, rep.prev_to, sizeof(rep.prev_to));
		if (fetch_total(ctx, rep.prev_from, rep.prev_to, dept, audit, &rep.previous) != 0)
			goto out;
	}
	rep.query_ms = stats_monotonic_ms() - t0;
	if (html) {
		if (fetch(ctx, rep.from, rep.to, "day", dept, audit, &rep.per_day) != 0 ||
		    fetch(ctx, rep.from, rep.to, "dept", dept, audit, &rep.per_dept) != 0)
			goto out;
		FILE *f = fopen(html, "w");
		if (!f) {
			fprintf(stderr, "hotline-stats: cannot write %s: %s\n", html,
				strerror(errno));
			goto out;
		}
		int wrc = stats_html_write(f, &rep);
		if (fclose(f) != 0 || wrc != 0) {
			fprintf(stderr, "hotline-stats: writing %s failed\n", html);
			goto out;
		}
	}

	switch (ctx->format) {
	case STATS_JSON:
		print_json(&rep);
		break;
	case STATS_CSV:
		print_csv(&rep);
		print_reconciliation(stderr, &rep);
		break;
	case STATS_TABLE:
		print_table(&rep);
		printf("\n");
		print_reconciliation(stdout, &rep);
		break;
	}
	if (rep.imbalance != 0 && ctx->format == STATS_JSON)
		fprintf(stderr, "hotline-stats: the reconciliation does not balance by %+lld\n",
			(long long)rep.imbalance);
	rc = rep.imbalance == 0 ? 0 : 1;
out:
	stats_groups_free(&rep.groups);
	stats_groups_free(&rep.per_day);
	stats_groups_free(&rep.per_dept);
	return rc;
}
