/*
 * frame.c - the length-prefixed frame codec of the binary protocol.
 *
 * Owns: cutting a byte stream into frames (4-byte big-endian length + body),
 * refusing frames above the limit before buffering them, packing/unpacking
 * hotline.v1.Frame, and framing a stored Ticket as it is after a wire-format
 * check (no unpack). Memory held by a decoder grows with the bytes actually
 * received, not with the length a peer announces.
 * Never: touches a socket, a clock or a global; never trusts a length prefix.
 * Callers: daemon connections, tools (loadgen, dept, agent), tests, fuzzers.
 */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

/* First allocation for a body; later growth doubles up to the announced length. */
#define FRAME_BODY_MIN_CAP 4096u
/* A buffer bigger than this is dropped when a much smaller frame follows. */
#define FRAME_BODY_KEEP_CAP (64u * 1024u)

void frame_decoder_init(struct frame_decoder *dec, size_t max_frame)
{
	memset(dec, 0, sizeof(*dec));
	dec->max_frame = max_frame > FRAME_MAX_LIMIT ? FRAME_MAX_LIMIT : max_frame;
}

void frame_decoder_free(struct frame_decoder *dec)
{
	free(dec->body);
	dec->body = NULL;
	dec->body_cap = 0;
	dec->body_len = 0;
	dec->header_len = 0;
	dec->want = 0;
	dec->ready = 0;
	dec->failed = 0;
}

/* Makes room for at least need body bytes (need <= want <= max_frame). */
static int frame_body_reserve(struct frame_decoder *dec, size_t need)
{
	size_t cap;
	uint8_t *body;

	if (need <= dec->body_cap)
		return 0;
	cap = dec->body_cap < FRAME_BODY_MIN_CAP ? FRAME_BODY_MIN_CAP : dec->body_cap * 2;
	if (cap < need)
		cap = need;
	if (cap > dec->want)
		cap = dec->want;
	body = realloc(dec->body, cap);
	if (body == NULL)
		return -1;
	dec->body = body;
	dec->body_cap = cap;
	return 0;
}

enum frame_status frame_decoder_feed(struct frame_decoder *dec, const uint8_t *data, size_t len,
				     size_t *consumed)
{
	size_t used = 0;

	*consumed = 0;
	if (dec->failed)
		return (enum frame_status)dec->failed;
	if (dec->ready) {
		/* The previous frame was handed out; start the next one. */
		dec->ready = 0;
		dec->header_len = 0;
		dec->body_len = 0;
		dec->want = 0;
	}

	while (dec->header_len < FRAME_HEADER_LEN) {
		if (used == len)
			return FRAME_NEED_MORE;
		dec->header[dec->header_len++] = data[used++];
		*consumed = used;
		if (dec->header_len < FRAME_HEADER_LEN)
			continue;
		dec->want = (size_t)dec->header[0] << 24 | (size_t)dec->header[1] << 16 |
			    (size_t)dec->header[2] << 8 | (size_t)dec->header[3];
		if (dec->want > dec->max_frame) {
			dec->failed = FRAME_TOO_LARGE;
			return FRAME_TOO_LARGE;
		}
		if (dec->body_cap > FRAME_BODY_KEEP_CAP && dec->want < dec->body_cap / 4) {
			free(dec->body);
			dec->body = NULL;
			dec->body_cap = 0;
		}
	}

	if (dec->body_len < dec->want && used < len) {
		size_t take = dec->want - dec->body_len;

		if (take > len - used)
			take = len - used;
		if (frame_body_reserve(dec, dec->body_len + take) != 0) {
			dec->failed = FRAME_NO_MEMORY;
			return FRAME_NO_MEMORY;
		}
		memcpy(dec->body + dec->body_len, data + used, take);
		dec->body_len += take;
		used += take;
		*consumed = used;
	}
	if (dec->body_len < dec->want)
		return FRAME_NEED_MORE;
	dec->ready = 1;
	return FRAME_READY;
}

const uint8_t *frame_decoder_body(const struct frame_decoder *dec, size_t *len)
{
	static const uint8_t empty[1];

	if (!dec->ready) {
		*len = 0;
		return NULL;
	}
	*len = dec->body_len;
	return dec->body != NULL ? dec->body : empty;
}

int frame_decoder_partial(const struct frame_decoder *dec)
{
	return !dec->ready && !dec->failed && dec->header_len > 0;
}

Hotline__V1__Frame *frame_unpack(const uint8_t *body, size_t len)
{
	static const uint8_t empty[1];
	Hotline__V1__Frame *frame;

	frame = hotline__v1__frame__unpack(NULL, len, body != NULL ? body : empty);
	if (frame == NULL)
		return NULL;
	if (frame->msg_case == HOTLINE__V1__FRAME__MSG__NOT_SET) {
		hotline__v1__frame__free_unpacked(frame, NULL);
		return NULL;
	}
	return frame;
}

