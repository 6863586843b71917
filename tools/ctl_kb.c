/*
 * ctl_kb.c - hotlinectl kb: loading the knowledge base (一问一答) and trying its
 * search.
 *
 * Owns: `kb import [--replace] FILE.csv`: the file is read and checked whole
 * (lib/kbfile.c: "FILE:LINE: reason" on the first problem, and nothing is
 * imported), then written by one statement (queries/kb_import.sql), so an
 * import is all or nothing even when PostgreSQL refuses it midway; --replace
 * deletes, in that same statement, the entries the file does not name; then
 * the GIN indexes' pending lists are merged (queries/kb_flush.sql).
 * `kb search [--limit N] [--json] TEXT`: the statement hotlined answers
 * GET /api/v1/kb with (queries/kb_search.sql), shown as a table.
 * Never: imports part of a file, or replaces the knowledge base with a file
 * of no entries (that would delete all of it).
 * Callers: tools/hotlinectl.c.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "kbfile.h"
#include "linefile.h"
#include "pgarray.h"
#include "queries.h"
#include "utf8.h"

#define KB_FILE_MAX (256u * 1024 * 1024) /* bytes of a CSV file */
#define KB_QUERY_MAX 200		 /* bytes of a search, as GET /api/v1/kb */
#define KB_LIMIT_MAX 50
#define ANSWER_SHOWN 120 /* bytes of an answer's first line in the table */

static void kb_usage(FILE *out)
{
	fputs("usage: hotlinectl kb import [--replace] FILE.csv\n"
	      "       hotlinectl kb search [--limit N] [--json] TEXT\n"
	      "\n"
	      "import: load the entries of a CSV file (header row: id, question, answer,\n"
	      "category, department, updated in any order; RFC 4180 quoting; UTF-8). An\n"
	      "entry whose id exists already is replaced. The whole file or nothing: the\n"
	      "first problem is shown as FILE:LINE: reason. --replace also deletes every\n"
	      "entry the file does not name.\n"
	      "search: what an agent's search for TEXT finds (GET /api/v1/kb), best first;\n"
	      "--limit 1..50 (10), --json prints the API's document.\n",
	      out);
}

