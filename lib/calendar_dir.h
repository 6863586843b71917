/*
 * calendar_dir.h - reading a directory of YYYY.cal files into a calendar.
 *
 * Owns: which files of a directory are calendar files (names ending in ".cal",
 * read in name order), reading each one whole, and handing its text to
 * calendar_add_text(). Never: reads the clock, logs, keeps a calendar that is
 * half loaded, or decides what a missing directory means (the caller does:
 * hotlined starts without a calendar, hotlinectl fails). Callers: hotlined at
 * start-up and on SIGHUP, `hotlinectl calendar status`, tests.
 */
#ifndef HOTLINE_CALENDAR_DIR_H
#define HOTLINE_CALENDAR_DIR_H

#include <stddef.h>

#include "calendar.h"

/*
 * Loads every *.cal file of dir into a new calendar: *out (caller frees with
 * calendar_free()), or NULL when dir holds no *.cal file. Files are named in
 * messages and by calendar_year_source() as "dir/NAME".
 * Returns 0, or -1 with *out NULL and the first error in err:
 *   "[calendar] dir DIR: reason" when dir cannot be read; errno is then
 *   scandir()'s, ENOENT when dir does not exist;
 *   "DIR/NAME: reason" when a file cannot be read, "DIR/NAME:LINE: reason" when
 *   it does not parse (calendar_add_text()), "out of memory"; errno is then
 *   EINVAL, never ENOENT, so that a caller may take ENOENT for "no directory".
 */
int calendar_dir_load(const char *dir, struct calendar **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

#endif
