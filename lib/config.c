/*
 * config.c - the option table and the loader behind config.h.
 *
 * Every option lives in one row of `options` below: adding an option means
 * adding a row (and a struct field), and tests/unit/test_config.c fails until
 * README.md documents it. The INI syntax is lib/ini.c's; here: which sections
 * and keys exist, that none is given twice, values, cross-option rules, that no
 * secret serves twice, and the mode of a file holding secrets. Never: reads
 * anything but the file it is given and, through lib/zoneinfo.c, the zone file
 * [postgres] timezone names.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "code.h"
#include "ini.h"
#include "log.h"
#include "redis_ha.h"
#include "utf8.h"
#include "zoneinfo.h"

#define OPT_S(sec, nm, field, def, reload, doc_)                                                   \
	{                                                                                          \
		sec, nm, CONFIG_STRING, def, reload, 0, 0, offsetof(struct hotline_config, field), \
			doc_                                                                       \
	}
#define OPT_I(sec, nm, field, def, reload, lo, hi, doc_)                                          \
	{                                                                                         \
		sec, nm, CONFIG_INT, def, reload, lo, hi, offsetof(struct hotline_config, field), \
			doc_                                                                      \
	}

static const struct config_option options[] = {
	OPT_S("hotlined", "listen_binary", listen_binary, "127.0.0.1:12345", false,
	      "host:port of the binary (protobuf) listener; empty disables it"),
	OPT_S("hotlined", "listen_json", listen_json, "127.0.0.1:12347", false,
	      "host:port of the JSON-lines listener; empty disables it"),
	OPT_I("hotlined", "max_frame", max_frame, "65536", true, 256, 16 * 1024 * 1024,
	      "largest binary frame accepted, bytes; larger ones close the connection"),
	OPT_I("hotlined", "max_line", max_line, "65536", true, 256, 16 * 1024 * 1024,
	      "largest JSON line accepted, bytes; longer ones close the connection"),
	OPT_I("hotlined", "max_connections", max_connections, "4096", false, 1, 1000000,
	      "most client connections open at once; further ones are refused"),
	OPT_I("hotlined", "max_inflight", max_inflight, "20000", true, 1, 10000000,
	      "records read but not yet acknowledged, in all; at the limit reading stops"),
	OPT_I("hotlined", "max_conn_inflight", max_conn_inflight, "2000", true, 1, 1000000,
	      "records read but not yet acknowledged, per connection"),
	OPT_I("hotlined", "max_content", max_content, "8192", true, 16, 1024 * 1024,
	      "largest content field accepted, bytes"),
	OPT_I("hotlined", "hello_timeout_ms", hello_timeout_ms, "10000", true, 100, 3600000,
	      "a connection that has not said Hello by then is closed"),
	OPT_I("hotlined", "max_unauthenticated", max_unauthenticated, "256", true, 1, 1000000,
	      "connections that have not finished their Hello, in all; a newer one evicts the "
	      "oldest such connection"),
	OPT_I("hotlined", "max_unauthenticated_per_address", max_unauthenticated_per_address, "16",
	      true, 1, 1000000,
	      "connections that have not finished their Hello, per source address; more from "
	      "one address are refused"),
	OPT_I("hotlined", "max_connections_per_id", max_connections_per_id, "64", true, 1, 1000000,
	      "connections one feed or one department may hold on this daemon; a Hello past "
	      "it is refused"),
	OPT_I("hotlined", "shutdown_timeout_ms", shutdown_timeout_ms, "30000", true, 0, 3600000,
	      "on SIGTERM, how long to wait for in-flight records to commit"),
	OPT_S("hotlined", "log_level", log_level, "info", true, "debug, info, warn or error"),
	OPT_S("postgres", "conninfo", pg_conninfo, "dbname=hotline", false,
	      "libpq connection string (keepalives are added unless given)"),
	OPT_I("postgres", "connections", pg_connections, "2", false, 1, 64,
	      "PostgreSQL connections for group commit, each with one transaction in flight"),
	OPT_I("postgres", "batch_max", pg_batch_max, "3000", true, 1, 100000,
	      "most records committed in one transaction"),
	OPT_S("postgres", "work_mem", pg_work_mem, "64MB", false,
	      "work_mem of hotlined's own sessions: a batch's sorts must not spill to disk"),
	OPT_I("postgres", "reconnect_min_ms", pg_reconnect_min_ms, "100", true, 10, 600000,
	      "first reconnect delay after PostgreSQL is lost; doubles per failure"),
	OPT_I("postgres", "reconnect_max_ms", pg_reconnect_max_ms, "5000", true, 10, 600000,
	      "longest reconnect delay"),
	OPT_I("postgres", "query_timeout_ms", pg_query_timeout_ms, "30000", true, 100, 3600000,
	      "a transaction unanswered this long drops the connection; its records are retried"),
	OPT_S("postgres", "timezone", pg_timezone, "Asia/Shanghai", false,
	      "time zone whose date starts each ticket number"),
	OPT_S("redis", "address", redis_address, "127.0.0.1:6379", false,
	      "host:port, or a Unix socket path starting with /"),
	OPT_S("redis", "username", redis_username, "", false,
	      "ACL user to AUTH as (Redis 6+); empty: the default user"),
	OPT_S("redis", "password", redis_password, "", false,
	      "password sent with AUTH on every connection; empty: no AUTH"),
	OPT_S("redis", "sentinels", redis_sentinels, "", false,
	      "host:port,host:port,... of Redis Sentinels to ask for the primary's address "
	      "(instead of address); empty: no Sentinel"),
	OPT_S("redis", "master_name", redis_master_name, "", false,
	      "with sentinels: the name the sentinels monitor the primary under"),
	OPT_S("redis", "sentinel_username", redis_sentinel_username, "", false,
	      "ACL user to AUTH to the sentinels as; empty: their default user"),
	OPT_S("redis", "sentinel_password", redis_sentinel_password, "", false,
	      "password sent with AUTH to the sentinels; empty: no AUTH"),
	OPT_I("redis", "check_interval_ms", redis_check_interval_ms, "1000", true, 50, 600000,
	      "how often Redis is checked for lost data and a rule set announced without us"),
	OPT_I("routing", "max_returns", max_returns, "3", true, 1, 100,
	      "the return that brings a ticket's returns to this escalates it instead"),
	OPT_I("routing", "relay_batch", relay_batch, "500", true, 1, 100000,
	      "most tickets published to Redis in one round"),
	OPT_I("routing", "relay_interval_ms", relay_interval_ms, "1000", true, 10, 600000,
	      "how often the outbox is swept for rows nobody published yet"),
	OPT_I("routing", "dept_window", dept_window, "100", true, 1, 100000,
	      "tickets a department connection may hold unacknowledged"),
	OPT_I("routing", "redeliver_after_ms", redeliver_after_ms, "30000", true, 100, 86400000,
	      "a ticket unacknowledged this long is delivered to another connection"),
	OPT_I("routing", "update_window", update_window, "100", true, 1, 100000,
	      "TicketUpdates a feed connection may hold unacknowledged"),
	OPT_I("routing", "update_poll_ms", update_poll_ms, "1000", true, 50, 600000,
	      "how often feed connections look for TicketUpdates other daemons wrote"),
	OPT_I("routing", "extend_max_days", extend_max_days, "365", true, 1, 3650,
	      "a department's extend may set a deadline at most this many days after the "
	      "action; later, or not after now, is refused"),
	OPT_S("agents", "token", agents_token, "", true,
	      "shared secret of agent terminals (role AGENT); empty refuses agents"),
	OPT_S("agents", "feed", agents_feed, "agents", true,
	      "the feed agents' Intake records are stored under (a [feed.CODE] section)"),
	OPT_I("callbacks", "max_attempts", callback_max_attempts, "3", true, 1, 20,
	      "unreachable callbacks before a ticket is closed unrated"),
	OPT_I("callbacks", "claim_timeout_ms", callback_claim_timeout_ms, "600000", true, 1000,
	      86400000, "a claimed callback not finished this long returns to the queue"),
	OPT_S("http", "listen", http_listen, "127.0.0.1:12346", false,
	      "host:port of the agents' and supervisors' HTTP JSON API; empty = none"),
	OPT_S("http", "ops_listen", http_ops_listen, "127.0.0.1:12348", false,
	      "host:port of /metrics, /healthz and /readyz, served without a token; empty = none"),
	OPT_I("http", "max_body", http_max_body, "65536", false, 1024, 16777216,
	      "bytes of a request body; longer ones get 413"),
	OPT_I("http", "max_headers", http_max_headers, "8192", false, 1024, 1048576,
	      "bytes of a request's line and headers together; more gets 400"),
	OPT_I("http", "request_timeout_ms", http_request_timeout_ms, "10000", false, 100, 600000,
	      "a request not answered this long gets 503; also how long a client may take "
	      "to send one"),
	OPT_S("calendar", "dir", calendar_dir, "deploy/calendar", false,
	      "directory of YYYY.cal working-day calendars (relative: to the working directory)"),
	OPT_I("calendar", "utc_offset_minutes", utc_offset_minutes, "480", false, -720, 840,
	      "the city's offset from UTC, for working days and local dates"),
	OPT_I("escalation", "due_soon_ms", due_soon_ms, "7200000", true, 0, 2592000000L,
	      "a ticket this close to its deadline is marked due soon (0: never)"),
	OPT_I("escalation", "interval_ms", escalation_interval_ms, "5000", true, 100, 3600000,
	      "how often deadlines are checked"),
	OPT_I("escalation", "batch", escalation_batch, "500", true, 1, 100000,
	      "most tickets escalated per check"),
	OPT_I("repeats", "window_hours", repeat_window_hours, "72", true, 0, 8760,
	      "an intake from the same phone in the same category within this many hours of "
	      "an open ticket is linked to it (0: never)"),
	OPT_S("stats", "sign_for", stats_sign_for, "1wd", true,
	      "an accept within this of the dispatch counts as timely (签收及时): Nh hours "
	      "on the clock or Nwd working days"),
	OPT_S("open311", "jurisdiction_id", open311_jurisdiction_id, "", true,
	      "the Open311 jurisdiction_id this endpoint serves; a request naming another gets "
	      "404 (empty: jurisdiction_id is accepted and ignored)"),
};

static const struct config_feed_key feed_keys[] = {
	{ "token", true,
	  "shared secret the feed sends in Hello.token (not given for an Open311 client)" },
	{ "name", false, "human-readable name of the legacy line" },
	{ "mode", false, "join mode: merged (default), parallel or subcenter" },
	{ "dept", false, "with mode = subcenter: the sub-centre's department code" },
	{ "allow_resolved_on_call", false,
	  "yes: the feed may send Intake with resolved_on_call (直接办结); default no" },
	{ "open311_key", false,
	  "the feed is an Open311 client: the api_key of its POST requests (instead of a token)" },
	{ "max_rate", false,
	  "most records per second this daemon takes from the feed (0, the default: no limit)" },
	{ "burst", false, "records taken at once before max_rate applies (default 2 x max_rate)" },
};

static const struct config_feed_key dept_keys[] = {
	{ "token", true, "shared secret the department system sends in Hello.token" },
	{ "name", false, "human-readable name of the department" },
};

static const struct config_feed_key service_keys[] = {
	{ "name", false, "service_name: the service's human-readable name (default: the code)" },
	{ "description", false, "description: a sentence on what the service is for" },
	{ "group", false, "group: the category Open311 clients group the service under" },
	{ "keywords", false, "keywords: comma-separated synonyms" },
	{ "category", false,
	  "the intake category its requests are stored under (default: the code); one per "
	  "service" },
	{ "notice", false, "service_notice: what the city will do about such a request" },
};

/* Bytes of a service's texts: they go into every services.json answer. */
#define SERVICE_MAX_NAME 128
#define SERVICE_MAX_DESCRIPTION 1024
#define SERVICE_MAX_GROUP 64
#define SERVICE_MAX_KEYWORDS 512
#define SERVICE_MAX_CATEGORY 64 /* intake.h INTAKE_MAX_SHORT */
#define SERVICE_MAX_NOTICE 1024

