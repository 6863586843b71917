/*
 * agent_api.c - one call of the HTTP API for hotline-agent; see agent_api.h.
 */
#include "agent_api.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_http.h"
#include "cli_table.h"
#include "http_client.h"

#define PROG "hotline-agent"
#define MAX_TOKEN 1024 /* bytes of a token; hotlinectl's are about 50 */

static void out_of_memory(void) __attribute__((noreturn));

static void out_of_memory(void)
{
	fprintf(stderr, PROG ": out of memory\n");
	exit(AGENT_EXIT_FAILED);
}

/* ---- the token ------------------------------------------------------------- */

static int token_refused(const char *fmt, const char *what)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	return -1;
}

/* A token must fit in a header: printable ASCII without blanks. */
static bool token_ok(const char *token, size_t len)
{
	if (len == 0 || len > MAX_TOKEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (token[i] < 0x21 || token[i] > 0x7e)
			return false;
	return true;
}

/*
 * The token in path: a regular file of ours (or root's) that group and others
 * may not use at all, like ssh's private keys; one trailing line break is
 * dropped. Returns 0 with *out malloc'd, or -1 after saying why.
 */
static int read_token_file(const char *path, char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return token_refused("cannot open the token file: %s", strerror(errno));
	struct stat st;
	char buf[MAX_TOKEN + 3];
	ssize_t n = -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return token_refused("%s: the token file is not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		fprintf(stderr,
			PROG ": %s: mode %04o lets group or others use the token file: chmod 600 "
			     "%s\n",
			path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		close(fd);
		return token_refused("%s: the token file is owned by someone else", path);
	}
	size_t len = 0;
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n < 0)
		return token_refused("cannot read the token file: %s", strerror(errno));
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (!token_ok(buf, len))
		return token_refused("%s: the token file must hold one token (printable, no "
				     "blanks, at most 1024 bytes)",
				     path);
	*out = strndup(buf, len);
	if (*out == NULL)
		return token_refused("%s", "out of memory");
	return 0;
}

/* --token-file if given, else $HOTLINE_TOKEN; 0, or -1 after saying why. */
static int load_token(struct agent_session *s)
{
	if (s->token_file)
		return read_token_file(s->token_file, &s->token);
	const char *env = getenv(AGENT_TOKEN_ENV);
	if (env == NULL || env[0] == '\0')
		return token_refused("no token: set $%s or use --token-file FILE (hotlinectl user "
				     "add prints one)",
				     AGENT_TOKEN_ENV);
	if (!token_ok(env, strlen(env)))
		return token_refused("$%s must hold one token (printable, no blanks)",
				     AGENT_TOKEN_ENV);
	s->token = strdup(env);
	return s->token ? 0 : token_refused("%s", "out of memory");
}

/* ---- requests and answers --------------------------------------------------- */

void agent_print_json(const struct httpresp *r)
{
	const char *p = r->body, *end = r->body + r->body_len;
	while (p < end) {
		const char *stop = p;
		while (stop < end && *stop != '\n' && *stop != '\r')
			stop++;
		fwrite(p, 1, (size_t)(stop - p), stdout);
		p = stop < end ? stop + 1 : stop;
	}
	fputc('\n', stdout);
}

