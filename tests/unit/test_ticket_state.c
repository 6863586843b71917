/*
 * test_ticket_state.c - unit tests of lib/ticket_state.c (the ticket state machine).
 *
 * Owns: the allowed-move table, written out here independently of the
 * implementation and checked for every (state, event) pair; the counters and
 * limits (return -> ESCALATED, unreachable -> CLOSED UNRATED); argument checks
 * (reply, extend, dispatch, reasons); the exact error messages; name round trips.
 * Never: depends on anything but lib/ticket_state.c. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ticket_state.h"

#define NSTATES 9 /* index 0 unused: states are 1..8 like the proto */
#define T0 1700000000000LL
#define HOUR (3600LL * 1000)

enum {
	R = TICKET_RECEIVED,
	P = TICKET_PENDING_DISPATCH,
	D = TICKET_DISPATCHED,
	A = TICKET_ACCEPTED,
	Y = TICKET_REPLIED, /* replied */
	C = TICKET_CLOSED,
	E = TICKET_ESCALATED,
	L = TICKET_LINKED,
	X = 0 /* forbidden */
};

/*
 * The whole table: expected[event][state] is the state after the event, from a
 * ticket with all counters at zero (so RETURN does not escalate and UNREACHABLE
 * does not close), or X when the move must be refused with TICKET_ESTATE.
 * Columns are the state the event is applied in (0 is not a state).
 */
/* clang-format off */
static const int expected[TICKET_EV_COUNT][NSTATES] = {
	/*                                           0  R  P  D  A  Y  C  E  L  <- from */
	[TICKET_EV_ROUTE_MATCHED]                = { X, D, X, X, X, X, X, X, X },
	[TICKET_EV_ROUTE_NONE]                   = { X, P, X, X, X, X, X, X, X },
	[TICKET_EV_DIRECT_CLOSE]                 = { X, C, X, X, X, X, X, X, X },
	[TICKET_EV_MANUAL_DISPATCH]              = { X, X, D, X, X, X, X, X, X },
	[TICKET_EV_ACCEPT]                       = { X, X, X, A, X, X, X, X, X },
	[TICKET_EV_RETURN]                       = { X, X, X, P, P, X, X, X, X },
	[TICKET_EV_RULING_DISPATCH]              = { X, X, X, X, X, X, X, D, X },
	[TICKET_EV_RULING_CLOSE]                 = { X, X, X, X, X, X, X, C, X },
	[TICKET_EV_REPLY]                        = { X, X, X, X, Y, X, X, X, X },
	[TICKET_EV_EXTEND]                       = { X, X, X, D, A, X, X, X, X },
	[TICKET_EV_CALLBACK_SATISFIED]           = { X, X, X, X, X, C, X, X, X },
	[TICKET_EV_CALLBACK_BASICALLY_SATISFIED] = { X, X, X, X, X, C, X, X, X },
	[TICKET_EV_CALLBACK_UNSATISFIED]         = { X, X, X, X, X, D, X, X, X },
	[TICKET_EV_CALLBACK_UNREACHABLE]         = { X, X, X, X, X, Y, X, X, X },
	[TICKET_EV_LINK]                         = { X, L, X, X, X, X, X, X, X },
	[TICKET_EV_PARENT_REPLIED]               = { X, X, X, X, X, X, X, X, L },
	[TICKET_EV_PARENT_CLOSED]                = { X, X, X, X, X, X, X, X, C },
	[TICKET_EV_DESK_CLOSE]                   = { X, X, C, X, X, X, X, C, X },
	[TICKET_EV_DESK_DUPLICATE]               = { X, X, L, X, X, X, X, L, X },
};
/* clang-format on */

static struct ticket_limits limits(void)
{
	struct ticket_limits lim;
	ticket_limits_default(&lim);
	return lim;
}

/* A ticket in state, as it would look there: held by "water" with a deadline where it is held. */
static struct ticket_status status_in(enum ticket_state state)
{
	struct ticket_status st;
	ticket_status_init(&st);
	st.state = state;
	if (state == TICKET_DISPATCHED || state == TICKET_ACCEPTED || state == TICKET_REPLIED ||
	    state == TICKET_CLOSED) {
		strcpy(st.dept_code, "water");
		st.deadline_at_ms = T0 + 24 * HOUR;
	}
	return st;
}

/* An event of kind with every argument any kind might need, all valid. */
static struct ticket_event event_of(enum ticket_event_kind kind)
{
	struct ticket_event ev = {
		.kind = kind,
		.at_ms = T0,
		.dept_code = "power",
		.deadline_at_ms = T0 + 48 * HOUR,
		.text = "已联系用户并处理",
	};
	return ev;
}

static int apply(struct ticket_status *st, struct ticket_event ev, char *err, size_t errlen)
{
	struct ticket_limits lim = limits();
	return ticket_transition(st, &ev, &lim, st, NULL, err, errlen);
}

static void must_apply(struct ticket_status *st, struct ticket_event ev)
{
	char err[256] = "";
	int rc = apply(st, ev, err, sizeof(err));
	if (rc != TICKET_OK)
		fail_msg("%s: %s", ticket_event_name(ev.kind), err);
}

