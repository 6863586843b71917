/*
 * pbwire.c - refuses serialized protobuf whose string fields hold a NUL byte.
 *
 * Owns: one generic walk of the protobuf wire format driven by protobuf-c
 * descriptors: tags, the four wire types proto3 uses, nested messages by
 * their own descriptors, and the dotted field path of a fault. Reads tags and
 * lengths exactly as protobuf-c's unpack does (or refuses where it is laxer),
 * so that what it checks is what protobuf-c will unpack.
 * Never: allocates, unpacks, reads past len, or calls strlen on wire bytes
 * (only on descriptor names). Callers: daemon/conn.c, tests, fuzzers.
 */
#include "pbwire.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* The largest field number protobuf allows (2^29 - 1). */
#define PBWIRE_MAX_FIELD 536870911u

/* The walk's state: the path of fields from the top, kept for the report only. */
struct pbwire_walk {
	const ProtobufCFieldDescriptor *path[PBWIRE_MAX_DEPTH + 1];
	unsigned path_len; /* entries of path naming the fault */
};

/*
 * Reads a base-128 varint of at most max_bytes from p[*at..len) into *value.
 * Returns false when it is unterminated within max_bytes or within len.
 */
static bool pbwire_varint(const uint8_t *p, size_t len, size_t *at, unsigned max_bytes,
			  uint64_t *value)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < max_bytes && *at < len; i++) {
		uint8_t b = p[(*at)++];

		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*value = v;
			return true;
		}
	}
	return false;
}

/* The wire type a single value of this protobuf-c type is sent with. */
static unsigned pbwire_wire_type_of(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return PROTOBUF_C_WIRE_TYPE_64BIT;
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return PROTOBUF_C_WIRE_TYPE_32BIT;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
	default: /* int32, sint32, uint32, int64, sint64, uint64, bool, enum */
		return PROTOBUF_C_WIRE_TYPE_VARINT;
	}
}

/* True when field may arrive with wire type wire (protobuf-c refuses the rest). */
static bool pbwire_wire_type_ok(const ProtobufCFieldDescriptor *field, unsigned wire)
{
	unsigned want = pbwire_wire_type_of(field->type);

	if (wire == want)
		return true;
	/* A repeated scalar may come packed: one length-delimited payload. */
	return field->label == PROTOBUF_C_LABEL_REPEATED &&
	       want != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED &&
	       wire == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
}

/* Records where the fault is (depth fields of path, plus field when known). */
static int pbwire_fault(struct pbwire_walk *walk, unsigned depth,
			const ProtobufCFieldDescriptor *field, int status)
{
	walk->path_len = depth;
	if (field != NULL)
		walk->path[walk->path_len++] = field;
	return status;
}

/*
 * Walks data[0..len), a message of type desc found depth levels below the
 * top (walk->path[0..depth) are the fields leading to it). Returns a
 * pbwire_status; on a fault walk->path_len says how much of path names it.
 */
static int pbwire_walk_message(struct pbwire_walk *walk, const ProtobufCMessageDescriptor *desc,
			       const uint8_t *data, size_t len, unsigned depth)
{
	size_t at = 0;

	while (at < len) {
		const ProtobufCFieldDescriptor *field;
		uint64_t key, value;
		unsigned wire;

		/* protobuf-c reads a tag of at most 5 bytes; its number is key >> 3 */
		if (!pbwire_varint(data, len, &at, 5, &key))
			return pbwire_fault(walk, depth, NULL, PBWIRE_MALFORMED);
		wire = (unsigned)(key & 7);
		if (key >> 3 == 0 || key >> 3 > PBWIRE_MAX_FIELD)
			return pbwire_fault(walk, depth, NULL, PBWIRE_MALFORMED);
		field = protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3));
		if (field != NULL && !pbwire_wire_type_ok(field, wire))
			return pbwire_fault(walk, depth, field, PBWIRE_MALFORMED);

		switch (wire) {
		case PROTOBUF_C_WIRE_TYPE_VARINT:
			if (!pbwire_varint(data, len, &at, 10, &value))
				return pbwire_fault(walk, depth, field, PBWIRE_MALFORMED);
			break;
		case PROTOBUF_C_WIRE_TYPE_64BIT:
		case PROTOBUF_C_WIRE_TYPE_32BIT:
			value = wire == PROTOBUF_C_WIRE_TYPE_64BIT ? 8 : 4;
			if (len - at < value)
				return pbwire_fault(walk, depth, field, PBWIRE_MALFORMED);
			at += (size_t)value;
			break;
		case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED: {
			const uint8_t *payload;

			/* as protobuf-c: a 5-byte length at most, never above INT_MAX */
			if (!pbwire_varint(data, len, &at, 5, &value) || value > INT_MAX ||
			    value > len - at)
				return pbwire_fault(walk, depth, field, PBWIRE_MALFORMED);
			payload = data + at;
			at += (size_t)value;
			if (field == NULL)
				break; /* unknown: kept as bytes, never a C string */
			if (field->type == PROTOBUF_C_TYPE_STRING) {
				if (memchr(payload, 0, (size_t)value) != NULL)
					return pbwire_fault(walk, depth, field, PBWIRE_NUL);
			} else if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
				int status;

				if (depth >= PBWIRE_MAX_DEPTH || field->descriptor == NULL)
					return pbwire_fault(walk, depth, field, PBWIRE_MALFORMED);
				walk->path[depth] = field;
				status = pbwire_walk_message(walk, field->descriptor, payload,
							     (size_t)value, depth + 1);
				if (status != PBWIRE_OK)
					return status;
			}
			/* bytes, and packed repeated scalars: nothing to check */
			break;
		}
		default: /* groups (3, 4) and the undefined 6, 7 */
			return pbwire_fault(walk, depth, field, PBWIRE_MALFORMED);
		}
	}
	return PBWIRE_OK;
}

/* Writes the dotted names of path[0..path_len) into where, cut to fit. */
static void pbwire_where(const struct pbwire_walk *walk, char *where, size_t wherelen)
{
	size_t used = 0;

	if (where == NULL || wherelen == 0)
		return;
	for (unsigned i = 0; i < walk->path_len && used + 1 < wherelen; i++) {
		const char *name = walk->path[i]->name;
		size_t name_len = strlen(name); /* a descriptor's name, not wire bytes */

		if (i > 0)
			where[used++] = '.';
		if (name_len > wherelen - 1 - used)
			name_len = wherelen - 1 - used;
		memcpy(where + used, name, name_len);
		used += name_len;
	}
	where[used] = '\0';
}

int pbwire_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
			 char *where, size_t wherelen)
{
	struct pbwire_walk walk;
	int status;

	walk.path_len = 0;
	if (desc == NULL || (data == NULL && len > 0))
		status = PBWIRE_MALFORMED;
	else
		status = pbwire_walk_message(&walk, desc, data, len, 0);
	if (status == PBWIRE_OK)
		walk.path_len = 0;
	pbwire_where(&walk, where, wherelen);
	return status;
}
