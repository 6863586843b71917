/*
 * rules.c - routing rules behind rules.h: parser, matcher, canonical form.
 *
 * Owns: the in-memory rule set (an array of rules, each with up to four lists
 * of owned strings) and every check a rule file must pass. The parser works on
 * one line at a time and stops at the first error, so the message names the
 * line an operator has to fix. Never: reads files or Redis, logs, or keeps a
 * pointer into the text it parsed. Callers: see rules.h.
 */
#include "rules.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "intake.h"
#include "linefile.h"
#include "text.h"

/* A category or district longer than intake allows could never match. */
_Static_assert(RULES_MAX_SHORT == INTAKE_MAX_SHORT, "rules and intake disagree");

/* Serialized condition lines are continued past this many bytes (< RULES_MAX_LINE). */
#define SERIALIZE_WRAP 1000
_Static_assert(SERIALIZE_WRAP + 2 + RULES_MAX_KEYWORD < RULES_MAX_LINE, "wrap too wide");

struct rule_list {
	char **items;
	size_t count, cap;
};

struct rule {
	char *name;
	char *dept;
	unsigned line;
	struct rule_list conds[RULE_COND_COUNT];
};

struct rule_set {
	struct rule *rules;
	size_t count, cap;
};

static const char *const cond_names[RULE_COND_COUNT] = {
	[RULE_FEED] = "feed",
	[RULE_CATEGORY] = "category",
	[RULE_DISTRICT] = "district",
	[RULE_KEYWORDS] = "keywords",
};

const char *rules_cond_name(enum rule_cond cond)
{
	return (int)cond >= 0 && cond < RULE_COND_COUNT ? cond_names[cond] : "INVALID";
}

/* ---- freeing and accessors ---- */

static void rule_clear(struct rule *rule)
{
	free(rule->name);
	free(rule->dept);
	for (int c = 0; c < RULE_COND_COUNT; c++) {
		for (size_t i = 0; i < rule->conds[c].count; i++)
			free(rule->conds[c].items[i]);
		free(rule->conds[c].items);
	}
}

void rules_free(struct rule_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->count; i++)
		rule_clear(&set->rules[i]);
	free(set->rules);
	free(set);
}

size_t rules_count(const struct rule_set *set)
{
	return set != NULL ? set->count : 0;
}

const struct rule *rules_at(const struct rule_set *set, size_t i)
{
	return set != NULL && i < set->count ? &set->rules[i] : NULL;
}

const char *rule_name(const struct rule *rule)
{
	return rule->name;
}

const char *rule_dept(const struct rule *rule)
{
	return rule->dept;
}

unsigned rule_line(const struct rule *rule)
{
	return rule->line;
}

size_t rule_cond_count(const struct rule *rule, enum rule_cond cond)
{
	return (int)cond >= 0 && cond < RULE_COND_COUNT ? rule->conds[cond].count : 0;
}

const char *rule_cond_item(const struct rule *rule, enum rule_cond cond, size_t i)
{
	if ((int)cond < 0 || cond >= RULE_COND_COUNT || i >= rule->conds[cond].count)
		return NULL;
	return rule->conds[cond].items[i];
}

/* ---- matching ---- */

static bool cond_holds(const struct rule_list *list, enum rule_cond cond, const char *value)
{
	for (size_t i = 0; i < list->count; i++) {
		if (cond == RULE_KEYWORDS ? strstr(value, list->items[i]) != NULL
					  : strcmp(value, list->items[i]) == 0)
			return true;
	}
	return false;
}

const struct rule *rules_match(const struct rule_set *set, const struct rule_input *in)
{
	if (set == NULL || in == NULL)
		return NULL;
	const char *values[RULE_COND_COUNT] = {
		[RULE_FEED] = in->feed_code != NULL ? in->feed_code : "",
		[RULE_CATEGORY] = in->category != NULL ? in->category : "",
		[RULE_DISTRICT] = in->district != NULL ? in->district : "",
		[RULE_KEYWORDS] = in->content != NULL ? in->content : "",
	};

	for (size_t r = 0; r < set->count; r++) {
		const struct rule *rule = &set->rules[r];
		bool all = true;
		for (int c = 0; c < RULE_COND_COUNT && all; c++) {
			if (rule->conds[c].count > 0)
				all = cond_holds(&rule->conds[c], (enum rule_cond)c, values[c]);
		}
		if (all)
			return rule;
	}
	return NULL;
}

