/*
 * ticket_state.c - the ticket state machine behind ticket_state.h.
 *
 * Owns: the allowed-move table and what each move does to a ticket_status.
 * Adding an event means a row in `events` and a case in apply(); the unit test
 * keeps its own copy of the table, so a change here must be made there too.
 * Never: reads the clock, allocates, logs or touches I/O. Callers: see the header.
 */
#include "ticket_state.h"

#include <stdio.h>
#include <string.h>

#include "errbuf.h"
#include "hotline.pb-c.h"
#include "utf8.h"

/* Equal to the proto's values, so a state crosses the wire with a cast. */
#define SAME_AS_PROTO(ours, proto) _Static_assert((int)(ours) == (int)(proto), #ours)
SAME_AS_PROTO(TICKET_RECEIVED, HOTLINE__V1__TICKET_STATE__TICKET_STATE_RECEIVED);
SAME_AS_PROTO(TICKET_PENDING_DISPATCH, HOTLINE__V1__TICKET_STATE__TICKET_STATE_PENDING_DISPATCH);
SAME_AS_PROTO(TICKET_DISPATCHED, HOTLINE__V1__TICKET_STATE__TICKET_STATE_DISPATCHED);
SAME_AS_PROTO(TICKET_ACCEPTED, HOTLINE__V1__TICKET_STATE__TICKET_STATE_ACCEPTED);
SAME_AS_PROTO(TICKET_REPLIED, HOTLINE__V1__TICKET_STATE__TICKET_STATE_REPLIED);
SAME_AS_PROTO(TICKET_CLOSED, HOTLINE__V1__TICKET_STATE__TICKET_STATE_CLOSED);
SAME_AS_PROTO(TICKET_ESCALATED, HOTLINE__V1__TICKET_STATE__TICKET_STATE_ESCALATED);
SAME_AS_PROTO(TICKET_LINKED, HOTLINE__V1__TICKET_STATE__TICKET_STATE_LINKED);

#define STATE_BIT(s) (1u << (s))

static const char *const state_names[] = {
	[TICKET_RECEIVED] = "RECEIVED",	    [TICKET_PENDING_DISPATCH] = "PENDING_DISPATCH",
	[TICKET_DISPATCHED] = "DISPATCHED", [TICKET_ACCEPTED] = "ACCEPTED",
	[TICKET_REPLIED] = "REPLIED",	    [TICKET_CLOSED] = "CLOSED",
	[TICKET_ESCALATED] = "ESCALATED",   [TICKET_LINKED] = "LINKED",
};

/*
 * One row per event: its name, the verb used in "cannot VERB a ticket in state X",
 * and the states it may be applied in.
 */
