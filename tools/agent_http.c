/*
 * agent_http.c - hotline-agent's commands: the agents' and supervisors' HTTP
 * API (docs/http-api.md) from the command line, one request per run.
 *
 * Owns: the command table (each command's options, arguments, --help, the
 * request it makes and how its answer is shown), the options every command
 * takes (--http, --token-file, --json, --timeout-ms, before or after the
 * command), checking a command line before anything is sent (usage errors
 * exit 2), and the exit status (enum agent_exit). The request itself, the
 * token and the API's errors are tools/agent_api.c's; readable answers
 * tools/agent_print.c's.
 * Never: retries a request (a timed-out action may have happened: the API's
 * own advice is to read the ticket), or prints anything on stdout when the
 * command failed.
 * Callers: tools/agent.c's main(), when agent_http_wanted() says so.
 */
#include "agent_http.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>

#include "agent_api.h"
#include "agent_print.h"
#include "cli_opt.h"
#include "http_client.h"
#include "utf8.h"

#define PROG "hotline-agent"
#define DEFAULT_HTTP "127.0.0.1:12346"
#define MAX_POSITIONAL 16

enum option_id {
	/* every command's */
	OPT_HTTP = 0x100,
	OPT_TOKEN_FILE,
	OPT_JSON,
	OPT_TIMEOUT_MS,
	/* a command's own: a value each, in struct args.value */
	OPT_EXTERNAL_ID,
	OPT_CONTENT,
	OPT_PHONE,
	OPT_NAME,
	OPT_CATEGORY,
	OPT_DISTRICT,
	OPT_ADDRESS,
	OPT_CHANNEL,
	OPT_PRIORITY,
	OPT_RESOLVED, /* a flag: value "yes" */
	OPT_ANSWER,
	OPT_LIMIT,
	OPT_OFFSET,
	OPT_NOTE,
	OPT_REASON,
	OPT_DUPLICATE_OF,
	OPT_END
};
#define OWN(id) ((id)-OPT_EXTERNAL_ID)
#define OWN_COUNT (OPT_END - OPT_EXTERNAL_ID)

