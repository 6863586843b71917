/*
 * feeds_mirror.c - the feeds and departments tables, mirrored from the config.
 *
 * Owns: sending queries/sync_feeds.sql with the config's feeds (code, name, join
 * mode, own department) and departments (code, name) as arrays, ahead of any
 * other statement, at each new PostgreSQL connection (it may be a new server)
 * and after each reload (store_pg.c calls it).
 * Never: waits for the answer: a failure is logged and mended at the next
 * connection or reload.
 */
#include "feeds_mirror.h"

#include <string.h>

#include "log.h"
#include "pgarray.h"
#include "queries.h"

static void on_feeds_synced(void *arg, const PGresult *res, const char *error)
{
	if (error)
		log_warn("store: syncing the feeds and departments tables failed (%s); retried "
			 "at the next connection or reload",
			 error);
}

void feeds_mirror_sync(struct pgpool *pool, const struct hotline_config *cfg)
{
	struct pgarray a[SYNC_FEEDS_NPARAMS];
	memset(a, 0, sizeof(a));
	for (int i = 0; i < SYNC_FEEDS_NPARAMS; i++)
		pgarray_begin_text(&a[i]);
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		const struct feed_config *feed = &cfg->feeds[i];
		const char *mode = config_join_mode_name(feed->mode);
		pgarray_text(&a[SYNC_FEEDS_P_FEED_CODE], feed->code, strlen(feed->code));
		pgarray_text(&a[SYNC_FEEDS_P_NAME], feed->name, strlen(feed->name));
		pgarray_text(&a[SYNC_FEEDS_P_JOIN_MODE], mode, strlen(mode));
		if (feed->dept)
			pgarray_text(&a[SYNC_FEEDS_P_DEPT_CODE], feed->dept, strlen(feed->dept));
		else
			pgarray_text_null(&a[SYNC_FEEDS_P_DEPT_CODE]);
	}
	for (size_t i = 0; i < cfg->ndepts; i++) {
		const struct dept_config *dept = &cfg->depts[i];
		pgarray_text(&a[SYNC_FEEDS_P_DEPT_CODES], dept->code, strlen(dept->code));
		pgarray_text(&a[SYNC_FEEDS_P_DEPT_NAMES], dept->name, strlen(dept->name));
	}
	const char *values[SYNC_FEEDS_NPARAMS];
	bool ok = true;
	for (int i = 0; i < SYNC_FEEDS_NPARAMS; i++) {
		ok = pgarray_end(&a[i]) == 0 && ok;
		values[i] = a[i].data;
	}
	if (ok)
		pgpool_query_first(pool, QUERY_SYNC_FEEDS, values, on_feeds_synced, NULL);
	else
		log_error(
			"store: out of memory mirroring the feeds; retried at the next connection");
	for (int i = 0; i < SYNC_FEEDS_NPARAMS; i++)
		pgarray_free(&a[i]);
}
