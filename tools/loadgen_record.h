/*
 * loadgen_record.h - the synthetic intake records hotline-loadgen sends.
 *
 * Owns: turning (prefix, connection number, record number) into one realistic
 * record — category, district, channel, Chinese+ASCII content of a fixed byte
 * size, optional random mobile numbers — deterministically, so a record resent
 * after a reconnect carries the same external_id and the same content; and
 * encoding it as a protobuf Intake or as one JSON line.
 * Never: does I/O or reads a clock (received_at is passed in).
 * Callers: tools/loadgen.c.
 */
#ifndef HOTLINE_LOADGEN_RECORD_H
#define HOTLINE_LOADGEN_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hotline.pb-c.h"

#define RECORD_MAX_EXTERNAL_ID 128

/* Fields of one record; strings point into the generator and live until its next call. */
struct gen_record {
	char external_id[RECORD_MAX_EXTERNAL_ID + 1];
	int64_t received_at_ms;
	const char *channel;
	const char *caller_phone;
	const char *caller_name;
	const char *category;
	const char *content;
	const char *district;
	const char *address;
	double lat, lon;
	int priority; /* Hotline__V1__Priority */
};

struct record_gen {
	size_t content_bytes;
	bool realistic_phones;
	bool city_mix; /* categories, channels, districts in the seed city's proportions */
	uint64_t seed; /* mixed into every record's choices (--seed); 0 by default */
	char *content; /* content_bytes + 1, owned */
	char phone[16];
	char name[32];
	char address[160];
	char *json; /* scratch for record_format_json(), owned */
	size_t json_cap;
};

/*
 * Prepares a generator producing content of exactly content_bytes bytes of
 * valid UTF-8 (content_bytes >= 1). Returns 0, or -1 on allocation failure.
 */
int record_gen_init(struct record_gen *gen, size_t content_bytes, bool realistic_phones)
	__attribute__((warn_unused_result));
void record_gen_free(struct record_gen *gen);

/*
 * Fills *out with record number index of connection conn. external_id is
 * "<prefix>-<conn>-<index>"; everything but received_at depends only on
 * (gen->seed, conn, index). Returns 0, or -1 when the external_id would be too long.
 */
int record_generate(struct record_gen *gen, const char *prefix, unsigned conn, uint64_t index,
		    int64_t received_at_ms, struct gen_record *out)
	__attribute__((warn_unused_result));

/* Points the fields of *pb (already hotline__v1__intake__init'ed) at rec's strings. */
void record_to_pb(const struct gen_record *rec, Hotline__V1__Intake *pb);

/*
 * Formats rec as one '\n'-terminated JSON object with the field names of
 * Intake. Returns a pointer into the generator's scratch buffer (valid until
 * the next call) with the length in *len, or NULL on allocation failure.
 */
const char *record_format_json(struct record_gen *gen, const struct gen_record *rec, size_t *len)
	__attribute__((warn_unused_result));

/*
 * Appends s as a JSON string literal (with quotes) to the buffer *buf of
 * capacity *cap holding *len bytes, growing it as needed. Returns 0 or -1.
 */
int json_append_string(char **buf, size_t *cap, size_t *len, const char *s)
	__attribute__((warn_unused_result));

/* Appends the NUL-terminated s verbatim, growing the buffer. Returns 0 or -1. */
int json_append_raw(char **buf, size_t *cap, size_t *len, const char *s)
	__attribute__((warn_unused_result));

/*
 * The seed city's year (Nantong, 2021: 3.865 million requests over 36 legacy lines):
 * how many requests the line with this feed code took, as the demo's feeds are named
 * (deploy/demo); YEAR_FEED_DEFAULT for a code it does not know.
 */
#define YEAR_REQUESTS 3865000u
#define YEAR_FEED_DEFAULT (YEAR_REQUESTS / 36u)
unsigned year_feed_requests(const char *code);

/*
 * Shares total records among connections connections as the year shares them among
 * the nfeeds feeds codes[]: every feed gets at least one connection, the rest go by
 * its share (largest remainders), and each feed's records are split evenly over its
 * connections. Fills feed_of[connection] (an index into codes) and
 * records_of[connection]. Returns 0, or -1 when there are fewer connections than
 * feeds (or none).
 */
int year_plan(const char *const *codes, unsigned nfeeds, unsigned connections, uint64_t total,
	      unsigned *feed_of, uint64_t *records_of) __attribute__((warn_unused_result));

/* The external_id's record number when it has the form "<prefix>-<conn>-<n>". */
int record_parse_external_id(const char *external_id, const char *prefix, unsigned conn,
			     uint64_t *index) __attribute__((warn_unused_result));

#endif
