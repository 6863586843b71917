/*
 * pgarray.h - PostgreSQL one-dimensional arrays for statement parameters.
 *
 * Owns: writing arrays as PostgreSQL reads them, in its text form ('{"a","b"}',
 * every element quoted and escaped, NULL as the bare word) and in its binary form
 * for fixed-width numbers (int8, int2, float8: no printing here, no parsing there,
 * and a double arrives bit for bit). One growable buffer per array. Never: does
 * I/O, or knows what the arrays mean.
 * Callers: daemon/store_pg.c (intake batches, the feeds mirror), daemon/relay.c
 * (outbox ids), tests/unit/test_pgarray.c.
 */
#ifndef HOTLINE_PGARRAY_H
#define HOTLINE_PGARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Element type OIDs of the binary arrays (pg_type.oid). */
#define PGARRAY_INT2 21
#define PGARRAY_INT8 20
#define PGARRAY_FLOAT8 701

struct pgarray {
	char *data;
	size_t len, cap;
	size_t count;  /* elements so far */
	bool binary;   /* binary form (pgarray_begin_binary) */
	bool has_null; /* binary: a NULL was appended */
	bool oom;      /* an append ran out of memory: the array is unusable */
	uint32_t oid;  /* binary: the element type */
};

/* Starts an empty array (reusing a's buffer). The text form is NUL-terminated. */
void pgarray_begin_text(struct pgarray *a);
void pgarray_begin_binary(struct pgarray *a, uint32_t element_oid);

/* Text form: an element s[0..len) (any bytes but NUL), quoted; or a NULL. */
void pgarray_text(struct pgarray *a, const char *s, size_t len);
void pgarray_text_null(struct pgarray *a);
/* Text form: a number (for id lists). */
void pgarray_text_int64(struct pgarray *a, int64_t v);

/* Binary form: one element of the array's type; or a NULL. */
void pgarray_int8(struct pgarray *a, int64_t v);
void pgarray_int2(struct pgarray *a, int16_t v);
void pgarray_float8(struct pgarray *a, double v);
void pgarray_null(struct pgarray *a);

/*
 * Closes the array: its bytes are a->data[0..a->len) (the text form also ends in
 * a NUL). Returns 0, or -1 when an append ran out of memory.
 */
int pgarray_end(struct pgarray *a) __attribute__((warn_unused_result));

void pgarray_free(struct pgarray *a);

#endif
