/*
 * http_open311.c - Open311 GeoReport v2 under /open311/v2/ (docs/http-api.md "Open311").
 *
 * Owns: the five resources the spec defines without tokens: the services
 * ([service.CODE] of the config), a service's definition (no attributes: every
 * service has metadata false), a new request (POST, form-encoded, its api_key
 * naming an Open311 client: a [feed.CODE] with open311_key), the requests and one
 * request (GET, the tickets that came in through Open311 clients, built as the
 * spec's JSON by queries/open311_requests.sql).
 * A new request is an intake record of its client's feed and goes the way a feed's
 * record goes: the feed's max_rate and intake counters (server.c, the same as its
 * connections'), the same validation (lib/intake.c), the same group commit, routing
 * and durability (store_pg_submit), answered with its ticket number only after it
 * committed.
 * Never: shows a caller's phone or name (the API is public), or answers before the
 * commit. Callers: daemon/http.c by the route table (http_routes.c).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "form.h"
#include "http_routes.h"
#include "log.h"
#include "mask.h"
#include "open311.h"
#include "pgarray.h"
#include "queries.h"
#include "shown.h"
#include "server.h"
#include "store_pg.h"
#include "tally.h"

#define MAX_OPEN311_INFLIGHT 1024 /* Open311 requests waiting for their commit */

static size_t open311_inflight;

_Static_assert(OPEN311_REQUESTS_C_REQUESTS == 0 && OPEN311_REQUESTS_NCOLUMNS == 1,
	       "open311_requests.sql builds its answer in column 0");

/*
 * The query string as a form, decoded into a new buffer (*buf: the caller frees it;
 * q points into it). false after answering 400.
 */
static bool read_query(struct http_call *call, struct form *q, char **buf)
{
	const char *text = http_query_string(call);
	size_t len = strlen(text);
	char err[256];
	*buf = malloc(len + 1);
	if (!*buf) {
		http_error(call, 503, "unavailable", "out of memory");
		return false;
	}
	if (form_parse(text, len, *buf, len + 1, q, err, sizeof(err)) != 0) {
		free(*buf);
		*buf = NULL;
		http_error(call, 400, "invalid", "the query string: %s", err);
		return false;
	}
	return true;
}

/*
 * The spec's jurisdiction_id: optional while the endpoint serves one jurisdiction;
 * with [open311] jurisdiction_id set, another one is not found (404). false after
 * answering.
 */
static bool jurisdiction_ok(struct http_call *call, const char *given)
{
	const char *ours = call->cfg->open311_jurisdiction_id;
	if (!given || !given[0] || !ours[0] || strcmp(given, ours) == 0)
		return true;
	char shown[SHOWN_SIZE(64)];
	shown_escape(given, strlen(given), 64, shown, sizeof(shown));
	http_error(call, 404, "not_found", "jurisdiction_id '%s' was not found (this is %s)", shown,
		   ours);
	return false;
}

/* A query that takes no filter (services, a service, a request): false after answering. */
static bool plain_query(struct http_call *call)
{
	struct form q;
	char *buf, err[256];
	if (!read_query(call, &q, &buf))
		return false;
	bool ok = true;
	if (open311_plain_query(&q, err, sizeof(err)) != 0) {
		http_error(call, 400, "invalid", "%s", err);
		ok = false;
	} else {
		ok = jurisdiction_ok(call, form_get(&q, "jurisdiction_id"));
	}
	free(buf);
	return ok;
}

/* ---- GET services ------------------------------------------------------------- */

void http_open311_services(struct http_call *call)
{
	if (!plain_query(call))
		return;
	json_t *list = json_array();
	for (size_t i = 0; list && i < call->cfg->nservices; i++) {
		const struct service_config *svc = &call->cfg->services[i];
		json_t *one = json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:s}", "service_code", svc->code,
					"service_name", svc->name, "description", svc->description,
					"metadata", 0, "type", "realtime", "keywords",
					svc->keywords, "group", svc->group);
		if (!one || json_array_append_new(list, one) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	http_reply_open311(call, 200, list, OPEN311_DOC_SERVICES);
}