static void expect_einval(const struct ticket_status *st, struct ticket_event ev, const char *want)
{
	struct ticket_limits lim = limits();
	struct ticket_status next, before;
	char err[256] = "";

	memset(&next, 0x5A, sizeof(next));
	before = next;
	assert_int_equal(ticket_transition(st, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_EINVAL);
	assert_string_equal(err, want);
	assert_memory_equal(&next, &before, sizeof(next)); /* untouched on error */
}

static void test_every_state_event_pair(void **state)
{
	int allowed = 0, refused = 0;

	for (int s = TICKET_STATE_FIRST; s <= TICKET_STATE_LAST; s++) {
		for (int k = 0; k < TICKET_EV_COUNT; k++) {
			struct ticket_status cur = status_in((enum ticket_state)s);
			struct ticket_event ev = event_of((enum ticket_event_kind)k);
			struct ticket_limits lim = limits();
			struct ticket_status next, sentinel;
			char err[256] = "";

			memset(&next, 0x5A, sizeof(next));
			sentinel = next;
			int rc = ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err));
			if (expected[k][s] == X) {
				if (rc != TICKET_ESTATE)
					fail_msg("%s + %s: want TICKET_ESTATE, got %d",
						 ticket_state_name(s), ticket_event_name(k), rc);
				assert_false(ticket_event_allowed(s, k));
				assert_memory_equal(&next, &sentinel, sizeof(next));
				assert_memory_equal(err, "cannot ", 7);
				assert_non_null(strstr(err, ticket_state_name(s)));
				refused++;
			} else {
				if (rc != TICKET_OK)
					fail_msg("%s + %s: want OK, got %d (%s)",
						 ticket_state_name(s), ticket_event_name(k), rc,
						 err);
				assert_true(ticket_event_allowed(s, k));
				if ((int)next.state != expected[k][s])
					fail_msg("%s + %s: want %s, got %s", ticket_state_name(s),
						 ticket_event_name(k),
						 ticket_state_name(expected[k][s]),
						 ticket_state_name(next.state));
				allowed++;
			}
		}
	}
	/* 23 allowed moves out of 8 * 19: R 4, P 3, D 3, A 3, Y 4, C 0, E 4, L 2 */
	assert_int_equal(allowed, 23);
	assert_int_equal(refused, 8 * TICKET_EV_COUNT - 23);
	assert_int_equal(TICKET_EV_COUNT, 19);
}

static void test_state_error_messages(void **state)
{
	struct ticket_limits lim = limits();
	struct ticket_status cur = status_in(TICKET_REPLIED), next;
	struct ticket_event ev = event_of(TICKET_EV_ACCEPT);
	char err[256];

	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_ESTATE);
	assert_string_equal(err,
			    "cannot accept a ticket in state REPLIED (ACCEPT needs DISPATCHED)");

	cur = status_in(TICKET_RECEIVED);
	ev = event_of(TICKET_EV_RETURN);
	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_ESTATE);
	assert_string_equal(err, "cannot return a ticket in state RECEIVED (RETURN needs "
				 "DISPATCHED or ACCEPTED)");

	cur = status_in(TICKET_CLOSED);
	ev = event_of(TICKET_EV_CALLBACK_UNSATISFIED);
	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_ESTATE);
	assert_string_equal(err, "cannot record a callback on a ticket in state CLOSED "
				 "(CALLBACK_UNSATISFIED needs REPLIED)");

	cur = status_in(TICKET_DISPATCHED);
	ev = event_of(TICKET_EV_REPLY);
	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_ESTATE);
	assert_string_equal(err,
			    "cannot reply to a ticket in state DISPATCHED (REPLY needs ACCEPTED)");

	/* the state check comes first: bad arguments in a wrong state are still ESTATE */
	cur = status_in(TICKET_CLOSED);
	ev = event_of(TICKET_EV_REPLY);
	ev.text = "";
	ev.at_ms = 0;
	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_ESTATE);
}

static void test_invalid_state_or_event(void **state)
{
	struct ticket_limits lim = limits();
	struct ticket_status cur = status_in(TICKET_RECEIVED), next;
	struct ticket_event ev = event_of(TICKET_EV_ROUTE_NONE);
	char err[256];

	cur.state = (enum ticket_state)0;
	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_EINVAL);
	assert_string_equal(err, "unknown ticket state 0");
	cur.state = (enum ticket_state)9;
	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_EINVAL);
	assert_string_equal(err, "unknown ticket state 9");

	cur.state = TICKET_RECEIVED;
	ev.kind = TICKET_EV_COUNT;
	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_EINVAL);
	assert_string_equal(err, "unknown event 19");
	ev.kind = (enum ticket_event_kind) - 1;
	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_EINVAL);
	assert_string_equal(err, "unknown event -1");

	assert_false(ticket_event_allowed((enum ticket_state)0, TICKET_EV_ROUTE_NONE));
	assert_false(ticket_event_allowed(TICKET_RECEIVED, TICKET_EV_COUNT));

	ev.kind = TICKET_EV_ROUTE_NONE;
	assert_int_equal(ticket_transition(NULL, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_EINVAL);
	assert_int_equal(ticket_transition(&cur, NULL, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_EINVAL);
	assert_int_equal(ticket_transition(&cur, &ev, NULL, &next, NULL, err, sizeof(err)),
			 TICKET_EINVAL);
	assert_int_equal(ticket_transition(&cur, &ev, &lim, NULL, NULL, err, sizeof(err)),
			 TICKET_EINVAL);
	assert_string_equal(err, "missing argument");

	/* bad limits */
	lim.max_returns = 0;
	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_EINVAL);
	assert_string_equal(err,
			    "limits: max_returns and max_callback_attempts must be at least 1");
	lim = limits();
	lim.max_callback_attempts = 0;
	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_EINVAL);

	/* event time */
	lim = limits();
	ev.at_ms = 0;
	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_EINVAL);
	assert_string_equal(err, "ROUTE_NONE: event time must be positive");
	ev.at_ms = -5;
	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_EINVAL);
}

static void test_init_and_defaults(void **state)
{
	struct ticket_status st;
	struct ticket_limits lim;

	memset(&st, 0x77, sizeof(st));
	ticket_status_init(&st);
	assert_int_equal(st.state, TICKET_RECEIVED);
	assert_string_equal(st.dept_code, "");
	assert_int_equal(st.deadline_at_ms, 0);
	assert_int_equal(st.return_count, 0);
	assert_int_equal(st.reopen_count, 0);
	assert_int_equal(st.extend_count, 0);
	assert_int_equal(st.callback_attempts, 0);
	assert_int_equal(st.rating, TICKET_RATING_NONE);

	ticket_limits_default(&lim);
	assert_int_equal(lim.max_returns, 3);
	assert_int_equal(lim.max_callback_attempts, 3);
}