static const struct {
	const char *name;
	const char *verb;
	unsigned from; /* STATE_BIT()s */
} events[TICKET_EV_COUNT] = {
	[TICKET_EV_ROUTE_MATCHED] = { "ROUTE_MATCHED", "route", STATE_BIT(TICKET_RECEIVED) },
	[TICKET_EV_ROUTE_NONE] = { "ROUTE_NONE", "route", STATE_BIT(TICKET_RECEIVED) },
	[TICKET_EV_DIRECT_CLOSE] = { "DIRECT_CLOSE", "close on the call",
				     STATE_BIT(TICKET_RECEIVED) },
	[TICKET_EV_MANUAL_DISPATCH] = { "MANUAL_DISPATCH", "dispatch manually",
					STATE_BIT(TICKET_PENDING_DISPATCH) },
	[TICKET_EV_ACCEPT] = { "ACCEPT", "accept", STATE_BIT(TICKET_DISPATCHED) },
	[TICKET_EV_RETURN] = { "RETURN", "return",
			       STATE_BIT(TICKET_DISPATCHED) | STATE_BIT(TICKET_ACCEPTED) },
	[TICKET_EV_RULING_DISPATCH] = { "RULING_DISPATCH", "dispatch by ruling",
					STATE_BIT(TICKET_ESCALATED) },
	[TICKET_EV_RULING_CLOSE] = { "RULING_CLOSE", "close by ruling",
				     STATE_BIT(TICKET_ESCALATED) },
	[TICKET_EV_REPLY] = { "REPLY", "reply to", STATE_BIT(TICKET_ACCEPTED) },
	[TICKET_EV_EXTEND] = { "EXTEND", "extend",
			       STATE_BIT(TICKET_DISPATCHED) | STATE_BIT(TICKET_ACCEPTED) },
	[TICKET_EV_CALLBACK_SATISFIED] = { "CALLBACK_SATISFIED", "record a callback on",
					   STATE_BIT(TICKET_REPLIED) },
	[TICKET_EV_CALLBACK_BASICALLY_SATISFIED] = { "CALLBACK_BASICALLY_SATISFIED",
						     "record a callback on",
						     STATE_BIT(TICKET_REPLIED) },
	[TICKET_EV_CALLBACK_UNSATISFIED] = { "CALLBACK_UNSATISFIED", "record a callback on",
					     STATE_BIT(TICKET_REPLIED) },
	[TICKET_EV_CALLBACK_UNREACHABLE] = { "CALLBACK_UNREACHABLE", "record a callback on",
					     STATE_BIT(TICKET_REPLIED) },
	[TICKET_EV_LINK] = { "LINK", "link", STATE_BIT(TICKET_RECEIVED) },
	[TICKET_EV_PARENT_REPLIED] = { "PARENT_REPLIED", "share a reply with",
				       STATE_BIT(TICKET_LINKED) },
	[TICKET_EV_PARENT_CLOSED] = { "PARENT_CLOSED", "close with its parent",
				      STATE_BIT(TICKET_LINKED) },
	[TICKET_EV_DESK_CLOSE] = { "DESK_CLOSE", "close from the desk",
				   STATE_BIT(TICKET_PENDING_DISPATCH) |
					   STATE_BIT(TICKET_ESCALATED) },
	[TICKET_EV_DESK_DUPLICATE] = { "DESK_DUPLICATE", "close as a duplicate",
				       STATE_BIT(TICKET_PENDING_DISPATCH) |
					       STATE_BIT(TICKET_ESCALATED) },
};

static const char *const rating_names[] = {
	[TICKET_RATING_NONE] = "NONE",
	[TICKET_RATING_SATISFIED] = "SATISFIED",
	[TICKET_RATING_BASICALLY_SATISFIED] = "BASICALLY_SATISFIED",
	[TICKET_RATING_UNSATISFIED] = "UNSATISFIED",
	[TICKET_RATING_UNRATED] = "UNRATED",
};

static bool state_valid(int state)
{
	return state >= TICKET_STATE_FIRST && state <= TICKET_STATE_LAST;
}

static bool event_valid(int kind)
{
	return kind >= 0 && kind < TICKET_EV_COUNT;
}

const char *ticket_state_name(enum ticket_state state)
{
	return state_valid((int)state) ? state_names[state] : "INVALID";
}

int ticket_state_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (int s = TICKET_STATE_FIRST; s <= TICKET_STATE_LAST; s++) {
		if (strcmp(state_names[s], name) == 0)
			return s;
	}
	return -1;
}

const char *ticket_event_name(enum ticket_event_kind kind)
{
	return event_valid((int)kind) ? events[kind].name : "INVALID";
}

int ticket_event_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (int k = 0; k < TICKET_EV_COUNT; k++) {
		if (strcmp(events[k].name, name) == 0)
			return k;
	}
	return -1;
}

const char *ticket_rating_name(enum ticket_rating rating)
{
	int r = (int)rating;
	return r >= 0 && r <= TICKET_RATING_LAST ? rating_names[r] : "INVALID";
}

int ticket_rating_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (int r = 0; r <= TICKET_RATING_LAST; r++) {
		if (strcmp(rating_names[r], name) == 0)
			return r;
	}
	return -1;
}

bool ticket_event_allowed(enum ticket_state state, enum ticket_event_kind kind)
{
	if (!state_valid((int)state) || !event_valid((int)kind))
		return false;
	return (events[kind].from & STATE_BIT(state)) != 0;
}

void ticket_status_init(struct ticket_status *st)
{
	memset(st, 0, sizeof(*st));
	st->state = TICKET_RECEIVED;
	st->rating = TICKET_RATING_NONE;
}

void ticket_limits_default(struct ticket_limits *lim)
{
	lim->max_returns = 3;
	lim->max_callback_attempts = 3;
}

