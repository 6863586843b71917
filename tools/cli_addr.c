/*
 * cli_addr.c - host:port resolution behind cli_addr.h.
 */
#include "cli_addr.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>

int cli_resolve(const char *host, int port, struct sockaddr_storage *out, socklen_t *len, char *err,
		size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char service[16];
	snprintf(service, sizeof(service), "%d", port);
	int rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0 || res == NULL || res->ai_addrlen > sizeof(*out)) {
		snprintf(err, errlen, "cannot resolve %s:%s: %s", host, service,
			 rc != 0 ? gai_strerror(rc) : "no usable address");
		if (res)
			freeaddrinfo(res);
		return -1;
	}
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}
