/*
 * bus_metrics.c - what /metrics asks of Redis: how long each stream is and how
 * much of it its consumers hold unacknowledged (queries/stream_depths.lua).
 *
 * Owns: one EVALSHA of stream_depths over the given streams and reading its reply.
 * Never: writes to Redis, or keeps a reply past its callback.
 * Callers: daemon/metrics.c.
 */
#include <stdlib.h>
#include <string.h>

#include "bus_private.h"
#include "log.h"
#include "queries.h"

struct depths_req {
	size_t n;
	bus_depths_fn done;
	void *arg;
};

static void on_depths(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct depths_req *req = privdata;
	redisReply *reply = r;
	long long *values = NULL;
	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 * req->n &&
	    (values = calloc(2 * req->n + 1, sizeof(*values))) != NULL) {
		for (size_t i = 0; i < 2 * req->n; i++) {
			const redisReply *e = reply->element[i];
			values[i] = e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
		}
	} else if (reply && reply->type == REDIS_REPLY_ERROR) {
		log_warn("bus: stream depths: %s", reply->str);
	}
	req->done(req->arg, values);
	free(values);
	free(req);
}

int bus_stream_depths(struct bus *bus, const char *const *streams, const char *const *groups,
		      size_t n, bus_depths_fn done, void *arg)
{
	if (!bus_connected(bus) || n == 0 || n > BUS_DEPTHS_MAX)
		return -1;
	struct depths_req *req = malloc(sizeof(*req));
	size_t argc = 3 + 2 * n;
	const char **argv = malloc(argc * sizeof(*argv));
	size_t *argvlen = malloc(argc * sizeof(*argvlen));
	if (!req || !argv || !argvlen) {
		free(req);
		free(argv);
		free(argvlen);
		return -1;
	}
	*req = (struct depths_req){ n, done, arg };
	char nkeys[16];
	snprintf(nkeys, sizeof(nkeys), "%zu", n);
	size_t k = 0;
	argv[k] = "EVALSHA";
	argvlen[k++] = 7;
	argv[k] = scripts[SCRIPT_STREAM_DEPTHS].sha;
	argvlen[k++] = strlen(scripts[SCRIPT_STREAM_DEPTHS].sha);
	argv[k] = nkeys;
	argvlen[k++] = strlen(nkeys);
	for (size_t i = 0; i < n; i++, k++) {
		argv[k] = streams[i];
		argvlen[k] = strlen(streams[i]);
	}
	for (size_t i = 0; i < n; i++, k++) {
		argv[k] = groups[i];
		argvlen[k] = strlen(groups[i]);
	}
	int rc = redisAsyncCommandArgv(bus->cmd, on_depths, req, (int)argc, argv, argvlen);
	free(argv);
	free(argvlen);
	if (rc != REDIS_OK) {
		free(req);
		return -1;
	}
	return 0;
}
