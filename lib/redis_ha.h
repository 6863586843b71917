/*
 * redis_ha.h - telling one Redis server from another: Sentinel's addresses and
 * messages, INFO's fields, and the epoch that names the server whose data it is.
 *
 * Owns: parsing a list of sentinels (`host:port,host:port`), a Sentinel master
 * name, a `+switch-master` message, a field of INFO's text; making an epoch
 * (hotline:epoch, bus_epoch) that carries the run_id of the Redis process it was
 * set on, and saying whether an epoch was set on a given process. Pure: no
 * sockets, no clock, no randomness of its own (the caller passes the bytes).
 * Never: decides what to do about a failover (daemon/bus_epoch.c and
 * daemon/bus_sentinel.c do).
 * Callers: lib/config.c (the [redis] sentinels list, master_name),
 * daemon/bus_sentinel.c, daemon/bus_redis.c, daemon/bus_epoch.c, tools/hotlinectl.c,
 * tests/unit/test_redis_ha.c.
 */
#ifndef HOTLINE_REDIS_HA_H
#define HOTLINE_REDIS_HA_H

#include <stdbool.h>
#include <stddef.h>

#define REDIS_HA_HOST_MAX 256	  /* bytes of a host, with its NUL */
#define REDIS_HA_SENTINELS_MAX 16 /* sentinels in a list */
#define REDIS_HA_NAME_MAX 64	  /* bytes of a master name, without its NUL */
#define REDIS_HA_RUN_ID_MAX 64	  /* bytes of a run_id (40 hex digits), with its NUL */
#define REDIS_HA_EPOCH_MAX 128	  /* bytes of an epoch, with its NUL */

struct redis_ha_addr {
	char host[REDIS_HA_HOST_MAX];
	int port;
};

/*
 * Parses list, "host:port,host:port,..." (blanks around each entry are dropped;
 * IPv6 as [addr]:port), into out[0..*n), at most max entries. Returns 0, or -1
 * with why (an empty entry, one that is not host:port, port 0, more than max,
 * the same address twice).
 */
int redis_ha_parse_addrs(const char *list, struct redis_ha_addr *out, size_t max, size_t *n,
			 char *why, size_t whylen) __attribute__((warn_unused_result));

/* True for a Sentinel master name hotlined accepts: 1..REDIS_HA_NAME_MAX letters,
 * digits, '_', '-' or '.' (Sentinel takes more; these never need quoting). */
bool redis_ha_name_valid(const char *name);

/*
 * A `+switch-master` message's payload, msg[0..len): "NAME OLD_IP OLD_PORT NEW_IP
 * NEW_PORT". Returns 1 when it is about master_name (*to filled), 0 when about
 * another master, -1 when malformed.
 */
int redis_ha_parse_switch(const char *msg, size_t len, const char *master_name,
			  struct redis_ha_addr *to) __attribute__((warn_unused_result));

/*
 * The value of field in INFO's text info[0..len) ("field:value" lines ending in
 * CRLF; "# Section" lines) into out (outlen bytes). Returns 0, or -1 when the field
 * is missing or its value does not fit.
 */
int redis_ha_info_field(const char *info, size_t len, const char *field, char *out, size_t outlen)
	__attribute__((warn_unused_result));

/*
 * Epochs. An epoch names a Redis dataset that PostgreSQL has rebuilt into (see
 * daemon/bus_epoch.c): the hex of nrandom random bytes and, when the server's
 * run_id is known, "." and that run_id: "9f0c...e1.4b1d...77". A Redis process gets a
 * new run_id at every start, and a replica promoted by a failover has its own, so an
 * epoch whose run_id is not the server's says the data came from another process
 * (replicated, or loaded from a snapshot) and may lack what that process last
 * acknowledged.
 *
 * redis_ha_epoch_make writes one into out (outlen bytes). Returns 0, or -1 when it
 * does not fit or run_id holds anything but letters and digits.
 */
int redis_ha_epoch_make(char *out, size_t outlen, const unsigned char *random, size_t nrandom,
			const char *run_id) __attribute__((warn_unused_result));

/* True when epoch was made on the server whose run_id this is; always true when
 * run_id is "" (unknown: INFO refused), so that only the epoch itself is compared. */
bool redis_ha_epoch_of_server(const char *epoch, const char *run_id);

/* The run_id epoch names: a pointer into epoch, "" for an epoch that names none. */
const char *redis_ha_epoch_server(const char *epoch);

#endif