/* ---- GET services/{service_code} ---------------------------------------------- */

static void service_not_found(struct http_call *call, const char *code)
{
	char shown[SHOWN_SIZE(64)];
	shown_escape(code, strlen(code), 64, shown, sizeof(shown));
	http_error(call, 404, "not_found", "service_code '%s' was not found", shown);
}

void http_open311_service(struct http_call *call)
{
	if (!plain_query(call))
		return;
	const struct service_config *svc = config_find_service(call->cfg, call->segments[1]);
	if (!svc) {
		service_not_found(call, call->segments[1]);
		return;
	}
	/* metadata is false: nothing more to ask, so no attributes */
	http_reply_open311(call, 200,
			   json_pack("{s:s,s:[]}", "service_code", svc->code, "attributes"),
			   OPEN311_DOC_DEFINITION);
}

/* ---- POST requests -------------------------------------------------------------- */

/* What the answer needs once the record committed (the config may be reloaded meanwhile). */
struct post_state {
	char *notice; /* the service's service_notice; NULL: none */
	bool keyed;   /* sent with an Idempotency-Key: a duplicate is this request again */
};

static void post_state_free(void *arg)
{
	struct post_state *st = arg;
	free(st->notice);
	free(st);
}

/*
 * The client feed's intake counters (/metrics hotline_intake_*{feed}), the same rows
 * its connections would count in; NULL when none are kept. Valid until the next call.
 */
static struct feed_tally *client_tally(struct http_call *call, const char *feed_code)
{
	struct server *server = call->deps->server;
	return server ? tally_feed(server_tally(server), feed_code) : NULL;
}

/* A POST of the client refused by validation: counted as its feed's invalid record. */
static void count_invalid(struct http_call *call, const struct feed_config *client)
{
	struct feed_tally *t = client_tally(call, client->code);
	if (t)
		t->invalid++;
}

static void on_stored(struct store_intake *rec, const struct store_result *result)
{
	struct http_call *call = rec->owner;
	open311_inflight--;
	/* counted before http_step_end(), which may free a call answered meanwhile */
	struct feed_tally *t = client_tally(call, rec->feed_code);
	if (t && result->outcome == STORE_COMMITTED) {
		t->acked++;
		t->duplicates += result->duplicate;
	} else if (t) {
		t->failed++;
	}
	if (http_step_end(call)) {
		const struct post_state *st = call->state;
		/* A duplicate is the same request sent again with its Idempotency-Key:
		 * answered as the first was. Without a key it would be another request's
		 * id (64 random bits met twice): never answered as this one's. */
		if (result->outcome == STORE_COMMITTED && (!result->duplicate || st->keyed))
			http_reply_open311(call, 200,
					   json_pack("[{s:s,s:s?,s:n}]", "service_request_id",
						     result->ticket_no, "service_notice",
						     st->notice, "account_id"),
					   OPEN311_DOC_REQUESTS);
		else
			http_error(call, 503, "unavailable",
				   "the request could not be stored; try again later");
	}
	intake_free(rec->intake);
	free(rec);
}

/*
 * api_key or jurisdiction_id of a POST: the body's, or the query string's (some clients
 * send the key there). NULL when neither gives one; false after answering 400 when both
 * do and differ (a second value never silently wins).
 */
static bool post_param(struct http_call *call, const struct form *f, const struct form *q,
		       const char *name, const char **out)
{
	const char *in_body = form_get(f, name), *in_query = form_get(q, name);
	if (in_body && !in_body[0])
		in_body = NULL;
	if (in_query && !in_query[0])
		in_query = NULL;
	if (in_body && in_query && strcmp(in_body, in_query) != 0) {
		http_error(call, 400, "invalid", "%s is given twice, in the query and the body",
			   name);
		return false;
	}
	*out = in_body ? in_body : in_query;
	return true;
}

/*
 * Checks what the form f (and the query string q) say and submits the record; false
 * after answering. Done while the forms' buffers live (the record is a copy).
 */
