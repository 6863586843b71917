/*
 * config.h - hotlined's configuration: one table of options, loaded from INI.
 *
 * Owns: the option table (name, type, default, reloadable, limits, doc), parsing
 * a file into struct hotline_config (the INI syntax itself is lib/ini.h's),
 * validation (a secret used twice, a file holding secrets that others may read,
 * an unknown time zone), and the sections [feed.CODE], [dept.CODE] and [service.CODE]
 * (the Open311 services).
 * Never: applies a config to running state (daemon/main.c does,
 * keeping the old config when a reload fails). Callers: daemon, hotlinectl,
 * tests/unit/test_config.c (which also checks that README documents every option).
 */
#ifndef HOTLINE_CONFIG_H
#define HOTLINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "deadline.h"

enum join_mode {
	JOIN_MERGED = 0,   /* 整体并入: old number retired */
	JOIN_PARALLEL = 1, /* 双号并行: old number still answers, lands in 12345 */
	JOIN_SUBCENTER = 2 /* 设分中心: sub-centre keeps its domain */
};

struct feed_config {
	char *code; /* the section's CODE, sent as Hello.id */
	char *name;
	char *token; /* NULL for an Open311 client, which never says Hello */
	/* An Open311 client (docs/http-api.md "Open311"): the api_key its POST requests carry.
	 * Such a feed has no token and is owed no TicketUpdates. NULL otherwise. */
	char *open311_key;
	char *dept; /* subcenter: the sub-centre's department code */
	enum join_mode mode;
	/* May send Intake with resolved_on_call (直接办结): agents resolve on the call; a
	 * legacy line with operators of its own answering on the spot may be allowed. */
	bool allow_resolved_on_call;
	/* Intake rate limit on each daemon (lib/ratelimit.h): records per second, 0 for
	 * none; burst: records taken at once from a full bucket (0: 2 x max_rate). */
	long max_rate;
	long burst;
};

struct dept_config {
	char *code; /* the section's CODE, sent as Hello.id by the department system */
	char *name;
	char *token;
};

/* One Open311 service ([service.CODE]): what GET services.json lists. */
struct service_config {
	char *code;	   /* the section's CODE: the Open311 service_code */
	char *name;	   /* service_name (default: the code) */
	char *description; /* "" when not given */
	char *group;	   /* "" when not given */
	char *keywords;	   /* comma-separated; "" when not given */
	char *category;	   /* the intake category its requests are stored under (default: the
			    * code); distinct per service, so a ticket names its service */
	char *notice;	   /* service_notice; "" when not given */
};

struct hotline_config {
	/* [hotlined] */
	char *listen_binary;
	char *listen_json;
	long max_frame;
	long max_line;
	long max_connections;
	long max_inflight;
	long max_conn_inflight;
	long max_content;
	long hello_timeout_ms;
	long max_unauthenticated;	      /* connections before Hello, in all */
	long max_unauthenticated_per_address; /* ... and per source address */
	long max_connections_per_id;	      /* authenticated, per feed or department code */
	long shutdown_timeout_ms;
	char *log_level;
	/* [postgres] */
	char *pg_conninfo;
	long pg_connections;
	long pg_batch_max;
	long pg_reconnect_min_ms;
	long pg_reconnect_max_ms;
	long pg_query_timeout_ms;
	char *pg_timezone;
	char *pg_work_mem;
	/* [redis] */
	char *redis_address;
	char *redis_username; /* "" = the default user (AUTH password) */
	char *redis_password; /* "" = no AUTH */
	long redis_check_interval_ms;
	/* [routing] */
	long max_returns;
	long relay_batch;
	long relay_interval_ms;
	long dept_window;
	long redeliver_after_ms;
	long update_window;
	long update_poll_ms;
	long extend_max_days; /* an extend's deadline: at most this many days after the action */
	/* [agents] */
	char *agents_token;
	char *agents_feed;
	/* [callbacks] */
	long callback_max_attempts;
	long callback_claim_timeout_ms;
	/* [http] */
	char *http_listen;
	char *http_ops_listen;
	long http_max_body;
	long http_max_headers;
	long http_request_timeout_ms;
	/* [calendar] */
	char *calendar_dir;
	long utc_offset_minutes;
	/* [escalation] */
	long due_soon_ms;
	long escalation_interval_ms;
	long escalation_batch;
	/* [repeats] */
	long repeat_window_hours;
	/* [open311] */
	char *open311_jurisdiction_id; /* "" = any jurisdiction_id is accepted and ignored */
	/* [deadlines]: default, normal, urgent, critical, category.NAME = 2h | 13wd */
	struct deadline_policy deadlines;
	/* [feed.CODE] sections, in file order */
	struct feed_config *feeds;
	size_t nfeeds;
	/* [dept.CODE] sections, in file order */
	struct dept_config *depts;
	size_t ndepts;
	/* [service.CODE] sections, in file order */
	struct service_config *services;
	size_t nservices;
};

