/*
 * cli_client.h - the skeleton of a reference client (hotline-dept,
 * hotline-agent): what is the same in every command-line client of hotlined's
 * binary port that takes commands on stdin and prints one JSON line per event.
 *
 * Owns: the options every client takes (--host, --port, its id option,
 * --token, --count, --timeout, --help, --version) and their checks; the run
 * (cli_conn.c: connection, signals, timeouts, the end of the run; cli_stdin.c:
 * commands) and its "connecting" log; Hello, and Welcome with its welcome
 * line; the room for new requests (max_requests held, max_output queued);
 * stdin lines ('#' comments, quit, "command line too long"); the common part
 * of the error, command_error, disconnected and summary lines; refusals of the
 * Hello; ending the run once the client says its goal is reached.
 * Never: builds a request, matches an answer to one, or knows what a client's
 * --count counts: the client does, through struct cli_client_ops.
 * Callers: tools/dept.c and tools/agent.c, each embedding one struct cli_client.
 *
 * A client's life: cli_client_init, cli_client_parse_options, its own set-up
 * (reconnect, end_of_input_stops, timers on c->conn.base after
 * cli_client_setup), cli_client_run (returns the exit status, after the
 * summary line), its own clean-up, cli_client_free.
 */
#ifndef HOTLINE_CLI_CLIENT_H
#define HOTLINE_CLI_CLIENT_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli_conn.h"
#include "cli_stdin.h"
#include "hotline.pb-c.h"

/* getopt_long values of the common options; a client's own start at CLI_OPT_OWN. */
enum cli_client_option {
	CLI_OPT_HOST = 0x100,
	CLI_OPT_PORT,
	CLI_OPT_ID,
	CLI_OPT_TOKEN,
	CLI_OPT_COUNT,
	CLI_OPT_TIMEOUT,
	CLI_OPT_VERSION,
	CLI_OPT_OWN = 0x200
};

/* What tells one client from the other, fixed at build time. */
struct cli_client_config {
	const char *prog;	  /* "hotline-dept": usage errors, --version */
	Hotline__V1__Role role;	  /* in the Hello */
	const char *role_name;	  /* "department": in the connecting and welcomed logs */
	const char *id_option;	  /* "--dept" */
	const char *id_meta;	  /* "CODE", as in "--dept CODE is required" */
	const char *id_key;	  /* "dept": the id's member of the welcome line */
	const char *token_env;	  /* "HOTLINE_DEPT_TOKEN": the token without --token */
	const char *requests;	  /* "actions": what unanswered() counts, in logs */
	const char *pending_key;  /* "pending_actions": unanswered() in disconnected and summary */
	size_t max_requests;	  /* requests held at most (ops->held) */
	size_t max_output;	  /* bytes queued for the daemon at most */
	size_t max_command_line;  /* bytes in one stdin command */
	bool summary_reconnects;  /* the summary line has "reconnects" */
	void (*usage)(FILE *out); /* the client's --help text */
};

/* The common options, once parsed. */
struct cli_client_options {
	const char *host;
	int port;
	const char *id;
	const char *token;
	uint64_t count;	  /* --count; 0 = no goal */
	double timeout_s; /* --timeout; 0 = none */
};

/*
 * The client's part. Every callback gets the client's arg and runs on the
 * loop; optional ones may be NULL.
 */
