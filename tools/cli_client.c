/*
 * cli_client.c - the skeleton of a reference client; see cli_client.h.
 *
 * It implements struct cli_conn_ops and struct cli_stdin_ops once for both
 * clients and calls the client's struct cli_client_ops only where they differ.
 */
#include "cli_client.h"

#include <stdlib.h>
#include <string.h>

#include "cli_json.h"
#include "cli_opt.h"
#include "code.h"
#include "log.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 12345

/* ---- room, the goal, stdin ------------------------------------------------ */

bool cli_client_has_room(const struct cli_client *c)
{
	size_t held = c->ops->held ? c->ops->held(c->arg) : c->ops->unanswered(c->arg);
	return held < c->cfg->max_requests && cli_conn_output_queued(&c->conn) < c->cfg->max_output;
}

/* Called after every event: ends the run when it is stopping and done, or its goal is reached. */
static void check_done(struct cli_client *c)
{
	if (cli_conn_check_stop(&c->conn))
		return;
	int exit_code = c->ops->goal_reached(c->arg);
	if (exit_code >= 0)
		cli_conn_finish(&c->conn, exit_code);
}

/* Runs buffered commands and re-arms stdin; with end_of_input_stops, the end of input stops. */
static void stdin_update(struct cli_client *c)
{
	cli_stdin_update(&c->in);
	if (c->end_of_input_stops && c->in.buf != NULL && !c->in.open && !c->conn.stopping &&
	    cli_stdin_buffered(&c->in) == 0 && c->conn.state == CLI_CONN_READY)
		cli_conn_stop(&c->conn, "end of input");
}

/* ---- lines ------------------------------------------------------------------- */

void cli_client_command_error(struct cli_client *c, const char *line, const char *message)
{
	json_t *ev = cli_json_event("command_error");
	cli_set_str(ev, "message", message);
	cli_set_str(ev, "line", line);
	cli_conn_emit(&c->conn, ev);
}

bool cli_client_error_is_temporary(int code)
{
	return code == HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE ||
	       code == HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL;
}

json_t *cli_client_error_line(struct cli_client *c, const Hotline__V1__Error *err)
{
	c->errors++;
	json_t *ev = cli_json_event("error");
	cli_set_str(ev, "code", cli_error_code_name(err->code));
	cli_set_str(ev, "message", err->message);
	if (err->ticket_no && err->ticket_no[0])
		cli_set_str(ev, "ticket_no", err->ticket_no);
	return ev;
}

void cli_client_refused(struct cli_client *c, const Hotline__V1__Error *err)
{
	log_error("refused by %s:%d: %s: %s", c->opt.host, c->opt.port,
		  cli_error_code_name(err->code), err->message ? err->message : "");
	if (c->reconnect && cli_client_error_is_temporary(err->code))
		cli_conn_lost(&c->conn, "refused for now");
	else
		cli_conn_finish(&c->conn, 1);
}

void cli_client_ack_members(json_t *line, const Hotline__V1__ActionAck *ack)
{
	json_object_set_new(line, "ok", json_boolean(ack->ok));
	cli_set_str(line, "state", cli_state_name(ack->state));
	if (!ack->ok || (ack->error && ack->error[0]))
		cli_set_str(line, "error", ack->error);
}

void cli_client_unknown_frame(struct cli_client *c, const Hotline__V1__Frame *frame)
{
	c->unexpected++;
	log_debug("ignoring a frame of kind %d", (int)frame->msg_case);
}

static void print_summary(struct cli_client *c)
{
	json_t *ev = cli_json_event("summary");
	c->ops->summary_members(c->arg, ev);
	cli_set_int(ev, c->cfg->pending_key, (json_int_t)c->ops->unanswered(c->arg));
	cli_set_int(ev, "errors", (json_int_t)c->errors);
	cli_set_int(ev, "unexpected", (json_int_t)c->unexpected);
	if (c->cfg->summary_reconnects)
		cli_set_int(ev, "reconnects", (json_int_t)c->reconnects);
	cli_set_int(ev, "exit", c->conn.exit_code);
	if (cli_emit_line(ev, true) != 0)
		c->conn.exit_code = 1;
}

/* ---- cli_conn callbacks --------------------------------------------------- */

