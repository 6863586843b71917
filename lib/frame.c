/*
 * frame.c - the length-prefixed frame codec of the binary protocol.
 *
 * Owns: cutting a byte stream into frames (4-byte big-endian length + body),
 * refusing frames above the limit before buffering them, and packing/unpacking
 * hotline.v1.Frame. Memory held by a decoder grows with the bytes actually
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