static const struct option global_options[] = {
	{ "http", required_argument, NULL, OPT_HTTP },
	{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};
#define GLOBAL_COUNT (sizeof(global_options) / sizeof(global_options[0]) - 1)

static const struct option own_options[OWN_COUNT] = {
	[OWN(OPT_EXTERNAL_ID)] = { "external-id", required_argument, NULL, OPT_EXTERNAL_ID },
	[OWN(OPT_CONTENT)] = { "content", required_argument, NULL, OPT_CONTENT },
	[OWN(OPT_PHONE)] = { "phone", required_argument, NULL, OPT_PHONE },
	[OWN(OPT_NAME)] = { "name", required_argument, NULL, OPT_NAME },
	[OWN(OPT_CATEGORY)] = { "category", required_argument, NULL, OPT_CATEGORY },
	[OWN(OPT_DISTRICT)] = { "district", required_argument, NULL, OPT_DISTRICT },
	[OWN(OPT_ADDRESS)] = { "address", required_argument, NULL, OPT_ADDRESS },
	[OWN(OPT_CHANNEL)] = { "channel", required_argument, NULL, OPT_CHANNEL },
	[OWN(OPT_PRIORITY)] = { "priority", required_argument, NULL, OPT_PRIORITY },
	[OWN(OPT_RESOLVED)] = { "resolved-on-call", no_argument, NULL, OPT_RESOLVED },
	[OWN(OPT_ANSWER)] = { "answer", required_argument, NULL, OPT_ANSWER },
	[OWN(OPT_LIMIT)] = { "limit", required_argument, NULL, OPT_LIMIT },
	[OWN(OPT_OFFSET)] = { "offset", required_argument, NULL, OPT_OFFSET },
	[OWN(OPT_NOTE)] = { "note", required_argument, NULL, OPT_NOTE },
	[OWN(OPT_REASON)] = { "reason", required_argument, NULL, OPT_REASON },
	[OWN(OPT_DUPLICATE_OF)] = { "duplicate-of", required_argument, NULL, OPT_DUPLICATE_OF },
};

/* One command line, parsed. */
struct args {
	const struct command *cmd;
	const char *value[OWN_COUNT]; /* by OWN(option id); NULL: not given */
	char *pos[MAX_POSITIONAL];    /* the arguments after the command's name */
	int npos;
};

struct command {
	const char *name;     /* "callback next": two words */
	const char *synopsis; /* what follows the name in a usage line */
	const char *summary;  /* one line, for --help */
	const char *help;     /* what it does, for COMMAND --help */
	int options[12];      /* its own option ids, 0-terminated */
	int min_args, max_args;
	int (*run)(struct agent_session *s, struct args *a);
};

/* body[key] = the option's value, when given. */
static void set_opt(json_t *body, const char *key, const struct args *a, int id)
{
	if (a->value[OWN(id)])
		json_object_set_new(body, key, json_string(a->value[OWN(id)]));
}

/* ---- the commands ---------------------------------------------------------- */

/* me, callback done: the answer's members as fields. */
static void print_fields(FILE *out, json_t *doc)
{
	agent_print_fields(out, doc, NULL);
}

static int cmd_me(struct agent_session *s, struct args *a)
{
	return agent_call(s, "GET", AGENT_PATH("me"), NULL, NULL, print_fields);
}

/* The external_id create sent, shown with the answer (which does not carry it). */
static const char *created_external_id;

static void print_created(FILE *out, json_t *doc)
{
	json_t *shown = json_copy(doc);
	if (shown == NULL)
		return;
	if (json_object_get(shown, "external_id") == NULL && created_external_id)
		json_object_set_new(shown, "external_id", json_string(created_external_id));
	agent_print_fields(out, shown, NULL);
	json_decref(shown);
}

static int cmd_create(struct agent_session *s, struct args *a)
{
	char generated[4 + 24 + 1];
	const char *external_id = a->value[OWN(OPT_EXTERNAL_ID)];
	if (external_id == NULL) {
		unsigned char random[12];
		if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random)) {
			fprintf(stderr, PROG ": getrandom: %s\n", strerror(errno));
			return AGENT_EXIT_FAILED;
		}
		strcpy(generated, "cli-");
		for (size_t i = 0; i < sizeof(random); i++)
			sprintf(generated + 4 + 2 * i, "%02x", random[i]);
		external_id = generated;
		if (s->json) /* the answer does not carry it: say it where scripts can find it */
			fprintf(stderr, PROG ": external_id %s\n", external_id);
	}
	const char *priority = a->value[OWN(OPT_PRIORITY)];
	if (priority && strcmp(priority, "normal") != 0 && strcmp(priority, "urgent") != 0 &&
	    strcmp(priority, "critical") != 0)
		cli_usage_error(PROG, "--priority takes normal, urgent or critical, not '%s'",
				priority);
	bool resolved = a->value[OWN(OPT_RESOLVED)] != NULL;
	if (resolved != (a->value[OWN(OPT_ANSWER)] != NULL))
		cli_usage_error(PROG, "%s", "--resolved-on-call and --answer TEXT go together");
	json_t *body = json_object();
	json_object_set_new(body, "external_id", json_string(external_id));
	set_opt(body, "content", a, OPT_CONTENT);
	set_opt(body, "caller_phone", a, OPT_PHONE);
	set_opt(body, "caller_name", a, OPT_NAME);
	set_opt(body, "category", a, OPT_CATEGORY);
	set_opt(body, "district", a, OPT_DISTRICT);
	set_opt(body, "address", a, OPT_ADDRESS);
	json_object_set_new(
		body, "channel",
		json_string(a->value[OWN(OPT_CHANNEL)] ? a->value[OWN(OPT_CHANNEL)] : "phone"));
	set_opt(body, "priority", a, OPT_PRIORITY);
	if (resolved) {
		json_object_set_new(body, "resolved_on_call", json_true());
		set_opt(body, "answer", a, OPT_ANSWER);
	}
	created_external_id = external_id;
	return agent_call(s, "POST", AGENT_PATH("tickets"), NULL, body, print_created);
}

