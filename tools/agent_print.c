/*
 * agent_print.c - readable answers of the HTTP API; see agent_print.h.
 *
 * Long texts (a ticket's content, a KB question) are clipped in tables, where
 * one row must stay one line; `show` and `kb` print them whole.
 */
#include "agent_print.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli_table.h"

#define CONTENT_COLUMNS 40 /* a table's text column, clipped */
#define DETAIL_COLUMNS 60  /* an audit row's detail, clipped */

/*
 * A member shown as text: strings as they are, numbers, true/false as
 * yes/no; NULL for null or absent (shown as "-"). buf holds numbers.
 */
static const char *member(json_t *obj, const char *key, char buf[64])
{
	json_t *v = json_object_get(obj, key);
	switch (json_typeof(v ? v : json_null())) {
	case JSON_STRING:
		return json_string_value(v);
	case JSON_INTEGER:
		snprintf(buf, 64, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, 64, "%.15g", json_real_value(v));
		return buf;
	case JSON_TRUE:
		return "yes";
	case JSON_FALSE:
		return "no";
	case JSON_OBJECT:
	case JSON_ARRAY:
		return "(...)";
	default:
		return NULL;
	}
}

static bool listed(const char *key, const char *const *list)
{
	for (; list && *list; list++)
		if (strcmp(key, *list) == 0)
			return true;
	return false;
}

void agent_print_fields(FILE *out, json_t *obj, const char *const *except)
{
	const char *key;
	json_t *value;
	size_t width = 0;
	json_object_foreach(obj, key, value)
	{
		if (!json_is_null(value) && !listed(key, except) && cli_text_width(key) > width)
			width = cli_text_width(key);
	}
	json_object_foreach(obj, key, value)
	{
		char buf[64];
		if (json_is_null(value) || listed(key, except))
			continue;
		cli_print_field(out, key, width, member(obj, key, buf));
	}
}

void agent_print_ticket(FILE *out, json_t *ticket)
{
	static const char *const except[] = { "events", NULL };
	agent_print_fields(out, ticket, except);
	json_t *events = json_object_get(ticket, "events");
	if (!json_is_array(events) || json_array_size(events) == 0)
		return;
	static const char *const heads[] = { "at", "event", "state", "actor", "detail" };
	static const size_t max[] = { 0, 0, 0, 0, DETAIL_COLUMNS };
	struct cli_table t;
	cli_table_init(&t, 5, heads, max);
	size_t i;
	json_t *e;
	json_array_foreach(events, i, e)
	{
		char c[6][64], moved[96];
		const char *from = member(e, "from_state", c[0]), *to = member(e, "to_state", c[1]);
		snprintf(moved, sizeof(moved), "%s%s%s", from ? from : "",
			 to ? (from ? " -> " : "-> ") : (from ? "" : "-"), to ? to : "");
		const char *row[] = { member(e, "at", c[2]), member(e, "kind", c[3]), moved,
				      member(e, "actor", c[4]), member(e, "detail", c[5]) };
		cli_table_row(&t, row);
	}
	fprintf(out, "\naudit trail (oldest first):\n");
	cli_table_print(&t, out);
	cli_table_free(&t);
}