#define NOPTIONS (sizeof(options) / sizeof(options[0]))
#define FEED_PREFIX "feed."
/* Largest max_rate and burst of a feed: records per second no line approaches. */
#define FEED_MAX_RATE 10000000L
#define DEPT_PREFIX "dept."
#define SERVICE_PREFIX "service."
/* Largest config file read, bytes: far above any real one, far below trouble. */
#define CONFIG_MAX_FILE (16 * 1024 * 1024)

const struct config_option *config_options(size_t *count)
{
	*count = NOPTIONS;
	return options;
}

const struct config_feed_key *config_feed_keys(size_t *count)
{
	*count = sizeof(feed_keys) / sizeof(feed_keys[0]);
	return feed_keys;
}

const struct config_feed_key *config_dept_keys(size_t *count)
{
	*count = sizeof(dept_keys) / sizeof(dept_keys[0]);
	return dept_keys;
}

const struct config_feed_key *config_service_keys(size_t *count)
{
	*count = sizeof(service_keys) / sizeof(service_keys[0]);
	return service_keys;
}

static char **str_field(struct hotline_config *cfg, const struct config_option *opt)
{
	return (char **)((char *)cfg + opt->offset);
}

static long *int_field(struct hotline_config *cfg, const struct config_option *opt)
{
	return (long *)((char *)cfg + opt->offset);
}