static int cmd_show(struct agent_session *s, struct args *a)
{
	return agent_call(s, "GET", AGENT_PATH("tickets/", a->pos[0]), NULL, NULL,
			  agent_print_ticket);
}

static int cmd_history(struct agent_session *s, struct args *a)
{
	const char *limit = a->value[OWN(OPT_LIMIT)], *offset = a->value[OWN(OPT_OFFSET)];
	if (limit)
		cli_parse_uint(PROG, limit, "--limit (1..100)", 1, 100);
	if (offset)
		cli_parse_uint(PROG, offset, "--offset (0..10000)", 0, 10000);
	return agent_call(s, "GET", AGENT_PATH("callers/", a->pos[0], "/tickets"),
			  (const char *const[]){ "limit", limit, "offset", offset, NULL }, NULL,
			  agent_print_history);
}

static int cmd_kb(struct agent_session *s, struct args *a)
{
	const char *limit = a->value[OWN(OPT_LIMIT)];
	if (limit)
		cli_parse_uint(PROG, limit, "--limit (1..50)", 1, 50);
	/* the words of TEXT, one blank apart: kb 垃圾 清运 is kb "垃圾 清运" */
	char query[256] = "";
	for (int i = 0; i < a->npos; i++) {
		size_t used = strlen(query);
		if (used + strlen(a->pos[i]) + 2 > sizeof(query))
			cli_usage_error(PROG, "%s", "the search text must be 1..200 bytes");
		snprintf(query + used, sizeof(query) - used, "%s%s", i ? " " : "", a->pos[i]);
	}
	if (query[0] == '\0' || strlen(query) > 200)
		cli_usage_error(PROG, "%s", "the search text must be 1..200 bytes");
	return agent_call(s, "GET", AGENT_PATH("kb"),
			  (const char *const[]){ "q", query, "limit", limit, NULL }, NULL,
			  agent_print_kb);
}

static int cmd_desk(struct agent_session *s, struct args *a)
{
	const char *limit = a->value[OWN(OPT_LIMIT)];
	if (limit)
		cli_parse_uint(PROG, limit, "--limit (1..500)", 1, 500);
	return agent_call(s, "GET", AGENT_PATH("desk"),
			  (const char *const[]){ "limit", limit, NULL }, NULL, agent_print_desk);
}

static int cmd_dispatch(struct agent_session *s, struct args *a)
{
	json_t *body = json_pack("{s:s}", "dept_code", a->pos[1]);
	set_opt(body, "note", a, OPT_NOTE);
	return agent_call(s, "POST", AGENT_PATH("tickets/", a->pos[0], "/dispatch"), NULL, body,
			  agent_print_ticket);
}

static int cmd_rule(struct agent_session *s, struct args *a)
{
	const char *decision = a->pos[1];
	bool dispatch = strcmp(decision, "dispatch") == 0;
	if (!dispatch && strcmp(decision, "close") != 0)
		cli_usage_error(PROG, "rule takes dispatch DEPT or close, not '%s'", decision);
	if (dispatch != (a->npos == 3))
		cli_usage_error(PROG, "%s",
				dispatch ? "rule TICKET_NO dispatch needs the department"
					 : "rule TICKET_NO close takes no department");
	if (a->value[OWN(OPT_REASON)] == NULL)
		cli_usage_error(PROG, "%s", "rule needs --reason TEXT");
	json_t *body = json_pack("{s:s}", "decision", decision);
	if (dispatch)
		json_object_set_new(body, "dept_code", json_string(a->pos[2]));
	set_opt(body, "reason", a, OPT_REASON);
	return agent_call(s, "POST", AGENT_PATH("tickets/", a->pos[0], "/ruling"), NULL, body,
			  agent_print_ticket);
}

static int cmd_close(struct agent_session *s, struct args *a)
{
	if (a->value[OWN(OPT_REASON)] == NULL)
		cli_usage_error(PROG, "%s", "close needs --reason TEXT");
	json_t *body = json_object();
	set_opt(body, "reason", a, OPT_REASON);
	set_opt(body, "duplicate_of", a, OPT_DUPLICATE_OF);
	return agent_call(s, "POST", AGENT_PATH("tickets/", a->pos[0], "/close"), NULL, body,
			  agent_print_ticket);
}

