/*
 * open311.h - the pure parts of Open311 GeoReport v2 (docs/http-api.md "Open311").
 *
 * Owns: the format suffix of a resource (".json", ".xml"), the HTTP status an
 * Open311 refusal is sent with, reading the filters of GET requests and the fields
 * of POST requests (names, lists, W3C dates, the 90-day window, lat/long, the
 * location rule) with reasons that name the Open311 field, the intake record a POST
 * becomes, the intake validation's reasons in Open311's field names, and the XML
 * form of the JSON documents (root and element names of the spec).
 * Never: reads the clock (now is passed in), the configuration, or does I/O.
 * Callers: daemon/http.c (formats, errors), daemon/http_open311.c,
 * tests/unit/test_open311.c, tests/fuzz/fuzz_form.c.
 */
#ifndef HOTLINE_OPEN311_H
#define HOTLINE_OPEN311_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dates.h"
#include "form.h"
#include "intake.h"

#define OPEN311_PREFIX "/open311/v2/"
/* GET requests: at most this many, and a window of at most this span (the spec's). */
#define OPEN311_MAX_REQUESTS 1000
#define OPEN311_WINDOW_MS (90 * DATES_MS_PER_DAY)
/* service_request_id and service_code lists: at most this many entries. */
#define OPEN311_MAX_IDS 200
#define OPEN311_MAX_CODES 64
/* Bytes of a service_request_id: a ticket number (store_pg.h STORE_TICKET_NO_MAX - 1). */
#define OPEN311_ID_MAX 31
/* Bytes of fields a POST may carry that are not stored. */
#define OPEN311_MAX_KEY 256
#define OPEN311_MAX_EMAIL 254
#define OPEN311_MAX_OTHER_ID 128
#define OPEN311_MAX_MEDIA_URL 1024
/* Bytes of an Idempotency-Key header, and the external_id a POST is stored under. */
#define OPEN311_MAX_IDEMPOTENCY_KEY 100
#define OPEN311_KEYED_PREFIX "open311-key-"
#define OPEN311_RANDOM_PREFIX "open311-"
#define OPEN311_RANDOM_BYTES 8
#define OPEN311_EXTERNAL_ID_MAX (sizeof(OPEN311_KEYED_PREFIX) - 1 + OPEN311_MAX_IDEMPOTENCY_KEY)
/* The channel a ticket that came in over Open311 is stored with. */
#define OPEN311_CHANNEL "open311"

enum open311_format { OPEN311_JSON = 0, OPEN311_XML = 1 };

/*
 * Cuts the format off the last path segment, in place: "services.json" becomes
 * "services" and the answer is OPEN311_JSON ("…xml": OPEN311_XML). -1, seg
 * unchanged, when it ends in neither or nothing is left before the suffix.
 */
int open311_cut_format(char *seg);

/*
 * The HTTP status an Open311 answer of status goes out with: the spec's 403 (api_key)
 * and 404 (no such resource) as they are, success as it is, 503 as it is (PostgreSQL
 * unreachable, no answer in time, too busy: try again, which a client must not take
 * for a refusal), and the spec's 400 for every other refusal (the body's code keeps
 * the precise one: 405, 413, 415...).
 */
int open311_http_status(int status);

/* A piece of a form value (a list entry), not NUL-terminated. */
struct open311_span {
	const char *s;
	size_t len;
};

/* The filters of GET requests.json. */
struct open311_query {
	/* service_request_id: when given (nids > 0), every other filter is ignored */
	struct open311_span ids[OPEN311_MAX_IDS];
	size_t nids;
	/* service_code: the services asked for; none = all */
	struct open311_span codes[OPEN311_MAX_CODES];
	size_t ncodes;
	/* requested_datetime within [start_ms, end_ms], both inclusive */
	int64_t start_ms, end_ms;
	/* status: which are wanted (both when not given) */
	bool open, closed;
};

/*
 * Reads GET requests.json's query q: service_request_id, service_code and status
 * (comma-separated lists; empty entries skipped), start_date and end_date (W3C date
 * and time with a zone: "2026-12-07T09:00:00+08:00" or "...Z"; a space where the zone's
 * '+' was, as a form-decoded '+' arrives, is read as '+'; 1-9 digits of fractions).
 * The window: neither date = the 90 days up to now_ms; start only = 90 days from it;
 * end only = 90 days up to it; both = that span, which must not be longer than 90 days
 * nor end before it starts. jurisdiction_id and api_key (GET needs none) are left to
 * the caller; any other name is refused. Empty values count as not given (the spec's
 * "optional"). Returns 0, or -1 with the reason in err.
 */
