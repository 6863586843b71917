/*
 * test_pbwire.c - unit tests of lib/pbwire.c (NUL bytes in protobuf strings).
 *
 * Owns: proof that every string field a Frame can carry, at any depth, is
 * refused with its dotted path when it holds a NUL (while protobuf-c would
 * cut it), that bytes and unknown fields of every wire type pass, that
 * tags and lengths are read as protobuf-c reads them (non-minimal encodings,
 * lengths bounded by the enclosing message), that every prefix of a frame is
 * OK or MALFORMED and never OK where protobuf-c's unpack fails, and the depth
 * limit, using hotline.proto and a schema of its own (pbwire_test.proto).
 * Never: opens a socket. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hotline.pb-c.h"
#include "pbwire.h"
#include "pbwire_test.pb-c.h"

/* A string packed with this marker gets its first '#' turned into a NUL. */
#define MARKED "a#NUL#b"
#define MARKER "#NUL#"

static const ProtobufCMessageDescriptor *const frame_desc = &hotline__v1__frame__descriptor;
static const ProtobufCMessageDescriptor *const node_desc = &pbwire__test__node__descriptor;

/* --- helpers ------------------------------------------------------------ */

/* Bytes written by hand, for what protobuf-c would never pack. */
struct wire {
	uint8_t b[8192];
	size_t len;
};

static void put_varint(struct wire *w, uint64_t v)
{
	for (; v >= 0x80; v >>= 7) {
		assert_true(w->len < sizeof(w->b));
		w->b[w->len++] = (uint8_t)(v | 0x80);
	}
	assert_true(w->len < sizeof(w->b));
	w->b[w->len++] = (uint8_t)v;
}

static void put_raw(struct wire *w, const void *data, size_t len)
{
	assert_true(len <= sizeof(w->b) - w->len);
	if (len > 0)
		memcpy(w->b + w->len, data, len);
	w->len += len;
}

static void put_tag(struct wire *w, uint32_t number, unsigned wire_type)
{
	put_varint(w, (uint64_t)number << 3 | wire_type);
}

static void put_field(struct wire *w, uint32_t number, const void *data, size_t len)
{
	put_tag(w, number, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
	put_varint(w, len);
	put_raw(w, data, len);
}

#define PUT_LIT(w, number, lit) put_field((w), (number), (lit), sizeof(lit) - 1)

/* Packs msg into a new buffer (caller frees). */
static uint8_t *pack(const ProtobufCMessage *msg, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(msg);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(msg, buf), *len);
	return buf;
}

/* Turns the first '#' of the one MARKER in buf into a NUL. */
static void put_nul_at_marker(uint8_t *buf, size_t len)
{
	uint8_t *at = memmem(buf, len, MARKER, strlen(MARKER));

	assert_non_null(at);
	assert_null(memmem(at + 1, len - (size_t)(at + 1 - buf), MARKER, strlen(MARKER)));
	*at = 0;
}

static int check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
		 char *where, size_t wherelen)
{
	return pbwire_check_strings(desc, data, len, where, wherelen);
}

static void expect(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
		   int want, const char *want_where)
{
	char where[512];

	memset(where, 'x', sizeof(where));
	assert_int_equal(check(desc, data, len, where, sizeof(where)), want);
	assert_string_equal(where, want_where);
}

/* True when protobuf-c unpacks data[0..len) as desc. */
static int unpacks(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len)
{
	static const uint8_t empty[1];
	ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, len, len ? data : empty);

	if (msg == NULL)
		return 0;
	protobuf_c_message_free_unpacked(msg, NULL);
	return 1;
}

/* --- every string field a Frame can carry ------------------------------- */

#define MAX_CHAIN 4

/* Messages built along one path of fields (for freeing), by descriptor. */
struct chain {
	ProtobufCMessage *msg[MAX_CHAIN + 1];
	unsigned n;
};

static ProtobufCMessage *chain_new(struct chain *chain, const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *msg = calloc(1, desc->sizeof_message);

	assert_non_null(msg);
	assert_true(chain->n <= MAX_CHAIN);
	protobuf_c_message_init(desc, msg);
	chain->msg[chain->n++] = msg;
	return msg;
}

static void chain_free(struct chain *chain)
{
	for (unsigned i = 0; i < chain->n; i++)
		free(chain->msg[i]); /* the strings are literals */
	chain->n = 0;
}

static void set_member(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field,
		       const void *value)
{
	*(const void **)(void *)((char *)msg + field->offset) = value;
	if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		*(uint32_t *)(void *)((char *)msg + field->quantifier_offset) = field->id;
}

/*
 * Builds the message of desc holding path[depth..n): the last field is a
 * string set to MARKED; every other plain string field on the way is "ok".
 */