/* ---- parsing ---- */

struct parser {
	struct linefile file; /* the name, the line being parsed, the error buffer */
	struct rule_set *set;
	/* Rule names seen: open addressing, slot = index + 1 into set->rules, 0 = free. */
	size_t *names;
	size_t names_cap; /* a power of two */
};

/* Bytes of the item separator at s (',' or U+FF0C '，'), or 0. */
static size_t separator_at(const char *s, const char *end)
{
	if (s < end && *s == ',')
		return 1;
	if (end - s >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBC &&
	    (unsigned char)s[2] == 0x8C)
		return 3;
	return 0;
}

static char *copy(const char *s, const char *e)
{
	size_t n = (size_t)(e - s);
	char *out = malloc(n + 1);
	if (out != NULL) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
	return out;
}

static size_t name_hash(const char *s)
{
	size_t h = 1469598103934665603ULL & SIZE_MAX;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * (1099511628211ULL & SIZE_MAX);
	return h;
}

/* The earlier rule called name, or NULL. */
static const struct rule *name_find(const struct parser *p, const char *name)
{
	if (p->names_cap == 0)
		return NULL;
	for (size_t i = name_hash(name) & (p->names_cap - 1);; i = (i + 1) & (p->names_cap - 1)) {
		if (p->names[i] == 0)
			return NULL;
		const struct rule *rule = &p->set->rules[p->names[i] - 1];
		if (strcmp(rule->name, name) == 0)
			return rule;
	}
}

static void name_put(size_t *slots, size_t cap, const char *name, size_t index)
{
	size_t i = name_hash(name) & (cap - 1);
	while (slots[i] != 0)
		i = (i + 1) & (cap - 1);
	slots[i] = index + 1;
}

/* Records rules[index]'s name; the table stays at most half full. */
static int name_add(struct parser *p, size_t index)
{
	if ((index + 1) * 2 > p->names_cap) {
		size_t cap = p->names_cap ? p->names_cap * 2 : 64;
		size_t *slots = calloc(cap, sizeof(*slots));
		if (slots == NULL)
			return -1;
		for (size_t i = 0; i < index; i++)
			name_put(slots, cap, p->set->rules[i].name, i);
		free(p->names);
		p->names = slots;
		p->names_cap = cap;
	}
	name_put(p->names, p->names_cap, p->set->rules[index].name, index);
	return 0;
}

/* "rule NAME -> DEPT": rest is everything after the keyword, trimmed. */
static int parse_rule_line(struct parser *p, const char *s, const char *e)
{
	struct rule_set *set = p->set;
	const char *arrow = memmem(s, (size_t)(e - s), "->", 2);

	if (s == e || arrow == s)
		return linefile_error(&p->file, "rule needs a name (write: rule NAME -> DEPT)");
	if (arrow == NULL)
		return linefile_error(&p->file,
				      "rule '%.*s' has no department (write: rule NAME -> DEPT)",
				      linefile_shown(s, (size_t)(e - s), 64), s);

	const char *name_s = s, *name_e = arrow;
	const char *dept_s = arrow + 2, *dept_e = e;
	text_trim(&name_s, &name_e);
	text_trim(&dept_s, &dept_e);
	if (dept_s == dept_e)
		return linefile_error(
			&p->file, "rule '%.*s' has no department (write: rule NAME -> DEPT)",
			linefile_shown(name_s, (size_t)(name_e - name_s), 64), name_s);

	char *name = copy(name_s, name_e);
	char *dept = copy(dept_s, dept_e);
	if (name == NULL || dept == NULL) {
		free(name);
		free(dept);
		return linefile_out_of_memory(&p->file);
	}
	int rc = 0;
	const struct rule *first;
	if (!code_valid(name))
		rc = linefile_error(&p->file,
				    "invalid rule name '%.*s' (1-%d letters, digits, '_' or '-')",
				    linefile_shown(name, strlen(name), 64), name, CODE_MAX);
	else if (!code_valid(dept))
		rc = linefile_error(
			&p->file,
			"invalid department code '%.*s' (1-%d letters, digits, '_' or '-')",
			linefile_shown(dept, strlen(dept), 64), dept, CODE_MAX);
	else if ((first = name_find(p, name)) != NULL)
		rc = linefile_error(&p->file, "duplicate rule name '%s' (first at line %u)", name,
				    first->line);
	else if (set->count >= RULES_MAX_RULES)
		rc = linefile_error(&p->file, "more than %d rules", RULES_MAX_RULES);
	if (rc != 0) {
		free(name);
		free(dept);
		return rc;
	}

	if (set->count == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		struct rule *rules = realloc(set->rules, cap * sizeof(*rules));
		if (rules == NULL) {
			free(name);
			free(dept);
			return linefile_out_of_memory(&p->file);
		}
		set->rules = rules;
		set->cap = cap;
	}
	struct rule *rule = &set->rules[set->count];
	memset(rule, 0, sizeof(*rule));
	rule->name = name;
	rule->dept = dept;
	rule->line = p->file.lineno;
	set->count++;
	if (name_add(p, set->count - 1) != 0)
		return linefile_out_of_memory(&p->file);
	return 0;
}

