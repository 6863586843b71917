/*
 * agent.c - hotline-agent: the call-centre agent terminal on the command line.
 *
 * Owns: one agent connection to hotlined's binary port on one libevent loop:
 * Hello as ROLE_AGENT; callbacks (回访: CallbackClaim -> CallbackTask, then
 * CallbackResult -> ActionAck) and Intake records, plain or resolved on the
 * call (直接办结), typed on stdin or driven by --auto; every answer matched
 * back to the request it answers and printed as one JSON line. The
 * connection itself and the end of the run are cli_conn.c's.
 * Never: reconnects (a lost connection ends the run; the callbacks it held
 * return to the queue after the server's claim timeout), holds more than
 * MAX_PENDING unanswered requests or MAX_OUTPUT queued bytes (stdin is read
 * no further until there is room), logs a caller's phone number (only the
 * task line on stdout carries it: the agent calls back), or touches
 * PostgreSQL or Redis.
 * Callers: call-centre staff and integrators (an example of the AGENT
 * protocol), scripts, tests/integration/test_callbacks.py.
 *
 * Matching answers: the daemon answers an agent connection's claims and
 * results one at a time in the order sent, so a CallbackTask (or an Error
 * naming neither a ticket nor a record) answers the oldest claim, and an
 * ActionAck (or an Error naming a ticket) the oldest result for that ticket.
 * IntakeAcks may come in any order and are matched by external_id.
 *
 * stdout: one JSON object per event, each with "at_ms" (unix ms) and "event":
 * welcome, task, no_task, result_ack, intake_ack, error, command_error,
 * disconnected, summary (always last). Diagnostics go to stderr (log.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "code.h"
#include "hotline.pb-c.h"
#include "cli_conn.h"
#include "cli_json.h"
#include "cli_opt.h"
#include "cli_stdin.h"
#include "log.h"
#include "utf8.h"

#define PROG "hotline-agent"
#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 12345
#define DEFAULT_AUTO_NOTE "hotline-agent --auto"
#define TOKEN_ENV "HOTLINE_AGENT_TOKEN"
#define DEFAULT_POLL_MS 1000	 /* --auto: wait after "no callback waiting" */
#define MAX_PENDING 4096	 /* requests sent and not yet answered */
#define MAX_OUTPUT (1024 * 1024) /* bytes queued to the daemon */
#define MAX_COMMAND_LINE 65536	 /* bytes in one stdin command */
#define MAX_TICKET_NO 31	 /* bytes in a ticket number (the daemon's limit) */
#define MAX_EXTERNAL_ID 128	 /* bytes in an external_id (the daemon's limit) */

enum pending_kind { PENDING_CLAIM, PENDING_RESULT, PENDING_INTAKE };

/* The outcome words of the command line, in proto CallbackOutcome order. */
static const char *const outcome_words[] = {
	[HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_SATISFIED] = "satisfied",
	[HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_BASICALLY_SATISFIED] = "basic",
	[HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_UNSATISFIED] = "unsatisfied",
	[HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_UNREACHABLE] = "unreachable",
};
#define OUTCOME_COUNT ((int)(sizeof(outcome_words) / sizeof(outcome_words[0])))

/* A request sent and not yet answered, in the order sent. */
struct pending {
	struct pending *prev, *next;
	enum pending_kind kind;
	bool automatic; /* sent by --auto */
	int outcome;	/* result */
	bool resolve;	/* intake resolved on the call */
	char key[];	/* ticket_no (result), external_id (intake), "" (claim) */
};

struct options {
	const char *host;
	int port;
	const char *id;
	const char *token;
	int auto_outcome; /* 0 = no --auto */
	const char *note;
	uint64_t count;	  /* results to record before exiting; 0 = no goal */
	double timeout_s; /* 0 = none */
	unsigned poll_ms;
};

struct stats {
	uint64_t claims_sent;
	uint64_t tasks;	  /* CallbackTask with a ticket */
	uint64_t no_task; /* CallbackTask without: nothing waiting */
	uint64_t results_sent;
	uint64_t results_ok;
	uint64_t results_failed; /* ActionAck ok=false, or an Error naming the ticket */
	uint64_t intakes_sent;
	uint64_t intakes_acked;
	uint64_t errors; /* Error frames */
	uint64_t unexpected;
};