/* The closed loop, every field checked at every step. */
static void test_happy_path(void **state)
{
	struct ticket_status st;
	struct ticket_event ev;

	ticket_status_init(&st);
	ev = event_of(TICKET_EV_ROUTE_MATCHED);
	ev.dept_code = "water";
	ev.deadline_at_ms = T0 + 72 * HOUR;
	ev.text = NULL;
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_DISPATCHED);
	assert_string_equal(st.dept_code, "water");
	assert_int_equal(st.deadline_at_ms, T0 + 72 * HOUR);

	ev = event_of(TICKET_EV_ACCEPT);
	ev.dept_code = "ignored";
	ev.deadline_at_ms = 1; /* ignored by ACCEPT */
	ev.text = NULL;
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_ACCEPTED);
	assert_string_equal(st.dept_code, "water");
	assert_int_equal(st.deadline_at_ms, T0 + 72 * HOUR);

	ev = event_of(TICKET_EV_REPLY);
	ev.text = "管道已抢修完毕，已恢复供水";
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_REPLIED);
	assert_string_equal(st.dept_code, "water");
	assert_int_equal(st.deadline_at_ms, T0 + 72 * HOUR); /* kept for on-time statistics */

	ev = event_of(TICKET_EV_CALLBACK_SATISFIED);
	ev.text = NULL;
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_CLOSED);
	assert_int_equal(st.rating, TICKET_RATING_SATISFIED);
	assert_int_equal(st.callback_attempts, 1);
	assert_string_equal(st.dept_code, "water");
	assert_int_equal(st.return_count, 0);
	assert_int_equal(st.reopen_count, 0);
	assert_int_equal(st.extend_count, 0);
}

static void test_route_none_and_manual_dispatch(void **state)
{
	struct ticket_status st;
	struct ticket_event ev;

	ticket_status_init(&st);
	ev = event_of(TICKET_EV_ROUTE_NONE);
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_PENDING_DISPATCH);
	assert_string_equal(st.dept_code, "");
	assert_int_equal(st.deadline_at_ms, 0);

	ev = event_of(TICKET_EV_MANUAL_DISPATCH);
	ev.dept_code = "chengguan";
	ev.deadline_at_ms = 0; /* no deadline is allowed */
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_DISPATCHED);
	assert_string_equal(st.dept_code, "chengguan");
	assert_int_equal(st.deadline_at_ms, 0);
}

static void test_direct_close(void **state)
{
	struct ticket_status st;
	struct ticket_event ev;

	ticket_status_init(&st);
	ev = event_of(TICKET_EV_DIRECT_CLOSE);
	ev.text = "已告知公积金提取所需材料";
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_CLOSED);
	assert_string_equal(st.dept_code, "");
	assert_int_equal(st.rating, TICKET_RATING_NONE);

	ticket_status_init(&st);
	ev.text = NULL;
	expect_einval(&st, ev, "a direct close needs the answer given on the call");
	ev.text = " ";
	expect_einval(&st, ev, "a direct close needs the answer given on the call");
}

static void test_return_limit_escalates(void **state)
{
	struct ticket_status st;
	struct ticket_event ev;

	ticket_status_init(&st);
	must_apply(&st, event_of(TICKET_EV_ROUTE_MATCHED)); /* power */

	/* 1st return, from DISPATCHED */
	ev = event_of(TICKET_EV_RETURN);
	ev.text = "不属于本单位职责";
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_PENDING_DISPATCH);
	assert_int_equal(st.return_count, 1);
	assert_string_equal(st.dept_code, "");
	assert_int_equal(st.deadline_at_ms, 0);

	/* 2nd return, from ACCEPTED */
	must_apply(&st, event_of(TICKET_EV_MANUAL_DISPATCH));
	must_apply(&st, event_of(TICKET_EV_ACCEPT));
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_PENDING_DISPATCH);
	assert_int_equal(st.return_count, 2);

	/* 3rd return reaches max_returns = 3: a supervisor must rule */
	must_apply(&st, event_of(TICKET_EV_MANUAL_DISPATCH));
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_ESCALATED);
	assert_int_equal(st.return_count, 3);
	assert_string_equal(st.dept_code, "");
	assert_int_equal(st.deadline_at_ms, 0);

	/* ruling: this department handles it */
	ev = event_of(TICKET_EV_RULING_DISPATCH);
	ev.dept_code = "housing";
	ev.deadline_at_ms = T0 + 5 * HOUR;
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_DISPATCHED);
	assert_string_equal(st.dept_code, "housing");
	assert_int_equal(st.deadline_at_ms, T0 + 5 * HOUR);

	assert_true(st.ruled);

	/* ruled: the department may not return it (a state refusal, nothing changes) */
	char err[256];
	struct ticket_status before = st;
	ev = event_of(TICKET_EV_RETURN);
	assert_int_equal(apply(&st, ev, err, sizeof(err)), TICKET_ESTATE);
	assert_memory_equal(&st, &before, sizeof(st));
	assert_non_null(strstr(err, "ruling"));
	/* ... but may still extend and reply */
	ev = event_of(TICKET_EV_EXTEND);
	ev.deadline_at_ms = T0 + 9 * HOUR;
	must_apply(&st, ev);
	assert_true(st.ruled);

	/* an escalated ticket closed by ruling instead */
	st.state = TICKET_ESCALATED;
	st.dept_code[0] = '\0';
	st.deadline_at_ms = 0;
	st.ruled = false;
	ev = event_of(TICKET_EV_RULING_CLOSE);
	ev.text = "诉求不属于政府职能范围，已向市民解释";
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_CLOSED);
	assert_int_equal(st.rating, TICKET_RATING_NONE);
	assert_int_equal(st.return_count, 3);
}

static void test_desk_close_and_duplicate(void **state)
{
	struct ticket_status st = status_in(TICKET_PENDING_DISPATCH);
	struct ticket_event ev = event_of(TICKET_EV_DESK_CLOSE);
	ev.text = "\xe3\x80\x80 "; /* only white space (U+3000) */
	expect_einval(&st, ev, "a close from the desk needs a reason");
	ev.text = "测试来电";
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_CLOSED);
	assert_string_equal(st.dept_code, "");

	st = status_in(TICKET_ESCALATED);
	st.return_count = 3;
	ev = event_of(TICKET_EV_DESK_DUPLICATE);
	ev.text = NULL;
	expect_einval(&st, ev, "closing a duplicate needs a reason");
	ev.text = "同一问题重复来电";
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_LINKED);
	assert_int_equal(st.return_count, 3);
	assert_int_equal(st.deadline_at_ms, 0);
}

