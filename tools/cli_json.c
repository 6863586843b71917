/*
 * cli_json.c - the JSON-lines stdout of the reference clients; see cli_json.h.
 */
#include "cli_json.h"

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

/* Bytes of the UTF-8 sequence lead byte c announces (1 for anything invalid). */
static size_t utf8_seq_len(unsigned char c)
{
	if (c < 0xc2 || c > 0xf4)
		return 1;
	return c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

void cli_set_str(json_t *obj, const char *key, const char *value)
{
	if (value == NULL)
		value = "";
	size_t len = strlen(value);
	if (utf8_valid(value, len)) {
		json_object_set_new(obj, key, json_stringn(value, len));
		return;
	}
	char *clean = malloc(len * 3 + 1);
	if (clean == NULL)
		fatal("out of memory");
	size_t out = 0;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len((unsigned char)value[i]);
		if (i + n <= len && utf8_valid(value + i, n)) {
			memcpy(clean + out, value + i, n);
			out += n;
			i += n;
		} else {
			memcpy(clean + out, "\xef\xbf\xbd", 3);
			out += 3;
			i++;
		}
	}
	json_object_set_new(obj, key, json_stringn(clean, out));
	free(clean);
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