struct agent {
	struct options opt;
	struct cli_conn conn; /* the connection, and how the run ends */
	struct event *poll;   /* --auto: claim again after "nothing waiting" */

	struct cli_stdin in; /* commands */

	struct pending *head, *tail;
	size_t pending;
	size_t auto_inflight; /* --auto claims and results unanswered */

	struct stats stats;
};

static void check_done(struct agent *a);
static void stdin_update(struct agent *a);
static void auto_next(struct agent *a);

/* ---- pending requests -------------------------------------------------- */

static struct pending *pending_add(struct agent *a, enum pending_kind kind, const char *key,
				   bool automatic)
{
	size_t len = strlen(key);
	struct pending *p = calloc(1, sizeof(*p) + len + 1);
	if (p == NULL)
		fatal("out of memory");
	p->kind = kind;
	p->automatic = automatic;
	memcpy(p->key, key, len + 1);
	p->prev = a->tail;
	if (a->tail)
		a->tail->next = p;
	else
		a->head = p;
	a->tail = p;
	a->pending++;
	if (automatic)
		a->auto_inflight++;
	return p;
}

/* The oldest pending request of kind with key, unlinked (the caller frees it); NULL if none. */
static struct pending *pending_take(struct agent *a, enum pending_kind kind, const char *key)
{
	for (struct pending *p = a->head; p; p = p->next) {
		if (p->kind != kind || strcmp(p->key, key) != 0)
			continue;
		if (p->prev)
			p->prev->next = p->next;
		else
			a->head = p->next;
		if (p->next)
			p->next->prev = p->prev;
		else
			a->tail = p->prev;
		a->pending--;
		if (p->automatic)
			a->auto_inflight--;
		return p;
	}
	return NULL;
}

static bool have_room(const struct agent *a)
{
	return a->pending < MAX_PENDING && cli_conn_output_queued(&a->conn) < MAX_OUTPUT;
}

/* ---- sending ------------------------------------------------------------ */

static void send_claim(struct agent *a, bool automatic)
{
	Hotline__V1__CallbackClaim claim = HOTLINE__V1__CALLBACK_CLAIM__INIT;
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_CALLBACK_CLAIM;
	frame.callback_claim = &claim;
	pending_add(a, PENDING_CLAIM, "", automatic);
	a->stats.claims_sent++;
	if (cli_conn_send(&a->conn, &frame) != 0)
		return; /* cli_conn_lost() ended the run: the request dies with it */
}

static void send_result(struct agent *a, const char *ticket_no, int outcome, const char *note,
			bool automatic)
{
	Hotline__V1__CallbackResult result = HOTLINE__V1__CALLBACK_RESULT__INIT;
	result.ticket_no = (char *)ticket_no;
	result.outcome = outcome;
	result.note = (char *)(note ? note : "");
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_CALLBACK_RESULT;
	frame.callback_result = &result;
	struct pending *p = pending_add(a, PENDING_RESULT, ticket_no, automatic);
	p->outcome = outcome;
	a->stats.results_sent++;
	if (cli_conn_send(&a->conn, &frame) != 0)
		return; /* cli_conn_lost() ended the run */
}

static void send_intake(struct agent *a, Hotline__V1__Intake *intake)
{
	Hotline__V1__Frame frame = HOTLINE__V1__FRAME__INIT;
	frame.msg_case = HOTLINE__V1__FRAME__MSG_INTAKE;
	frame.intake = intake;
	struct pending *p = pending_add(a, PENDING_INTAKE, intake->external_id, false);
	p->resolve = intake->resolved_on_call;
	a->stats.intakes_sent++;
	if (cli_conn_send(&a->conn, &frame) != 0)
		return; /* cli_conn_lost() ended the run */
}

/* ---- receiving ---------------------------------------------------------- */

static void on_welcome(struct agent *a, const Hotline__V1__Welcome *w)
{
	(void)cli_conn_welcomed(&a->conn); /* never a reconnection: an agent does not reconnect */
	log_info("welcomed by %s as agent %s", w->server ? w->server : "?", a->opt.id);
	json_t *ev = cli_json_event("welcome");
	cli_set_str(ev, "server", w->server);
	cli_set_int(ev, "version", w->version);
	cli_set_int(ev, "max_frame", w->max_frame);
	cli_set_int(ev, "window", w->window);
	cli_set_str(ev, "agent", a->opt.id);
	cli_conn_emit(&a->conn, ev);
	auto_next(a);
	stdin_update(a);
}