static bool submit_request(struct http_call *call, const struct form *f, const struct form *q)
{
	const struct hotline_config *cfg = call->cfg;
	char err[512];
	const char *jurisdiction, *key;
	if (!post_param(call, f, q, "jurisdiction_id", &jurisdiction) ||
	    !jurisdiction_ok(call, jurisdiction) || !post_param(call, f, q, "api_key", &key))
		return false;
	/* The key first: a caller without one learns nothing else. */
	if (!key || !key[0]) {
		http_error(call, 403, "forbidden", "api_key is required to create a request");
		return false;
	}
	const struct feed_config *client = config_find_open311_client(cfg, key);
	if (!client) {
		http_error(call, 403, "forbidden",
			   "invalid api_key: it is not the key of any client here");
		return false;
	}
	/* the client's [feed.CODE] max_rate, as for a feed's connections */
	long burst;
	if (call->deps->server && !server_feed_within_rate(call->deps->server, client, &burst)) {
		http_error(call, 503, "unavailable",
			   "client %s is over its rate limit ([feed.%s] max_rate %ld requests/s, "
			   "burst %ld): not stored; try again later",
			   client->code, client->code, client->max_rate, burst);
		return false;
	}
	struct open311_post post;
	if (open311_post_parse(f, &post, err, sizeof(err)) != 0) {
		count_invalid(call, client);
		http_error(call, 400, "invalid", "%s", err);
		return false;
	}
	const struct service_config *svc = config_find_service(cfg, post.service_code);
	if (!svc) {
		count_invalid(call, client);
		service_not_found(call, post.service_code);
		return false;
	}
	if (open311_inflight >= MAX_OPEN311_INFLIGHT) {
		http_error(call, 503, "unavailable",
			   "too many requests are being stored; try again later");
		return false;
	}
	/* a retry with the same Idempotency-Key is the same request (open311.h) */
	bool repeated;
	const char *idempotency_key = http_header(call, "Idempotency-Key", &repeated);
	if (repeated) {
		count_invalid(call, client);
		http_error(call, 400, "invalid", "Idempotency-Key is given twice");
		return false;
	}
	unsigned char random[OPEN311_RANDOM_BYTES];
	randombytes_buf(random, sizeof(random));
	char external_id[OPEN311_EXTERNAL_ID_MAX + 1];
	if (open311_external_id(idempotency_key, random, external_id, sizeof(external_id), err,
				sizeof(err)) != 0) {
		count_invalid(call, client);
		http_error(call, 400, "invalid", "%s", err);
		return false;
	}
	struct intake *in = open311_intake(&post, external_id, svc->category, svc->name);
	struct store_intake *rec = in ? calloc(1, sizeof(*rec)) : NULL;
	struct post_state *st = rec ? calloc(1, sizeof(*st)) : NULL;
	if (st && svc->notice[0] && !(st->notice = strdup(svc->notice))) {
		free(st);
		st = NULL;
	}
	if (!st) {
		free(rec);
		intake_free(in);
		http_error(call, 503, "unavailable", "out of memory");
		return false;
	}
	st->keyed = idempotency_key != NULL;
	call->state = st;
	call->free_state = post_state_free;
	int64_t now = clock_now_ms();
	struct intake_limits limits;
	intake_limits_default(&limits);
	limits.max_content = (size_t)cfg->max_content;
	if (intake_validate(in, now, &limits, err, sizeof(err)) != 0) {
		open311_intake_reason(err, sizeof(err));
		free(rec);
		intake_free(in);
		count_invalid(call, client);
		http_error(call, 400, "invalid", "%s", err);
		return false;
	}
	in->received_at_ms = now;
	snprintf(rec->feed_code, sizeof(rec->feed_code), "%s", client->code);
	rec->intake = in;
	rec->done = on_stored;
	rec->owner = call;
	char masked[MASK_PHONE_SIZE];
	mask_phone(in->caller_phone, masked, sizeof(masked));
	log_debug("open311: client %s files %s (service %s, caller %s)", client->code, external_id,
		  svc->code, masked);
	struct feed_tally *t = client_tally(call, client->code);
	if (t)
		t->records++;
	open311_inflight++;
	http_step_begin(call);
	store_pg_submit(call->deps->store, rec);
	return true;
}

