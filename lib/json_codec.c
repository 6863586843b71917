/*
 * json_codec.c - the JSON-lines protocol for feeds that cannot speak protobuf.
 *
 * Owns: parsing a hello line and an intake line (strictly: no duplicate keys,
 * no unknown keys, no wrong types), and formatting the server's reply lines.
 * An intake line becomes a Hotline__V1__Intake on the stack and goes through
 * intake_from_pb(), so both wire formats share one path into the daemon.
 * Never: validates an intake record (the daemon calls intake_validate() for
 * both formats alike), does I/O, or keeps jansson objects past a call.
 * Callers: daemon JSON listener, tools/hotline-loadgen, tests, fuzzers.
 */
#include "json_codec.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "hotline.pb-c.h"
#include "shown.h"
#include "utf8.h"

#define JSON_HELLO_MAX_ID (sizeof(((struct hello_msg *)0)->id) - 1)
#define JSON_HELLO_MAX_TOKEN (sizeof(((struct hello_msg *)0)->token) - 1)
/* How much of an unknown key an error shows (escaped, then "..."). */
#define JSON_KEY_SHOWN_MAX 64

/*
 * Parses line into an object. Returns the new root (caller decrefs) or NULL
 * with a reason in err. *duplicate_key is 1 when a repeated key was the
 * reason, 2 when that key was (or may have been) external_id, 0 otherwise. \u0000 is refused by
 * jansson unless asked for, which keeps every string a proper C string.
 */
static json_t *json_load_object(const char *line, size_t len, int *duplicate_key, char *err,
				size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	*duplicate_key = 0;
	if (line == NULL) {
		errbuf_fail(err, errlen, "not JSON: empty line");
		return NULL;
	}
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		if (json_error_code(&jerr) == json_error_duplicate_key)
			*duplicate_key = strstr(jerr.text, "external_id") != NULL ? 2 : 1;
		errbuf_fail(err, errlen, "not JSON: %s at column %d", jerr.text, jerr.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		errbuf_fail(err, errlen, "line is not a JSON object");
		return NULL;
	}
	return root;
}

/*
 * True when the key key[0..key_len) is name. Keys are compared by their
 * length from jansson, never by strlen: jansson refuses "\u0000" in keys
 * today, but a key is the peer's bytes all the same.
 */
static bool json_key_is(const char *key, size_t key_len, const char *name)
{
	return key_len == strlen(name) && memcmp(key, name, key_len) == 0;
}

/* Refuses an unknown key, naming it escaped and cut (lib/shown.c). */
static int json_fail_unknown_key(char *err, size_t errlen, const char *key, size_t key_len,
				 const char *where)
{
	char shown[SHOWN_SIZE(JSON_KEY_SHOWN_MAX)];

	shown_escape(key, key_len, JSON_KEY_SHOWN_MAX, shown, sizeof(shown));
	return errbuf_fail(err, errlen, "unknown key '%s' in %s", shown, where);
}

/* --- hello ------------------------------------------------------------- */

static int json_role_parse(const char *name)
{
	if (strcmp(name, "feed") == 0)
		return HOTLINE__V1__ROLE__ROLE_FEED;
	if (strcmp(name, "department") == 0)
		return HOTLINE__V1__ROLE__ROLE_DEPARTMENT;
	if (strcmp(name, "agent") == 0)
		return HOTLINE__V1__ROLE__ROLE_AGENT;
	return -1;
}

