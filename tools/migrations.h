/*
 * migrations.h - the schema migrations compiled into hotlinectl.
 *
 * The table is generated at build time from deploy/sql/NNN_name.sql by
 * deploy/sql/embed.py, sorted by version. Callers: tools/hotlinectl.c.
 */
#ifndef HOTLINE_MIGRATIONS_H
#define HOTLINE_MIGRATIONS_H

#include <stddef.h>

struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration migrations[];
extern const size_t migrations_count;

#endif