static char *xstrdup(const char *s)
{
	char *copy = strdup(s);
	if (!copy) {
		fputs("out of memory\n", stderr);
		abort();
	}
	return copy;
}

/* Reads value as a whole decimal number that fits a long: 0, else -1. */
static int whole_number(const char *value, long *out)
{
	char *end;
	errno = 0;
	*out = strtol(value, &end, 10);
	return errno || end == value || *end != '\0' ? -1 : 0;
}

/* Parses a whole decimal integer within the option's bounds. */
static int parse_int(const struct config_option *opt, const char *value, long *out, char *err,
		     size_t errlen)
{
	long v;
	if (whole_number(value, &v) != 0) {
		snprintf(err, errlen, "[%s] %s: '%s' is not a whole number", opt->section,
			 opt->name, value);
		return -1;
	}
	if (v < opt->min || v > opt->max) {
		snprintf(err, errlen, "[%s] %s: %ld is outside %ld..%ld", opt->section, opt->name,
			 v, opt->min, opt->max);
		return -1;
	}
	*out = v;
	return 0;
}

void config_defaults(struct hotline_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	deadline_policy_init(&cfg->deadlines);
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct config_option *opt = &options[i];
		if (opt->type == CONFIG_STRING) {
			*str_field(cfg, opt) = xstrdup(opt->default_value);
		} else {
			char err[128];
			if (parse_int(opt, opt->default_value, int_field(cfg, opt), err,
				      sizeof(err)) != 0) {
				fprintf(stderr, "broken default: %s\n", err);
				abort();
			}
		}
	}
}

void config_free(struct hotline_config *cfg)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (options[i].type == CONFIG_STRING) {
			free(*str_field(cfg, &options[i]));
			*str_field(cfg, &options[i]) = NULL;
		}
	}
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		free(cfg->feeds[i].code);
		free(cfg->feeds[i].name);
		free(cfg->feeds[i].token);
		free(cfg->feeds[i].dept);
		free(cfg->feeds[i].open311_key);
	}
	free(cfg->feeds);
	cfg->feeds = NULL;
	cfg->nfeeds = 0;
	for (size_t i = 0; i < cfg->ndepts; i++) {
		free(cfg->depts[i].code);
		free(cfg->depts[i].name);
		free(cfg->depts[i].token);
	}
	free(cfg->depts);
	cfg->depts = NULL;
	cfg->ndepts = 0;
	for (size_t i = 0; i < cfg->nservices; i++) {
		struct service_config *svc = &cfg->services[i];
		free(svc->code);
		free(svc->name);
		free(svc->description);
		free(svc->group);
		free(svc->keywords);
		free(svc->category);
		free(svc->notice);
	}
	free(cfg->services);
	cfg->services = NULL;
	cfg->nservices = 0;
}

/* A section header or a key already read, and the line it was on. */
struct seen {
	char *name;
	int line;
};

struct seen_list {
	struct seen *items;
	size_t count, cap;
};

static const struct seen *seen_find(const struct seen_list *list, const char *name)
{
	for (size_t i = 0; i < list->count; i++)
		if (strcmp(list->items[i].name, name) == 0)
			return &list->items[i];
	return NULL;
}

static void seen_add(struct seen_list *list, const char *name, int line)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;
		struct seen *grown = realloc(list->items, cap * sizeof(*grown));
		if (!grown) {
			fputs("out of memory\n", stderr);
			abort();
		}
		list->items = grown;
		list->cap = cap;
	}
	list->items[list->count].name = xstrdup(name);
	list->items[list->count].line = line;
	list->count++;
}

static void seen_clear(struct seen_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i].name);
	list->count = 0;
}

static void seen_free(struct seen_list *list)
{
	seen_clear(list);
	free(list->items);
	list->items = NULL;
	list->cap = 0;
}

enum section_kind {
	SECTION_NONE,
	SECTION_OPTIONS,
	SECTION_DEADLINES,
	SECTION_FEED,
	SECTION_DEPT,
	SECTION_SERVICE
};

struct load_state {
	struct hotline_config *cfg;
	enum section_kind kind;
	const char *section;	   /* the current section's name (owned by sections) */
	size_t index;		   /* of the current section's feed, department or service */
	struct seen_list sections; /* every header read so far */
	struct seen_list keys;	   /* the keys of the current section */
	bool redis_address_given;  /* [redis] address is in the file (not the default) */
};

/* Returns array (count elements of size bytes) grown by one zeroed element at its
 * end; aborts when memory runs out, like xstrdup. */
static void *grow_by_one(void *array, size_t count, size_t size)
{
	char *grown = realloc(array, (count + 1) * size);
	if (!grown) {
		fputs("out of memory\n", stderr);
		abort();
	}
	memset(grown + count * size, 0, size);
	return grown;
}

