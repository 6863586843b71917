/*
 * pbwire.h - a check of serialized protobuf that protobuf-c cannot make itself.
 *
 * Owns: walking the wire format of a message generically, by its protobuf-c
 * descriptor, to refuse string fields that hold a NUL byte. protobuf-c unpacks
 * a `string` into a NUL-terminated char *, so "X\0y" would silently become "X"
 * (a new intake acked as a duplicate of X, hidden text behind a NUL dropped).
 * Never: allocates, unpacks, copies, or calls strlen on wire bytes; one linear
 * pass, bounded recursion. Callers: daemon/conn.c on every received Frame,
 * tests/unit/test_pbwire.c, tests/fuzz/fuzz_pbwire.c.
 */
#ifndef HOTLINE_PBWIRE_H
#define HOTLINE_PBWIRE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

enum pbwire_status {
	PBWIRE_OK = 0,	      /* well-formed; no string field holds a NUL */
	PBWIRE_NUL = -1,      /* a string field holds a NUL byte: refuse the message */
	PBWIRE_MALFORMED = -2 /* not a well-formed message of this type (see below) */
};

/* Messages nested deeper than this below the top one are PBWIRE_MALFORMED. */
#define PBWIRE_MAX_DEPTH 32

/*
 * Checks data[0..len), a serialized message of type desc, in one pass.
 *
 * Every occurrence of every field that desc declares as `string` is checked
 * with memchr, at any depth: in nested messages (walked with the field's own
 * descriptor), in repeated fields, in oneof members, and also occurrences that
 * protobuf-c would later drop (a non-repeated field sent twice keeps the last;
 * an earlier oneof member is replaced), which is stricter than needed and
 * fine. `bytes` fields, packed repeated scalars and unknown fields of any wire
 * type are skipped unread, so a NUL in them is fine.
 *
 * Returns:
 *   PBWIRE_OK        every string field is free of NUL bytes, and the bytes are
 *                    well-formed as below.
 *   PBWIRE_NUL       a string field holds a NUL; where names the first one.
 *   PBWIRE_MALFORMED a tag of more than 5 bytes or of field number 0 or above
 *                    2^29-1, a varint of more than 10 bytes, a length of more
 *                    than 5 bytes or above INT_MAX, anything running past len,
 *                    wire type 3, 4, 6 or 7 (groups have no place in proto3),
 *                    a known field with a wire type other than its declared
 *                    type's (a repeated scalar may also come packed, as one
 *                    length-delimited payload), or a message nested more than
 *                    PBWIRE_MAX_DEPTH levels down. where names the known
 *                    field at fault, or else the message the fault is in
 *                    ("" for the top one).
 *
 * where (may be NULL when wherelen is 0) receives the dotted path of proto
 * field names from desc down, e.g. "intake.external_id" or
 * "dept_action.reply.content", cut to wherelen - 1 bytes and always
 * NUL-terminated; "" on PBWIRE_OK. A repeated field's path has no index.
 *
 * The guarantee: when this returns PBWIRE_OK and protobuf_c_message_unpack(desc,
 * ..., len, data) of the same bytes succeeds, then for every string field of
 * the unpacked message, at every depth (nested and merged messages, repeated
 * elements, the set oneof member), strlen() of the char * equals the length it
 * had on the wire: nothing was cut at a NUL. This holds because tags, field
 * numbers, wire types and lengths are read exactly as protobuf-c 1.4 reads
 * them, or refused where protobuf-c is laxer (field number 0 written in two
 * bytes, numbers above 2^29-1, a bool sent with a wrong wire type).
 * PBWIRE_OK does not promise that the unpack succeeds: packed repeated
 * payloads are not looked into, and protobuf-c 1.4 fails to merge a
 * sub-message sent twice outside a oneof when neither copy sets its oneof.
 * hotline.proto has neither (every sub-message is a oneof member, which is
 * replaced, not merged), so OK Frame bytes always unpack, memory permitting;
 * tests/fuzz/fuzz_pbwire.c holds the check to that.
 */
int pbwire_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
			 char *where, size_t wherelen) __attribute__((warn_unused_result));

#endif
