/*
 * stats_html.c - hotline-stats report --html: the report as one self-contained page.
 *
 * Owns: the page: the KPI summary with the Chinese names of lib/kpi.c, three
 * inline SVG bar charts (volume per day, satisfaction per department, overdue
 * marks per department), the reconciliation as a table, the report's table.
 * One file, UTF-8, no script, no external font, style sheet or image: it opens
 * from a mail attachment or a USB stick. Every bar is a <rect class="bar"> with
 * data-key and data-value, so a test can count and read them.
 * Never: queries anything (tools/stats_report.c hands it the numbers) or computes
 * a rate (lib/kpi.c).
 * Callers: tools/stats_report.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

#define FONTS                                                                     \
	"\"Noto Sans CJK SC\", \"Source Han Sans SC\", \"WenQuanYi Micro Hei\", " \
	"\"PingFang SC\", \"Microsoft YaHei\", \"SimHei\", sans-serif"

/* Writes s with &, <, >, " escaped. */
static void put_escaped(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

struct bar {
	const char *key;
	double value; /* NaN: no data (drawn as an empty bar, labelled "-") */
	char label[32];
};

/*
 * A vertical bar chart (many bars: days) when vertical, else horizontal (named
 * bars: departments). Values are scaled to the largest (max_value > 0 fixes the
 * scale, e.g. 1.0 for rates).
 */
static void bar_chart(FILE *out, const char *id, const char *title, const struct bar *bars,
		      size_t n, bool vertical, double max_value)
{
	double max = max_value;
	if (max <= 0) {
		for (size_t i = 0; i < n; i++)
			if (!isnan(bars[i].value) && bars[i].value > max)
				max = bars[i].value;
		if (max <= 0)
			max = 1;
	}
	fprintf(out, "<section><h2>");
	put_escaped(out, title);
	fprintf(out, "</h2>\n");
	if (vertical) {
		const int width = 1000, height = 260, left = 50, bottom = 40, top = 20;
		double step = n ? (double)(width - left - 10) / (double)n : 0;
		fprintf(out,
			"<svg id=\"%s\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
			"width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
			id, width, height, width, height);
		fprintf(out,
			"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n"
			"<text x=\"%d\" y=\"%d\" class=\"axis\" text-anchor=\"end\">%.0f</text>\n"
			"<text x=\"%d\" y=\"%d\" class=\"axis\" text-anchor=\"end\">0</text>\n",
			left, height - bottom, width - 10, height - bottom, left - 4, top + 4, max,
			left - 4, height - bottom);
		for (size_t i = 0; i < n; i++) {
			double v = isnan(bars[i].value) ? 0 : bars[i].value;
			double h = (double)(height - bottom - top) * v / max;
			double x = left + step * (double)i + step * 0.1;
			fprintf(out,
				"<rect class=\"bar\" data-key=\"%s\" data-value=\"%g\" x=\"%.1f\" "
				"y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#2f6db5\">"
				"<title>%s: %s</title></rect>\n",
				bars[i].key, v, x, (double)(height - bottom) - h, step * 0.8, h,
				bars[i].key, bars[i].label);
			/* a date under every bar when they fit, else under every seventh */
			if (n <= 31 || i % 7 == 0)
				fprintf(out,
					"<text x=\"%.1f\" y=\"%d\" class=\"axis\" "
					"text-anchor=\"middle\">%s</text>\n",
					x + step * 0.4, height - bottom + 14, bars[i].key + 5);
		}
		fprintf(out, "</svg>\n");
	} else {
		const int width = 1000, row = 26, left = 200, top = 10;
		int height = top * 2 + row * (int)(n ? n : 1);
		fprintf(out,
			"<svg id=\"%s\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
			"width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
			id, width, height, width, height);
		for (size_t i = 0; i < n; i++) {
			double v = isnan(bars[i].value) ? 0 : bars[i].value;
			double w = (double)(width - left - 120) * v / max;
			int y = top + row * (int)i;
			fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"label\" text-anchor=\"end\">",
				left - 8, y + 17);
			put_escaped(out, bars[i].key);
			fprintf(out, "</text>\n<rect class=\"bar\" data-key=\"");
			put_escaped(out, bars[i].key);
			fprintf(out,
				"\" data-value=\"%g\" x=\"%d\" y=\"%d\" width=\"%.1f\" "
				"height=\"%d\" "
				"fill=\"#2f6db5\"/>\n<text x=\"%.1f\" y=\"%d\" "
				"class=\"value\">%s</text>\n",
				v, left, y + 4, w, row - 8, (double)left + w + 6, y + 17,
				bars[i].label);
		}
		if (n == 0)
			fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"label\">（无数据）</text>\n",
				left, top + 17);
		fprintf(out, "</svg>\n");
	}
	fprintf(out, "</section>\n");
}

