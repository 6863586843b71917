/*
 * tool_conn.c - the administration tools' connections (see tool_conn.h).
 */
#include "tool_conn.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "config.h"
#include "queries.h"

PGconn *tool_pg_connect(const char *tool, const char *dsn, const char *config_path)
{
	char *conninfo = NULL;
	if (dsn) {
		conninfo = strdup(dsn);
	} else if (config_path) {
		struct hotline_config cfg;
		char err[1024];
		if (config_load(config_path, &cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", tool, err);
			return NULL;
		}
		conninfo = strdup(cfg.pg_conninfo);
		config_free(&cfg);
	} else {
		conninfo = strdup("");
	}
	if (!conninfo) {
		fprintf(stderr, "%s: out of memory\n", tool);
		return NULL;
	}
	PGconn *pg = PQconnectdb(conninfo);
	free(conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "%s: cannot connect to PostgreSQL: %s", tool, PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	PGresult *res = PQexec(pg, queries[QUERY_SESSION_QUIET].text);
	PQclear(res);
	return pg;
}

redisContext *tool_redis_connect(const char *addr, const char *user, const char *pass,
				 int connect_s, int command_s, char *err, size_t errlen)
{
	struct timeval connect_tv = { .tv_sec = connect_s };
	redisContext *rc;
	if (addr[0] == '/') {
		rc = redisConnectUnixWithTimeout(addr, connect_tv);
	} else {
		char host[256];
		int port;
		if (config_parse_hostport(addr, host, sizeof(host), &port) != 0) {
			snprintf(err, errlen,
				 "invalid Redis address '%s' (host:port or /path/to/socket)", addr);
			return NULL;
		}
		rc = redisConnectWithTimeout(host, port, connect_tv);
	}
	if (rc == NULL) {
		snprintf(err, errlen, "out of memory connecting to Redis");
		return NULL;
	}
	if (rc->err) {
		snprintf(err, errlen, "cannot connect to Redis at %s: %s", addr, rc->errstr);
		redisFree(rc);
		return NULL;
	}
	struct timeval command_tv = { .tv_sec = command_s };
	if (redisSetTimeout(rc, command_tv) != REDIS_OK) {
		snprintf(err, errlen, "cannot set the Redis timeout: %s", rc->errstr);
		redisFree(rc);
		return NULL;
	}
	if (pass && pass[0]) {
		redisReply *reply = user && user[0] ? redisCommand(rc, "AUTH %s %s", user, pass)
						    : redisCommand(rc, "AUTH %s", pass);
		bool ok = reply && reply->type != REDIS_REPLY_ERROR;
		if (!ok)
			snprintf(err, errlen, "Redis at %s refused AUTH: %s", addr,
				 reply ? reply->str : rc->errstr);
		if (reply)
			freeReplyObject(reply);
		if (!ok) {
			redisFree(rc);
			return NULL;
		}
	}
	return rc;
}
