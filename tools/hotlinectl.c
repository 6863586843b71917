/*
 * hotlinectl - administration of a hotline12345 installation.
 *
 * Owns: schema migrations (`migrate`, `migrate --status`) and publishing the
 * routing rules (`route load`, `route show`, `route test`): the writer's side
 * of the Redis rule-set contract (keys below) that every hotlined reads.
 * Commands are a name -> handler table, like pgbouncer's admin SHOW commands.
 * Talks to PostgreSQL with plain blocking libpq and to Redis with hiredis's
 * blocking API: this is an operator's tool, not a hot path.
 * Never: changes a ticket's state (only the daemon's state machine does), or
 * stores a rule set that does not parse (a half-loaded set would misroute).
 * Callers: operators, deploy scripts, tests/integration.
 */
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "config.h"
#include "migrations.h"
#include "rules.h"

/*
 * The rule-set contract in Redis, shared with hotlined (README "hotlinectl"):
 * the canonical text (rules_serialize()), a version INCRed in the same
 * MULTI/EXEC, and a PUBLISH of the new version (decimal) once it is stored.
 */
#define REDIS_KEY_RULES "hotline:rules"
#define REDIS_KEY_RULES_VERSION "hotline:rules:version"
#define REDIS_CHANNEL_RULES_CHANGED "hotline:rules:changed"

#define DEFAULT_REDIS_ADDRESS "127.0.0.1:6379"
#define REDIS_CONNECT_TIMEOUT_S 5
#define REDIS_COMMAND_TIMEOUT_S 30

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

static void usage(FILE *out)
{
	fputs("usage: hotlinectl [-c FILE] [--dsn CONNINFO] [--redis ADDR] COMMAND [ARGS]\n"
	      "\n"
	      "Administers a hotline12345 installation.\n"
	      "\n"
	      "options:\n"
	      "  -c, --config FILE    read [postgres] conninfo and [redis] address, username\n"
	      "                       and password from this hotlined config\n"
	      "      --dsn CONNINFO   libpq connection string (overrides --config)\n"
	      "      --redis ADDR     Redis host:port or /unix/socket/path (overrides --config;\n"
	      "                       default 127.0.0.1:6379); without --config, AUTH uses\n"
	      "                       $HOTLINE_REDIS_PASSWORD (and $HOTLINE_REDIS_USERNAME)\n"
	      "  -h, --help           this text\n"
	      "      --version        print the version\n"
	      "\n"
	      "commands:\n"
	      "  migrate              apply every schema migration not yet applied (safe to "
	      "re-run;\n"
	      "                       concurrent runs wait for each other)\n"
	      "  migrate --status     list migrations and whether each is applied\n"
	      "  route load [--check] FILE\n"
	      "                       parse a rule file (docs/rules.md), store its canonical\n"
	      "                       text in Redis as a new version and announce it to every\n"
	      "                       hotlined; --check only parses. Errors: FILE:LINE: reason\n"
	      "  route show           print the stored rule set and its version\n"
	      "  route test [--feed CODE] [--category C] [--district D] [--content TEXT]\n"
	      "             [--file FILE]\n"
	      "                       which rule and department a sample ticket gets, from the\n"
	      "                       stored rule set (or FILE); no match -> PENDING_DISPATCH\n"
	      "\n"
	      "Without -c or --dsn, libpq's environment (PGHOST, PGDATABASE, ...) is used.\n"
	      "Exit status: 0 done, 1 failed (bad rule file, unreachable server, ...), 2 usage.\n",
	      out);
}

/* Connects using --dsn, else the config's conninfo, else libpq defaults. */
static int ctl_connect(struct ctl *ctl)
{
	char *conninfo = NULL;
	if (ctl->dsn) {
		conninfo = strdup(ctl->dsn);
	} else if (ctl->config_path) {
		struct hotline_config cfg;
		char err[1024];
		if (config_load(ctl->config_path, &cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "hotlinectl: %s\n", err);
			return -1;
		}
		conninfo = strdup(cfg.pg_conninfo);
		config_free(&cfg);
	} else {
		conninfo = strdup("");
	}
	if (!conninfo) {
		fprintf(stderr, "hotlinectl: out of memory\n");
		return -1;
	}
	ctl->pg = PQconnectdb(conninfo);
	free(conninfo);
	if (PQstatus(ctl->pg) != CONNECTION_OK) {
		fprintf(stderr, "hotlinectl: cannot connect to PostgreSQL: %s",
			PQerrorMessage(ctl->pg));
		return -1;
	}
	PGresult *res = PQexec(ctl->pg, "SET client_min_messages = warning");
	PQclear(res);
	return 0;
}

