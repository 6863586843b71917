/*
 * test_open311.c - lib/open311.c: the format suffix, the statuses refusals go out
 * with, GET requests' filters (lists, W3C dates, the 90-day window), POST requests'
 * fields (the spec's example, the location rule, every refusal), the external_id a
 * POST is stored under (random, or its Idempotency-Key), the intake record a
 * POST becomes and its validation reasons in Open311's names, and the XML documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "open311.h"

/* 2026-12-07T09:00:00+08:00 */
#define NOW_MS INT64_C(1796605200000)

static char form_buf[4096];

/* text as a form (in form_buf), failing the test when it is refused. */
static void form_of(const char *text, struct form *f)
{
	char err[256] = "";
	if (form_parse(text, strlen(text), form_buf, sizeof(form_buf), f, err, sizeof(err)) != 0)
		fail_msg("form '%s' refused: %s", text, err);
}

static void test_cut_format(void **state)
{
	char a[] = "services.json", b[] = "001.xml", c[] = "requests", d[] = ".json",
	     e[] = "services.JSON", f[] = "a.json.xml";
	assert_int_equal(open311_cut_format(a), OPEN311_JSON);
	assert_string_equal(a, "services");
	assert_int_equal(open311_cut_format(b), OPEN311_XML);
	assert_string_equal(b, "001");
	assert_int_equal(open311_cut_format(c), -1);
	assert_string_equal(c, "requests");
	assert_int_equal(open311_cut_format(d), -1);
	assert_int_equal(open311_cut_format(e), -1);
	assert_int_equal(open311_cut_format(f), OPEN311_XML);
	assert_string_equal(f, "a.json");
}

static void test_http_status(void **state)
{
	assert_int_equal(open311_http_status(200), 200);
	assert_int_equal(open311_http_status(403), 403);
	assert_int_equal(open311_http_status(404), 404);
	assert_int_equal(open311_http_status(503), 503);
	for (int s = 400; s < 600; s++)
		if (s != 403 && s != 404 && s != 503)
			assert_int_equal(open311_http_status(s), 400);
}

static void query_ok(const char *text, struct open311_query *q)
{
	struct form f;
	char err[256] = "";
	form_of(text, &f);
	if (open311_query_parse(&f, NOW_MS, q, err, sizeof(err)) != 0)
		fail_msg("query '%s' refused: %s", text, err);
}

