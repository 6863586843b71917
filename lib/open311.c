/*
 * open311.c - the pure parts of Open311 GeoReport v2 (open311.h).
 *
 * Field names and rules follow the spec (wiki.open311.org/GeoReport_v2); where it
 * leaves a choice, the choice is written in docs/http-api.md "Open311" and named here.
 */
#include "open311.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "errbuf.h"
#include "shown.h"
#include "utf8.h"

int open311_cut_format(char *seg)
{
	static const struct {
		const char *suffix;
		enum open311_format format;
	} formats[] = { { ".json", OPEN311_JSON }, { ".xml", OPEN311_XML } };
	size_t len = strlen(seg);
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		size_t n = strlen(formats[i].suffix);
		if (len > n && strcmp(seg + len - n, formats[i].suffix) == 0) {
			seg[len - n] = '\0';
			return (int)formats[i].format;
		}
	}
	return -1;
}

int open311_http_status(int status)
{
	if (status < 300 || status == 403 || status == 404 || status == 503)
		return status;
	return 400;
}

/* ---- names a request may carry ------------------------------------------------ */

/* Refuses the first name of f that is not in allowed (NULL-terminated). */
static int only_names(const struct form *f, const char *const *allowed, char *err, size_t errlen)
{
	for (size_t i = 0; i < f->count; i++) {
		const char *name = f->fields[i].name;
		bool known = false;
		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(*a, name) == 0;
		if (known)
			continue;
		char shown[SHOWN_SIZE(FORM_SHOWN_NAME)];
		shown_escape(name, strlen(name), FORM_SHOWN_NAME, shown, sizeof(shown));
		if (strncmp(name, "attribute[", 10) == 0)
			return errbuf_fail(err, errlen,
					   "'%s': no service here has attributes (metadata is "
					   "false for every one)",
					   shown);
		return errbuf_fail(err, errlen, "unknown parameter '%s'", shown);
	}
	return 0;
}

/* The value of name, or NULL when absent or empty (the spec's optional arguments). */
static const char *given(const struct form *f, const char *name)
{
	const char *v = form_get(f, name);
	return v && v[0] ? v : NULL;
}

int open311_plain_query(const struct form *q, char *err, size_t errlen)
{
	static const char *const allowed[] = { "jurisdiction_id", "api_key", NULL };
	return only_names(q, allowed, err, errlen);
}

/* ---- GET requests ------------------------------------------------------------- */

/*
 * Splits a comma-separated list into spans (empty entries skipped), each checked by
 * ok(); at most max. Returns the count, or -1 with the reason.
 */
static int split_list(const char *name, const char *value, struct open311_span *out, size_t max,
		      bool (*ok)(const char *s, size_t len), const char *what, char *err,
		      size_t errlen)
{
	size_t n = 0;
	for (const char *p = value; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len > 0) {
			if (n == max)
				return errbuf_fail(err, errlen, "%s: more than %zu entries", name,
						   max);
			if (!ok(p, len)) {
				char shown[SHOWN_SIZE(40)];
				shown_escape(p, len, 40, shown, sizeof(shown));
				return errbuf_fail(err, errlen, "%s: '%s' is not %s", name, shown,
						   what);
			}
			out[n].s = p;
			out[n].len = len;
			n++;
		}
		p += len + (comma ? 1 : 0);
	}
	return (int)n;
}

