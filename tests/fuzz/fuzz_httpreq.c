/*
 * fuzz_httpreq.c - libFuzzer target for lib/httpreq.c: what the HTTP API reads
 * of a request before any handler runs.
 *
 * Owns: throwing arbitrary bytes at the path splitter (as a path under
 * /api/v1/), the bearer-token reader (as an Authorization header), and, as a
 * JSON body, at the field taker with the desk's tables, checking what comes out:
 * every segment is NUL-free valid UTF-8 and no longer than the input; a token's
 * secret is 1..128 base64url bytes; a taken string is NUL-free, within its
 * limit and borrowed from the object.
 * Never: does I/O. Run as in tests/fuzz/README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpreq.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_path(const char *text, size_t len)
{
	char *path = malloc(len + sizeof(HTTPREQ_PREFIX));
	if (!path)
		return;
	memcpy(path, HTTPREQ_PREFIX, sizeof(HTTPREQ_PREFIX) - 1);
	memcpy(path + sizeof(HTTPREQ_PREFIX) - 1, text, len);
	path[sizeof(HTTPREQ_PREFIX) - 1 + len] = '\0';
	size_t buflen = strlen(path) + 1;
	char *buf = malloc(buflen);
	const char *segs[HTTPREQ_MAX_SEGMENTS];
	if (buf) {
		int n = httpreq_split_path(path, buf, buflen, segs);
		if (n > HTTPREQ_MAX_SEGMENTS)
			abort();
		for (int i = 0; i < n; i++) {
			size_t sl = strlen(segs[i]);
			if (sl == 0 || sl > len || !utf8_valid(segs[i], sl) || strchr(segs[i], '/'))
				abort();
		}
	}
	free(buf);
	free(path);
}

static void fuzz_bearer(const char *text)
{
	int64_t id = -1;
	char secret[HTTPREQ_SECRET_MAX + 1];
	if (httpreq_bearer(text, &id, secret, sizeof(secret)) != 0)
		return;
	size_t n = strlen(secret);
	if (id <= 0 || n == 0 || n > HTTPREQ_SECRET_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = secret[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			abort();
	}
}

static void check_taken(const char *s, size_t max)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (max && n > max)
		abort();
	if (!utf8_valid(s, n))
		abort();
}

static void fuzz_body(const char *text, size_t len)
{
	json_t *obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!obj)
		return;
	const char *decision = NULL, *dept = NULL, *reason = NULL;
	bool flag = false;
	int64_t num = 0;
	struct httpreq_field fields[] = {
		{ .name = "decision",
		  .type = HTTPREQ_STRING,
		  .required = true,
		  .max = 16,
		  .str = &decision },
		{ .name = "dept_code",
		  .type = HTTPREQ_STRING,
		  .max = 64,
		  .not_blank = true,
		  .str = &dept },
		{ .name = "reason",
		  .type = HTTPREQ_STRING,
		  .max = 8192,
		  .not_blank = true,
		  .str = &reason },
		{ .name = "flag", .type = HTTPREQ_BOOL, .flag = &flag },
		{ .name = "n", .type = HTTPREQ_INT, .num = &num },
	};
	char err[256];
	if (httpreq_fields(obj, fields, 5, err, sizeof(err)) == 0) {
		if (!decision)
			abort(); /* required */
		check_taken(decision, 16);
		check_taken(dept, 64);
		check_taken(reason, 8192);
	} else if (strlen(err) == 0) {
		abort(); /* a refusal always says why */
	}
	json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_path(text, strlen(text));
	fuzz_bearer(text);
	fuzz_body(text, size);
	free(text);
	return 0;
}