static int json_hello_fields(json_t *root, struct hello_msg *out, char *err, size_t errlen)
{
	const char *key;
	size_t key_len;
	json_t *value;
	int seen_role = 0, seen_id = 0, seen_token = 0, seen_version = 0;

	json_object_keylen_foreach(root, key, key_len, value)
	{
		if (json_key_is(key, key_len, "role")) {
			if (!json_is_string(value))
				return errbuf_fail(err, errlen, "role must be a string");
			out->role = json_role_parse(json_string_value(value));
			if (out->role < 0)
				return errbuf_fail(err, errlen,
						   "role must be feed, department or agent");
			seen_role = 1;
		} else if (json_key_is(key, key_len, "id")) {
			if (!json_is_string(value))
				return errbuf_fail(err, errlen, "id must be a string");
			if (json_string_length(value) == 0)
				return errbuf_fail(err, errlen, "id is empty");
			if (json_string_length(value) > JSON_HELLO_MAX_ID)
				return errbuf_fail(err, errlen, "id is longer than %zu bytes",
						   JSON_HELLO_MAX_ID);
			memcpy(out->id, json_string_value(value), json_string_length(value) + 1);
			seen_id = 1;
		} else if (json_key_is(key, key_len, "token")) {
			if (!json_is_string(value))
				return errbuf_fail(err, errlen, "token must be a string");
			if (json_string_length(value) > JSON_HELLO_MAX_TOKEN)
				return errbuf_fail(err, errlen, "token is longer than %zu bytes",
						   JSON_HELLO_MAX_TOKEN);
			memcpy(out->token, json_string_value(value), json_string_length(value) + 1);
			seen_token = 1;
		} else if (json_key_is(key, key_len, "version")) {
			if (!json_is_integer(value) || json_integer_value(value) < 0 ||
			    json_integer_value(value) > UINT32_MAX)
				return errbuf_fail(err, errlen,
						   "version must be a non-negative integer");
			out->version = (uint32_t)json_integer_value(value);
			seen_version = 1;
		} else {
			return json_fail_unknown_key(err, errlen, key, key_len, "hello");
		}
	}
	if (!seen_role)
		return errbuf_fail(err, errlen, "role is required");
	if (!seen_id)
		return errbuf_fail(err, errlen, "id is required");
	if (!seen_token)
		return errbuf_fail(err, errlen, "token is required");
	if (!seen_version)
		return errbuf_fail(err, errlen, "version is required");
	return 0;
}

int json_parse_hello(const char *line, size_t len, struct hello_msg *out, char *err, size_t errlen)
{
	json_t *root;
	int rc, duplicate_key;

	memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	root = json_load_object(line, len, &duplicate_key, err, errlen);
	if (root == NULL)
		return -1;
	rc = json_hello_fields(root, out, err, errlen);
	json_decref(root);
	if (rc != 0)
		memset(out, 0, sizeof(*out)); /* no half-filled hello, and no token left behind */
	return rc;
}

/* --- intake ------------------------------------------------------------ */

enum json_kind { KIND_STRING, KIND_INT64, KIND_DOUBLE, KIND_PRIORITY, KIND_BOOL };

/* The keys of an intake line: the protobuf Intake's field names, nothing else. */
static const struct json_intake_key {
	const char *name;
	enum json_kind kind;
	size_t offset; /* into Hotline__V1__Intake */
} json_intake_keys[] = {
	{ "external_id", KIND_STRING, offsetof(Hotline__V1__Intake, external_id) },
	{ "received_at", KIND_INT64, offsetof(Hotline__V1__Intake, received_at) },
	{ "channel", KIND_STRING, offsetof(Hotline__V1__Intake, channel) },
	{ "caller_phone", KIND_STRING, offsetof(Hotline__V1__Intake, caller_phone) },
	{ "caller_name", KIND_STRING, offsetof(Hotline__V1__Intake, caller_name) },
	{ "category", KIND_STRING, offsetof(Hotline__V1__Intake, category) },
	{ "content", KIND_STRING, offsetof(Hotline__V1__Intake, content) },
	{ "district", KIND_STRING, offsetof(Hotline__V1__Intake, district) },
	{ "address", KIND_STRING, offsetof(Hotline__V1__Intake, address) },
	{ "lat", KIND_DOUBLE, offsetof(Hotline__V1__Intake, lat) },
	{ "lon", KIND_DOUBLE, offsetof(Hotline__V1__Intake, lon) },
	{ "priority", KIND_PRIORITY, offsetof(Hotline__V1__Intake, priority) },
	{ "origin_number", KIND_STRING, offsetof(Hotline__V1__Intake, origin_number) },
	{ "resolved_on_call", KIND_BOOL, offsetof(Hotline__V1__Intake, resolved_on_call) },
	{ "answer", KIND_STRING, offsetof(Hotline__V1__Intake, answer) },
};

static const struct json_intake_key *json_intake_key_find(const char *key, size_t key_len)
{
	for (size_t i = 0; i < sizeof(json_intake_keys) / sizeof(json_intake_keys[0]); i++) {
		if (json_key_is(key, key_len, json_intake_keys[i].name))
			return &json_intake_keys[i];
	}
	return NULL;
}

static int json_priority_value(json_t *value, Hotline__V1__Priority *out)
{
	if (json_is_integer(value)) {
		json_int_t n = json_integer_value(value);

		/* Range only; which values are known is intake_validate()'s call. */
		if (n < INT_MIN || n > INT_MAX)
			return -1;
		*out = (Hotline__V1__Priority)n;
		return 0;
	}
	if (json_is_string(value)) {
		const char *s = json_string_value(value);

		if (strcmp(s, "normal") == 0)
			*out = HOTLINE__V1__PRIORITY__PRIORITY_NORMAL;
		else if (strcmp(s, "urgent") == 0)
			*out = HOTLINE__V1__PRIORITY__PRIORITY_URGENT;
		else if (strcmp(s, "critical") == 0)
			*out = HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL;
		else
			return -1;
		return 0;
	}
	return -1;
}

