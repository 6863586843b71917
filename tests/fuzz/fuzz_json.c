/*
 * fuzz_json.c - libFuzzer target for lib/json_codec.c (and intake validation).
 *
 * Owns: throwing arbitrary lines at json_parse_hello() and json_parse_intake(),
 * validating every record that parses, and formatting reply lines from what
 * was parsed, checking each reply is one '\n'-terminated line, and that an
 * unknown key is named printable (no control bytes, valid UTF-8) and cut.
 * Never: does I/O or reads the clock ("now" is fixed). Run as in README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_codec.h"
#include "mask.h"
#include "utf8.h"

#define FUZZ_NOW_MS INT64_C(1795000000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(char *line, size_t len)
{
	if (line == NULL)
		return; /* allocation failure only */
	if (len == 0 || strlen(line) != len || line[len - 1] != '\n' ||
	    memchr(line, '\n', len - 1) != NULL || !utf8_valid(line, len))
		abort();
	free(line);
}

/* "unknown key '...' in ...": the key escaped and cut to 64 bytes and "...". */
static void check_unknown_key(const char *err)
{
	static const char prefix[] = "unknown key '";
	const char *shown = err + sizeof(prefix) - 1, *end;

	if (strncmp(err, prefix, sizeof(prefix) - 1) != 0)
		return;
	end = strrchr(err, '\''); /* a quote in the key is shown as \' */
	if (end < shown || end - shown > 64 + 3 || !utf8_valid(err, strlen(err)))
		abort();
	for (const char *p = shown; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f || (c == 0xc2 && (unsigned char)p[1] < 0xa0))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct hello_msg hello;
	struct intake *in = NULL;
	struct intake_limits lim;
	char ext[INTAKE_MAX_EXTERNAL_ID + 1], err[256], masked[MASK_PHONE_SIZE];
	size_t len;

	if (json_parse_hello(line, size, &hello, err, sizeof(err)) == 0) {
		if (strlen(hello.id) == 0 || strlen(hello.id) > 64 || strlen(hello.token) > 256 ||
		    hello.role < 1 || hello.role > 3)
			abort();
		check_line(json_format_welcome(hello.version, hello.id, 1, 1, &len), len);
	} else {
		check_unknown_key(err);
		check_line(json_format_error(4, err, hello.id, &len), len);
	}

	if (json_parse_intake(line, size, &in, ext, err, sizeof(err)) == 0) {
		if (in == NULL)
			abort();
		intake_limits_default(&lim);
		if (intake_validate(in, FUZZ_NOW_MS, &lim, err, sizeof(err)) == 0) {
			/* what validation passed must hold */
			if (in->external_id[0] == '\0' || in->content[0] == '\0' ||
			    strlen(in->content) > lim.max_content ||
			    !utf8_valid(in->content, strlen(in->content)))
				abort();
			mask_phone(in->caller_phone, masked, sizeof(masked));
			check_line(json_format_ack(in->external_id, "T1", false, &len), len);
		} else {
			check_line(json_format_error(5, err, in->external_id, &len), len);
		}
		intake_free(in);
	} else {
		if (in != NULL || strlen(ext) > INTAKE_MAX_EXTERNAL_ID)
			abort();
		check_unknown_key(err);
		check_line(json_format_error(5, err, ext, &len), len);
	}
	return 0;
}