static ProtobufCMessage *build_path(struct chain *chain, const ProtobufCMessageDescriptor *desc,
				    const ProtobufCFieldDescriptor **path, unsigned depth,
				    unsigned n)
{
	ProtobufCMessage *msg = chain_new(chain, desc);

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *field = &desc->fields[i];

		if (field->type == PROTOBUF_C_TYPE_STRING &&
		    field->label != PROTOBUF_C_LABEL_REPEATED &&
		    !(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			set_member(msg, field, "ok");
	}
	if (depth + 1 == n)
		set_member(msg, path[depth], MARKED);
	else
		set_member(msg, path[depth],
			   build_path(chain, path[depth]->descriptor, path, depth + 1, n));
	return msg;
}

/*
 * Packs a Frame along path with and without a NUL in the marked string, and
 * checks both: the NUL is refused with the dotted path, while protobuf-c
 * would have cut the string at it.
 */
static void check_path(const ProtobufCFieldDescriptor **path, unsigned n)
{
	char want[256] = "";
	struct chain chain = { .n = 0 };
	ProtobufCMessage *frame = build_path(&chain, frame_desc, path, 0, n);
	ProtobufCMessage *unpacked;
	size_t len;
	uint8_t *buf = pack(frame, &len);

	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			strcat(want, ".");
		strcat(want, path[i]->name);
	}
	expect(frame_desc, buf, len, PBWIRE_OK, "");
	put_nul_at_marker(buf, len);
	expect(frame_desc, buf, len, PBWIRE_NUL, want);

	/* What the check prevents: protobuf-c accepts the bytes and loses "NUL#b". */
	unpacked = protobuf_c_message_unpack(frame_desc, NULL, len, buf);
	assert_non_null(unpacked);
	{
		const ProtobufCMessage *msg = unpacked;

		for (unsigned i = 0; i + 1 < n; i++)
			msg = *(ProtobufCMessage *const *)(const void *)((const char *)msg +
									 path[i]->offset);
		assert_string_equal(
			*(char *const *)(const void *)((const char *)msg + path[n - 1]->offset),
			"a");
	}
	protobuf_c_message_free_unpacked(unpacked, NULL);
	chain_free(&chain);
	free(buf);
}

/* Calls check_path for every string field reachable from desc; returns how many. */
static unsigned check_all_paths(const ProtobufCMessageDescriptor *desc,
				const ProtobufCFieldDescriptor **path, unsigned depth)
{
	unsigned count = 0;

	assert_true(depth < MAX_CHAIN);
	for (unsigned i = 0; i < desc->n_fields; i++) {
		path[depth] = &desc->fields[i];
		if (desc->fields[i].type == PROTOBUF_C_TYPE_STRING) {
			check_path(path, depth + 1);
			count++;
		} else if (desc->fields[i].type == PROTOBUF_C_TYPE_MESSAGE) {
			count += check_all_paths(desc->fields[i].descriptor, path, depth + 1);
		}
	}
	return count;
}

static void test_every_string_field(void **state)
{
	const ProtobufCFieldDescriptor *path[MAX_CHAIN];

	/* 43 string fields in hotline.proto today: update when it grows */
	assert_int_equal(check_all_paths(frame_desc, path, 0), 43);
}

