/*
 * intake.c - one intake record as the daemon holds it, and its validation.
 *
 * Owns: building the flat single-allocation record from a protobuf Intake
 * (the JSON codec goes through the same function), and the rules a record must
 * pass before it may be stored. The reason for a refusal always names the field.
 * Never: reads the clock (now is passed in), logs, or touches I/O; never puts
 * field contents into an error reason (they may be personal data or garbage).
 * Callers: daemon connections (binary and JSON), json_codec, tests, fuzzers.
 */
#include "intake.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "utf8.h"

#define MS_PER_SECOND INT64_C(1000)
#define MS_PER_MINUTE (60 * MS_PER_SECOND)
#define MS_PER_HOUR (60 * MS_PER_MINUTE)
#define MS_PER_DAY (24 * MS_PER_HOUR)

void intake_limits_default(struct intake_limits *lim)
{
	lim->max_content = INTAKE_DEFAULT_MAX_CONTENT;
	lim->max_age_ms = 30 * MS_PER_DAY;
	lim->max_future_ms = 5 * MS_PER_MINUTE;
}

/*
 * The string fields, in one table so that building a record cannot miss one:
 * where each lives in the protobuf message and in the record.
 */
static const struct {
	size_t pb_offset;
	size_t in_offset;
} intake_texts[] = {
	{ offsetof(Hotline__V1__Intake, external_id), offsetof(struct intake, external_id) },
	{ offsetof(Hotline__V1__Intake, channel), offsetof(struct intake, channel) },
	{ offsetof(Hotline__V1__Intake, caller_phone), offsetof(struct intake, caller_phone) },
	{ offsetof(Hotline__V1__Intake, caller_name), offsetof(struct intake, caller_name) },
	{ offsetof(Hotline__V1__Intake, category), offsetof(struct intake, category) },
	{ offsetof(Hotline__V1__Intake, content), offsetof(struct intake, content) },
	{ offsetof(Hotline__V1__Intake, district), offsetof(struct intake, district) },
	{ offsetof(Hotline__V1__Intake, address), offsetof(struct intake, address) },
	{ offsetof(Hotline__V1__Intake, origin_number), offsetof(struct intake, origin_number) },
	{ offsetof(Hotline__V1__Intake, answer), offsetof(struct intake, answer) },
};
#define INTAKE_TEXT_COUNT (sizeof(intake_texts) / sizeof(intake_texts[0]))

/* The i-th string of pb; NULL (a hand-built message) reads as "". */
static const char *pb_text(const Hotline__V1__Intake *pb, size_t i)
{
	const char *s;

	memcpy(&s, (const char *)pb + intake_texts[i].pb_offset, sizeof(s));
	return s != NULL ? s : "";
}

struct intake *intake_from_pb(const Hotline__V1__Intake *pb)
{
	size_t lens[INTAKE_TEXT_COUNT];
	size_t total = sizeof(struct intake);
	struct intake *in;
	char *next;

	if (pb == NULL)
		return NULL;
	for (size_t f = 0; f < INTAKE_TEXT_COUNT; f++) {
		lens[f] = strlen(pb_text(pb, f));
		if (lens[f] >= SIZE_MAX - total)
			return NULL;
		total += lens[f] + 1;
	}
	in = malloc(total);
	if (in == NULL)
		return NULL;
	memset(in, 0, sizeof(*in));
	next = (char *)(in + 1);
	for (size_t f = 0; f < INTAKE_TEXT_COUNT; f++) {
		const char *copy = next;

		memcpy(next, pb_text(pb, f), lens[f] + 1);
		memcpy((char *)in + intake_texts[f].in_offset, &copy, sizeof(copy));
		next += lens[f] + 1;
	}
	in->received_at_ms = pb->received_at;
	in->lat = pb->lat;
	in->lon = pb->lon;
	/* NaN is "given" too, so that validation refuses it instead of dropping it. */
	in->has_location = !(pb->lat == 0.0 && pb->lon == 0.0);
	in->priority = pb->priority == HOTLINE__V1__PRIORITY__PRIORITY_UNSPECIFIED
			       ? HOTLINE__V1__PRIORITY__PRIORITY_NORMAL
			       : (int)pb->priority;
	in->resolved_on_call = pb->resolved_on_call != 0;
	return in;
}

void intake_free(struct intake *in)
{
	free(in);
}

/* "40 days", "3 hours", "12 minutes", "7 seconds": whole units, rounded down. */
static void intake_describe_span(uint64_t ms, char *buf, size_t size)
{
	static const struct {
		uint64_t ms;
		const char *one, *many;
	} units[] = {
		{ (uint64_t)MS_PER_DAY, "day", "days" },
		{ (uint64_t)MS_PER_HOUR, "hour", "hours" },
		{ (uint64_t)MS_PER_MINUTE, "minute", "minutes" },
		{ (uint64_t)MS_PER_SECOND, "second", "seconds" },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t n = ms / units[i].ms;

		if (n > 0 || i + 1 == sizeof(units) / sizeof(units[0])) {
			snprintf(buf, size, "%llu %s", (unsigned long long)n,
				 n == 1 ? units[i].one : units[i].many);
			return;
		}
	}
}

