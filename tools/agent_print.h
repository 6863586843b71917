/*
 * agent_print.h - hotline-agent's readable output of the HTTP API's answers:
 * a ticket's fields and its audit trail, a caller's history, the desk,
 * knowledge-base entries, callback tasks, as aligned tables and fields.
 *
 * Owns: which members of each answer (docs/http-api.md) are shown, in which
 * order and how wide. Times are shown as the API gives them (UTC).
 * Never: changes the document, or prints it as JSON (--json prints the
 * answer as it came, in tools/agent_http.c).
 * Callers: tools/agent_http.c.
 */
#ifndef HOTLINE_AGENT_PRINT_H
#define HOTLINE_AGENT_PRINT_H

#include <jansson.h>
#include <stdio.h>

/* Every member of an object but the listed ones (NULL-terminated), as fields; nulls skipped. */
void agent_print_fields(FILE *out, json_t *obj, const char *const *except);

/* GET /api/v1/tickets/{no} (and the answers of dispatch, rule, close): fields, then the trail. */
void agent_print_ticket(FILE *out, json_t *ticket);

/* GET /api/v1/callers/{phone}/tickets */
void agent_print_history(FILE *out, json_t *page);

/* GET /api/v1/kb: one block per entry, its answer in full. */
void agent_print_kb(FILE *out, json_t *result);

/* GET /api/v1/desk */
void agent_print_desk(FILE *out, json_t *desk);

#endif