static void on_task(struct agent *a, const Hotline__V1__CallbackTask *t)
{
	struct pending *p = pending_take(a, PENDING_CLAIM, "");
	if (p == NULL)
		a->stats.unexpected++;
	bool automatic = p && p->automatic;
	free(p);
	const char *ticket_no = t->ticket_no ? t->ticket_no : "";
	if (ticket_no[0] == '\0') {
		a->stats.no_task++;
		cli_conn_emit(&a->conn, cli_json_event("no_task"));
		if (automatic && !a->conn.stopping && !a->conn.finishing) {
			struct timeval tv = cli_tv_ms(a->opt.poll_ms);
			evtimer_add(a->poll, &tv);
		}
		return;
	}
	a->stats.tasks++;
	json_t *ev = cli_json_event("task");
	cli_set_str(ev, "ticket_no", ticket_no);
	cli_set_str(ev, "caller_phone", t->caller_phone);
	cli_set_str(ev, "caller_name", t->caller_name);
	cli_set_str(ev, "category", t->category);
	cli_set_str(ev, "content", t->content);
	cli_set_str(ev, "reply", t->reply);
	cli_set_str(ev, "dept_code", t->dept_code);
	cli_set_int(ev, "attempt", t->attempt);
	cli_set_int(ev, "claimed_until", t->claimed_until);
	cli_conn_emit(&a->conn, ev);
	/* --auto records its outcome for every task, its own claims' and typed ones'. */
	if (a->opt.auto_outcome && !a->conn.finishing && strlen(ticket_no) <= MAX_TICKET_NO)
		send_result(a, ticket_no, a->opt.auto_outcome, a->opt.note, true);
}

static void on_action_ack(struct agent *a, const Hotline__V1__ActionAck *ack)
{
	const char *ticket_no = ack->ticket_no ? ack->ticket_no : "";
	struct pending *p = pending_take(a, PENDING_RESULT, ticket_no);
	if (p == NULL)
		a->stats.unexpected++;
	if (ack->ok)
		a->stats.results_ok++;
	else
		a->stats.results_failed++;
	json_t *ev = cli_json_event("result_ack");
	cli_set_str(ev, "ticket_no", ticket_no);
	if (p && p->outcome > 0 && p->outcome < OUTCOME_COUNT)
		cli_set_str(ev, "outcome", outcome_words[p->outcome]);
	json_object_set_new(ev, "ok", json_boolean(ack->ok));
	cli_set_str(ev, "state", cli_state_name(ack->state));
	if (!ack->ok || (ack->error && ack->error[0]))
		cli_set_str(ev, "error", ack->error);
	cli_conn_emit(&a->conn, ev);
	free(p);
}

static void on_intake_ack(struct agent *a, const Hotline__V1__IntakeAck *ack)
{
	const char *external_id = ack->external_id ? ack->external_id : "";
	struct pending *p = pending_take(a, PENDING_INTAKE, external_id);
	if (p == NULL)
		a->stats.unexpected++;
	a->stats.intakes_acked++;
	json_t *ev = cli_json_event("intake_ack");
	cli_set_str(ev, "external_id", external_id);
	cli_set_str(ev, "ticket_no", ack->ticket_no);
	json_object_set_new(ev, "duplicate", json_boolean(ack->duplicate));
	if (p)
		json_object_set_new(ev, "resolved", json_boolean(p->resolve));
	cli_conn_emit(&a->conn, ev);
	free(p);
}

