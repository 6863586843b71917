/*
 * cli_stdin.c - commands on stdin for the reference clients; see cli_stdin.h.
 */
#include "cli_stdin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define STDIN_CHUNK 65536

static void stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cli_stdin *in = arg;
	if (!in->active)
		return;
	if (!in->pollable)
		in->active = false; /* one chunk per activation */
	int n = evbuffer_read(in->buf, STDIN_FILENO, STDIN_CHUNK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		in->ops->on_input(in->arg);
		return;
	}
	if (n <= 0) {
		if (n < 0)
			log_warn("reading stdin: %s", strerror(errno));
		in->open = false;
		if (in->pollable)
			event_del(in->ev);
		in->active = false;
	}
	in->ops->on_input(in->arg);
}

void cli_stdin_setup(struct cli_stdin *in, struct event_base *base, size_t max_line,
		     const struct cli_stdin_ops *ops, void *arg)
{
	memset(in, 0, sizeof(*in));
	in->max_line = max_line;
	in->ops = ops;
	in->arg = arg;
	struct stat st, null_st;
	if (fstat(STDIN_FILENO, &st) != 0)
		return;
	if (S_ISCHR(st.st_mode) && stat("/dev/null", &null_st) == 0 &&
	    st.st_rdev == null_st.st_rdev)
		return;
	if (S_ISDIR(st.st_mode))
		return;
	in->pollable = !S_ISREG(st.st_mode);
	in->buf = evbuffer_new();
	in->ev = event_new(base, in->pollable ? STDIN_FILENO : -1,
			   in->pollable ? EV_READ | EV_PERSIST : 0, stdin_cb, in);
	if (in->buf == NULL || in->ev == NULL)
		fatal("out of memory");
	in->open = true;
}

void cli_stdin_free(struct cli_stdin *in)
{
	if (in->ev)
		event_free(in->ev);
	if (in->buf)
		evbuffer_free(in->buf);
	in->ev = NULL;
	in->buf = NULL;
}

size_t cli_stdin_buffered(const struct cli_stdin *in)
{
	return in->buf ? evbuffer_get_length(in->buf) : 0;
}

bool cli_stdin_can_read(const struct cli_stdin *in)
{
	return in->open && cli_stdin_buffered(in) <= in->max_line;
}

void cli_stdin_want(struct cli_stdin *in, bool want)
{
	if (in->ev == NULL || want == in->active)
		return;
	in->active = want;
	if (in->pollable) {
		if (want)
			event_add(in->ev, NULL);
		else
			event_del(in->ev);
	} else if (want) {
		event_active(in->ev, EV_READ, 0);
	}
}

char *cli_stdin_next_line(struct cli_stdin *in, size_t *len, bool *too_long)
{
	*too_long = false;
	if (in->buf == NULL)
		return NULL;
	for (;;) {
		char *line = evbuffer_readln(in->buf, len, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			size_t left = evbuffer_get_length(in->buf);
			if (left > 0 && (in->discard || left > in->max_line)) {
				/* An over-long line: drop it, and its rest as it comes. */
				*too_long = !in->discard;
				in->discard = true;
				evbuffer_drain(in->buf, left);
				if (*too_long)
					return NULL;
				continue;
			}
			if (left == 0 || in->open)
				return NULL;
			line = malloc(left + 1); /* the last line had no line end */
			if (line == NULL)
				fatal("out of memory");
			evbuffer_remove(in->buf, line, left);
			line[left] = '\0';
			*len = left;
		}
		if (in->discard) {
			in->discard = false; /* this was the over-long line's tail */
			free(line);
			continue;
		}
		if (*len > in->max_line) {
			free(line);
			*too_long = true;
			return NULL;
		}
		return line;
	}
}

void cli_stdin_update(struct cli_stdin *in)
{
	if (in->buf == NULL)
		return;
	while (in->ops->may_run(in->arg)) {
		size_t len;
		bool too_long;
		char *line = cli_stdin_next_line(in, &len, &too_long);
		if (too_long) {
			in->ops->too_long(in->arg);
			continue;
		}
		if (line == NULL)
			break;
		in->ops->run_line(in->arg, line);
		free(line);
	}
	/* A regular file cannot be polled (epoll refuses it): it is read a chunk per pass. */
	cli_stdin_want(in, cli_stdin_can_read(in) && in->ops->may_run(in->arg));
}

char *cli_next_word(char **rest)
{
	char *p = *rest;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*rest = p;
		return NULL;
	}
	char *word = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p)
		*p++ = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	*rest = p;
	return word;
}

void cli_trim_end(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}
