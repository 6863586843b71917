/*
 * log.h - the one logger of the daemon and the tools.
 *
 * Owns: formatting log lines as "2026-11-27T23:15:00.123Z info ident: msg" (UTC,
 * milliseconds) to stderr; control characters in msg are written as '?'.
 * Never: receives a full phone number: callers pass mask_phone() output.
 * Callers: everything.
 */
#ifndef HOTLINE_LOG_H
#define HOTLINE_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "debug", "info", "warn", "error" -> level; returns -1 for anything else. */
int log_level_parse(const char *name);
/* Program name shown on every line (copied; up to 63 bytes); NULL or "" -> "hotline". */
void log_set_ident(const char *ident);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* For start-up failures and broken invariants only: logs and exits 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