static struct feed_config *add_feed(struct hotline_config *cfg, const char *code)
{
	cfg->feeds = grow_by_one(cfg->feeds, cfg->nfeeds, sizeof(*cfg->feeds));
	struct feed_config *feed = &cfg->feeds[cfg->nfeeds++];
	feed->code = xstrdup(code);
	feed->mode = JOIN_MERGED;
	feed->allow_resolved_on_call = false;
	return feed;
}

static struct dept_config *add_dept(struct hotline_config *cfg, const char *code)
{
	cfg->depts = grow_by_one(cfg->depts, cfg->ndepts, sizeof(*cfg->depts));
	struct dept_config *dept = &cfg->depts[cfg->ndepts++];
	dept->code = xstrdup(code);
	return dept;
}

static struct service_config *add_service(struct hotline_config *cfg, const char *code)
{
	cfg->services = grow_by_one(cfg->services, cfg->nservices, sizeof(*cfg->services));
	struct service_config *svc = &cfg->services[cfg->nservices++];
	svc->code = xstrdup(code);
	return svc;
}

static bool options_have_section(const char *section)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].section, section) == 0)
			return true;
	return false;
}

/* ini.h section callback: refuses a header seen before and sections nobody reads. */
static int on_section(void *user, int line, const char *name, char *err, size_t errlen)
{
	struct load_state *st = user;
	const struct seen *before = seen_find(&st->sections, name);
	if (before) {
		snprintf(err, errlen, "section [%s] appears twice (first on line %d)", name,
			 before->line);
		return -1;
	}
	enum section_kind kind;
	if (strncmp(name, FEED_PREFIX, strlen(FEED_PREFIX)) == 0) {
		if (!code_valid(name + strlen(FEED_PREFIX))) {
			snprintf(err, errlen,
				 "[%s]: feed code must be 1-64 letters, digits, '_' or '-'", name);
			return -1;
		}
		kind = SECTION_FEED;
	} else if (strncmp(name, DEPT_PREFIX, strlen(DEPT_PREFIX)) == 0) {
		if (!code_valid(name + strlen(DEPT_PREFIX))) {
			snprintf(err, errlen,
				 "[%s]: department code must be 1-64 letters, digits, '_' or '-'",
				 name);
			return -1;
		}
		kind = SECTION_DEPT;
	} else if (strncmp(name, SERVICE_PREFIX, strlen(SERVICE_PREFIX)) == 0) {
		if (!code_valid(name + strlen(SERVICE_PREFIX))) {
			snprintf(err, errlen,
				 "[%s]: service code must be 1-64 letters, digits, '_' or '-'",
				 name);
			return -1;
		}
		kind = SECTION_SERVICE;
	} else if (strcmp(name, "deadlines") == 0) {
		kind = SECTION_DEADLINES;
	} else if (options_have_section(name)) {
		kind = SECTION_OPTIONS;
	} else {
		snprintf(err, errlen, "unknown section [%s]", name);
		return -1;
	}
	seen_add(&st->sections, name, line);
	seen_clear(&st->keys);
	st->section = st->sections.items[st->sections.count - 1].name;
	st->kind = kind;
	if (kind == SECTION_FEED) {
		add_feed(st->cfg, name + strlen(FEED_PREFIX));
		st->index = st->cfg->nfeeds - 1;
	} else if (kind == SECTION_DEPT) {
		add_dept(st->cfg, name + strlen(DEPT_PREFIX));
		st->index = st->cfg->ndepts - 1;
	} else if (kind == SECTION_SERVICE) {
		add_service(st->cfg, name + strlen(SERVICE_PREFIX));
		st->index = st->cfg->nservices - 1;
	}
	return 0;
}

static void set_string(char **slot, const char *value)
{
	free(*slot);
	*slot = xstrdup(value);
}

static int feed_key(struct feed_config *feed, const char *name, const char *value, char *err,
		    size_t errlen)
{
	if (strcmp(name, "token") == 0) {
		set_string(&feed->token, value);
	} else if (strcmp(name, "name") == 0) {
		set_string(&feed->name, value);
	} else if (strcmp(name, "dept") == 0) {
		set_string(&feed->dept, value);
	} else if (strcmp(name, "open311_key") == 0) {
		set_string(&feed->open311_key, value);
	} else if (strcmp(name, "mode") == 0) {
		if (strcmp(value, "merged") == 0)
			feed->mode = JOIN_MERGED;
		else if (strcmp(value, "parallel") == 0)
			feed->mode = JOIN_PARALLEL;
		else if (strcmp(value, "subcenter") == 0)
			feed->mode = JOIN_SUBCENTER;
		else {
			snprintf(err, errlen,
				 "[feed.%s] mode: '%s' is not merged, parallel or subcenter",
				 feed->code, value);
			return -1;
		}
	} else if (strcmp(name, "max_rate") == 0 || strcmp(name, "burst") == 0) {
		bool rate = name[0] == 'm';
		long v;
		if (whole_number(value, &v) != 0 || v < 0 || v > FEED_MAX_RATE) {
			snprintf(err, errlen, "[feed.%s] %s: '%s' is not a whole number in 0..%ld",
				 feed->code, name, value, (long)FEED_MAX_RATE);
			return -1;
		}
		*(rate ? &feed->max_rate : &feed->burst) = v;
	} else if (strcmp(name, "allow_resolved_on_call") == 0) {
		if (strcmp(value, "yes") == 0)
			feed->allow_resolved_on_call = true;
		else if (strcmp(value, "no") == 0)
			feed->allow_resolved_on_call = false;
		else {
			snprintf(err, errlen,
				 "[feed.%s] allow_resolved_on_call: '%s' is not yes or no",
				 feed->code, value);
			return -1;
		}
	} else {
		snprintf(err, errlen, "[feed.%s]: unknown key '%s'", feed->code, name);
		return -1;
	}
	return 0;
}

