/*
 * hotlinectl - administration of a hotline12345 installation.
 *
 * Owns: schema migrations (`migrate`, `migrate --status`). Commands are a
 * name -> handler table, like pgbouncer's admin SHOW commands. Talks to
 * PostgreSQL with plain blocking libpq: this is an operator's tool, not a hot path.
 * Never: changes a ticket's state (only the daemon's state machine does).
 */
#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "migrations.h"

struct ctl {
	const char *config_path;
	const char *dsn;
	PGconn *pg;
};

static void usage(FILE *out)
{
	fputs("usage: hotlinectl [-c FILE | --dsn CONNINFO] COMMAND [ARGS]\n"
	      "\n"
	      "Administers a hotline12345 installation.\n"
	      "\n"
	      "options:\n"
	      "  -c, --config FILE    read [postgres] conninfo from this hotlined config\n"
	      "      --dsn CONNINFO   libpq connection string (overrides --config)\n"
	      "  -h, --help           this text\n"
	      "      --version        print the version\n"
	      "\n"
	      "commands:\n"
	      "  migrate              apply every schema migration not yet applied (safe to "
	      "re-run;\n"
	      "                       concurrent runs wait for each other)\n"
	      "  migrate --status     list migrations and whether each is applied\n"
	      "\n"
	      "Without -c or --dsn, libpq's environment (PGHOST, PGDATABASE, ...) is used.\n",
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

struct command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "migrate", cmd_migrate, "apply schema migrations" },
};

int main(int argc, char **argv)
{
	struct ctl ctl = { 0 };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dsn", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
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
			return rc;
		}
	}
	fprintf(stderr, "hotlinectl: unknown command '%s' (see --help)\n", argv[optind]);
	return 2;
}
