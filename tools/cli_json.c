/*
 * cli_json.c - the JSON-lines stdout of the reference clients; see cli_json.h.
 */
#include "cli_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotline.pb-c.h"
#include "log.h"
#include "utf8.h"

struct timeval cli_tv_ms(unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	return tv;
}

static const char *enum_name(const ProtobufCEnumDescriptor *desc, int value, const char *prefix)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
	if (v == NULL)
		return "UNKNOWN";
	size_t plen = strlen(prefix);
	return strncmp(v->name, prefix, plen) == 0 ? v->name + plen : v->name;
}

const char *cli_state_name(int state)
{
	return enum_name(&hotline__v1__ticket_state__descriptor, state, "TICKET_STATE_");
}

const char *cli_error_code_name(int code)
{
	return enum_name(&hotline__v1__error_code__descriptor, code, "ERROR_");
}

/*
 * s (NULL as "") and its length, made well-formed: s itself, or a repaired
 * copy (utf8_repaired: U+FFFD for each bad byte) left in *copy for the caller
 * to free.
 */
static const char *well_formed(const char *s, size_t *len, char **copy)
{
	*copy = NULL;
	if (s == NULL)
		s = "";
	*len = strlen(s);
	if (utf8_valid(s, *len))
		return s;
	*copy = utf8_repaired(s, *len, len);
	if (*copy == NULL)
		fatal("out of memory");
	return *copy;
}

void cli_set_str(json_t *obj, const char *key, const char *value)
{
	char *copy;
	size_t len;
	const char *text = well_formed(value, &len, &copy);
	json_object_set_new(obj, key, json_stringn(text, len));
	free(copy);
}

void cli_set_int(json_t *obj, const char *key, json_int_t value)
{
	json_object_set_new(obj, key, json_integer(value));
}

json_t *cli_json_event(const char *name)
{
	json_t *obj = json_object();
	if (obj == NULL)
		fatal("out of memory");
	cli_set_str(obj, "event", name);
	/* wall-clock time of the event, unix ms: benchmarks measure delivery latency */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	cli_set_int(obj, "at_ms", (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	return obj;
}

int cli_emit_line(json_t *obj, bool flush)
{
	char *line = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (line == NULL)
		fatal("out of memory");
	int rc = 0;
	if (fputs(line, stdout) == EOF || putchar('\n') == EOF || (flush && fflush(stdout) == EOF))
		rc = -1;
	free(line);
	return rc;
}

/* ---- tree-less lines ----------------------------------------------------- */

static void line_reserve(struct cli_line *l, size_t extra)
{
	if (l->len + extra <= l->cap)
		return;
	size_t cap = l->cap ? l->cap : 1024;
	while (cap < l->len + extra)
		cap *= 2;
	char *grown = realloc(l->buf, cap);
	if (grown == NULL)
		fatal("out of memory");
	l->buf = grown;
	l->cap = cap;
}

static void line_put(struct cli_line *l, const char *s, size_t n)
{
	line_reserve(l, n);
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* A JSON string literal of s (escaped; invalid UTF-8 as U+FFFD). */
static void line_quoted(struct cli_line *l, const char *value)
{
	char *copy;
	size_t len;
	const char *s = well_formed(value, &len, &copy);
	line_reserve(l, len * 6 + 2); /* worst case: every byte \u00XX */
	char *out = l->buf + l->len;
	*out++ = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			*out++ = '\\';
			*out++ = (char)c;
		} else if (c < 0x20) {
			static const char hex[] = "0123456789abcdef";
			const char *esc = c == '\n'   ? "\\n"
					  : c == '\t' ? "\\t"
					  : c == '\r' ? "\\r"
						      : NULL;
			if (esc) {
				memcpy(out, esc, 2);
				out += 2;
			} else {
				memcpy(out, "\\u00", 4);
				out[4] = hex[c >> 4];
				out[5] = hex[c & 15];
				out += 6;
			}
		} else {
			*out++ = (char)c;
		}
	}
	*out++ = '"';
	l->len = (size_t)(out - l->buf);
	free(copy);
}

static void line_key(struct cli_line *l, const char *key)
{
	line_put(l, l->len > 1 ? "," : "", l->len > 1 ? 1 : 0);
	line_quoted(l, key);
	line_put(l, ":", 1);
}

void cli_line_begin(struct cli_line *l, const char *event)
{
	l->len = 0;
	line_put(l, "{", 1);
	cli_line_str(l, "event", event);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	cli_line_int(l, "at_ms", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void cli_line_str(struct cli_line *l, const char *key, const char *value)
{
	line_key(l, key);
	line_quoted(l, value ? value : "");
}

void cli_line_int(struct cli_line *l, const char *key, long long value)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%lld", value);
	line_key(l, key);
	line_put(l, num, (size_t)n);
}

/*
 * A coordinate has at most 7 decimals in practice: when value is q / 10^7 for
 * an integer q, the decimal digits of q with the point put back parse to value
 * exactly (IEEE division and strtod both round the same exact quotient), and
 * cost no multi-precision printf. Returns the length, or 0 to use printf.
 */
static int real_fixed7(double value, char out[static 24])
{
	if (!(value > -1e8 && value < 1e8))
		return 0; /* also NaN; below 1e8, q stays an exact double */
	double scaled = value * 1e7;
	long long q = llround(scaled);
	if ((double)q / 1e7 != value)
		return 0;
	unsigned long long m = q < 0 ? (unsigned long long)-q : (unsigned long long)q;
	char digits[24];
	int nd = 0;
	do {
		digits[nd++] = (char)('0' + m % 10);
		m /= 10;
	} while (m > 0 || nd < 8); /* at least one digit before the point */
	int frac = 7;
	while (frac > 1 && digits[7 - frac] == '0')
		frac--; /* drop trailing zeros, keep one */
	size_t n = 0;
	if (q < 0 || (q == 0 && signbit(value)))
		out[n++] = '-';
	for (int i = nd - 1; i >= 7; i--)
		out[n++] = digits[i];
	out[n++] = '.';
	for (int i = 6; i > 6 - frac; i--)
		out[n++] = digits[i];
	out[n] = '\0';
	return (int)n;
}

void cli_line_real(struct cli_line *l, const char *key, double value)
{
	char num[40];
	int n = real_fixed7(value, num);
	if (n == 0)
		n = snprintf(num, sizeof(num), "%.17g", value);
	line_key(l, key);
	line_put(l, num, (size_t)n);
	if (strspn(num, "-0123456789") == (size_t)n)
		line_put(l, ".0", 2); /* stays a real, as jansson writes it */
}

void cli_line_true(struct cli_line *l, const char *key)
{
	line_key(l, key);
	line_put(l, "true", 4);
}

int cli_line_emit(struct cli_line *l, bool flush)
{
	line_put(l, "}\n", 2);
	if (fwrite(l->buf, 1, l->len, stdout) != l->len || (flush && fflush(stdout) == EOF))
		return -1;
	return 0;
}

void cli_line_free(struct cli_line *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = 0;
}