enum config_type { CONFIG_STRING, CONFIG_INT };

struct config_option {
	const char *section;
	const char *name;
	enum config_type type;
	const char *default_value;
	bool reloadable;
	long min, max; /* CONFIG_INT bounds, inclusive */
	size_t offset; /* of the char * or long in struct hotline_config */
	const char *doc;
};

/* Keys of a [feed.CODE] or [dept.CODE] section, documented like options. */
struct config_feed_key {
	const char *name;
	bool required;
	const char *doc;
};

const struct config_option *config_options(size_t *count);
const struct config_feed_key *config_feed_keys(size_t *count);
const struct config_feed_key *config_dept_keys(size_t *count);
const struct config_feed_key *config_service_keys(size_t *count);

/* Fills cfg with every option's default and no feeds. */
void config_defaults(struct hotline_config *cfg);

/*
 * Loads path into cfg (defaults first, then the file, then validation).
 * Returns 0, or -1 with "file:line: reason" (or "file: reason") in err; on -1
 * cfg holds nothing that needs freeing. Besides what config_load_buffer refuses, a
 * file that holds a secret (a token, or a Redis password) is refused when its mode
 * gives group or others any permission, or when it is owned by neither the
 * effective user nor root (checked with fstat on the descriptor read).
 */
int config_load(const char *path, struct hotline_config *cfg, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * The same from text[0..len) (any bytes), without the file checks; name is used in
 * messages. Refuses: INI syntax errors (lib/ini.h), unknown sections and options,
 * a section or a key of one section given twice, invalid values, and a secret used
 * twice anywhere in the file.
 */
int config_load_buffer(const char *text, size_t len, const char *name, struct hotline_config *cfg,
		       char *err, size_t errlen) __attribute__((warn_unused_result));

/* config_load_buffer on a NUL-terminated string (tests). */
int config_load_string(const char *text, const char *name, struct hotline_config *cfg, char *err,
		       size_t errlen) __attribute__((warn_unused_result));

void config_free(struct hotline_config *cfg);

/*
 * Moves the reloadable options, the feeds, the departments and the services from fresh into cur
 * (fresh is left empty and can be freed). Options that need a restart and differ are kept at their
 * current value and named in note (comma-separated), so the caller can log them.
 * max_unauthenticated (and _per_address) are lowered to the max_connections kept, if need be.
 * Returns the number of such options.
 */
int config_apply_reload(struct hotline_config *cur, struct hotline_config *fresh, char *note,
			size_t notelen);

/* The feed with this code, or NULL. */
const struct feed_config *config_find_feed(const struct hotline_config *cfg, const char *code);

/* The Open311 service with this code, or NULL. */
const struct service_config *config_find_service(const struct hotline_config *cfg,
						 const char *code);

/* The Open311 client whose open311_key is key (compared in constant time with every
 * client's), or NULL. */
const struct feed_config *config_find_open311_client(const struct hotline_config *cfg,
						     const char *key);

/* The department with this code, or NULL. */
const struct dept_config *config_find_dept(const struct hotline_config *cfg, const char *code);

/* "merged" / "parallel" / "subcenter" */
const char *config_join_mode_name(enum join_mode mode);

/*
 * Splits "host:port" (or "[v6]:port") into host and port. Returns 0 or -1.
 * host must hold hostlen bytes.
 */
int config_parse_hostport(const char *value, char *host, size_t hostlen, int *port)
	__attribute__((warn_unused_result));

/* Constant-time string equality for tokens. */
bool config_token_equal(const char *a, const char *b);

#endif
