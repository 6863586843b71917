/*
 * rules.h - routing rules: which department a new ticket goes to.
 *
 * Owns: the rule file format (docs/rules.md), its parser, the matcher (ordered
 * rules, first match wins) and the canonical text form that is stored in Redis
 * so that every daemon parses the same bytes. Never: touches I/O (callers read
 * files and Redis), reads the clock, or decides what happens when nothing
 * matches (the daemon sends that ticket to PENDING_DISPATCH, the manual desk).
 * Callers: daemon routing, hotlinectl `route load` / `route test`, tests, fuzzers.
 *
 * The format, line by line (UTF-8; '#' starts a comment line; blank lines are
 * ignored; leading and trailing spaces, tabs and U+3000 are ignored):
 *
 *   rule NAME -> DEPT          starts a rule; NAME and DEPT are codes (code.h)
 *     feed A, B                the ticket came in on one of these feeds
 *     category X, Y            its category is one of these (exact)
 *     district X, Y            its district is one of these (exact)
 *     keywords K1, K2          its content contains one of these (byte substring)
 *
 * Items are separated by ',' or the full-width '，'. A rule's conditions must all
 * hold; a rule without conditions matches everything (a catch-all). A condition
 * line may repeat within a rule: its items join the same list. Rules are tried in
 * file order and the first that matches wins. Matching is exact and
 * case-sensitive; a missing (NULL or "") input field matches no condition on it.
 */
#ifndef HOTLINE_RULES_H
#define HOTLINE_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* Limits; exceeding any refuses the whole file. */
#define RULES_MAX_RULES 10000
#define RULES_MAX_ITEMS 256		  /* items in one condition of one rule */
#define RULES_MAX_LINE 4096		  /* bytes in one line, without its line end */
#define RULES_MAX_SHORT 64		  /* bytes in a category or district item */
#define RULES_MAX_KEYWORD 256		  /* bytes in a keyword */
#define RULES_MAX_TEXT (16 * 1024 * 1024) /* bytes in a whole file */

enum rule_cond {
	RULE_FEED = 0, /* "feed": feed code, exact */
	RULE_CATEGORY, /* "category": exact */
	RULE_DISTRICT, /* "district": exact */
	RULE_KEYWORDS, /* "keywords": substring of content */
	RULE_COND_COUNT
};

/* What a rule looks at in a ticket. NULL fields count as "". Borrowed, not kept. */
struct rule_input {
	const char *feed_code;
	const char *category;
	const char *district;
	const char *content;
};

struct rule;
struct rule_set;

/*
 * Parses text[0..len) (no terminator needed; a leading UTF-8 BOM is skipped) into
 * a new rule set. filename is used only in messages (NULL -> "rules"). Returns 0
 * with *out set (free with rules_free()), or -1 with *out NULL and the first error
 * in err as "file:line: reason" ("file: reason" for the file as a whole).
 * Any error refuses the whole text: a half-loaded rule set would misroute quietly.
 * An empty text is a valid, empty set (every ticket goes to the manual desk).
 */
int rules_parse(const char *text, size_t len, const char *filename, struct rule_set **out,
		char *err, size_t errlen) __attribute__((warn_unused_result));

void rules_free(struct rule_set *set);

/*
 * The first rule, in order, whose conditions all hold for in; NULL when none
 * does (or set is NULL). The rule belongs to set.
 */
const struct rule *rules_match(const struct rule_set *set, const struct rule_input *in);

size_t rules_count(const struct rule_set *set);
/* The i-th rule in order, or NULL when i >= rules_count(set). */
const struct rule *rules_at(const struct rule_set *set, size_t i);

const char *rule_name(const struct rule *rule);
const char *rule_dept(const struct rule *rule);
/* 1-based line of the rule's "rule" line in the text it was parsed from. */
unsigned rule_line(const struct rule *rule);
/* Items of one condition (0 = the condition is absent), in the order written. */
size_t rule_cond_count(const struct rule *rule, enum rule_cond cond);
const char *rule_cond_item(const struct rule *rule, enum rule_cond cond, size_t i);
/* "feed", "category", "district", "keywords"; "INVALID" outside the enum. */
const char *rules_cond_name(enum rule_cond cond);

/*
 * Writes the canonical text of set into a new NUL-terminated buffer *out
 * (caller frees with free()), its length without the NUL in *outlen. Canonical:
 * no comments, one blank line between rules, two-space indent, conditions in
 * the order feed, category, district, keywords, items joined by ", ", long lists
 * continued on repeated lines. rules_parse() of it gives a set rules_equal() to
 * set, and serializing that again gives the same bytes. Returns 0, or -1 when
 * memory runs out.
 */
int rules_serialize(const struct rule_set *set, char **out, size_t *outlen)
	__attribute__((warn_unused_result));

/* Same rules, names, departments and items in the same order (line numbers aside). */
bool rules_equal(const struct rule_set *a, const struct rule_set *b);

#endif