/* "DISPATCHED or ACCEPTED": the states an event may be applied in. */
static void allowed_states(unsigned from, char *out, size_t outlen)
{
	size_t used = 0;
	int n = 0;

	out[0] = '\0';
	for (int s = TICKET_STATE_FIRST; s <= TICKET_STATE_LAST; s++) {
		if (!(from & STATE_BIT(s)))
			continue;
		int w = snprintf(out + used, outlen - used, "%s%s", n > 0 ? " or " : "",
				 state_names[s]);
		if (w < 0 || (size_t)w >= outlen - used)
			return;
		used += (size_t)w;
		n++;
	}
}

/* Blank: empty, or only ASCII white space and U+3000 (the CJK full-width space). */
static bool text_blank(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	while (*p) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		else if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80)
			p += 3;
		else
			return false;
	}
	return true;
}

/* Deadline of a dispatch: 0 (none) or later than the event. */
static int check_dispatch_deadline(const struct ticket_event *ev, char *err, size_t errlen)
{
	if (ev->deadline_at_ms == 0 || ev->deadline_at_ms > ev->at_ms)
		return TICKET_OK;
	return errbuf_fail_code(
		TICKET_EINVAL, err, errlen,
		"%s: deadline_at %lld must be 0 (none) or later than the event (%lld)",
		events[ev->kind].name, (long long)ev->deadline_at_ms, (long long)ev->at_ms);
}

static int check_dept(const struct ticket_event *ev, char *err, size_t errlen)
{
	if (ev->dept_code == NULL || ev->dept_code[0] == '\0')
		return errbuf_fail_code(TICKET_EINVAL, err, errlen, "%s needs a department code",
					events[ev->kind].name);
	if (!code_valid(ev->dept_code))
		return errbuf_fail_code(
			TICKET_EINVAL, err, errlen,
			"%s: department code must be 1-%d letters, digits, '_' or '-'",
			events[ev->kind].name, CODE_MAX);
	return check_dispatch_deadline(ev, err, errlen);
}

static int check_text(const struct ticket_event *ev, const char *what, char *err, size_t errlen)
{
	if (ev->text == NULL || text_blank(ev->text))
		return errbuf_fail_code(TICKET_EINVAL, err, errlen, "%s", what);
	return TICKET_OK;
}

static void dispatch_to(struct ticket_status *st, const char *dept_code, int64_t deadline_at_ms)
{
	st->state = TICKET_DISPATCHED;
	if (dept_code != st->dept_code)
		snprintf(st->dept_code, sizeof(st->dept_code), "%s", dept_code);
	st->deadline_at_ms = deadline_at_ms;
}

/* Counters saturate rather than wrap: a wrapped return_count would undo an escalation. */
static void counter_inc(uint32_t *counter)
{
	if (*counter < UINT32_MAX)
		(*counter)++;
}

/* Nobody holds the ticket any more (manual desk or supervisor next). */
static void release(struct ticket_status *st, enum ticket_state state)
{
	st->state = state;
	st->dept_code[0] = '\0';
	st->deadline_at_ms = 0;
}

/*
 * The move itself, on a copy (st starts as *cur). The state is already known
 * to allow ev; this checks the event's arguments and returns TICKET_OK or
 * TICKET_EINVAL.
 */