/*
 * Copies one key's value into pb. Strings are borrowed from the jansson tree
 * (alive until the root is released, after intake_from_pb() copied them).
 * null means "not given", like an absent key.
 */
static int json_intake_set(Hotline__V1__Intake *pb, const char *key, size_t key_len, json_t *value,
			   char *err, size_t errlen)
{
	const struct json_intake_key *k = json_intake_key_find(key, key_len);
	char *field;

	if (k == NULL)
		return json_fail_unknown_key(err, errlen, key, key_len,
					     "intake (see hotline.v1.Intake)");
	if (json_is_null(value))
		return 0;
	field = (char *)pb + k->offset;
	switch (k->kind) {
	case KIND_STRING:
		if (!json_is_string(value))
			return errbuf_fail(err, errlen, "%s must be a string", k->name);
		*(const char **)(void *)field = json_string_value(value);
		return 0;
	case KIND_INT64:
		if (!json_is_integer(value))
			return errbuf_fail(err, errlen, "%s must be an integer (unix ms)", k->name);
		*(int64_t *)(void *)field = (int64_t)json_integer_value(value);
		return 0;
	case KIND_DOUBLE:
		if (!json_is_number(value))
			return errbuf_fail(err, errlen, "%s must be a number", k->name);
		*(double *)(void *)field = json_number_value(value);
		return 0;
	case KIND_PRIORITY:
		if (json_priority_value(value, (Hotline__V1__Priority *)(void *)field) != 0)
			return errbuf_fail(err, errlen,
					   "%s must be normal, urgent, critical or an integer",
					   k->name);
		return 0;
	case KIND_BOOL:
		if (!json_is_boolean(value))
			return errbuf_fail(err, errlen, "%s must be true or false", k->name);
		*(protobuf_c_boolean *)(void *)field = json_is_true(value);
		return 0;
	}
	return errbuf_fail(err, errlen, "%s: unsupported type", k->name);
}

/* Copies root's external_id to out when it is a string of usable length. */
static void json_copy_external_id(json_t *root, char *out)
{
	json_t *value = json_object_get(root, "external_id");

	if (out != NULL && json_is_string(value) && json_string_length(value) >= 1 &&
	    json_string_length(value) <= INTAKE_MAX_EXTERNAL_ID)
		memcpy(out, json_string_value(value), json_string_length(value) + 1);
}

/*
 * A line refused for a repeated key is otherwise well-formed, so its
 * external_id can still name it in the error reply, unless external_id is
 * (or may be) the repeated key: then which one is meant is unknown. The line
 * is parsed a second time only on this error path.
 */
static void json_name_refused_record(const char *line, size_t len, char *external_id_out)
{
	json_error_t jerr;
	json_t *root;

	if (external_id_out == NULL)
		return;
	root = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
	if (root == NULL)
		return;
	if (json_is_object(root))
		json_copy_external_id(root, external_id_out);
	json_decref(root);
}

int json_parse_intake(const char *line, size_t len, struct intake **out, char *external_id_out,
		      char *err, size_t errlen)
{
	Hotline__V1__Intake pb = HOTLINE__V1__INTAKE__INIT;
	const char *key;
	size_t key_len;
	json_t *root, *value;
	int rc = 0, duplicate_key;

	*out = NULL;
	if (external_id_out != NULL)
		external_id_out[0] = '\0';
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	root = json_load_object(line, len, &duplicate_key, err, errlen);
	if (root == NULL) {
		if (duplicate_key == 1)
			json_name_refused_record(line, len, external_id_out);
		return -1;
	}

	/* First, so that any later refusal can still name the record. */
	json_copy_external_id(root, external_id_out);

	json_object_keylen_foreach(root, key, key_len, value)
	{
		rc = json_intake_set(&pb, key, key_len, value, err, errlen);
		if (rc != 0)
			break;
	}
	if (rc == 0) {
		*out = intake_from_pb(&pb);
		if (*out == NULL)
			rc = errbuf_fail(err, errlen, "out of memory");
	}
	json_decref(root);
	return rc;
}

/* --- reply lines ------------------------------------------------------- */

/*
 * A JSON string from C text that may not be valid UTF-8 (a server name from
 * config, a message quoting a peer): bad bytes become U+FFFD (utf8_repaired)
 * instead of making the whole line fail. NULL becomes "". Returns a new
 * reference or NULL.
 */