/* The frames of the brief, by name, and what protobuf-c does with them. */
static void test_named_frames(void **state)
{
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	Hotline__V1__Intake intake = HOTLINE__V1__INTAKE__INIT;
	Hotline__V1__Hello hello = HOTLINE__V1__HELLO__INIT;
	Hotline__V1__DeptAction action = HOTLINE__V1__DEPT_ACTION__INIT;
	Hotline__V1__DeptAction__Reply reply = HOTLINE__V1__DEPT_ACTION__REPLY__INIT;
	Hotline__V1__DeptAction__Return ret = HOTLINE__V1__DEPT_ACTION__RETURN__INIT;
	Hotline__V1__DeptAction__Extend extend = HOTLINE__V1__DEPT_ACTION__EXTEND__INIT;
	Hotline__V1__DeptAction__Accept accept = HOTLINE__V1__DEPT_ACTION__ACCEPT__INIT;
	Hotline__V1__CallbackResult result = HOTLINE__V1__CALLBACK_RESULT__INIT;
	Hotline__V1__Ack ack = HOTLINE__V1__ACK__INIT;
	Hotline__V1__Frame *back;
	uint8_t *buf;
	size_t len;

	/* Intake "X\0y": protobuf-c would make it "X", a duplicate of X's ticket */
	intake.external_id = "X#NUL#y";
	intake.content = "visible";
	frame.msg_case = HOTLINE__V1__FRAME__MSG_INTAKE;
	frame.intake = &intake;
	buf = pack(&frame.base, &len);
	put_nul_at_marker(buf, len);
	expect(frame_desc, buf, len, PBWIRE_NUL, "intake.external_id");
	back = hotline__v1__frame__unpack(NULL, len, buf);
	assert_non_null(back);
	assert_string_equal(back->intake->external_id, "X");
	hotline__v1__frame__free_unpacked(back, NULL);
	free(buf);

	intake.external_id = "X";
	intake.content = "visible#NUL#HIDDEN";
	buf = pack(&frame.base, &len);
	put_nul_at_marker(buf, len);
	expect(frame_desc, buf, len, PBWIRE_NUL, "intake.content");
	free(buf);

	hello.role = HOTLINE__V1__ROLE__ROLE_FEED;
	hello.id = "water";
	hello.token = "s3cret#NUL#";
	hello.version = 1;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_HELLO;
	frame.hello = &hello;
	buf = pack(&frame.base, &len);
	put_nul_at_marker(buf, len);
	expect(frame_desc, buf, len, PBWIRE_NUL, "hello.token");
	free(buf);

	action.ticket_no = "20261127000001";
	action.action_case = HOTLINE__V1__DEPT_ACTION__ACTION_REPLY;
	action.reply = &reply;
	reply.content = "fixed#NUL#hidden";
	frame.msg_case = HOTLINE__V1__FRAME__MSG_DEPT_ACTION;
	frame.dept_action = &action;
	buf = pack(&frame.base, &len);
	put_nul_at_marker(buf, len);
	expect(frame_desc, buf, len, PBWIRE_NUL, "dept_action.reply.content");
	free(buf);

	action.action_case = HOTLINE__V1__DEPT_ACTION__ACTION_RETURN_TICKET;
	action.return_ticket = &ret;
	ret.reason = "not ours#NUL#";
	buf = pack(&frame.base, &len);
	put_nul_at_marker(buf, len);
	expect(frame_desc, buf, len, PBWIRE_NUL, "dept_action.return_ticket.reason");
	free(buf);

	action.action_case = HOTLINE__V1__DEPT_ACTION__ACTION_EXTEND;
	action.extend = &extend;
	extend.until = 1795000000000;
	extend.reason = "parts#NUL#";
	buf = pack(&frame.base, &len);
	put_nul_at_marker(buf, len);
	expect(frame_desc, buf, len, PBWIRE_NUL, "dept_action.extend.reason");
	extend.reason = "parts";
	free(buf);
	buf = pack(&frame.base, &len);
	expect(frame_desc, buf, len, PBWIRE_OK, "");
	free(buf);

	action.ticket_no = "2026#NUL#1";
	action.action_case = HOTLINE__V1__DEPT_ACTION__ACTION_ACCEPT;
	action.accept = &accept;
	buf = pack(&frame.base, &len);
	put_nul_at_marker(buf, len);
	expect(frame_desc, buf, len, PBWIRE_NUL, "dept_action.ticket_no");
	free(buf);

	result.ticket_no = "20261127000001";
	result.outcome = HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_SATISFIED;
	result.note = "called#NUL#";
	frame.msg_case = HOTLINE__V1__FRAME__MSG_CALLBACK_RESULT;
	frame.callback_result = &result;
	buf = pack(&frame.base, &len);
	put_nul_at_marker(buf, len);
	expect(frame_desc, buf, len, PBWIRE_NUL, "callback_result.note");
	free(buf);

	ack.ticket_no = "#NUL#";
	ack.update_id = 7;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_ACK;
	frame.ack = &ack;
	buf = pack(&frame.base, &len);
	put_nul_at_marker(buf, len);
	expect(frame_desc, buf, len, PBWIRE_NUL, "ack.ticket_no");
	free(buf);
}

static void test_empty_and_bad_arguments(void **state)
{
	char where[8] = "junk";

	expect(frame_desc, NULL, 0, PBWIRE_OK, "");
	assert_int_equal(check(frame_desc, (const uint8_t *)"", 0, NULL, 0), PBWIRE_OK);
	assert_int_equal(check(NULL, (const uint8_t *)"", 0, where, sizeof(where)),
			 PBWIRE_MALFORMED);
	assert_string_equal(where, "");
	assert_int_equal(check(frame_desc, NULL, 1, where, sizeof(where)), PBWIRE_MALFORMED);
	/* an empty CallbackClaim: a message with no fields at all */
	expect(frame_desc, (const uint8_t *)"\x5a\x00", 2, PBWIRE_OK, "");
	expect(frame_desc, (const uint8_t *)"\x5a\x02\x0a\x00", 4, PBWIRE_OK, "");
}

/* where is cut to fit and always terminated; NULL with wherelen 0 is fine. */
static void test_where_is_cut(void **state)
{
	struct wire w = { .len = 0 };
	struct wire intake = { .len = 0 };
	char where[32];

	put_field(&intake, 1, "X\0y", 3);
	put_field(&w, 4, intake.b, intake.len);

	assert_int_equal(check(frame_desc, w.b, w.len, NULL, 0), PBWIRE_NUL);
	memset(where, 'x', sizeof(where));
	assert_int_equal(check(frame_desc, w.b, w.len, where, 1), PBWIRE_NUL);
	assert_int_equal(where[0], '\0');
	assert_int_equal(where[1], 'x');
	memset(where, 'x', sizeof(where));
	assert_int_equal(check(frame_desc, w.b, w.len, where, 5), PBWIRE_NUL);
	assert_string_equal(where, "inta");
	assert_int_equal(where[5], 'x');
	assert_int_equal(check(frame_desc, w.b, w.len, where, 7), PBWIRE_NUL);
	assert_string_equal(where, "intake");
	assert_int_equal(check(frame_desc, w.b, w.len, where, 8), PBWIRE_NUL);
	assert_string_equal(where, "intake.");
	assert_int_equal(check(frame_desc, w.b, w.len, where, 10), PBWIRE_NUL);
	assert_string_equal(where, "intake.ex");
	assert_int_equal(check(frame_desc, w.b, w.len, where, 19), PBWIRE_NUL);
	assert_string_equal(where, "intake.external_id");
	assert_int_equal(check(frame_desc, w.b, w.len, where, 18), PBWIRE_NUL);
	assert_string_equal(where, "intake.external_i");
}

