/*
 * pgarray.c - the array encodings behind pgarray.h. The binary layout
 * (PostgreSQL's array_send): ndim, has-nulls flag, element type OID, length,
 * lower bound (int32 each, big-endian), then per element its byte length (-1:
 * NULL) and its value, big-endian.
 */
#include "pgarray.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BINARY_HEADER 20

static bool reserve(struct pgarray *a, size_t extra)
{
	if (a->oom)
		return false;
	if (a->len + extra + 1 <= a->cap)
		return true;
	size_t cap = a->cap ? a->cap : 256;
	while (cap < a->len + extra + 1)
		cap *= 2;
	char *grown = realloc(a->data, cap);
	if (!grown) {
		a->oom = true;
		return false;
	}
	a->data = grown;
	a->cap = cap;
	return true;
}

static void put(struct pgarray *a, const void *bytes, size_t n)
{
	if (!reserve(a, n))
		return;
	memcpy(a->data + a->len, bytes, n);
	a->len += n;
	a->data[a->len] = '\0';
}

static void put_be(struct pgarray *a, uint64_t v, int bytes)
{
	char b[8];
	for (int i = 0; i < bytes; i++)
		b[i] = (char)(v >> (8 * (bytes - 1 - i)));
	put(a, b, (size_t)bytes);
}

void pgarray_begin_text(struct pgarray *a)
{
	a->len = 0;
	a->count = 0;
	a->binary = false;
	a->has_null = false;
	a->oom = false;
	put(a, "{", 1);
}

void pgarray_begin_binary(struct pgarray *a, uint32_t element_oid)
{
	a->len = 0;
	a->count = 0;
	a->binary = true;
	a->has_null = false;
	a->oom = false;
	a->oid = element_oid;
	if (reserve(a, BINARY_HEADER))
		a->len = BINARY_HEADER; /* filled in by pgarray_end */
}

static void separator(struct pgarray *a)
{
	if (a->count++ > 0)
		put(a, ",", 1);
}

void pgarray_text(struct pgarray *a, const char *s, size_t len)
{
	separator(a);
	put(a, "\"", 1);
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			put(a, s + start, i - start);
			put(a, "\\", 1);
			start = i;
		}
	}
	put(a, s + start, len - start);
	put(a, "\"", 1);
}

void pgarray_text_null(struct pgarray *a)
{
	separator(a);
	put(a, "NULL", 4);
}

void pgarray_text_int64(struct pgarray *a, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);
	separator(a);
	put(a, num, (size_t)n);
}

void pgarray_int8(struct pgarray *a, int64_t v)
{
	a->count++;
	put_be(a, 8, 4);
	put_be(a, (uint64_t)v, 8);
}

void pgarray_int2(struct pgarray *a, int16_t v)
{
	a->count++;
	put_be(a, 2, 4);
	put_be(a, (uint16_t)v, 2);
}

void pgarray_float8(struct pgarray *a, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	a->count++;
	put_be(a, 8, 4);
	put_be(a, bits, 8);
}

void pgarray_null(struct pgarray *a)
{
	a->count++;
	a->has_null = true;
	put_be(a, 0xffffffffu, 4);
}

int pgarray_end(struct pgarray *a)
{
	if (a->oom)
		return -1;
	if (!a->binary) {
		put(a, "}", 1);
		return a->oom ? -1 : 0;
	}
	uint32_t header[] = { 1, a->has_null, a->oid, (uint32_t)a->count, 1 };
	for (size_t i = 0; i < sizeof(header) / sizeof(header[0]); i++)
		for (int k = 0; k < 4; k++)
			a->data[4 * i + (size_t)k] = (char)(header[i] >> (8 * (3 - k)));
	return 0;
}

void pgarray_free(struct pgarray *a)
{
	free(a->data);
	memset(a, 0, sizeof(*a));
}