static void query_refused(const char *text, const char *want)
{
	struct form f;
	struct open311_query q;
	char err[256] = "";
	form_of(text, &f);
	assert_int_equal(open311_query_parse(&f, NOW_MS, &q, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_query_defaults(void **state)
{
	struct open311_query q;
	query_ok("", &q);
	assert_int_equal(q.nids, 0);
	assert_int_equal(q.ncodes, 0);
	assert_true(q.open && q.closed);
	assert_int_equal(q.end_ms, NOW_MS);
	assert_int_equal(q.end_ms - q.start_ms, OPEN311_WINDOW_MS);
	/* empty values are as good as absent; jurisdiction_id and api_key are allowed */
	query_ok("service_code=&status=&start_date=&jurisdiction_id=city.gov&api_key=k", &q);
	assert_int_equal(q.ncodes, 0);
	assert_true(q.open && q.closed);
	assert_int_equal(q.end_ms, NOW_MS);
}

static void test_query_lists(void **state)
{
	struct open311_query q;
	query_ok("service_code=pothole,streetlight,&status=closed", &q);
	assert_int_equal(q.ncodes, 2);
	assert_int_equal(q.codes[0].len, 7);
	assert_memory_equal(q.codes[0].s, "pothole", 7);
	assert_memory_equal(q.codes[1].s, "streetlight", 11);
	assert_false(q.open);
	assert_true(q.closed);
	query_ok("status=open", &q);
	assert_true(q.open && !q.closed);
	query_ok("status=open,closed", &q);
	assert_true(q.open && q.closed);
	/* service_request_id overrides every other argument (even a bad date) */
	query_ok("service_request_id=20261207-00000042,,20261207-00000043&status=open&"
		 "start_date=garbage",
		 &q);
	assert_int_equal(q.nids, 2);
	assert_memory_equal(q.ids[1].s, "20261207-00000043", 17);
	assert_true(q.open && q.closed);
	query_refused("status=pending", "status: 'pending' is not open or closed");
	query_refused("service_code=a+b", "service_code: 'a b' is not a service_code");
	query_refused("service_request_id=1;2", "is not a service_request_id");
	query_refused("service_request_id=0123456789012345678901234567890123",
		      "is not a service_request_id");
	query_refused("page=2", "unknown parameter 'page'");
	query_refused("attribute%5Bx%5D=1", "no service here has attributes");
	/* a list longer than its bound */
	char text[2048] = "service_code=";
	for (int i = 0; i <= OPEN311_MAX_CODES; i++)
		strcat(text, "c,");
	query_refused(text, "more than 64 entries");
}

static void test_query_dates(void **state)
{
	struct open311_query q;
	/* start only: 90 days from it */
	query_ok("start_date=2026-10-01T00:00:00Z", &q);
	assert_int_equal(q.start_ms, INT64_C(1790812800000));
	assert_int_equal(q.end_ms, q.start_ms + OPEN311_WINDOW_MS);
	/* end only: 90 days up to it; an offset, also as a form-decoded '+' (a space) */
	query_ok("end_date=2026-12-01T08:00:00%2B08:00", &q);
	assert_int_equal(q.end_ms, INT64_C(1796083200000));
	assert_int_equal(q.start_ms, q.end_ms - OPEN311_WINDOW_MS);
	query_ok("end_date=2026-12-01T08:00:00+08:00", &q);
	assert_int_equal(q.end_ms, INT64_C(1796083200000));
	query_ok("end_date=2026-12-01T00:00:00Z", &q);
	assert_int_equal(q.end_ms, INT64_C(1796083200000));
	query_ok("end_date=2026-11-30T19:00:00-05:00", &q);
	assert_int_equal(q.end_ms, INT64_C(1796083200000));
	/* fractions of 1-9 digits */
	query_ok("end_date=2026-12-01T00:00:00.5Z", &q);
	assert_int_equal(q.end_ms, INT64_C(1796083200500));
	query_ok("end_date=2026-12-01T00:00:00.123456789Z", &q);
	assert_int_equal(q.end_ms, INT64_C(1796083200123));
	/* both: exactly 90 days is fine, a millisecond more is not */
	query_ok("start_date=2026-09-02T00:00:00Z&end_date=2026-12-01T00:00:00Z", &q);
	assert_int_equal(q.start_ms, INT64_C(1796083200000) - OPEN311_WINDOW_MS);
	query_refused("start_date=2026-09-02T00:00:00Z&end_date=2026-12-01T00:00:00.001Z",
		      "may not span more than 90 days");
	query_refused("start_date=2026-12-02T00:00:00Z&end_date=2026-12-01T00:00:00Z",
		      "end_date is before start_date");
	/* the spec's format, with its zone */
	query_refused("start_date=2026-12-01", "is not a W3C date and time with its zone");
	query_refused("start_date=2026-12-01T00:00:00", "with its zone");
	query_refused("end_date=2026-02-30T00:00:00Z", "with its zone");
	query_refused("end_date=2026-12-01T00:00:00.1234567890Z", "with its zone");
	query_refused("end_date=2026-12-01T24:00:00Z", "with its zone");
	query_refused("end_date=now", "end_date 'now'");
}

static void test_plain_query(void **state)
{
	struct form f;
	char err[128];
	form_of("jurisdiction_id=city.gov&api_key=x", &f);
	assert_int_equal(open311_plain_query(&f, err, sizeof(err)), 0);
	form_of("status=open", &f);
	assert_int_equal(open311_plain_query(&f, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown parameter 'status'");
}

/* The spec's example request body (its attributes left out: no service has any). */
static const char spec_example[] =
	"api_key=xyz&jurisdiction_id=city.gov&service_code=001&lat=37.76524078&long=-122.4212043&"
	"address_string=1234+5th+street&email=smit333%40sfgov.edu&device_id=tt222111&"
	"account_id=123456&first_name=john&last_name=smith&phone=111111111&"
	"description=A+large+sinkhole+is+destroying+the+street&media_url=http%3A%2F%2Ffarm3."
	"static.flickr.com%2F2002%2F2212426634_5ed477a060.jpg";

static void post_refused(const char *text, const char *want)
{
	struct form f;
	struct open311_post p;
	char err[256] = "";
	form_of(text, &f);
	assert_int_equal(open311_post_parse(&f, &p, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_post_spec_example(void **state)
{
	struct form f;
	struct open311_post p;
	char err[256] = "";
	form_of(spec_example, &f);
	if (open311_post_parse(&f, &p, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_string_equal(p.api_key, "xyz");
	assert_string_equal(p.jurisdiction_id, "city.gov");
	assert_string_equal(p.service_code, "001");
	assert_true(p.has_location);
	assert_true(p.lat > 37.765240 && p.lat < 37.765241);
	assert_true(p.lon < -122.421204 && p.lon > -122.421205);
	assert_string_equal(p.address_string, "1234 5th street");
	assert_string_equal(p.email, "smit333@sfgov.edu");
	assert_string_equal(p.first_name, "john");
	assert_string_equal(p.phone, "111111111");
	assert_string_equal(p.media_url,
			    "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg");

	struct intake *in = open311_intake(&p, "open311-00ff", "roads", "Pothole");
	assert_non_null(in);
	assert_string_equal(in->external_id, "open311-00ff");
	assert_string_equal(in->channel, "open311");
	assert_string_equal(in->category, "roads");
	assert_string_equal(in->caller_name, "john smith");
	assert_string_equal(in->caller_phone, "111111111");
	assert_string_equal(in->address, "1234 5th street");
	assert_string_equal(in->content,
			    "A large sinkhole is destroying the street\n\n"
			    "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg");
	assert_true(in->has_location);
	assert_int_equal(in->received_at_ms, 0);
	char why[256];
	assert_int_equal(intake_validate(in, NOW_MS, NULL, why, sizeof(why)), 0);
	intake_free(in);
}

static void test_post_minimal_and_fallbacks(void **state)
{
	struct form f;
	struct open311_post p;
	char err[256] = "";
	/* no description: the service's name says what it is; an address alone locates */
	form_of("service_code=streetlight&address_string=%E5%8D%97%E5%A4%A7%E8%A1%97+1%E5%8F%B7&"
		"last_name=%E7%8E%8B&description=",
		&f);
	assert_int_equal(open311_post_parse(&f, &p, err, sizeof(err)), 0);
	assert_null(p.description);
	assert_null(p.api_key);
	assert_false(p.has_location);
	struct intake *in = open311_intake(&p, "open311-1", "streetlight", "路灯不亮");
	assert_non_null(in);
	assert_string_equal(in->content, "路灯不亮");
	assert_string_equal(in->caller_name, "王");
	assert_string_equal(in->caller_phone, "");
	assert_string_equal(in->address, "南大街 1号");
	assert_false(in->has_location);
	intake_free(in);
	/* lat/long alone locate; 0,0 is no position, but an address makes up for it */
	form_of("service_code=a&lat=32.0&long=120.86", &f);
	assert_int_equal(open311_post_parse(&f, &p, err, sizeof(err)), 0);
	assert_true(p.has_location);
	form_of("service_code=a&lat=0&long=0&address_string=x", &f);
	assert_int_equal(open311_post_parse(&f, &p, err, sizeof(err)), 0);
	assert_false(p.has_location);
	in = open311_intake(&p, "open311-2", "a", "A");
	assert_false(in->has_location);
	intake_free(in);
}

static void test_post_refusals(void **state)
{
	post_refused("lat=1&long=2", "service_code is required");
	post_refused("service_code=&lat=1&long=2", "service_code is required");
	post_refused("service_code=a", "a location is required: lat and long, or address_string");
	post_refused("service_code=a&address_id=545483", "address_id alone is not a location here");
	post_refused("service_code=a&lat=0&long=0", "lat=0 and long=0 is not a location");
	post_refused("service_code=a&lat=32", "lat and long are sent together");
	post_refused("service_code=a&long=120", "lat and long are sent together");
	post_refused("service_code=a&lat=91&long=0", "lat must be a decimal number in [-90, 90]");
	post_refused("service_code=a&lat=1&long=-180.5", "long must be a decimal number");
	post_refused("service_code=a&lat=1e1&long=2", "lat must be");
	post_refused("service_code=a&lat=nan&long=2", "lat must be");
	post_refused("service_code=a&lat=0x10&long=2", "lat must be");
	post_refused("service_code=a&lat=+&long=2", "lat must be");
	post_refused("service_code=a&lat=1.2.3&long=2", "lat must be");
	post_refused("service_code=a&lat=%201&long=2", "lat must be");
	post_refused("service_code=a&address_string=x&media_url=ftp%3A%2F%2Fx",
		     "media_url must be an http:// or https:// URL");
	post_refused("service_code=a&address_string=x&media_url=http%3A%2F%2Fa+b",
		     "media_url must be");
	post_refused("service_code=a&address_string=x&attribute%5BWHISPAWN%5D=1",
		     "'attribute[WHISPAWN]': no service here has attributes");
	post_refused("service_code=a&address_string=x&descripton=typo",
		     "unknown parameter 'descripton'");
	char text[1200];
	snprintf(text, sizeof(text), "service_code=a&address_string=x&email=%0300d", 1);
	post_refused(text, "email is longer than 254 bytes");
	snprintf(text, sizeof(text), "service_code=%070d&address_string=x", 1);
	post_refused(text, "service_code is longer than 64 bytes");
}

static void test_intake_reasons(void **state)
{
	struct form f;
	struct open311_post p;
	char err[256];
	form_of("service_code=a&address_string=x&phone=call+me&description=d", &f);
	assert_int_equal(open311_post_parse(&f, &p, err, sizeof(err)), 0);
	struct intake *in = open311_intake(&p, "open311-3", "a", "A");
	struct intake_limits lim;
	intake_limits_default(&lim);
	assert_int_equal(intake_validate(in, NOW_MS, &lim, err, sizeof(err)), -1);
	open311_intake_reason(err, sizeof(err));
	assert_string_equal(err, "phone may contain only digits, '+', '-', spaces and parentheses");
	intake_free(in);
	lim.max_content = 16;
	form_of("service_code=a&address_string=x&description=seventeen+bytes!!", &f);
	assert_int_equal(open311_post_parse(&f, &p, err, sizeof(err)), 0);
	in = open311_intake(&p, "open311-4", "a", "A");
	assert_int_equal(intake_validate(in, NOW_MS, &lim, err, sizeof(err)), -1);
	open311_intake_reason(err, sizeof(err));
	assert_string_equal(err, "description (with media_url) is longer than 16 bytes");
	intake_free(in);
	/* the names only at the start; others untouched */
	snprintf(err, sizeof(err), "caller_name is not valid UTF-8");
	open311_intake_reason(err, sizeof(err));
	assert_string_equal(err, "first_name and last_name together is not valid UTF-8");
	snprintf(err, sizeof(err), "address is longer than 512 bytes");
	open311_intake_reason(err, sizeof(err));
	assert_string_equal(err, "address_string is longer than 512 bytes");
	snprintf(err, sizeof(err), "addresses x");
	open311_intake_reason(err, sizeof(err));
	assert_string_equal(err, "addresses x");
}

static void test_external_id(void **state)
{
	const unsigned char random[OPEN311_RANDOM_BYTES] = { 0x00, 0x01, 0x7f, 0x80,
							     0xab, 0xcd, 0xef, 0xff };
	char out[OPEN311_EXTERNAL_ID_MAX + 1], err[128] = "";
	assert_int_equal(open311_external_id(NULL, random, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "open311-00017f80abcdefff");
	assert_int_equal(
		open311_external_id("retry-7f3e", random, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "open311-key-retry-7f3e");
	/* the longest key fits an external_id; one byte more does not */
	char key[OPEN311_MAX_IDEMPOTENCY_KEY + 2];
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(open311_external_id(key, random, out, sizeof(out), err, sizeof(err)), -1);
	assert_string_equal(err, "Idempotency-Key must be 1-100 bytes");
	key[OPEN311_MAX_IDEMPOTENCY_KEY] = '\0';
	assert_int_equal(open311_external_id(key, random, out, sizeof(out), err, sizeof(err)), 0);
	assert_int_equal(strlen(out), OPEN311_EXTERNAL_ID_MAX);
	assert_true(OPEN311_EXTERNAL_ID_MAX <= INTAKE_MAX_EXTERNAL_ID);
	const char *bad[] = { "", "a b", "tab\t", "\x7f", "\xe8\xb7\xaf" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
			open311_external_id(bad[i], random, out, sizeof(out), err, sizeof(err)),
			-1);
	assert_int_equal(open311_external_id(NULL, random, out, 10, err, sizeof(err)), -1);
}

static char *xml_of(const char *json, enum open311_doc kind)
{
	json_error_t jerr;
	json_t *doc = json_loads(json, 0, &jerr);
	if (!doc)
		fail_msg("bad test JSON: %s", jerr.text);
	size_t len = 0;
	char *xml = open311_xml(doc, kind, &len);
	json_decref(doc);
	if (xml)
		assert_int_equal(strlen(xml), len);
	return xml;
}

#define XML_DECL "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"

static void test_xml(void **state)
{
	char *x = xml_of("[{\"service_code\":\"001\",\"service_name\":\"Cans left out 24x7\","
			 "\"metadata\":false,\"type\":\"realtime\",\"keywords\":\"a, b\","
			 "\"group\":\"sanitation\"}]",
			 OPEN311_DOC_SERVICES);
	assert_string_equal(x, XML_DECL "<services><service><service_code>001</service_code>"
					"<service_name>Cans left out 24x7</service_name>"
					"<metadata>false</metadata><type>realtime</type>"
					"<keywords>a, b</keywords><group>sanitation</group>"
					"</service></services>");
	free(x);
	x = xml_of("{\"service_code\":\"DMV66\",\"attributes\":[]}", OPEN311_DOC_DEFINITION);
	assert_string_equal(x, XML_DECL "<service_definition><service_code>DMV66</service_code>"
					"<attributes></attributes></service_definition>");
	free(x);
	x = xml_of(
		"{\"attributes\":[{\"code\":\"W\",\"values\":[{\"key\":123,\"name\":\"Ford\"}]}]}",
		OPEN311_DOC_DEFINITION);
	assert_string_equal(x, XML_DECL "<service_definition><attributes><attribute><code>W</code>"
					"<values><value><key>123</key><name>Ford</name></value>"
					"</values></attribute></attributes></service_definition>");
	free(x);
	/* null, numbers (the shortest that reads back), escaping, what XML cannot carry */
	x = xml_of("[{\"service_request_id\":\"20261207-00000042\",\"account_id\":null,"
		   "\"lat\":37.762221815,\"long\":-122.4651145,\"n\":32.0,\"big\":1e300,"
		   "\"description\":\"a<b & c>d \\u0001\\t\\n\\uffff \\\"q\\\" '\\u8def'\"}]",
		   OPEN311_DOC_REQUESTS);
	assert_string_equal(x,
			    XML_DECL "<service_requests><request>"
				     "<service_request_id>20261207-00000042</service_request_id>"
				     "<account_id/><lat>37.762221815</lat><long>-122.4651145</long>"
				     "<n>32</n><big>1e+300</big>"
				     "<description>a&lt;b &amp; c&gt;d \xEF\xBF\xBD\t\n\xEF\xBF\xBD"
				     " \"q\" '路'</description></request></service_requests>");
	free(x);
	x = xml_of("[{\"code\":403,\"description\":\"Invalid api_key\"}]", OPEN311_DOC_ERRORS);
	assert_string_equal(x, XML_DECL "<errors><error><code>403</code><description>Invalid "
					"api_key</description></error></errors>");
	free(x);
	x = xml_of("[]", OPEN311_DOC_REQUESTS);
	assert_string_equal(x, XML_DECL "<service_requests></service_requests>");
	free(x);
	/* shapes that are not the document's */
	assert_null(xml_of("{}", OPEN311_DOC_REQUESTS));
	assert_null(xml_of("[1]", OPEN311_DOC_SERVICES));
	assert_null(xml_of("[]", OPEN311_DOC_DEFINITION));
	assert_null(
		xml_of("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":1}}}}}}}}}",
		       OPEN311_DOC_DEFINITION));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_format),
		cmocka_unit_test(test_http_status),
		cmocka_unit_test(test_query_defaults),
		cmocka_unit_test(test_query_lists),
		cmocka_unit_test(test_query_dates),
		cmocka_unit_test(test_plain_query),
		cmocka_unit_test(test_post_spec_example),
		cmocka_unit_test(test_post_minimal_and_fallbacks),
		cmocka_unit_test(test_post_refusals),
		cmocka_unit_test(test_intake_reasons),
		cmocka_unit_test(test_external_id),
		cmocka_unit_test(test_xml),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
