/*
 * tally.c - the per-feed intake counters.
 */
#include "tally.h"

#include <stdlib.h>
#include <string.h>

void tally_init(struct tally *t)
{
	memset(t, 0, sizeof(*t));
}

void tally_free(struct tally *t)
{
	free(t->feeds);
	memset(t, 0, sizeof(*t));
}

struct feed_tally *tally_feed(struct tally *t, const char *feed_code)
{
	if (!feed_code || !code_valid(feed_code))
		return NULL;
	for (size_t i = 0; i < t->nfeeds; i++)
		if (strcmp(t->feeds[i].feed_code, feed_code) == 0)
			return &t->feeds[i];
	if (t->nfeeds == TALLY_MAX_FEEDS)
		return NULL;
	if (t->nfeeds == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct feed_tally *feeds = realloc(t->feeds, cap * sizeof(*feeds));
		if (!feeds)
			return NULL;
		t->feeds = feeds;
		t->cap = cap;
	}
	struct feed_tally *row = &t->feeds[t->nfeeds++];
	memset(row, 0, sizeof(*row));
	strcpy(row->feed_code, feed_code); /* code_valid: at most CODE_MAX bytes */
	return row;
}