static int apply(struct ticket_status *st, const struct ticket_event *ev,
		 const struct ticket_limits *lim, char *err, size_t errlen)
{
	int rc;

	switch (ev->kind) {
	case TICKET_EV_ROUTE_MATCHED:
	case TICKET_EV_MANUAL_DISPATCH:
	case TICKET_EV_RULING_DISPATCH:
		if ((rc = check_dept(ev, err, errlen)) != TICKET_OK)
			return rc;
		dispatch_to(st, ev->dept_code, ev->deadline_at_ms);
		st->ruled = ev->kind == TICKET_EV_RULING_DISPATCH;
		return TICKET_OK;
	case TICKET_EV_ROUTE_NONE:
		release(st, TICKET_PENDING_DISPATCH);
		return TICKET_OK;
	case TICKET_EV_DIRECT_CLOSE:
		if ((rc = check_text(ev, "a direct close needs the answer given on the call", err,
				     errlen)) != TICKET_OK)
			return rc;
		release(st, TICKET_CLOSED);
		return TICKET_OK;
	case TICKET_EV_ACCEPT:
		st->state = TICKET_ACCEPTED;
		return TICKET_OK;
	case TICKET_EV_RETURN:
		if ((rc = check_text(ev, "a return needs a reason", err, errlen)) != TICKET_OK)
			return rc;
		counter_inc(&st->return_count);
		release(st, st->return_count >= lim->max_returns ? TICKET_ESCALATED
								 : TICKET_PENDING_DISPATCH);
		return TICKET_OK;
	case TICKET_EV_RULING_CLOSE:
		if ((rc = check_text(ev, "a ruling close needs a reason", err, errlen)) !=
		    TICKET_OK)
			return rc;
		st->state = TICKET_CLOSED;
		return TICKET_OK;
	case TICKET_EV_DESK_CLOSE:
		if ((rc = check_text(ev, "a close from the desk needs a reason", err, errlen)) !=
		    TICKET_OK)
			return rc;
		release(st, TICKET_CLOSED);
		return TICKET_OK;
	case TICKET_EV_DESK_DUPLICATE:
		if ((rc = check_text(ev, "closing a duplicate needs a reason", err, errlen)) !=
		    TICKET_OK)
			return rc;
		/* It follows the original from now on, like a repeat complaint. */
		release(st, TICKET_LINKED);
		return TICKET_OK;
	case TICKET_EV_REPLY:
		if ((rc = check_text(ev, "a reply needs non-empty content", err, errlen)) !=
		    TICKET_OK)
			return rc;
		st->state = TICKET_REPLIED;
		st->callback_attempts = 0;
		return TICKET_OK;
	case TICKET_EV_EXTEND: {
		if ((rc = check_text(ev, "an extension needs a reason", err, errlen)) != TICKET_OK)
			return rc;
		if (ev->deadline_at_ms <= st->deadline_at_ms)
			return errbuf_fail_code(
				TICKET_EINVAL, err, errlen,
				"an extension must move the deadline later (until %lld, "
				"deadline %lld)",
				(long long)ev->deadline_at_ms, (long long)st->deadline_at_ms);
		if (ev->deadline_at_ms <= ev->at_ms)
			return errbuf_fail_code(
				TICKET_EINVAL, err, errlen,
				"an extension must end after the event (until %lld, now %lld)",
				(long long)ev->deadline_at_ms, (long long)ev->at_ms);
		st->deadline_at_ms = ev->deadline_at_ms;
		counter_inc(&st->extend_count);
		return TICKET_OK;
	}
	case TICKET_EV_CALLBACK_SATISFIED:
	case TICKET_EV_CALLBACK_BASICALLY_SATISFIED:
		counter_inc(&st->callback_attempts);
		st->rating = ev->kind == TICKET_EV_CALLBACK_SATISFIED
				     ? TICKET_RATING_SATISFIED
				     : TICKET_RATING_BASICALLY_SATISFIED;
		st->state = TICKET_CLOSED;
		return TICKET_OK;
	case TICKET_EV_CALLBACK_UNSATISFIED:
		if ((rc = check_dispatch_deadline(ev, err, errlen)) != TICKET_OK)
			return rc;
		if (st->dept_code[0] == '\0')
			return errbuf_fail_code(TICKET_EINVAL, err, errlen,
						"cannot reopen a ticket that has no department");
		counter_inc(&st->callback_attempts);
		st->rating = TICKET_RATING_UNSATISFIED;
		counter_inc(&st->reopen_count);
		dispatch_to(st, st->dept_code, ev->deadline_at_ms);
		return TICKET_OK;
	case TICKET_EV_CALLBACK_UNREACHABLE:
		counter_inc(&st->callback_attempts);
		if (st->callback_attempts >= lim->max_callback_attempts) {
			st->rating = TICKET_RATING_UNRATED;
			st->state = TICKET_CLOSED;
		}
		return TICKET_OK;
	case TICKET_EV_LINK:
		/* The parent is handled; the child follows it and holds no department. */
		release(st, TICKET_LINKED);
		return TICKET_OK;
	case TICKET_EV_PARENT_REPLIED:
		return check_text(ev, "a shared reply needs the parent's reply", err, errlen);
	case TICKET_EV_PARENT_CLOSED:
		st->state = TICKET_CLOSED;
		return TICKET_OK;
	case TICKET_EV_COUNT:
		break;
	}
	return errbuf_fail_code(TICKET_EINVAL, err, errlen, "unknown event %d", (int)ev->kind);
}

