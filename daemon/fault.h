/*
 * fault.h - named crash points for the fault tests.
 *
 * Owns: fault_point(NAME), which ends the process at once (_exit, as kill -9
 * would: no cleanup, nothing flushed) when the environment variable
 * HOTLINED_FAULT names that point, and does nothing otherwise. The durability
 * tests use it to stop the daemon between two steps that must survive a crash
 * in between (the Redis rebuild: claimed in PostgreSQL, announced in Redis).
 * Points (docs/durability.md): rebuild_seen, rebuild_claimed, rebuild_announced.
 * Never: does anything in a daemon started without HOTLINED_FAULT.
 * Callers: daemon/bus_epoch.c (the rebuild's points); daemon/main.c reads the
 * variable once (fault_init).
 */
#ifndef HOTLINE_FAULT_H
#define HOTLINE_FAULT_H

#define FAULT_ENV "HOTLINED_FAULT"
#define FAULT_EXIT_STATUS 86

/* Reads FAULT_ENV (once, at start). */
void fault_init(void);

/* Exits with FAULT_EXIT_STATUS, logging the point, when FAULT_ENV names it. */
void fault_point(const char *name);

#endif
