/*
 * tool_conn.h - how the administration tools reach PostgreSQL and Redis.
 *
 * Owns: the one way hotlinectl and hotline-stats connect: PostgreSQL from --dsn,
 * else the config's [postgres] conninfo, else libpq's environment (then the
 * session made quiet, queries/session_quiet.sql); Redis at an address (host:port or
 * /socket) with connect and command timeouts and AUTH.
 * Never: retries, or keeps anything but what it returns.
 * Callers: tools/hotlinectl.c, tools/stats.c.
 */
#ifndef HOTLINE_TOOL_CONN_H
#define HOTLINE_TOOL_CONN_H

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <stddef.h>

/*
 * Connects to PostgreSQL with dsn, else config_path's conninfo, else libpq's
 * defaults (both NULL). Returns the connection (the caller PQfinish()es it), or
 * NULL after printing "TOOL: why" on stderr.
 */
PGconn *tool_pg_connect(const char *tool, const char *dsn, const char *config_path)
	__attribute__((warn_unused_result));

/*
 * Connects to Redis at addr, blocking at most connect_s seconds, sets a command
 * timeout of command_s seconds and sends AUTH [user] pass when pass is not empty.
 * Returns the context (the caller redisFree()s it), or NULL with the reason, which
 * names addr, in err.
 */
redisContext *tool_redis_connect(const char *addr, const char *user, const char *pass,
				 int connect_s, int command_s, char *err, size_t errlen)
	__attribute__((warn_unused_result));

#endif