/* Returns 0, or -1 when the connection is (about to be) gone. */
static int on_error(struct agent *a, const Hotline__V1__Error *err)
{
	a->stats.errors++;
	const char *ticket_no = err->ticket_no ? err->ticket_no : "";
	const char *external_id = err->external_id ? err->external_id : "";
	struct pending *p = NULL;
	const char *request = NULL;
	if (a->conn.state == CLI_CONN_READY) {
		if (ticket_no[0]) {
			p = pending_take(a, PENDING_RESULT, ticket_no);
			request = "result";
		} else if (external_id[0]) {
			p = pending_take(a, PENDING_INTAKE, external_id);
			request = p && p->resolve ? "resolve" : "intake";
		} else {
			p = pending_take(a, PENDING_CLAIM, "");
			request = "claim";
		}
	}
	json_t *ev = cli_json_event("error");
	cli_set_str(ev, "code", cli_error_code_name(err->code));
	cli_set_str(ev, "message", err->message);
	if (ticket_no[0])
		cli_set_str(ev, "ticket_no", ticket_no);
	if (external_id[0])
		cli_set_str(ev, "external_id", external_id);
	if (p)
		cli_set_str(ev, "request", request);
	cli_conn_emit(&a->conn, ev);
	if (p && p->kind == PENDING_RESULT)
		a->stats.results_failed++;
	bool auto_claim = p && p->automatic && p->kind == PENDING_CLAIM;
	free(p);
	if (a->conn.state == CLI_CONN_HELLO) {
		log_error("refused by %s:%d: %s: %s", a->opt.host, a->opt.port,
			  cli_error_code_name(err->code), err->message ? err->message : "");
		cli_conn_finish(&a->conn, 1);
		return -1;
	}
	if (auto_claim && !a->conn.stopping && !a->conn.finishing) {
		/* The queue is unavailable for now: try again after a pause. */
		struct timeval tv = cli_tv_ms(a->opt.poll_ms);
		evtimer_add(a->poll, &tv);
	}
	return 0;
}

/* cli_conn: one frame (in CLI_CONN_HELLO only Welcome or Error). */
static void on_frame(void *arg, const Hotline__V1__Frame *frame)
{
	struct agent *a = arg;
	switch (frame->msg_case) {
	case HOTLINE__V1__FRAME__MSG_WELCOME:
		if (a->conn.state != CLI_CONN_HELLO) {
			a->stats.unexpected++;
			return;
		}
		on_welcome(a, frame->welcome);
		break;
	case HOTLINE__V1__FRAME__MSG_CALLBACK_TASK:
		on_task(a, frame->callback_task);
		break;
	case HOTLINE__V1__FRAME__MSG_ACTION_ACK:
		on_action_ack(a, frame->action_ack);
		break;
	case HOTLINE__V1__FRAME__MSG_INTAKE_ACK:
		on_intake_ack(a, frame->intake_ack);
		break;
	case HOTLINE__V1__FRAME__MSG_ERROR:
		if (on_error(a, frame->error) != 0)
			return;
		break;
	default:
		a->stats.unexpected++;
		log_debug("ignoring a frame of kind %d", (int)frame->msg_case);
		break;
	}
	auto_next(a);
}

/* cli_conn: after the frames of one read. */
static void on_read_done(void *arg)
{
	struct agent *a = arg;
	check_done(a);
	stdin_update(a);
}

/* cli_conn: the output drained to half of MAX_OUTPUT: room for commands again. */
static void on_writable(void *arg)
{
	struct agent *a = arg;
	stdin_update(a);
}

/* ---- --auto ------------------------------------------------------------- */

/* --auto: claim the next callback when nothing of ours is in flight. */
static void auto_next(struct agent *a)
{
	if (!a->opt.auto_outcome || !cli_conn_accepting(&a->conn) || a->auto_inflight > 0 ||
	    evtimer_pending(a->poll, NULL) || !have_room(a))
		return;
	if (a->opt.count && a->stats.results_ok + a->stats.results_failed >= a->opt.count)
		return;
	send_claim(a, true);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	auto_next(a);
}

/* ---- connection ----------------------------------------------------------- */

static void on_connected(void *arg)
{
	struct agent *a = arg;
	if (cli_conn_send_hello(&a->conn, HOTLINE__V1__ROLE__ROLE_AGENT, a->opt.id, a->opt.token) !=
	    0)
		check_done(a);
}

/* cli_conn: the connection is gone, and with it the run (an agent does not reconnect). */
static void on_lost(void *arg, const char *why, bool was_ready)
{
	struct agent *a = arg;
	if (!was_ready)
		return;
	json_t *ev = cli_json_event("disconnected");
	cli_set_str(ev, "reason", why);
	cli_set_int(ev, "pending", (json_int_t)a->pending);
	cli_conn_emit(&a->conn, ev);
}