/* --- what is skipped ---------------------------------------------------- */

static void test_nul_in_bytes_is_fine(void **state)
{
	Pbwire__Test__Node node = PBWIRE__TEST__NODE__INIT;
	uint8_t blob[] = { 'a', 0, 'b', 0 };
	uint8_t *buf;
	size_t len;

	node.name = "n";
	node.blob.data = blob;
	node.blob.len = sizeof(blob);
	buf = pack(&node.base, &len);
	expect(node_desc, buf, len, PBWIRE_OK, "");
	free(buf);
}

/* Appends an unknown field of each wire type, all holding zero bytes. */
static void put_unknown_fields(struct wire *w)
{
	static const uint8_t zeros[8];

	put_tag(w, 100, PROTOBUF_C_WIRE_TYPE_VARINT);
	put_varint(w, 0);
	put_tag(w, 101, PROTOBUF_C_WIRE_TYPE_VARINT);
	put_varint(w, UINT64_MAX); /* ten bytes */
	put_tag(w, 102, PROTOBUF_C_WIRE_TYPE_64BIT);
	put_raw(w, zeros, 8);
	put_field(w, 103, "a\0b\0", 4);
	put_tag(w, 104, PROTOBUF_C_WIRE_TYPE_32BIT);
	put_raw(w, zeros, 4);
	put_field(w, 105, "", 0);
	put_tag(w, 536870911, PROTOBUF_C_WIRE_TYPE_VARINT); /* the largest field number */
	put_varint(w, 1);
}

static void test_unknown_fields_skipped(void **state)
{
	struct wire w = { .len = 0 };
	struct wire intake = { .len = 0 };

	put_unknown_fields(&intake);
	PUT_LIT(&intake, 1, "E-1");
	put_unknown_fields(&intake);
	PUT_LIT(&intake, 7, "content");
	put_unknown_fields(&w);
	put_field(&w, 4, intake.b, intake.len);
	put_unknown_fields(&w);
	expect(frame_desc, w.b, w.len, PBWIRE_OK, "");
	assert_true(unpacks(frame_desc, w.b, w.len));

	/* the same unknown numbers inside a known message stay unknown */
	w.len = 0;
	put_unknown_fields(&w);
	expect(node_desc, w.b, w.len, PBWIRE_OK, "");
	assert_true(unpacks(node_desc, w.b, w.len));

	/* ... and a NUL in a known string after them is still found */
	PUT_LIT(&intake, 9, "addr\0ess");
	w.len = 0;
	put_field(&w, 4, intake.b, intake.len);
	expect(frame_desc, w.b, w.len, PBWIRE_NUL, "intake.address");
}

/* --- tags and lengths as protobuf-c reads them -------------------------- */

static void test_non_minimal_encodings(void **state)
{
	/* Frame{intake{external_id "X\0y"}} with a 5-byte tag and 2-byte lengths */
	static const uint8_t long_tag[] = { 0xa2, 0x80, 0x80, 0x80, 0x00, 0x87, 0x00,
					    0x8a, 0x00, 0x83, 0x00, 'X',  0,	'y' };
	/* a 5-byte tag of field 4 + 2^25: unknown, as protobuf-c reads it too */
	static const uint8_t high[] = { 0xa2, 0x80, 0x80, 0x80, 0x01, 0x03, 'X', 0, 'y' };
	/* field 4 + 2^29: above 2^29 - 1, refused (protobuf-c keeps it as unknown) */
	static const uint8_t too_high[] = { 0xa2, 0x80, 0x80, 0x80, 0x10, 0x03, 'X', 0, 'y' };

	expect(frame_desc, long_tag, sizeof(long_tag), PBWIRE_NUL, "intake.external_id");
	assert_true(unpacks(frame_desc, long_tag, sizeof(long_tag)));
	expect(frame_desc, high, sizeof(high), PBWIRE_OK, "");
	assert_true(unpacks(frame_desc, high, sizeof(high)));
	expect(frame_desc, too_high, sizeof(too_high), PBWIRE_MALFORMED, "");
	assert_true(unpacks(frame_desc, too_high, sizeof(too_high)));
}