void agent_print_history(FILE *out, json_t *page)
{
	char b1[64];
	json_t *tickets = json_object_get(page, "tickets");
	size_t n = json_array_size(tickets);
	json_int_t offset = json_integer_value(json_object_get(page, "offset"));
	const char *phone = member(page, "caller_phone", b1);
	if (n == 0) {
		fprintf(out, "caller %s: no tickets%s\n", phone ? phone : "-",
			offset ? " at this offset" : "");
		return;
	}
	fprintf(out,
		"caller %s: tickets %" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT
		", newest first",
		phone ? phone : "-", offset + 1, offset + (json_int_t)n);
	if (json_is_true(json_object_get(page, "more")))
		fprintf(out, " (more: --offset %" JSON_INTEGER_FORMAT ")", offset + (json_int_t)n);
	fputc('\n', out);
	static const char *const heads[] = { "ticket_no", "state",  "created_at", "category",
					     "dept",	  "rating", "content" };
	static const size_t max[] = { 0, 0, 0, 20, 20, 0, CONTENT_COLUMNS };
	struct cli_table t;
	cli_table_init(&t, 7, heads, max);
	size_t i;
	json_t *tk;
	json_array_foreach(tickets, i, tk)
	{
		char c[7][64];
		const char *row[] = { member(tk, "ticket_no", c[0]),  member(tk, "state", c[1]),
				      member(tk, "created_at", c[2]), member(tk, "category", c[3]),
				      member(tk, "dept_code", c[4]),  member(tk, "rating", c[5]),
				      member(tk, "content", c[6]) };
		cli_table_row(&t, row);
	}
	cli_table_print(&t, out);
	cli_table_free(&t);
}

void agent_print_kb(FILE *out, json_t *result)
{
	char b[64];
	json_t *entries = json_object_get(result, "entries");
	if (json_array_size(entries) == 0) {
		const char *q = member(result, "query", b);
		char *shown = cli_cell_text(q, 0);
		fprintf(out, "no entry matches '%s'\n", shown);
		free(shown);
		return;
	}
	size_t i;
	json_t *e;
	json_array_foreach(entries, i, e)
	{
		char c[5][64];
		const char *parts[] = { member(e, "id", c[0]), member(e, "category", c[1]),
					member(e, "department", c[2]), member(e, "updated", c[3]) };
		double score = json_number_value(json_object_get(e, "score"));
		if (i > 0)
			fputc('\n', out);
		/* "[1] KB-0012  score 0.83  category  department  updated" */
		char *id = cli_cell_text(parts[0], 0);
		fprintf(out, "[%zu] %s  score %.2f", i + 1, id, score);
		free(id);
		for (int k = 1; k < 4; k++) {
			if (parts[k] == NULL)
				continue;
			char *cell = cli_cell_text(parts[k], 0);
			fprintf(out, "  %s", cell);
			free(cell);
		}
		fputc('\n', out);
		cli_print_field(out, "    Q:", 6, member(e, "question", c[4]));
		cli_print_field(out, "    A:", 6, member(e, "answer", c[4]));
	}
}

void agent_print_desk(FILE *out, json_t *desk)
{
	json_t *tickets = json_object_get(desk, "tickets");
	if (json_array_size(tickets) == 0) {
		fprintf(out, "the desk is empty\n");
		return;
	}
	static const char *const heads[] = { "ticket_no",     "state",	     "why",
					     "waiting_since", "returns",     "category",
					     "district",      "last_return", "content" };
	static const size_t max[] = { 0, 0, 0, 0, 0, 16, 12, 40, CONTENT_COLUMNS };
	struct cli_table t;
	cli_table_init(&t, 9, heads, max);
	size_t i;
	json_t *tk;
	json_array_foreach(tickets, i, tk)
	{
		char c[9][64], r1[64], r2[64], last[512] = "";
		json_t *returns = json_object_get(tk, "returns");
		size_t nret = json_array_size(returns);
		if (nret > 0) {
			json_t *r = json_array_get(returns, nret - 1);
			const char *dept = member(r, "dept_code", r1);
			const char *reason = member(r, "reason", r2);
			snprintf(last, sizeof(last), "%s: %s", dept ? dept : "-",
				 reason ? reason : "-");
		}
		const char *row[] = {
			member(tk, "ticket_no", c[0]),	  member(tk, "state", c[1]),
			member(tk, "why", c[2]),	  member(tk, "waiting_since", c[3]),
			member(tk, "return_count", c[4]), member(tk, "category", c[5]),
			member(tk, "district", c[6]),	  nret ? last : NULL,
			member(tk, "content", c[8])
		};
		cli_table_row(&t, row);
	}
	cli_table_print(&t, out);
	cli_table_free(&t);
}
