/*
 * notify.h - telling the service manager (systemd) how hotlined is doing.
 *
 * Owns: the sd_notify(3) messages of the daemon's life. READY=1 once the
 * listeners are bound, before PostgreSQL or Redis answer: hotlined never exits
 * for want of them (it holds records back and reconnects), so waiting for them
 * would only turn a database outage at boot into a start timeout and a restart
 * loop. RELOADING=1 (with MONOTONIC_USEC, which systemd 253 and later want) when
 * SIGHUP arrives and READY=1 once the reload is done, whether it kept the running
 * config or not; STOPPING=1 at the stop signal; WATCHDOG=1 from the janitor.
 * Never: fails or stops the daemon. Without NOTIFY_SOCKET (not run by systemd
 * with Type=notify) every call does nothing; a message that cannot be sent is
 * logged once.
 * Callers: main.c.
 */
#ifndef HOTLINE_NOTIFY_H
#define HOTLINE_NOTIFY_H

/*
 * Reads WATCHDOG_USEC (sd_watchdog_enabled). tick_ms is how often
 * notify_watchdog() will be called; a watchdog shorter than two ticks cannot be
 * served and is warned about.
 */
void notify_init(long tick_ms);

/* READY=1, with status shown by `systemctl status` (STATUS=). */
void notify_ready(const char *status);
/* RELOADING=1 and MONOTONIC_USEC=now: the reload starts. READY=1 ends it. */
void notify_reloading(void);
/* STOPPING=1, with status. */
void notify_stopping(const char *status);
/*
 * WATCHDOG=1 when half the watchdog interval passed since the last one. Called
 * by the janitor timer only, so that the pings stop when the event loop stalls
 * and systemd kills and restarts the daemon.
 */
void notify_watchdog(void);

#endif