static int dept_key(struct dept_config *dept, const char *name, const char *value, char *err,
		    size_t errlen)
{
	if (strcmp(name, "token") == 0) {
		set_string(&dept->token, value);
	} else if (strcmp(name, "name") == 0) {
		set_string(&dept->name, value);
	} else {
		snprintf(err, errlen, "[dept.%s]: unknown key '%s'", dept->code, name);
		return -1;
	}
	return 0;
}

static int service_key(struct service_config *svc, const char *name, const char *value, char *err,
		       size_t errlen)
{
	const struct {
		const char *key;
		char **slot;
	} slots[] = {
		{ "name", &svc->name },		{ "description", &svc->description },
		{ "group", &svc->group },	{ "keywords", &svc->keywords },
		{ "category", &svc->category }, { "notice", &svc->notice },
	};
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		if (strcmp(name, slots[i].key) == 0) {
			set_string(slots[i].slot, value);
			return 0;
		}
	}
	snprintf(err, errlen, "[service.%s]: unknown key '%s'", svc->code, name);
	return -1;
}

/* [deadlines]: default | normal | urgent | critical | category.NAME = LIMIT */
static int deadlines_key(struct hotline_config *cfg, const char *name, const char *value, char *err,
			 size_t errlen)
{
	struct deadline_limit limit;
	char why[200];
	int rc;
	if (deadline_parse_limit(value, &limit, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "[deadlines] %s: %s", name, why);
		return -1;
	}
	if (strcmp(name, "default") == 0)
		rc = deadline_policy_set_default(&cfg->deadlines, &limit, why, sizeof(why));
	else if (strncmp(name, "category.", 9) == 0)
		rc = deadline_policy_set_category(&cfg->deadlines, name + 9, &limit, why,
						  sizeof(why));
	else if (deadline_priority_from_name(name) > 0)
		rc = deadline_policy_set_priority(&cfg->deadlines,
						  deadline_priority_from_name(name), &limit, why,
						  sizeof(why));
	else {
		snprintf(err, errlen,
			 "[deadlines]: unknown key '%s' (default, normal, urgent, critical or "
			 "category.NAME)",
			 name);
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "[deadlines] %s: %s", name, why);
		return -1;
	}
	return 0;
}

static int option_key(struct hotline_config *cfg, const char *section, const char *name,
		      const char *value, char *err, size_t errlen)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct config_option *opt = &options[i];
		if (strcmp(opt->section, section) != 0 || strcmp(opt->name, name) != 0)
			continue;
		if (opt->type == CONFIG_STRING) {
			set_string(str_field(cfg, opt), value);
			return 0;
		}
		return parse_int(opt, value, int_field(cfg, opt), err, errlen);
	}
	snprintf(err, errlen, "unknown option [%s] %s", section, name);
	return -1;
}

/* ini.h value callback: refuses a key given twice in one section, then sets it. */
static int on_value(void *user, int line, const char *key, const char *value, char *err,
		    size_t errlen)
{
	struct load_state *st = user;
	if (st->kind == SECTION_NONE) {
		snprintf(err, errlen, "'%s' before any [section]", key);
		return -1;
	}
	const struct seen *before = seen_find(&st->keys, key);
	if (before) {
		snprintf(err, errlen, "duplicate key '%s' in [%s] (first set on line %d)", key,
			 st->section, before->line);
		return -1;
	}
	seen_add(&st->keys, key, line);
	switch (st->kind) {
	case SECTION_FEED:
		return feed_key(&st->cfg->feeds[st->index], key, value, err, errlen);
	case SECTION_DEPT:
		return dept_key(&st->cfg->depts[st->index], key, value, err, errlen);
	case SECTION_SERVICE:
		return service_key(&st->cfg->services[st->index], key, value, err, errlen);
	case SECTION_DEADLINES:
		return deadlines_key(st->cfg, key, value, err, errlen);
	case SECTION_OPTIONS:
		if (strcmp(st->section, "redis") == 0 && strcmp(key, "address") == 0)
			st->redis_address_given = true;
		return option_key(st->cfg, st->section, key, value, err, errlen);
	case SECTION_NONE:
		break;
	}
	return -1;
}

/* One secret of the file and where it is set ("[feed.water] token"). */
struct secret {
	char where[96];
	const char *value;
};

/*
 * Every secret is distinct per role and per id: a feed's token must not open its
 * department's door, nor one department's another's. Compared with
 * config_token_equal (the values never decide how long a comparison takes).
 */
static int check_secrets_distinct(const struct hotline_config *cfg, char *err, size_t errlen)
{
	size_t cap = 3 + 2 * cfg->nfeeds + cfg->ndepts, n = 0;
	struct secret *secrets = calloc(cap, sizeof(*secrets));
	if (!secrets) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (cfg->redis_password[0] != '\0') {
		snprintf(secrets[n].where, sizeof(secrets[n].where), "[redis] password");
		secrets[n++].value = cfg->redis_password;
	}
	if (cfg->redis_sentinel_password[0] != '\0') {
		snprintf(secrets[n].where, sizeof(secrets[n].where), "[redis] sentinel_password");
		secrets[n++].value = cfg->redis_sentinel_password;
	}
	if (cfg->agents_token[0] != '\0') {
		snprintf(secrets[n].where, sizeof(secrets[n].where), "[agents] token");
		secrets[n++].value = cfg->agents_token;
	}
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		if (cfg->feeds[i].token) {
			snprintf(secrets[n].where, sizeof(secrets[n].where), "[feed.%s] token",
				 cfg->feeds[i].code);
			secrets[n++].value = cfg->feeds[i].token;
		}
		if (cfg->feeds[i].open311_key) {
			snprintf(secrets[n].where, sizeof(secrets[n].where),
				 "[feed.%s] open311_key", cfg->feeds[i].code);
			secrets[n++].value = cfg->feeds[i].open311_key;
		}
	}
	for (size_t i = 0; i < cfg->ndepts; i++) {
		snprintf(secrets[n].where, sizeof(secrets[n].where), "[dept.%s] token",
			 cfg->depts[i].code);
		secrets[n++].value = cfg->depts[i].token;
	}
	int rc = 0;
	for (size_t i = 1; i < n && rc == 0; i++) {
		for (size_t j = 0; j < i; j++) {
			if (config_token_equal(secrets[i].value, secrets[j].value)) {
				snprintf(err, errlen,
					 "%s is the same as %s: every secret must be distinct per "
					 "role and per id",
					 secrets[i].where, secrets[j].where);
				rc = -1;
				break;
			}
		}
	}
	free(secrets);
	return rc;
}

