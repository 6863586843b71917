/*
 * log.h - the one logger of the daemon and the tools.
 *
 * Owns: formatting log lines as "2026-11-27T23:15:00.123Z info ident: msg" (UTC,
 * milliseconds) to stderr; control characters in msg are written as '?'. When
 * stderr is the systemd journal, "<6>info: msg" instead: the syslog priority for
 * journald, which adds the time and the program's name itself.
 * Never: receives a full phone number: callers pass mask_phone() output.
 * Callers: everything.
 */
#ifndef HOTLINE_LOG_H
#define HOTLINE_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "debug", "info", "warn", "error" -> level; returns -1 for anything else. */
int log_level_parse(const char *name);
/* Program name shown on every line (copied; up to 63 bytes); NULL or "" -> "hotline". */
void log_set_ident(const char *ident);

/*
 * Whether a stream is the journal's: journal_stream is $JOURNAL_STREAM (NULL when
 * unset), which systemd sets to "DEV:INO" (decimal) for a service whose stdout or
 * stderr it connected to journald; dev and ino are the stream's fstat(). True only
 * when it is two numbers and both match (a child of such a service that writes
 * elsewhere inherits the variable, so the variable alone proves nothing).
 */
bool log_journal_stream_matches(const char *journal_stream, unsigned long long dev,
				unsigned long long ino);
/*
 * Journal mode: lines become "<N>level: msg", N the message's syslog priority
 * (sd-daemon.h: SD_DEBUG, SD_INFO, SD_WARNING, SD_ERR), with no time and no ident.
 */
void log_set_journal(bool journal);
bool log_get_journal(void);
/* Sets journal mode when stderr is the journal ($JOURNAL_STREAM); returns it. */
bool log_detect_journal(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* For start-up failures and broken invariants only: logs and exits 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
