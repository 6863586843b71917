/*
 * frame.h - the length-prefixed frame codec of the binary protocol.
 *
 * Owns: splitting a byte stream into frames (4-byte big-endian length + body),
 * refusing frames above a limit, packing/unpacking hotline.v1.Frame, and
 * framing a serialized Ticket as it is once its wire format is checked.
 * Never: touches a socket, a clock or a global. Callers: daemon/conn.c,
 * daemon/conn_dept.c, tools/cli_conn.c (hotline-dept, hotline-agent),
 * tools/loadgen.c, tests/unit, tests/fuzz.
 */
#ifndef HOTLINE_FRAME_H
#define HOTLINE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "hotline.pb-c.h"

#define FRAME_HEADER_LEN 4
/* Hard ceiling on any configured max_frame: 16 MiB. */
#define FRAME_MAX_LIMIT (16u * 1024u * 1024u)

enum frame_status {
	FRAME_NEED_MORE = 0,  /* all input consumed, no complete frame yet */
	FRAME_READY = 1,      /* one complete frame: see frame_decoder_body() */
	FRAME_TOO_LARGE = -1, /* length prefix above max_frame: stream is unusable */
	FRAME_NO_MEMORY = -2  /* body buffer could not be allocated: stream is unusable */
};

/*
 * Incremental decoder. Feed it any split of the byte stream; it returns one
 * frame at a time. The body buffer grows only to the announced length (never
 * above max_frame) and is released by frame_decoder_free().
 */
struct frame_decoder {
	size_t max_frame;
	uint8_t header[FRAME_HEADER_LEN];
	size_t header_len; /* header bytes collected so far */
	uint8_t *body;	   /* owned */
	size_t body_cap;
	size_t body_len; /* body bytes collected so far */
	size_t want;	 /* announced body length, valid once header_len == 4 */
	int ready;	 /* a complete frame is waiting to be taken */
	int failed;	 /* 0, or the error every later feed returns */
};

void frame_decoder_init(struct frame_decoder *dec, size_t max_frame);
void frame_decoder_free(struct frame_decoder *dec);

/*
 * Consumes bytes from data[0..len) until one frame is complete or the input is
 * used up; *consumed tells how many bytes were taken. Returns FRAME_READY (the
 * frame stays available until the next call), FRAME_NEED_MORE, or
 * FRAME_TOO_LARGE / FRAME_NO_MEMORY (after which the decoder refuses all
 * further input with the same status and *consumed == 0; drop the peer).
 * A zero-length frame is a valid (empty) frame.
 */
enum frame_status frame_decoder_feed(struct frame_decoder *dec, const uint8_t *data, size_t len,
				     size_t *consumed) __attribute__((warn_unused_result));

/* The complete frame's body after FRAME_READY; valid until the next feed. */
const uint8_t *frame_decoder_body(const struct frame_decoder *dec, size_t *len);

/* True when the decoder holds part of a frame (a cut here loses that frame). */
int frame_decoder_partial(const struct frame_decoder *dec);

/*
 * Unpacks a frame body. Returns a Frame to free with frame_message_free(), or
 * NULL when the bytes are not a Frame or carry no message (msg_case NOT_SET).
 */
Hotline__V1__Frame *frame_unpack(const uint8_t *body, size_t len)
	__attribute__((warn_unused_result));
void frame_message_free(Hotline__V1__Frame *frame);

/*
 * Packs frame with its 4-byte length prefix into a new malloc'ed buffer of
 * *out_len bytes (caller frees). Returns NULL on allocation failure or when
 * the body would exceed FRAME_MAX_LIMIT (no peer would accept it).
 */
uint8_t *frame_pack(const Hotline__V1__Frame *frame, size_t *out_len)
	__attribute__((warn_unused_result));

/* Writes the 4-byte big-endian length prefix for a body of body_len bytes. */
void frame_put_header(uint8_t out[FRAME_HEADER_LEN], uint32_t body_len);

/*
 * A serialized hotline.v1.Ticket passed on as it is (the daemon delivers the
 * bytes the relay stored in a department's stream without unpacking them).
 * frame_ticket_check is true when ticket[0..len) is well-formed protobuf whose
 * known fields have their declared wire types, so that any peer unpacks it,
 * and whose ticket_no (field 1) is present and equal to ticket_no.
 * frame_ticket_scan is its first half: true when well-formed, with *no the
 * ticket_no bytes (NULL when absent). frame_ticket_size is the whole frame's size (0 when len is
 * too large for a frame); frame_put_ticket writes it: length prefix, then a Frame body holding the
 * bytes as its `ticket` member. It returns the bytes written.
 */
int frame_ticket_check(const uint8_t *ticket, size_t len, const char *ticket_no);
int frame_ticket_scan(const uint8_t *ticket, size_t len, const uint8_t **no, size_t *no_len);
size_t frame_ticket_size(size_t len);
size_t frame_put_ticket(uint8_t *out, const uint8_t *ticket, size_t len);

#endif
