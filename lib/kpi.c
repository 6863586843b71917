/*
 * kpi.c - the supervisors' numbers, each formula once (see kpi.h).
 *
 * Pure: the rollup's sums come in, rates, percentiles and balances go out.
 * Never: reads the clock, does I/O. A rate whose denominator is zero is "no
 * data", never 0 %, so a department without callbacks is not "0 % satisfied".
 */
#include "kpi.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define HOUR 3600
#define DAY (24 * HOUR)

const int64_t kpi_hist_bounds_s[KPI_HIST_BOUNDS] = {
	1 * HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 12 * HOUR, 1 * DAY,  2 * DAY,  3 * DAY,
	4 * DAY,  5 * DAY,  7 * DAY,  10 * DAY, 15 * DAY,  30 * DAY, 60 * DAY,
};

_Static_assert(KPI_COL_CLOSED + 1 == KPI_COL_ACCEPTED_ON_TIME,
	       "the counters' columns come first, in enum ticket_counter's order");

/* The columns after the state machine's counters (those are named by
 * ticket_counter_name(), the rollup's column for each). */
static const char *const column_names[KPI_COL_COUNT] = {
	[KPI_COL_ACCEPTED_ON_TIME] = "accepted_on_time",
	[KPI_COL_ACCEPTED_LATE] = "accepted_late",
	[KPI_COL_REPLIED_ON_TIME] = "replied_on_time",
	[KPI_COL_REPLIED_LATE] = "replied_late",
	[KPI_COL_DUE_SOON] = "due_soon",
	[KPI_COL_OVERDUE] = "overdue",
	[KPI_COL_HANDLED] = "handled",
	[KPI_COL_HANDLED_SECONDS] = "handled_seconds",
	[KPI_COL_HIST_FIRST + 0] = "hist_1h",
	[KPI_COL_HIST_FIRST + 1] = "hist_2h",
	[KPI_COL_HIST_FIRST + 2] = "hist_4h",
	[KPI_COL_HIST_FIRST + 3] = "hist_8h",
	[KPI_COL_HIST_FIRST + 4] = "hist_12h",
	[KPI_COL_HIST_FIRST + 5] = "hist_1d",
	[KPI_COL_HIST_FIRST + 6] = "hist_2d",
	[KPI_COL_HIST_FIRST + 7] = "hist_3d",
	[KPI_COL_HIST_FIRST + 8] = "hist_4d",
	[KPI_COL_HIST_FIRST + 9] = "hist_5d",
	[KPI_COL_HIST_FIRST + 10] = "hist_7d",
	[KPI_COL_HIST_FIRST + 11] = "hist_10d",
	[KPI_COL_HIST_FIRST + 12] = "hist_15d",
	[KPI_COL_HIST_FIRST + 13] = "hist_30d",
	[KPI_COL_HIST_FIRST + 14] = "hist_60d",
	[KPI_COL_HIST_FIRST + 15] = "hist_more",
};

const char *kpi_column_name(enum kpi_column col)
{
	int c = (int)col;
	if (c >= 0 && c < TICKET_COUNTER_COUNT)
		return ticket_counter_name((enum ticket_counter)c);
	return c >= 0 && c < KPI_COL_COUNT && column_names[c] ? column_names[c] : "INVALID";
}

const char *kpi_hist_bounds_literal(void)
{
	static char text[KPI_HIST_BOUNDS * 12 + 4];
	if (text[0] == '\0') {
		size_t used = 0;
		text[used++] = '{';
		for (int i = 0; i < KPI_HIST_BOUNDS; i++)
			used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%lld",
						 i ? "," : "", (long long)kpi_hist_bounds_s[i]);
		snprintf(text + used, sizeof(text) - used, "}");
	}
	return text;
}

void kpi_totals_add(struct kpi_totals *a, const struct kpi_totals *b)
{
	for (int i = 0; i < KPI_COL_COUNT; i++)
		a->v[i] += b->v[i];
}

int64_t kpi_count(const struct kpi_totals *t, enum ticket_counter counter)
{
	return (int)counter >= 0 && counter < TICKET_COUNTER_COUNT ? t->v[counter] : 0;
}

int kpi_sign_for_on_time(const struct deadline_limit *limit, const struct calendar *cal,
			 int utc_offset_min, int64_t dispatched_ms, int64_t accepted_ms)
{
	if (dispatched_ms <= 0)
		return -1;
	int64_t until = deadline_apply(limit, cal, utc_offset_min, dispatched_ms, NULL);
	if (until < 0)
		return -1;
	return accepted_ms <= until ? 1 : 0;
}

int kpi_reply_on_time(int64_t deadline_ms, int64_t replied_ms)
{
	return deadline_ms <= 0 || replied_ms <= deadline_ms ? 1 : 0;
}

double kpi_rate_value(struct kpi_rate r)
{
	return r.den > 0 ? (double)r.num / (double)r.den : NAN;
}

#define C(name) t->v[TICKET_COUNT_##name]

