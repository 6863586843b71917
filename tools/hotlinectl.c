/*
 * hotlinectl - administration of a hotline12345 installation.
 *
 * Owns: schema migrations (`migrate`, `migrate --status`), publishing the
 * routing rules (`route load`, `route show`, `route test`): the writer's side
 * of the Redis rule-set contract (keys below) that every hotlined reads, and
 * the working-day calendar's horizon (`calendar status`, for operators and cron);
 * the HTTP API's accounts (`user`, ctl_user.c) and knowledge base (`kb`, ctl_kb.c).
 * Commands are a name -> handler table, like pgbouncer's admin SHOW commands.
 * Talks to PostgreSQL with plain blocking libpq and to Redis with hiredis's
 * blocking API: this is an operator's tool, not a hot path.
 * Never: changes a ticket's state (only the daemon's state machine does),
 * stores a rule set that does not parse (a half-loaded set would misroute), or
 * writes a calendar file (only the State Council's published notice may be
 * copied into one, by a person).
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
#include <time.h>

#include "calendar.h"
#include "calendar_dir.h"
#include "config.h"
#include "dates.h"
#include "ctl.h"
#include "migrations.h"
#include "queries.h"
#include "redis_ha.h"
#include "route.h"
#include "rules.h"
#include "tool_conn.h"

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

static void usage(FILE *out)
{
	fputs("usage: hotlinectl [-c FILE] [--dsn CONNINFO] [--redis ADDR] COMMAND [ARGS]\n"
	      "\n"
	      "Administers a hotline12345 installation.\n"
	      "\n"
	      "options:\n"
	      "  -c, --config FILE    read [postgres] conninfo, [redis] address (or the primary\n"
	      "                       its sentinels name), username and password, and\n"
	      "                       [calendar] dir and utc_offset_minutes from this\n"
	      "                       hotlined config\n"
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
	      "  calendar status [--dir DIR] [--now YYYY-MM-DD] [--warn-days N] [--check]\n"
	      "                       the years the working-day calendar knows and when it\n"
	      "                       ends; warns from N (60) days before; --check exits 1\n"
	      "                       on a warning (for cron and monitoring)\n"
	      "  user add NAME --role agent|supervisor\n"
	      "                       a new account of the HTTP API; prints its bearer token\n"
	      "                       once (only a hash is kept)\n"
	      "  user rotate NAME     a new token for NAME; the old one stops working at once\n"
	      "  user disable NAME    refuse NAME's token from the next request on\n"
	      "  user list            every account, its role and whether it is disabled\n"
	      "  kb import [--replace] FILE.csv\n"
	      "                       load knowledge-base entries (README: the CSV's columns);\n"
	      "                       all or nothing, errors FILE:LINE: reason; --replace\n"
	      "                       deletes the entries the file does not name\n"
	      "  kb search [--limit N] [--json] TEXT\n"
	      "                       what an agent's search for TEXT finds, best first\n"
	      "\n"
	      "Without -c or --dsn, libpq's environment (PGHOST, PGDATABASE, ...) is used.\n"
	      "Exit status: 0 done, 1 failed (bad rule or calendar file, unreachable server,\n"
	      "calendar status --check with a warning, ...), 2 usage.\n",
	      out);
}

/* Connects using --dsn, else the config's conninfo, else libpq defaults. */
int ctl_connect(struct ctl *ctl)
{
	ctl->pg = tool_pg_connect("hotlinectl", ctl->dsn, ctl->config_path);
	return ctl->pg ? 0 : -1;
}

/*
 * Runs text (several statements, with no parameters: a migration) or, with
 * values, the statement q of queries/ alone. Returns 0 when it succeeded, else
 * prints what of `what` failed.
 */
int exec_text(PGconn *pg, const char *text, const char *what)
{
	PGresult *res = PQexec(pg, text);
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
	PGresult *res = PQexec(pg, queries[QUERY_MIGRATE_APPLIED].text);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "hotlinectl: reading schema_migrations: %s", PQerrorMessage(pg));
		PQclear(res);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		applied[i] = 0;
	for (int row = 0; row < PQntuples(res); row++) {
		int version = atoi(PQgetvalue(res, row, MIGRATE_APPLIED_C_VERSION));
		for (size_t i = 0; i < n; i++)
			if (migrations[i].version == version)
				applied[i] = 1;
	}
	PQclear(res);
	return 0;
}

