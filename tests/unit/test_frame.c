/*
 * test_frame.c - unit tests of lib/frame.c (length-prefixed frame codec).
 *
 * Owns: proof that any split of a byte stream yields exactly the frames that
 * were packed (every two-way split point, byte by byte, zero-length and large
 * frames), that an oversize prefix kills the stream, and that pack/unpack
 * round-trip and refuse garbage; that a stored Ticket is checked and framed
 * as it is exactly as packing the whole Frame would.
 * Never: opens a socket. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"

#define MAX_FRAMES 16
#define TEST_MAX_FRAME (1024u * 1024u)

/* Bodies expected out of a stream, in order. */
struct stream {
	uint8_t *bytes;
	size_t len;
	size_t nframes;
	uint8_t *body[MAX_FRAMES];
	size_t body_len[MAX_FRAMES];
};

static void stream_add_body(struct stream *st, const uint8_t *body, size_t len)
{
	uint8_t *grown;

	assert_true(st->nframes < MAX_FRAMES);
	grown = realloc(st->bytes, st->len + FRAME_HEADER_LEN + len);
	assert_non_null(grown);
	st->bytes = grown;
	frame_put_header(st->bytes + st->len, (uint32_t)len);
	if (len > 0)
		memcpy(st->bytes + st->len + FRAME_HEADER_LEN, body, len);
	st->body[st->nframes] = st->bytes + st->len + FRAME_HEADER_LEN; /* fixed up below */
	st->body_len[st->nframes] = len;
	st->len += FRAME_HEADER_LEN + len;
	st->nframes++;
}

/* Pointers into bytes move with realloc: recompute them once the stream is built. */
static void stream_fix_pointers(struct stream *st)
{
	size_t off = 0;

	for (size_t i = 0; i < st->nframes; i++) {
		st->body[i] = st->bytes + off + FRAME_HEADER_LEN;
		off += FRAME_HEADER_LEN + st->body_len[i];
	}
	assert_int_equal(off, st->len);
}

static void stream_add_frame(struct stream *st, const Hotline__V1__Frame *frame)
{
	size_t len;
	uint8_t *packed = frame_pack(frame, &len);

	assert_non_null(packed);
	assert_true(len >= FRAME_HEADER_LEN);
	stream_add_body(st, packed + FRAME_HEADER_LEN, len - FRAME_HEADER_LEN);
	free(packed);
}

static void stream_free(struct stream *st)
{
	free(st->bytes);
	memset(st, 0, sizeof(*st));
}

/*
 * Several frames: Hello, an empty frame, Intake with Chinese text, one body
 * larger than the decoder's first allocation (forces growth), a Welcome.
 */
static void stream_build(struct stream *st, size_t large_len)
{
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	Hotline__V1__Hello hello = HOTLINE__V1__HELLO__INIT;
	Hotline__V1__Intake intake = HOTLINE__V1__INTAKE__INIT;
	Hotline__V1__Welcome welcome = HOTLINE__V1__WELCOME__INIT;
	char *big = malloc(large_len + 1);

	assert_non_null(big);
	memset(st, 0, sizeof(*st));

	hello.role = HOTLINE__V1__ROLE__ROLE_FEED;
	hello.id = "water";
	hello.token = "secret";
	hello.version = 1;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_HELLO;
	frame.hello = &hello;
	stream_add_frame(st, &frame);

	stream_add_body(st, NULL, 0);

	intake.external_id = "W-2026-0001";
	intake.content = "小区路灯不亮，已经三天了";
	intake.caller_phone = "13812345678";
	frame.msg_case = HOTLINE__V1__FRAME__MSG_INTAKE;
	frame.intake = &intake;
	stream_add_frame(st, &frame);

	for (size_t i = 0; i < large_len; i++)
		big[i] = (char)('a' + i % 26);
	big[large_len] = '\0';
	intake.external_id = "W-2026-0002";
	intake.content = big;
	stream_add_frame(st, &frame);

	welcome.version = 1;
	welcome.server = "hotlined test";
	welcome.max_frame = TEST_MAX_FRAME;
	welcome.window = 100;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_WELCOME;
	frame.welcome = &welcome;
	stream_add_frame(st, &frame);

	stream_fix_pointers(st);
	free(big);
}

