/*
 * cli_stdin.h - commands on stdin for the reference clients (hotline-dept,
 * hotline-agent): one per line, read only while the client has room for them.
 *
 * Owns: deciding whether stdin can carry commands at all (not /dev/null, not a
 * directory), reading it without blocking (a pipe, socket or terminal is polled;
 * a regular file, which epoll refuses, is read one chunk per activation), and
 * cutting the input into lines no longer than max_line.
 * Never: runs a command (the client does), or buffers more than about
 * max_line bytes beyond what the client has taken (reading stops until then).
 */
#ifndef HOTLINE_CLI_STDIN_H
#define HOTLINE_CLI_STDIN_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <event2/event.h>

struct cli_stdin {
	struct evbuffer *buf; /* NULL: stdin carries no commands */
	struct event *ev;
	bool open;     /* more input may come */
	bool pollable; /* pipe, socket or tty; else a regular file read in chunks */
	bool active;   /* ev added (pollable) or activated (file) */
	bool discard;  /* dropping the rest of an over-long line */
	size_t max_line;
	void (*on_input)(void *arg); /* after each read, and at the end of input */
	void *arg;
};

/* Sets in up (zeroed first); leaves in->buf NULL when stdin carries no commands. */
void cli_stdin_setup(struct cli_stdin *in, struct event_base *base, size_t max_line,
		     void (*on_input)(void *arg), void *arg);
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

#endif
