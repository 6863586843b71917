/*
 * cli_table.h - readable output of the command-line tools: aligned tables
 * and "key  value" fields, for text that is often Chinese.
 *
 * Owns: how many terminal columns a UTF-8 text takes (East Asian wide and
 * fullwidth characters 2, combining marks and zero-width characters 0, the
 * rest 1: a small wcwidth() of our own, so the output does not depend on the
 * locale the tool runs in); cells made safe to print (control characters,
 * escape sequences among them, never reach the terminal; line breaks become
 * blanks) and clipped to a width with "..."; a table printed with its
 * columns aligned.
 * Never: reads the terminal's size or locale, or prints a cell wider than
 * its column's limit.
 * Callers: tools/agent_api.c, tools/agent_print.c, tests/unit/test_cli_table.c.
 */
#ifndef HOTLINE_CLI_TABLE_H
#define HOTLINE_CLI_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Terminal columns of one code point: 0, 1 or 2. */
int cli_char_width(uint32_t cp);

/* Terminal columns of UTF-8 text as cli_cell_text() shows it. */
size_t cli_text_width(const char *s);

/*
 * s made into one table cell: every control character (C0, DEL, C1) becomes
 * a blank (line breaks and tabs) or '?', and text wider than max columns is
 * cut to at most max - 3 and "..." (max 0: no limit). NULL becomes "-".
 * Returns a malloc'd string (fatal when out of memory).
 */
char *cli_cell_text(const char *s, size_t max);

/* A table: one header row, then rows; each column clipped to its own width. */
struct cli_table {
	size_t ncols;
	size_t nrows; /* the header row included */
	size_t cap;
	char **cells;	   /* nrows * ncols, cli_cell_text()'s */
	const size_t *max; /* per column, 0 = no limit; NULL: none clipped */
};

void cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers,
		    const size_t *max);
/* Adds a row of ncols cells (a NULL cell is shown as "-"). */
void cli_table_row(struct cli_table *t, const char *const *cells);
/* Prints the table: columns two blanks apart, the last one not padded. */
void cli_table_print(const struct cli_table *t, FILE *out);
void cli_table_free(struct cli_table *t);

/*
 * "key  value" with the key padded to key_width columns; a value's line
 * breaks go on in lines indented under it, its other controls are shown as
 * in cli_cell_text(), NULL as "-".
 */
void cli_print_field(FILE *out, const char *key, size_t key_width, const char *value);

#endif