/* ---- stdin commands --------------------------------------------------------- */

static void command_error(struct agent *a, const char *line, const char *message)
{
	json_t *ev = cli_json_event("command_error");
	cli_set_str(ev, "message", message);
	cli_set_str(ev, "line", line);
	cli_conn_emit(&a->conn, ev);
}

/* "satisfied", "basic" / "basically_satisfied", "unsatisfied", "unreachable" -> outcome; 0 if none.
 */
static int outcome_from_word(const char *word)
{
	if (word == NULL)
		return 0;
	if (strcmp(word, "basically_satisfied") == 0)
		return HOTLINE__V1__CALLBACK_OUTCOME__CALLBACK_OUTCOME_BASICALLY_SATISFIED;
	for (int i = 1; i < OUTCOME_COUNT; i++)
		if (outcome_words[i] && strcmp(word, outcome_words[i]) == 0)
			return i;
	return 0;
}

static bool external_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MAX_EXTERNAL_ID)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return false;
	return true;
}

#define INTAKE_USAGE                                                                       \
	"usage: intake [--phone P] [--name N] [--district D] [--address A] [--channel C] " \
	"[--priority normal|urgent|critical] EXTERNAL_ID CATEGORY CONTENT..."
#define RESOLVE_USAGE                                                                       \
	"usage: resolve [--phone P] [--name N] [--district D] [--address A] [--channel C] " \
	"[--priority normal|urgent|critical] EXTERNAL_ID CATEGORY ANSWER... -- CONTENT..."

/*
 * intake / resolve: leading --key VALUE options (one word each), then
 * EXTERNAL_ID, CATEGORY ("-" for none) and the text: CONTENT..., or for
 * resolve ANSWER... -- CONTENT... ("--" standing alone as a word).
 */
static void command_intake(struct agent *a, const char *line, char *rest, bool resolve)
{
	const char *usage = resolve ? RESOLVE_USAGE : INTAKE_USAGE;
	Hotline__V1__Intake in = HOTLINE__V1__INTAKE__INIT;
	in.channel = (char *)"phone";
	char *word;
	while ((word = cli_next_word(&rest)) != NULL && strncmp(word, "--", 2) == 0 && word[2]) {
		char *value = cli_next_word(&rest);
		if (value == NULL) {
			command_error(a, line, usage);
			return;
		}
		if (strcmp(word, "--phone") == 0) {
			in.caller_phone = value;
		} else if (strcmp(word, "--name") == 0) {
			in.caller_name = value;
		} else if (strcmp(word, "--district") == 0) {
			in.district = value;
		} else if (strcmp(word, "--address") == 0) {
			in.address = value;
		} else if (strcmp(word, "--channel") == 0) {
			in.channel = value;
		} else if (strcmp(word, "--priority") == 0) {
			if (strcmp(value, "normal") == 0)
				in.priority = HOTLINE__V1__PRIORITY__PRIORITY_NORMAL;
			else if (strcmp(value, "urgent") == 0)
				in.priority = HOTLINE__V1__PRIORITY__PRIORITY_URGENT;
			else if (strcmp(value, "critical") == 0)
				in.priority = HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL;
			else {
				command_error(a, line, usage);
				return;
			}
		} else {
			command_error(a, line, usage);
			return;
		}
	}
	char *external_id = word;
	char *category = cli_next_word(&rest);
	if (external_id == NULL || category == NULL || *rest == '\0') {
		command_error(a, line, usage);
		return;
	}
	if (!external_id_ok(external_id)) {
		command_error(
			a, line,
			"EXTERNAL_ID must be 1-128 printable ASCII characters without spaces");
		return;
	}
	in.external_id = external_id;
	in.category = strcmp(category, "-") == 0 ? (char *)"" : category;
	if (resolve) {
		/* ANSWER... -- CONTENT... */
		char *sep = NULL;
		for (char *p = rest; (p = strstr(p, "--")) != NULL; p += 2) {
			bool starts = p == rest || p[-1] == ' ' || p[-1] == '\t';
			bool ends = p[2] == '\0' || p[2] == ' ' || p[2] == '\t';
			if (starts && ends) {
				sep = p;
				break;
			}
		}
		if (sep == NULL) {
			command_error(a, line, usage);
			return;
		}
		*sep = '\0';
		char *content = sep + 2;
		while (*content == ' ' || *content == '\t')
			content++;
		cli_trim_end(rest);
		cli_trim_end(content);
		if (rest[0] == '\0' || content[0] == '\0') {
			command_error(a, line, usage);
			return;
		}
		in.resolved_on_call = true;
		in.answer = rest;
		in.content = content;
	} else {
		cli_trim_end(rest);
		in.content = rest;
	}
	send_intake(a, &in);
}