static void on_connected(void *arg)
{
	struct cli_client *c = arg;
	if (cli_conn_send_hello(&c->conn, c->cfg->role, c->opt.id, c->opt.token) != 0)
		check_done(c); /* the connection is lost already */
}

static void on_welcome(struct cli_client *c, const Hotline__V1__Welcome *w)
{
	if (cli_conn_welcomed(&c->conn))
		c->reconnects++;
	log_info("welcomed by %s as %s %s", w->server ? w->server : "?", c->cfg->role_name,
		 c->opt.id);
	json_t *ev = cli_json_event("welcome");
	cli_set_str(ev, "server", w->server);
	cli_set_int(ev, "version", w->version);
	cli_set_int(ev, "max_frame", w->max_frame);
	cli_set_int(ev, "window", w->window);
	if (c->ops->welcome_members)
		c->ops->welcome_members(c->arg, w, ev);
	cli_set_str(ev, c->cfg->id_key, c->opt.id);
	cli_conn_emit(&c->conn, ev);
	c->ops->on_welcome(c->arg, w);
	stdin_update(c);
}

/* One frame (in CLI_CONN_HELLO only Welcome or Error). */
static void on_frame(void *arg, const Hotline__V1__Frame *frame)
{
	struct cli_client *c = arg;
	if (frame->msg_case != HOTLINE__V1__FRAME__MSG_WELCOME) {
		c->ops->on_frame(c->arg, frame);
		return;
	}
	if (c->conn.state != CLI_CONN_HELLO) {
		c->unexpected++;
		return;
	}
	on_welcome(c, frame->welcome);
}

/* After the frames of one read. */
static void on_read_done(void *arg)
{
	struct cli_client *c = arg;
	if (c->ops->on_read_done)
		c->ops->on_read_done(c->arg);
	check_done(c);
	stdin_update(c);
}

/* The output drained to half of max_output: room for commands again. */
static void on_writable(void *arg)
{
	stdin_update(arg);
}

static void on_lost(void *arg, const char *why, bool was_ready)
{
	struct cli_client *c = arg;
	if (c->ops->on_lost)
		c->ops->on_lost(c->arg);
	stdin_update(c);
	if (!was_ready)
		return;
	json_t *ev = cli_json_event("disconnected");
	cli_set_str(ev, "reason", why);
	cli_set_int(ev, c->cfg->pending_key, (json_int_t)c->ops->unanswered(c->arg));
	cli_conn_emit(&c->conn, ev);
}

static void check_done_cb(void *arg)
{
	check_done(arg);
}

/* quit, a signal or (end_of_input_stops) the end of input: no new requests. */
static void on_stop(void *arg)
{
	struct cli_client *c = arg;
	if (c->ops->stop_timers)
		c->ops->stop_timers(c->arg);
	stdin_update(c);
	check_done(c);
}

/* The run is finishing: no more commands (requests still queued go out first). */
static void on_finish(void *arg)
{
	struct cli_client *c = arg;
	cli_stdin_want(&c->in, false);
	if (c->ops->stop_timers)
		c->ops->stop_timers(c->arg);
}

static void on_deadline(void *arg)
{
	struct cli_client *c = arg;
	c->ops->on_deadline(c->arg);
}

static size_t unanswered(void *arg)
{
	struct cli_client *c = arg;
	return c->ops->unanswered(c->arg);
}

static const struct cli_conn_ops client_conn_ops = {
	.on_connected = on_connected,
	.on_frame = on_frame,
	.on_read_done = on_read_done,
	.on_writable = on_writable,
	.on_lost = on_lost,
	.check_done = check_done_cb,
	.on_stop = on_stop,
	.on_finish = on_finish,
	.on_deadline = on_deadline,
	.unanswered = unanswered,
};

/* ---- cli_stdin callbacks ------------------------------------------------- */

/* After each read of stdin, and at its end. */
static void on_stdin(void *arg)
{
	struct cli_client *c = arg;
	stdin_update(c);
	check_done(c);
}

/* Whether the next command may run: a connection that takes requests, and room. */
static bool may_run_command(void *arg)
{
	const struct cli_client *c = arg;
	return cli_conn_accepting(&c->conn) && cli_client_has_room(c);
}