int open311_query_parse(const struct form *q, int64_t now_ms, struct open311_query *out, char *err,
			size_t errlen) __attribute__((warn_unused_result));

/*
 * Refuses any name of q but jurisdiction_id and api_key (the resources that take no
 * filter). Returns 0, or -1 with the reason in err.
 */
int open311_plain_query(const struct form *q, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* A POST requests.json, as read. Strings are NULL when absent or empty. */
struct open311_post {
	const char *api_key, *jurisdiction_id, *service_code;
	const char *address_string, *address_id, *email, *device_id, *account_id;
	const char *first_name, *last_name, *phone, *description, *media_url;
	bool has_location; /* lat and long, not both 0 */
	double lat, lon;
};

/*
 * Reads a POST requests.json form. Refuses (-1, reason in err): a name the spec does
 * not define, attribute[...] (no service of ours has attributes: metadata is false),
 * no service_code, lat without long or the other way round, a lat or long that is
 * not a decimal number in range, no location (lat and long, or address_string:
 * address_id alone names nothing we can find), a media_url that is not http(s), a
 * field longer than its limit. Does not judge api_key's value (the caller does, first).
 */
int open311_post_parse(const struct form *f, struct open311_post *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * The external_id a POST's record is stored under. Intake is idempotent per feed
 * (UNIQUE (feed_code, external_id)) and a client is a feed, so: with an
 * Idempotency-Key header (key not NULL), "open311-key-" and the key, and a POST sent
 * again with the same key is the same request (its first service_request_id comes
 * back); without one, "open311-" and random's OPEN311_RANDOM_BYTES in hex, a new
 * request every time. The two never meet ("key-" is not hex). out must hold
 * OPEN311_EXTERNAL_ID_MAX + 1 bytes. Returns 0, or -1 with the reason in err when
 * the key is empty, longer than OPEN311_MAX_IDEMPOTENCY_KEY, or holds anything but
 * visible ASCII (what an external_id may hold).
 */
int open311_external_id(const char *key, const unsigned char random[OPEN311_RANDOM_BYTES],
			char *out, size_t outlen, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * The intake record a POST becomes: external_id, channel "open311", the category
 * given, content = description (or, when there is none, service_name: an intake
 * record must say something), then the media_url on a line of its own; caller_name =
 * first_name and last_name; caller_phone = phone; address = address_string; lat/lon.
 * received_at is 0 (the daemon stamps it). NULL when out of memory. Free with
 * intake_free(). Validate it with intake_validate() like any record.
 */
struct intake *open311_intake(const struct open311_post *p, const char *external_id,
			      const char *category, const char *service_name)
	__attribute__((warn_unused_result));

/*
 * Rewrites an intake_validate() reason about a record made by open311_intake() in
 * the Open311 field names ("caller_phone has no digits" -> "phone has no digits").
 */
void open311_intake_reason(char *err, size_t errlen);

/* The documents of the API, for their XML root and element names. */
enum open311_doc {
	OPEN311_DOC_SERVICES,	/* [..] -> <services><service>.. */
	OPEN311_DOC_DEFINITION, /* {..} -> <service_definition>.. */
	OPEN311_DOC_REQUESTS,	/* [..] -> <service_requests><request>.. */
	OPEN311_DOC_ERRORS	/* [..] -> <errors><error>.. */
};

/*
 * The XML form of doc (the spec's: an XML declaration, the root, one element per
 * member; an array inside an object becomes an element holding one element per entry,
 * named by the array's name without its final 's'; null is an empty element, true
 * and false are words, numbers are written as the shortest decimal that reads back
 * the same). Text is escaped; characters XML 1.0 cannot carry (controls other than
 * tab and line breaks, U+FFFE, U+FFFF) become U+FFFD. Returns a malloc'd
 * NUL-terminated text (its length in *len), or NULL when doc is not of the kind's
 * shape (an array of objects, or an object), nests deeper than 8, or memory ran out.
 */
char *open311_xml(const json_t *doc, enum open311_doc kind, size_t *len)
	__attribute__((warn_unused_result));

#endif