static json_t *json_text(const char *s)
{
	size_t len, clean_len;
	char *clean;
	json_t *str;

	if (s == NULL)
		s = "";
	len = strlen(s);
	if (utf8_valid(s, len))
		return json_stringn(s, len);
	clean = utf8_repaired(s, len, &clean_len);
	if (clean == NULL)
		return NULL;
	str = json_stringn(clean, clean_len);
	free(clean);
	return str;
}

/* Serialises root compactly, appends '\n', releases root. Caller frees the result. */
static char *json_line(json_t *root, size_t *out_len)
{
	size_t size;
	char *buf;

	*out_len = 0;
	if (root == NULL)
		return NULL;
	size = json_dumpb(root, NULL, 0, JSON_COMPACT);
	buf = size > 0 ? malloc(size + 2) : NULL;
	if (buf != NULL && json_dumpb(root, buf, size, JSON_COMPACT) != size) {
		free(buf);
		buf = NULL;
	}
	json_decref(root);
	if (buf == NULL)
		return NULL;
	buf[size] = '\n';
	buf[size + 1] = '\0';
	*out_len = size + 1;
	return buf;
}

char *json_format_welcome(uint32_t version, const char *server, uint32_t max_line, uint32_t window,
			  size_t *out_len)
{
	return json_line(json_pack("{s:s, s:I, s:o, s:I, s:I}", "type", "welcome", "version",
				   (json_int_t)version, "server", json_text(server), "max_line",
				   (json_int_t)max_line, "window", (json_int_t)window),
			 out_len);
}

char *json_format_ack(const char *external_id, const char *ticket_no, bool duplicate,
		      size_t *out_len)
{
	return json_line(json_pack("{s:s, s:o, s:o, s:b}", "type", "ack", "external_id",
				   json_text(external_id), "ticket_no", json_text(ticket_no),
				   "duplicate", duplicate ? 1 : 0),
			 out_len);
}

char *json_format_error(int code, const char *message, const char *external_id, size_t *out_len)
{
	return json_line(json_pack("{s:s, s:s, s:o, s:o}", "type", "error", "code",
				   json_error_code_name(code), "message", json_text(message),
				   "external_id", json_text(external_id)),
			 out_len);
}

char *json_format_update(uint64_t update_id, const char *external_id, const char *ticket_no,
			 const char *state, const char *reply, int64_t at_ms, size_t *out_len)
{
	return json_line(json_pack("{s:s, s:I, s:o, s:o, s:s, s:o, s:I}", "type", "update",
				   "update_id", (json_int_t)update_id, "external_id",
				   json_text(external_id), "ticket_no", json_text(ticket_no),
				   "state", state, "reply", json_text(reply), "at",
				   (json_int_t)at_ms),
			 out_len);
}

int json_parse_ack_update(const char *line, size_t len, uint64_t *update_id, char *err,
			  size_t errlen)
{
	/* Cheap test first: intake lines are far more common than acks. */
	if (!memmem(line, len, "\"ack_update\"", 12))
		return 0;
	json_error_t jerr;
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return 0; /* not an acknowledgement: the intake parser reports it */
	}
	json_t *id = json_object_get(root, "ack_update");
	int rc;
	if (!id) {
		rc = 0;
	} else if (json_object_size(root) != 1 || !json_is_integer(id) ||
		   json_integer_value(id) <= 0) {
		snprintf(err, errlen, "ack_update must be the only key, a positive integer");
		rc = -1;
	} else {
		*update_id = (uint64_t)json_integer_value(id);
		rc = 1;
	}
	json_decref(root);
	return rc;
}

const char *json_error_code_name(int code)
{
	switch (code) {
	case HOTLINE__V1__ERROR_CODE__ERROR_BAD_FRAME:
		return "bad_frame";
	case HOTLINE__V1__ERROR_CODE__ERROR_FRAME_TOO_LARGE:
		return "frame_too_large";
	case HOTLINE__V1__ERROR_CODE__ERROR_AUTH:
		return "auth";
	case HOTLINE__V1__ERROR_CODE__ERROR_PROTOCOL:
		return "protocol";
	case HOTLINE__V1__ERROR_CODE__ERROR_INVALID:
		return "invalid";
	case HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE:
		return "unavailable";
	case HOTLINE__V1__ERROR_CODE__ERROR_NOT_FOUND:
		return "not_found";
	case HOTLINE__V1__ERROR_CODE__ERROR_STATE:
		return "state";
	case HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL:
		return "internal";
	default:
		return "unspecified";
	}
}
