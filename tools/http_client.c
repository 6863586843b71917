/*
 * http_client.c - one blocking HTTP/1.1 request, behind http_client.h.
 *
 * The socket is non-blocking and every wait is a poll() bounded by what is
 * left of the request's one deadline, so a server that accepts and then says
 * nothing, or trickles its answer, costs at most timeout_ms.
 */
#include "http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli_addr.h"

#define READ_CHUNK 65536

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits until fd is ready for events. Returns 0, or -1 with the reason in err:
 * "WHAT HOST:PORT within N ms" when the request's deadline passed, or poll's error.
 */
static int wait_ready(int fd, short events, int64_t deadline, const struct http_client_request *rq,
		      const char *what, char *err, size_t errlen)
{
	for (;;) {
		int64_t left = deadline - monotonic_ms();
		if (left <= 0) {
			snprintf(err, errlen, "%s %s:%d within %d ms", what, rq->host, rq->port,
				 rq->timeout_ms);
			return -1;
		}
		struct pollfd p = { .fd = fd, .events = events };
		int rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

/* A connected non-blocking socket, or -1 with the reason in err. */
static int open_connection(const struct http_client_request *rq, int64_t deadline, char *err,
			   size_t errlen)
{
	struct sockaddr_storage addr;
	socklen_t addrlen;
	if (cli_resolve(rq->host, rq->port, &addr, &addrlen, err, errlen) != 0)
		return -1;
	int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	int so_error = 0;
	socklen_t len = sizeof(so_error);
	if (connect(fd, (struct sockaddr *)&addr, addrlen) != 0) {
		if (errno != EINPROGRESS)
			so_error = errno;
		else if (wait_ready(fd, POLLOUT, deadline, rq, "cannot connect to", err, errlen) !=
			 0) {
			close(fd);
			return -1;
		} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) {
			so_error = errno;
		}
	}
	if (so_error != 0) {
		snprintf(err, errlen, "cannot connect to %s:%d: %s", rq->host, rq->port,
			 strerror(so_error));
		close(fd);
		return -1;
	}
	return fd;
}

/* The request's line, headers and body in one malloc'd buffer; NULL when out of memory. */
static char *build_request(const struct http_client_request *rq, size_t *len)
{
	bool v6 = strchr(rq->host, ':') != NULL;
	char *head = NULL;
	char length[48] = "";
	if (rq->body || strcmp(rq->method, "POST") == 0)
		snprintf(length, sizeof(length), "Content-Length: %zu\r\n",
			 rq->body ? rq->body_len : 0);
	int n = asprintf(&head,
			 "%s %s HTTP/1.1\r\n"
			 "Host: %s%s%s:%d\r\n"
			 "User-Agent: hotline-agent/" HOTLINE_VERSION "\r\n"
			 "Accept: application/json\r\n"
			 "Connection: close\r\n"
			 "%s%s%s"
			 "%s%s"
			 "\r\n",
			 rq->method, rq->target, v6 ? "[" : "", rq->host, v6 ? "]" : "", rq->port,
			 rq->bearer ? "Authorization: Bearer " : "", rq->bearer ? rq->bearer : "",
			 rq->bearer ? "\r\n" : "",
			 rq->body ? "Content-Type: application/json\r\n" : "", length);
	if (n < 0)
		return NULL;
	size_t body_len = rq->body ? rq->body_len : 0;
	char *all = realloc(head, (size_t)n + body_len);
	if (all == NULL) {
		free(head);
		return NULL;
	}
	if (body_len)
		memcpy(all + n, rq->body, body_len);
	*len = (size_t)n + body_len;
	return all;
}

static int send_all(int fd, const char *buf, size_t len, const struct http_client_request *rq,
		    int64_t deadline, char *err, size_t errlen)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_ready(fd, POLLOUT, deadline, rq, "cannot send the request to", err,
				       errlen) != 0)
				return -1;
			continue;
		}
		snprintf(err, errlen, "sending to %s:%d: %s", rq->host, rq->port,
			 strerror(n < 0 ? errno : EPIPE));
		return -1;
	}
	return 0;
}

static int read_answer(int fd, const struct http_client_request *rq, struct httpresp *resp,
		       int64_t deadline, char *err, size_t errlen)
{
	char *buf = malloc(READ_CHUNK);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char why[160];
	int result = -1;
	for (;;) {
		ssize_t n = recv(fd, buf, READ_CHUNK, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_ready(fd, POLLIN, deadline, rq, "no answer from", err, errlen) !=
			    0)
				break;
			continue;
		}
		if (n < 0) {
			snprintf(err, errlen, "reading from %s:%d: %s", rq->host, rq->port,
				 strerror(errno));
			break;
		}
		enum httpresp_result rc;
		size_t used;
		if (n == 0)
			rc = httpresp_eof(resp, why, sizeof(why));
		else
			rc = httpresp_feed(resp, buf, (size_t)n, &used, why, sizeof(why));
		if (rc == HTTPRESP_DONE) {
			result = 0;
			break;
		}
		if (rc == HTTPRESP_ERROR) {
			snprintf(err, errlen, "bad answer from %s:%d: %s", rq->host, rq->port, why);
			break;
		}
	}
	free(buf);
	return result;
}

int http_client_send(const struct http_client_request *rq, struct httpresp *resp, char *err,
		     size_t errlen)
{
	httpresp_init(resp, rq->max_body ? rq->max_body : HTTP_CLIENT_MAX_BODY,
		      strcmp(rq->method, "HEAD") == 0);
	int64_t deadline = monotonic_ms() + rq->timeout_ms;
	size_t len = 0;
	char *request = build_request(rq, &len);
	if (request == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int fd = open_connection(rq, deadline, err, errlen);
	int rc = -1;
	if (fd >= 0 && send_all(fd, request, len, rq, deadline, err, errlen) == 0)
		rc = read_answer(fd, rq, resp, deadline, err, errlen);
	if (fd >= 0)
		close(fd);
	free(request);
	return rc;
}

int http_client_parse_hostport(const char *text, int default_port, char *host, size_t hostlen,
			       int *port)
{
	const char *host_start = text, *host_end, *port_text = NULL;
	if (text[0] == '[') {
		host_start = text + 1;
		host_end = strchr(host_start, ']');
		if (host_end == NULL || (host_end[1] != '\0' && host_end[1] != ':'))
			return -1;
		if (host_end[1] == ':')
			port_text = host_end + 2;
	} else {
		host_end = strrchr(text, ':');
		if (host_end && strchr(text, ':') != host_end)
			return -1; /* an IPv6 address needs its brackets */
		if (host_end)
			port_text = host_end + 1;
		else
			host_end = text + strlen(text);
	}
	size_t n = (size_t)(host_end - host_start);
	if (n == 0 || n >= hostlen)
		return -1;
	for (const char *p = host_start; p < host_end; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '/' || *p == '@')
			return -1;
	long value = default_port;
	if (port_text) {
		char *end;
		if (*port_text < '0' || *port_text > '9')
			return -1;
		errno = 0;
		value = strtol(port_text, &end, 10);
		if (errno != 0 || *end != '\0')
			return -1;
	}
	if (value < 1 || value > 65535)
		return -1;
	memcpy(host, host_start, n);
	host[n] = '\0';
	*port = (int)value;
	return 0;
}

char *http_client_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(s);
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	char *out = malloc(len * 3 + 1), *o = out;
	if (out == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}
