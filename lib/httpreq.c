/*
 * httpreq.c - the pure parts of reading an HTTP API request.
 */
#include "httpreq.h"

#include <string.h>

#include "errbuf.h"
#include "utf8.h"

int httpreq_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int httpreq_split_path(const char *path, char *buf, size_t buflen,
		       const char *segs[HTTPREQ_MAX_SEGMENTS])
{
	return httpreq_split_path_under(HTTPREQ_PREFIX, path, buf, buflen, segs);
}

int httpreq_split_path_under(const char *prefix, const char *path, char *buf, size_t buflen,
			     const char *segs[HTTPREQ_MAX_SEGMENTS])
{
	size_t plen = strlen(prefix);
	if (!path || strncmp(path, prefix, plen) != 0 || buflen < strlen(path) + 1)
		return -1;
	const char *p = path + plen;
	char *out = buf;
	int n = 0;
	while (*p) {
		if (*p == '/') {
			p++;
			continue;
		}
		if (n == HTTPREQ_MAX_SEGMENTS)
			return -1;
		char *start = out;
		while (*p && *p != '/') {
			if (*p == '%') {
				int hi = httpreq_hex_digit(p[1]),
				    lo = hi < 0 ? -1 : httpreq_hex_digit(p[2]);
				/* no NUL, and no '/' that would read as a separator */
				if (hi < 0 || lo < 0 || (hi == 0 && lo == 0) ||
				    (hi == 2 && lo == 15))
					return -1;
				*out++ = (char)(hi * 16 + lo);
				p += 3;
			} else {
				*out++ = *p++;
			}
		}
		if (!utf8_valid(start, (size_t)(out - start)))
			return -1;
		*out++ = '\0';
		segs[n++] = start;
	}
	return n;
}

static bool base64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int httpreq_bearer(const char *header, int64_t *user_id, char *secret, size_t secret_len)
{
	static const char scheme[] = "Bearer ";
	if (!header || strncmp(header, scheme, sizeof(scheme) - 1) != 0)
		return -1;
	const char *p = header + sizeof(scheme) - 1;
	while (*p == ' ')
		p++;
	size_t plen = strlen(HTTPREQ_TOKEN_PREFIX);
	if (strncmp(p, HTTPREQ_TOKEN_PREFIX, plen) != 0)
		return -1;
	p += plen;
	int64_t id = 0;
	int digits = 0;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (digits == 18 || (digits == 0 && *p == '0'))
			return -1;
		id = id * 10 + (*p - '0');
	}
	if (digits == 0 || *p != '.')
		return -1;
	p++;
	size_t len = 0;
	while (base64url_char(p[len]))
		len++;
	/* Trailing white space is tolerated; anything else is not a token. */
	for (const char *q = p + len; *q; q++)
		if (*q != ' ' && *q != '\t')
			return -1;
	if (len == 0 || len > HTTPREQ_SECRET_MAX || secret_len < len + 1)
		return -1;
	memcpy(secret, p, len);
	secret[len] = '\0';
	*user_id = id;
	return 0;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			i++;
		else if (i + 2 < len && c == 0xE3 && (unsigned char)s[i + 1] == 0x80 &&
			 (unsigned char)s[i + 2] == 0x80)
			i += 3;
		else
			return false;
	}
	return true;
}

static const char *type_name(enum httpreq_type t)
{
	return t == HTTPREQ_STRING ? "a string"
	       : t == HTTPREQ_BOOL ? "true or false"
				   : "an integer";
}

int httpreq_fields(json_t *obj, const struct httpreq_field *fields, size_t nfields, char *err,
		   size_t errlen)
{
	if (!json_is_object(obj))
		return errbuf_fail(err, errlen, "the body must be a JSON object");
	const char *key;
	size_t keylen;
	json_t *value;
	json_object_keylen_foreach(obj, key, keylen, value)
	{
		bool known = false;
		for (size_t i = 0; i < nfields && !known; i++)
			known = strlen(fields[i].name) == keylen &&
				memcmp(fields[i].name, key, keylen) == 0;
		if (!known) {
			if (memchr(key, '\0', keylen) || !utf8_valid(key, keylen))
				return errbuf_fail(err, errlen, "the body has an unreadable key");
			return errbuf_fail(err, errlen, "unknown field \"%.64s\"", key);
		}
	}
	for (size_t i = 0; i < nfields; i++) {
		const struct httpreq_field *f = &fields[i];
		json_t *v = json_object_get(obj, f->name);
		if (!v || json_is_null(v)) {
			if (f->required)
				return errbuf_fail(err, errlen, "\"%s\" is required", f->name);
			continue;
		}
		switch (f->type) {
		case HTTPREQ_STRING: {
			if (!json_is_string(v))
				break;
			size_t len = json_string_length(v);
			const char *s = json_string_value(v);
			if (memchr(s, '\0', len))
				return errbuf_fail(err, errlen, "\"%s\" holds a NUL character",
						   f->name);
			if (f->max && len > f->max)
				return errbuf_fail(err, errlen, "\"%s\" is longer than %zu bytes",
						   f->name, f->max);
			if (f->not_blank && blank(s, len)) {
				if (f->required)
					return errbuf_fail(err, errlen, "\"%s\" must not be blank",
							   f->name);
				continue;
			}
			if (f->str)
				*f->str = s;
			continue;
		}
		case HTTPREQ_BOOL:
			if (!json_is_boolean(v))
				break;
			if (f->flag)
				*f->flag = json_is_true(v);
			continue;
		case HTTPREQ_INT:
			if (!json_is_integer(v))
				break;
			if (f->num)
				*f->num = (int64_t)json_integer_value(v);
			continue;
		}
		return errbuf_fail(err, errlen, "\"%s\" must be %s", f->name, type_name(f->type));
	}
	return 0;
}

int httpreq_int_param(const char *s, int64_t def, int64_t min, int64_t max, int64_t *out)
{
	if (!s || !*s) {
		*out = def;
		return 0;
	}
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || p - s >= 18)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