static const char *const counter_names[TICKET_COUNTER_COUNT] = {
	[TICKET_COUNT_RECEIVED] = "received",
	[TICKET_COUNT_DISPATCHED] = "dispatched",
	[TICKET_COUNT_PENDING] = "pending",
	[TICKET_COUNT_DIRECT_CLOSED] = "direct_closed",
	[TICKET_COUNT_LINKED] = "linked",
	[TICKET_COUNT_ACCEPTED] = "accepted",
	[TICKET_COUNT_RETURNED] = "returned",
	[TICKET_COUNT_ESCALATED] = "escalated",
	[TICKET_COUNT_REPLIED] = "replied",
	[TICKET_COUNT_EXTENDED] = "extended",
	[TICKET_COUNT_REOPENED] = "reopened",
	[TICKET_COUNT_CALLBACK_CALLS] = "callback_calls",
	[TICKET_COUNT_SATISFIED] = "satisfied",
	[TICKET_COUNT_BASICALLY] = "basically_satisfied",
	[TICKET_COUNT_UNSATISFIED] = "unsatisfied",
	[TICKET_COUNT_UNRATED] = "unrated",
	[TICKET_COUNT_CLOSED] = "closed",
};

const char *ticket_counter_name(enum ticket_counter counter)
{
	int c = (int)counter;
	return c >= 0 && c < TICKET_COUNTER_COUNT ? counter_names[c] : "INVALID";
}

#define BIT(c) TICKET_COUNTER_BIT(TICKET_COUNT_##c)

/*
 * What the move cur --ev--> next does (it is allowed and applied). Closing a
 * ticket closes its linked repeat complaints; replying shares the reply with
 * them. The feed hears of every move a department, an agent or a supervisor
 * makes, but not of an extension (the department's own bookkeeping) nor of an
 * unreachable callback that leaves the ticket waiting for the next call; a
 * TicketUpdate carries the reply once the ticket is REPLIED or CLOSED.
 */
static void effects_of(const struct ticket_status *cur, const struct ticket_event *ev,
		       const struct ticket_status *next, struct ticket_effects *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->children = TICKET_EV_COUNT;
	fx->reset_marks = next->deadline_at_ms != cur->deadline_at_ms;
	bool closes = next->state == TICKET_CLOSED && cur->state != TICKET_CLOSED;
	bool dispatches = next->state == TICKET_DISPATCHED && cur->state != TICKET_DISPATCHED;
	switch (ev->kind) {
	case TICKET_EV_ROUTE_MATCHED:
		fx->counters = BIT(RECEIVED);
		break;
	case TICKET_EV_ROUTE_NONE:
		fx->counters = BIT(RECEIVED) | BIT(PENDING);
		break;
	case TICKET_EV_DIRECT_CLOSE:
		fx->counters = BIT(RECEIVED) | BIT(DIRECT_CLOSED);
		break;
	case TICKET_EV_LINK:
		fx->counters = BIT(RECEIVED) | BIT(LINKED);
		break;
	case TICKET_EV_ACCEPT:
		fx->counters = BIT(ACCEPTED);
		break;
	case TICKET_EV_RETURN:
		fx->counters =
			BIT(RETURNED) | (next->state == TICKET_ESCALATED ? BIT(ESCALATED) : 0);
		break;
	case TICKET_EV_REPLY:
		fx->counters = BIT(REPLIED);
		fx->outbox = TICKET_OUTBOX_CALLBACK;
		fx->children = TICKET_EV_PARENT_REPLIED;
		break;
	case TICKET_EV_EXTEND:
		fx->counters = BIT(EXTENDED);
		break;
	case TICKET_EV_CALLBACK_SATISFIED:
		fx->counters = BIT(CALLBACK_CALLS) | BIT(SATISFIED);
		break;
	case TICKET_EV_CALLBACK_BASICALLY_SATISFIED:
		fx->counters = BIT(CALLBACK_CALLS) | BIT(BASICALLY);
		break;
	case TICKET_EV_CALLBACK_UNSATISFIED:
		fx->counters = BIT(CALLBACK_CALLS) | BIT(UNSATISFIED) | BIT(REOPENED);
		break;
	case TICKET_EV_CALLBACK_UNREACHABLE:
		fx->counters = BIT(CALLBACK_CALLS) | (closes ? BIT(UNRATED) : 0);
		if (!closes) {
			fx->outbox = TICKET_OUTBOX_CALLBACK; /* the next attempt */
			fx->outbox_later = true;
		}
		break;
	case TICKET_EV_DESK_DUPLICATE:
		fx->counters = BIT(LINKED);
		break;
	case TICKET_EV_MANUAL_DISPATCH:
	case TICKET_EV_RULING_DISPATCH:
	case TICKET_EV_RULING_CLOSE:
	case TICKET_EV_DESK_CLOSE:
	case TICKET_EV_PARENT_REPLIED:
	case TICKET_EV_PARENT_CLOSED:
	case TICKET_EV_COUNT:
		break;
	}
	if (dispatches) {
		fx->counters |= BIT(DISPATCHED);
		fx->set_dispatched = true;
		fx->outbox = TICKET_OUTBOX_DISPATCH;
	}
	if (closes) {
		fx->counters |= BIT(CLOSED);
		fx->set_closed = true;
		if (ev->kind != TICKET_EV_PARENT_CLOSED && ev->kind != TICKET_EV_DIRECT_CLOSE)
			fx->children = TICKET_EV_PARENT_CLOSED;
	}
	bool intake = ev->kind == TICKET_EV_ROUTE_MATCHED || ev->kind == TICKET_EV_ROUTE_NONE ||
		      ev->kind == TICKET_EV_DIRECT_CLOSE || ev->kind == TICKET_EV_LINK;
	bool quiet = ev->kind == TICKET_EV_EXTEND ||
		     (ev->kind == TICKET_EV_CALLBACK_UNREACHABLE && !closes);
	fx->feed_update = !intake && !quiet;
	/* A duplicate carries the reply of the ticket it joins, when that has one. */
	fx->update_reply =
		fx->feed_update && (next->state == TICKET_REPLIED || next->state == TICKET_CLOSED ||
				    ev->kind == TICKET_EV_DESK_DUPLICATE);
}

