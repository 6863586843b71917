/*
 * zoneinfo.c - the time zone name check behind zoneinfo.h.
 *
 * The file is opened first and then fstat'ed and read through the same
 * descriptor, so what is checked is what was opened. O_NONBLOCK keeps a FIFO
 * planted in the directory from hanging the check. Never: follows a name that
 * could leave the zoneinfo directory (the syntax check comes first). Callers: see
 * zoneinfo.h.
 */
#include "zoneinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZONEINFO_DEFAULT_DIR "/usr/share/zoneinfo"

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '/' || c == '_' || c == '+' || c == '-';
}

/* The syntax alone: 1..ZONEINFO_NAME_MAX name characters, no leading '/', no "..". */
static bool name_valid(const char *name)
{
	size_t n = strnlen(name, ZONEINFO_NAME_MAX + 1);
	if (n == 0 || n > ZONEINFO_NAME_MAX || name[0] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(name[i]))
			return false;
	/* '.' is not a name character, so no component can be ".."; checked anyway, in
	 * case the character set ever grows. */
	for (const char *component = name; component;) {
		const char *slash = strchr(component, '/');
		size_t len = slash ? (size_t)(slash - component) : strlen(component);
		if (len == 2 && component[0] == '.' && component[1] == '.')
			return false;
		component = slash ? slash + 1 : NULL;
	}
	return true;
}

/* True when fd is a regular file whose first four bytes are "TZif". */
static bool is_zone_file(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	char magic[4];
	ssize_t got;
	do {
		got = pread(fd, magic, sizeof(magic), 0);
	} while (got < 0 && errno == EINTR);
	return got == (ssize_t)sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
}

int zoneinfo_check(const char *name, char *err, size_t errlen)
{
	if (!name_valid(name)) {
		snprintf(err, errlen,
			 "'%.*s' is not a time zone name (letters, digits, '/', '_', '+', '-'; "
			 "not starting with '/', no '..')",
			 ZONEINFO_NAME_MAX, name);
		return -1;
	}
	const char *dir = getenv("TZDIR");
	if (!dir || dir[0] == '\0')
		dir = ZONEINFO_DEFAULT_DIR;
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen,
			 "'%s' is not a time zone known to this system (path too long)", name);
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	bool known = fd >= 0 && is_zone_file(fd);
	if (fd >= 0)
		close(fd);
	if (!known) {
		snprintf(err, errlen, "'%s' is not a time zone known to this system (%s %s)", name,
			 fd >= 0 ? "not a zone file:" : "no", path);
		return -1;
	}
	return 0;
}