void http_open311_create(struct http_call *call)
{
	struct form f, q;
	char err[256], *query_buf;
	if (!read_query(call, &q, &query_buf))
		return;
	char *buf = malloc(call->body_len + 1);
	if (!buf)
		http_error(call, 503, "unavailable", "out of memory");
	else if (open311_plain_query(&q, err, sizeof(err)) != 0)
		http_error(call, 400, "invalid", "%s", err);
	else if (form_parse(call->body_raw, call->body_len, buf, call->body_len + 1, &f, err,
			    sizeof(err)) != 0)
		http_error(call, 400, "invalid", "the form: %s", err);
	else
		(void)submit_request(call, &f, &q);
	free(buf);
	free(query_buf);
}

/* ---- GET requests, GET requests/{id} ------------------------------------------ */

/* The statement's arrays: built together, freed together. */
struct request_arrays {
	struct pgarray clients, codes, names, categories, notices, ids, wanted;
};

static void arrays_free(struct request_arrays *a)
{
	pgarray_free(&a->clients);
	pgarray_free(&a->codes);
	pgarray_free(&a->names);
	pgarray_free(&a->categories);
	pgarray_free(&a->notices);
	pgarray_free(&a->ids);
	pgarray_free(&a->wanted);
}

static void add_text(struct pgarray *a, const char *s)
{
	pgarray_text(a, s, strlen(s));
}

static void on_requests(struct http_call *call, const PGresult *res, const char *error)
{
	if (error || PQntuples(res) != 1) {
		http_error(call, 503, "unavailable",
			   "the requests could not be read; try again later");
		return;
	}
	http_reply_open311_text(call, 200, PQgetvalue(res, 0, OPEN311_REQUESTS_C_REQUESTS),
				(size_t)PQgetlength(res, 0, OPEN311_REQUESTS_C_REQUESTS),
				OPEN311_DOC_REQUESTS);
}

static void on_request_one(struct http_call *call, const PGresult *res, const char *error)
{
	if (!error && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, OPEN311_REQUESTS_C_REQUESTS), "[]") == 0) {
		char shown[SHOWN_SIZE(OPEN311_ID_MAX)];
		shown_escape(call->segments[1], strlen(call->segments[1]), OPEN311_ID_MAX, shown,
			     sizeof(shown));
		http_error(call, 404, "not_found", "service_request_id '%s' was not found", shown);
		return;
	}
	on_requests(call, res, error);
}

/*
 * Runs open311_requests.sql for query (ids, or the window's filters; categories
 * already mapped from the service codes asked for: wanted, NULL for all).
 */
