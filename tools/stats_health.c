/*
 * stats_health.c - hotline-stats live: each daemon's own word on its health.
 *
 * Owns: one GET /healthz on a daemon's operations listener ([http] ops_listen,
 * daemon/metrics.c) with a deadline for the whole exchange, and reading its answer
 * (the status line, then the JSON body: postgres, redis, loop_lag_ms).
 * Never: waits past its deadline, retries, or follows anything the answer says.
 * Callers: tools/stats.c (live), once per daemon per pass.
 */
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stats.h"

#define ANSWER_MAX 4096 /* /healthz answers in well under 300 bytes */

/* The time left until deadline_ms (stats_monotonic_ms()), at least 0. */
static int left_ms(double deadline_ms)
{
	double left = deadline_ms - stats_monotonic_ms();
	return left > 0 ? (int)left + 1 : 0;
}

/* Waits for events on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, double deadline_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	for (;;) {
		int n = poll(&p, 1, left_ms(deadline_ms));
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -1 : n;
	}
}

/* "host:port" or "[v6]:port" into host and port; -1 when it is neither. */
static int split_address(const char *address, char *host, size_t hostlen, char *port,
			 size_t portlen)
{
	const char *colon = strrchr(address, ':');
	if (!colon || colon == address || colon[1] == '\0')
		return -1;
	const char *h = address;
	size_t n = (size_t)(colon - address);
	if (h[0] == '[' && n >= 2 && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n == 0 || n >= hostlen || strlen(colon + 1) >= portlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	snprintf(port, portlen, "%s", colon + 1);
	return 0;
}

/* Connects to the first address that answers before the deadline; fd or -1 (why in out). */
static int connect_by(const char *address, double deadline_ms, struct stats_daemon_health *out)
{
	char host[256], port[16];
	if (split_address(address, host, sizeof(host), port, sizeof(port)) != 0) {
		snprintf(out->error, sizeof(out->error), "not host:port");
		return -1;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai != 0) {
		snprintf(out->error, sizeof(out->error), "%s", gai_strerror(gai));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd < 0)
			continue;
		int err = 0;
		socklen_t elen = sizeof(err);
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
			if (errno != EINPROGRESS)
				err = errno;
			else if (wait_fd(fd, POLLOUT, deadline_ms) != 1)
				err = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
				err = errno;
		}
		if (err != 0) {
			snprintf(out->error, sizeof(out->error), "%s", strerror(err));
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

/* Sends the request and reads the answer to EOF; its length, or -1 (why in out). */
static ssize_t exchange(int fd, const char *address, double deadline_ms, char *buf, size_t cap,
			struct stats_daemon_health *out)
{
	char req[320];
	int n = snprintf(req, sizeof(req),
			 "GET /healthz HTTP/1.0\r\nHost: %s\r\nUser-Agent: hotline-stats\r\n\r\n",
			 address);
	for (int sent = 0; sent < n;) {
		ssize_t w = send(fd, req + sent, (size_t)(n - sent), MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline_ms) != 1)
				goto timeout;
			continue;
		}
		if (w < 0) {
			snprintf(out->error, sizeof(out->error), "%s", strerror(errno));
			return -1;
		}
		sent += (int)w;
	}
	size_t len = 0;
	for (;;) {
		if (len == cap) {
			snprintf(out->error, sizeof(out->error), "answer too long");
			return -1;
		}
		ssize_t r = recv(fd, buf + len, cap - len, 0);
		if (r == 0)
			return (ssize_t)len;
		if (r > 0) {
			len += (size_t)r;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR) {
			snprintf(out->error, sizeof(out->error), "%s", strerror(errno));
			return -1;
		}
		if (wait_fd(fd, POLLIN, deadline_ms) != 1)
			goto timeout;
	}
timeout:
	snprintf(out->error, sizeof(out->error), "no answer in time");
	return -1;
}

/* A JSON boolean as 1 / 0, or -1 when the key is absent or not a boolean. */
static int flag(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_boolean(v) ? json_is_true(v) : -1;
}

void stats_health_probe(const char *address, int timeout_ms, struct stats_daemon_health *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->address, sizeof(out->address), "%s", address);
	out->postgres = out->redis = -1;
	out->loop_lag_ms = -1;
	double deadline = stats_monotonic_ms() + timeout_ms;
	int fd = connect_by(address, deadline, out);
	if (fd < 0)
		return;
	char buf[ANSWER_MAX + 1];
	ssize_t len = exchange(fd, address, deadline, buf, ANSWER_MAX, out);
	close(fd);
	if (len < 0)
		return;
	buf[len] = '\0';
	int status = 0;
	const char *body = strstr(buf, "\r\n\r\n");
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || !body) {
		snprintf(out->error, sizeof(out->error), "not an HTTP answer");
		return;
	}
	out->reachable = true;
	out->http_status = status;
	body += 4;
	json_t *o = json_loadb(body, (size_t)(buf + len - body), 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		snprintf(out->error, sizeof(out->error), "HTTP %d, no health in the answer",
			 status);
		return;
	}
	out->postgres = flag(o, "postgres");
	out->redis = flag(o, "redis");
	json_t *lag = json_object_get(o, "loop_lag_ms");
	if (json_is_integer(lag))
		out->loop_lag_ms = json_integer_value(lag);
	const char *said = json_string_value(json_object_get(o, "status"));
	out->ok = status == 200 && said && strcmp(said, "ok") == 0;
	if (!out->ok)
		snprintf(out->error, sizeof(out->error), "%s%s%s%s", said ? said : "unhealthy",
			 out->postgres == 0 ? ", PostgreSQL unreachable" : "",
			 out->redis == 0 ? ", Redis unreachable" : "",
			 out->loop_lag_ms >= 5000 ? ", event loop stalled" : "");
	json_decref(o);
}