struct cli_client_ops {
	/* One of the client's options (opt >= CLI_OPT_OWN); false: not one of them. */
	bool (*option)(void *arg, int opt, char *value);
	/* A frame other than Welcome (in CLI_CONN_HELLO, only an Error). */
	void (*on_frame)(void *arg, const Hotline__V1__Frame *frame);
	/* Optional: members of the welcome line after "window", before the id. */
	void (*welcome_members)(void *arg, const Hotline__V1__Welcome *w, json_t *line);
	/* Welcome came and its line is out: requests may go now. */
	void (*on_welcome)(void *arg, const Hotline__V1__Welcome *w);
	/* Optional: after the frames of one read, before the goal is checked. */
	void (*on_read_done)(void *arg);
	/* Optional: the connection is gone; before the disconnected line. */
	void (*on_lost)(void *arg);
	/* Optional: stopping or finishing began: stop the client's own timers. */
	void (*stop_timers)(void *arg);
	/* --timeout expired: log what was missing (the run then ends with 1). */
	void (*on_deadline)(void *arg);
	/* Requests sent and not yet finally answered. */
	size_t (*unanswered)(void *arg);
	/* Optional: requests held, for the room check (NULL: unanswered). */
	size_t (*held)(void *arg);
	/* The exit status once the client's goal is reached, or -1 while it is not. */
	int (*goal_reached)(void *arg);
	/*
	 * A stdin command other than quit (and not a comment): cmd is its first
	 * word, rest the words after it (both in a buffer the client may modify),
	 * line the whole line as typed, for command_error lines.
	 */
	void (*run_command)(void *arg, const char *line, char *cmd, char *rest);
	/* The client's members of the summary line (before the common ones). */
	void (*summary_members)(void *arg, json_t *line);
};

struct cli_client {
	struct cli_client_options opt;
	/* Set by the client before cli_client_setup. */
	bool reconnect;		 /* after a loss, connect again (with backoff) */
	bool end_of_input_stops; /* the end of stdin stops the run */

	struct cli_conn conn; /* the connection, and how the run ends */
	struct cli_stdin in;  /* commands */
	uint64_t errors;      /* Error frames */
	uint64_t unexpected;  /* frames or answers that matched nothing */
	uint64_t reconnects;  /* Welcomes after the first */

	const struct cli_client_config *cfg;
	const struct cli_client_ops *ops;
	void *arg;
};

/* Zeroes c and keeps cfg, ops and arg (all must outlive c). */
void cli_client_init(struct cli_client *c, const struct cli_client_config *cfg,
		     const struct cli_client_ops *ops, void *arg);

/*
 * Parses argv with longopts (the client's table, using the CLI_OPT_ values
 * for the common options and 'h' for --help): the common ones into c->opt,
 * the others through ops->option. --help and --version print and exit 0;
 * anything wrong is a usage error (exit 2).
 */
void cli_client_parse_options(struct cli_client *c, const struct option *longopts, int argc,
			      char **argv);

/* Sets up the loop (c->conn.base), its timers and signals, and stdin. Fatal on failure. */
void cli_client_setup(struct cli_client *c);

/* Connects and runs until the run ends; prints the summary line; returns the exit status. */
int cli_client_run(struct cli_client *c) __attribute__((warn_unused_result));

/* Frees stdin, the connection and the loop (free the client's own events first). */
void cli_client_free(struct cli_client *c);

/* Whether one more request fits: fewer than max_requests held, output under max_output. */
bool cli_client_has_room(const struct cli_client *c);

/* UNAVAILABLE or INTERNAL: worth trying again later. */
bool cli_client_error_is_temporary(int code);

/*
 * Counts an Error frame and starts its line: {"event":"error", code, message,
 * and ticket_no when it names one}. The client adds its members and emits it
 * (cli_conn_emit).
 */
json_t *cli_client_error_line(struct cli_client *c, const Hotline__V1__Error *err);

/*
 * An Error answered the Hello: logs the refusal, then connects again later
 * when the client reconnects and the error is temporary, else ends the run
 * with 1.
 */
void cli_client_refused(struct cli_client *c, const Hotline__V1__Error *err);

/* The members every answer to a request has: "ok", "state", and "error" when failed or given. */
void cli_client_ack_members(json_t *line, const Hotline__V1__ActionAck *ack);

/* A frame the client does not take: counted as unexpected, logged at debug level. */
void cli_client_unknown_frame(struct cli_client *c, const Hotline__V1__Frame *frame);

/* Prints {"event":"command_error", message, line}. */
void cli_client_command_error(struct cli_client *c, const char *line, const char *message);

#endif
