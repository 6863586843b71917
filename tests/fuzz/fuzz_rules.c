/*
 * fuzz_rules.c - libFuzzer target for lib/rules.c.
 *
 * Owns: parsing arbitrary bytes as a rule file and checking what must hold for
 * every accepted file: its canonical text parses back to an equal set and
 * re-serializes to the same bytes, and a ticket built from a rule's own first
 * items is matched by that rule or an earlier one. A refused file always has a
 * "file:line: reason". Never: does I/O. Run as in README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rule_set *set = NULL, *back = NULL;
	char err[512] = "";
	char *text = NULL, *again = NULL;
	size_t len = 0, again_len = 0;

	if (rules_parse((const char *)data, size, "fuzz", &set, err, sizeof(err)) != 0) {
		if (set != NULL || strncmp(err, "fuzz:", 5) != 0)
			abort();
		return 0;
	}
	if (rules_serialize(set, &text, &len) != 0)
		abort();
	if (rules_parse(text, len, "canonical", &back, err, sizeof(err)) != 0)
		abort();
	if (!rules_equal(set, back))
		abort();
	if (rules_serialize(back, &again, &again_len) != 0 || again_len != len ||
	    memcmp(again, text, len) != 0)
		abort();

	for (size_t i = 0; i < rules_count(set); i++) {
		const struct rule *rule = rules_at(set, i);
		struct rule_input in = {
			.feed_code = rule_cond_item(rule, RULE_FEED, 0),
			.category = rule_cond_item(rule, RULE_CATEGORY, 0),
			.district = rule_cond_item(rule, RULE_DISTRICT, 0),
			.content = rule_cond_item(rule, RULE_KEYWORDS, 0),
		};
		const struct rule *hit = rules_match(set, &in);
		size_t j = 0;
		while (j <= i && rules_at(set, j) != hit)
			j++;
		if (j > i)
			abort();
	}

	free(again);
	free(text);
	rules_free(back);
	rules_free(set);
	return 0;
}