static void test_malformed_tags(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		int protobuf_c_unpacks; /* where the check is stricter */
	} cases[] = {
		{ "\x00", 1, 0 },		      /* field 0 */
		{ "\x02\x00", 2, 0 },		      /* field 0, length-delimited */
		{ "\x80\x00\x00", 3, 1 },	      /* field 0 written in two bytes */
		{ "\x80", 1, 0 },		      /* unterminated tag */
		{ "\xa2\x80\x80\x80\x80\x00", 6, 0 }, /* a 6-byte tag */
		{ "\x80\x80\x80\x80\x10\x00", 6, 1 }, /* field 2^29 */
		{ "\x7b", 1, 0 },		      /* group start (3) */
		{ "\x7c", 1, 0 },		      /* group end (4) */
		{ "\x7e", 1, 0 },		      /* wire type 6 */
		{ "\x7f", 1, 0 },		      /* wire type 7 */
		{ "\x78\x80", 2, 0 },		      /* unterminated varint */
		{ "\x78\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12, 0 }, /* 11 bytes */
		{ "\x79\x00\x00\x00\x00\x00\x00\x00", 8, 0 }, /* fixed64 of 7 bytes */
		{ "\x7d\x00\x00\x00", 4, 0 },		      /* fixed32 of 3 bytes */
		{ "\x7a\x02\x00", 3, 0 },		      /* 2 bytes announced, 1 sent */
		{ "\x7a\x80\x80\x80\x80\x80\x00", 7, 0 },     /* a 6-byte length */
		{ "\x7a\x80\x80\x80\x80\x08", 6, 0 },	      /* length 2^31 (above INT_MAX) */
		{ "\x7a\xff\xff\xff\xff\x0f", 6, 0 },	      /* length 2^32 - 1 */
		{ "\x7a", 1, 0 },			      /* no length at all */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t *bytes = (const uint8_t *)cases[i].bytes;

		print_message("case %zu\n", i);
		expect(frame_desc, bytes, cases[i].len, PBWIRE_MALFORMED, "");
		assert_int_equal(unpacks(frame_desc, bytes, cases[i].len),
				 cases[i].protobuf_c_unpacks);
	}
	/* the longest varint is ten bytes, a length five, a field number 2^29 - 1 */
	expect(frame_desc,
	       (const uint8_t *)"\x78\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"
				"\x7a\x80\x80\x80\x80\x00"
				"\xf8\xff\xff\xff\x0f\x00",
	       23, PBWIRE_OK, "");
	/* a string's length of six bytes */
	expect(node_desc, (const uint8_t *)"\x0a\x81\x80\x80\x80\x80\x00", 7, PBWIRE_MALFORMED,
	       "name");
}

/* A nested field's length is bounded by its message, not by the whole input. */
static void test_length_bounded_by_enclosing_message(void **state)
{
	/* intake of 3 bytes whose external_id announces 5; the input has 5 more */
	static const uint8_t overrun[] = { 0x22, 0x03, 0x0a, 0x05, 'a', 0x78, 0x01, 0x78, 0x01 };
	/* the intake's own length runs past the end */
	static const uint8_t past_end[] = { 0x22, 0x05, 0x0a, 0x01, 'a' };

	expect(frame_desc, overrun, sizeof(overrun), PBWIRE_MALFORMED, "intake.external_id");
	assert_false(unpacks(frame_desc, overrun, sizeof(overrun)));
	expect(frame_desc, past_end, sizeof(past_end), PBWIRE_MALFORMED, "intake");
	assert_false(unpacks(frame_desc, past_end, sizeof(past_end)));
}

static void test_wrong_wire_type(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *where;
	} cases[] = {
		{ "\x22\x02\x08\x05", 4, "intake.external_id" },	     /* string as varint */
		{ "\x22\x05\x0d\x00\x00\x00\x00", 7, "intake.external_id" }, /* as fixed32 */
		{ "\x22\x09\x09\x00\x00\x00\x00\x00\x00\x00\x00", 11, "intake.external_id" },
		{ "\x22\x03\x12\x01\x00", 5, "intake.received_at" }, /* int64 as bytes */
		{ "\x22\x02\x50\x00", 4, "intake.lat" },	     /* double as varint */
		{ "\x20\x01", 2, "intake" },			     /* a message as varint */
		{ "\x0a\x05\x08\x01\x15\x00\x00", 7, "hello.id" },   /* before its length */
		{ "\x42\x05\x22\x03\x08\x00\x00", 7, "dept_action.reply.content" },
		{ "\x42\x02\x20\x00", 4, "dept_action.reply" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t *bytes = (const uint8_t *)cases[i].bytes;

		print_message("case %zu\n", i);
		expect(frame_desc, bytes, cases[i].len, PBWIRE_MALFORMED, cases[i].where);
		assert_false(unpacks(frame_desc, bytes, cases[i].len));
	}
}

/* Stricter than protobuf-c 1.4, which unpacks a bool of any wire type. */
static void test_bool_wire_type(void **state)
{
	static const uint8_t bool_as_bytes[] = { 0x72, 0x01, 0x01 };

	assert_true(unpacks(node_desc, bool_as_bytes, sizeof(bool_as_bytes)));
	expect(node_desc, bool_as_bytes, sizeof(bool_as_bytes), PBWIRE_MALFORMED, "flag");
}