static void rate_cell(FILE *out, struct kpi_rate r)
{
	char buf[32];
	stats_format_rate(r, buf, sizeof(buf));
	fprintf(out, "<td>%s</td>", buf);
}

int stats_html_write(FILE *out, const struct stats_report *rep)
{
	int64_t d0, d1;
	if (stats_parse_day(rep->from, &d0) != 0 || stats_parse_day(rep->to, &d1) != 0)
		return -1;
	fprintf(out,
		"<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<title>12345 热线统计报告 %s 至 %s</title>\n<style>\n"
		"body { font-family: %s; margin: 24px; color: #222; }\n"
		"h1 { font-size: 24px; } h2 { font-size: 18px; margin-top: 28px; }\n"
		"table { border-collapse: collapse; margin: 8px 0; }\n"
		"td, th { border: 1px solid #bbb; padding: 4px 10px; text-align: right; }\n"
		"th:first-child, td:first-child { text-align: left; }\n"
		"svg text { font-family: %s; font-size: 12px; fill: #333; }\n"
		".bad { color: #b00; font-weight: bold; } .good { color: #070; }\n"
		"</style>\n</head>\n<body>\n",
		rep->from, rep->to, FONTS, FONTS);
	fprintf(out, "<h1>12345 热线统计报告：%s 至 %s（%d 天）</h1>\n", rep->from, rep->to,
		rep->days);
	fprintf(out, "<p>数据来源：%s",
		strcmp(rep->source, "rollup") == 0 ? "统计汇总表 (rollup)"
						   : "审计记录 (audit trail)");
	if (rep->dept[0]) {
		fprintf(out, "；部门：");
		put_escaped(out, rep->dept);
	}
	fprintf(out, "</p>\n");

	/* the KPIs of the period */
	const struct kpi_totals *t = &rep->total;
	fprintf(out, "<section><h2>主要指标</h2>\n<table id=\"kpi\">\n"
		     "<tr><th>指标</th><th>数值</th><th>分子 / 分母</th></tr>\n");
	fprintf(out, "<tr><td>受理量</td><td>%lld</td><td></td></tr>\n",
		(long long)t->v[TICKET_COUNT_RECEIVED]);
	fprintf(out, "<tr><td>派单量</td><td>%lld</td><td></td></tr>\n",
		(long long)t->v[TICKET_COUNT_DISPATCHED]);
	for (int k = 0; k < KPI_RATE_COUNT; k++) {
		struct kpi_rate r = kpi_rate_of(t, (enum kpi_rate_kind)k);
		fprintf(out, "<tr><td>%s</td>", kpi_rate_name_zh((enum kpi_rate_kind)k));
		rate_cell(out, r);
		fprintf(out, "<td>%lld / %lld</td></tr>\n", (long long)r.num, (long long)r.den);
	}
	char mean[16], p50[16], p90[16];
	stats_format_hours(kpi_handling_mean_s(t), mean, sizeof(mean));
	stats_format_hours(kpi_handling_quantile_s(t, 0.5), p50, sizeof(p50));
	stats_format_hours(kpi_handling_quantile_s(t, 0.9), p90, sizeof(p90));
	fprintf(out,
		"<tr><td>平均办理时长 / P50 / P90</td><td>%s</td><td>%s / %s</td></tr>\n"
		"<tr><td>超期件数（督办）</td><td>%lld</td><td></td></tr>\n</table></section>\n",
		mean, p50, p90, (long long)t->v[KPI_COL_OVERDUE]);

	/* volume per day: every day of the period, one bar each */
	size_t ndays = (size_t)(d1 - d0 + 1);
	struct bar *bars = calloc(ndays > rep->per_dept.count ? ndays : rep->per_dept.count + 1,
				  sizeof(*bars));
	char(*keys)[16] = calloc(ndays, sizeof(*keys));
	if (!bars || !keys) {
		free(bars);
		free(keys);
		return -1;
	}
	for (size_t i = 0; i < ndays; i++) {
		stats_format_day(d0 + (int64_t)i, keys[i], sizeof(keys[i]));
		bars[i].key = keys[i];
		bars[i].value = 0;
		for (size_t g = 0; g < rep->per_day.count; g++)
			if (strcmp(rep->per_day.rows[g].key, keys[i]) == 0)
				bars[i].value =
					(double)rep->per_day.rows[g].t.v[TICKET_COUNT_RECEIVED];
		snprintf(bars[i].label, sizeof(bars[i].label), "%.0f", bars[i].value);
	}
	bar_chart(out, "volume-per-day", "每日受理量", bars, ndays, true, 0);

	/* per department: satisfaction among valid ratings, and overdue marks */
	size_t nd = 0;
	for (size_t g = 0; g < rep->per_dept.count; g++) {
		const struct stats_group *grp = &rep->per_dept.rows[g];
		if (grp->key[0] == '\0')
			continue; /* the manual desk, escalations: no department */
		struct kpi_rate r = kpi_rate_of(&grp->t, KPI_SATISFACTION);
		bars[nd].key = grp->key;
		bars[nd].value = kpi_rate_value(r);
		stats_format_rate(r, bars[nd].label, sizeof(bars[nd].label));
		nd++;
	}
	bar_chart(out, "satisfaction-per-dept", "各部门有效参评满意率", bars, nd, false, 1.0);
	nd = 0;
	for (size_t g = 0; g < rep->per_dept.count; g++) {
		const struct stats_group *grp = &rep->per_dept.rows[g];
		if (grp->key[0] == '\0')
			continue;
		bars[nd].key = grp->key;
		bars[nd].value = (double)grp->t.v[KPI_COL_OVERDUE];
		snprintf(bars[nd].label, sizeof(bars[nd].label), "%lld",
			 (long long)grp->t.v[KPI_COL_OVERDUE]);
		nd++;
	}
	bar_chart(out, "overdue-per-dept", "各部门超期件数", bars, nd, false, 0);
	free(bars);
	free(keys);

	/* the reconciliation */
	fprintf(out,
		"<section><h2>收支平衡（全热线）</h2>\n<table id=\"reconciliation\">\n"
		"<tr><th>上期结转</th><th>本期受理</th><th>本期办结</th><th>期末在办</th>"
		"<th>差额</th></tr>\n<tr><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td>"
		"<td class=\"%s\">%+lld</td></tr>\n</table>\n<p>上期结转 + 本期受理 = 本期办结 + "
		"期末在办：%s</p></section>\n",
		(long long)rep->carried, (long long)rep->received, (long long)rep->closed,
		(long long)rep->open_end, rep->imbalance ? "bad" : "good",
		(long long)rep->imbalance,
		rep->imbalance ? "<span class=\"bad\">不平衡</span>"
			       : "<span class=\"good\">平衡</span>");

	/* the report's own table */
	if (rep->by[0]) {
		fprintf(out,
			"<section><h2>分组明细（按 %s）</h2>\n<table id=\"groups\">\n<tr><th></th>"
			"<th>受理量</th>",
			rep->by);
		for (int k = 0; k < KPI_RATE_COUNT; k++)
			fprintf(out, "<th>%s</th>", kpi_rate_name_zh((enum kpi_rate_kind)k));
		fprintf(out, "<th>超期</th><th>平均办理时长</th></tr>\n");
		for (size_t g = 0; g < rep->groups.count; g++) {
			const struct stats_group *grp = &rep->groups.rows[g];
			fprintf(out, "<tr><td>");
			put_escaped(out, grp->key[0] ? grp->key : "（无）");
			fprintf(out, "</td><td>%lld</td>",
				(long long)grp->t.v[TICKET_COUNT_RECEIVED]);
			for (int k = 0; k < KPI_RATE_COUNT; k++)
				rate_cell(out, kpi_rate_of(&grp->t, (enum kpi_rate_kind)k));
			stats_format_hours(kpi_handling_mean_s(&grp->t), mean, sizeof(mean));
			fprintf(out, "<td>%lld</td><td>%s</td></tr>\n",
				(long long)grp->t.v[KPI_COL_OVERDUE], mean);
		}
		fprintf(out, "</table></section>\n");
	}
	fprintf(out,
		"<p>由 hotline-stats %s 生成；指标定义见 README「hotline-stats」。</p>\n"
		"</body>\n</html>\n",
		HOTLINE_VERSION);
	return ferror(out) ? -1 : 0;
}
