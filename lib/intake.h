/*
 * intake.h - one intake record as the daemon holds it, and its validation.
 *
 * Owns: the flat, single-allocation intake record built from either wire
 * format (protobuf Intake or a JSON line), and the rules a record must pass
 * before it may be stored (required fields, UTF-8, lengths, timestamps, ranges).
 * Never: reads the clock (now is passed in), touches I/O.
 * Callers: daemon connections (binary and JSON), json_codec, tests, fuzzers.
 */
#ifndef HOTLINE_INTAKE_H
#define HOTLINE_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hotline.pb-c.h"

/* Field length limits in bytes (the content limit is configurable). */
#define INTAKE_MAX_EXTERNAL_ID 128
#define INTAKE_MAX_SHORT 64 /* channel, category, district, priority names */
#define INTAKE_MAX_PHONE 32
#define INTAKE_MAX_NAME 128
#define INTAKE_MAX_ADDRESS 512
#define INTAKE_DEFAULT_MAX_CONTENT 8192

/*
 * A record. Every string is non-NULL and NUL-terminated ("" when absent); all
 * live in the same allocation as the struct, so intake_free() frees it whole.
 */
struct intake {
	const char *external_id;
	int64_t received_at_ms; /* 0 = not given (the daemon uses now) */
	const char *channel;
	const char *caller_phone;
	const char *caller_name;
	const char *category;
	const char *content;
	const char *district;
	const char *address;
	const char *origin_number;
	const char *answer;
	double lat, lon;
	bool has_location; /* lat/lon given (not both zero) */
	int priority;	   /* Hotline__V1__Priority; UNSPECIFIED is stored as NORMAL */
	bool resolved_on_call;
};

struct intake_limits {
	size_t max_content;    /* bytes */
	int64_t max_age_ms;    /* received_at may lie this far in the past */
	int64_t max_future_ms; /* ... and this far in the future (clock skew) */
};

/* Defaults: content 8 KiB, 30 days in the past, 5 minutes in the future. */
void intake_limits_default(struct intake_limits *lim);

/*
 * Copies the fields of a protobuf Intake into one new allocation. NULL strings
 * become "". Returns NULL only on allocation failure. Free with intake_free().
 */
struct intake *intake_from_pb(const Hotline__V1__Intake *pb) __attribute__((warn_unused_result));
void intake_free(struct intake *in);

/*
 * Checks a record against the rules. Returns 0 when it may be stored, or -1
 * with a one-line reason in err (e.g. "content is required",
 * "caller_name is not valid UTF-8", "received_at is 40 days in the past").
 */
int intake_validate(const struct intake *in, int64_t now_ms, const struct intake_limits *lim,
		    char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
