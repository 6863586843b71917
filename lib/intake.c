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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The string fields, in one table so building and checking cannot miss one. */
enum intake_text {
	TEXT_EXTERNAL_ID,
	TEXT_CHANNEL,
	TEXT_CALLER_PHONE,
	TEXT_CALLER_NAME,
	TEXT_CATEGORY,
	TEXT_CONTENT,
	TEXT_DISTRICT,
	TEXT_ADDRESS,
	TEXT_ORIGIN_NUMBER,
	TEXT_ANSWER,
	TEXT_COUNT
};

static const char *pb_text(const Hotline__V1__Intake *pb, enum intake_text field)
{
	const char *s = NULL;

	switch (field) {
	case TEXT_EXTERNAL_ID: s = pb->external_id; break;
	case TEXT_CHANNEL: s = pb->channel; break;
	case TEXT_CALLER_PHONE: s = pb->caller_phone; break;
	case TEXT_CALLER_NAME: s = pb->caller_name; break;
	case TEXT_CATEGORY: s = pb->category; break;
	case TEXT_CONTENT: s = pb->content; break;
	case TEXT_DISTRICT: s = pb->district; break;
	case TEXT_ADDRESS: s = pb->address; break;
	case TEXT_ORIGIN_NUMBER: s = pb->origin_number; break;
	case TEXT_ANSWER: s = pb->answer; break;
	case TEXT_COUNT: break;
	}
	return s != NULL ? s : "";
}

static const char **intake_text_slot(struct intake *in, enum intake_text field)
{
	switch (field) {
	case TEXT_EXTERNAL_ID: return &in->external_id;
	case TEXT_CHANNEL: return &in->channel;
	case TEXT_CALLER_PHONE: return &in->caller_phone;
	case TEXT_CALLER_NAME: return &in->caller_name;
	case TEXT_CATEGORY: return &in->category;
	case TEXT_CONTENT: return &in->content;
	case TEXT_DISTRICT: return &in->district;
	case TEXT_ADDRESS: return &in->address;
	case TEXT_ORIGIN_NUMBER: return &in->origin_number;
	case TEXT_ANSWER: return &in->answer;
	case TEXT_COUNT: break;
	}
	return NULL;
}

struct intake *intake_from_pb(const Hotline__V1__Intake *pb)
{
	size_t lens[TEXT_COUNT];
	size_t total = sizeof(struct intake);
	struct intake *in;
	char *next;

	if (pb == NULL)
		return NULL;
	for (int f = 0; f < TEXT_COUNT; f++) {
		lens[f] = strlen(pb_text(pb, (enum intake_text)f));
		if (lens[f] >= SIZE_MAX - total)
			return NULL;
		total += lens[f] + 1;
	}
	in = malloc(total);
	if (in == NULL)
		return NULL;
	memset(in, 0, sizeof(*in));
	next = (char *)(in + 1);
	for (int f = 0; f < TEXT_COUNT; f++) {
		memcpy(next, pb_text(pb, (enum intake_text)f), lens[f] + 1);
		*intake_text_slot(in, (enum intake_text)f) = next;
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

static int intake_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes the reason (when there is room for it) and returns -1. */
static int intake_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* "40 days", "3 hours", "12 minutes", "7 seconds": whole units, rounded down. */
static void intake_describe_span(uint64_t ms, char *buf, size_t size)
{
	static const struct {
		uint64_t ms;
		const char *one, *many;
	} units[] = {
		{(uint64_t)MS_PER_DAY, "day", "days"},
		{(uint64_t)MS_PER_HOUR, "hour", "hours"},
		{(uint64_t)MS_PER_MINUTE, "minute", "minutes"},
		{(uint64_t)MS_PER_SECOND, "second", "seconds"},
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
			return intake_fail(err, errlen,
					   "%s may contain only digits, '+', '-', spaces and "
					   "parentheses",
					   name);
	}
	if (digits == 0)
		return intake_fail(err, errlen, "%s has no digits", name);
	return 0;
}

static int intake_check_received_at(int64_t at, int64_t now_ms,
				    const struct intake_limits *lim, char *err, size_t errlen)
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
		return intake_fail(err, errlen, "received_at is %s in the past", span);
	}
	diff = (uint64_t)at - (uint64_t)now_ms;
	if (lim->max_future_ms >= 0 && diff <= (uint64_t)lim->max_future_ms)
		return 0;
	intake_describe_span(diff, span, sizeof(span));
	return intake_fail(err, errlen, "received_at is %s in the future", span);
}