/* Runs q; the result when it returned rows, else NULL after saying why. */
static PGresult *kb_run(struct ctl *ctl, enum query q, const char *const *values, const char *what)
{
	PGresult *res = PQexecParams(ctl->pg, queries[q].text, queries[q].nparams, NULL, values,
				     NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		return res;
	fprintf(stderr, "hotlinectl kb: %s: %s", what, PQerrorMessage(ctl->pg));
	PQclear(res);
	return NULL;
}

/* ---- import ------------------------------------------------------------- */

static int kb_import(struct ctl *ctl, const char *path, bool replace)
{
	char *text;
	size_t len;
	if (ctl_read_file(path, KB_FILE_MAX, &text, &len) != 0)
		return 1;
	if (len > KB_FILE_MAX) {
		fprintf(stderr, "%s: larger than %u MiB\n", path, KB_FILE_MAX >> 20);
		free(text);
		return 1;
	}
	struct kbfile file;
	char err[1024];
	int rc = kbfile_parse(path, text, len, &file, err, sizeof(err));
	free(text);
	if (rc != 0) {
		fprintf(stderr, "%s\nhotlinectl kb: nothing was imported\n", err);
		return 1;
	}
	if (replace && file.count == 0) {
		fprintf(stderr,
			"%s: no entries: --replace would delete the whole knowledge base; "
			"nothing was changed\n",
			path);
		kbfile_free(&file);
		return 1;
	}
	struct pgarray columns[KBFILE_NCOLUMNS] = { 0 };
	rc = 0;
	for (int c = 0; c < KBFILE_NCOLUMNS; c++) {
		pgarray_begin_text(&columns[c]);
		for (size_t i = 0; i < file.count; i++)
			pgarray_text(&columns[c], file.entries[i].fields[c],
				     file.entries[i].lens[c]);
		if (pgarray_end(&columns[c]) != 0)
			rc = -1;
	}
	size_t count = file.count;
	kbfile_free(&file);
	PGresult *res = NULL;
	if (rc != 0) {
		fprintf(stderr, "hotlinectl kb: out of memory\n");
	} else if (ctl_connect(ctl) == 0) {
		char at[24];
		snprintf(at, sizeof(at), "%lld", (long long)ctl_now_ms());
		const char *values[KB_IMPORT_NPARAMS] = {
			[KB_IMPORT_P_KB_IDS] = columns[KBFILE_ID].data,
			[KB_IMPORT_P_QUESTIONS] = columns[KBFILE_QUESTION].data,
			[KB_IMPORT_P_ANSWERS] = columns[KBFILE_ANSWER].data,
			[KB_IMPORT_P_CATEGORIES] = columns[KBFILE_CATEGORY].data,
			[KB_IMPORT_P_DEPARTMENTS] = columns[KBFILE_DEPARTMENT].data,
			[KB_IMPORT_P_UPDATED] = columns[KBFILE_UPDATED].data,
			[KB_IMPORT_P_AT_MS] = at,
			[KB_IMPORT_P_REPLACE] = replace ? "true" : "false",
		};
		res = kb_run(ctl, QUERY_KB_IMPORT, values, "importing; nothing was imported");
	}
	for (int c = 0; c < KBFILE_NCOLUMNS; c++)
		pgarray_free(&columns[c]);
	if (!res)
		return 1;
	printf("imported %zu entries (%s new, %s updated)", count,
	       PQgetvalue(res, 0, KB_IMPORT_C_INSERTED), PQgetvalue(res, 0, KB_IMPORT_C_UPDATED));
	if (replace)
		printf(", %s deleted", PQgetvalue(res, 0, KB_IMPORT_C_DELETED));
	printf("\n");
	PQclear(res);
	/* Committed: a failure here only leaves the merge to autovacuum. */
	res = kb_run(ctl, QUERY_KB_FLUSH, NULL,
		     "merging the indexes' pending lists (autovacuum will)");
	PQclear(res);
	return 0;
}

/* ---- search ------------------------------------------------------------- */

/* The first line of s, cut to at most max bytes at a character boundary. */
static int first_line(const char *s, size_t max)
{
	size_t len = strcspn(s, "\r\n");
	return linefile_shown(s, len, max);
}

static void print_table(const char *document)
{
	json_t *doc = json_loads(document, 0, NULL);
	json_t *entries = json_object_get(doc, "entries");
	if (json_array_size(entries) == 0)
		printf("no entry matches\n");
	else
		printf("%-16s  %-5s  %-10s  %-16s  %s\n", "ID", "SCORE", "UPDATED", "DEPARTMENT",
		       "QUESTION / ANSWER");
	size_t i;
	json_t *e;
	json_array_foreach(entries, i, e)
	{
		const char *answer = json_string_value(json_object_get(e, "answer"));
		const char *question = json_string_value(json_object_get(e, "question"));
		printf("%-16s  %5.2f  %-10s  %-16s  %.*s\n",
		       json_string_value(json_object_get(e, "id")),
		       json_number_value(json_object_get(e, "score")),
		       json_string_value(json_object_get(e, "updated")),
		       json_string_value(json_object_get(e, "department")),
		       first_line(question, KBFILE_MAX_QUESTION), question);
		printf("%-16s  %-5s  %-10s  %-16s  %.*s%s\n", "", "", "", "",
		       first_line(answer, ANSWER_SHOWN), answer,
		       strlen(answer) > (size_t)first_line(answer, ANSWER_SHOWN) ? " ..." : "");
	}
	json_decref(doc);
}

static int kb_search(struct ctl *ctl, const char *q, long limit, bool as_json)
{
	size_t len = strlen(q);
	if (len == 0 || len > KB_QUERY_MAX || !utf8_valid(q, len)) {
		fprintf(stderr, "hotlinectl kb search: TEXT must be 1-%d bytes of UTF-8\n",
			KB_QUERY_MAX);
		return 2;
	}
	if (ctl_connect(ctl) != 0)
		return 1;
	char lim[24];
	snprintf(lim, sizeof(lim), "%ld", limit);
	const char *values[KB_SEARCH_NPARAMS] = { [KB_SEARCH_P_Q] = q, [KB_SEARCH_P_LIMIT] = lim };
	PGresult *res = kb_run(ctl, QUERY_KB_SEARCH, values, "searching");
	if (!res)
		return 1;
	const char *document = PQgetvalue(res, 0, KB_SEARCH_C_RESULT);
	if (as_json)
		printf("%s\n", document);
	else
		print_table(document);
	PQclear(res);
	return 0;
}

int cmd_kb(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "replace", no_argument, NULL, 'r' },
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool replace = false, as_json = false, limit_given = false;
	long limit = 10;
	int opt;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			replace = true;
			break;
		case 'l': {
			char *end;
			limit = strtol(optarg, &end, 10);
			limit_given = true;
			if (*optarg == '\0' || *end != '\0' || limit < 1 || limit > KB_LIMIT_MAX) {
				fprintf(stderr, "hotlinectl kb search: --limit must be 1..%d\n",
					KB_LIMIT_MAX);
				return 2;
			}
			break;
		}
		case 'j':
			as_json = true;
			break;
		case 'h':
			kb_usage(stdout);
			return 0;
		default:
			kb_usage(stderr);
			return 2;
		}
	}
	const char *verb = optind < argc ? argv[optind] : "";
	bool import = strcmp(verb, "import") == 0, search = strcmp(verb, "search") == 0;
	if ((!import && !search) || argc - optind != 2 || (import && (limit_given || as_json)) ||
	    (search && replace)) {
		if (!import && !search && *verb)
			fprintf(stderr, "hotlinectl kb: unknown command '%s'\n", verb);
		kb_usage(stderr);
		return 2;
	}
	if (import)
		return kb_import(ctl, argv[optind + 1], replace);
	return kb_search(ctl, argv[optind + 1], limit, as_json);
}
