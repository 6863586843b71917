/*
 * calendar_dir.c - hotlined's and hotlinectl's one way of reading the calendar
 * directory (calendar_dir.h).
 *
 * Owns: the directory scan and the file reads; the format is calendar.c's.
 * Never: reads the clock, logs, or returns a calendar some file was refused
 * from (a calendar that is half right moves deadlines quietly). Callers: see
 * calendar_dir.h.
 */
#include "calendar_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static bool is_calendar_name(const char *name)
{
	size_t len = strlen(name);
	return len > 4 && strcmp(name + len - 4, ".cal") == 0;
}

/*
 * Reads path whole (at most CALENDAR_MAX_TEXT + 1 bytes, so that the parser
 * reports a file that is too large) and adds it to cal. Returns 0, or -1 with
 * "path: reason" or the parser's "path:line: reason" in err.
 */
static int add_file(struct calendar *cal, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "%.900s: %s", path, strerror(errno));
		return -1;
	}
	int rc = -1;
	char *text = malloc(CALENDAR_MAX_TEXT + 1);
	if (text == NULL) {
		snprintf(err, errlen, "%.900s: out of memory", path);
		goto out;
	}
	size_t got = fread(text, 1, CALENDAR_MAX_TEXT + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%.900s: %s", path, strerror(errno));
		goto out;
	}
	rc = calendar_add_text(cal, text, got, path, err, errlen);
out:
	free(text);
	fclose(f);
	return rc;
}

int calendar_dir_load(const char *dir, struct calendar **out, char *err, size_t errlen)
{
	*out = NULL;
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name);
	if (n < 0) {
		int saved = errno;
		snprintf(err, errlen, "[calendar] dir %.900s: %s", dir, strerror(saved));
		errno = saved;
		return -1;
	}
	struct calendar *cal = calendar_new();
	int rc = 0, files = 0;
	if (cal == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	for (int i = 0; i < n; i++) {
		if (rc == 0 && is_calendar_name(names[i]->d_name)) {
			char path[4096];
			int len = snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			if (len < 0 || (size_t)len >= sizeof(path)) {
				snprintf(err, errlen, "[calendar] dir %.900s: path too long", dir);
				rc = -1;
			} else if (add_file(cal, path, err, errlen) != 0) {
				rc = -1;
			} else {
				files++;
			}
		}
		free(names[i]);
	}
	free(names);
	if (rc != 0 || files == 0) {
		calendar_free(cal);
		if (rc != 0)
			errno = EINVAL; /* never ENOENT: the directory itself was there */
		return rc;
	}
	*out = cal;
	return 0;
}
