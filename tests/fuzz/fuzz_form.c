/*
 * fuzz_form.c - libFuzzer target for lib/form.c and what lib/open311.c reads from a
 * form: an Open311 POST body or query string, whatever a client sends.
 *
 * Owns: throwing arbitrary bytes at form_parse() (as a body, with a buffer of
 * exactly len + 1 bytes, so an overrun is ASan's to see), then, when it takes them,
 * at the GET filters (open311_query_parse), the POST fields (open311_post_parse), the
 * intake record a POST becomes and its validation, and the XML writer (the form's
 * pairs as one request), checking what comes out: at most FORM_MAX_FIELDS names,
 * each non-empty, distinct, NUL-free valid UTF-8, values too; lists within their
 * bounds and inside the decoded text; a window of at most 90 days that ends after it
 * starts; a taken POST names a service and a location; a refusal always says why;
 * XML that is valid UTF-8 carrying no character XML 1.0 forbids.
 * Never: does I/O. Run as in tests/fuzz/README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "open311.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS INT64_C(1796605200000)

static void check_form(const struct form *f, const char *buf, size_t buflen)
{
	if (f->count > FORM_MAX_FIELDS)
		abort();
	for (size_t i = 0; i < f->count; i++) {
		const char *name = f->fields[i].name, *value = f->fields[i].value;
		size_t nl = strlen(name), vl = strlen(value);
		if (nl == 0 || !utf8_valid(name, nl) || !utf8_valid(value, vl))
			abort();
		if (name < buf || name + nl >= buf + buflen)
			abort();
		if (vl && (value < buf || value + vl >= buf + buflen))
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(f->fields[j].name, name) == 0)
				abort();
	}
}

static void check_spans(const struct open311_span *spans, size_t n, size_t max, const char *buf,
			size_t buflen)
{
	if (n > max)
		abort();
	for (size_t i = 0; i < n; i++)
		if (spans[i].len == 0 || spans[i].s < buf ||
		    spans[i].s + spans[i].len > buf + buflen)
			abort();
}

static void fuzz_query(const struct form *f, const char *buf, size_t buflen)
{
	struct open311_query q;
	char err[512] = "";
	if (open311_query_parse(f, NOW_MS, &q, err, sizeof(err)) != 0) {
		if (!err[0])
			abort();
		return;
	}
	check_spans(q.ids, q.nids, OPEN311_MAX_IDS, buf, buflen);
	check_spans(q.codes, q.ncodes, OPEN311_MAX_CODES, buf, buflen);
	if (q.nids == 0 && (q.end_ms < q.start_ms || q.end_ms - q.start_ms > OPEN311_WINDOW_MS))
		abort();
	if (!q.open && !q.closed)
		abort();
}

static void check_xml(const char *xml, size_t len)
{
	if (!utf8_valid(xml, len))
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)xml[i];
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			abort();
	}
}

/* The form's pairs as one request of a GET answer, written as XML. */
static void fuzz_xml(const struct form *f)
{
	json_t *one = json_object(), *doc = json_array();
	for (size_t i = 0; one && i < f->count; i++) {
		/* element names are ours in the API; here only plain ones are tried */
		const char *name = f->fields[i].name;
		if (strspn(name, "abcdefghijklmnopqrstuvwxyz_") != strlen(name))
			continue;
		json_object_set_new(one, name, json_string(f->fields[i].value));
	}
	if (one && doc && json_array_append(doc, one) == 0) {
		size_t len = 0;
		char *xml = open311_xml(doc, OPEN311_DOC_REQUESTS, &len);
		if (!xml || strlen(xml) != len)
			abort();
		check_xml(xml, len);
		free(xml);
	}
	json_decref(one);
	json_decref(doc);
}

static void fuzz_post(const struct form *f)
{
	struct open311_post p;
	char err[512] = "";
	if (open311_post_parse(f, &p, err, sizeof(err)) != 0) {
		if (!err[0])
			abort();
		return;
	}
	if (!p.service_code || (!p.has_location && !p.address_string))
		abort();
	struct intake *in = open311_intake(&p, "open311-0123456789abcdef", "category", "Service");
	if (!in)
		return;
	if (!in->content[0])
		abort();
	if (intake_validate(in, NOW_MS, NULL, err, sizeof(err)) != 0) {
		open311_intake_reason(err, sizeof(err));
		if (!err[0])
			abort();
	}
	intake_free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	struct form f;
	char err[256] = "";
	if (form_parse((const char *)data, size, buf, size + 1, &f, err, sizeof(err)) == 0) {
		check_form(&f, buf, size + 1);
		fuzz_query(&f, buf, size + 1);
		fuzz_post(&f);
		fuzz_xml(&f);
	} else if (!err[0] || f.count != 0) {
		abort();
	}
	free(buf);
	return 0;
}