static int cmd_callback_next(struct agent_session *s, struct args *a)
{
	struct agent_answer ans;
	int rc = agent_request(s, "POST", "/api/v1/callbacks/claim", NULL, &ans);
	if (rc == 0 && ans.doc == NULL) {
		if (!s->json)
			printf("no callback is waiting\n");
		rc = AGENT_EXIT_NO_TASK;
	} else if (rc == 0 && s->json) {
		agent_print_json(&ans.resp);
	} else if (rc == 0) {
		agent_print_fields(stdout, ans.doc, NULL);
	}
	agent_answer_free(&ans);
	return rc;
}

static int cmd_callback_done(struct agent_session *s, struct args *a)
{
	static const char *const outcomes[] = { "satisfied", "basically_satisfied", "unsatisfied",
						"unreachable" };
	const char *outcome = strcmp(a->pos[1], "basic") == 0 ? "basically_satisfied" : a->pos[1];
	bool known = false;
	for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		known = known || strcmp(outcome, outcomes[i]) == 0;
	if (!known)
		cli_usage_error(PROG,
				"the outcome is satisfied, basically_satisfied (or basic), "
				"unsatisfied or unreachable, not '%s'",
				a->pos[1]);
	json_t *body = json_pack("{s:s}", "outcome", outcome);
	set_opt(body, "note", a, OPT_NOTE);
	return agent_call(s, "POST", AGENT_PATH("callbacks/", a->pos[0], "/result"), NULL, body,
			  print_fields);
}