/* A ticket number's characters: letters, digits, '-' and '_'. */
static bool id_ok(const char *s, size_t len)
{
	if (len > OPEN311_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

static bool code_ok(const char *s, size_t len)
{
	char code[CODE_MAX + 1];
	if (len > CODE_MAX)
		return false;
	memcpy(code, s, len);
	code[len] = '\0';
	return code_valid(code);
}

static bool status_ok(const char *s, size_t len)
{
	return (len == 4 && memcmp(s, "open", 4) == 0) || (len == 6 && memcmp(s, "closed", 6) == 0);
}

/*
 * A W3C date and time with its zone (the spec's form): what dates_parse_iso() reads,
 * also with 1-9 digits of fractions (cut or padded to milliseconds) and a space in
 * the place of the zone's '+' (a '+' that was not %-escaped reads as a space).
 */
static int parse_w3c(const char *s, int64_t *ms)
{
	char buf[40];
	size_t len = strlen(s), n = 0, i = 0;
	if (len < 20 || len > 35)
		return -1;
	memcpy(buf, s, 19);
	n = i = 19;
	if (s[i] == '.') {
		size_t digits = 0;
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			digits++;
			i++;
		}
		if (digits == 0 || digits > 9)
			return -1;
		buf[n++] = '.';
		for (size_t d = 0; d < 3; d++)
			buf[n++] = d < digits ? s[20 + d] : '0';
	}
	if (i < len && s[i] == ' ' && len - i == 6) {
		buf[n++] = '+';
		i++;
	}
	memcpy(buf + n, s + i, len - i);
	n += len - i;
	return dates_parse_iso(buf, n, ms);
}

static int date_param(const struct form *q, const char *name, bool *has, int64_t *ms, char *err,
		      size_t errlen)
{
	const char *v = given(q, name);
	*has = v != NULL;
	if (v && parse_w3c(v, ms) != 0) {
		char shown[SHOWN_SIZE(40)];
		shown_escape(v, strlen(v), 40, shown, sizeof(shown));
		return errbuf_fail(err, errlen,
				   "%s '%s' is not a W3C date and time with its zone, like "
				   "2026-12-07T09:00:00+08:00 or 2026-12-07T01:00:00Z",
				   name, shown);
	}
	return 0;
}

int open311_query_parse(const struct form *q, int64_t now_ms, struct open311_query *out, char *err,
			size_t errlen)
{
	static const char *const allowed[] = {
		"jurisdiction_id", "api_key",	 "service_request_id",
		"service_code",	   "start_date", "end_date",
		"status",	   NULL
	};
	memset(out, 0, sizeof(*out));
	out->open = out->closed = true;
	if (only_names(q, allowed, err, errlen) != 0)
		return -1;
	const char *v = given(q, "service_request_id");
	if (v) {
		int n = split_list("service_request_id", v, out->ids, OPEN311_MAX_IDS, id_ok,
				   "a service_request_id", err, errlen);
		if (n < 0)
			return -1;
		out->nids = (size_t)n;
		if (n > 0)
			return 0; /* "This overrides all other arguments." */
	}
	if ((v = given(q, "service_code"))) {
		int n = split_list("service_code", v, out->codes, OPEN311_MAX_CODES, code_ok,
				   "a service_code", err, errlen);
		if (n < 0)
			return -1;
		out->ncodes = (size_t)n;
	}
	if ((v = given(q, "status"))) {
		struct open311_span statuses[8];
		int n = split_list("status", v, statuses, 8, status_ok, "open or closed", err,
				   errlen);
		if (n < 0)
			return -1;
		if (n > 0) {
			out->open = out->closed = false;
			for (int i = 0; i < n; i++) {
				if (statuses[i].len == 4)
					out->open = true;
				else
					out->closed = true;
			}
		}
	}
	bool has_start, has_end;
	int64_t start = 0, end = 0;
	if (date_param(q, "start_date", &has_start, &start, err, errlen) != 0 ||
	    date_param(q, "end_date", &has_end, &end, err, errlen) != 0)
		return -1;
	if (!has_start && !has_end) {
		end = now_ms;
		start = now_ms - OPEN311_WINDOW_MS;
	} else if (!has_end) {
		end = start + OPEN311_WINDOW_MS;
	} else if (!has_start) {
		start = end - OPEN311_WINDOW_MS;
	} else if (end < start) {
		return errbuf_fail(err, errlen, "end_date is before start_date");
	} else if (end - start > OPEN311_WINDOW_MS) {
		return errbuf_fail(err, errlen,
				   "start_date and end_date may not span more than 90 days");
	}
	out->start_ms = start;
	out->end_ms = end;
	return 0;
}

/* ---- POST requests ------------------------------------------------------------ */

/* A decimal number: sign, digits, one '.', digits (no exponent, no "inf", no hex). */
static int parse_decimal(const char *s, double *out)
{
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	size_t digits = 0, dots = 0;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '.' && dots == 0)
			dots++;
		else
			return -1;
	}
	if (digits == 0 || p - s > 32)
		return -1;
	char *end;
	double v = strtod(s, &end);
	if (*end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static bool media_url_ok(const char *s)
{
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7F)
			return false;
	return true;
}

