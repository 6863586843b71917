/*
 * pgtext.h - reading PostgreSQL's text output of numbers and booleans, strictly.
 *
 * Owns: turning a result value ("42", "-7", "t", "3.25") into a C value with every
 * byte checked (no trailing junk, no overflow), so that a column read in the
 * wrong place, or a type changed under a migration, is an error rather than a
 * quiet 0 (atoi's answer). Never: does I/O.
 * Callers: daemon/ (every statement result), tests/unit/test_pgtext.c.
 */
#ifndef HOTLINE_PGTEXT_H
#define HOTLINE_PGTEXT_H

#include <stdbool.h>
#include <stdint.h>

/* Each returns 0 with *out set, or -1 (out untouched) when s is not one. */
int pgtext_int64(const char *s, int64_t *out) __attribute__((warn_unused_result));
int pgtext_int32(const char *s, int32_t *out) __attribute__((warn_unused_result));
/* int4 columns that are counts: 0..UINT32_MAX. */
int pgtext_uint32(const char *s, uint32_t *out) __attribute__((warn_unused_result));
/* "t" or "f", as PostgreSQL writes a boolean. */
int pgtext_bool(const char *s, bool *out) __attribute__((warn_unused_result));
/* A float8 as PostgreSQL writes it (also "Infinity", "NaN" are refused). */
int pgtext_double(const char *s, double *out) __attribute__((warn_unused_result));

#endif