static const struct command commands[] = {
	{ "me",
	  "",
	  "who the token belongs to",
	  "Who the token belongs to: the account's name and role.\n  GET /api/v1/me\n",
	  { 0 },
	  0,
	  0,
	  cmd_me },
	{ "create",
	  "--content TEXT [--external-id ID] [--phone P] [--name N]\n"
	  "        [--category C] [--district D] [--address A] [--channel C] [--priority P]\n"
	  "        [--resolved-on-call --answer TEXT]",
	  "a ticket taken on the phone",
	  "A ticket taken on the phone, stored under the agents' feed; prints its number and\n"
	  "where routing put it (DISPATCHED, PENDING_DISPATCH, CLOSED, LINKED).\n"
	  "  POST /api/v1/tickets\n"
	  "  --content TEXT        what the caller asks (required)\n"
	  "  --external-id ID      your idempotency key: the same one again gives back the same\n"
	  "                        ticket (default: a random cli-... one, printed; with --json on\n"
	  "                        stderr)\n"
	  "  --phone P, --name N, --category C, --district D, --address A\n"
	  "  --channel C           default phone\n"
	  "  --priority P          normal, urgent or critical\n"
	  "  --resolved-on-call --answer TEXT\n"
	  "                        answered on the call (直接办结): stored closed with the "
	  "answer\n",
	  { OPT_EXTERNAL_ID, OPT_CONTENT, OPT_PHONE, OPT_NAME, OPT_CATEGORY, OPT_DISTRICT,
	    OPT_ADDRESS, OPT_CHANNEL, OPT_PRIORITY, OPT_RESOLVED, OPT_ANSWER, 0 },
	  0,
	  0,
	  cmd_create },
	{ "show",
	  "TICKET_NO",
	  "a ticket and its audit trail",
	  "A ticket's fields, then its audit trail, oldest first.\n"
	  "  GET /api/v1/tickets/TICKET_NO\n",
	  { 0 },
	  1,
	  1,
	  cmd_show },
	{ "history",
	  "PHONE [--limit N] [--offset N]",
	  "a caller's earlier tickets",
	  "A caller's earlier tickets, newest first (the look-up is audited).\n"
	  "  GET /api/v1/callers/PHONE/tickets\n"
	  "  --limit N             1..100 (default 20)\n"
	  "  --offset N            0..10000: skip the first N\n",
	  { OPT_LIMIT, OPT_OFFSET, 0 },
	  1,
	  1,
	  cmd_history },
	{ "kb",
	  "[--limit N] TEXT...",
	  "search the knowledge base",
	  "Searches the knowledge base (一问一答); prints each entry with its answer.\n"
	  "The words of TEXT are searched as one text, a blank apart.\n"
	  "  GET /api/v1/kb?q=TEXT\n"
	  "  --limit N             1..50 (default 10)\n",
	  { OPT_LIMIT, 0 },
	  1,
	  MAX_POSITIONAL,
	  cmd_kb },
	{ "desk",
	  "[--limit N]",
	  "tickets waiting for a person",
	  "Tickets waiting for a person, oldest first: PENDING_DISPATCH (no rule matched, or\n"
	  "returned) and ESCALATED, with why and the last return.\n"
	  "  GET /api/v1/desk\n"
	  "  --limit N             1..500 (default 100)\n",
	  { OPT_LIMIT, 0 },
	  0,
	  0,
	  cmd_desk },
	{ "dispatch",
	  "TICKET_NO DEPT [--note TEXT]",
	  "(supervisor) dispatch from the desk",
	  "(supervisor) Dispatches a PENDING_DISPATCH ticket to department DEPT.\n"
	  "  POST /api/v1/tickets/TICKET_NO/dispatch\n",
	  { OPT_NOTE, 0 },
	  2,
	  2,
	  cmd_dispatch },
	{ "rule",
	  "TICKET_NO dispatch DEPT --reason TEXT | TICKET_NO close --reason TEXT",
	  "(supervisor) rule on an escalated ticket",
	  "(supervisor) Rules on an ESCALATED ticket: DEPT must handle it (and can no longer\n"
	  "return it), or it is closed without handling.\n"
	  "  POST /api/v1/tickets/TICKET_NO/ruling\n",
	  { OPT_REASON, 0 },
	  2,
	  3,
	  cmd_rule },
	{ "close",
	  "TICKET_NO --reason TEXT [--duplicate-of TICKET_NO]",
	  "(supervisor) close junk or a duplicate from the desk",
	  "(supervisor) Closes junk from the desk, or with --duplicate-of links it to the\n"
	  "open ticket it duplicates (it closes when that one closes).\n"
	  "  POST /api/v1/tickets/TICKET_NO/close\n",
	  { OPT_REASON, OPT_DUPLICATE_OF, 0 },
	  1,
	  1,
	  cmd_close },
	{ "callback next",
	  "",
	  "claim the next callback (回访)",
	  "Claims the next callback (回访) for this account: the caller to ring, the reply\n"
	  "they got. Exit status 4 (and \"no callback is waiting\") when none is.\n"
	  "  POST /api/v1/callbacks/claim\n",
	  { 0 },
	  0,
	  0,
	  cmd_callback_next },
	{ "callback done",
	  "TICKET_NO OUTCOME [--note TEXT]",
	  "record how a claimed callback went",
	  "Records how the callback of a claimed ticket went. OUTCOME: satisfied,\n"
	  "basically_satisfied (or basic), unsatisfied, unreachable.\n"
	  "  POST /api/v1/callbacks/TICKET_NO/result\n",
	  { OPT_NOTE, 0 },
	  2,
	  2,
	  cmd_callback_done },
};
#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

/* ---- the command line ---------------------------------------------------------- */

static const char options_help[] =
	"options (before or after the command):\n"
	"  --http HOST:PORT      hotlined's HTTP API (default " DEFAULT_HTTP ")\n"
	"  --token-file FILE     the token from FILE, which group and others may not read\n"
	"                        (chmod 600); without it: $" AGENT_TOKEN_ENV "\n"
	"  --json                print the API's JSON answer on one line instead of tables\n"
	"  --timeout-ms N        give up after N ms without the answer (default 20000)\n"
	"  -h, --help            this text (COMMAND --help: the command's)\n";

