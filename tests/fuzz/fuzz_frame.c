/*
 * fuzz_frame.c - libFuzzer target for lib/frame.c.
 *
 * Owns: feeding arbitrary bytes through the frame decoder in chunks whose sizes
 * the input chooses, checking the frames against a one-shot reference split of
 * the same bytes, and unpacking (and re-packing) every frame that comes out.
 * Never: does I/O. Input layout: byte 0 picks max_frame, byte 1 seeds the
 * chunk sizes, the rest is the stream. Run as described in README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Chunk sizes 1..64 from a tiny xorshift seeded by the input. */
static size_t next_chunk(uint32_t *seed)
{
	*seed ^= *seed << 13;
	*seed ^= *seed >> 17;
	*seed ^= *seed << 5;
	return 1 + *seed % 64;
}

/*
 * True when m or a message inside it kept unknown fields. protobuf-c keeps
 * them verbatim, malformed ones included (a field number 0, say), and packs
 * them again, so such a message need not survive a re-pack; the daemon never
 * re-packs what a peer sent (it copies the known fields).
 */
static int has_unknown_fields(const ProtobufCMessage *m)
{
	if (m->n_unknown_fields > 0)
		return 1;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
			continue; /* not the member the oneof holds */
		const ProtobufCMessage *sub =
			*(ProtobufCMessage *const *)((const char *)m + f->offset);
		if (sub && has_unknown_fields(sub))
			return 1;
	}
	return 0;
}

/* Re-packing an unpacked frame and unpacking that again must be stable. */
static void check_repack(const Hotline__V1__Frame *frame)
{
	if (has_unknown_fields(&frame->base))
		return;
	Hotline__V1__Frame *again;
	uint8_t *packed, *repacked;
	size_t len, relen;

	packed = frame_pack(frame, &len);
	if (packed == NULL)
		return; /* above FRAME_MAX_LIMIT cannot happen here; allocation failure can */
	again = frame_unpack(packed + FRAME_HEADER_LEN, len - FRAME_HEADER_LEN);
	if (again == NULL || again->msg_case != frame->msg_case)
		abort();
	repacked = frame_pack(again, &relen);
	if (repacked == NULL || relen != len || memcmp(packed, repacked, len) != 0)
		abort();
	free(repacked);
	frame_message_free(again);
	free(packed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = { 0, 1, 16, 300, 4096, 65536 };
	struct frame_decoder dec;
	const uint8_t *stream;
	size_t stream_len, off = 0, ref = 0, max_frame;
	uint32_t seed;
	int dead = 0;

	if (size < 2)
		return 0;
	max_frame = limits[data[0] % (sizeof(limits) / sizeof(limits[0]))];
	seed = 0x9e3779b9u ^ data[1];
	stream = data + 2;
	stream_len = size - 2;

	frame_decoder_init(&dec, max_frame);
	while (off < stream_len && !dead) {
		size_t chunk = next_chunk(&seed), pos = 0;

		if (chunk > stream_len - off)
			chunk = stream_len - off;
		while (pos < chunk) {
			size_t used = 0, body_len, want;
			enum frame_status st;
			const uint8_t *body;
			Hotline__V1__Frame *frame;

			st = frame_decoder_feed(&dec, stream + off + pos, chunk - pos, &used);
			if (used > chunk - pos)
				abort();
			pos += used;
			if (st == FRAME_NEED_MORE) {
				if (pos != chunk)
					abort();
				break;
			}
			if (st != FRAME_READY) {
				dead = 1;
				break;
			}
			/* The reference: the frame must be exactly the next one in stream. */
			body = frame_decoder_body(&dec, &body_len);
			if (body == NULL || stream_len - ref < FRAME_HEADER_LEN)
				abort();
			want = (size_t)stream[ref] << 24 | (size_t)stream[ref + 1] << 16 |
			       (size_t)stream[ref + 2] << 8 | stream[ref + 3];
			if (want != body_len || want > max_frame ||
			    stream_len - ref - FRAME_HEADER_LEN < want ||
			    memcmp(body, stream + ref + FRAME_HEADER_LEN, want) != 0)
				abort();
			ref += FRAME_HEADER_LEN + want;
			if (ref != off + pos)
				abort();

			frame = frame_unpack(body, body_len);
			if (frame != NULL) {
				if (frame->msg_case == HOTLINE__V1__FRAME__MSG__NOT_SET)
					abort();
				check_repack(frame);
				frame_message_free(frame);
			}
		}
		off += pos;
	}
	if (dead) {
		size_t used = 1;

		/* A dead decoder takes nothing more. */
		if (frame_decoder_feed(&dec, data, size, &used) >= 0 || used != 0)
			abort();
	}
	frame_decoder_free(&dec);
	return 0;
}
