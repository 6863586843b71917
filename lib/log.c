/*
 * log.c - the one logger of the daemon and the tools.
 *
 * Owns: the line format "2026-11-27T23:15:00.123Z info hotlined: message"
 * (UTC, milliseconds) on stderr, or "<6>info: message" when stderr is the
 * journal (journald parses the priority and adds the time and the program's
 * name), the level filter and the ident.
 * Never: lets a message span lines (control characters become '?', so a peer's
 * string cannot forge a log line); receives a full phone number (callers pass
 * mask_phone() output). The one file in lib/ allowed to read the clock.
 * Callers: everything.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

/* A longer line is cut here; 4 KiB keeps one write() per line. */
#define LOG_LINE_MAX 4096
#define LOG_IDENT_MAX 64

static enum log_level log_level = LOG_INFO;
static char log_ident[LOG_IDENT_MAX] = "hotline";
static bool log_journal;

static const char *const log_level_names[] = { "debug", "info", "warn", "error" };
/* Each level's syslog priority prefix, for journald. */
static const char *const log_level_priorities[] = { SD_DEBUG, SD_INFO, SD_WARNING, SD_ERR };

void log_set_level(enum log_level level)
{
	if (level >= LOG_DEBUG && level <= LOG_ERROR)
		log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_level_parse(const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
		if (strcmp(name, log_level_names[i]) == 0)
			return i;
	}
	return -1;
}

void log_set_ident(const char *ident)
{
	if (ident == NULL || ident[0] == '\0')
		ident = "hotline";
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
}

/* Parses a decimal number ending at *end; false for anything else (sign, blank, overflow). */
static bool log_parse_decimal(const char *text, char **end, unsigned long long *value)
{
	if (*text < '0' || *text > '9')
		return false;
	errno = 0;
	*value = strtoull(text, end, 10);
	return errno == 0;
}

bool log_journal_stream_matches(const char *journal_stream, unsigned long long dev,
				unsigned long long ino)
{
	unsigned long long stream_dev, stream_ino;
	char *end;

	if (journal_stream == NULL || !log_parse_decimal(journal_stream, &end, &stream_dev) ||
	    *end != ':' || !log_parse_decimal(end + 1, &end, &stream_ino) || *end != '\0')
		return false;
	return stream_dev == dev && stream_ino == ino;
}

void log_set_journal(bool journal)
{
	log_journal = journal;
}

bool log_get_journal(void)
{
	return log_journal;
}

bool log_detect_journal(void)
{
	struct stat st;

	log_journal =
		fstat(STDERR_FILENO, &st) == 0 &&
		log_journal_stream_matches(getenv("JOURNAL_STREAM"), (unsigned long long)st.st_dev,
					   (unsigned long long)st.st_ino);
	return log_journal;
}

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 characters) into buf. */
static size_t log_timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || gmtime_r(&ts.tv_sec, &tm) == NULL)
		return (size_t)snprintf(buf, size, "1970-01-01T00:00:00.000Z");
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000L);
	return n;
}

static void log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t head = 0, len;
	int n;

	if (log_journal)
		n = snprintf(line, sizeof(line), "%s%s: ", log_level_priorities[level],
			     log_level_names[level]);
	else {
		head = log_timestamp(line, sizeof(line));
		n = snprintf(line + head, sizeof(line) - head, " %s %s: ", log_level_names[level],
			     log_ident);
	}
	head += (size_t)n;
	n = vsnprintf(line + head, sizeof(line) - head, fmt, ap);
	if (n < 0)
		n = 0;
	len = head + (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2; /* cut, keeping room for '\n' */
	for (size_t i = head; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c == 0x7F)
			line[i] = '?';
	}
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	int saved_errno = errno; /* callers log and then look at errno */
	va_list ap;

	if (level < log_level || level > LOG_ERROR)
		return;
	va_start(ap, fmt);
	log_vwrite(level, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