static void test_return_limit_parameter(void **state)
{
	struct ticket_limits lim = limits();
	struct ticket_status st = status_in(TICKET_DISPATCHED), next;
	struct ticket_event ev = event_of(TICKET_EV_RETURN);
	char err[256];

	lim.max_returns = 1;
	assert_int_equal(ticket_transition(&st, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_OK);
	assert_int_equal(next.state, TICKET_ESCALATED);
	assert_int_equal(next.return_count, 1);

	lim.max_returns = 5;
	st.return_count = 3;
	assert_int_equal(ticket_transition(&st, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_OK);
	assert_int_equal(next.state, TICKET_PENDING_DISPATCH);
	assert_int_equal(next.return_count, 4);
	st.return_count = 4;
	assert_int_equal(ticket_transition(&st, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_OK);
	assert_int_equal(next.state, TICKET_ESCALATED);
	assert_int_equal(next.return_count, 5);

	/* counters saturate instead of wrapping back under the limit */
	st.return_count = UINT32_MAX;
	assert_int_equal(ticket_transition(&st, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_OK);
	assert_int_equal(next.state, TICKET_ESCALATED);
	assert_int_equal(next.return_count, UINT32_MAX);
}

static void test_return_needs_reason(void **state)
{
	struct ticket_status st = status_in(TICKET_ACCEPTED);
	struct ticket_event ev = event_of(TICKET_EV_RETURN);

	ev.text = NULL;
	expect_einval(&st, ev, "a return needs a reason");
	ev.text = "\t\r\n ";
	expect_einval(&st, ev, "a return needs a reason");
}

static void test_ruling_validation(void **state)
{
	struct ticket_status st = status_in(TICKET_ESCALATED);
	struct ticket_event ev = event_of(TICKET_EV_RULING_CLOSE);

	ev.text = "";
	expect_einval(&st, ev, "a ruling close needs a reason");
	ev = event_of(TICKET_EV_RULING_DISPATCH);
	ev.dept_code = NULL;
	expect_einval(&st, ev, "RULING_DISPATCH needs a department code");
}

static void test_unreachable_limit_closes_unrated(void **state)
{
	struct ticket_status st = status_in(TICKET_REPLIED);
	struct ticket_event ev = event_of(TICKET_EV_CALLBACK_UNREACHABLE);

	ev.text = NULL;
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_REPLIED);
	assert_int_equal(st.callback_attempts, 1);
	assert_int_equal(st.rating, TICKET_RATING_NONE);
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_REPLIED);
	assert_int_equal(st.callback_attempts, 2);
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_CLOSED);
	assert_int_equal(st.callback_attempts, 3);
	assert_int_equal(st.rating, TICKET_RATING_UNRATED);
	assert_string_equal(st.dept_code, "water");

	/* a reachable caller after two misses: rated normally */
	st = status_in(TICKET_REPLIED);
	must_apply(&st, ev);
	must_apply(&st, ev);
	must_apply(&st, event_of(TICKET_EV_CALLBACK_BASICALLY_SATISFIED));
	assert_int_equal(st.state, TICKET_CLOSED);
	assert_int_equal(st.callback_attempts, 3);
	assert_int_equal(st.rating, TICKET_RATING_BASICALLY_SATISFIED);

	/* the limit is a parameter */
	struct ticket_limits lim = limits();
	struct ticket_status next;
	char err[256];
	lim.max_callback_attempts = 1;
	st = status_in(TICKET_REPLIED);
	assert_int_equal(ticket_transition(&st, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_OK);
	assert_int_equal(next.state, TICKET_CLOSED);
	assert_int_equal(next.rating, TICKET_RATING_UNRATED);
	lim.max_callback_attempts = 5;
	st.callback_attempts = 3;
	assert_int_equal(ticket_transition(&st, &ev, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_OK);
	assert_int_equal(next.state, TICKET_REPLIED);
	assert_int_equal(next.callback_attempts, 4);
}

static void test_reopen_same_department(void **state)
{
	struct ticket_status st = status_in(TICKET_REPLIED);
	struct ticket_event ev;

	/* one missed call, then the caller is reached and unhappy */
	must_apply(&st, event_of(TICKET_EV_CALLBACK_UNREACHABLE));
	assert_int_equal(st.callback_attempts, 1);

	ev = event_of(TICKET_EV_CALLBACK_UNSATISFIED);
	ev.dept_code = "power"; /* ignored: a reopen goes back to the same department */
	ev.deadline_at_ms = T0 + 10 * HOUR;
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_DISPATCHED);
	assert_string_equal(st.dept_code, "water");
	assert_int_equal(st.deadline_at_ms, T0 + 10 * HOUR);
	assert_int_equal(st.reopen_count, 1);
	assert_int_equal(st.rating, TICKET_RATING_UNSATISFIED);
	assert_int_equal(st.callback_attempts, 2);

	/* the next reply starts a fresh round of callbacks */
	must_apply(&st, event_of(TICKET_EV_ACCEPT));
	must_apply(&st, event_of(TICKET_EV_REPLY));
	assert_int_equal(st.callback_attempts, 0);
	assert_int_equal(st.rating, TICKET_RATING_UNSATISFIED); /* until the next verdict */

	ev.deadline_at_ms = 0;
	must_apply(&st, ev);
	assert_int_equal(st.reopen_count, 2);
	assert_int_equal(st.deadline_at_ms, 0);
	must_apply(&st, event_of(TICKET_EV_ACCEPT));
	must_apply(&st, event_of(TICKET_EV_REPLY));
	must_apply(&st, event_of(TICKET_EV_CALLBACK_SATISFIED));
	assert_int_equal(st.state, TICKET_CLOSED);
	assert_int_equal(st.rating, TICKET_RATING_SATISFIED);
	assert_int_equal(st.reopen_count, 2);

	/* a deadline in the past is refused */
	st = status_in(TICKET_REPLIED);
	ev.deadline_at_ms = T0;
	expect_einval(&st, ev,
		      "CALLBACK_UNSATISFIED: deadline_at 1700000000000 must be 0 (none) or later "
		      "than the event (1700000000000)");
	/* a REPLIED ticket without a department (corrupt row) cannot be reopened */
	st.dept_code[0] = '\0';
	ev.deadline_at_ms = 0;
	expect_einval(&st, ev, "cannot reopen a ticket that has no department");
}

static void test_extend(void **state)
{
	struct ticket_status st = status_in(TICKET_DISPATCHED); /* deadline T0 + 24h */
	struct ticket_event ev = event_of(TICKET_EV_EXTEND);

	ev.text = "需协调多部门现场勘查";
	ev.deadline_at_ms = T0 + 24 * HOUR;
	expect_einval(&st, ev,
		      "an extension must move the deadline later (until 1700086400000, "
		      "deadline 1700086400000)");
	ev.deadline_at_ms = T0 + 24 * HOUR - 1;
	expect_einval(&st, ev,
		      "an extension must move the deadline later (until 1700086399999, "
		      "deadline 1700086400000)");

	ev.deadline_at_ms = T0 + 24 * HOUR + 1;
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_DISPATCHED);
	assert_int_equal(st.deadline_at_ms, T0 + 24 * HOUR + 1);
	assert_int_equal(st.extend_count, 1);
	assert_string_equal(st.dept_code, "water");

	/* from ACCEPTED, and a second time */
	st.state = TICKET_ACCEPTED;
	ev.deadline_at_ms = T0 + 96 * HOUR;
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_ACCEPTED);
	assert_int_equal(st.deadline_at_ms, T0 + 96 * HOUR);
	assert_int_equal(st.extend_count, 2);

	/* a reason is required, and blank does not count */
	ev.deadline_at_ms = T0 + 100 * HOUR;
	ev.text = NULL;
	expect_einval(&st, ev, "an extension needs a reason");
	ev.text = "";
	expect_einval(&st, ev, "an extension needs a reason");
	ev.text = "\xe3\x80\x80 \xe3\x80\x80"; /* U+3000 full-width spaces */
	expect_einval(&st, ev, "an extension needs a reason");

	/* no deadline yet: the new one must still lie after the event */
	st = status_in(TICKET_DISPATCHED);
	st.deadline_at_ms = 0;
	ev.text = "等待配件";
	ev.deadline_at_ms = T0;
	expect_einval(&st, ev,
		      "an extension must end after the event (until 1700000000000, now "
		      "1700000000000)");
	ev.deadline_at_ms = T0 + 1;
	must_apply(&st, ev);
	assert_int_equal(st.deadline_at_ms, T0 + 1);

	/* overdue: an "extension" that still lies in the past is refused */
	st = status_in(TICKET_ACCEPTED);
	st.deadline_at_ms = T0 - 10 * HOUR;
	ev.at_ms = T0;
	ev.deadline_at_ms = T0 - HOUR;
	expect_einval(&st, ev,
		      "an extension must end after the event (until 1699996400000, now "
		      "1700000000000)");
}