static const char exit_help[] =
	"\nExit status: 0 done; 1 the API refused it (hotline-agent: STATUS CODE: MESSAGE on\n"
	"stderr) or could not be reached; 2 usage, no token, or a token file refused;\n"
	"3 conflict (409: the ticket's state does not allow it; someone acted first);\n"
	"4 callback next: no callback is waiting.\n";

void agent_http_usage(FILE *out)
{
	fputs("usage: hotline-agent [--http HOST:PORT] [--token-file FILE] [--json]\n"
	      "                     [--timeout-ms N] COMMAND [ARGS...]\n"
	      "\n"
	      "The agents' and supervisors' HTTP API of hotlined (docs/http-api.md) on the\n"
	      "command line, as the account whose token it is (hotlinectl user add prints it).\n"
	      "Readable tables by default; --json for scripts.\n"
	      "\n"
	      "commands:\n",
	      out);
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		fprintf(out, "  %s%s%s\n      %s\n", commands[i].name,
			commands[i].synopsis[0] ? " " : "", commands[i].synopsis,
			commands[i].summary);
	fputc('\n', out);
	fputs(options_help, out);
	fputs(exit_help, out);
}

static void command_usage(const struct command *cmd, FILE *out)
{
	fprintf(out, "usage: hotline-agent [OPTIONS] %s%s%s\n\n%s\n%s", cmd->name,
		cmd->synopsis[0] ? " " : "", cmd->synopsis, cmd->help, options_help);
	fputs(exit_help, out);
}

bool agent_http_wanted(int argc, char **argv)
{
	bool seen = false; /* an option of the commands' own */
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		bool with_value = false, global = false;
		for (size_t k = 0; k < GLOBAL_COUNT && !global; k++) {
			const char *name = global_options[k].name;
			size_t n = strlen(name);
			if (global_options[k].val == 'h' || strncmp(arg, "--", 2) != 0 ||
			    strncmp(arg + 2, name, n) != 0)
				continue;
			if (arg[2 + n] == '\0') {
				global = true;
				with_value = global_options[k].has_arg == required_argument;
			} else if (arg[2 + n] == '=') {
				global = true;
			}
		}
		if (global) {
			seen = true;
			i += with_value;
			continue;
		}
		return arg[0] != '-' || seen;
	}
	return seen;
}

/* An option every command takes; true when opt was one. */
static bool global_option(struct agent_session *s, int opt, const char *value, bool *help)
{
	switch (opt) {
	case OPT_HTTP:
		if (http_client_parse_hostport(value, AGENT_DEFAULT_PORT, s->host, sizeof(s->host),
					       &s->port) != 0)
			cli_usage_error(PROG, "--http takes HOST:PORT (or [IPV6]:PORT), not '%s'",
					value);
		return true;
	case OPT_TOKEN_FILE:
		s->token_file = value;
		return true;
	case OPT_JSON:
		s->json = true;
		return true;
	case OPT_TIMEOUT_MS:
		s->timeout_ms = (int)cli_parse_uint(PROG, value, "--timeout-ms", 1, 3600000);
		return true;
	case 'h':
		*help = true;
		return true;
	}
	return false;
}

/* getopt's complaint about argv's option at optind - 1, as a usage error. */
static void bad_option(int opt, char **argv)
{
	const char *arg = argv[optind - 1];
	if (opt == ':')
		cli_usage_error(PROG, "%s needs a value", arg);
	cli_usage_error(PROG, "unknown option '%s'", arg);
}

/* The command named at argv[0] (argv[1] too for "callback next"); NULL if none. */
static const struct command *find_command(int argc, char **argv, int *words)
{
	for (size_t i = 0; i < COMMAND_COUNT; i++) {
		const char *name = commands[i].name, *space = strchr(name, ' ');
		if (space == NULL && strcmp(argv[0], name) == 0) {
			*words = 1;
			return &commands[i];
		}
		if (space && strncmp(argv[0], name, (size_t)(space - name)) == 0 &&
		    argv[0][space - name] == '\0' && argc > 1 && strcmp(argv[1], space + 1) == 0) {
			*words = 2;
			return &commands[i];
		}
	}
	return NULL;
}

