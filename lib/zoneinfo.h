/*
 * zoneinfo.h - whether a time zone name is one this system knows.
 *
 * Owns: the check behind [postgres] timezone: the name's syntax (letters, digits,
 * '/', '_', '+', '-'; no leading '/', no ".." component) and that $TZDIR/NAME
 * (default /usr/share/zoneinfo/NAME, Debian's tzdata, which PostgreSQL uses too)
 * is a regular file starting with "TZif". A zone PostgreSQL does not know made
 * every intake fail with INTERNAL while --check-config said the file was valid.
 * Never: parses the zone file, or opens anything outside the zoneinfo directory.
 * Callers: lib/config.c (validation), tests/unit/test_config.c.
 */
#ifndef HOTLINE_ZONEINFO_H
#define HOTLINE_ZONEINFO_H

#include <stddef.h>

/* Longest name accepted, bytes. */
#define ZONEINFO_NAME_MAX 255

/*
 * Returns 0 when name is a known time zone, or -1 with a reason naming it in err
 * (without an option name): not a zone name, or not known to this system (naming the
 * file that is missing or not a zone file).
 */
int zoneinfo_check(const char *name, char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
