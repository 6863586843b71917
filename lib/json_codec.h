/*
 * json_codec.h - the JSON-lines protocol for feeds that cannot speak protobuf.
 *
 * Owns: parsing one line into a hello or an intake record (same field names as
 * the protobuf Intake), and formatting the reply lines. Pure: no I/O.
 * Callers: daemon/conn.c, conn_hello.c and conn_feed.c (the JSON listener),
 * tools/loadgen.c, tests, fuzzers.
 *
 * Lines the server writes (one JSON object each, '\n'-terminated):
 *   {"type":"welcome","version":1,"server":"...","max_line":N,"window":N}
 *   {"type":"ack","external_id":"...","ticket_no":"...","duplicate":false}
 *   {"type":"error","code":"invalid","message":"...","external_id":"..."}
 *   {"type":"update","update_id":N,"external_id":"...","ticket_no":"...",
 *    "state":"REPLIED","reply":"...","at":MS}       (a TicketUpdate; acknowledge it)
 * and a feed acknowledges an update with the line {"ack_update":N}.
 */
#ifndef HOTLINE_JSON_CODEC_H
#define HOTLINE_JSON_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intake.h"

struct hello_msg {
	int role;	 /* Hotline__V1__Role */
	char id[65];	 /* up to 64 bytes */
	char token[257]; /* up to 256 bytes */
	uint32_t version;
};

/*
 * Parses {"role":"feed","id":"...","token":"...","version":1}. role is one of
 * "feed", "department", "agent". Returns 0, or -1 with a reason in err.
 */
int json_parse_hello(const char *line, size_t len, struct hello_msg *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Parses one intake line into a new record (*out, free with intake_free()).
 * Types: strings for text fields; received_at integer ms; lat/lon numbers;
 * priority an integer or "normal"/"urgent"/"critical"; resolved_on_call a bool.
 * A key whose value is null counts as absent (legacy feeds dump NULL columns).
 * Unknown keys are refused (typos must not lose data silently).
 * Returns 0, or -1 with a reason in err; on -1, external_id_out receives the
 * record's external_id when the line had a usable one ("" otherwise), so the
 * error can name the record. external_id_out must hold INTAKE_MAX_EXTERNAL_ID+1.
 */
int json_parse_intake(const char *line, size_t len, struct intake **out, char *external_id_out,
		      char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Reply lines: each returns a new malloc'ed, '\n'-terminated string (caller
 * frees) with its length in *out_len, or NULL on allocation failure.
 * code is the lower-case name of a Hotline__V1__ErrorCode ("invalid", "auth", ...).
 */
char *json_format_welcome(uint32_t version, const char *server, uint32_t max_line, uint32_t window,
			  size_t *out_len);
char *json_format_ack(const char *external_id, const char *ticket_no, bool duplicate,
		      size_t *out_len);
char *json_format_error(int code, const char *message, const char *external_id, size_t *out_len);

/* A TicketUpdate line (state is the state's name, e.g. "REPLIED"). */
char *json_format_update(uint64_t update_id, const char *external_id, const char *ticket_no,
			 const char *state, const char *reply, int64_t at_ms, size_t *out_len);

/*
 * Recognises {"ack_update":N} (N a positive integer, nothing else in the
 * object). Returns 1 with *update_id set, 0 when the line is not an
 * acknowledgement (parse it as an intake record), -1 with a reason in err when
 * it is one but malformed.
 */
int json_parse_ack_update(const char *line, size_t len, uint64_t *update_id, char *err,
			  size_t errlen) __attribute__((warn_unused_result));

/* "invalid" for HOTLINE__V1__ERROR_CODE__ERROR_INVALID, etc.; "unspecified" if unknown. */
const char *json_error_code_name(int code);

#endif