static int check_item(struct parser *p, enum rule_cond cond, size_t index, const char *item,
		      size_t len)
{
	switch (cond) {
	case RULE_FEED:
		if (!code_valid(item))
			return linefile_error(
				&p->file,
				"invalid feed code '%.*s' (1-%d letters, digits, '_' or '-')",
				linefile_shown(item, len, 64), item, CODE_MAX);
		return 0;
	case RULE_CATEGORY:
	case RULE_DISTRICT:
		if (len > RULES_MAX_SHORT)
			return linefile_error(&p->file, "%s: item %zu is longer than %d bytes",
					      cond_names[cond], index, RULES_MAX_SHORT);
		return 0;
	case RULE_KEYWORDS:
		if (len > RULES_MAX_KEYWORD)
			return linefile_error(&p->file, "%s: item %zu is longer than %d bytes",
					      cond_names[cond], index, RULES_MAX_KEYWORD);
		return 0;
	case RULE_COND_COUNT:
		break;
	}
	return linefile_error(&p->file, "unknown condition");
}

/* "KEYWORD A, B, C" after a rule line: appends the items to the current rule. */
static int parse_cond_line(struct parser *p, enum rule_cond cond, const char *s, const char *e)
{
	if (p->set->count == 0)
		return linefile_error(&p->file, "%s: condition before any rule line",
				      cond_names[cond]);
	struct rule *rule = &p->set->rules[p->set->count - 1];
	struct rule_list *list = &rule->conds[cond];

	if (s == e)
		return linefile_error(&p->file, "%s needs at least one item", cond_names[cond]);

	size_t index = 0;
	const char *item_s = s;
	for (;;) {
		/* the item runs to the next separator or the end of the line */
		const char *item_e = item_s;
		size_t sep = 0;
		while (item_e < e && (sep = separator_at(item_e, e)) == 0)
			item_e++;
		const char *next = item_e < e ? item_e + sep : NULL;
		index++;
		text_trim(&item_s, &item_e);
		if (item_s == item_e)
			return linefile_error(&p->file, "%s: item %zu is empty", cond_names[cond],
					      index);
		if (list->count >= RULES_MAX_ITEMS)
			return linefile_error(&p->file, "%s: more than %d items in rule '%s'",
					      cond_names[cond], RULES_MAX_ITEMS, rule->name);
		char *item = copy(item_s, item_e);
		if (item == NULL)
			return linefile_out_of_memory(&p->file);
		if (check_item(p, cond, index, item, (size_t)(item_e - item_s)) != 0) {
			free(item);
			return -1;
		}
		if (list->count == list->cap) {
			size_t cap = list->cap ? list->cap * 2 : 4;
			char **items = realloc(list->items, cap * sizeof(*items));
			if (items == NULL) {
				free(item);
				return linefile_out_of_memory(&p->file);
			}
			list->items = items;
			list->cap = cap;
		}
		list->items[list->count++] = item;
		if (next == NULL)
			return 0;
		item_s = next;
	}
}