/* Parses the command line from the command's name on (argv[0]) into a. */
static void parse_command(struct agent_session *s, struct args *a, int argc, char **argv)
{
	const struct command *cmd = a->cmd;
	struct option longopts[GLOBAL_COUNT + OWN_COUNT + 1];
	size_t n = 0;
	for (size_t k = 0; k < GLOBAL_COUNT; k++)
		longopts[n++] = global_options[k];
	for (const int *id = cmd->options; *id; id++)
		longopts[n++] = own_options[OWN(*id)];
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };
	bool help = false;
	int opt, index = 0;
	optind = 0; /* glibc: start afresh, argv[0] being the command's name */
	while ((opt = getopt_long(argc, argv, ":h", longopts, &index)) != -1) {
		if (global_option(s, opt, optarg, &help))
			continue;
		if (opt < OPT_EXTERNAL_ID || opt >= OPT_END)
			bad_option(opt, argv);
		if (optarg && !utf8_valid(optarg, strlen(optarg)))
			cli_usage_error(PROG, "--%s must be valid UTF-8", longopts[index].name);
		a->value[OWN(opt)] = optarg ? optarg : "yes";
	}
	if (help) {
		command_usage(cmd, stdout);
		exit(AGENT_EXIT_OK);
	}
	int words = strchr(cmd->name, ' ') ? 2 : 1;
	for (int i = optind + words - 1; i < argc; i++) {
		if (a->npos == MAX_POSITIONAL || a->npos >= cmd->max_args)
			cli_usage_error(PROG, "%s: unexpected argument '%s'", cmd->name, argv[i]);
		if (!utf8_valid(argv[i], strlen(argv[i])))
			cli_usage_error(PROG, "%s: arguments must be valid UTF-8", cmd->name);
		a->pos[a->npos++] = argv[i];
	}
	if (a->npos < cmd->min_args)
		cli_usage_error(PROG, "usage: hotline-agent %s %s", cmd->name, cmd->synopsis);
	if (cmd->run == cmd_create && a->value[OWN(OPT_CONTENT)] == NULL)
		cli_usage_error(PROG, "%s", "create needs --content TEXT");
}

int agent_http_main(int argc, char **argv)
{
	struct agent_session s = { .port = AGENT_DEFAULT_PORT,
				   .timeout_ms = AGENT_DEFAULT_TIMEOUT_MS };
	snprintf(s.host, sizeof(s.host), "127.0.0.1");
	bool help = false;
	int opt;
	opterr = 0;
	/* the options before the command ("+": stop at its name) */
	while ((opt = getopt_long(argc, argv, "+:h", global_options, NULL)) != -1)
		if (!global_option(&s, opt, optarg, &help))
			bad_option(opt, argv);
	if (optind >= argc) {
		if (help) {
			agent_http_usage(stdout);
			exit(AGENT_EXIT_OK);
		}
		cli_usage_error(PROG, "%s", "no command");
	}
	struct args a = { 0 };
	int words = 0;
	a.cmd = find_command(argc - optind, argv + optind, &words);
	if (a.cmd == NULL) {
		bool callback = strcmp(argv[optind], "callback") == 0;
		for (int i = optind + 1; callback && i < argc; i++) {
			if (strcmp(argv[i], "-h") != 0 && strcmp(argv[i], "--help") != 0)
				continue;
			command_usage(&commands[COMMAND_COUNT - 2], stdout);
			fputc('\n', stdout);
			command_usage(&commands[COMMAND_COUNT - 1], stdout);
			exit(AGENT_EXIT_OK);
		}
		cli_usage_error(PROG, "unknown command '%s'%s", argv[optind],
				callback ? " (callback next, callback done)" : "");
	}
	if (help) {
		command_usage(a.cmd, stdout);
		exit(AGENT_EXIT_OK);
	}
	parse_command(&s, &a, argc - optind, argv + optind);
	int rc = a.cmd->run(&s, &a);
	free(s.token);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": cannot write the answer: %s\n", strerror(errno));
		return AGENT_EXIT_FAILED;
	}
	return rc;
}