/* Runs sql; returns 0 when it succeeded, else prints what of `what` failed. */
static int exec_ok(PGconn *pg, const char *sql, const char *what)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "hotlinectl: %s: %s", what, PQerrorMessage(pg));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

static int applied_versions(PGconn *pg, int *applied, size_t n)
{
	PGresult *res = PQexec(pg, "SELECT version FROM schema_migrations");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "hotlinectl: reading schema_migrations: %s", PQerrorMessage(pg));
		PQclear(res);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		applied[i] = 0;
	for (int row = 0; row < PQntuples(res); row++) {
		int version = atoi(PQgetvalue(res, row, 0));
		for (size_t i = 0; i < n; i++)
			if (migrations[i].version == version)
				applied[i] = 1;
	}
	PQclear(res);
	return 0;
}

static int cmd_migrate(struct ctl *ctl, int argc, char **argv)
{
	int status_only = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--status") == 0) {
			status_only = 1;
		} else {
			fprintf(stderr, "hotlinectl migrate: unknown argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (ctl_connect(ctl) != 0)
		return 1;
	PGconn *pg = ctl->pg;
	/* One migrator at a time, across any number of hosts. */
	if (exec_ok(pg, "SELECT pg_advisory_lock(hashtext('hotline12345.migrate'))",
		    "taking the migration lock") != 0 ||
	    exec_ok(pg,
		    "CREATE TABLE IF NOT EXISTS schema_migrations ("
		    " version integer PRIMARY KEY, name text NOT NULL,"
		    " applied_at timestamptz NOT NULL DEFAULT now())",
		    "creating schema_migrations") != 0)
		return 1;
	int *applied = calloc(migrations_count ? migrations_count : 1, sizeof(int));
	if (!applied || applied_versions(pg, applied, migrations_count) != 0) {
		free(applied);
		return 1;
	}
	int rc = 0, count = 0;
	for (size_t i = 0; i < migrations_count; i++) {
		const struct migration *m = &migrations[i];
		if (status_only) {
			printf("%03d %-24s %s\n", m->version, m->name,
			       applied[i] ? "applied" : "pending");
			continue;
		}
		if (applied[i])
			continue;
		char record[256];
		snprintf(record, sizeof(record),
			 "INSERT INTO schema_migrations (version, name) VALUES (%d, '%s')",
			 m->version, m->name);
		if (exec_ok(pg, "BEGIN", "BEGIN") != 0 || exec_ok(pg, m->sql, m->name) != 0 ||
		    exec_ok(pg, record, "recording the migration") != 0 ||
		    exec_ok(pg, "COMMIT", "COMMIT") != 0) {
			fprintf(stderr,
				"hotlinectl: migration %03d_%s failed; nothing of it was applied\n",
				m->version, m->name);
			rc = 1;
			break;
		}
		printf("applied %03d_%s\n", m->version, m->name);
		count++;
	}
	if (!status_only && rc == 0)
		printf("schema is up to date (%d applied now, %zu in all)\n", count,
		       migrations_count);
	free(applied);
	return rc;
}

/* ---- Redis ------------------------------------------------------------ */

static int redis_address(struct ctl *ctl) __attribute__((warn_unused_result));
static int ctl_redis(struct ctl *ctl) __attribute__((warn_unused_result));

/*
 * Fills ctl->redis_addr from --redis, else the config's [redis] address, else the
 * default; and the AUTH credentials from the config's [redis] username and
 * password, else $HOTLINE_REDIS_USERNAME and $HOTLINE_REDIS_PASSWORD. Returns 0,
 * or -1 after printing why (a config that does not load).
 */
static int redis_address(struct ctl *ctl)
{
	if (ctl->redis_addr[0] != '\0')
		return 0;
	const char *addr = DEFAULT_REDIS_ADDRESS;
	const char *user = getenv("HOTLINE_REDIS_USERNAME");
	const char *pass = getenv("HOTLINE_REDIS_PASSWORD");
	struct hotline_config cfg;
	bool have_cfg = false;
	if (ctl->config_path) {
		char err[1024];
		if (config_load(ctl->config_path, &cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "hotlinectl: %s\n", err);
			return -1;
		}
		have_cfg = true;
		addr = cfg.redis_address;
		user = cfg.redis_username;
		pass = cfg.redis_password;
	}
	if (ctl->redis_opt)
		addr = ctl->redis_opt;
	int n = snprintf(ctl->redis_addr, sizeof(ctl->redis_addr), "%s", addr);
	int nu = snprintf(ctl->redis_user, sizeof(ctl->redis_user), "%s", user ? user : "");
	int np = snprintf(ctl->redis_pass, sizeof(ctl->redis_pass), "%s", pass ? pass : "");
	if (have_cfg)
		config_free(&cfg);
	if (nu < 0 || (size_t)nu >= sizeof(ctl->redis_user) || np < 0 ||
	    (size_t)np >= sizeof(ctl->redis_pass)) {
		fprintf(stderr, "hotlinectl: Redis username or password too long\n");
		ctl->redis_addr[0] = '\0';
		return -1;
	}
	if (n < 0 || (size_t)n >= sizeof(ctl->redis_addr) || ctl->redis_addr[0] == '\0') {
		fprintf(stderr, "hotlinectl: invalid Redis address '%s'\n", addr);
		ctl->redis_addr[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * Connects to Redis (blocking, with connect and command timeouts). Returns 0
 * with ctl->redis set, or -1 after printing a message that names the address.
 */
static int ctl_redis(struct ctl *ctl)
{
	if (ctl->redis)
		return 0;
	if (redis_address(ctl) != 0)
		return -1;
	const char *addr = ctl->redis_addr;
	struct timeval connect_tv = { .tv_sec = REDIS_CONNECT_TIMEOUT_S };
	redisContext *rc;
	if (addr[0] == '/') {
		rc = redisConnectUnixWithTimeout(addr, connect_tv);
	} else {
		char host[256];
		int port;
		if (config_parse_hostport(addr, host, sizeof(host), &port) != 0) {
			fprintf(stderr,
				"hotlinectl: invalid Redis address '%s' (host:port or "
				"/path/to/socket)\n",
				addr);
			return -1;
		}
		rc = redisConnectWithTimeout(host, port, connect_tv);
	}
	if (rc == NULL) {
		fprintf(stderr, "hotlinectl: out of memory connecting to Redis\n");
		return -1;
	}
	if (rc->err) {
		fprintf(stderr, "hotlinectl: cannot connect to Redis at %s: %s\n", addr,
			rc->errstr);
		redisFree(rc);
		return -1;
	}
	struct timeval command_tv = { .tv_sec = REDIS_COMMAND_TIMEOUT_S };
	if (redisSetTimeout(rc, command_tv) != REDIS_OK) {
		fprintf(stderr, "hotlinectl: cannot set the Redis timeout: %s\n", rc->errstr);
		redisFree(rc);
		return -1;
	}
	if (ctl->redis_pass[0]) {
		redisReply *reply =
			ctl->redis_user[0]
				? redisCommand(rc, "AUTH %s %s", ctl->redis_user, ctl->redis_pass)
				: redisCommand(rc, "AUTH %s", ctl->redis_pass);
		bool ok = reply && reply->type != REDIS_REPLY_ERROR;
		if (!ok)
			fprintf(stderr, "hotlinectl: Redis at %s refused AUTH: %s\n", addr,
				reply ? reply->str : rc->errstr);
		if (reply)
			freeReplyObject(reply);
		if (!ok) {
			redisFree(rc);
			return -1;
		}
	}
	ctl->redis = rc;
	return 0;
}

/*
 * Runs one command. Returns its reply (caller frees with freeReplyObject()),
 * or NULL after printing "what: reason" when the connection failed or Redis
 * answered with an error.
 */
static redisReply *redis_run(struct ctl *ctl, const char *what, const char *fmt, ...)
	__attribute__((warn_unused_result));
static redisReply *redis_run(struct ctl *ctl, const char *what, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *reply = redisvCommand(ctl->redis, fmt, ap);
	va_end(ap);
	if (reply == NULL) {
		fprintf(stderr, "hotlinectl: %s: Redis at %s: %s\n", what, ctl->redis_addr,
			ctl->redis->errstr[0] ? ctl->redis->errstr : "connection lost");
		return NULL;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "hotlinectl: %s: Redis at %s: %s\n", what, ctl->redis_addr,
			reply->str);
		freeReplyObject(reply);
		return NULL;
	}
	return reply;
}

/* ---- route ------------------------------------------------------------ */

static int read_rule_file(const char *path, char **out, size_t *outlen)
	__attribute__((warn_unused_result));
static int load_rule_file(const char *path, struct rule_set **set)
	__attribute__((warn_unused_result));
static int fetch_rules(struct ctl *ctl, char **text, size_t *len, char *version, size_t versionlen)
	__attribute__((warn_unused_result));
static int parse_stored(const char *text, size_t len, struct rule_set **set)
	__attribute__((warn_unused_result));

/*
 * Reads a whole rule file into a new NUL-terminated buffer (*out, caller frees).
 * Reads at most RULES_MAX_TEXT + 1 bytes so that rules_parse() reports a file
 * that is too large. Returns 0, or -1 after printing why.
 */
static int read_rule_file(const char *path, char **out, size_t *outlen)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "hotlinectl: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 64 * 1024, len = 0;
	char *buf = malloc(cap + 1);
	while (buf != NULL) {
		size_t want = cap - len;
		size_t got = fread(buf + len, 1, want, f);
		len += got;
		if (got < want)
			break;
		if (len > RULES_MAX_TEXT)
			break;
		char *bigger = realloc(buf, cap * 2 + 1);
		if (bigger == NULL) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = bigger;
		cap *= 2;
	}
	if (buf == NULL) {
		fprintf(stderr, "hotlinectl: out of memory reading %s\n", path);
		fclose(f);
		return -1;
	}
	if (ferror(f)) {
		fprintf(stderr, "hotlinectl: cannot read %s: %s\n", path, strerror(errno));
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * Reads and parses a rule file. Parse errors are printed exactly as the parser
 * words them ("FILE:LINE: reason"), so editors can jump to the line.
 * Returns 0 with *set (caller frees with rules_free()), or -1.
 */
static int load_rule_file(const char *path, struct rule_set **set)
{
	char *text;
	size_t len;
	if (read_rule_file(path, &text, &len) != 0)
		return -1;
	char err[1024];
	int rc = rules_parse(text, len, path, set, err, sizeof(err));
	free(text);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

/*
 * Fetches the stored rule text and its version in one MGET, so the two belong
 * together. Returns 1 with *text (caller frees) and version[] filled, 0 when
 * no rule set is stored (a message has been printed), -1 on a Redis failure.
 */
static int fetch_rules(struct ctl *ctl, char **text, size_t *len, char *version, size_t versionlen)
{
	if (ctl_redis(ctl) != 0)
		return -1;
	redisReply *reply = redis_run(ctl, "reading the rule set", "MGET %s %s", REDIS_KEY_RULES,
				      REDIS_KEY_RULES_VERSION);
	if (reply == NULL)
		return -1;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
		fprintf(stderr, "hotlinectl: unexpected reply to MGET from Redis at %s\n",
			ctl->redis_addr);
		freeReplyObject(reply);
		return -1;
	}
	redisReply *rules = reply->element[0], *ver = reply->element[1];
	if (rules->type != REDIS_REPLY_STRING) {
		fprintf(stderr,
			"hotlinectl: no rule set is loaded in Redis at %s (key %s is missing; "
			"publish one with: hotlinectl route load FILE)\n",
			ctl->redis_addr, REDIS_KEY_RULES);
		freeReplyObject(reply);
		return 0;
	}
	snprintf(version, versionlen, "%s", ver->type == REDIS_REPLY_STRING ? ver->str : "(none)");
	*text = malloc(rules->len + 1);
	if (*text == NULL) {
		fprintf(stderr, "hotlinectl: out of memory\n");
		freeReplyObject(reply);
		return -1;
	}
	memcpy(*text, rules->str, rules->len);
	(*text)[rules->len] = '\0';
	*len = rules->len;
	freeReplyObject(reply);
	return 1;
}

/* Parses the stored canonical text; errors name it "redis:hotline:rules:LINE". */
static int parse_stored(const char *text, size_t len, struct rule_set **set)
{
	char err[1024];
	if (rules_parse(text, len, "redis:" REDIS_KEY_RULES, set, err, sizeof(err)) != 0) {
		fprintf(stderr, "hotlinectl: the stored rule set does not parse: %s\n", err);
		return -1;
	}
	return 0;
}

/* Shared by the route commands: --redis ADDR after the command word. */
#define ROUTE_OPT_REDIS 0x100

static int route_load(struct ctl *ctl, int argc, char **argv)
{
	static char prog[] = "hotlinectl route load";
	argv[0] = prog; /* getopt's messages name the command */
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'k' },
		{ "redis", required_argument, NULL, ROUTE_OPT_REDIS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool check_only = false;
	int opt;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			check_only = true;
			break;
		case ROUTE_OPT_REDIS:
			ctl->redis_opt = optarg;
			break;
		case 'h':
			printf("usage: hotlinectl route load [--check] FILE\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: hotlinectl route load [--check] FILE\n");
		return 2;
	}
	const char *path = argv[optind];
	struct rule_set *set;
	if (load_rule_file(path, &set) != 0)
		return 1;
	size_t count = rules_count(set);
	if (check_only) {
		printf("%s: %zu rules, OK (nothing stored)\n", path, count);
		rules_free(set);
		return 0;
	}
	if (count == 0)
		fprintf(stderr,
			"hotlinectl: warning: %s has no rules: every new ticket will wait at the "
			"manual dispatch desk\n",
			path);
	char *text;
	size_t len;
	int rc = rules_serialize(set, &text, &len);
	rules_free(set);
	if (rc != 0) {
		fprintf(stderr, "hotlinectl: out of memory serializing the rules\n");
		return 1;
	}
	rc = 1;
	redisReply *reply = NULL;
	if (ctl_redis(ctl) != 0)
		goto out;
	/*
	 * INCR inside EXEC cannot be undone if the version key holds something
	 * that is not an integer, and SET would already have happened: check first.
	 */
	reply = redis_run(ctl, "reading the rule set version", "GET %s", REDIS_KEY_RULES_VERSION);
	if (reply == NULL)
		goto out;
	if (reply->type == REDIS_REPLY_STRING) {
		char *end;
		errno = 0;
		long long current = strtoll(reply->str, &end, 10);
		if (errno != 0 || end == reply->str || *end != '\0' || current < 0) {
			fprintf(stderr,
				"hotlinectl: %s in Redis at %s holds '%.40s', not a version "
				"number; nothing stored\n",
				REDIS_KEY_RULES_VERSION, ctl->redis_addr, reply->str);
			goto out;
		}
	}
	freeReplyObject(reply);
	reply = redis_run(ctl, "MULTI", "MULTI");
	if (reply == NULL)
		goto out;
	freeReplyObject(reply);
	reply = redis_run(ctl, "queueing SET", "SET %s %b", REDIS_KEY_RULES, text, len);
	if (reply == NULL)
		goto out;
	freeReplyObject(reply);
	reply = redis_run(ctl, "queueing INCR", "INCR %s", REDIS_KEY_RULES_VERSION);
	if (reply == NULL)
		goto out;
	freeReplyObject(reply);
	reply = redis_run(ctl, "storing the rule set (EXEC)", "EXEC");
	if (reply == NULL)
		goto out;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STATUS ||
	    reply->element[1]->type != REDIS_REPLY_INTEGER) {
		const char *why = "unexpected reply to EXEC";
		if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
		    reply->element[1]->type == REDIS_REPLY_ERROR)
			why = reply->element[1]->str;
		fprintf(stderr,
			"hotlinectl: storing the rule set in Redis at %s failed: %s; check %s and "
			"%s by hand\n",
			ctl->redis_addr, why, REDIS_KEY_RULES, REDIS_KEY_RULES_VERSION);
		goto out;
	}
	long long version = reply->element[1]->integer;
	freeReplyObject(reply);
	reply = redis_run(ctl, "announcing the new version", "PUBLISH %s %lld",
			  REDIS_CHANNEL_RULES_CHANGED, version);
	if (reply == NULL) {
		fprintf(stderr,
			"hotlinectl: version %lld is stored but was not announced; running daemons "
			"keep their rules until the next announcement (run the load again)\n",
			version);
		goto out;
	}
	printf("loaded %zu rules from %s as version %lld\n", count, path, version);
	rc = 0;
out:
	if (reply)
		freeReplyObject(reply);
	free(text);
	return rc;
}

static int route_show(struct ctl *ctl, int argc, char **argv)
{
	static char prog[] = "hotlinectl route show";
	argv[0] = prog;
	static const struct option longopts[] = {
		{ "redis", required_argument, NULL, ROUTE_OPT_REDIS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case ROUTE_OPT_REDIS:
			ctl->redis_opt = optarg;
			break;
		case 'h':
			printf("usage: hotlinectl route show\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: hotlinectl route show\n");
		return 2;
	}
	char *text, version[64];
	size_t len;
	int found = fetch_rules(ctl, &text, &len, version, sizeof(version));
	if (found <= 0)
		return 1;
	struct rule_set *set;
	if (parse_stored(text, len, &set) != 0) {
		free(text);
		return 1;
	}
	printf("# version %s, %zu rules\n", version, rules_count(set));
	fwrite(text, 1, len, stdout);
	if (len > 0 && text[len - 1] != '\n')
		putchar('\n');
	rules_free(set);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int route_test(struct ctl *ctl, int argc, char **argv)
{
	static char prog[] = "hotlinectl route test";
	argv[0] = prog;
	static const struct option longopts[] = {
		{ "feed", required_argument, NULL, 'f' },
		{ "category", required_argument, NULL, 'C' },
		{ "district", required_argument, NULL, 'D' },
		{ "content", required_argument, NULL, 'T' },
		{ "file", required_argument, NULL, 'F' },
		{ "redis", required_argument, NULL, ROUTE_OPT_REDIS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage_text[] =
		"usage: hotlinectl route test [--feed CODE] [--category C] [--district D]\n"
		"                             [--content TEXT] [--file FILE]\n";
	struct rule_input in = { 0 };
	const char *file = NULL;
	int opt;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			in.feed_code = optarg;
			break;
		case 'C':
			in.category = optarg;
			break;
		case 'D':
			in.district = optarg;
			break;
		case 'T':
			in.content = optarg;
			break;
		case 'F':
			file = optarg;
			break;
		case ROUTE_OPT_REDIS:
			ctl->redis_opt = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	struct rule_set *set;
	if (file) {
		if (load_rule_file(file, &set) != 0)
			return 1;
	} else {
		char *text, version[64];
		size_t len;
		int found = fetch_rules(ctl, &text, &len, version, sizeof(version));
		if (found <= 0)
			return 1;
		int rc = parse_stored(text, len, &set);
		free(text);
		if (rc != 0)
			return 1;
	}
	const struct rule *rule = rules_match(set, &in);
	if (rule)
		printf("rule %s (line %u) -> %s\n", rule_name(rule), rule_line(rule),
		       rule_dept(rule));
	else
		printf("no rule matched -> PENDING_DISPATCH (manual dispatch desk)\n");
	rules_free(set);
	return fflush(stdout) == 0 ? 0 : 1;
}

struct route_command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
};

static const struct route_command route_commands[] = {
	{ "load", route_load },
	{ "show", route_show },
	{ "test", route_test },
};

static int cmd_route(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: hotlinectl route load|show|test ... (see --help)\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(route_commands) / sizeof(route_commands[0]); i++)
		if (strcmp(argv[1], route_commands[i].name) == 0)
			return route_commands[i].run(ctl, argc - 1, argv + 1);
	fprintf(stderr, "hotlinectl route: unknown command '%s' (load, show or test)\n", argv[1]);
	return 2;
}

struct command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "migrate", cmd_migrate, "apply schema migrations" },
	{ "route", cmd_route, "publish, show and try the routing rules" },
};

int main(int argc, char **argv)
{
	struct ctl ctl = { 0 };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "dsn", required_argument, NULL, 'd' },
		{ "redis", required_argument, NULL, 'r' },  { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },	    { NULL, 0, NULL, 0 },
	};
	int opt;
	/* '+': stop at the command, so its own options are left to it. */
	while ((opt = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			ctl.config_path = optarg;
			break;
		case 'd':
			ctl.dsn = optarg;
			break;
		case 'r':
			ctl.redis_opt = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hotlinectl %s\n", HOTLINE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int rc = commands[i].run(&ctl, argc - optind, argv + optind);
			if (ctl.pg)
				PQfinish(ctl.pg);
			if (ctl.redis)
				redisFree(ctl.redis);
			return rc;
		}
	}
	fprintf(stderr, "hotlinectl: unknown command '%s' (see --help)\n", argv[optind]);
	return 2;
}