/* cli_stdin: runs one command line (modified in place). */
static void run_command(void *arg, char *line)
{
	struct agent *a = arg;
	char *copy = strdup(line);
	if (copy == NULL)
		fatal("out of memory");
	char *rest = line;
	char *cmd = cli_next_word(&rest);
	if (cmd == NULL || cmd[0] == '#')
		goto out;
	if (strcmp(cmd, "quit") == 0) {
		cli_conn_stop(&a->conn, "quit");
	} else if (strcmp(cmd, "claim") == 0) {
		if (*rest != '\0')
			command_error(a, copy, "usage: claim");
		else
			send_claim(a, false);
	} else if (strcmp(cmd, "result") == 0) {
		char *ticket_no = cli_next_word(&rest);
		int outcome = outcome_from_word(cli_next_word(&rest));
		if (ticket_no == NULL || strlen(ticket_no) > MAX_TICKET_NO || outcome == 0) {
			command_error(a, copy,
				      "usage: result TICKET_NO satisfied|basic|unsatisfied|"
				      "unreachable [NOTE...]");
			goto out;
		}
		cli_trim_end(rest);
		send_result(a, ticket_no, outcome, rest, false);
	} else if (strcmp(cmd, "intake") == 0 || strcmp(cmd, "resolve") == 0) {
		command_intake(a, copy, rest, cmd[0] == 'r');
	} else {
		command_error(a, copy, "unknown command (claim, result, intake, resolve or quit)");
	}
out:
	free(copy);
}

/* Whether the next command may run: a connection that takes requests, and room. */
static bool may_run_command(void *arg)
{
	const struct agent *a = arg;
	return cli_conn_accepting(&a->conn) && have_room(a);
}

static void command_too_long(void *arg)
{
	command_error(arg, "", "command line too long");
}

/* Runs buffered commands and re-arms stdin; without --auto the end of input stops the run. */
static void stdin_update(struct agent *a)
{
	cli_stdin_update(&a->in);
	if (a->in.buf != NULL && !a->in.open && !a->conn.stopping &&
	    cli_stdin_buffered(&a->in) == 0 && !a->opt.auto_outcome &&
	    a->conn.state == CLI_CONN_READY)
		cli_conn_stop(&a->conn, "end of input");
}

/* After each read of stdin, and at its end. */
static void on_stdin(void *arg)
{
	struct agent *a = arg;
	stdin_update(a);
	check_done(a);
}

/* ---- run control -------------------------------------------------------- */

/* Called after every event: ends the run when its goal is reached. */
static void check_done(struct agent *a)
{
	if (cli_conn_check_stop(&a->conn))
		return;
	uint64_t answered = a->stats.results_ok + a->stats.results_failed;
	if (a->opt.count > 0 && answered >= a->opt.count && a->pending == 0)
		cli_conn_finish(&a->conn, a->stats.results_failed == 0 ? 0 : 1);
}

static void check_done_cb(void *arg)
{
	check_done(arg);
}

/* cli_conn: quit, a signal or the end of input: no new requests. */
static void on_stop(void *arg)
{
	struct agent *a = arg;
	evtimer_del(a->poll);
	stdin_update(a);
	check_done(a);
}

/* cli_conn: the run is finishing: no more commands or claims. */
static void on_finish(void *arg)
{
	struct agent *a = arg;
	cli_stdin_want(&a->in, false);
	evtimer_del(a->poll);
}

static void on_deadline(void *arg)
{
	struct agent *a = arg;
	log_error("timed out after %.1f s: %" PRIu64 " results answered, %zu requests unanswered",
		  a->opt.timeout_s, a->stats.results_ok + a->stats.results_failed, a->pending);
}

static size_t unanswered(void *arg)
{
	const struct agent *a = arg;
	return a->pending;
}

