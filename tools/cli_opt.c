/*
 * cli_opt.c - command-line option helpers of the reference clients; see cli_opt.h.
 */
#include "cli_opt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see --help)\n");
	exit(2);
}

uint64_t cli_parse_uint(const char *prog, const char *arg, const char *name, uint64_t min,
			uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long value = strtoull(arg, &end, 10);
	/* strtoull takes "-1" as a huge number: refuse the sign itself */
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || value < min || value > max)
		cli_usage_error(prog, "invalid %s", name);
	return value;
}

double cli_parse_timeout(const char *prog, const char *arg)
{
	char *end;
	errno = 0;
	double seconds = strtod(arg, &end);
	/* !(seconds > 0) also refuses NaN */
	if (errno != 0 || end == arg || *end != '\0' || !(seconds > 0) || seconds > 365.0 * 86400)
		cli_usage_error(prog, "invalid --timeout '%s' (seconds)", arg);
	return seconds;
}

const char *cli_token(const char *prog, const char *token, const char *env)
{
	if (token == NULL)
		token = getenv(env);
	if (token == NULL || token[0] == '\0')
		cli_usage_error(prog, "no token: use --token TOKEN or set %s", env);
	return token;
}
