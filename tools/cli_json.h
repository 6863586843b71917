/*
 * cli_json.h - the JSON-lines stdout of the reference clients (hotline-dept,
 * hotline-agent): one object per event, "event" and "at_ms" first.
 *
 * Owns: turning protocol values into JSON members and writing one line.
 * Never: drops an event because a peer sent invalid UTF-8 (it becomes U+FFFD),
 * or keeps a jansson object past a call.
 * Callers: tools/cli_client.c, tools/dept.c and tools/agent.c (the event lines),
 * tools/cli_conn.c (cli_tv_ms), tests/unit/test_cli_json.c.
 */
#ifndef HOTLINE_CLI_JSON_H
#define HOTLINE_CLI_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/time.h>

/* ms as a struct timeval, for libevent timers. */
struct timeval cli_tv_ms(unsigned ms);

/* Enum value names without their prefix ("TICKET_STATE_CLOSED" -> "CLOSED"). */
const char *cli_state_name(int state);
const char *cli_error_code_name(int code);

/* Members; a NULL string is "". */
void cli_set_str(json_t *obj, const char *key, const char *value);
void cli_set_int(json_t *obj, const char *key, json_int_t value);

/* A new event object: {"event": name, "at_ms": wall-clock unix ms}. */
json_t *cli_json_event(const char *name);

/*
 * Writes obj (consumed) as one line to stdout, flushing it when asked. Returns
 * 0, or -1 when stdout is gone (then nothing printed may count as delivered).
 */
int cli_emit_line(json_t *obj, bool flush) __attribute__((warn_unused_result));

/*
 * One JSON object written straight into a buffer, for the lines printed per
 * ticket (no tree, no allocation per member). Same members, same escaping
 * rules as above: invalid UTF-8 becomes U+FFFD.
 */
struct cli_line {
	char *buf;
	size_t len, cap;
};
void cli_line_begin(struct cli_line *l, const char *event); /* "event", "at_ms" */
void cli_line_str(struct cli_line *l, const char *key, const char *value);
void cli_line_int(struct cli_line *l, const char *key, long long value);
void cli_line_real(struct cli_line *l, const char *key, double value);
void cli_line_true(struct cli_line *l, const char *key);
/* Writes the line (and flushes when asked); 0, or -1 when stdout is gone. */
int cli_line_emit(struct cli_line *l, bool flush) __attribute__((warn_unused_result));
void cli_line_free(struct cli_line *l);

#endif
