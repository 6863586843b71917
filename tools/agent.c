/*
 * agent.c - hotline-agent: the call-centre agent terminal on the command line.
 * A command line that names a command of the HTTP API (show, create, desk, ...)
 * is tools/agent_http.c's; without one, this file's binary-port terminal runs.
 *
 * Owns: one agent connection to hotlined's binary port on one libevent loop:
 * Hello as ROLE_AGENT; callbacks (回访: CallbackClaim -> CallbackTask, then
 * CallbackResult -> ActionAck) and Intake records, plain or resolved on the
 * call (直接办结), typed on stdin or driven by --auto; every answer matched
 * back to the request it answers and printed as one JSON line. What every
 * reference client does alike (options, the run, Hello and Welcome, stdin
 * lines, the summary) is cli_client.c's.
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
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "hotline.pb-c.h"
#include "agent_http.h"
#include "cli_client.h"
#include "cli_json.h"
#include "cli_opt.h"
#include "cli_queue.h"
#include "cli_stdin.h"
#include "log.h"
#include "utf8.h"

#define PROG "hotline-agent"
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
	struct cli_link link; /* in agent.pending */
	enum pending_kind kind;
	bool automatic; /* sent by --auto */
	int outcome;	/* result */
	bool resolve;	/* intake resolved on the call */
	char key[];	/* ticket_no (result), external_id (intake), "" (claim) */
};

/* The options of its own (--count, results to record before exiting, is cli_client's). */
struct options {
	int auto_outcome; /* 0 = no --auto */
	const char *note;
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
};

struct agent {
	struct options opt;
	struct cli_client cli; /* the options, connection, stdin and run every client has */
	struct event *poll;    /* --auto: claim again after "nothing waiting" */

	struct cli_queue pending; /* of struct pending, oldest first */
	size_t auto_inflight;	  /* --auto claims and results unanswered */

	struct stats stats;
};

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
	cli_queue_append(&a->pending, &p->link);
	if (automatic)
		a->auto_inflight++;
	return p;
}

/* The oldest pending request of kind with key, unlinked (the caller frees it); NULL if none. */
static struct pending *pending_take(struct agent *a, enum pending_kind kind, const char *key)
{
	for (struct cli_link *l = a->pending.head; l; l = l->next) {
		struct pending *p = CLI_QUEUE_ENTRY(l, struct pending, link);
		if (p->kind != kind || strcmp(p->key, key) != 0)
			continue;
		cli_queue_remove(&a->pending, l);
		if (p->automatic)
			a->auto_inflight--;
		return p;
	}
	return NULL;
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
	if (cli_conn_send(&a->cli.conn, &frame) != 0)
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
	if (cli_conn_send(&a->cli.conn, &frame) != 0)
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
	if (cli_conn_send(&a->cli.conn, &frame) != 0)
		return; /* cli_conn_lost() ended the run */
}

/* ---- receiving ---------------------------------------------------------- */

/* cli_client: welcomed (the welcome line is out). */
static void on_welcome(void *arg, const Hotline__V1__Welcome *w)
{
	auto_next(arg);
}

