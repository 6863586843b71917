/*
 * cli_opt.h - command-line option helpers of the reference clients
 * (hotline-dept, hotline-agent).
 *
 * Owns: the wording of a usage error and exit status 2, and the parsing of
 * the numeric options both clients take.
 * Never: knows a client's options or prints its --help (tools/cli_client.c
 * parses the common options, each client its own and its --help).
 * Callers: tools/cli_client.c, tools/dept.c, tools/agent.c.
 */
#ifndef HOTLINE_CLI_OPT_H
#define HOTLINE_CLI_OPT_H

#include <stdint.h>

/* Prints "prog: <message> (see --help)" to stderr and exits 2. */
void cli_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* arg as a decimal in [min, max]; else a usage error naming the option (name). */
uint64_t cli_parse_uint(const char *prog, const char *arg, const char *name, uint64_t min,
			uint64_t max);

/* --timeout SEC: seconds above 0, at most a year; else a usage error. */
double cli_parse_timeout(const char *prog, const char *arg);

/* The token given (--token), else the environment variable env; a usage error if empty. */
const char *cli_token(const char *prog, const char *token, const char *env);

#endif
