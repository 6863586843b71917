/*
 * http_static.c - the browser screens: GET and HEAD of the files of ui/, which
 * ui/embed.py compiled into a table at build time (docs/ui.md).
 *
 * Owns: looking a request path up in that table by exact match (the raw path, so
 * "..", "%2e", "//", a NUL or a different case simply match nothing: 404 JSON),
 * the aliases of the index page ("/", "/ui", "/ui/"), and the caching headers:
 * a strong ETag per file, "Cache-Control: no-cache" (revalidate, so a new build
 * shows at once) and 304 for If-None-Match.
 * Never: touches the file system, PostgreSQL or an account (the pages hold no data;
 * everything they show comes from the API with the person's token), or serves a
 * content type other than the one the table fixed for the file.
 * Callers: daemon/http.c for every path outside /api/ and /open311/v2/.
 */
#include <event2/http.h>
#include <string.h>

#include "http_routes.h"
#include "ui_files.h"

#define STATIC_PATH_MAX 128 /* bytes of a path worth looking up */

static const struct ui_file *find(const char *path)
{
	if (strlen(path) > STATIC_PATH_MAX)
		return NULL;
	if (strcmp(path, "/") == 0 || strcmp(path, "/ui") == 0 || strcmp(path, "/ui/") == 0)
		path = "/ui/index.html";
	for (size_t i = 0; i < ui_file_count; i++)
		if (strcmp(ui_files[i].path, path) == 0)
			return &ui_files[i];
	return NULL;
}

/* True when an If-None-Match header lists etag (or is "*"). */
static bool not_modified(const char *if_none_match, const char *etag)
{
	if (!if_none_match)
		return false;
	if (strcmp(if_none_match, "*") == 0)
		return true;
	size_t len = strlen(etag);
	for (const char *p = strstr(if_none_match, etag); p; p = strstr(p + 1, etag)) {
		char after = p[len];
		if (after == '\0' || after == ',' || after == ' ')
			return true;
	}
	return false;
}

void http_static_serve(struct http_call *call)
{
	const struct ui_file *f = find(call->path);
	if (!f) {
		http_error(call, 404, "not_found", "no such page (the screens are under /ui/)");
		return;
	}
	if (call->method != EVHTTP_REQ_GET && call->method != EVHTTP_REQ_HEAD) {
		http_error(call, 405, "method_not_allowed", "a page takes GET or HEAD");
		return;
	}
	bool repeated;
	const char *if_none_match = http_header(call, "If-None-Match", &repeated);
	if (!repeated && not_modified(if_none_match, f->etag)) {
		http_reply_file(call, 304, f->content_type, f->etag, NULL, 0);
		return;
	}
	http_reply_file(call, 200, f->content_type, f->etag, f->data, f->len);
}