/* Collected output of a decoder run. */
struct got {
	size_t nframes;
	uint8_t *body[MAX_FRAMES];
	size_t body_len[MAX_FRAMES];
};

static void got_free(struct got *got)
{
	for (size_t i = 0; i < got->nframes; i++)
		free(got->body[i]);
	memset(got, 0, sizeof(*got));
}

/* Feeds data[0..len) in one call sequence, taking every frame it yields. */
static void feed_all(struct frame_decoder *dec, const uint8_t *data, size_t len, struct got *got)
{
	size_t off = 0;

	while (off < len) {
		size_t used = 0, body_len;
		enum frame_status st = frame_decoder_feed(dec, data + off, len - off, &used);
		const uint8_t *body;

		assert_true(used <= len - off);
		off += used;
		if (st == FRAME_NEED_MORE) {
			assert_int_equal(off, len); /* NEED_MORE means all taken */
			assert_null(frame_decoder_body(dec, &body_len));
			break;
		}
		assert_int_equal(st, FRAME_READY);
		assert_false(frame_decoder_partial(dec));
		body = frame_decoder_body(dec, &body_len);
		assert_non_null(body);
		assert_true(got->nframes < MAX_FRAMES);
		got->body[got->nframes] = malloc(body_len + 1);
		assert_non_null(got->body[got->nframes]);
		memcpy(got->body[got->nframes], body, body_len);
		got->body_len[got->nframes] = body_len;
		got->nframes++;
	}
}

static void assert_got_stream(const struct got *got, const struct stream *st)
{
	assert_int_equal(got->nframes, st->nframes);
	for (size_t i = 0; i < st->nframes; i++) {
		assert_int_equal(got->body_len[i], st->body_len[i]);
		if (st->body_len[i] > 0)
			assert_memory_equal(got->body[i], st->body[i], st->body_len[i]);
	}
}

static void test_whole_stream(void **state)
{
	struct stream st;
	struct frame_decoder dec;
	struct got got = { 0 };

	stream_build(&st, 5000);
	frame_decoder_init(&dec, TEST_MAX_FRAME);
	feed_all(&dec, st.bytes, st.len, &got);
	assert_got_stream(&got, &st);
	assert_false(frame_decoder_partial(&dec));
	got_free(&got);
	frame_decoder_free(&dec);
	stream_free(&st);
}

static void test_every_split_point(void **state)
{
	struct stream st;

	stream_build(&st, 5000);
	for (size_t split = 0; split <= st.len; split++) {
		struct frame_decoder dec;
		struct got got = { 0 };

		frame_decoder_init(&dec, TEST_MAX_FRAME);
		feed_all(&dec, st.bytes, split, &got);
		feed_all(&dec, st.bytes + split, st.len - split, &got);
		assert_got_stream(&got, &st);
		assert_false(frame_decoder_partial(&dec));
		got_free(&got);
		frame_decoder_free(&dec);
	}
	stream_free(&st);
}

static void test_byte_by_byte(void **state)
{
	struct stream st;
	struct frame_decoder dec;
	struct got got = { 0 };

	/* a large frame too: 300 KiB arrives one byte at a time */
	stream_build(&st, 300 * 1024);
	frame_decoder_init(&dec, TEST_MAX_FRAME);
	for (size_t i = 0; i < st.len; i++)
		feed_all(&dec, st.bytes + i, 1, &got);
	assert_got_stream(&got, &st);
	got_free(&got);
	frame_decoder_free(&dec);
	stream_free(&st);
}