/* linefile_parse: one line that is neither blank nor a comment. */
static int parse_line(void *arg, const char *s, size_t word_len, const char *rest, const char *e)
{
	struct parser *p = arg;

	if (word_len == 4 && memcmp(s, "rule", 4) == 0)
		return parse_rule_line(p, rest, e);
	for (int c = 0; c < RULE_COND_COUNT; c++) {
		if (word_len == strlen(cond_names[c]) && memcmp(s, cond_names[c], word_len) == 0)
			return parse_cond_line(p, (enum rule_cond)c, rest, e);
	}
	return linefile_error(&p->file,
			      "unknown keyword '%.*s' (expected rule, feed, category, district or "
			      "keywords)",
			      linefile_shown(s, word_len, 64), s);
}

int rules_parse(const char *text, size_t len, const char *filename, struct rule_set **out,
		char *err, size_t errlen)
{
	struct parser p = {
		.file = { .filename = filename != NULL ? filename : "rules",
			  .err = err,
			  .errlen = errlen },
	};

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL && len > 0)
		return linefile_error(&p.file, "no text");
	if (len > RULES_MAX_TEXT)
		return linefile_error(&p.file, "larger than %d bytes", RULES_MAX_TEXT);
	p.set = calloc(1, sizeof(*p.set));
	if (p.set == NULL)
		return linefile_out_of_memory(&p.file);

	int rc = linefile_parse(&p.file, text, len, RULES_MAX_LINE, parse_line, &p);
	free(p.names);
	if (rc != 0) {
		rules_free(p.set);
		return -1;
	}
	*out = p.set;
	return 0;
}

/* ---- canonical form ---- */

struct buf {
	char *data;
	size_t len, cap;
	bool failed;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (b->len + n + 1 > cap)
			cap *= 2;
		char *data = realloc(b->data, cap);
		if (data == NULL) {
			b->failed = true;
			return;
		}
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

int rules_serialize(const struct rule_set *set, char **out, size_t *outlen)
{
	struct buf b = { 0 };

	*out = NULL;
	*outlen = 0;
	buf_add(&b, "", 0); /* an empty set is "" */
	for (size_t r = 0; r < rules_count(set); r++) {
		const struct rule *rule = &set->rules[r];
		if (r > 0)
			buf_str(&b, "\n");
		buf_str(&b, "rule ");
		buf_str(&b, rule->name);
		buf_str(&b, " -> ");
		buf_str(&b, rule->dept);
		buf_str(&b, "\n");
		for (int c = 0; c < RULE_COND_COUNT; c++) {
			const struct rule_list *list = &rule->conds[c];
			size_t line_len = 0;
			for (size_t i = 0; i < list->count; i++) {
				size_t n = strlen(list->items[i]);
				if (i > 0 && line_len + 2 + n > SERIALIZE_WRAP) {
					buf_str(&b, "\n");
					line_len = 0;
				}
				if (line_len == 0) {
					buf_str(&b, "  ");
					buf_str(&b, cond_names[c]);
					buf_str(&b, " ");
					line_len = 3 + strlen(cond_names[c]);
				} else {
					buf_str(&b, ", ");
					line_len += 2;
				}
				buf_str(&b, list->items[i]);
				line_len += n;
			}
			if (list->count > 0)
				buf_str(&b, "\n");
		}
	}
	if (b.failed) {
		free(b.data);
		return -1;
	}
	*out = b.data;
	*outlen = b.len;
	return 0;
}

bool rules_equal(const struct rule_set *a, const struct rule_set *b)
{
	if (rules_count(a) != rules_count(b))
		return false;
	for (size_t r = 0; r < rules_count(a); r++) {
		const struct rule *x = &a->rules[r], *y = &b->rules[r];
		if (strcmp(x->name, y->name) != 0 || strcmp(x->dept, y->dept) != 0)
			return false;
		for (int c = 0; c < RULE_COND_COUNT; c++) {
			if (x->conds[c].count != y->conds[c].count)
				return false;
			for (size_t i = 0; i < x->conds[c].count; i++) {
				if (strcmp(x->conds[c].items[i], y->conds[c].items[i]) != 0)
					return false;
			}
		}
	}
	return true;
}