static void test_reply_validation(void **state)
{
	struct ticket_status st = status_in(TICKET_ACCEPTED);
	struct ticket_event ev = event_of(TICKET_EV_REPLY);
	const char *blank[] = { NULL, "", " ", "\t\n", "\xe3\x80\x80", " \xe3\x80\x80\r\n" };

	for (size_t i = 0; i < sizeof(blank) / sizeof(blank[0]); i++) {
		ev.text = blank[i];
		expect_einval(&st, ev, "a reply needs non-empty content");
	}
	ev.text = "ok\xff";
	expect_einval(&st, ev, "REPLY: text is not valid UTF-8");
	ev.text = "\xe3\x80"; /* truncated sequence */
	expect_einval(&st, ev, "REPLY: text is not valid UTF-8");

	/* a note on an event that needs no text must still be valid UTF-8 */
	struct ticket_status acc = status_in(TICKET_DISPATCHED);
	struct ticket_event note = event_of(TICKET_EV_ACCEPT);
	note.text = "\xc0\xaf";
	expect_einval(&acc, note, "ACCEPT: text is not valid UTF-8");

	ev.text = " 已处理 ";
	must_apply(&st, ev);
	assert_int_equal(st.state, TICKET_REPLIED);
}

static void test_dispatch_validation(void **state)
{
	struct ticket_status st = status_in(TICKET_RECEIVED);
	struct ticket_event ev = event_of(TICKET_EV_ROUTE_MATCHED);
	char long_code[CODE_MAX + 2];

	ev.dept_code = NULL;
	expect_einval(&st, ev, "ROUTE_MATCHED needs a department code");
	ev.dept_code = "";
	expect_einval(&st, ev, "ROUTE_MATCHED needs a department code");
	ev.dept_code = "水务";
	expect_einval(&st, ev,
		      "ROUTE_MATCHED: department code must be 1-64 letters, digits, "
		      "'_' or '-'");
	ev.dept_code = "water supply";
	expect_einval(&st, ev,
		      "ROUTE_MATCHED: department code must be 1-64 letters, digits, "
		      "'_' or '-'");
	memset(long_code, 'a', CODE_MAX + 1);
	long_code[CODE_MAX + 1] = '\0';
	ev.dept_code = long_code;
	expect_einval(&st, ev,
		      "ROUTE_MATCHED: department code must be 1-64 letters, digits, "
		      "'_' or '-'");
	long_code[CODE_MAX] = '\0'; /* exactly 64: fine */
	ev.deadline_at_ms = 0;
	struct ticket_status ok = st;
	must_apply(&ok, ev);
	assert_string_equal(ok.dept_code, long_code);

	ev.dept_code = "water";
	ev.deadline_at_ms = -1;
	expect_einval(&st, ev,
		      "ROUTE_MATCHED: deadline_at -1 must be 0 (none) or later than the event "
		      "(1700000000000)");
	ev.deadline_at_ms = T0;
	expect_einval(&st, ev,
		      "ROUTE_MATCHED: deadline_at 1700000000000 must be 0 (none) or later than "
		      "the event (1700000000000)");

	st = status_in(TICKET_PENDING_DISPATCH);
	ev = event_of(TICKET_EV_MANUAL_DISPATCH);
	ev.dept_code = "a/b";
	expect_einval(&st, ev,
		      "MANUAL_DISPATCH: department code must be 1-64 letters, digits, "
		      "'_' or '-'");
}