/* One command line (modified in place): comments and quit here, the rest the client's. */
static void run_line(void *arg, char *line)
{
	struct cli_client *c = arg;
	char *copy = strdup(line);
	if (copy == NULL)
		fatal("out of memory");
	char *rest = line;
	char *cmd = cli_next_word(&rest);
	if (cmd == NULL || cmd[0] == '#')
		; /* a blank line or a comment */
	else if (strcmp(cmd, "quit") == 0)
		cli_conn_stop(&c->conn, "quit");
	else
		c->ops->run_command(c->arg, copy, cmd, rest);
	free(copy);
}

static void command_too_long(void *arg)
{
	cli_client_command_error(arg, "", "command line too long");
}

static const struct cli_stdin_ops client_stdin_ops = {
	.on_input = on_stdin,
	.may_run = may_run_command,
	.run_line = run_line,
	.too_long = command_too_long,
};

/* ---- life cycle ------------------------------------------------------------ */

void cli_client_init(struct cli_client *c, const struct cli_client_config *cfg,
		     const struct cli_client_ops *ops, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->ops = ops;
	c->arg = arg;
	c->opt.host = DEFAULT_HOST;
	c->opt.port = DEFAULT_PORT;
}

/* One common option; anything else goes to the client, or is a usage error. */
static void parse_option(struct cli_client *c, int opt, char *value)
{
	const char *prog = c->cfg->prog;
	switch (opt) {
	case CLI_OPT_HOST:
		c->opt.host = value;
		break;
	case CLI_OPT_PORT:
		c->opt.port = (int)cli_parse_uint(prog, value, "--port", 1, 65535);
		break;
	case CLI_OPT_ID:
		c->opt.id = value;
		break;
	case CLI_OPT_TOKEN:
		c->opt.token = value;
		break;
	case CLI_OPT_COUNT:
		c->opt.count = cli_parse_uint(prog, value, "--count", 1, UINT64_MAX);
		break;
	case CLI_OPT_TIMEOUT:
		c->opt.timeout_s = cli_parse_timeout(prog, value);
		break;
	case 'h':
		c->cfg->usage(stdout);
		exit(0);
	case CLI_OPT_VERSION:
		printf("%s %s\n", prog, HOTLINE_VERSION);
		exit(0);
	default:
		if (opt >= CLI_OPT_OWN && c->ops->option(c->arg, opt, value))
			break;
		c->cfg->usage(stderr);
		exit(2);
	}
}

void cli_client_parse_options(struct cli_client *c, const struct option *longopts, int argc,
			      char **argv)
{
	const struct cli_client_config *cfg = c->cfg;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
		parse_option(c, opt, optarg);
	if (optind < argc)
		cli_usage_error(cfg->prog, "unexpected argument '%s'", argv[optind]);
	if (c->opt.id == NULL)
		cli_usage_error(cfg->prog, "%s %s is required", cfg->id_option, cfg->id_meta);
	if (!code_valid(c->opt.id))
		cli_usage_error(cfg->prog, "invalid %s '%s' (1-64 letters, digits, '_' or '-')",
				cfg->id_option, c->opt.id);
	c->opt.token = cli_token(cfg->prog, c->opt.token, cfg->token_env);
}

void cli_client_setup(struct cli_client *c)
{
	const struct cli_conn_config conn_cfg = {
		.host = c->opt.host,
		.port = c->opt.port,
		.max_output = c->cfg->max_output,
		.reconnect = c->reconnect,
		.timeout_s = c->opt.timeout_s,
		.requests = c->cfg->requests,
	};
	cli_conn_setup(&c->conn, &conn_cfg, &client_conn_ops, c);
	cli_stdin_setup(&c->in, c->conn.base, c->cfg->max_command_line, &client_stdin_ops, c);
}

int cli_client_run(struct cli_client *c)
{
	log_info("connecting to %s:%d as %s %s", c->opt.host, c->opt.port, c->cfg->role_name,
		 c->opt.id);
	cli_conn_run(&c->conn);
	print_summary(c);
	return c->conn.exit_code;
}

void cli_client_free(struct cli_client *c)
{
	cli_stdin_free(&c->in);
	cli_conn_free(&c->conn);
}