/* --- repeated, oneof, packed, depth (pbwire_test.proto) ----------------- */

static void test_field_repeated_twice(void **state)
{
	struct wire w = { .len = 0 };
	struct wire intake = { .len = 0 };
	Hotline__V1__Frame *back;

	PUT_LIT(&intake, 1, "X");
	PUT_LIT(&intake, 1, "Y");
	put_field(&w, 4, intake.b, intake.len);
	expect(frame_desc, w.b, w.len, PBWIRE_OK, "");
	back = hotline__v1__frame__unpack(NULL, w.len, w.b);
	assert_non_null(back);
	assert_string_equal(back->intake->external_id, "Y"); /* the last one counts */
	hotline__v1__frame__free_unpacked(back, NULL);

	/* a NUL in the occurrence protobuf-c drops is refused all the same */
	intake.len = 0;
	PUT_LIT(&intake, 1, "X\0");
	PUT_LIT(&intake, 1, "Y");
	w.len = 0;
	put_field(&w, 4, intake.b, intake.len);
	expect(frame_desc, w.b, w.len, PBWIRE_NUL, "intake.external_id");

	/* two oneof members: the first is replaced, and still checked */
	w.len = 0;
	put_field(&w, 4, intake.b, intake.len);
	intake.len = 0;
	PUT_LIT(&intake, 2, "water");
	put_field(&w, 1, intake.b, intake.len);
	expect(frame_desc, w.b, w.len, PBWIRE_NUL, "intake.external_id");
	back = hotline__v1__frame__unpack(NULL, w.len, w.b);
	assert_non_null(back);
	assert_int_equal(back->msg_case, HOTLINE__V1__FRAME__MSG_HELLO);
	hotline__v1__frame__free_unpacked(back, NULL);
}

static void test_repeated_and_oneof(void **state)
{
	Pbwire__Test__Node node = PBWIRE__TEST__NODE__INIT;
	Pbwire__Test__Node kid1 = PBWIRE__TEST__NODE__INIT;
	Pbwire__Test__Node kid2 = PBWIRE__TEST__NODE__INIT;
	Pbwire__Test__Node other = PBWIRE__TEST__NODE__INIT;
	Pbwire__Test__Node *kids[] = { &kid1, &kid2 };
	char *tags[] = { "one", "two", "three" };
	char *other_tags[] = { "x" };
	int32_t numbers[] = { 0, 1, 256, -1, 0 }; /* zero bytes in the packed payload */
	uint64_t stamps[] = { 0, 1ull << 40 };
	protobuf_c_boolean flags[] = { 0, 1, 0 };
	uint8_t *buf;
	size_t len;

	node.name = "top";
	node.n_tags = 3;
	node.tags = tags;
	node.n_numbers = 5;
	node.numbers = numbers;
	node.n_stamps = 2;
	node.stamps = stamps;
	node.n_flags = 3;
	node.flags = flags;
	node.n_children = 2;
	node.children = kids;
	node.f32 = 0;
	node.d = 0.0;
	node.s64 = -1;
	node.flag = 1;
	node.fl = 1.5f;
	kid1.name = "kid1";
	kid2.name = "kid2";
	kid2.pick_case = PBWIRE__TEST__NODE__PICK_COUNT;
	kid2.count = 0;
	node.pick_case = PBWIRE__TEST__NODE__PICK_OTHER;
	node.other = &other;
	other.n_tags = 1;
	other.tags = other_tags;
	buf = pack(&node.base, &len);
	expect(node_desc, buf, len, PBWIRE_OK, "");
	assert_true(unpacks(node_desc, buf, len));
	free(buf);

	tags[1] = "t#NUL#wo";
	buf = pack(&node.base, &len);
	put_nul_at_marker(buf, len);
	expect(node_desc, buf, len, PBWIRE_NUL, "tags");
	free(buf);
	tags[1] = "two";

	kid2.name = "kid#NUL#2";
	buf = pack(&node.base, &len);
	put_nul_at_marker(buf, len);
	expect(node_desc, buf, len, PBWIRE_NUL, "children.name");
	free(buf);
	kid2.name = "kid2";

	other_tags[0] = "#NUL#";
	buf = pack(&node.base, &len);
	put_nul_at_marker(buf, len);
	expect(node_desc, buf, len, PBWIRE_NUL, "other.tags");
	free(buf);

	node.pick_case = PBWIRE__TEST__NODE__PICK_LABEL;
	node.label = "lab#NUL#el";
	buf = pack(&node.base, &len);
	put_nul_at_marker(buf, len);
	expect(node_desc, buf, len, PBWIRE_NUL, "label");
	free(buf);
}

