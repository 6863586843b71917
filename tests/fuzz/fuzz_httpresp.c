/*
 * fuzz_httpresp.c - libFuzzer target for lib/httpresp.c: the answers the
 * command-line clients read from an HTTP server.
 *
 * Owns: throwing arbitrary bytes at the response reader, split into pieces
 * whose size the first input byte chooses, with a small body limit, then
 * ending the input, and checking what comes out: bytes used never exceed those
 * given, a finished response has a status of 100..999 (never an interim one),
 * a body within the limit and NUL-terminated, and an error always says why.
 * Never: does I/O. Run as in tests/fuzz/README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpresp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIMIT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)data[0] + 1;
	bool head = data[0] == 0xff;
	const char *text = (const char *)data + 1;
	size_t len = size - 1, pos = 0;
	struct httpresp r;
	char err[160];
	httpresp_init(&r, LIMIT, head);
	enum httpresp_result rc = HTTPRESP_MORE;
	while (rc == HTTPRESP_MORE && pos < len) {
		size_t n = step < len - pos ? step : len - pos, used = 0;
		err[0] = '\0';
		rc = httpresp_feed(&r, text + pos, n, &used, err, sizeof(err));
		if (used > n || (rc == HTTPRESP_MORE && used != n))
			abort();
		pos += used;
	}
	if (rc == HTTPRESP_MORE) {
		err[0] = '\0';
		rc = httpresp_eof(&r, err, sizeof(err));
	}
	if (rc == HTTPRESP_DONE) {
		if (r.status < 200 || r.status > 999 || r.body == NULL || r.body_len > LIMIT ||
		    r.body[r.body_len] != '\0')
			abort();
	} else if (rc != HTTPRESP_ERROR || err[0] == '\0') {
		abort();
	}
	httpresp_free(&r);
	return 0;
}