static const struct cli_stdin_ops agent_stdin_ops = {
	.on_input = on_stdin,
	.may_run = may_run_command,
	.run_line = run_command,
	.too_long = command_too_long,
};

static const struct cli_conn_ops agent_conn_ops = {
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

static void print_summary(struct agent *a)
{
	const struct stats *st = &a->stats;
	json_t *ev = cli_json_event("summary");
	cli_set_int(ev, "claims", (json_int_t)st->claims_sent);
	cli_set_int(ev, "tasks", (json_int_t)st->tasks);
	cli_set_int(ev, "no_task", (json_int_t)st->no_task);
	cli_set_int(ev, "results_sent", (json_int_t)st->results_sent);
	cli_set_int(ev, "results_ok", (json_int_t)st->results_ok);
	cli_set_int(ev, "results_failed", (json_int_t)st->results_failed);
	cli_set_int(ev, "intakes_sent", (json_int_t)st->intakes_sent);
	cli_set_int(ev, "intakes_acked", (json_int_t)st->intakes_acked);
	cli_set_int(ev, "pending", (json_int_t)a->pending);
	cli_set_int(ev, "errors", (json_int_t)st->errors);
	cli_set_int(ev, "unexpected", (json_int_t)st->unexpected);
	cli_set_int(ev, "exit", a->conn.exit_code);
	char *line = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (line == NULL || puts(line) == EOF || fflush(stdout) == EOF)
		a->conn.exit_code = 1;
	free(line);
}

/* ---- options ------------------------------------------------------------- */

static void usage(FILE *out)
{
	fputs("usage: hotline-agent --id AGENT_ID [--token TOKEN] [--host H] [--port P]\n"
	      "                     [--auto satisfied|basic|unsatisfied|unreachable] [--note "
	      "TEXT]\n"
	      "                     [--count N] [--timeout SEC] [--poll-ms MS]\n"
	      "\n"
	      "The agent terminal of hotline12345 on the command line: connects to hotlined's\n"
	      "binary port as an agent, claims callbacks (回访) and records how they went, and\n"
	      "takes calls as Intake records, closing those answered on the spot (直接办结).\n"
	      "\n"
	      "options:\n"
	      "      --host H           hotlined host (default 127.0.0.1)\n"
	      "      --port P           binary port (default 12345)\n"
	      "      --id AGENT_ID      the agent's id (Hello.id; letters, digits, '_', '-');\n"
	      "                         required\n"
	      "      --token TOKEN      the [agents] token (default: $" TOKEN_ENV ")\n"
	      "      --auto OUTCOME     claim callbacks one after another and record OUTCOME\n"
	      "                         for each (satisfied, basic, unsatisfied, unreachable);\n"
	      "                         when none is waiting, claim again after --poll-ms\n"
	      "      --note TEXT        the note --auto records (default \"" DEFAULT_AUTO_NOTE
	      "\")\n"
	      "      --count N          exit once N callback results were answered (exit 0 if\n"
	      "                         all were recorded)\n"
	      "      --timeout SEC      exit 1 if not done within SEC seconds\n"
	      "      --poll-ms MS       --auto: wait after \"nothing waiting\" (default 1000)\n"
	      "  -h, --help             this text\n"
	      "      --version          print the version\n"
	      "\n"
	      "stdin commands, one per line (unless stdin is /dev/null):\n"
	      "  claim                  the next callback: a task line, or no_task\n"
	      "  result TICKET_NO satisfied|basic|unsatisfied|unreachable [NOTE...]\n"
	      "                         how the callback of a claimed ticket went\n"
	      "  intake [OPTS] EXTERNAL_ID CATEGORY CONTENT...\n"
	      "                         a new request taken on the phone\n"
	      "  resolve [OPTS] EXTERNAL_ID CATEGORY ANSWER... -- CONTENT...\n"
	      "                         a request answered on the call: stored closed\n"
	      "  quit                   wait (up to 10 s) for answers, then exit\n"
	      "OPTS: --phone P --name N --district D --address A --channel C (default phone)\n"
	      "--priority normal|urgent|critical; each value one word. CATEGORY '-' = none.\n"
	      "Without --auto the end of stdin ends the run once every request is answered.\n"
	      "\n"
	      "stdout: one JSON object per line with \"at_ms\" (unix ms) and \"event\", one of\n"
	      "welcome, task, no_task, result_ack, intake_ack, error, command_error,\n"
	      "disconnected, summary (always last). A task line carries the caller's phone in\n"
	      "full: the agent calls back. Logs go to stderr.\n"
	      "Exit status: 0 done, 1 refused, connection lost, timeout, a --count result not\n"
	      "recorded, or requests unanswered at exit; 2 usage.\n",
	      out);
}

enum {
	OPT_HOST = 0x100,
	OPT_PORT,
	OPT_ID,
	OPT_TOKEN,
	OPT_AUTO,
	OPT_NOTE,
	OPT_COUNT,
	OPT_TIMEOUT,
	OPT_POLL_MS,
	OPT_VERSION
};

static void parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, OPT_HOST },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "id", required_argument, NULL, OPT_ID },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "auto", required_argument, NULL, OPT_AUTO },
		{ "note", required_argument, NULL, OPT_NOTE },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "poll-ms", required_argument, NULL, OPT_POLL_MS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct options){
		.host = DEFAULT_HOST,
		.port = DEFAULT_PORT,
		.note = DEFAULT_AUTO_NOTE,
		.poll_ms = DEFAULT_POLL_MS,
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HOST:
			o->host = optarg;
			break;
		case OPT_PORT:
			o->port = (int)cli_parse_uint(PROG, optarg, "--port", 1, 65535);
			break;
		case OPT_ID:
			o->id = optarg;
			break;
		case OPT_TOKEN:
			o->token = optarg;
			break;
		case OPT_AUTO:
			o->auto_outcome = outcome_from_word(optarg);
			if (o->auto_outcome == 0)
				cli_usage_error(PROG,
						"--auto takes satisfied, basic, unsatisfied or "
						"unreachable, not '%s'",
						optarg);
			break;
		case OPT_NOTE:
			if (!utf8_valid(optarg, strlen(optarg)) || strlen(optarg) > 8192)
				cli_usage_error(PROG, "%s",
						"--note must be valid UTF-8 of at most 8192 bytes");
			o->note = optarg;
			break;
		case OPT_COUNT:
			o->count = cli_parse_uint(PROG, optarg, "--count", 1, UINT64_MAX);
			break;
		case OPT_TIMEOUT:
			o->timeout_s = cli_parse_timeout(PROG, optarg);
			break;
		case OPT_POLL_MS:
			o->poll_ms =
				(unsigned)cli_parse_uint(PROG, optarg, "--poll-ms", 10, 3600000);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("%s %s\n", PROG, HOTLINE_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		cli_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
	if (o->id == NULL)
		cli_usage_error(PROG, "%s", "--id AGENT_ID is required");
	if (!code_valid(o->id))
		cli_usage_error(PROG, "invalid --id '%s' (1-64 letters, digits, '_' or '-')",
				o->id);
	o->token = cli_token(PROG, o->token, TOKEN_ENV);
}

int main(int argc, char **argv)
{
	log_set_ident(PROG);
	struct agent *a = calloc(1, sizeof(*a));
	if (a == NULL)
		fatal("out of memory");
	parse_options(&a->opt, argc, argv);

	const struct cli_conn_config cfg = {
		.host = a->opt.host,
		.port = a->opt.port,
		.max_output = MAX_OUTPUT,
		.reconnect = false, /* a lost connection ends the run */
		.timeout_s = a->opt.timeout_s,
		.requests = "requests",
	};
	cli_conn_setup(&a->conn, &cfg, &agent_conn_ops, a);
	a->poll = evtimer_new(a->conn.base, poll_cb, a);
	if (a->poll == NULL)
		fatal("cannot set up the event loop");
	cli_stdin_setup(&a->in, a->conn.base, MAX_COMMAND_LINE, &agent_stdin_ops, a);
	log_info("connecting to %s:%d as agent %s", a->opt.host, a->opt.port, a->opt.id);
	cli_conn_run(&a->conn);

	print_summary(a);
	int exit_code = a->conn.exit_code;
	while (a->head) {
		struct pending *p = a->head;
		a->head = p->next;
		free(p);
	}
	cli_stdin_free(&a->in);
	event_free(a->poll);
	cli_conn_free(&a->conn);
	free(a);
	return exit_code;
}
