/*
 * feeds_mirror.h - the feeds and departments tables, mirrored from the config.
 */
#ifndef HOTLINE_FEEDS_MIRROR_H
#define HOTLINE_FEEDS_MIRROR_H

#include "config.h"
#include "pgpool.h"

/* Sends the config's feeds and departments to PostgreSQL (sync_feeds.sql) ahead
 * of every other statement of pool; a failure is logged only. */
void feeds_mirror_sync(struct pgpool *pool, const struct hotline_config *cfg);

#endif