static int intake_check(const struct intake *in, int64_t now_ms,
			const struct intake_limits *lim, char *err, size_t errlen)
{
	const struct {
		const char *name;
		const char *value;
		size_t max;
	} texts[] = {
		{"external_id", in->external_id, INTAKE_MAX_EXTERNAL_ID},
		{"channel", in->channel, INTAKE_MAX_SHORT},
		{"caller_phone", in->caller_phone, INTAKE_MAX_PHONE},
		{"caller_name", in->caller_name, INTAKE_MAX_NAME},
		{"category", in->category, INTAKE_MAX_SHORT},
		{"content", in->content, lim->max_content},
		{"district", in->district, INTAKE_MAX_SHORT},
		{"address", in->address, INTAKE_MAX_ADDRESS},
		{"origin_number", in->origin_number, INTAKE_MAX_PHONE},
		{"answer", in->answer, lim->max_content},
	};
	const char *external_id = in->external_id != NULL ? in->external_id : "";
	const char *content = in->content != NULL ? in->content : "";
	const char *answer = in->answer != NULL ? in->answer : "";

	/* The idempotency key: it goes into SQL, logs and replies, so keep it plain. */
	if (external_id[0] == '\0')
		return intake_fail(err, errlen, "external_id is required");
	if (strlen(external_id) > INTAKE_MAX_EXTERNAL_ID)
		return intake_fail(err, errlen, "external_id is longer than %d bytes",
				   INTAKE_MAX_EXTERNAL_ID);
	for (const char *p = external_id; *p; p++) {
		if (*p < 0x21 || *p > 0x7E)
			return intake_fail(err, errlen,
					   "external_id may contain only printable ASCII "
					   "without spaces");
	}
	if (content[0] == '\0')
		return intake_fail(err, errlen, "content is required");

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *s = texts[i].value != NULL ? texts[i].value : "";
		size_t len = strlen(s);

		if (len > texts[i].max)
			return intake_fail(err, errlen, "%s is longer than %zu bytes",
					   texts[i].name, texts[i].max);
		if (!utf8_valid(s, len))
			return intake_fail(err, errlen, "%s is not valid UTF-8", texts[i].name);
	}

	if (intake_check_phone("caller_phone",
			       in->caller_phone != NULL ? in->caller_phone : "", err,
			       errlen) != 0 ||
	    intake_check_phone("origin_number",
			       in->origin_number != NULL ? in->origin_number : "", err,
			       errlen) != 0)
		return -1;

	if (intake_check_received_at(in->received_at_ms, now_ms, lim, err, errlen) != 0)
		return -1;

	if (!isfinite(in->lat) || in->lat < -90.0 || in->lat > 90.0)
		return intake_fail(err, errlen, "lat must be a number in [-90, 90]");
	if (!isfinite(in->lon) || in->lon < -180.0 || in->lon > 180.0)
		return intake_fail(err, errlen, "lon must be a number in [-180, 180]");

	switch (in->priority) {
	case HOTLINE__V1__PRIORITY__PRIORITY_UNSPECIFIED:
	case HOTLINE__V1__PRIORITY__PRIORITY_NORMAL:
	case HOTLINE__V1__PRIORITY__PRIORITY_URGENT:
	case HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL:
		break;
	default:
		return intake_fail(err, errlen, "priority %d is not a known priority",
				   in->priority);
	}

	if (in->resolved_on_call && answer[0] == '\0')
		return intake_fail(err, errlen, "answer is required when resolved_on_call is set");
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