/* Phone-like text: digits, '+', '-', spaces and parentheses, with a digit somewhere. */
static int intake_check_phone(const char *name, const char *s, char *err, size_t errlen)
{
	int digits = 0;

	if (s[0] == '\0')
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p != '+' && *p != '-' && *p != ' ' && *p != '(' && *p != ')')
			return errbuf_fail(err, errlen,
					   "%s may contain only digits, '+', '-', spaces and "
					   "parentheses",
					   name);
	}
	if (digits == 0)
		return errbuf_fail(err, errlen, "%s has no digits", name);
	return 0;
}

static int intake_check_received_at(int64_t at, int64_t now_ms, const struct intake_limits *lim,
				    char *err, size_t errlen)
{
	char span[48];
	uint64_t diff;

	if (at == 0)
		return 0; /* not given: the daemon stamps it */
	if (at <= now_ms) {
		diff = (uint64_t)now_ms - (uint64_t)at; /* two's complement: exact */
		if (lim->max_age_ms >= 0 && diff <= (uint64_t)lim->max_age_ms)
			return 0;
		intake_describe_span(diff, span, sizeof(span));
		return errbuf_fail(err, errlen, "received_at is %s in the past", span);
	}
	diff = (uint64_t)at - (uint64_t)now_ms;
	if (lim->max_future_ms >= 0 && diff <= (uint64_t)lim->max_future_ms)
		return 0;
	intake_describe_span(diff, span, sizeof(span));
	return errbuf_fail(err, errlen, "received_at is %s in the future", span);
}

static int intake_check(const struct intake *in, int64_t now_ms, const struct intake_limits *lim,
			char *err, size_t errlen)
{
	const struct {
		const char *name;
		const char *value;
		size_t max;
	} texts[] = {
		{ "external_id", in->external_id, INTAKE_MAX_EXTERNAL_ID },
		{ "channel", in->channel, INTAKE_MAX_SHORT },
		{ "caller_phone", in->caller_phone, INTAKE_MAX_PHONE },
		{ "caller_name", in->caller_name, INTAKE_MAX_NAME },
		{ "category", in->category, INTAKE_MAX_SHORT },
		{ "content", in->content, lim->max_content },
		{ "district", in->district, INTAKE_MAX_SHORT },
		{ "address", in->address, INTAKE_MAX_ADDRESS },
		{ "origin_number", in->origin_number, INTAKE_MAX_PHONE },
		{ "answer", in->answer, lim->max_content },
	};
	const char *external_id = in->external_id != NULL ? in->external_id : "";
	const char *content = in->content != NULL ? in->content : "";
	const char *answer = in->answer != NULL ? in->answer : "";

	/* The idempotency key: it goes into SQL, logs and replies, so keep it plain. */
	if (external_id[0] == '\0')
		return errbuf_fail(err, errlen, "external_id is required");
	if (strlen(external_id) > INTAKE_MAX_EXTERNAL_ID)
		return errbuf_fail(err, errlen, "external_id is longer than %d bytes",
				   INTAKE_MAX_EXTERNAL_ID);
	for (const char *p = external_id; *p; p++) {
		if (*p < 0x21 || *p > 0x7E)
			return errbuf_fail(err, errlen,
					   "external_id may contain only printable ASCII "
					   "without spaces");
	}
	if (content[0] == '\0')
		return errbuf_fail(err, errlen, "content is required");

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *s = texts[i].value != NULL ? texts[i].value : "";
		size_t len = strlen(s);

		if (len > texts[i].max)
			return errbuf_fail(err, errlen, "%s is longer than %zu bytes",
					   texts[i].name, texts[i].max);
		if (!utf8_valid(s, len))
			return errbuf_fail(err, errlen, "%s is not valid UTF-8", texts[i].name);
	}

	if (intake_check_phone("caller_phone", in->caller_phone != NULL ? in->caller_phone : "",
			       err, errlen) != 0 ||
	    intake_check_phone("origin_number", in->origin_number != NULL ? in->origin_number : "",
			       err, errlen) != 0)
		return -1;

	if (intake_check_received_at(in->received_at_ms, now_ms, lim, err, errlen) != 0)
		return -1;

	if (!isfinite(in->lat) || in->lat < -90.0 || in->lat > 90.0)
		return errbuf_fail(err, errlen, "lat must be a number in [-90, 90]");
	if (!isfinite(in->lon) || in->lon < -180.0 || in->lon > 180.0)
		return errbuf_fail(err, errlen, "lon must be a number in [-180, 180]");

	switch (in->priority) {
	case HOTLINE__V1__PRIORITY__PRIORITY_UNSPECIFIED:
	case HOTLINE__V1__PRIORITY__PRIORITY_NORMAL:
	case HOTLINE__V1__PRIORITY__PRIORITY_URGENT:
	case HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL:
		break;
	default:
		return errbuf_fail(err, errlen, "priority %d is not a known priority",
				   in->priority);
	}

	if (in->resolved_on_call && answer[0] == '\0')
		return errbuf_fail(err, errlen, "answer is required when resolved_on_call is set");
	return 0;
}

int intake_validate(const struct intake *in, int64_t now_ms, const struct intake_limits *lim,
		    char *err, size_t errlen)
{
	struct intake_limits defaults;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (lim == NULL) {
		intake_limits_default(&defaults);
		lim = &defaults;
	}
	return intake_check(in, now_ms, lim, err, errlen);
}
