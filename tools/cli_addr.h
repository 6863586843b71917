/*
 * cli_addr.h - the reference clients' one way to resolve host:port.
 *
 * Owns: turning the --host and --port options into the first address
 * getaddrinfo() gives (IPv4 or IPv6), with the reason when there is none.
 * Callers: tools/cli_conn.c (hotline-dept, hotline-agent), tools/loadgen.c.
 */
#ifndef HOTLINE_CLI_ADDR_H
#define HOTLINE_CLI_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Returns 0 with the address in *out and its length in *len, or -1 with the reason in err. */
int cli_resolve(const char *host, int port, struct sockaddr_storage *out, socklen_t *len, char *err,
		size_t errlen) __attribute__((warn_unused_result));

#endif
