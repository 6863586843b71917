/*
 * text.h - white space as hand-written operator files have it.
 *
 * Owns: the one definition of "white space" for the line-oriented files an
 * operator writes (rule files, calendars): space, tab and the full-width space
 * U+3000, which Chinese input methods produce, and words split at it. Pure.
 * Callers: lib/linefile.c, lib/rules.c, lib/calendar.c.
 */
#ifndef HOTLINE_TEXT_H
#define HOTLINE_TEXT_H

#include <stddef.h>

/* Bytes of the white space starting at s (before end), or 0. */
size_t text_space_at(const char *s, const char *end);

/* Bytes of the white space ending at end (after start), or 0. */
size_t text_space_before(const char *start, const char *end);

/* Moves *s forward and *e back past white space. */
void text_trim(const char **s, const char **e);

/*
 * Splits the first word off *s..e (*s already past white space): returns the
 * word's end and moves *s past the white space after it.
 */
const char *text_next_word(const char **s, const char *e);

#endif