struct kpi_rate kpi_rate_of(const struct kpi_totals *t, enum kpi_rate_kind kind)
{
	struct kpi_rate r = { 0, 0 };
	int64_t rated = C(SATISFIED) + C(BASICALLY) + C(UNSATISFIED);
	switch (kind) {
	case KPI_DIRECT_RESOLUTION:
		r = (struct kpi_rate){ C(DIRECT_CLOSED), C(RECEIVED) };
		break;
	case KPI_SIGN_FOR_TIMELY:
		r = (struct kpi_rate){ t->v[KPI_COL_ACCEPTED_ON_TIME],
				       t->v[KPI_COL_ACCEPTED_ON_TIME] +
					       t->v[KPI_COL_ACCEPTED_LATE] };
		break;
	case KPI_ON_TIME:
		r = (struct kpi_rate){ t->v[KPI_COL_REPLIED_ON_TIME],
				       t->v[KPI_COL_REPLIED_ON_TIME] + t->v[KPI_COL_REPLIED_LATE] };
		break;
	case KPI_RETURN:
		r = (struct kpi_rate){ C(RETURNED), C(DISPATCHED) };
		break;
	case KPI_REOPEN:
		r = (struct kpi_rate){ C(REOPENED), C(REPLIED) };
		break;
	case KPI_CALLBACK:
		r = (struct kpi_rate){ rated, C(REPLIED) };
		break;
	case KPI_SATISFACTION:
		r = (struct kpi_rate){ C(SATISFIED) + C(BASICALLY), rated };
		break;
	case KPI_REPEAT:
		r = (struct kpi_rate){ C(LINKED), C(RECEIVED) };
		break;
	case KPI_RATE_COUNT:
		break;
	}
	return r;
}

static const char *const rate_names[KPI_RATE_COUNT][2] = {
	[KPI_DIRECT_RESOLUTION] = { "direct_resolution", "直接办结率" },
	[KPI_SIGN_FOR_TIMELY] = { "sign_for_timely", "签收及时率" },
	[KPI_ON_TIME] = { "on_time", "按时办结率" },
	[KPI_RETURN] = { "return", "退单率" },
	[KPI_REOPEN] = { "reopen", "重办率" },
	[KPI_CALLBACK] = { "callback", "回访率" },
	[KPI_SATISFACTION] = { "satisfaction", "有效参评满意率" },
	[KPI_REPEAT] = { "repeat", "重复诉求率" },
};

const char *kpi_rate_name(enum kpi_rate_kind kind)
{
	return (int)kind >= 0 && kind < KPI_RATE_COUNT ? rate_names[kind][0] : "INVALID";
}

const char *kpi_rate_name_zh(enum kpi_rate_kind kind)
{
	return (int)kind >= 0 && kind < KPI_RATE_COUNT ? rate_names[kind][1] : "INVALID";
}

double kpi_returns_per_ticket(const struct kpi_totals *t)
{
	return C(RECEIVED) > 0 ? (double)C(RETURNED) / (double)C(RECEIVED) : NAN;
}

#undef C

double kpi_handling_mean_s(const struct kpi_totals *t)
{
	int64_t n = t->v[KPI_COL_HANDLED];
	return n > 0 ? (double)t->v[KPI_COL_HANDLED_SECONDS] / (double)n : NAN;
}

double kpi_handling_quantile_s(const struct kpi_totals *t, double q)
{
	const int64_t *hist = &t->v[KPI_COL_HIST_FIRST];
	int64_t n = 0;
	for (int i = 0; i < KPI_HIST_BUCKETS; i++)
		n += hist[i];
	if (n <= 0 || !(q > 0.0 && q < 1.0))
		return NAN;
	/* The rank of the time asked for, 1-based: the ceil(q * n)-th smallest (0.9 * 80
	 * is 72.00000000000001 in binary: the slack keeps it the 72nd). */
	int64_t rank = (int64_t)ceil(q * (double)n - 1e-9);
	if (rank < 1)
		rank = 1;
	int64_t below = 0;
	for (int i = 0; i < KPI_HIST_BUCKETS; i++) {
		if (hist[i] > 0 && below + hist[i] >= rank) {
			double lo = i == 0 ? 0.0 : (double)kpi_hist_bounds_s[i - 1];
			if (i == KPI_HIST_BUCKETS - 1)
				return lo;
			double hi = (double)kpi_hist_bounds_s[i];
			/* the bucket's hist[i] times spread evenly over [lo, hi), each at the
			 * middle of its share: one time alone is the middle of the bucket */
			return lo + (hi - lo) * ((double)(rank - below) - 0.5) / (double)hist[i];
		}
		below += hist[i];
	}
	return NAN;
}

int64_t kpi_reconcile(int64_t carried, int64_t received, int64_t closed, int64_t open_end)
{
	return (carried + received) - (closed + open_end);
}

double kpi_change(double cur, double prev)
{
	if (isnan(cur) || isnan(prev) || prev == 0.0)
		return NAN;
	return (cur - prev) / prev;
}
