/*
 * cli_queue.c - a reference client's requests in order; see cli_queue.h.
 */
#include "cli_queue.h"

/* Links link in between prev and next (neighbours on q; NULL at an end). */
static void link_between(struct cli_queue *q, struct cli_link *link, struct cli_link *prev,
			 struct cli_link *next)
{
	link->prev = prev;
	link->next = next;
	if (prev)
		prev->next = link;
	else
		q->head = link;
	if (next)
		next->prev = link;
	else
		q->tail = link;
	q->n++;
}

void cli_queue_append(struct cli_queue *q, struct cli_link *link)
{
	link_between(q, link, q->tail, NULL);
}

void cli_queue_prepend(struct cli_queue *q, struct cli_link *link)
{
	link_between(q, link, NULL, q->head);
}

void cli_queue_remove(struct cli_queue *q, struct cli_link *link)
{
	if (link->prev)
		link->prev->next = link->next;
	else
		q->head = link->next;
	if (link->next)
		link->next->prev = link->prev;
	else
		q->tail = link->prev;
	link->prev = link->next = NULL;
	q->n--;
}

void cli_queue_prepend_all(struct cli_queue *to, struct cli_queue *from)
{
	if (from->head == NULL)
		return;
	from->tail->next = to->head;
	if (to->head)
		to->head->prev = from->tail;
	else
		to->tail = from->tail;
	to->head = from->head;
	to->n += from->n;
	*from = (struct cli_queue){ 0 };
}
