/*
 * ctl.h - what hotlinectl's commands share: the connections and the way a
 * statement is run.
 *
 * Owns: struct ctl (the options of the run and its connections), connecting to
 * PostgreSQL, running a statement and saying what failed.
 * Callers: tools/hotlinectl.c (the other commands), tools/ctl_user.c.
 */
#ifndef HOTLINE_CTL_H
#define HOTLINE_CTL_H

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

struct ctl {
	const char *config_path;
	const char *dsn;
	const char *redis_opt; /* --redis, overrides the config's [redis] address */
	char redis_addr[512];  /* the address in use, once resolved */
	char redis_user[256];  /* AUTH credentials, with redis_addr; "" = none */
	char redis_pass[512];
	PGconn *pg;
	redisContext *redis;
};

/* Connects using --dsn, else the config's conninfo, else libpq defaults: 0 or -1
 * after saying why. */
int ctl_connect(struct ctl *ctl) __attribute__((warn_unused_result));

/* Runs text (no parameters); 0, or -1 after printing what of `what` failed. */
int exec_text(PGconn *pg, const char *text, const char *what);

/* hotlinectl user ... (tools/ctl_user.c) */
int cmd_user(struct ctl *ctl, int argc, char **argv);

#endif