void frame_message_free(Hotline__V1__Frame *frame)
{
	if (frame != NULL)
		hotline__v1__frame__free_unpacked(frame, NULL);
}

void frame_put_header(uint8_t out[FRAME_HEADER_LEN], uint32_t body_len)
{
	out[0] = (uint8_t)(body_len >> 24);
	out[1] = (uint8_t)(body_len >> 16);
	out[2] = (uint8_t)(body_len >> 8);
	out[3] = (uint8_t)body_len;
}

uint8_t *frame_pack(const Hotline__V1__Frame *frame, size_t *out_len)
{
	size_t body_len = hotline__v1__frame__get_packed_size(frame);
	uint8_t *buf;

	*out_len = 0;
	/* No peer accepts more than FRAME_MAX_LIMIT, so never build such a frame. */
	if (body_len > FRAME_MAX_LIMIT)
		return NULL;
	buf = malloc(FRAME_HEADER_LEN + body_len);
	if (buf == NULL)
		return NULL;
	frame_put_header(buf, (uint32_t)body_len);
	if (hotline__v1__frame__pack(frame, buf + FRAME_HEADER_LEN) != body_len) {
		free(buf);
		return NULL;
	}
	*out_len = FRAME_HEADER_LEN + body_len;
	return buf;
}

/* Reads a base-128 varint of at most max_bytes from p[*at..len). */
static int wire_varint(const uint8_t *p, size_t len, size_t *at, unsigned max_bytes,
		       uint64_t *value)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < max_bytes && *at < len; i++) {
		uint8_t b = p[(*at)++];
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*value = v;
			return 0;
		}
	}
	return -1;
}

/* The wire type a field of this protobuf-c type must arrive with. */
static unsigned wire_type_of(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 1;
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return 5;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return 2;
	default:
		return 0;
	}
}

int frame_ticket_scan(const uint8_t *ticket, size_t len, const uint8_t **no, size_t *no_len)
{
	const ProtobufCMessageDescriptor *d = &hotline__v1__ticket__descriptor;
	size_t at = 0;

	*no = NULL;
	*no_len = 0;

	while (at < len) {
		uint64_t key, n;
		/* protobuf-c reads tags and lengths as 32-bit varints */
		if (wire_varint(ticket, len, &at, 5, &key) != 0 || key > UINT32_MAX)
			return 0;
		uint32_t number = (uint32_t)(key >> 3);
		unsigned wire = (unsigned)(key & 7);
		if (number == 0 || number > 536870911u)
			return 0;
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field(d, (unsigned)number);
		/* Ticket has no repeated (packed) or message fields; a known field
		 * of another wire type would make protobuf-c refuse the whole. */
		if (f && (f->label == PROTOBUF_C_LABEL_REPEATED ||
			  f->type == PROTOBUF_C_TYPE_MESSAGE || wire_type_of(f->type) != wire))
			return 0;
		switch (wire) {
		case 0:
			if (wire_varint(ticket, len, &at, 10, &n) != 0)
				return 0;
			break;
		case 1:
		case 5:
			n = wire == 1 ? 8 : 4;
			if (len - at < n)
				return 0;
			at += n;
			break;
		case 2:
			if (wire_varint(ticket, len, &at, 5, &n) != 0 || n > UINT32_MAX ||
			    len - at < n)
				return 0;
			if (number == 1) { /* the last one counts, as for any parser */
				*no = ticket + at;
				*no_len = (size_t)n;
			}
			at += n;
			break;
		default: /* groups (3, 4) and 6, 7: nothing here sends them */
			return 0;
		}
	}
	return 1;
}

int frame_ticket_check(const uint8_t *ticket, size_t len, const char *ticket_no)
{
	const uint8_t *no;
	size_t no_len;
	return frame_ticket_scan(ticket, len, &no, &no_len) && no && ticket_no &&
	       strlen(ticket_no) == no_len && memcmp(no, ticket_no, no_len) == 0;
}

/* Frame field 6 (ticket), wire type 2: (6 << 3) | 2 */
#define FRAME_TICKET_TAG 0x32u

static size_t varint_size(size_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t frame_ticket_size(size_t len)
{
	if (len > FRAME_MAX_LIMIT - 16)
		return 0;
	return FRAME_HEADER_LEN + 1 + varint_size(len) + len;
}

size_t frame_put_ticket(uint8_t *out, const uint8_t *ticket, size_t len)
{
	size_t at = FRAME_HEADER_LEN, v = len;
	frame_put_header(out, (uint32_t)(1 + varint_size(len) + len));
	out[at++] = FRAME_TICKET_TAG;
	for (; v >= 0x80; v >>= 7)
		out[at++] = (uint8_t)(v | 0x80);
	out[at++] = (uint8_t)v;
	if (len)
		memcpy(out + at, ticket, len);
	return at + len;
}