static void test_next_may_alias_and_err_optional(void **state)
{
	struct ticket_limits lim = limits();
	struct ticket_status st = status_in(TICKET_DISPATCHED);
	struct ticket_event ev = event_of(TICKET_EV_ACCEPT);
	char err[16];

	assert_int_equal(ticket_transition(&st, &ev, &lim, &st, NULL, NULL, 0), TICKET_OK);
	assert_int_equal(st.state, TICKET_ACCEPTED);
	/* refused: st unchanged even when it is also next; NULL err is fine */
	assert_int_equal(ticket_transition(&st, &ev, &lim, &st, NULL, NULL, 0), TICKET_ESTATE);
	assert_int_equal(st.state, TICKET_ACCEPTED);
	/* a short err buffer is truncated, still terminated */
	memset(err, 'X', sizeof(err));
	assert_int_equal(ticket_transition(&st, &ev, &lim, &st, NULL, err, sizeof(err)),
			 TICKET_ESTATE);
	assert_string_equal(err, "cannot accept a");

	/* an unterminated dept_code from storage never leaks into a copy */
	struct ticket_status raw = status_in(TICKET_DISPATCHED), next;
	memset(raw.dept_code, 'w', sizeof(raw.dept_code));
	ev = event_of(TICKET_EV_ACCEPT);
	assert_int_equal(ticket_transition(&raw, &ev, &lim, &next, NULL, NULL, 0), TICKET_OK);
	assert_int_equal(strlen(next.dept_code), CODE_MAX);
}

static void test_state_names(void **state)
{
	static const char *const names[NSTATES] = {
		NULL,	   "RECEIVED", "PENDING_DISPATCH", "DISPATCHED", "ACCEPTED",
		"REPLIED", "CLOSED",   "ESCALATED",	   "LINKED",
	};

	for (int s = TICKET_STATE_FIRST; s <= TICKET_STATE_LAST; s++) {
		assert_string_equal(ticket_state_name(s), names[s]);
		assert_int_equal(ticket_state_from_name(names[s]), s);
	}
	assert_string_equal(ticket_state_name((enum ticket_state)0), "INVALID");
	assert_string_equal(ticket_state_name((enum ticket_state)9), "INVALID");
	assert_string_equal(ticket_state_name((enum ticket_state) - 3), "INVALID");
	assert_int_equal(ticket_state_from_name("received"), -1);
	assert_int_equal(ticket_state_from_name("RECEIVED "), -1);
	assert_int_equal(ticket_state_from_name(""), -1);
	assert_int_equal(ticket_state_from_name("INVALID"), -1);
	assert_int_equal(ticket_state_from_name("UNSPECIFIED"), -1);
	assert_int_equal(ticket_state_from_name(NULL), -1);
}

static void test_event_names(void **state)
{
	static const char *const names[TICKET_EV_COUNT] = {
		"ROUTE_MATCHED",
		"ROUTE_NONE",
		"DIRECT_CLOSE",
		"MANUAL_DISPATCH",
		"ACCEPT",
		"RETURN",
		"RULING_DISPATCH",
		"RULING_CLOSE",
		"REPLY",
		"EXTEND",
		"CALLBACK_SATISFIED",
		"CALLBACK_BASICALLY_SATISFIED",
		"CALLBACK_UNSATISFIED",
		"CALLBACK_UNREACHABLE",
		"LINK",
		"PARENT_REPLIED",
		"PARENT_CLOSED",
		"DESK_CLOSE",
		"DESK_DUPLICATE",
	};

	for (int k = 0; k < TICKET_EV_COUNT; k++) {
		assert_string_equal(ticket_event_name(k), names[k]);
		assert_int_equal(ticket_event_from_name(names[k]), k);
	}
	assert_string_equal(ticket_event_name(TICKET_EV_COUNT), "INVALID");
	assert_string_equal(ticket_event_name((enum ticket_event_kind) - 1), "INVALID");
	assert_int_equal(ticket_event_from_name("accept"), -1);
	assert_int_equal(ticket_event_from_name("CALLBACK"), -1);
	assert_int_equal(ticket_event_from_name(NULL), -1);
}

static void test_rating_names(void **state)
{
	static const char *const names[] = {
		"NONE", "SATISFIED", "BASICALLY_SATISFIED", "UNSATISFIED", "UNRATED",
	};

	for (int r = 0; r <= TICKET_RATING_LAST; r++) {
		assert_string_equal(ticket_rating_name(r), names[r]);
		assert_int_equal(ticket_rating_from_name(names[r]), r);
	}
	assert_int_equal(TICKET_RATING_LAST, 4);
	assert_string_equal(ticket_rating_name((enum ticket_rating)5), "INVALID");
	assert_int_equal(ticket_rating_from_name("unrated"), -1);
	assert_int_equal(ticket_rating_from_name(NULL), -1);
}