static void run_requests(struct http_call *call, const struct open311_query *query,
			 const struct pgarray *wanted, http_pg_fn cb)
{
	const struct hotline_config *cfg = call->cfg;
	struct request_arrays a = { 0 };
	pgarray_begin_text(&a.clients);
	for (size_t i = 0; i < cfg->nfeeds; i++)
		if (cfg->feeds[i].open311_key)
			add_text(&a.clients, cfg->feeds[i].code);
	pgarray_begin_text(&a.codes);
	pgarray_begin_text(&a.names);
	pgarray_begin_text(&a.categories);
	pgarray_begin_text(&a.notices);
	for (size_t i = 0; i < cfg->nservices; i++) {
		add_text(&a.codes, cfg->services[i].code);
		add_text(&a.names, cfg->services[i].name);
		add_text(&a.categories, cfg->services[i].category);
		add_text(&a.notices, cfg->services[i].notice);
	}
	pgarray_begin_text(&a.ids);
	for (size_t i = 0; i < query->nids; i++)
		pgarray_text(&a.ids, query->ids[i].s, query->ids[i].len);
	if (pgarray_end(&a.clients) != 0 || pgarray_end(&a.codes) != 0 ||
	    pgarray_end(&a.names) != 0 || pgarray_end(&a.categories) != 0 ||
	    pgarray_end(&a.notices) != 0 || pgarray_end(&a.ids) != 0) {
		arrays_free(&a);
		http_error(call, 503, "unavailable", "out of memory");
		return;
	}
	char start[24], end[24], limit[16], offset[16];
	snprintf(start, sizeof(start), "%lld", (long long)query->start_ms);
	snprintf(end, sizeof(end), "%lld", (long long)query->end_ms);
	snprintf(limit, sizeof(limit), "%d", OPEN311_MAX_REQUESTS);
	snprintf(offset, sizeof(offset), "%ld", cfg->utc_offset_minutes);
	const char *values[OPEN311_REQUESTS_NPARAMS] = {
		[OPEN311_REQUESTS_P_CLIENTS] = a.clients.data,
		[OPEN311_REQUESTS_P_SERVICE_CODES] = a.codes.data,
		[OPEN311_REQUESTS_P_SERVICE_NAMES] = a.names.data,
		[OPEN311_REQUESTS_P_SERVICE_CATEGORIES] = a.categories.data,
		[OPEN311_REQUESTS_P_SERVICE_NOTICES] = a.notices.data,
		[OPEN311_REQUESTS_P_IDS] = query->nids ? a.ids.data : NULL,
		[OPEN311_REQUESTS_P_CATEGORIES] = wanted ? wanted->data : NULL,
		[OPEN311_REQUESTS_P_START_MS] = start,
		[OPEN311_REQUESTS_P_END_MS] = end,
		[OPEN311_REQUESTS_P_WANT_OPEN] = query->open ? "true" : "false",
		[OPEN311_REQUESTS_P_WANT_CLOSED] = query->closed ? "true" : "false",
		[OPEN311_REQUESTS_P_LIMIT] = limit,
		[OPEN311_REQUESTS_P_UTC_OFFSET_MINUTES] = offset,
	};
	http_call_pg(call, QUERY_OPEN311_REQUESTS, values, cb);
	arrays_free(&a); /* the pool copied the values */
}

void http_open311_requests(struct http_call *call)
{
	struct form q;
	char *buf, err[512];
	if (!read_query(call, &q, &buf))
		return;
	struct open311_query *query = malloc(sizeof(*query));
	struct pgarray wanted = { 0 };
	bool ok = query != NULL;
	if (!ok)
		http_error(call, 503, "unavailable", "out of memory");
	else if (open311_query_parse(&q, clock_now_ms(), query, err, sizeof(err)) != 0) {
		http_error(call, 400, "invalid", "%s", err);
		ok = false;
	} else {
		ok = jurisdiction_ok(call, form_get(&q, "jurisdiction_id"));
	}
	/* the services asked for, as the categories their tickets are stored under */
	pgarray_begin_text(&wanted);
	for (size_t i = 0; ok && i < query->ncodes; i++) {
		char code[CODE_MAX + 1];
		snprintf(code, sizeof(code), "%.*s", (int)query->codes[i].len, query->codes[i].s);
		const struct service_config *svc = config_find_service(call->cfg, code);
		if (!svc) {
			service_not_found(call, code);
			ok = false;
		} else {
			add_text(&wanted, svc->category);
		}
	}
	if (ok && pgarray_end(&wanted) != 0) {
		http_error(call, 503, "unavailable", "out of memory");
		ok = false;
	}
	if (ok)
		run_requests(call, query, query->ncodes ? &wanted : NULL, on_requests);
	pgarray_free(&wanted);
	free(query);
	free(buf);
}

void http_open311_request(struct http_call *call)
{
	const char *id = call->segments[1];
	size_t len = strlen(id);
	if (!plain_query(call))
		return;
	if (len == 0 || len > OPEN311_ID_MAX) {
		http_error(call, 404, "not_found", "no such service_request_id");
		return;
	}
	struct open311_query query = { .nids = 1, .open = true, .closed = true };
	query.ids[0].s = id;
	query.ids[0].len = len;
	run_requests(call, &query, NULL, on_request_one);
}