#undef BIT

int ticket_transition(const struct ticket_status *cur, const struct ticket_event *ev,
		      const struct ticket_limits *lim, struct ticket_status *next,
		      struct ticket_effects *effects, char *err, size_t errlen)
{
	if (cur == NULL || ev == NULL || lim == NULL || next == NULL)
		return errbuf_fail_code(TICKET_EINVAL, err, errlen, "missing argument");
	if (!event_valid((int)ev->kind))
		return errbuf_fail_code(TICKET_EINVAL, err, errlen, "unknown event %d",
					(int)ev->kind);
	if (!state_valid((int)cur->state))
		return errbuf_fail_code(TICKET_EINVAL, err, errlen, "unknown ticket state %d",
					(int)cur->state);
	if (lim->max_returns < 1 || lim->max_callback_attempts < 1)
		return errbuf_fail_code(
			TICKET_EINVAL, err, errlen,
			"limits: max_returns and max_callback_attempts must be at least 1");

	if (!ticket_event_allowed(cur->state, ev->kind)) {
		char states[128];
		allowed_states(events[ev->kind].from, states, sizeof(states));
		return errbuf_fail_code(TICKET_ESTATE, err, errlen,
					"cannot %s a ticket in state %s (%s needs %s)",
					events[ev->kind].verb, state_names[cur->state],
					events[ev->kind].name, states);
	}
	if (ev->kind == TICKET_EV_RETURN && cur->ruled)
		return errbuf_fail_code(TICKET_ESTATE, err, errlen,
					"cannot return a ticket a supervisor's ruling sent to this "
					"department (RULING_DISPATCH); extend or reply instead");

	if (ev->at_ms <= 0)
		return errbuf_fail_code(TICKET_EINVAL, err, errlen,
					"%s: event time must be positive", events[ev->kind].name);
	if (ev->text != NULL && !utf8_valid(ev->text, strlen(ev->text)))
		return errbuf_fail_code(TICKET_EINVAL, err, errlen, "%s: text is not valid UTF-8",
					events[ev->kind].name);

	struct ticket_status st = *cur;
	/* A status from storage may lack the terminator; never copy past the array. */
	st.dept_code[sizeof(st.dept_code) - 1] = '\0';
	int rc = apply(&st, ev, lim, err, errlen);
	if (rc != TICKET_OK)
		return rc;
	if (effects)
		effects_of(cur, ev, &st, effects);
	*next = st;
	return TICKET_OK;
}