static void test_link_lifecycle(void **state)
{
	struct ticket_limits lim = limits();
	struct ticket_status st, next;
	char err[256];
	ticket_status_init(&st);
	struct ticket_event link = { TICKET_EV_LINK, T0, NULL, 0, NULL };
	assert_int_equal(ticket_transition(&st, &link, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_OK);
	assert_int_equal(next.state, TICKET_LINKED);
	assert_string_equal(next.dept_code, "");
	assert_int_equal(next.deadline_at_ms, 0);

	struct ticket_event shared = { TICKET_EV_PARENT_REPLIED, T0 + HOUR, NULL, 0, "  " };
	assert_int_equal(ticket_transition(&next, &shared, &lim, &st, NULL, err, sizeof(err)),
			 TICKET_EINVAL);
	assert_string_equal(err, "a shared reply needs the parent's reply");
	shared.text = "已修复 fixed";
	assert_int_equal(ticket_transition(&next, &shared, &lim, &st, NULL, err, sizeof(err)),
			 TICKET_OK);
	assert_int_equal(st.state, TICKET_LINKED);

	struct ticket_event accept = { TICKET_EV_ACCEPT, T0 + HOUR, NULL, 0, NULL };
	assert_int_equal(ticket_transition(&st, &accept, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_ESTATE);
	assert_string_equal(err,
			    "cannot accept a ticket in state LINKED (ACCEPT needs DISPATCHED)");

	struct ticket_event closed = { TICKET_EV_PARENT_CLOSED, T0 + 2 * HOUR, NULL, 0, NULL };
	assert_int_equal(ticket_transition(&st, &closed, &lim, &next, NULL, err, sizeof(err)),
			 TICKET_OK);
	assert_int_equal(next.state, TICKET_CLOSED);
}

/* ---- effects: what each move does besides the status ---------------------- */

struct effects_case {
	enum ticket_state from;
	enum ticket_event_kind kind;
	uint32_t returns_before; /* the ticket's return_count before the move */
	uint32_t attempts_before;
	/* expected */
	enum ticket_state to;
	enum ticket_outbox outbox;
	bool outbox_later, feed_update, update_reply, reset_marks, set_dispatched, set_closed;
	enum ticket_event_kind children;
	uint32_t counters;
};

#define C(x) TICKET_COUNTER_BIT(TICKET_COUNT_##x)
#define NONE TICKET_EV_COUNT

/* Every allowed move of the table, with what it must do. */
static const struct effects_case effects_cases[] = {
	/* intake: the feed has its IntakeAck; the batch's outbox row is intake's own */
	{ TICKET_RECEIVED, TICKET_EV_ROUTE_MATCHED, 0, 0, TICKET_DISPATCHED, TICKET_OUTBOX_DISPATCH,
	  false, false, false, true, true, false, NONE, C(RECEIVED) | C(DISPATCHED) },
	{ TICKET_RECEIVED, TICKET_EV_ROUTE_NONE, 0, 0, TICKET_PENDING_DISPATCH, TICKET_OUTBOX_NONE,
	  false, false, false, false, false, false, NONE, C(RECEIVED) | C(PENDING) },
	{ TICKET_RECEIVED, TICKET_EV_DIRECT_CLOSE, 0, 0, TICKET_CLOSED, TICKET_OUTBOX_NONE, false,
	  false, false, false, false, true, NONE, C(RECEIVED) | C(DIRECT_CLOSED) | C(CLOSED) },
	{ TICKET_RECEIVED, TICKET_EV_LINK, 0, 0, TICKET_LINKED, TICKET_OUTBOX_NONE, false, false,
	  false, false, false, false, NONE, C(RECEIVED) | C(LINKED) },
	/* the desk and supervisors */
	{ TICKET_PENDING_DISPATCH, TICKET_EV_MANUAL_DISPATCH, 0, 0, TICKET_DISPATCHED,
	  TICKET_OUTBOX_DISPATCH, false, true, false, true, true, false, NONE, C(DISPATCHED) },
	{ TICKET_ESCALATED, TICKET_EV_RULING_DISPATCH, 3, 0, TICKET_DISPATCHED,
	  TICKET_OUTBOX_DISPATCH, false, true, false, true, true, false, NONE, C(DISPATCHED) },
	{ TICKET_ESCALATED, TICKET_EV_RULING_CLOSE, 3, 0, TICKET_CLOSED, TICKET_OUTBOX_NONE, false,
	  true, true, false, false, true, TICKET_EV_PARENT_CLOSED, C(CLOSED) },
	{ TICKET_PENDING_DISPATCH, TICKET_EV_DESK_CLOSE, 0, 0, TICKET_CLOSED, TICKET_OUTBOX_NONE,
	  false, true, true, false, false, true, TICKET_EV_PARENT_CLOSED, C(CLOSED) },
	{ TICKET_ESCALATED, TICKET_EV_DESK_DUPLICATE, 3, 0, TICKET_LINKED, TICKET_OUTBOX_NONE,
	  false, true, true, false, false, false, NONE, C(LINKED) },
	/* departments */
	{ TICKET_DISPATCHED, TICKET_EV_ACCEPT, 0, 0, TICKET_ACCEPTED, TICKET_OUTBOX_NONE, false,
	  true, false, false, false, false, NONE, C(ACCEPTED) },
	{ TICKET_DISPATCHED, TICKET_EV_RETURN, 0, 0, TICKET_PENDING_DISPATCH, TICKET_OUTBOX_NONE,
	  false, true, false, true, false, false, NONE, C(RETURNED) },
	{ TICKET_ACCEPTED, TICKET_EV_RETURN, 2, 0, TICKET_ESCALATED, TICKET_OUTBOX_NONE, false,
	  true, false, true, false, false, NONE, C(RETURNED) | C(ESCALATED) },
	{ TICKET_ACCEPTED, TICKET_EV_EXTEND, 0, 0, TICKET_ACCEPTED, TICKET_OUTBOX_NONE, false,
	  false, false, true, false, false, NONE, C(EXTENDED) },
	{ TICKET_ACCEPTED, TICKET_EV_REPLY, 0, 0, TICKET_REPLIED, TICKET_OUTBOX_CALLBACK, false,
	  true, true, false, false, false, TICKET_EV_PARENT_REPLIED, C(REPLIED) },
	/* callbacks */
	{ TICKET_REPLIED, TICKET_EV_CALLBACK_SATISFIED, 0, 0, TICKET_CLOSED, TICKET_OUTBOX_NONE,
	  false, true, true, false, false, true, TICKET_EV_PARENT_CLOSED,
	  C(CALLBACK_CALLS) | C(SATISFIED) | C(CLOSED) },
	{ TICKET_REPLIED, TICKET_EV_CALLBACK_BASICALLY_SATISFIED, 0, 0, TICKET_CLOSED,
	  TICKET_OUTBOX_NONE, false, true, true, false, false, true, TICKET_EV_PARENT_CLOSED,
	  C(CALLBACK_CALLS) | C(BASICALLY) | C(CLOSED) },
	{ TICKET_REPLIED, TICKET_EV_CALLBACK_UNSATISFIED, 0, 0, TICKET_DISPATCHED,
	  TICKET_OUTBOX_DISPATCH, false, true, false, true, true, false, NONE,
	  C(CALLBACK_CALLS) | C(UNSATISFIED) | C(REOPENED) | C(DISPATCHED) },
	{ TICKET_REPLIED, TICKET_EV_CALLBACK_UNREACHABLE, 0, 0, TICKET_REPLIED,
	  TICKET_OUTBOX_CALLBACK, true, false, false, false, false, false, NONE,
	  C(CALLBACK_CALLS) },
	{ TICKET_REPLIED, TICKET_EV_CALLBACK_UNREACHABLE, 0, 2, TICKET_CLOSED, TICKET_OUTBOX_NONE,
	  false, true, true, false, false, true, TICKET_EV_PARENT_CLOSED,
	  C(CALLBACK_CALLS) | C(UNRATED) | C(CLOSED) },
	/* linked repeat complaints */
	{ TICKET_LINKED, TICKET_EV_PARENT_REPLIED, 0, 0, TICKET_LINKED, TICKET_OUTBOX_NONE, false,
	  true, false, false, false, false, NONE, 0 },
	{ TICKET_LINKED, TICKET_EV_PARENT_CLOSED, 0, 0, TICKET_CLOSED, TICKET_OUTBOX_NONE, false,
	  true, true, false, false, true, NONE, C(CLOSED) },
};

#undef C
#undef NONE

static void test_effects_of_every_move(void **state)
{
	struct ticket_limits lim = limits();
	size_t covered[TICKET_EV_COUNT] = { 0 };
	for (size_t i = 0; i < sizeof(effects_cases) / sizeof(effects_cases[0]); i++) {
		const struct effects_case *c = &effects_cases[i];
		struct ticket_status cur = status_in(c->from), next;
		cur.return_count = c->returns_before;
		cur.callback_attempts = c->attempts_before;
		if (c->from == TICKET_REPLIED || c->from == TICKET_LINKED)
			cur.deadline_at_ms = c->from == TICKET_LINKED ? 0 : cur.deadline_at_ms;
		struct ticket_event ev = event_of(c->kind);
		if (c->kind == TICKET_EV_EXTEND)
			ev.deadline_at_ms = cur.deadline_at_ms + HOUR;
		struct ticket_effects fx;
		memset(&fx, 0xA5, sizeof(fx));
		char err[256] = "";
		if (ticket_transition(&cur, &ev, &lim, &next, &fx, err, sizeof(err)) != TICKET_OK)
			fail_msg("case %zu (%s): %s", i, ticket_event_name(c->kind), err);
		covered[c->kind]++;
		if (next.state != c->to || fx.outbox != c->outbox ||
		    fx.outbox_later != c->outbox_later || fx.feed_update != c->feed_update ||
		    fx.update_reply != c->update_reply || fx.reset_marks != c->reset_marks ||
		    fx.set_dispatched != c->set_dispatched || fx.set_closed != c->set_closed ||
		    fx.children != c->children || fx.counters != c->counters)
			fail_msg("case %zu (%s from %s): to %s outbox %d later %d update %d reply "
				 "%d "
				 "marks %d dispatched %d closed %d children %s counters %#x",
				 i, ticket_event_name(c->kind), ticket_state_name(c->from),
				 ticket_state_name(next.state), fx.outbox, fx.outbox_later,
				 fx.feed_update, fx.update_reply, fx.reset_marks, fx.set_dispatched,
				 fx.set_closed, ticket_event_name(fx.children), fx.counters);
	}
	for (int k = 0; k < TICKET_EV_COUNT; k++)
		if (covered[k] == 0)
			fail_msg("no effects case for event %s", ticket_event_name(k));
}

static void test_effects_untouched_on_refusal(void **state)
{
	struct ticket_limits lim = limits();
	struct ticket_status cur = status_in(TICKET_REPLIED), next;
	struct ticket_event ev = event_of(TICKET_EV_ACCEPT);
	struct ticket_effects fx;
	memset(&fx, 0x5A, sizeof(fx));
	struct ticket_effects before = fx;
	assert_int_equal(ticket_transition(&cur, &ev, &lim, &next, &fx, NULL, 0), TICKET_ESTATE);
	assert_memory_equal(&fx, &before, sizeof(fx));
}

static void test_counter_names(void **state)
{
	assert_string_equal(ticket_counter_name(TICKET_COUNT_RECEIVED), "received");
	assert_string_equal(ticket_counter_name(TICKET_COUNT_CLOSED), "closed");
	assert_string_equal(ticket_counter_name(TICKET_COUNTER_COUNT), "INVALID");
	for (int c = 0; c < TICKET_COUNTER_COUNT; c++)
		assert_string_not_equal(ticket_counter_name(c), "INVALID");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_state_event_pair),
		cmocka_unit_test(test_link_lifecycle),
		cmocka_unit_test(test_state_error_messages),
		cmocka_unit_test(test_invalid_state_or_event),
		cmocka_unit_test(test_init_and_defaults),
		cmocka_unit_test(test_happy_path),
		cmocka_unit_test(test_route_none_and_manual_dispatch),
		cmocka_unit_test(test_direct_close),
		cmocka_unit_test(test_return_limit_escalates),
		cmocka_unit_test(test_desk_close_and_duplicate),
		cmocka_unit_test(test_return_limit_parameter),
		cmocka_unit_test(test_return_needs_reason),
		cmocka_unit_test(test_ruling_validation),
		cmocka_unit_test(test_unreachable_limit_closes_unrated),
		cmocka_unit_test(test_reopen_same_department),
		cmocka_unit_test(test_extend),
		cmocka_unit_test(test_reply_validation),
		cmocka_unit_test(test_dispatch_validation),
		cmocka_unit_test(test_next_may_alias_and_err_optional),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_event_names),
		cmocka_unit_test(test_rating_names),
		cmocka_unit_test(test_effects_of_every_move),
		cmocka_unit_test(test_effects_untouched_on_refusal),
		cmocka_unit_test(test_counter_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