int open311_post_parse(const struct form *f, struct open311_post *out, char *err, size_t errlen)
{
	static const char *const allowed[] = {
		"api_key",   "jurisdiction_id", "service_code", "lat",
		"long",	     "address_string",	"address_id",	"email",
		"device_id", "account_id",	"first_name",	"last_name",
		"phone",     "description",	"media_url",	NULL,
	};
	memset(out, 0, sizeof(*out));
	if (only_names(f, allowed, err, errlen) != 0)
		return -1;
	/* The text fields, and the bytes of those the intake record does not bound
	 * (0: intake_validate() does, in the field it lands in). */
	const struct {
		const char *name;
		const char **slot;
		size_t max;
	} texts[] = {
		{ "api_key", &out->api_key, OPEN311_MAX_KEY },
		{ "jurisdiction_id", &out->jurisdiction_id, OPEN311_MAX_KEY },
		{ "service_code", &out->service_code, CODE_MAX },
		{ "address_string", &out->address_string, 0 },
		{ "address_id", &out->address_id, OPEN311_MAX_OTHER_ID },
		{ "email", &out->email, OPEN311_MAX_EMAIL },
		{ "device_id", &out->device_id, OPEN311_MAX_OTHER_ID },
		{ "account_id", &out->account_id, OPEN311_MAX_OTHER_ID },
		{ "first_name", &out->first_name, 0 },
		{ "last_name", &out->last_name, 0 },
		{ "phone", &out->phone, 0 },
		{ "description", &out->description, 0 },
		{ "media_url", &out->media_url, OPEN311_MAX_MEDIA_URL },
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *v = given(f, texts[i].name);
		if (v && texts[i].max && strlen(v) > texts[i].max)
			return errbuf_fail(err, errlen, "%s is longer than %zu bytes",
					   texts[i].name, texts[i].max);
		*texts[i].slot = v;
	}
	if (!out->service_code)
		return errbuf_fail(err, errlen, "service_code is required");
	const char *lat = given(f, "lat"), *lon = given(f, "long");
	if ((lat != NULL) != (lon != NULL))
		return errbuf_fail(err, errlen, "lat and long are sent together");
	if (lat) {
		if (parse_decimal(lat, &out->lat) != 0 || out->lat < -90.0 || out->lat > 90.0)
			return errbuf_fail(err, errlen,
					   "lat must be a decimal number in [-90, 90]");
		if (parse_decimal(lon, &out->lon) != 0 || out->lon < -180.0 || out->lon > 180.0)
			return errbuf_fail(err, errlen,
					   "long must be a decimal number in [-180, 180]");
		/* 0,0 is what a device without a position fix sends, as the intake reads it */
		out->has_location = !(out->lat == 0.0 && out->lon == 0.0);
	}
	if (!out->has_location && !out->address_string)
		return errbuf_fail(
			err, errlen,
			out->address_id ? "address_id alone is not a location here (there is no "
					  "address repository): send lat and long, or "
					  "address_string"
			: lat		? "lat=0 and long=0 is not a location: send a position, or "
					  "address_string"
			      : "a location is required: lat and long, or address_string");
	if (out->media_url && !media_url_ok(out->media_url))
		return errbuf_fail(err, errlen, "media_url must be an http:// or https:// URL");
	return 0;
}

_Static_assert(OPEN311_EXTERNAL_ID_MAX <= INTAKE_MAX_EXTERNAL_ID,
	       "a keyed external_id fits an intake record's");