static void on_task(struct agent *a, const Hotline__V1__CallbackTask *t)
{
	struct pending *p = pending_take(a, PENDING_CLAIM, "");
	if (p == NULL)
		a->cli.unexpected++;
	bool automatic = p && p->automatic;
	free(p);
	const char *ticket_no = t->ticket_no ? t->ticket_no : "";
	if (ticket_no[0] == '\0') {
		a->stats.no_task++;
		cli_conn_emit(&a->cli.conn, cli_json_event("no_task"));
		if (automatic && !a->cli.conn.stopping && !a->cli.conn.finishing) {
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
	cli_conn_emit(&a->cli.conn, ev);
	/* --auto records its outcome for every task, its own claims' and typed ones'. */
	if (a->opt.auto_outcome && !a->cli.conn.finishing && strlen(ticket_no) <= MAX_TICKET_NO)
		send_result(a, ticket_no, a->opt.auto_outcome, a->opt.note, true);
}

static void on_action_ack(struct agent *a, const Hotline__V1__ActionAck *ack)
{
	const char *ticket_no = ack->ticket_no ? ack->ticket_no : "";
	struct pending *p = pending_take(a, PENDING_RESULT, ticket_no);
	if (p == NULL)
		a->cli.unexpected++;
	if (ack->ok)
		a->stats.results_ok++;
	else
		a->stats.results_failed++;
	json_t *ev = cli_json_event("result_ack");
	cli_set_str(ev, "ticket_no", ticket_no);
	if (p && p->outcome > 0 && p->outcome < OUTCOME_COUNT)
		cli_set_str(ev, "outcome", outcome_words[p->outcome]);
	cli_client_ack_members(ev, ack);
	cli_conn_emit(&a->cli.conn, ev);
	free(p);
}

static void on_intake_ack(struct agent *a, const Hotline__V1__IntakeAck *ack)
{
	const char *external_id = ack->external_id ? ack->external_id : "";
	struct pending *p = pending_take(a, PENDING_INTAKE, external_id);
	if (p == NULL)
		a->cli.unexpected++;
	a->stats.intakes_acked++;
	json_t *ev = cli_json_event("intake_ack");
	cli_set_str(ev, "external_id", external_id);
	cli_set_str(ev, "ticket_no", ack->ticket_no);
	json_object_set_new(ev, "duplicate", json_boolean(ack->duplicate));
	if (p)
		json_object_set_new(ev, "resolved", json_boolean(p->resolve));
	cli_conn_emit(&a->cli.conn, ev);
	free(p);
}

/* Returns 0, or -1 when the connection is (about to be) gone. */
static int on_error(struct agent *a, const Hotline__V1__Error *err)
{
	const char *ticket_no = err->ticket_no ? err->ticket_no : "";
	const char *external_id = err->external_id ? err->external_id : "";
	struct pending *p = NULL;
	const char *request = NULL;
	if (a->cli.conn.state == CLI_CONN_READY) {
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
	json_t *ev = cli_client_error_line(&a->cli, err);
	if (external_id[0])
		cli_set_str(ev, "external_id", external_id);
	if (p)
		cli_set_str(ev, "request", request);
	cli_conn_emit(&a->cli.conn, ev);
	if (p && p->kind == PENDING_RESULT)
		a->stats.results_failed++;
	bool auto_claim = p && p->automatic && p->kind == PENDING_CLAIM;
	free(p);
	if (a->cli.conn.state == CLI_CONN_HELLO) {
		cli_client_refused(&a->cli, err);
		return -1;
	}
	if (auto_claim && !a->cli.conn.stopping && !a->cli.conn.finishing) {
		/* The queue is unavailable for now: try again after a pause. */
		struct timeval tv = cli_tv_ms(a->opt.poll_ms);
		evtimer_add(a->poll, &tv);
	}
	return 0;
}

/* cli_client: one frame other than Welcome (in CLI_CONN_HELLO only Error). */
static void on_frame(void *arg, const Hotline__V1__Frame *frame)
{
	struct agent *a = arg;
	switch (frame->msg_case) {
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
		cli_client_unknown_frame(&a->cli, frame);
		break;
	}
	auto_next(a);
}

/* ---- --auto ------------------------------------------------------------- */

/* --auto: claim the next callback when nothing of ours is in flight. */
static void auto_next(struct agent *a)
{
	if (!a->opt.auto_outcome || !cli_conn_accepting(&a->cli.conn) || a->auto_inflight > 0 ||
	    evtimer_pending(a->poll, NULL) || !cli_client_has_room(&a->cli))
		return;
	if (a->cli.opt.count && a->stats.results_ok + a->stats.results_failed >= a->cli.opt.count)
		return;
	send_claim(a, true);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	auto_next(a);
}

/* ---- stdin commands --------------------------------------------------------- */

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
			cli_client_command_error(&a->cli, line, usage);
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
				cli_client_command_error(&a->cli, line, usage);
				return;
			}
		} else {
			cli_client_command_error(&a->cli, line, usage);
			return;
		}
	}
	char *external_id = word;
	char *category = cli_next_word(&rest);
	if (external_id == NULL || category == NULL || *rest == '\0') {
		cli_client_command_error(&a->cli, line, usage);
		return;
	}
	if (!external_id_ok(external_id)) {
		cli_client_command_error(
			&a->cli, line,
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
			cli_client_command_error(&a->cli, line, usage);
			return;
		}
		*sep = '\0';
		char *content = sep + 2;
		while (*content == ' ' || *content == '\t')
			content++;
		cli_trim_end(rest);
		cli_trim_end(content);
		if (rest[0] == '\0' || content[0] == '\0') {
			cli_client_command_error(&a->cli, line, usage);
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

/* cli_client: one command line other than quit. */
static void run_command(void *arg, const char *line, char *cmd, char *rest)
{
	struct agent *a = arg;
	if (strcmp(cmd, "claim") == 0) {
		if (*rest != '\0')
			cli_client_command_error(&a->cli, line, "usage: claim");
		else
			send_claim(a, false);
	} else if (strcmp(cmd, "result") == 0) {
		char *ticket_no = cli_next_word(&rest);
		int outcome = outcome_from_word(cli_next_word(&rest));
		if (ticket_no == NULL || strlen(ticket_no) > MAX_TICKET_NO || outcome == 0) {
			cli_client_command_error(
				&a->cli, line,
				"usage: result TICKET_NO "
				"satisfied|basic|unsatisfied|unreachable [NOTE...]");
			return;
		}
		cli_trim_end(rest);
		send_result(a, ticket_no, outcome, rest, false);
	} else if (strcmp(cmd, "intake") == 0 || strcmp(cmd, "resolve") == 0) {
		command_intake(a, line, rest, cmd[0] == 'r');
	} else {
		cli_client_command_error(
			&a->cli, line, "unknown command (claim, result, intake, resolve or quit)");
	}
}

/* ---- run control -------------------------------------------------------- */

/* cli_client: --count results answered, and nothing unanswered: exit 0 if all were recorded. */
static int goal_reached(void *arg)
{
	const struct agent *a = arg;
	uint64_t answered = a->stats.results_ok + a->stats.results_failed;
	if (a->cli.opt.count > 0 && answered >= a->cli.opt.count && a->pending.n == 0)
		return a->stats.results_failed == 0 ? 0 : 1;
	return -1;
}

/* cli_client: quit, a signal, the end of input or the end of the run: no more claims. */
static void stop_timers(void *arg)
{
	struct agent *a = arg;
	evtimer_del(a->poll);
}

static void on_deadline(void *arg)
{
	struct agent *a = arg;
	log_error("timed out after %.1f s: %" PRIu64 " results answered, %zu requests unanswered",
		  a->cli.opt.timeout_s, a->stats.results_ok + a->stats.results_failed,
		  a->pending.n);
}

static size_t unanswered(void *arg)
{
	const struct agent *a = arg;
	return a->pending.n;
}

static void summary_members(void *arg, json_t *line)
{
	const struct stats *st = &((const struct agent *)arg)->stats;
	cli_set_int(line, "claims", (json_int_t)st->claims_sent);
	cli_set_int(line, "tasks", (json_int_t)st->tasks);
	cli_set_int(line, "no_task", (json_int_t)st->no_task);
	cli_set_int(line, "results_sent", (json_int_t)st->results_sent);
	cli_set_int(line, "results_ok", (json_int_t)st->results_ok);
	cli_set_int(line, "results_failed", (json_int_t)st->results_failed);
	cli_set_int(line, "intakes_sent", (json_int_t)st->intakes_sent);
	cli_set_int(line, "intakes_acked", (json_int_t)st->intakes_acked);
}

/* ---- options ------------------------------------------------------------- */

static void usage(FILE *out)
{
	agent_http_usage(out);
	fputs("\nWithout a COMMAND, the agent terminal of hotline12345's binary port:\n\n"
	      "usage: hotline-agent --id AGENT_ID [--token TOKEN] [--host H] [--port P]\n"
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

enum { OPT_AUTO = CLI_OPT_OWN, OPT_NOTE, OPT_POLL_MS };

/* cli_client: an option of the agent's own. */
static bool option(void *arg, int opt, char *value)
{
	struct options *o = &((struct agent *)arg)->opt;
	switch (opt) {
	case OPT_AUTO:
		o->auto_outcome = outcome_from_word(value);
		if (o->auto_outcome == 0)
			cli_usage_error(PROG,
					"--auto takes satisfied, basic, unsatisfied or "
					"unreachable, not '%s'",
					value);
		return true;
	case OPT_NOTE:
		if (!utf8_valid(value, strlen(value)) || strlen(value) > 8192)
			cli_usage_error(PROG, "%s",
					"--note must be valid UTF-8 of at most 8192 bytes");
		o->note = value;
		return true;
	case OPT_POLL_MS:
		o->poll_ms = (unsigned)cli_parse_uint(PROG, value, "--poll-ms", 10, 3600000);
		return true;
	}
	return false;
}

static const struct option longopts[] = {
	{ "host", required_argument, NULL, CLI_OPT_HOST },
	{ "port", required_argument, NULL, CLI_OPT_PORT },
	{ "id", required_argument, NULL, CLI_OPT_ID },
	{ "token", required_argument, NULL, CLI_OPT_TOKEN },
	{ "auto", required_argument, NULL, OPT_AUTO },
	{ "note", required_argument, NULL, OPT_NOTE },
	{ "count", required_argument, NULL, CLI_OPT_COUNT },
	{ "timeout", required_argument, NULL, CLI_OPT_TIMEOUT },
	{ "poll-ms", required_argument, NULL, OPT_POLL_MS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, CLI_OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* ---- the client ----------------------------------------------------------- */

static const struct cli_client_config agent_client = {
	.prog = PROG,
	.role = HOTLINE__V1__ROLE__ROLE_AGENT,
	.role_name = "agent",
	.id_option = "--id",
	.id_meta = "AGENT_ID",
	.id_key = "agent",
	.token_env = TOKEN_ENV,
	.requests = "requests",
	.pending_key = "pending",
	.max_requests = MAX_PENDING,
	.max_output = MAX_OUTPUT,
	.max_command_line = MAX_COMMAND_LINE,
	.summary_reconnects = false,
	.usage = usage,
};

static const struct cli_client_ops agent_ops = {
	.option = option,
	.on_frame = on_frame,
	.on_welcome = on_welcome,
	.stop_timers = stop_timers,
	.on_deadline = on_deadline,
	.unanswered = unanswered,
	.goal_reached = goal_reached,
	.run_command = run_command,
	.summary_members = summary_members,
};

int main(int argc, char **argv)
{
	log_set_ident(PROG);
	if (agent_http_wanted(argc, argv))
		return agent_http_main(argc, argv);
	struct agent *a = calloc(1, sizeof(*a));
	if (a == NULL)
		fatal("out of memory");
	cli_client_init(&a->cli, &agent_client, &agent_ops, a);
	a->opt = (struct options){ .note = DEFAULT_AUTO_NOTE, .poll_ms = DEFAULT_POLL_MS };
	cli_client_parse_options(&a->cli, longopts, argc, argv);
	a->cli.reconnect = false; /* a lost connection ends the run */
	a->cli.end_of_input_stops = !a->opt.auto_outcome;
	cli_client_setup(&a->cli);
	a->poll = evtimer_new(a->cli.conn.base, poll_cb, a);
	if (a->poll == NULL)
		fatal("cannot set up the event loop");

	int exit_code = cli_client_run(&a->cli);
	while (a->pending.head) {
		struct pending *p = CLI_QUEUE_ENTRY(a->pending.head, struct pending, link);
		cli_queue_remove(&a->pending, &p->link);
		free(p);
	}
	event_free(a->poll);
	cli_client_free(&a->cli);
	free(a);
	return exit_code;
}
