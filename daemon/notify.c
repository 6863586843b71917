/*
 * notify.c - sd_notify(3) messages to systemd: ready, reloading, stopping, and
 * the watchdog's pings. See notify.h for what each message means and when the
 * daemon sends it.
 */
#include "notify.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"

static uint64_t watchdog_usec;	 /* 0: no watchdog */
static uint64_t last_ping_usec;	 /* CLOCK_MONOTONIC of the last WATCHDOG=1; 0: none yet */
static bool send_failure_logged; /* one log line, not one per ping */

/* CLOCK_MONOTONIC in microseconds: the clock of MONOTONIC_USEC and of the pings. */
static uint64_t monotonic_usec(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Sends message; returns whether it was sent (false: no NOTIFY_SOCKET, or failed). */
static bool notify_send(const char *message)
{
	int rc = sd_notify(0, message);
	if (rc < 0 && !send_failure_logged) {
		send_failure_logged = true;
		log_warn("systemd: cannot send a notification to $NOTIFY_SOCKET: %s "
			 "(logged once)",
			 strerror(-rc));
	}
	return rc > 0;
}

void notify_init(long tick_ms)
{
	uint64_t usec = 0;
	int rc = sd_watchdog_enabled(0, &usec);
	if (rc < 0)
		log_warn("systemd: ignoring the watchdog: WATCHDOG_USEC or WATCHDOG_PID is not "
			 "valid: %s",
			 strerror(-rc));
	if (rc <= 0)
		return;
	watchdog_usec = usec;
	log_info("systemd: watchdog every %llu ms; pinged every %llu ms while the event loop runs",
		 (unsigned long long)(usec / 1000), (unsigned long long)(usec / 2000));
	if (usec < (uint64_t)tick_ms * 2000u)
		log_warn("systemd: WatchdogSec= of %llu ms is shorter than two maintenance ticks "
			 "(%ld ms each): the daemon will be killed while healthy; make it at "
			 "least a few seconds",
			 (unsigned long long)(usec / 1000), tick_ms);
}

void notify_ready(const char *status)
{
	char message[512];
	snprintf(message, sizeof(message), "READY=1\nSTATUS=%s", status);
	notify_send(message);
}

void notify_reloading(void)
{
	char message[128];
	snprintf(message, sizeof(message), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)monotonic_usec());
	notify_send(message);
}

void notify_stopping(const char *status)
{
	char message[512];
	snprintf(message, sizeof(message), "STOPPING=1\nSTATUS=%s", status);
	notify_send(message);
}

void notify_watchdog(void)
{
	if (watchdog_usec == 0)
		return;
	uint64_t now = monotonic_usec();
	if (last_ping_usec != 0 && now - last_ping_usec < watchdog_usec / 2)
		return;
	if (notify_send("WATCHDOG=1"))
		last_ping_usec = now;
}