int open311_external_id(const char *key, const unsigned char random[OPEN311_RANDOM_BYTES],
			char *out, size_t outlen, char *err, size_t errlen)
{
	if (outlen < OPEN311_EXTERNAL_ID_MAX + 1)
		return errbuf_fail(err, errlen, "no room for the external_id");
	if (!key) {
		static const char hex[] = "0123456789abcdef";
		size_t n = strlen(OPEN311_RANDOM_PREFIX);
		memcpy(out, OPEN311_RANDOM_PREFIX, n);
		for (size_t i = 0; i < OPEN311_RANDOM_BYTES; i++) {
			out[n++] = hex[random[i] >> 4];
			out[n++] = hex[random[i] & 0xF];
		}
		out[n] = '\0';
		return 0;
	}
	size_t len = strlen(key);
	if (len == 0 || len > OPEN311_MAX_IDEMPOTENCY_KEY)
		return errbuf_fail(err, errlen, "Idempotency-Key must be 1-%d bytes",
				   OPEN311_MAX_IDEMPOTENCY_KEY);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7E)
			return errbuf_fail(
				err, errlen,
				"Idempotency-Key may hold only visible ASCII (no spaces)");
	snprintf(out, outlen, "%s%s", OPEN311_KEYED_PREFIX, key);
	return 0;
}

struct intake *open311_intake(const struct open311_post *p, const char *external_id,
			      const char *category, const char *service_name)
{
	const char *said = p->description ? p->description : service_name;
	size_t said_len = strlen(said), media_len = p->media_url ? strlen(p->media_url) : 0;
	char *content = malloc(said_len + 2 + media_len + 1);
	size_t first_len = p->first_name ? strlen(p->first_name) : 0;
	size_t last_len = p->last_name ? strlen(p->last_name) : 0;
	char *name = malloc(first_len + 1 + last_len + 1);
	struct intake *in = NULL;
	if (content && name) {
		memcpy(content, said, said_len);
		size_t n = said_len;
		if (p->media_url) {
			memcpy(content + n, "\n\n", 2);
			memcpy(content + n + 2, p->media_url, media_len);
			n += 2 + media_len;
		}
		content[n] = '\0';
		n = 0;
		if (first_len) {
			memcpy(name, p->first_name, first_len);
			n = first_len;
		}
		if (last_len) {
			if (n)
				name[n++] = ' ';
			memcpy(name + n, p->last_name, last_len);
			n += last_len;
		}
		name[n] = '\0';
		Hotline__V1__Intake pb = HOTLINE__V1__INTAKE__INIT;
		pb.external_id = (char *)external_id;
		pb.channel = (char *)OPEN311_CHANNEL;
		pb.caller_phone = (char *)(p->phone ? p->phone : "");
		pb.caller_name = name;
		pb.category = (char *)category;
		pb.content = content;
		pb.address = (char *)(p->address_string ? p->address_string : "");
		if (p->has_location) {
			pb.lat = p->lat;
			pb.lon = p->lon;
		}
		in = intake_from_pb(&pb);
	}
	free(content);
	free(name);
	return in;
}

void open311_intake_reason(char *err, size_t errlen)
{
	/* intake_validate() names the record's field first, then says what is wrong. */
	static const struct {
		const char *intake, *open311;
	} names[] = {
		{ "content", "description (with media_url)" },
		{ "caller_phone", "phone" },
		{ "caller_name", "first_name and last_name together" },
		{ "address", "address_string" },
		{ "lon", "long" },
	};
	if (!err || errlen == 0)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i].intake);
		if (strncmp(err, names[i].intake, n) == 0 && err[n] == ' ') {
			char rest[512];
			snprintf(rest, sizeof(rest), "%s", err + n);
			snprintf(err, errlen, "%s%s", names[i].open311, rest);
			return;
		}
	}
}

/* ---- XML ------------------------------------------------------------------------ */

#define XML_MAX_DEPTH 8

struct xml_buf {
	char *data;
	size_t len, cap;
	bool oom;
};