/*
 * [redis] with Sentinel: a list of sentinels and the master's name, and then no
 * address (it comes from the sentinels; one given too would be silently unused).
 * The sentinel credentials and the name mean nothing without sentinels.
 */
static int validate_sentinels(const struct hotline_config *cfg, bool address_given, char *err,
			      size_t errlen)
{
	if (cfg->redis_sentinels[0] == '\0') {
		const char *alone = cfg->redis_master_name[0]	      ? "master_name"
				    : cfg->redis_sentinel_username[0] ? "sentinel_username"
				    : cfg->redis_sentinel_password[0] ? "sentinel_password"
								      : NULL;
		if (alone) {
			snprintf(err, errlen, "[redis] %s is only for sentinels (none is set)",
				 alone);
			return -1;
		}
		return 0;
	}
	struct redis_ha_addr addrs[REDIS_HA_SENTINELS_MAX];
	size_t n;
	char why[300];
	if (redis_ha_parse_addrs(cfg->redis_sentinels, addrs, REDIS_HA_SENTINELS_MAX, &n, why,
				 sizeof(why)) != 0) {
		snprintf(err, errlen, "[redis] sentinels: %s", why);
		return -1;
	}
	if (cfg->redis_master_name[0] == '\0') {
		snprintf(err, errlen, "[redis] master_name is required with sentinels");
		return -1;
	}
	if (!redis_ha_name_valid(cfg->redis_master_name)) {
		snprintf(err, errlen,
			 "[redis] master_name: '%s' is not 1-64 letters, digits, '_', '-' or '.'",
			 cfg->redis_master_name);
		return -1;
	}
	if (address_given) {
		snprintf(err, errlen,
			 "[redis] address and sentinels are both set: with sentinels the "
			 "primary's address comes from them; remove address");
		return -1;
	}
	return 0;
}

/* A service's text: valid UTF-8 (it goes into JSON and XML answers), at most max bytes. */
static int service_text(const struct service_config *svc, const char *key, char **slot,
			const char *def, size_t max, char *err, size_t errlen)
{
	if (!*slot)
		*slot = xstrdup(def);
	size_t len = strlen(*slot);
	if (len > max) {
		snprintf(err, errlen, "[service.%s] %s: longer than %zu bytes", svc->code, key,
			 max);
		return -1;
	}
	if (!utf8_valid(*slot, len)) {
		snprintf(err, errlen, "[service.%s] %s: not valid UTF-8", svc->code, key);
		return -1;
	}
	return 0;
}

/*
 * The Open311 services: texts within bounds, and one service per category, so that a
 * stored ticket's category tells which service it was requested as.
 */
static int validate_services(struct hotline_config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->nservices; i++) {
		struct service_config *svc = &cfg->services[i];
		if (service_text(svc, "name", &svc->name, svc->code, SERVICE_MAX_NAME, err,
				 errlen) != 0 ||
		    service_text(svc, "description", &svc->description, "", SERVICE_MAX_DESCRIPTION,
				 err, errlen) != 0 ||
		    service_text(svc, "group", &svc->group, "", SERVICE_MAX_GROUP, err, errlen) !=
			    0 ||
		    service_text(svc, "keywords", &svc->keywords, "", SERVICE_MAX_KEYWORDS, err,
				 errlen) != 0 ||
		    service_text(svc, "category", &svc->category, svc->code, SERVICE_MAX_CATEGORY,
				 err, errlen) != 0 ||
		    service_text(svc, "notice", &svc->notice, "", SERVICE_MAX_NOTICE, err,
				 errlen) != 0)
			return -1;
		if (svc->name[0] == '\0' || svc->category[0] == '\0') {
			snprintf(err, errlen, "[service.%s]: %s is empty", svc->code,
				 svc->name[0] == '\0' ? "name" : "category");
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(cfg->services[j].category, svc->category) == 0) {
				snprintf(err, errlen,
					 "[service.%s] category '%s' is also [service.%s]'s: each "
					 "service needs a category of its own",
					 svc->code, svc->category, cfg->services[j].code);
				return -1;
			}
		}
	}
	return 0;
}

