/*
 * agent_http.h - hotline-agent's commands on hotlined's HTTP API
 * (docs/http-api.md): me, create, show, history, kb, desk, dispatch, rule,
 * close, callback next, callback done.
 *
 * Owns: telling a command line meant for the HTTP API from one of the binary
 * agent terminal (tools/agent.c), and running it: options, the token, one
 * request, the answer printed readable or as JSON, the exit status.
 * Callers: tools/agent.c's main() and its --help.
 */
#ifndef HOTLINE_AGENT_HTTP_H
#define HOTLINE_AGENT_HTTP_H

#include <stdbool.h>
#include <stdio.h>

/* Exit statuses of the commands (the binary terminal has 0, 1 and 2 only). */
enum agent_exit {
	AGENT_EXIT_OK = 0,
	AGENT_EXIT_FAILED = 1,	 /* the API refused it, or could not be reached */
	AGENT_EXIT_USAGE = 2,	 /* the command line, or no usable token */
	AGENT_EXIT_CONFLICT = 3, /* 409: the ticket's state does not allow it */
	AGENT_EXIT_NO_TASK = 4	 /* callback next: no callback is waiting */
};

/*
 * True when argv is an HTTP command line: it names a command (any word
 * before the first option that is not hotline-agent's HTTP options), or uses
 * --http, --token-file, --json or --timeout-ms. Anything else (--id, --help
 * alone, no arguments) is the binary terminal's, unchanged.
 */
bool agent_http_wanted(int argc, char **argv);

/* Runs the command; returns the exit status (enum agent_exit). */
int agent_http_main(int argc, char **argv);

/* The commands' part of hotline-agent --help. */
void agent_http_usage(FILE *out);

#endif
