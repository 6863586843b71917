/*
 * fuzz_pbwire.c - libFuzzer target for lib/pbwire.c.
 *
 * Owns: holding pbwire_check_strings() to a reference written here the plain,
 * slow way (fields found by a linear search, wire types from a bitmask, every
 * string occurrence recorded with its dotted path), on the Frame schema and on
 * the unit tests' own schema (recursion, repeated, packed: pbwire_test.proto).
 * Oracles: OK only when the reference finds the bytes well-formed and every
 * string free of NUL, and the other way round; NUL only when the reference
 * saw a NUL in a string at the reported path; MALFORMED only when the
 * reference did; a shorter where is a prefix of the longer one. After OK, a
 * Frame must unpack, and every non-empty string protobuf-c unpacked (at any
 * depth, the set oneof member) must equal, bytes and length, a string the
 * reference saw at that path: nothing was cut at a NUL.
 * Never: does I/O. Input: the serialized message. Run as in README.md.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hotline.pb-c.h"
#include "pbwire.h"
#include "pbwire_test.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* PBWIRE_MAX_DEPTH restated, and the longest dotted path either schema can have. */
#define REF_MAX_DEPTH 32
#define REF_PATH_MAX 1024
/* Above this many strings, skip the (quadratic) unpacked-string oracle. */
#define REF_MATCH_MAX 512

struct ref_string {
	size_t path_at; /* offset of its NUL-terminated path in ref.paths */
	const uint8_t *bytes;
	size_t len;
};

struct ref {
	int malformed;	/* some part of the input is not well-formed */
	int nul;	/* some string field holds a NUL */
	int where_seen; /* ... one of them at the path pbwire reported */
	const char *where;
	char path[REF_PATH_MAX];
	struct ref_string *strings;
	size_t n_strings, cap_strings;
	char *paths;
	size_t paths_len, paths_cap;
};

static void ref_record(struct ref *ref, const uint8_t *bytes, size_t len)
{
	size_t path_len = strlen(ref->path) + 1;

	if (ref->n_strings == ref->cap_strings) {
		ref->cap_strings = ref->cap_strings ? ref->cap_strings * 2 : 64;
		ref->strings = realloc(ref->strings, ref->cap_strings * sizeof(*ref->strings));
		if (ref->strings == NULL)
			abort();
	}
	while (ref->paths_len + path_len > ref->paths_cap) {
		ref->paths_cap = ref->paths_cap ? ref->paths_cap * 2 : 4096;
		ref->paths = realloc(ref->paths, ref->paths_cap);
		if (ref->paths == NULL)
			abort();
	}
	memcpy(ref->paths + ref->paths_len, ref->path, path_len);
	ref->strings[ref->n_strings].path_at = ref->paths_len;
	ref->strings[ref->n_strings].bytes = bytes;
	ref->strings[ref->n_strings].len = len;
	ref->n_strings++;
	ref->paths_len += path_len;
}

/* A varint of at most max_bytes from p[*at..end), one byte at a time. */
static int ref_varint(const uint8_t *p, size_t end, size_t *at, int max_bytes, uint64_t *out)
{
	uint64_t value = 0;

	for (int n = 0;; n++) {
		if (*at >= end || n == max_bytes)
			return 0;
		value += (uint64_t)(p[*at] & 127) << (7 * n);
		*at += 1;
		if (p[*at - 1] < 128) {
			*out = value;
			return 1;
		}
	}
}

static const ProtobufCFieldDescriptor *ref_field(const ProtobufCMessageDescriptor *desc,
						 uint64_t number)
{
	for (unsigned i = 0; i < desc->n_fields; i++) {
		if (desc->fields[i].id == number)
			return &desc->fields[i];
	}
	return NULL;
}

/* Bit w is set when a known field may come with wire type w. */
static unsigned ref_allowed(const ProtobufCFieldDescriptor *field)
{
	unsigned bits;

	switch (field->type) {
	case PROTOBUF_C_TYPE_DOUBLE:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
		bits = 1u << 1;
		break;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_SFIXED32:
		bits = 1u << 5;
		break;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return 1u << 2;
	default:
		bits = 1u << 0;
		break;
	}
	if (field->label == PROTOBUF_C_LABEL_REPEATED)
		bits |= 1u << 2; /* packed */
	return bits;
}

/* Appends ".name" (or "name" at the top) to ref->path; returns the old length. */
static size_t ref_push(struct ref *ref, const char *name)
{
	size_t old = strlen(ref->path);

	if (old + 1 + strlen(name) + 1 > sizeof(ref->path))
		abort(); /* REF_PATH_MAX too small for the schema */
	if (old > 0)
		strcat(ref->path, ".");
	strcat(ref->path, name);
	return old;
}

/*
 * Reads a message of desc, depth levels down. Stops at the first fault in
 * it (marking ref->malformed) but goes on with the enclosing message.
 */