static int validate(struct hotline_config *cfg, bool redis_address_given, char *err, size_t errlen)
{
	char host[256];
	int port;
	const char *listeners[] = { cfg->listen_binary, cfg->listen_json };
	const char *names[] = { "listen_binary", "listen_json" };
	for (int i = 0; i < 2; i++) {
		if (listeners[i][0] != '\0' &&
		    config_parse_hostport(listeners[i], host, sizeof(host), &port) != 0) {
			snprintf(err, errlen, "[hotlined] %s: '%s' is not host:port", names[i],
				 listeners[i]);
			return -1;
		}
	}
	if (cfg->redis_address[0] != '/' &&
	    config_parse_hostport(cfg->redis_address, host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "[redis] address: '%s' is not host:port or /path",
			 cfg->redis_address);
		return -1;
	}
	if (validate_sentinels(cfg, redis_address_given, err, errlen) != 0)
		return -1;
	if (log_level_parse(cfg->log_level) < 0) {
		snprintf(err, errlen,
			 "[hotlined] log_level: '%s' is not debug, info, warn or error",
			 cfg->log_level);
		return -1;
	}
	if (cfg->max_conn_inflight > cfg->max_inflight) {
		snprintf(err, errlen,
			 "[hotlined] max_conn_inflight (%ld) exceeds max_inflight (%ld)",
			 cfg->max_conn_inflight, cfg->max_inflight);
		return -1;
	}
	if (cfg->max_unauthenticated_per_address > cfg->max_unauthenticated) {
		snprintf(err, errlen,
			 "[hotlined] max_unauthenticated_per_address (%ld) exceeds "
			 "max_unauthenticated (%ld)",
			 cfg->max_unauthenticated_per_address, cfg->max_unauthenticated);
		return -1;
	}
	if (cfg->max_unauthenticated > cfg->max_connections) {
		snprintf(err, errlen,
			 "[hotlined] max_unauthenticated (%ld) exceeds max_connections (%ld)",
			 cfg->max_unauthenticated, cfg->max_connections);
		return -1;
	}
	if (cfg->pg_reconnect_min_ms > cfg->pg_reconnect_max_ms) {
		snprintf(err, errlen, "[postgres] reconnect_min_ms exceeds reconnect_max_ms");
		return -1;
	}
	size_t digits = strspn(cfg->pg_work_mem, "0123456789");
	const char *unit = cfg->pg_work_mem + digits;
	if (digits == 0 ||
	    (unit[0] && strcmp(unit, "kB") && strcmp(unit, "MB") && strcmp(unit, "GB"))) {
		snprintf(err, errlen, "[postgres] work_mem: '%s' is not like 64MB",
			 cfg->pg_work_mem);
		return -1;
	}
	char why[400];
	if (deadline_parse_limit(cfg->stats_sign_for, &cfg->sign_for, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "[stats] sign_for: %s", why);
		return -1;
	}
	if (zoneinfo_check(cfg->pg_timezone, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "[postgres] timezone: %s", why);
		return -1;
	}
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		struct feed_config *feed = &cfg->feeds[i];
		if (feed->open311_key) {
			/* An Open311 client never says Hello: a token would be a secret that
			 * opens a door nobody uses, and a feed that connects is owed
			 * TicketUpdates an Open311 client never takes. */
			if (feed->token) {
				snprintf(err, errlen,
					 "[feed.%s]: an Open311 client (open311_key) has no token",
					 feed->code);
				return -1;
			}
			if (feed->open311_key[0] == '\0') {
				snprintf(err, errlen, "[feed.%s]: open311_key is empty",
					 feed->code);
				return -1;
			}
			if (strlen(feed->open311_key) > 256) {
				snprintf(err, errlen,
					 "[feed.%s]: open311_key is longer than 256 bytes",
					 feed->code);
				return -1;
			}
		} else if (!feed->token || feed->token[0] == '\0') {
			snprintf(err, errlen, "[feed.%s]: token is required", feed->code);
			return -1;
		} else if (strlen(feed->token) > 256) {
			snprintf(err, errlen, "[feed.%s]: token is longer than 256 bytes",
				 feed->code);
			return -1;
		}
		if (feed->mode == JOIN_SUBCENTER && (!feed->dept || !code_valid(feed->dept))) {
			snprintf(err, errlen, "[feed.%s]: mode = subcenter needs dept = DEPT_CODE",
				 feed->code);
			return -1;
		}
		if (feed->mode != JOIN_SUBCENTER && feed->dept) {
			snprintf(err, errlen, "[feed.%s]: dept is only for mode = subcenter",
				 feed->code);
			return -1;
		}
		if (!feed->name)
			feed->name = xstrdup(feed->code);
	}
	for (size_t i = 0; i < cfg->ndepts; i++) {
		struct dept_config *dept = &cfg->depts[i];
		if (!dept->token || dept->token[0] == '\0') {
			snprintf(err, errlen, "[dept.%s]: token is required", dept->code);
			return -1;
		}
		if (strlen(dept->token) > 256) {
			snprintf(err, errlen, "[dept.%s]: token is longer than 256 bytes",
				 dept->code);
			return -1;
		}
		if (!dept->name)
			dept->name = xstrdup(dept->code);
	}
	if (cfg->agents_token[0] != '\0' && !config_find_feed(cfg, cfg->agents_feed)) {
		snprintf(err, errlen, "[agents] feed: '%s' has no [feed.%s] section",
			 cfg->agents_feed, cfg->agents_feed);
		return -1;
	}
	const struct feed_config *agents = config_find_feed(cfg, cfg->agents_feed);
	if (agents && agents->open311_key) {
		snprintf(err, errlen, "[agents] feed: '%s' is an Open311 client", cfg->agents_feed);
		return -1;
	}
	if (validate_services(cfg, err, errlen) != 0)
		return -1;
	return check_secrets_distinct(cfg, err, errlen);
}

int config_load_buffer(const char *text, size_t len, const char *name, struct hotline_config *cfg,
		       char *err, size_t errlen)
{
	static const struct ini_callbacks callbacks = { on_section, on_value };
	struct load_state st = { .cfg = cfg, .kind = SECTION_NONE };
	char reason[512] = "";
	int line = 0;
	config_defaults(cfg);
	int rc = ini_parse(text, len, &callbacks, &st, &line, reason, sizeof(reason));
	seen_free(&st.sections);
	seen_free(&st.keys);
	if (rc != 0)
		snprintf(err, errlen, "%s:%d: %s", name, line, reason);
	else if ((rc = validate(cfg, st.redis_address_given, reason, sizeof(reason))) != 0)
		snprintf(err, errlen, "%s: %s", name, reason);
	if (rc != 0)
		config_free(cfg);
	return rc;
}

int config_load_string(const char *text, const char *name, struct hotline_config *cfg, char *err,
		       size_t errlen)
{
	return config_load_buffer(text, strlen(text), name, cfg, err, errlen);
}

/* True when cfg holds a token or a password, which makes its file's mode matter. */
static bool holds_secrets(const struct hotline_config *cfg)
{
	return cfg->nfeeds > 0 || cfg->ndepts > 0 || cfg->agents_token[0] != '\0' ||
	       cfg->redis_password[0] != '\0' || cfg->redis_sentinel_password[0] != '\0';
}