/* Records a migration as applied (in its transaction); 0, or -1 after saying why. */
static int record_migration(PGconn *pg, int version, const char *name)
{
	char v[16];
	snprintf(v, sizeof(v), "%d", version);
	const char *values[MIGRATE_RECORD_NPARAMS] = {
		[MIGRATE_RECORD_P_VERSION] = v,
		[MIGRATE_RECORD_P_NAME] = name,
	};
	PGresult *res = PQexecParams(pg, queries[QUERY_MIGRATE_RECORD].text, MIGRATE_RECORD_NPARAMS,
				     NULL, values, NULL, NULL, 0);
	int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "hotlinectl: recording the migration: %s", PQerrorMessage(pg));
	PQclear(res);
	return rc;
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
	if (exec_text(pg, queries[QUERY_MIGRATE_LOCK].text, "taking the migration lock") != 0 ||
	    exec_text(pg, queries[QUERY_MIGRATE_TABLE].text, "creating schema_migrations") != 0)
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
		if (exec_text(pg, queries[QUERY_MIGRATE_BEGIN].text, "BEGIN") != 0 ||
		    exec_text(pg, m->sql, m->name) != 0 ||
		    record_migration(pg, m->version, m->name) != 0 ||
		    exec_text(pg, queries[QUERY_MIGRATE_COMMIT].text, "COMMIT") != 0) {
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
 * Asks cfg's [redis] sentinels, one after another, for the primary of master_name
 * (SENTINEL get-master-addr-by-name) and writes "host:port" into addr. Returns 0, or
 * -1 after printing what the last sentinel said.
 */
static int sentinel_primary(const struct hotline_config *cfg, char *addr, size_t len)
{
	struct redis_ha_addr sentinels[REDIS_HA_SENTINELS_MAX];
	size_t n = 0;
	char why[512] = "";
	if (redis_ha_parse_addrs(cfg->redis_sentinels, sentinels, REDIS_HA_SENTINELS_MAX, &n, why,
				 sizeof(why)) != 0) {
		fprintf(stderr, "hotlinectl: [redis] sentinels: %s\n", why);
		return -1;
	}
	struct timeval tv = { .tv_sec = 2 };
	for (size_t i = 0; i < n; i++) {
		const struct redis_ha_addr *s = &sentinels[i];
		redisContext *rc = redisConnectWithTimeout(s->host, s->port, tv);
		if (!rc || rc->err || redisSetTimeout(rc, tv) != REDIS_OK) {
			snprintf(why, sizeof(why), "%.255s:%d: %.200s", s->host, s->port,
				 rc ? rc->errstr : "out of memory");
			redisFree(rc);
			continue;
		}
		redisReply *reply = NULL;
		if (cfg->redis_sentinel_password[0])
			reply = cfg->redis_sentinel_username[0]
					? redisCommand(rc, "AUTH %s %s",
						       cfg->redis_sentinel_username,
						       cfg->redis_sentinel_password)
					: redisCommand(rc, "AUTH %s", cfg->redis_sentinel_password);
		if (reply)
			freeReplyObject(reply);
		reply = redisCommand(rc, "SENTINEL get-master-addr-by-name %s",
				     cfg->redis_master_name);
		bool found = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
			     reply->element[0]->type == REDIS_REPLY_STRING &&
			     reply->element[1]->type == REDIS_REPLY_STRING;
		if (found) {
			const char *host = reply->element[0]->str;
			int w = snprintf(addr, len, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host,
					 reply->element[1]->str);
			found = w > 0 && (size_t)w < len;
		} else {
			snprintf(why, sizeof(why), "%.255s:%d: %.200s", s->host, s->port,
				 !reply				    ? rc->errstr
				 : reply->type == REDIS_REPLY_ERROR ? reply->str
								    : "does not monitor that name");
		}
		if (reply)
			freeReplyObject(reply);
		redisFree(rc);
		if (found)
			return 0;
	}
	fprintf(stderr, "hotlinectl: no sentinel named the primary of '%s' (%s)\n",
		cfg->redis_master_name, why);
	return -1;
}

/*
 * Fills ctl->redis_addr from --redis, else the config's [redis] address (or the
 * primary its sentinels name), else the default; and the AUTH credentials from the
 * config's [redis] username and password, else $HOTLINE_REDIS_USERNAME and
 * $HOTLINE_REDIS_PASSWORD. Returns 0, or -1 after printing why (a config that does
 * not load, no sentinel answering).
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
	char primary[REDIS_HA_HOST_MAX + 16];
	if (!ctl->redis_opt && have_cfg && cfg.redis_sentinels[0]) {
		if (sentinel_primary(&cfg, primary, sizeof(primary)) != 0) {
			config_free(&cfg);
			return -1;
		}
		addr = primary;
	}
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
	char err[1024];
	redisContext *rc = tool_redis_connect(ctl->redis_addr, ctl->redis_user, ctl->redis_pass,
					      REDIS_CONNECT_TIMEOUT_S, REDIS_COMMAND_TIMEOUT_S, err,
					      sizeof(err));
	if (!rc) {
		fprintf(stderr, "hotlinectl: %s\n", err);
		return -1;
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

static int load_rule_file(const char *path, struct rule_set **set)
	__attribute__((warn_unused_result));
static int fetch_rules(struct ctl *ctl, char **text, size_t *len, char *version, size_t versionlen)
	__attribute__((warn_unused_result));
static int parse_stored(const char *text, size_t len, struct rule_set **set)
	__attribute__((warn_unused_result));

/*
 * Reads a whole file into a new NUL-terminated buffer (*out, caller frees).
 * Reads at most max + 1 bytes so that the caller can tell a file that is too
 * large. Returns 0, or -1 after printing why.
 */
int ctl_read_file(const char *path, size_t max, char **out, size_t *outlen)
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
		if (len > max)
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
	if (ctl_read_file(path, RULES_MAX_TEXT, &text, &len) != 0)
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
	/* The feed's join mode comes from the config, as it does for hotlined. */
	struct hotline_config cfg;
	bool have_cfg = false;
	const struct feed_config *feed = NULL;
	if (in.feed_code && ctl->config_path) {
		char err[1024];
		if (config_load(ctl->config_path, &cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "hotlinectl: %s\n", err);
			rules_free(set);
			return 1;
		}
		have_cfg = true;
		feed = config_find_feed(&cfg, in.feed_code);
		if (!feed) {
			fprintf(stderr,
				"hotlinectl: feed '%s' has no [feed.%s] section in %s (hotlined "
				"would "
				"refuse its Hello)\n",
				in.feed_code, in.feed_code, ctl->config_path);
			config_free(&cfg);
			rules_free(set);
			return 1;
		}
	} else if (in.feed_code) {
		fprintf(stderr,
			"hotlinectl: note: without -c FILE the join mode of feed '%s' is "
			"unknown; a sub-centre's own department is not considered\n",
			in.feed_code);
	}
	struct route_decision where;
	route_decide(set, feed, &in, false, &where);
	switch (where.kind) {
	case ROUTE_RULE:
		printf("rule %s (line %u) -> %s\n", rule_name(where.rule), rule_line(where.rule),
		       where.dept_code);
		break;
	case ROUTE_SUBCENTER:
		printf("no rule matched; feed %s is a sub-centre -> %s (its own department)\n",
		       in.feed_code, where.dept_code);
		break;
	case ROUTE_DESK:
	case ROUTE_DIRECT_CLOSE:
		printf("no rule matched -> PENDING_DISPATCH (manual dispatch desk)\n");
		break;
	}
	if (have_cfg)
		config_free(&cfg);
	rules_free(set);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* A command's second word (route load, calendar status) -> its handler. */
struct subcommand {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
};

static const struct subcommand route_commands[] = {
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

/* ---- calendar --------------------------------------------------------- */

#define DEFAULT_CALENDAR_DIR "deploy/calendar"
#define CALENDAR_STATUS_MAX_WARN_DAYS 3660 /* ten years */
#define CALENDAR_STATUS_MAX_LISTED 20	   /* missing years named one by one */

static const char calendar_status_usage[] =
	"usage: hotlinectl [-c FILE] calendar status [--dir DIR] [--now YYYY-MM-DD]\n"
	"                                            [--warn-days N] [--check]\n"
	"\n"
	"Reads the working-day calendar files as hotlined does and says which years\n"
	"they cover and when the last one ends. Deadlines that run past it are\n"
	"counted Monday to Friday, without holidays or make-up working days (调休),\n"
	"until the next year's file is added from the State Council's notice.\n"
	"\n"
	"  --dir DIR        the calendar directory (default: the config's [calendar]\n"
	"                   dir with -c FILE, else " DEFAULT_CALENDAR_DIR ")\n"
	"  --now DATE       the local date to judge from (default: today by the system\n"
	"                   clock, at the config's [calendar] utc_offset_minutes with\n"
	"                   -c FILE, else +480)\n"
	"  --warn-days N    warn when at most N covered days remain, today included\n"
	"                   (default 60: from 2 November; 0 warns only once expired)\n"
	"  --check          exit 1 on a warning or an expired calendar\n"
	"\n"
	"Exit status: 0 (also with a warning, without --check), 1 a warning with\n"
	"--check, or a calendar file that cannot be read or parsed (FILE:LINE: reason),\n"
	"2 usage.\n";

/* Writes day number days as YYYY-MM-DD into buf (16 bytes are enough). */
static void day_text(int64_t days, char *buf, size_t len)
{
	int year, month, day;
	dates_civil_from_days(days, &year, &month, &day);
	snprintf(buf, len, "%04d-%02d-%02d", year, month, day);
}

/* The system clock in unix ms: this tool's only clock read. */
int64_t ctl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prints the years known and, when there are gaps, the years missing between. */
static void print_years(const struct calendar *cal, const struct calendar_horizon *h)
{
	fputs("years known:", stdout);
	if (h->years == 0)
		fputs(" none (no *.cal file)", stdout);
	for (int year = h->first_year; h->years > 0 && year <= h->last_year; year++)
		if (calendar_covers(cal, year))
			printf(" %d", year);
	putchar('\n');
	if (h->gap_year == 0)
		return;
	int listed = 0, missing = 0;
	fputs("years missing between:", stdout);
	for (int year = h->gap_year; year < h->last_year; year++) {
		if (calendar_covers(cal, year))
			continue;
		if (listed < CALENDAR_STATUS_MAX_LISTED) {
			printf(" %d", year);
			listed++;
		}
		missing++;
	}
	if (missing > listed)
		printf(" ... (%d in all)", missing);
	printf(" (deadlines in %s count Monday to Friday only)\n",
	       missing == 1 ? "that year" : "those years");
}

/* The steps that end the warning, after "until". */
static void print_remedy(const char *dir, int year)
{
	size_t len = strlen(dir);
	const char *slash = len > 0 && dir[len - 1] == '/' ? "" : "/";
	printf(" until %s%s%d.cal is added from the State Council's notice and hotlined is "
	       "reloaded (kill -HUP).\n",
	       dir, slash, year);
}

static int calendar_status(struct ctl *ctl, int argc, char **argv)
{
	static char prog[] = "hotlinectl calendar status";
	argv[0] = prog;
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "now", required_argument, NULL, 'n' },
		{ "warn-days", required_argument, NULL, 'w' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir_opt = NULL, *now_opt = NULL;
	int warn_days = CALENDAR_HORIZON_WARN_DAYS;
	bool check = false;
	int opt;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			dir_opt = optarg;
			break;
		case 'n':
			now_opt = optarg;
			break;
		case 'w': {
			char *end;
			errno = 0;
			long n = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || n < 0 ||
			    n > CALENDAR_STATUS_MAX_WARN_DAYS) {
				fprintf(stderr,
					"%s: --warn-days '%s' is not a number of days 0-%d\n", prog,
					optarg, CALENDAR_STATUS_MAX_WARN_DAYS);
				return 2;
			}
			warn_days = (int)n;
			break;
		}
		case 'k':
			check = true;
			break;
		case 'h':
			fputs(calendar_status_usage, stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, argv[optind]);
		return 2;
	}
	struct dates_local now_local = { 0 };
	if (now_opt != NULL) {
		int rc = dates_parse_ymd(now_opt, strlen(now_opt), &now_local.year,
					 &now_local.month, &now_local.day);
		if (rc != 0) {
			fprintf(stderr, "%s: --now '%s' is %s\n", prog, now_opt,
				rc == -1 ? "not a date (write YYYY-MM-DD)"
					 : "not a day that exists");
			return 2;
		}
	}

	struct hotline_config cfg;
	bool have_cfg = false;
	const char *dir = DEFAULT_CALENDAR_DIR;
	int offset = DATES_OFFSET_CHINA_MIN;
	if (ctl->config_path) {
		char err[1024];
		if (config_load(ctl->config_path, &cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "hotlinectl: %s\n", err);
			return 1;
		}
		have_cfg = true;
		dir = cfg.calendar_dir;
		offset = (int)cfg.utc_offset_minutes;
	}
	if (dir_opt != NULL)
		dir = dir_opt;
	/* any instant of the local day gives the same horizon: take its noon */
	now_local.hour = 12;
	int64_t now_ms = now_opt != NULL ? dates_to_ms(&now_local, offset) : ctl_now_ms();

	int rc = 1;
	struct calendar *cal = NULL;
	char err[1024];
	struct calendar_horizon h;
	if (calendar_horizon_at(NULL, now_ms, offset, warn_days, &h) != 0) {
		if (now_opt != NULL)
			fprintf(stderr, "%s: --now '%s' is too early (1970 or later)\n", prog,
				now_opt);
		else
			fprintf(stderr, "%s: the system clock is before 1970\n", prog);
		rc = now_opt != NULL ? 2 : 1;
		goto out;
	}
	if (calendar_dir_load(dir, &cal, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err); /* FILE:LINE: reason, for editors */
		goto out;
	}
	if (calendar_horizon_at(cal, now_ms, offset, warn_days, &h) != 0)
		goto out; /* the arguments passed just above */

	char today[16], last[16], warn_from[16];
	day_text(h.today_days, today, sizeof(today));
	day_text(h.last_day_days, last, sizeof(last));
	day_text(h.warn_from_days, warn_from, sizeof(warn_from));
	printf("calendar: %s (utc offset %+d min)\n", dir, offset);
	print_years(cal, &h);
	if (!h.expired && h.days_left == 0)
		printf("last day covered: %s (today)\n", last);
	else if (!h.expired)
		printf("last day covered: %s (%lld day%s after %s)\n", last, (long long)h.days_left,
		       h.days_left == 1 ? "" : "s", today);
	else if (h.years > 0 && h.first_year < h.today_year)
		printf("last day covered: %s (%lld day%s before %s)\n", last,
		       (long long)-h.days_left, h.days_left == -1 ? "" : "s", today);
	else
		printf("last day covered: none before %s\n", today);

	if (h.expired) {
		printf("EXPIRED: there is no calendar file for %d, the year of %s. Deadlines are "
		       "counted Monday to Friday, without holidays or make-up working days (调休),",
		       h.missing_year, today);
		print_remedy(dir, h.missing_year);
	} else if (h.warn) {
		if (h.days_left == 0)
			printf("WARNING: the calendar ends today.");
		else
			printf("WARNING: the calendar ends in %lld day%s.", (long long)h.days_left,
			       h.days_left == 1 ? "" : "s");
		printf(" Deadlines that run past %s are counted Monday to Friday, without "
		       "holidays or make-up working days (调休),",
		       last);
		print_remedy(dir, h.missing_year);
	} else {
		printf("OK: the warning starts on %s (--warn-days %d)\n", warn_from, warn_days);
	}
	rc = check && h.warn ? 1 : 0;
out:
	calendar_free(cal);
	if (have_cfg)
		config_free(&cfg);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}

static const struct subcommand calendar_commands[] = {
	{ "status", calendar_status },
};

static int cmd_calendar(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: hotlinectl calendar status ... (see --help)\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(calendar_commands) / sizeof(calendar_commands[0]); i++)
		if (strcmp(argv[1], calendar_commands[i].name) == 0)
			return calendar_commands[i].run(ctl, argc - 1, argv + 1);
	fprintf(stderr, "hotlinectl calendar: unknown command '%s' (status)\n", argv[1]);
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
	{ "calendar", cmd_calendar, "how far ahead the working-day calendar reaches" },
	{ "user", cmd_user, "the accounts of agents and supervisors (HTTP API)" },
	{ "kb", cmd_kb, "load and try the knowledge base agents search" },
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
