/*
 * cli_table.c - display widths, safe cells and aligned tables; see cli_table.h.
 *
 * The width table covers what a 12345 hotline prints: CJK ideographs and
 * punctuation, kana, hangul, fullwidth forms and the common emoji blocks are
 * wide (Unicode's East Asian Width W and F); ambiguous-width characters count
 * 1, as most terminals outside East Asian locales show them.
 */
#include "cli_table.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct range {
	uint32_t first, last;
};

static const struct range zero_width[] = {
	{ 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD },   { 0x0610, 0x061A },
	{ 0x064B, 0x065F }, { 0x1AB0, 0x1AFF }, { 0x1DC0, 0x1DFF },   { 0x200B, 0x200F },
	{ 0x2028, 0x202E }, { 0x2060, 0x2064 }, { 0x20D0, 0x20FF },   { 0xFE00, 0xFE0F },
	{ 0xFE20, 0xFE2F }, { 0xFEFF, 0xFEFF }, { 0xE0100, 0xE01EF },
};

static const struct range wide[] = {
	{ 0x1100, 0x115F },   { 0x231A, 0x231B },   { 0x2329, 0x232A },	  { 0x2E80, 0x303E },
	{ 0x3041, 0x33FF },   { 0x3400, 0x4DBF },   { 0x4E00, 0x9FFF },	  { 0xA000, 0xA4CF },
	{ 0xA960, 0xA97F },   { 0xAC00, 0xD7A3 },   { 0xF900, 0xFAFF },	  { 0xFE10, 0xFE19 },
	{ 0xFE30, 0xFE6F },   { 0xFF00, 0xFF60 },   { 0xFFE0, 0xFFE6 },	  { 0x1F300, 0x1F64F },
	{ 0x1F900, 0x1F9FF }, { 0x20000, 0x2FFFD }, { 0x30000, 0x3FFFD },
};

static bool in_ranges(uint32_t cp, const struct range *r, size_t n)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cp < r[mid].first)
			hi = mid;
		else if (cp > r[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

int cli_char_width(uint32_t cp)
{
	if (in_ranges(cp, zero_width, sizeof(zero_width) / sizeof(zero_width[0])))
		return 0;
	if (in_ranges(cp, wide, sizeof(wide) / sizeof(wide[0])))
		return 2;
	return 1;
}

/*
 * The code point at s (its bytes in *len); a byte that does not start a
 * well-formed sequence is U+FFFD of one byte.
 */
static uint32_t decode(const unsigned char *s, size_t *len)
{
	uint32_t cp;
	size_t n;
	if (s[0] < 0x80) {
		*len = 1;
		return s[0];
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		cp = s[0] & 0x1F;
		n = 2;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		cp = s[0] & 0x0F;
		n = 3;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		cp = s[0] & 0x07;
		n = 4;
	} else {
		*len = 1;
		return 0xFFFD;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*len = 1;
			return 0xFFFD;
		}
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
		*len = 1;
		return 0xFFFD;
	}
	*len = n;
	return cp;
}

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

size_t cli_text_width(const char *s)
{
	size_t width = 0, len;
	for (const unsigned char *p = (const unsigned char *)s; *p; p += len) {
		uint32_t cp = decode(p, &len);
		width += is_control(cp) ? 1 : (size_t)cli_char_width(cp);
	}
	return width;
}

/* s made safe to print; keep_newlines: '\n' stays (for fields), else a blank. */
static char *safe_text(const char *s, bool keep_newlines, size_t max)
{
	char *buf = NULL;
	size_t buflen = 0;
	FILE *out = open_memstream(&buf, &buflen);
	if (out == NULL)
		fatal("out of memory");
	if (s == NULL)
		s = "-";
	size_t width = cli_text_width(s), used = 0, len;
	bool clip = max > 0 && width > max;
	size_t room = clip ? (max > 3 ? max - 3 : max) : (size_t)-1;
	for (const unsigned char *p = (const unsigned char *)s; *p; p += len) {
		uint32_t cp = decode(p, &len);
		const char *shown = (const char *)p;
		size_t shown_len = len;
		int w = cli_char_width(cp);
		if (cp == '\n' && keep_newlines) {
			w = 0;
		} else if (cp == '\r' && keep_newlines) {
			continue;
		} else if (cp == '\n' || cp == '\r' || cp == '\t') {
			shown = " ";
			shown_len = 1;
			w = 1;
		} else if (is_control(cp) || (cp == 0xFFFD && len == 1)) {
			shown = "?";
			shown_len = 1;
			w = 1;
		}
		if (used + (size_t)w > room)
			break;
		fwrite(shown, 1, shown_len, out);
		used += (size_t)w;
	}
	if (clip && max > 3)
		fputs("...", out);
	if (fclose(out) != 0 || buf == NULL)
		fatal("out of memory");
	return buf;
}

char *cli_cell_text(const char *s, size_t max)
{
	return safe_text(s, false, max);
}

void cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers,
		    const size_t *max)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->max = max;
	cli_table_row(t, headers);
}

void cli_table_row(struct cli_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **grown = realloc(t->cells, cap * t->ncols * sizeof(*grown));
		if (grown == NULL)
			fatal("out of memory");
		t->cells = grown;
		t->cap = cap;
	}
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] =
			cli_cell_text(cells[c], t->max && t->nrows > 0 ? t->max[c] : 0);
	t->nrows++;
}

void cli_table_print(const struct cli_table *t, FILE *out)
{
	size_t *widths = calloc(t->ncols ? t->ncols : 1, sizeof(*widths));
	if (widths == NULL)
		fatal("out of memory");
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t w = cli_text_width(t->cells[r * t->ncols + c]);
			if (w > widths[c])
				widths[c] = w;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			fputs(cell, out);
			if (c + 1 < t->ncols)
				fprintf(out, "%*s", (int)(widths[c] - cli_text_width(cell) + 2),
					"");
		}
		fputc('\n', out);
	}
	free(widths);
}

void cli_table_free(struct cli_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

void cli_print_field(FILE *out, const char *key, size_t key_width, const char *value)
{
	char *shown = safe_text(value, true, 0);
	size_t kw = cli_text_width(key);
	fprintf(out, "%s%*s", key, (int)(key_width > kw ? key_width - kw + 2 : 2), "");
	for (char *line = shown, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		fputs(line, out);
		fputc('\n', out);
		if (next)
			fprintf(out, "%*s", (int)(key_width > kw ? key_width + 2 : kw + 2), "");
	}
	free(shown);
}
