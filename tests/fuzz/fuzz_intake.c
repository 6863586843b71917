/*
 * fuzz_intake.c - libFuzzer target for lib/intake.c on the binary path.
 *
 * Owns: unpacking arbitrary bytes as a protobuf Intake, building the record
 * with intake_from_pb() and validating it, and masking its phone number.
 * Never: does I/O or reads the clock ("now" is fixed). Run as in README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "mask.h"
#include "utf8.h"

#define FUZZ_NOW_MS INT64_C(1795000000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Hotline__V1__Intake *pb;
	struct intake *in;
	struct intake_limits lim;
	char err[256], masked[MASK_PHONE_SIZE];

	pb = hotline__v1__intake__unpack(NULL, size, data);
	if (pb == NULL)
		return 0;
	in = intake_from_pb(pb);
	if (in == NULL)
		abort(); /* only allocation failure may do this */
	if (strcmp(in->content, pb->content) != 0 || strcmp(in->answer, pb->answer) != 0)
		abort();
	intake_limits_default(&lim);
	if (intake_validate(in, FUZZ_NOW_MS, &lim, err, sizeof(err)) == 0) {
		if (in->external_id[0] == '\0' ||
		    strlen(in->external_id) > INTAKE_MAX_EXTERNAL_ID ||
		    !utf8_valid(in->caller_name, strlen(in->caller_name)) ||
		    !(in->lat >= -90.0 && in->lat <= 90.0))
			abort();
	} else if (err[0] == '\0') {
		abort(); /* a refusal always has a reason */
	}
	mask_phone(in->caller_phone, masked, sizeof(masked));
	if (strlen(masked) >= sizeof(masked))
		abort();
	intake_free(in);
	hotline__v1__intake__free_unpacked(pb, NULL);
	return 0;
}