static void ref_message(struct ref *ref, const ProtobufCMessageDescriptor *desc, const uint8_t *p,
			size_t len, int depth)
{
	size_t at = 0;

	while (at < len) {
		const ProtobufCFieldDescriptor *field;
		uint64_t key, number, n;
		unsigned wire;

		if (!ref_varint(p, len, &at, 5, &key))
			goto malformed;
		number = key / 8;
		wire = (unsigned)(key % 8);
		if (number < 1 || number >= (1u << 29))
			goto malformed;
		field = ref_field(desc, number);
		if (field != NULL && !(ref_allowed(field) & (1u << wire)))
			goto malformed;
		if (wire == 0) {
			if (!ref_varint(p, len, &at, 10, &n))
				goto malformed;
		} else if (wire == 1 || wire == 5) {
			size_t need = wire == 1 ? 8 : 4;

			if (len - at < need)
				goto malformed;
			at += need;
		} else if (wire == 2) {
			const uint8_t *payload;
			size_t old;

			if (!ref_varint(p, len, &at, 5, &n) || n > INT_MAX || at + n > len)
				goto malformed;
			payload = p + at;
			at += n;
			if (field == NULL)
				continue;
			if (field->type == PROTOBUF_C_TYPE_STRING) {
				old = ref_push(ref, field->name);
				ref_record(ref, payload, n);
				for (size_t i = 0; i < n; i++) {
					if (payload[i] == 0) {
						ref->nul = 1;
						if (strcmp(ref->path, ref->where) == 0)
							ref->where_seen = 1;
					}
				}
				ref->path[old] = '\0';
			} else if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
				if (depth == REF_MAX_DEPTH)
					goto malformed;
				old = ref_push(ref, field->name);
				ref_message(ref, field->descriptor, payload, n, depth + 1);
				ref->path[old] = '\0';
			}
		} else {
			goto malformed;
		}
	}
	return;
malformed:
	ref->malformed = 1;
}

/* True when the reference saw a string at path with exactly these bytes. */
static int ref_has(const struct ref *ref, const char *path, const char *s, size_t len)
{
	for (size_t i = 0; i < ref->n_strings; i++) {
		const struct ref_string *r = &ref->strings[i];

		if (r->len == len && strcmp(ref->paths + r->path_at, path) == 0 &&
		    memcmp(r->bytes, s, len) == 0)
			return 1;
	}
	return 0;
}

static void check_unpacked_string(struct ref *ref, const char *s)
{
	/* "" may be a field that was never sent; a cut string is never empty
	 * here without the reference having seen its NUL */
	if (s != NULL && s[0] != '\0' && !ref_has(ref, ref->path, s, strlen(s)))
		abort(); /* protobuf-c holds a string no occurrence had: cut at a NUL */
}

/* Walks an unpacked message by its descriptor: nested, repeated, set oneof members. */
static void check_unpacked(struct ref *ref, const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *field = &desc->fields[i];
		const char *member = (const char *)msg + field->offset;
		size_t count = 1, old;
		const void *const *items = (const void *const *)(const void *)member;

		if (field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(const void *)((const char *)msg +
						      field->quantifier_offset) != field->id)
			continue;
		if (field->label == PROTOBUF_C_LABEL_REPEATED) {
			count = *(const size_t *)(const void *)((const char *)msg +
								field->quantifier_offset);
			items = *(const void *const *const *)(const void *)member;
		}
		old = ref_push(ref, field->name);
		for (size_t k = 0; k < count; k++) {
			if (field->type == PROTOBUF_C_TYPE_STRING)
				check_unpacked_string(ref, items[k]);
			else if (items[k] != NULL)
				check_unpacked(ref, items[k]);
		}
		ref->path[old] = '\0';
	}
}

static void check_schema(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t size,
			 int must_unpack)
{
	static const uint8_t empty[1];
	char where[REF_PATH_MAX], short_where[32];
	struct ref ref;
	ProtobufCMessage *msg;
	int status, short_status;
	size_t short_len;

	status = pbwire_check_strings(desc, data, size, where, sizeof(where));
	if (memchr(where, 0, sizeof(where)) == NULL)
		abort();

	memset(&ref, 0, sizeof(ref));
	ref.where = where;
	ref_message(&ref, desc, data, size, 0);

	switch (status) {
	case PBWIRE_OK:
		if (ref.malformed || ref.nul || where[0] != '\0')
			abort();
		break;
	case PBWIRE_NUL:
		if (!ref.nul || !ref.where_seen)
			abort();
		break;
	case PBWIRE_MALFORMED:
		if (!ref.malformed)
			abort();
		break;
	default:
		abort();
	}
	if (!ref.malformed && status != (ref.nul ? PBWIRE_NUL : PBWIRE_OK))
		abort();

	/* a shorter where: the same answer, cut */
	short_len = size > 0 ? 1 + data[size - 1] % sizeof(short_where) : 1;
	short_status = pbwire_check_strings(desc, data, size, short_where, short_len);
	if (short_status != status || strlen(short_where) > short_len - 1 ||
	    strncmp(short_where, where, short_len - 1) != 0)
		abort();

	msg = protobuf_c_message_unpack(desc, NULL, size, size ? data : empty);
	if (status == PBWIRE_OK && must_unpack && msg == NULL)
		abort(); /* protobuf-c would refuse what the check let through */
	if (status == PBWIRE_OK && msg != NULL && ref.n_strings <= REF_MATCH_MAX) {
		ref.path[0] = '\0';
		check_unpacked(&ref, msg);
	}
	if (msg != NULL)
		protobuf_c_message_free_unpacked(msg, NULL);
	free(ref.strings);
	free(ref.paths);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Frame: no packed fields, no merged sub-messages, so OK must unpack */
	check_schema(&hotline__v1__frame__descriptor, data, size, 1);
	check_schema(&pbwire__test__node__descriptor, data, size, 0);
	return 0;
}
