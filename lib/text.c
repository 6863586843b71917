/*
 * text.c - white space of operator-written files (see text.h).
 */
#include "text.h"

size_t text_space_at(const char *s, const char *end)
{
	if (s < end && (*s == ' ' || *s == '\t'))
		return 1;
	if (end - s >= 3 && (unsigned char)s[0] == 0xE3 && (unsigned char)s[1] == 0x80 &&
	    (unsigned char)s[2] == 0x80)
		return 3;
	return 0;
}

size_t text_space_before(const char *start, const char *end)
{
	if (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		return 1;
	if (end - start >= 3 && (unsigned char)end[-3] == 0xE3 && (unsigned char)end[-2] == 0x80 &&
	    (unsigned char)end[-1] == 0x80)
		return 3;
	return 0;
}

void text_trim(const char **s, const char **e)
{
	size_t n;
	while ((n = text_space_at(*s, *e)) > 0)
		*s += n;
	while ((n = text_space_before(*s, *e)) > 0)
		*e -= n;
}

const char *text_next_word(const char **s, const char *e)
{
	const char *word_e = *s;
	while (word_e < e && text_space_at(word_e, e) == 0)
		word_e++;
	const char *rest = word_e;
	text_trim(&rest, &e);
	*s = rest;
	return word_e;
}