/* "hotline-agent: 404 not_found: no such ticket"; the exit status it means. */
static int api_error(const struct agent_answer *ans)
{
	json_t *err = json_object_get(ans->doc, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	const char *message = json_string_value(json_object_get(err, "message"));
	char *shown = cli_cell_text(code ? message : ans->resp.reason, 0);
	if (code) {
		char *code_shown = cli_cell_text(code, 0);
		fprintf(stderr, PROG ": %d %s: %s\n", ans->resp.status, code_shown, shown);
		free(code_shown);
	} else {
		fprintf(stderr, PROG ": %d %s (the answer holds no error document)\n",
			ans->resp.status, shown);
	}
	free(shown);
	return ans->resp.status == 409 ? AGENT_EXIT_CONFLICT : AGENT_EXIT_FAILED;
}

int agent_request(struct agent_session *s, const char *method, const char *target, json_t *body,
		  struct agent_answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	httpresp_init(&ans->resp, 0, false);
	if (s->token == NULL && load_token(s) != 0) {
		json_decref(body);
		return AGENT_EXIT_USAGE;
	}
	char *payload = NULL;
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (payload == NULL) {
			fprintf(stderr, PROG ": out of memory\n");
			return AGENT_EXIT_FAILED;
		}
	}
	struct http_client_request rq = {
		.host = s->host,
		.port = s->port,
		.method = method,
		.target = target,
		.bearer = s->token,
		.body = payload,
		.body_len = payload ? strlen(payload) : 0,
		.timeout_ms = s->timeout_ms,
		.max_body = HTTP_CLIENT_MAX_BODY,
	};
	char err[512];
	int rc = http_client_send(&rq, &ans->resp, err, sizeof(err));
	free(payload);
	if (rc != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return AGENT_EXIT_FAILED;
	}
	if (ans->resp.status == 204)
		return 0;
	json_error_t jerr;
	ans->doc = json_loadb(ans->resp.body, ans->resp.body_len, 0, &jerr);
	if (ans->resp.status < 200 || ans->resp.status > 299)
		return api_error(ans);
	if (!json_is_object(ans->doc)) {
		fprintf(stderr, PROG ": %d: the answer is not a JSON object%s%s\n",
			ans->resp.status, ans->doc ? "" : ": ", ans->doc ? "" : jerr.text);
		return AGENT_EXIT_FAILED;
	}
	return 0;
}

void agent_answer_free(struct agent_answer *ans)
{
	json_decref(ans->doc);
	httpresp_free(&ans->resp);
}

char *agent_path(const char *const *parts, size_t n)
{
	size_t len = strlen("/api/v1/") + 1;
	char *escaped[8] = { 0 };
	for (size_t i = 0; i < n && i < 8; i++) {
		escaped[i] = i % 2 ? http_client_escape(parts[i]) : strdup(parts[i]);
		if (escaped[i] == NULL)
			out_of_memory();
		len += strlen(escaped[i]);
	}
	char *path = malloc(len);
	if (path == NULL)
		out_of_memory();
	strcpy(path, "/api/v1/");
	for (size_t i = 0; i < n && i < 8; i++) {
		strcat(path, escaped[i]);
		free(escaped[i]);
	}
	return path;
}

/* path (consumed) with "?name=value&..." for the pairs whose value is not NULL. */
static char *with_query(char *path, const char *const *pairs)
{
	size_t len = strlen(path) + 1;
	char *values[8] = { 0 };
	for (int i = 0; pairs[i] && i < 16; i += 2) {
		if (pairs[i + 1] == NULL)
			continue;
		values[i / 2] = http_client_escape(pairs[i + 1]);
		if (values[i / 2] == NULL)
			out_of_memory();
		len += strlen(pairs[i]) + strlen(values[i / 2]) + 2;
	}
	char *out = malloc(len), sep = '?';
	if (out == NULL)
		out_of_memory();
	strcpy(out, path);
	for (int i = 0; pairs[i] && i < 16; i += 2) {
		if (values[i / 2] == NULL)
			continue;
		size_t at = strlen(out);
		sprintf(out + at, "%c%s=%s", sep, pairs[i], values[i / 2]);
		sep = '&';
		free(values[i / 2]);
	}
	free(path);
	return out;
}

int agent_call(struct agent_session *s, const char *method, char *path, const char *const *query,
	       json_t *body, void (*print)(FILE *out, json_t *doc))
{
	char *target = query ? with_query(path, query) : path;
	struct agent_answer ans;
	int rc = agent_request(s, method, target, body, &ans);
	free(target);
	if (rc == 0 && ans.doc == NULL) {
		fprintf(stderr, PROG ": %d: the answer has no document\n", ans.resp.status);
		rc = AGENT_EXIT_FAILED;
	} else if (rc == 0 && s->json) {
		agent_print_json(&ans.resp);
	} else if (rc == 0) {
		print(stdout, ans.doc);
	}
	agent_answer_free(&ans);
	return rc;
}
