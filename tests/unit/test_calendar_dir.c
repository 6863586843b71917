/*
 * test_calendar_dir.c - unit tests of lib/calendar_dir.c.
 *
 * Owns: that the shipped deploy/calendar loads as hotlined loads it, and the
 * directory cases: no *.cal file (NULL calendar), other files ignored, files
 * read in name order, a file that does not parse ("DIR/NAME:LINE: reason",
 * nothing kept, errno not ENOENT) and a directory that does not exist (errno
 * ENOENT). Scratch directories are made with mkdtemp() under $TMPDIR or /tmp and
 * removed. Needs HOTLINE_SOURCE_ROOT (set by tests/unit/meson.build). Never:
 * reads the clock. Run by `meson test --suite unit`.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "calendar.h"
#include "calendar_dir.h"

struct scratch {
	char dir[256];
	char files[8][384];
	size_t nfiles;
};

static void scratch_make(struct scratch *s)
{
	const char *tmp = getenv("TMPDIR");
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s/calendar-dir-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(s->dir) == NULL)
		fail_msg("mkdtemp %s: %s", s->dir, strerror(errno));
}

static void scratch_write(struct scratch *s, const char *name, const char *text)
{
	assert_true(s->nfiles < 8);
	char path[sizeof(s->files[0])];
	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	memcpy(s->files[s->nfiles++], path, sizeof(path));
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static void scratch_remove(struct scratch *s)
{
	for (size_t i = 0; i < s->nfiles; i++)
		unlink(s->files[i]);
	rmdir(s->dir);
}

static void test_shipped_directory(void **state)
{
	const char *root = getenv("HOTLINE_SOURCE_ROOT");
	assert_non_null(root);
	char dir[256], err[1024] = "", want[1024];
	snprintf(dir, sizeof(dir), "%s/deploy/calendar", root);
	struct calendar *cal = NULL;
	assert_int_equal(calendar_dir_load(dir, &cal, err, sizeof(err)), 0);
	assert_non_null(cal);
	assert_int_equal(calendar_first_year(cal), 2021);
	assert_true(calendar_last_year(cal) >= 2026);
	assert_int_equal(calendar_year_count(cal),
			 (size_t)(calendar_last_year(cal) - calendar_first_year(cal) + 1));
	snprintf(want, sizeof(want), "%s/2026.cal", dir);
	assert_string_equal(calendar_year_source(cal, 2026), want);
	calendar_free(cal);
}

static void test_no_calendar_files(void **state)
{
	struct scratch s;
	scratch_make(&s);
	scratch_write(&s, "README.md", "not a calendar\n");
	scratch_write(&s, ".cal", "year 2021\n"); /* no name before .cal */
	scratch_write(&s, "2021.cal.orig", "year 2021\n");
	struct calendar *cal = (struct calendar *)1;
	char err[1024] = "";
	assert_int_equal(calendar_dir_load(s.dir, &cal, err, sizeof(err)), 0);
	assert_null(cal);
	scratch_remove(&s);
}

static void test_files_and_order(void **state)
{
	struct scratch s;
	scratch_make(&s);
	scratch_write(&s, "b.cal", "year 2022\n");
	scratch_write(&s, "a.cal", "year 2024\nholiday 2024-05-01 劳动节\n");
	scratch_write(&s, "notes.txt", "year 2023\n");
	struct calendar *cal = NULL;
	char err[1024] = "", want[1024];
	assert_int_equal(calendar_dir_load(s.dir, &cal, err, sizeof(err)), 0);
	assert_non_null(cal);
	assert_int_equal(calendar_year_count(cal), 2);
	assert_true(calendar_covers(cal, 2022));
	assert_false(calendar_covers(cal, 2023));
	assert_true(calendar_covers(cal, 2024));
	assert_int_equal(calendar_day_kind(cal, 2024, 5, 1), CALENDAR_HOLIDAY);
	snprintf(want, sizeof(want), "%s/a.cal", s.dir);
	assert_string_equal(calendar_year_source(cal, 2024), want);
	calendar_free(cal);

	/* the same year twice: the second file by name is the one refused */
	scratch_write(&s, "c.cal", "# again\nyear 2022\n");
	cal = (struct calendar *)1;
	assert_int_equal(calendar_dir_load(s.dir, &cal, err, sizeof(err)), -1);
	assert_null(cal);
	snprintf(want, sizeof(want), "%s/c.cal:2: year 2022 is already loaded from %s/b.cal", s.dir,
		 s.dir);
	assert_string_equal(err, want);
	scratch_remove(&s);
}

static void test_bad_file(void **state)
{
	struct scratch s;
	scratch_make(&s);
	scratch_write(&s, "2021.cal", "year 2021\n");
	scratch_write(&s, "2022.cal", "year 2022\n\nholiday 2022-02-30 春节\n");
	struct calendar *cal = (struct calendar *)1;
	char err[1024] = "", want[1024];
	errno = ENOENT; /* a stale errno must not make a bad file look like no directory */
	assert_int_equal(calendar_dir_load(s.dir, &cal, err, sizeof(err)), -1);
	assert_int_not_equal(errno, ENOENT);
	assert_null(cal);
	snprintf(want, sizeof(want), "%s/2022.cal:3: no such day 2022-02-30", s.dir);
	assert_string_equal(err, want);
	scratch_remove(&s);
}

static void test_missing_directory(void **state)
{
	struct scratch s;
	scratch_make(&s);
	char missing[384], want[1024];
	snprintf(missing, sizeof(missing), "%s/nowhere", s.dir);
	struct calendar *cal = (struct calendar *)1;
	char err[1024] = "";
	assert_int_equal(calendar_dir_load(missing, &cal, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(cal);
	snprintf(want, sizeof(want), "[calendar] dir %s: %s", missing, strerror(ENOENT));
	assert_string_equal(err, want);
	scratch_remove(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_directory), cmocka_unit_test(test_no_calendar_files),
		cmocka_unit_test(test_files_and_order),	  cmocka_unit_test(test_bad_file),
		cmocka_unit_test(test_missing_directory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
