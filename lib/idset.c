/*
 * idset.c - the id sets behind idset.h.
 */
#include "idset.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

void idset_free(struct idset *set)
{
	free(set->ids);
	set->ids = NULL;
	set->n = set->cap = 0;
}

void idset_clear(struct idset *set)
{
	set->n = 0;
}

bool idset_has(const struct idset *set, int64_t id)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->ids[i] == id)
			return true;
	return false;
}

int idset_add(struct idset *set, int64_t id)
{
	if (idset_has(set, id))
		return 0;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		int64_t *grown = realloc(set->ids, cap * sizeof(*grown));
		if (!grown)
			return -1;
		set->ids = grown;
		set->cap = cap;
	}
	set->ids[set->n++] = id;
	return 0;
}

bool idset_remove(struct idset *set, int64_t id)
{
	for (size_t i = 0; i < set->n; i++) {
		if (set->ids[i] == id) {
			set->ids[i] = set->ids[--set->n];
			return true;
		}
	}
	return false;
}

/* Longest "-9223372036854775808" plus a comma. */
#define ID_TEXT_MAX 21

char *idset_pg_array(const struct idset *const *sets, size_t nsets)
{
	size_t total = 0;
	for (size_t i = 0; i < nsets; i++)
		if (sets[i])
			total += sets[i]->n;
	size_t cap = total * ID_TEXT_MAX + 3, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	out[len++] = '{';
	bool first = true;
	for (size_t i = 0; i < nsets; i++) {
		for (size_t k = 0; sets[i] && k < sets[i]->n; k++) {
			len += (size_t)snprintf(out + len, cap - len, "%s%" PRId64,
						first ? "" : ",", sets[i]->ids[k]);
			first = false;
		}
	}
	out[len++] = '}';
	out[len] = '\0';
	return out;
}