/* Reads all of fd into a new buffer (*text, *len; the caller frees *text). */
static int read_all(int fd, char **text, size_t *len, char *why, size_t whylen)
{
	size_t cap = 65536, used = 0;
	char *buf = malloc(cap);
	if (!buf) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (;;) {
		if (used == cap) {
			if (cap >= CONFIG_MAX_FILE) {
				snprintf(why, whylen, "larger than %d MiB", CONFIG_MAX_FILE >> 20);
				free(buf);
				return -1;
			}
			char *grown = realloc(buf, cap * 2);
			if (!grown) {
				snprintf(why, whylen, "out of memory");
				free(buf);
				return -1;
			}
			buf = grown;
			cap *= 2;
		}
		ssize_t got = read(fd, buf + used, cap - used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(why, whylen, "cannot read: %s", strerror(errno));
			free(buf);
			return -1;
		}
		if (got == 0)
			break;
		used += (size_t)got;
	}
	*text = buf;
	*len = used;
	return 0;
}

int config_load(const char *path, struct hotline_config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	/* The mode and owner checked are those of the file read, not of the path later. */
	struct stat st;
	char why[256];
	char *text = NULL;
	size_t len = 0;
	int rc = 0;
	if (fstat(fd, &st) != 0) {
		snprintf(why, sizeof(why), "cannot stat: %s", strerror(errno));
		rc = -1;
	} else {
		rc = read_all(fd, &text, &len, why, sizeof(why));
	}
	close(fd);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	rc = config_load_buffer(text, len, path, cfg, err, errlen);
	free(text);
	if (rc != 0 || !holds_secrets(cfg))
		return rc;
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
			 "%s: mode %04o lets group or others read it, and it holds tokens and "
			 "passwords: chmod 600 %s",
			 path, (unsigned)(st.st_mode & 07777), path);
		rc = -1;
	} else if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen,
			 "%s: owned by uid %u, neither the user running this (uid %u) nor root, "
			 "and it holds tokens and passwords",
			 path, (unsigned)st.st_uid, (unsigned)geteuid());
		rc = -1;
	}
	if (rc != 0)
		config_free(cfg);
	return rc;
}

int config_apply_reload(struct hotline_config *cur, struct hotline_config *fresh, char *note,
			size_t notelen)
{
	int kept = 0;
	size_t used = 0;
	note[0] = '\0';
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct config_option *opt = &options[i];
		bool differs;
		if (opt->type == CONFIG_STRING)
			differs = strcmp(*str_field(cur, opt), *str_field(fresh, opt)) != 0;
		else
			differs = *int_field(cur, opt) != *int_field(fresh, opt);
		if (!differs)
			continue;
		if (!opt->reloadable) {
			int n = snprintf(note + used, notelen > used ? notelen - used : 0, "%s%s",
					 kept ? ", " : "", opt->name);
			if (n > 0)
				used += (size_t)n;
			kept++;
			continue;
		}
		if (opt->type == CONFIG_STRING) {
			char *tmp = *str_field(cur, opt);
			*str_field(cur, opt) = *str_field(fresh, opt);
			*str_field(fresh, opt) = tmp;
		} else {
			*int_field(cur, opt) = *int_field(fresh, opt);
		}
	}
	struct feed_config *feeds = cur->feeds;
	size_t nfeeds = cur->nfeeds;
	cur->feeds = fresh->feeds;
	cur->nfeeds = fresh->nfeeds;
	fresh->feeds = feeds;
	fresh->nfeeds = nfeeds;
	cur->deadlines = fresh->deadlines;
	/* max_connections needs a restart, so a raise of it waits; one of
	 * max_unauthenticated made along with it must not exceed the one kept. */
	if (cur->max_unauthenticated > cur->max_connections)
		cur->max_unauthenticated = cur->max_connections;
	if (cur->max_unauthenticated_per_address > cur->max_unauthenticated)
		cur->max_unauthenticated_per_address = cur->max_unauthenticated;
	struct dept_config *depts = cur->depts;
	size_t ndepts = cur->ndepts;
	cur->depts = fresh->depts;
	cur->ndepts = fresh->ndepts;
	fresh->depts = depts;
	fresh->ndepts = ndepts;
	struct service_config *services = cur->services;
	size_t nservices = cur->nservices;
	cur->services = fresh->services;
	cur->nservices = fresh->nservices;
	fresh->services = services;
	fresh->nservices = nservices;
	return kept;
}

const struct feed_config *config_find_feed(const struct hotline_config *cfg, const char *code)
{
	for (size_t i = 0; i < cfg->nfeeds; i++)
		if (strcmp(cfg->feeds[i].code, code) == 0)
			return &cfg->feeds[i];
	return NULL;
}

const struct service_config *config_find_service(const struct hotline_config *cfg, const char *code)
{
	for (size_t i = 0; i < cfg->nservices; i++)
		if (strcmp(cfg->services[i].code, code) == 0)
			return &cfg->services[i];
	return NULL;
}

const struct feed_config *config_find_open311_client(const struct hotline_config *cfg,
						     const char *key)
{
	/* Every client's key is compared, so the time taken does not say which matched. */
	const struct feed_config *found = NULL;
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		const struct feed_config *feed = &cfg->feeds[i];
		if (feed->open311_key && config_token_equal(feed->open311_key, key) && !found)
			found = feed;
	}
	return found;
}

const struct dept_config *config_find_dept(const struct hotline_config *cfg, const char *code)
{
	for (size_t i = 0; i < cfg->ndepts; i++)
		if (strcmp(cfg->depts[i].code, code) == 0)
			return &cfg->depts[i];
	return NULL;
}

const char *config_join_mode_name(enum join_mode mode)
{
	switch (mode) {
	case JOIN_MERGED:
		return "merged";
	case JOIN_PARALLEL:
		return "parallel";
	case JOIN_SUBCENTER:
		return "subcenter";
	}
	return "?";
}

int config_parse_hostport(const char *value, char *host, size_t hostlen, int *port)
{
	const char *colon;
	const char *h = value;
	size_t hlen;
	if (value[0] == '[') {
		const char *close = strchr(value, ']');
		if (!close || close[1] != ':')
			return -1;
		h = value + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(value, ':');
		if (!colon)
			return -1;
		hlen = (size_t)(colon - value);
	}
	if (hlen == 0 || hlen >= hostlen)
		return -1;
	char *end;
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end != '\0' || p < 0 || p > 65535)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (int)p;
	return 0;
}

bool config_token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = (unsigned char)(la != lb);
	size_t n = la < lb ? la : lb;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}