static void test_repeated_wire_types(void **state)
{
	struct wire w = { .len = 0 };

	/* repeated scalars unpacked, one value per tag, and packed: both fine */
	put_tag(&w, 5, PROTOBUF_C_WIRE_TYPE_VARINT);
	put_varint(&w, 0);
	put_field(&w, 5, "\x00\x01\x00", 3);
	put_tag(&w, 6, PROTOBUF_C_WIRE_TYPE_64BIT);
	put_raw(&w, "\0\0\0\0\0\0\0\0", 8);
	put_field(&w, 6, "\0\0\0\0\0\0\0\0", 8);
	put_field(&w, 16, "\x00\x01", 2);
	expect(node_desc, w.b, w.len, PBWIRE_OK, "");
	assert_true(unpacks(node_desc, w.b, w.len));

	/* a repeated string or message is never packed or a scalar */
	w.len = 0;
	put_tag(&w, 3, PROTOBUF_C_WIRE_TYPE_VARINT);
	put_varint(&w, 0);
	expect(node_desc, w.b, w.len, PBWIRE_MALFORMED, "tags");
	w.len = 0;
	put_tag(&w, 7, PROTOBUF_C_WIRE_TYPE_32BIT);
	put_raw(&w, "\0\0\0\0", 4);
	expect(node_desc, w.b, w.len, PBWIRE_MALFORMED, "children");
	/* a repeated fixed64 as fixed32, and a plain fixed32 sent packed */
	w.len = 0;
	put_tag(&w, 6, PROTOBUF_C_WIRE_TYPE_32BIT);
	put_raw(&w, "\0\0\0\0", 4);
	expect(node_desc, w.b, w.len, PBWIRE_MALFORMED, "stamps");
	w.len = 0;
	put_field(&w, 11, "\0\0\0\0", 4);
	expect(node_desc, w.b, w.len, PBWIRE_MALFORMED, "f32");
	assert_false(unpacks(node_desc, w.b, w.len));
}

/*
 * A sub-message outside a oneof sent twice is merged by protobuf-c (both are
 * checked). protobuf-c 1.4 fails that merge when neither copy sets the oneof:
 * why PBWIRE_OK does not promise that the unpack succeeds.
 */
static void test_merged_submessage(void **state)
{
	struct wire w = { .len = 0 };

	PUT_LIT(&w, 2,
		"\x0a\x01"
		"a");
	PUT_LIT(&w, 2,
		"\x0a\x02"
		"b\0");
	expect(node_desc, w.b, w.len, PBWIRE_NUL, "child.name");
	w.len = 0;
	PUT_LIT(&w, 2,
		"\x0a\x01"
		"a");
	PUT_LIT(&w, 2,
		"\x0a\x01"
		"b");
	expect(node_desc, w.b, w.len, PBWIRE_OK, "");
	assert_false(unpacks(node_desc, w.b, w.len));
}

/* Wraps w's bytes in levels Node.child fields. */
static void nest(struct wire *w, unsigned levels)
{
	static struct wire inner;

	for (unsigned i = 0; i < levels; i++) {
		inner = *w;
		w->len = 0;
		put_field(w, 2, inner.b, inner.len);
	}
}

static void test_depth_limit(void **state)
{
	char want[512] = "";
	struct wire w = { .len = 0 };

	/* the top message, then PBWIRE_MAX_DEPTH levels below it */
	PUT_LIT(&w, 1, "deep");
	nest(&w, PBWIRE_MAX_DEPTH);
	expect(node_desc, w.b, w.len, PBWIRE_OK, "");

	for (unsigned i = 0; i < PBWIRE_MAX_DEPTH + 1; i++)
		strcat(want, i ? ".child" : "child");
	nest(&w, 1);
	expect(node_desc, w.b, w.len, PBWIRE_MALFORMED, want);
	assert_true(unpacks(node_desc, w.b, w.len)); /* stricter than protobuf-c */

	/* a NUL at the deepest level allowed is found and named */
	w.len = 0;
	PUT_LIT(&w, 1, "de\0ep");
	nest(&w, PBWIRE_MAX_DEPTH);
	want[0] = '\0';
	for (unsigned i = 0; i < PBWIRE_MAX_DEPTH; i++)
		strcat(want, "child.");
	strcat(want, "name");
	expect(node_desc, w.b, w.len, PBWIRE_NUL, want);

	/* through oneof members and repeated children alike */
	w.len = 0;
	PUT_LIT(&w, 3, "tag");
	for (unsigned i = 0; i < PBWIRE_MAX_DEPTH + 1; i++) {
		struct wire inner = w;

		w.len = 0;
		put_field(&w, i % 2 ? 9 : 7, inner.b, inner.len);
	}
	assert_int_equal(check(node_desc, w.b, w.len, NULL, 0), PBWIRE_MALFORMED);
}

/* --- truncation --------------------------------------------------------- */

/* Every prefix: never NUL (the input has none), never OK where protobuf-c fails. */
static void check_prefixes(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len)
{
	for (size_t cut = 0; cut <= len; cut++) {
		uint8_t *copy = malloc(cut + 1); /* exactly cut bytes readable */
		int status, ok;

		assert_non_null(copy);
		memcpy(copy, buf, cut);
		status = check(desc, copy, cut, NULL, 0);
		ok = unpacks(desc, copy, cut);
		assert_true(status == PBWIRE_OK || status == PBWIRE_MALFORMED);
		if (status == PBWIRE_OK)
			assert_true(ok);
		if (!ok)
			assert_int_equal(status, PBWIRE_MALFORMED);
		free(copy);
	}
}