static void test_partial(void **state)
{
	struct frame_decoder dec;
	const uint8_t data[] = { 0, 0, 0, 3, 'a', 'b', 'c' };
	size_t used, len;
	const uint8_t *body;

	frame_decoder_init(&dec, 16);
	assert_false(frame_decoder_partial(&dec));
	assert_int_equal(frame_decoder_feed(&dec, data, 2, &used), FRAME_NEED_MORE);
	assert_int_equal(used, 2);
	assert_true(frame_decoder_partial(&dec));
	assert_int_equal(frame_decoder_feed(&dec, data + 2, 3, &used), FRAME_NEED_MORE);
	assert_int_equal(used, 3);
	assert_true(frame_decoder_partial(&dec));
	assert_int_equal(frame_decoder_feed(&dec, data + 5, 2, &used), FRAME_READY);
	assert_int_equal(used, 2);
	assert_false(frame_decoder_partial(&dec));
	body = frame_decoder_body(&dec, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(body, "abc", 3);
	/* an empty feed after a frame releases it and waits */
	assert_int_equal(frame_decoder_feed(&dec, data, 0, &used), FRAME_NEED_MORE);
	assert_int_equal(used, 0);
	assert_false(frame_decoder_partial(&dec));
	frame_decoder_free(&dec);
}

static void test_ready_stops_at_frame_end(void **state)
{
	struct frame_decoder dec;
	const uint8_t data[] = { 0, 0, 0, 1, 'x', 0, 0, 0, 0, 0, 0, 0, 2, 'y', 'z' };
	size_t used, len;
	const uint8_t *body;

	frame_decoder_init(&dec, 16);
	assert_int_equal(frame_decoder_feed(&dec, data, sizeof(data), &used), FRAME_READY);
	assert_int_equal(used, 5);
	body = frame_decoder_body(&dec, &len);
	assert_int_equal(len, 1);
	assert_int_equal(body[0], 'x');
	assert_int_equal(frame_decoder_feed(&dec, data + 5, sizeof(data) - 5, &used), FRAME_READY);
	assert_int_equal(used, 4);
	body = frame_decoder_body(&dec, &len);
	assert_non_null(body);
	assert_int_equal(len, 0);
	assert_int_equal(frame_decoder_feed(&dec, data + 9, sizeof(data) - 9, &used), FRAME_READY);
	assert_int_equal(used, 6);
	body = frame_decoder_body(&dec, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(body, "yz", 2);
	frame_decoder_free(&dec);
}

static void test_too_large(void **state)
{
	struct frame_decoder dec;
	uint8_t data[FRAME_HEADER_LEN + 101] = { 0 };
	size_t used, len;

	frame_decoder_init(&dec, 100);
	frame_put_header(data, 101);
	assert_int_equal(frame_decoder_feed(&dec, data, sizeof(data), &used), FRAME_TOO_LARGE);
	assert_int_equal(used, FRAME_HEADER_LEN); /* body never buffered */
	assert_false(frame_decoder_partial(&dec));
	assert_null(frame_decoder_body(&dec, &len));
	/* the stream is dead: further input is refused and not consumed */
	frame_put_header(data, 1);
	assert_int_equal(frame_decoder_feed(&dec, data, 5, &used), FRAME_TOO_LARGE);
	assert_int_equal(used, 0);
	assert_int_equal(frame_decoder_feed(&dec, data, 0, &used), FRAME_TOO_LARGE);
	assert_int_equal(used, 0);
	frame_decoder_free(&dec);

	/* exactly the limit is accepted */
	frame_decoder_init(&dec, 100);
	frame_put_header(data, 100);
	assert_int_equal(frame_decoder_feed(&dec, data, FRAME_HEADER_LEN + 100, &used),
			 FRAME_READY);
	assert_int_equal(used, FRAME_HEADER_LEN + 100);
	frame_decoder_free(&dec);

	/* an oversize prefix split across feeds, after a good frame */
	frame_decoder_init(&dec, 100);
	{
		const uint8_t bytes[] = { 0, 0, 0, 1, 'k', 0xff, 0xff, 0xff, 0xff };

		assert_int_equal(frame_decoder_feed(&dec, bytes, 7, &used), FRAME_READY);
		assert_int_equal(used, 5);
		assert_int_equal(frame_decoder_feed(&dec, bytes + 5, 2, &used), FRAME_NEED_MORE);
		assert_true(frame_decoder_partial(&dec));
		assert_int_equal(frame_decoder_feed(&dec, bytes + 7, 2, &used), FRAME_TOO_LARGE);
		assert_int_equal(used, 2);
	}
	frame_decoder_free(&dec);
}

static void test_limit_clamped(void **state)
{
	struct frame_decoder dec;
	uint8_t hdr[FRAME_HEADER_LEN];
	size_t used;

	frame_decoder_init(&dec, (size_t)FRAME_MAX_LIMIT * 4);
	assert_int_equal(dec.max_frame, FRAME_MAX_LIMIT);
	frame_put_header(hdr, FRAME_MAX_LIMIT + 1);
	assert_int_equal(frame_decoder_feed(&dec, hdr, sizeof(hdr), &used), FRAME_TOO_LARGE);
	frame_decoder_free(&dec);
}

static void test_put_header(void **state)
{
	uint8_t hdr[FRAME_HEADER_LEN];

	frame_put_header(hdr, 0x01020304u);
	assert_int_equal(hdr[0], 1);
	assert_int_equal(hdr[1], 2);
	assert_int_equal(hdr[2], 3);
	assert_int_equal(hdr[3], 4);
	frame_put_header(hdr, 0);
	assert_int_equal(hdr[0] | hdr[1] | hdr[2] | hdr[3], 0);
}

static void test_unpack_garbage(void **state)
{
	const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	const uint8_t truncated[] = { 0x0a, 0x10, 0x08 }; /* hello, length 16, 1 byte */
	const uint8_t unknown_only[] = { 0x78, 0x01 };	  /* field 15 varint: no msg */
	const uint8_t empty_hello[] = { 0x0a, 0x00 };	  /* hello with no fields is fine */
	Hotline__V1__Frame *frame;

	assert_null(frame_unpack(garbage, sizeof(garbage)));
	assert_null(frame_unpack(truncated, sizeof(truncated)));
	assert_null(frame_unpack(unknown_only, sizeof(unknown_only)));
	assert_null(frame_unpack(NULL, 0));
	assert_null(frame_unpack((const uint8_t *)"", 0));

	frame = frame_unpack(empty_hello, sizeof(empty_hello));
	assert_non_null(frame);
	assert_int_equal(frame->msg_case, HOTLINE__V1__FRAME__MSG_HELLO);
	assert_string_equal(frame->hello->id, "");
	frame_message_free(frame);
	frame_message_free(NULL);
}

static void test_pack_unpack_round_trip(void **state)
{
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT, *back;
	Hotline__V1__Intake intake = HOTLINE__V1__INTAKE__INIT;
	uint8_t *packed;
	size_t len;

	intake.external_id = "E-1";
	intake.received_at = INT64_C(1795000000123);
	intake.channel = "phone";
	intake.caller_phone = "+86 138-1234-5678";
	intake.caller_name = "张三";
	intake.category = "complaint";
	intake.content = "噪音扰民 \"quoted\"\nsecond line";
	intake.district = "崇川区";
	intake.address = "南大街 1 号";
	intake.lat = 31.98;
	intake.lon = 120.89;
	intake.priority = HOTLINE__V1__PRIORITY__PRIORITY_URGENT;
	intake.origin_number = "12319";
	intake.resolved_on_call = 1;
	intake.answer = "已答复";
	frame.msg_case = HOTLINE__V1__FRAME__MSG_INTAKE;
	frame.intake = &intake;

	packed = frame_pack(&frame, &len);
	assert_non_null(packed);
	assert_int_equal(len, FRAME_HEADER_LEN + hotline__v1__frame__get_packed_size(&frame));
	assert_int_equal((size_t)packed[0] << 24 | (size_t)packed[1] << 16 |
				 (size_t)packed[2] << 8 | packed[3],
			 len - FRAME_HEADER_LEN);

	back = frame_unpack(packed + FRAME_HEADER_LEN, len - FRAME_HEADER_LEN);
	assert_non_null(back);
	assert_int_equal(back->msg_case, HOTLINE__V1__FRAME__MSG_INTAKE);
	assert_string_equal(back->intake->external_id, "E-1");
	assert_int_equal(back->intake->received_at, INT64_C(1795000000123));
	assert_string_equal(back->intake->channel, "phone");
	assert_string_equal(back->intake->caller_phone, "+86 138-1234-5678");
	assert_string_equal(back->intake->caller_name, "张三");
	assert_string_equal(back->intake->category, "complaint");
	assert_string_equal(back->intake->content, "噪音扰民 \"quoted\"\nsecond line");
	assert_string_equal(back->intake->district, "崇川区");
	assert_string_equal(back->intake->address, "南大街 1 号");
	assert_true(back->intake->lat == 31.98);
	assert_true(back->intake->lon == 120.89);
	assert_int_equal(back->intake->priority, HOTLINE__V1__PRIORITY__PRIORITY_URGENT);
	assert_string_equal(back->intake->origin_number, "12319");
	assert_true(back->intake->resolved_on_call);
	assert_string_equal(back->intake->answer, "已答复");
	frame_message_free(back);
	free(packed);
}

static void test_pack_dept_action(void **state)
{
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT, *back;
	Hotline__V1__DeptAction action = HOTLINE__V1__DEPT_ACTION__INIT;
	Hotline__V1__DeptAction__Return ret = HOTLINE__V1__DEPT_ACTION__RETURN__INIT;
	uint8_t *packed;
	size_t len;

	ret.reason = "不属于本部门";
	action.ticket_no = "20261127000001";
	action.action_case = HOTLINE__V1__DEPT_ACTION__ACTION_RETURN_TICKET;
	action.return_ticket = &ret;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_DEPT_ACTION;
	frame.dept_action = &action;

	packed = frame_pack(&frame, &len);
	assert_non_null(packed);
	back = frame_unpack(packed + FRAME_HEADER_LEN, len - FRAME_HEADER_LEN);
	assert_non_null(back);
	assert_int_equal(back->msg_case, HOTLINE__V1__FRAME__MSG_DEPT_ACTION);
	assert_string_equal(back->dept_action->ticket_no, "20261127000001");
	assert_int_equal(back->dept_action->action_case,
			 HOTLINE__V1__DEPT_ACTION__ACTION_RETURN_TICKET);
	assert_string_equal(back->dept_action->return_ticket->reason, "不属于本部门");
	frame_message_free(back);
	free(packed);
}

/* A packed frame fed back through the decoder gives the same body. */
static void test_pack_then_decode(void **state)
{
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	Hotline__V1__Ack ack = HOTLINE__V1__ACK__INIT;
	struct frame_decoder dec;
	const uint8_t *body;
	uint8_t *packed;
	size_t len, used, body_len;

	ack.ticket_no = "T1";
	ack.update_id = 42;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_ACK;
	frame.ack = &ack;
	packed = frame_pack(&frame, &len);
	assert_non_null(packed);

	frame_decoder_init(&dec, 64);
	assert_int_equal(frame_decoder_feed(&dec, packed, len, &used), FRAME_READY);
	assert_int_equal(used, len);
	body = frame_decoder_body(&dec, &body_len);
	assert_int_equal(body_len, len - FRAME_HEADER_LEN);
	assert_memory_equal(body, packed + FRAME_HEADER_LEN, body_len);
	frame_decoder_free(&dec);
	free(packed);
}

/* A big frame then small ones: the decoder gives back its big buffer. */
static void test_big_buffer_released(void **state)
{
	struct frame_decoder dec;
	size_t big = 200 * 1024, used;
	uint8_t *data = calloc(1, FRAME_HEADER_LEN + big);
	const uint8_t small[] = { 0, 0, 0, 2, 'h', 'i' };
	const uint8_t *body;
	size_t len;

	assert_non_null(data);
	frame_put_header(data, (uint32_t)big);
	frame_decoder_init(&dec, TEST_MAX_FRAME);
	assert_int_equal(frame_decoder_feed(&dec, data, FRAME_HEADER_LEN + big, &used),
			 FRAME_READY);
	assert_true(dec.body_cap >= big);
	assert_int_equal(frame_decoder_feed(&dec, small, sizeof(small), &used), FRAME_READY);
	assert_true(dec.body_cap < big);
	body = frame_decoder_body(&dec, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(body, "hi", 2);
	frame_decoder_free(&dec);
	free(data);
}

/* A peer announcing a big frame and sending little costs little memory. */
static void test_growth_follows_bytes(void **state)
{
	struct frame_decoder dec;
	uint8_t data[FRAME_HEADER_LEN + 10] = { 0 };
	size_t used;

	frame_put_header(data, TEST_MAX_FRAME);
	frame_decoder_init(&dec, TEST_MAX_FRAME);
	assert_int_equal(frame_decoder_feed(&dec, data, sizeof(data), &used), FRAME_NEED_MORE);
	assert_true(dec.body_cap < 64 * 1024);
	assert_true(frame_decoder_partial(&dec));
	frame_decoder_free(&dec);
}

/* ---- a serialized Ticket passed on as it is ---- */

static uint8_t *packed_ticket(const char *ticket_no, size_t content_len, size_t *len)
{
	Hotline__V1__Ticket t = HOTLINE__V1__TICKET__INIT;
	char *content = malloc(content_len + 1);
	assert_non_null(content);
	memset(content, 'c', content_len);
	content[content_len] = '\0';
	t.ticket_no = (char *)ticket_no;
	t.category = "路灯";
	t.content = content;
	t.caller_phone_masked = "138****5678";
	t.priority = HOTLINE__V1__PRIORITY__PRIORITY_URGENT;
	t.received_at = 1764288000123;
	t.deadline_at = 1764374400000;
	t.reopen_count = 2;
	t.lat = 32.0123456789;
	t.lon = -120.5;
	*len = hotline__v1__ticket__get_packed_size(&t);
	uint8_t *buf = malloc(*len);
	assert_non_null(buf);
	hotline__v1__ticket__pack(&t, buf);
	free(content);
	return buf;
}

/* The frame built around the bytes unpacks to the same Ticket, for contents
 * whose lengths put the Ticket's length varint at 1, 2 and 3 bytes. */
static void test_put_ticket_round_trip(void **state)
{
	(void)state;
	const size_t contents[] = { 0, 60, 120, 126, 127, 128, 16300, 16383, 16384, 70000 };
	for (size_t i = 0; i < sizeof(contents) / sizeof(contents[0]); i++) {
		size_t len;
		uint8_t *bytes = packed_ticket("20261128-00000042", contents[i], &len);
		assert_true(frame_ticket_check(bytes, len, "20261128-00000042"));
		size_t size = frame_ticket_size(len);
		uint8_t *out = malloc(size);
		assert_non_null(out);
		assert_int_equal(frame_put_ticket(out, bytes, len), size);
		size_t body =
			(size_t)out[0] << 24 | (size_t)out[1] << 16 | (size_t)out[2] << 8 | out[3];
		assert_int_equal(body, size - FRAME_HEADER_LEN);
		Hotline__V1__Frame *f = frame_unpack(out + FRAME_HEADER_LEN, body);
		assert_non_null(f);
		assert_int_equal(f->msg_case, HOTLINE__V1__FRAME__MSG_TICKET);
		assert_string_equal(f->ticket->ticket_no, "20261128-00000042");
		assert_int_equal(strlen(f->ticket->content), contents[i]);
		assert_int_equal(f->ticket->received_at, 1764288000123);
		assert_int_equal(f->ticket->reopen_count, 2);
		assert_true(f->ticket->lat == 32.0123456789 && f->ticket->lon == -120.5);
		/* the same bytes as packing the whole Frame */
		size_t plen;
		uint8_t *packed = frame_pack(f, &plen);
		assert_non_null(packed);
		assert_int_equal(plen, size);
		assert_memory_equal(packed, out, size);
		free(packed);
		frame_message_free(f);
		free(out);
		free(bytes);
	}
	assert_int_equal(frame_ticket_size(FRAME_MAX_LIMIT), 0);
}

static void test_ticket_check_refuses(void **state)
{
	(void)state;
	size_t len;
	uint8_t *bytes = packed_ticket("T-1", 40, &len);
	assert_true(frame_ticket_check(bytes, len, "T-1"));
	assert_false(frame_ticket_check(bytes, len, "T-2"));
	assert_false(frame_ticket_check(bytes, len, "T-"));
	assert_false(frame_ticket_check(bytes, len, "T-11"));
	assert_false(frame_ticket_check(bytes, len, NULL));
	/* Every cut: refused, or still a Ticket any peer unpacks (a cut between
	 * fields is well-formed protobuf). */
	for (size_t cut = 0; cut < len; cut++) {
		Hotline__V1__Ticket *t = hotline__v1__ticket__unpack(NULL, cut, bytes);
		if (frame_ticket_check(bytes, cut, "T-1"))
			assert_non_null(t);
		if (cut < 5) /* field 1 itself incomplete */
			assert_false(frame_ticket_check(bytes, cut, "T-1"));
		if (t)
			hotline__v1__ticket__free_unpacked(t, NULL);
	}
	/* A known field with another wire type: protobuf-c refuses it, so must we.
	 * lat (12) as a varint: tag (12 << 3) | 0 = 0x60. */
	uint8_t odd[] = { 0x0a, 0x03, 'T', '-', '1', 0x60, 0x01 };
	assert_null(hotline__v1__ticket__unpack(NULL, sizeof(odd), odd));
	assert_false(frame_ticket_check(odd, sizeof(odd), "T-1"));
	/* unknown fields of every plain wire type pass, as they unpack */
	uint8_t unknown[] = { 0x0a, 0x03, 'T',	'-',  '1',  0xf8, 0x01, 0x05, 0xfa,
			      0x01, 0x00, 0xf9, 0x01, 1,    2,	  3,	4,    5,
			      6,    7,	  8,	0xfd, 0x01, 1,	  2,	3,    4 };
	Hotline__V1__Ticket *t = hotline__v1__ticket__unpack(NULL, sizeof(unknown), unknown);
	assert_non_null(t);
	hotline__v1__ticket__free_unpacked(t, NULL);
	assert_true(frame_ticket_check(unknown, sizeof(unknown), "T-1"));
	/* a group (wire type 3), field 0, an over-long length */
	uint8_t group[] = { 0x0a, 0x03, 'T', '-', '1', 0xfb, 0x01 };
	uint8_t zero[] = { 0x0a, 0x03, 'T', '-', '1', 0x02, 0x00 };
	uint8_t longlen[] = { 0x0a, 0x7f, 'T', '-', '1' };
	assert_false(frame_ticket_check(group, sizeof(group), "T-1"));
	assert_false(frame_ticket_check(zero, sizeof(zero), "T-1"));
	assert_false(frame_ticket_check(longlen, sizeof(longlen), "T-1"));
	/* no ticket_no at all */
	assert_false(frame_ticket_check(bytes + len, 0, ""));
	free(bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_stream),
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_ready_stops_at_frame_end),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_limit_clamped),
		cmocka_unit_test(test_put_header),
		cmocka_unit_test(test_unpack_garbage),
		cmocka_unit_test(test_pack_unpack_round_trip),
		cmocka_unit_test(test_pack_dept_action),
		cmocka_unit_test(test_pack_then_decode),
		cmocka_unit_test(test_big_buffer_released),
		cmocka_unit_test(test_growth_follows_bytes),
		cmocka_unit_test(test_put_ticket_round_trip),
		cmocka_unit_test(test_ticket_check_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
