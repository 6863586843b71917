/*
 * cli_stdin.h - commands on stdin for the reference clients (hotline-dept,
 * hotline-agent): one per line, read only while the client has room for them.
 *
 * Owns: deciding whether stdin can carry commands at all (not /dev/null, not a
 * directory), reading it without blocking (a pipe, socket or terminal is polled;
 * a regular file, which epoll refuses, is read one chunk per activation), and
 * cutting the input into lines no longer than max_line.
 * Also splits a command line into words.
 * Never: runs a command (the client does), or buffers more than about
 * max_line bytes beyond what the client has taken (reading stops until then).
 * Callers: tools/cli_client.c (reading lines), tools/dept.c and tools/agent.c
 * (splitting their commands into words).
 */
#ifndef HOTLINE_CLI_STDIN_H
#define HOTLINE_CLI_STDIN_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <event2/event.h>

struct cli_stdin_ops {
	void (*on_input)(void *arg);		 /* after each read, and at the end of input */
	bool (*may_run)(void *arg);		 /* whether the next command may run now */
	void (*run_line)(void *arg, char *line); /* one command (may be modified; freed after) */
	void (*too_long)(void *arg);		 /* a line over max_line was dropped */
};

struct cli_stdin {
	struct evbuffer *buf; /* NULL: stdin carries no commands */
	struct event *ev;
	bool open;     /* more input may come */
	bool pollable; /* pipe, socket or tty; else a regular file read in chunks */
	bool active;   /* ev added (pollable) or activated (file) */
	bool discard;  /* dropping the rest of an over-long line */
	size_t max_line;
	const struct cli_stdin_ops *ops;
	void *arg;
};

/* Sets in up (zeroed first); leaves in->buf NULL when stdin carries no commands. */
void cli_stdin_setup(struct cli_stdin *in, struct event_base *base, size_t max_line,
		     const struct cli_stdin_ops *ops, void *arg);
void cli_stdin_free(struct cli_stdin *in);

/* Whether reading more makes sense: input may come and the buffer has room. */
bool cli_stdin_can_read(const struct cli_stdin *in);

/* Arms (want) or disarms reading; idempotent. */
void cli_stdin_want(struct cli_stdin *in, bool want);

/* Bytes buffered and not yet taken as lines. */
size_t cli_stdin_buffered(const struct cli_stdin *in);

/*
 * The next complete line (malloc'd, without its line end; the last line may
 * lack one once input ended), or NULL. A line over max_line is dropped, its
 * rest as it comes too: then NULL with *too_long set, once per such line.
 */
char *cli_stdin_next_line(struct cli_stdin *in, size_t *len, bool *too_long);

/*
 * Runs the complete lines buffered while ops->may_run holds before each, then
 * arms reading if it still holds and input may come, disarms it otherwise.
 * The client calls it after anything that changes the room for commands.
 */
void cli_stdin_update(struct cli_stdin *in);

/*
 * Splits the first word (ended by a space or tab) off *rest, in place: returns
 * it NUL-terminated, *rest then at the next word; NULL when no word is left.
 */
char *cli_next_word(char **rest);

/* Cuts the spaces and tabs off the end of s, in place. */
void cli_trim_end(char *s);

#endif