static void test_truncated_prefixes(void **state)
{
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	Hotline__V1__Intake intake = HOTLINE__V1__INTAKE__INIT;
	Hotline__V1__DeptAction action = HOTLINE__V1__DEPT_ACTION__INIT;
	Hotline__V1__DeptAction__Reply reply = HOTLINE__V1__DEPT_ACTION__REPLY__INIT;
	Pbwire__Test__Node node = PBWIRE__TEST__NODE__INIT;
	Pbwire__Test__Node kid = PBWIRE__TEST__NODE__INIT;
	Pbwire__Test__Node *kids[] = { &kid };
	char *tags[] = { "a", "路灯不亮" };
	int32_t numbers[] = { -1, 300, 0 };
	struct wire w = { .len = 0 };
	uint8_t *buf;
	size_t len;

	intake.external_id = "W-1";
	intake.received_at = 1795000000000;
	intake.channel = "phone";
	intake.caller_phone = "13812345678";
	intake.content = "路灯不亮, 三天了";
	intake.lat = 32.01;
	intake.lon = 120.9;
	intake.priority = HOTLINE__V1__PRIORITY__PRIORITY_URGENT;
	intake.resolved_on_call = 1;
	intake.answer = "已转交";
	frame.msg_case = HOTLINE__V1__FRAME__MSG_INTAKE;
	frame.intake = &intake;
	buf = pack(&frame.base, &len);
	check_prefixes(frame_desc, buf, len);
	/* with unknown fields of every wire type after it */
	put_raw(&w, buf, len);
	put_unknown_fields(&w);
	check_prefixes(frame_desc, w.b, w.len);
	free(buf);

	reply.content = "已修复";
	action.ticket_no = "20261127000001";
	action.action_case = HOTLINE__V1__DEPT_ACTION__ACTION_REPLY;
	action.reply = &reply;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_DEPT_ACTION;
	frame.dept_action = &action;
	buf = pack(&frame.base, &len);
	check_prefixes(frame_desc, buf, len);
	free(buf);

	node.name = "n";
	node.n_tags = 2;
	node.tags = tags;
	node.n_numbers = 3;
	node.numbers = numbers;
	node.n_children = 1;
	node.children = kids;
	node.d = 1.0;
	node.f32 = 7;
	kid.name = "k";
	kid.pick_case = PBWIRE__TEST__NODE__PICK_LABEL;
	kid.label = "l";
	buf = pack(&node.base, &len);
	check_prefixes(node_desc, buf, len);
	free(buf);
}

/* Prefixes of a frame with a NUL: NUL only once the whole string is in. */
static void test_truncated_prefixes_with_nul(void **state)
{
	struct wire w = { .len = 0 };
	struct wire intake = { .len = 0 };
	size_t string_end;

	PUT_LIT(&intake, 1, "E-1");
	PUT_LIT(&intake, 7, "visible\0HIDDEN");
	PUT_LIT(&intake, 8, "district");
	put_field(&w, 4, intake.b, intake.len);
	/* the intake's length makes every proper prefix malformed */
	for (size_t cut = 0; cut < w.len; cut++) {
		uint8_t *copy = malloc(cut + 1);

		assert_non_null(copy);
		memcpy(copy, w.b, cut);
		assert_int_equal(check(frame_desc, copy, cut, NULL, 0),
				 cut == 0 ? PBWIRE_OK : PBWIRE_MALFORMED);
		free(copy);
	}
	/* the intake's body alone, cut anywhere */
	string_end = 2 + 3 + 2 + 14;
	for (size_t cut = 0; cut <= intake.len; cut++) {
		uint8_t *copy = malloc(cut + 1);
		int status;

		assert_non_null(copy);
		memcpy(copy, intake.b, cut);
		status = check(&hotline__v1__intake__descriptor, copy, cut, NULL, 0);
		if (cut >= string_end)
			assert_int_equal(status, PBWIRE_NUL);
		else
			assert_int_not_equal(status, PBWIRE_NUL);
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_string_field),
		cmocka_unit_test(test_named_frames),
		cmocka_unit_test(test_empty_and_bad_arguments),
		cmocka_unit_test(test_where_is_cut),
		cmocka_unit_test(test_nul_in_bytes_is_fine),
		cmocka_unit_test(test_unknown_fields_skipped),
		cmocka_unit_test(test_non_minimal_encodings),
		cmocka_unit_test(test_malformed_tags),
		cmocka_unit_test(test_length_bounded_by_enclosing_message),
		cmocka_unit_test(test_wrong_wire_type),
		cmocka_unit_test(test_bool_wire_type),
		cmocka_unit_test(test_field_repeated_twice),
		cmocka_unit_test(test_repeated_and_oneof),
		cmocka_unit_test(test_repeated_wire_types),
		cmocka_unit_test(test_merged_submessage),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_truncated_prefixes),
		cmocka_unit_test(test_truncated_prefixes_with_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
