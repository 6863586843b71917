/*
 * cli_queue.h - requests a reference client (hotline-dept, hotline-agent)
 * holds, in order: an intrusive doubly-linked list that knows its length.
 *
 * Owns: linking and unlinking entries, and counting them (the count is what
 * the clients' limits and "pending" figures are made of).
 * Never: allocates, frees or looks inside an entry: the client embeds a
 * struct cli_link in its own request and owns it.
 * Callers: tools/agent.c (requests awaiting an answer), tools/dept.c (actions
 * ready to send, actions in flight).
 */
#ifndef HOTLINE_CLI_QUEUE_H
#define HOTLINE_CLI_QUEUE_H

#include <stddef.h>

struct cli_link {
	struct cli_link *prev, *next; /* NULL at the ends */
};

struct cli_queue {
	struct cli_link *head, *tail;
	size_t n;
};

/* The entry of type holding link as member (link must not be NULL). */
#define CLI_QUEUE_ENTRY(link, type, member) \
	((type *)(void *)((char *)(link)-offsetof(type, member)))

/* Adds link (on no queue) at the end, or at the front. */
void cli_queue_append(struct cli_queue *q, struct cli_link *link);
void cli_queue_prepend(struct cli_queue *q, struct cli_link *link);

/* Takes link (on q) off q. */
void cli_queue_remove(struct cli_queue *q, struct cli_link *link);

/* Moves all of from, in its order, ahead of to's entries; from ends empty. */
void cli_queue_prepend_all(struct cli_queue *to, struct cli_queue *from);

#endif