static void xml_add(struct xml_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *grown = realloc(b->data, cap);
		if (!grown) {
			b->oom = true;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void xml_str(struct xml_buf *b, const char *s)
{
	xml_add(b, s, strlen(s));
}

/* Text content: & < > escaped; what XML 1.0 cannot carry becomes U+FFFD. */
static void xml_text(struct xml_buf *b, const char *s, size_t len)
{
	static const char replacement[] = "\xEF\xBF\xBD";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '&')
			xml_str(b, "&amp;");
		else if (c == '<')
			xml_str(b, "&lt;");
		else if (c == '>')
			xml_str(b, "&gt;");
		else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			xml_str(b, replacement);
		else if (c == 0xEF && i + 2 < len && (unsigned char)s[i + 1] == 0xBF &&
			 ((unsigned char)s[i + 2] == 0xBE || (unsigned char)s[i + 2] == 0xBF)) {
			xml_str(b, replacement); /* U+FFFE, U+FFFF */
			i += 2;
		} else
			xml_add(b, (const char *)&s[i], 1);
	}
}

/* The shortest decimal that reads back as v. */
static void xml_real(struct xml_buf *b, double v)
{
	char num[40];
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(num, sizeof(num), "%.*g", precision, v);
		if (strtod(num, NULL) == v)
			break;
	}
	xml_str(b, num);
}

static int xml_value(struct xml_buf *b, const char *name, const json_t *v, int depth);

static int xml_members(struct xml_buf *b, const json_t *obj, int depth)
{
	const char *key;
	json_t *member;
	json_object_foreach((json_t *)obj, key, member)
	{
		if (xml_value(b, key, member, depth + 1) != 0)
			return -1;
	}
	return 0;
}

/* The element a member of an array named name is written as: name without its 's'. */
static void xml_item_name(const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == 's')
		n--;
	snprintf(out, outlen, "%.*s", (int)n, name);
}

static int xml_value(struct xml_buf *b, const char *name, const json_t *v, int depth)
{
	if (depth > XML_MAX_DEPTH)
		return -1;
	xml_str(b, "<");
	xml_str(b, name);
	if (json_is_null(v)) {
		xml_str(b, "/>");
		return 0;
	}
	xml_str(b, ">");
	char num[32];
	switch (json_typeof(v)) {
	case JSON_STRING:
		xml_text(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		xml_str(b, num);
		break;
	case JSON_REAL:
		xml_real(b, json_real_value(v));
		break;
	case JSON_TRUE:
		xml_str(b, "true");
		break;
	case JSON_FALSE:
		xml_str(b, "false");
		break;
	case JSON_OBJECT:
		if (xml_members(b, v, depth) != 0)
			return -1;
		break;
	case JSON_ARRAY: {
		char item[64];
		size_t i;
		json_t *entry;
		xml_item_name(name, item, sizeof(item));
		json_array_foreach(v, i, entry)
		{
			if (xml_value(b, item, entry, depth + 1) != 0)
				return -1;
		}
		break;
	}
	case JSON_NULL:
		break;
	}
	xml_str(b, "</");
	xml_str(b, name);
	xml_str(b, ">");
	return 0;
}

char *open311_xml(const json_t *doc, enum open311_doc kind, size_t *len)
{
	static const struct {
		const char *root, *item; /* item NULL: the document is one object */
	} shapes[] = {
		[OPEN311_DOC_SERVICES] = { "services", "service" },
		[OPEN311_DOC_DEFINITION] = { "service_definition", NULL },
		[OPEN311_DOC_REQUESTS] = { "service_requests", "request" },
		[OPEN311_DOC_ERRORS] = { "errors", "error" },
	};
	if ((size_t)kind >= sizeof(shapes) / sizeof(shapes[0]) || !doc)
		return NULL;
	struct xml_buf b = { 0 };
	int rc = 0;
	xml_str(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<");
	xml_str(&b, shapes[kind].root);
	xml_str(&b, ">");
	if (shapes[kind].item) {
		size_t i;
		json_t *entry;
		if (!json_is_array(doc))
			rc = -1;
		json_array_foreach(doc, i, entry)
		{
			if (rc == 0 && (!json_is_object(entry) ||
					xml_value(&b, shapes[kind].item, entry, 1) != 0))
				rc = -1;
		}
	} else if (!json_is_object(doc) || xml_members(&b, doc, 0) != 0) {
		rc = -1;
	}
	xml_str(&b, "</");
	xml_str(&b, shapes[kind].root);
	xml_str(&b, ">");
	if (rc != 0 || b.oom) {
		free(b.data);
		return NULL;
	}
	*len = b.len;
	return b.data;
}
