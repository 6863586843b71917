/*
 * main.c - hotlined: start-up, signals, the maintenance timer, shutdown.
 *
 * Owns: the command line, loading and reloading the config (SIGHUP keeps the
 * running config when the new one fails), wiring store and server to one
 * libevent loop, and the graceful stop (SIGTERM/SIGINT: stop accepting and
 * reading, commit and acknowledge what was read, exit 0; a second signal or
 * shutdown_timeout_ms exits at once, acknowledging nothing uncommitted); when
 * each of these happens it tells systemd (notify.c), and the janitor pings
 * systemd's watchdog.
 * Never: exits because PostgreSQL or Redis is unavailable at run time.
 */
#include <event2/event.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bus_redis.h"
#include "calendar.h"
#include "calendar_dir.h"
#include "clock.h"
#include "config.h"
#include "dates.h"
#include "fault.h"
#include "horizon.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "relay.h"
#include "router.h"
#include "server.h"
#include "store_pg.h"
#include "transition.h"
#include "watcher.h"

#define JANITOR_INTERVAL_MS 200
#define STATS_INTERVAL_MS 60000

struct daemon {
	const char *config_path;
	struct hotline_config cfg;
	struct event_base *base;
	struct store_pg *store;
	struct router *router;
	struct bus *bus;
	struct relay *relay;
	struct transitions *transitions;
	struct http *http;
	struct metrics *metrics;
	struct watcher *watcher;
	struct horizon *horizon;
	const struct calendar *calendar; /* NULL: no files, weekdays only */
	struct server *server;
	struct event *ev_janitor;
	struct event *ev_signals[3];
	bool stopping;
	int64_t stop_deadline_ms;
	int64_t next_stats_ms;
};

/*
 * Descriptors a config needs: each client connection holds a socket and, for a
 * department, a Redis connection of its own; then the PostgreSQL pool, Redis's
 * two shared connections, the listeners, stdio and calendar files.
 */
#define FD_RESERVE 64

static rlim_t fds_needed(const struct hotline_config *cfg)
{
	return (rlim_t)(2 * cfg->max_connections + cfg->pg_connections + FD_RESERVE);
}

/*
 * Raises RLIMIT_NOFILE's soft limit to what the config needs (accept() failing
 * with EMFILE is survivable, but a limit that cannot hold max_connections is a
 * config error). Returns 0, or -1 with the reason in err.
 */
static int ensure_fd_limit(const struct hotline_config *cfg, char *err, size_t errlen)
{
	rlim_t needed = fds_needed(cfg);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		snprintf(err, errlen, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= needed)
		return 0;
	if (rl.rlim_cur == RLIM_INFINITY)
		return 0;
	rlim_t was = rl.rlim_cur;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < needed) {
		snprintf(
			err, errlen,
			"max_connections = %ld needs %llu file descriptors (two per connection: a "
			"department's also holds a Redis connection, plus %d), but RLIMIT_NOFILE's "
			"hard limit is %llu: lower max_connections or raise the limit (ulimit -Hn, "
			"LimitNOFILE= in a systemd unit)",
			cfg->max_connections, (unsigned long long)needed, FD_RESERVE,
			(unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = needed;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		snprintf(err, errlen, "raising RLIMIT_NOFILE to %llu: %s",
			 (unsigned long long)needed, strerror(errno));
		return -1;
	}
	log_info("raised the open-file limit from %llu to %llu for max_connections = %ld",
		 (unsigned long long)was, (unsigned long long)needed, cfg->max_connections);
	return 0;
}

/*
 * A start-up failure: "hotlined: reason" as a command's error on a terminal, an
 * error line (its priority for journalctl -p err) when stderr is the journal.
 */
static void startup_failed(const char *err)
{
	if (log_get_journal())
		log_error("%s", err);
	else
		fprintf(stderr, "hotlined: %s\n", err);
}

static void usage(FILE *out)
{
	fputs("usage: hotlined -c FILE [--check-config]\n"
	      "\n"
	      "The hotline12345 intake and routing daemon. Runs in the foreground and logs\n"
	      "to stderr (run it under systemd or deploy/dev-up).\n"
	      "\n"
	      "  -c, --config FILE   configuration file (INI; see README \"Configuration\")\n"
	      "      --check-config  validate the configuration and exit (0 = valid)\n"
	      "  -h, --help          this text\n"
	      "      --version       print the version\n"
	      "\n"
	      "signals: SIGTERM/SIGINT stop gracefully (a second one stops at once),\n"
	      "         SIGHUP reloads the configuration (kept unchanged if invalid).\n",
	      out);
}

static void log_stats(struct daemon *d, const char *when)
{
	struct server_stats ss;
	struct store_pg_stats ps;
	struct relay_stats rs;
	struct bus_stats bs;
	struct watcher_stats ws;
	server_get_stats(d->server, &ss);
	store_pg_get_stats(d->store, &ps);
	relay_get_stats(d->relay, &rs);
	bus_get_stats(d->bus, &bs);
	watcher_get_stats(d->watcher, &ws);
	log_info("stats(%s): connections=%zu records=%llu acked=%llu duplicates=%llu "
		 "direct_closed=%llu linked=%llu "
		 "invalid=%llu failed=%llu inflight=%zu paused=%zu batches=%llu "
		 "batch_max=%llu repeat_waits=%llu pg_retried=%llu pg_ready=%d pg_reconnects=%llu "
		 "redis=%s published=%llu republish_skipped=%llu "
		 "swept=%llu relay_dropped=%llu dept_acked=%llu rebuilds=%llu redis_failovers=%llu "
		 "rules_version=%lld "
		 "due_soon=%llu overdue=%llu calendar_days_left=%lld",
		 when, ss.connections, (unsigned long long)ss.records, (unsigned long long)ss.acked,
		 (unsigned long long)ss.duplicates, (unsigned long long)ss.direct_closed,
		 (unsigned long long)ss.linked, (unsigned long long)ss.invalid,
		 (unsigned long long)ss.failed, ss.inflight, ss.paused,
		 (unsigned long long)ps.batches, (unsigned long long)ps.batch_records_max,
		 (unsigned long long)ps.repeat_waits, (unsigned long long)ps.retried,
		 ps.connections_ready, (unsigned long long)ps.reconnects,
		 bs.connected ? "up" : "down", rs.published, bs.republish_skipped, rs.swept,
		 rs.dropped, bs.acked, bs.rebuilds, bs.failovers, bs.rules_version, ws.due_soon,
		 ws.overdue, (long long)horizon_days_left(d->horizon));
}

static void on_janitor(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	int64_t now = clock_now_ms();
	notify_watchdog();
	server_janitor(d->server, now);
	if (now >= d->next_stats_ms) {
		d->next_stats_ms = now + STATS_INTERVAL_MS;
		log_stats(d, "periodic");
	}
	if (!d->stopping)
		return;
	struct server_stats ss;
	server_get_stats(d->server, &ss);
	if (ss.connections == 0 && store_pg_pending(d->store) == 0 && http_pending(d->http) == 0) {
		log_info("shutdown: every record read was committed and acknowledged");
		event_base_loopexit(d->base, NULL);
	} else if (now >= d->stop_deadline_ms) {
		log_warn("shutdown: shutdown_timeout_ms passed with %zu connections open, "
			 "%zu records uncommitted (not acknowledged; feeds resend them) and %zu "
			 "HTTP requests unanswered",
			 ss.connections, store_pg_pending(d->store), http_pending(d->http));
		event_base_loopexit(d->base, NULL);
	}
}

static void install_calendar(struct daemon *d, struct calendar *cal)
{
	calendar_free((struct calendar *)d->calendar);
	d->calendar = cal;
	if (cal)
		log_info("calendar: working days known for %d..%d (%s)", calendar_first_year(cal),
			 calendar_last_year(cal), d->cfg.calendar_dir);
	else
		log_warn("calendar: no *.cal files in %s: working days are Monday to Friday",
			 d->cfg.calendar_dir);
}

/* Returns whether the file was taken (false: invalid, the running config kept). */
static bool reload(struct daemon *d)
{
	struct hotline_config fresh;
	char err[1024], note[512];
	if (config_load(d->config_path, &fresh, err, sizeof(err)) != 0) {
		log_error("reload failed, keeping the running configuration: %s", err);
		return false;
	}
	int kept = config_apply_reload(&d->cfg, &fresh, note, sizeof(note));
	config_free(&fresh);
	log_set_level(log_level_parse(d->cfg.log_level));
	if (kept)
		log_warn("reload: changed options that need a restart were not applied: %s", note);
	store_pg_config_changed(d->store);
	struct calendar *cal;
	if (calendar_dir_load(d->cfg.calendar_dir, &cal, err, sizeof(err)) != 0)
		log_error("reload: keeping the working-day calendar: %s", err);
	else {
		install_calendar(d, cal);
		horizon_recheck(d->horizon);
	}
	log_info("reloaded %s (%zu feeds)", d->config_path, d->cfg.nfeeds);
	return true;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	if (sig == SIGHUP) {
		notify_reloading();
		notify_ready(reload(d) ? "running; configuration reloaded"
				       : "running; the last reload failed (see the log), the "
					 "running configuration kept");
		return;
	}
	if (d->stopping) {
		log_warn("second stop signal: exiting now");
		event_base_loopbreak(d->base);
		return;
	}
	d->stopping = true;
	notify_stopping("stopping: finishing in-flight records");
	d->stop_deadline_ms = clock_now_ms() + d->cfg.shutdown_timeout_ms;
	log_info("%s: stopping; finishing in-flight records", strsignal((int)sig));
	server_begin_shutdown(d->server);
	http_stop(d->http);
}

int main(int argc, char **argv)
{
	/* A reload asked for before the handlers exist (a supervisor's SIGHUP to a
	 * daemon still starting) must not kill it: the config is being read anyway.
	 * A stop asked for then waits, blocked, for the handlers: it is a graceful
	 * stop once they exist (an exit by the signal would look like a crash). */
	signal(SIGHUP, SIG_IGN);
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);
	struct daemon d;
	memset(&d, 0, sizeof(d));
	bool check_only = false;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'k':
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hotlined %s\n", HOTLINE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!d.config_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	log_set_ident("hotlined");
	log_detect_journal();
	char err[1024];
	if (config_load(d.config_path, &d.cfg, err, sizeof(err)) != 0) {
		startup_failed(err);
		return 1;
	}
	struct calendar *cal = NULL;
	if (calendar_dir_load(d.cfg.calendar_dir, &cal, err, sizeof(err)) != 0) {
		if (check_only || errno != ENOENT) {
			startup_failed(err);
			config_free(&d.cfg);
			return 1;
		}
		cal = NULL; /* a missing directory: warned about below */
	}
	if (check_only) {
		printf("%s: configuration is valid (%zu feeds, %zu departments, %zu Open311 "
		       "services, calendar %d..%d)\n",
		       d.config_path, d.cfg.nfeeds, d.cfg.ndepts, d.cfg.nservices,
		       cal ? calendar_first_year(cal) : 0, cal ? calendar_last_year(cal) : 0);
		calendar_free(cal);
		config_free(&d.cfg);
		return 0;
	}
	log_set_level(log_level_parse(d.cfg.log_level));
	if (ensure_fd_limit(&d.cfg, err, sizeof(err)) != 0) {
		startup_failed(err);
		calendar_free(cal);
		config_free(&d.cfg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)(time(NULL) ^ getpid()));

	d.base = event_base_new();
	if (!d.base)
		fatal("cannot create the event loop");
	fault_init();
	if (clock_init(d.base, err, sizeof(err)) != 0) {
		startup_failed(err);
		calendar_free(cal);
		config_free(&d.cfg);
		event_base_free(d.base);
		return 1;
	}
	if (clock_offset_ms() != 0) {
		char at[DATES_ISO_LEN];
		dates_format_iso(clock_now_ms(), (int)d.cfg.utc_offset_minutes, at, sizeof(at));
		log_warn("clock: %s is set: the daemon's clock reads %s (%+lld ms from the system "
			 "clock); every time it writes follows it",
			 CLOCK_ENV, at, (long long)clock_offset_ms());
	}
	d.store = store_pg_new(d.base, &d.cfg);
	if (!d.store)
		fatal("cannot create the PostgreSQL store: out of memory");
	install_calendar(&d, cal);
	d.transitions = transitions_new(d.base, &d.cfg, d.store, &d.calendar);
	d.router = d.transitions ? router_new(d.base, &d.cfg, d.store, &d.calendar) : NULL;
	d.bus = d.router ? bus_new(d.base, &d.cfg, d.router, d.store) : NULL;
	d.relay = d.bus ? relay_new(d.base, &d.cfg, d.bus, d.store) : NULL;
	if (!d.relay)
		fatal("cannot create the router, bus or relay: out of memory");
	struct store_hooks hooks = { router_ready, router_route, d.router, relay_dispatched,
				     d.relay };
	store_pg_set_hooks(d.store, &hooks);
	bus_on_ready(d.bus, relay_kick, d.relay);
	d.server = server_new(d.base, &d.cfg, d.store, d.bus);
	if (!d.server)
		fatal("cannot start listening (see above)");
	server_set_transitions(d.server, d.transitions);
	d.watcher = watcher_new(d.base, &d.cfg, d.store, d.bus);
	d.horizon = d.watcher ? horizon_new(d.base, &d.cfg, &d.calendar, d.bus) : NULL;
	if (!d.horizon)
		fatal("cannot create the deadline watcher: out of memory");
	struct http_deps http_deps = { d.store, d.transitions, d.bus, d.server, d.horizon };
	d.http = http_new(d.base, &d.cfg, &http_deps);
	if (!d.http)
		fatal("cannot start the HTTP API (see above)");
	struct metrics_deps metrics_deps = { d.server,	d.store, d.relay,  d.bus,      d.watcher,
					     d.horizon, d.http,	 d.router, &d.stopping };
	d.metrics = metrics_new(d.base, &d.cfg, &metrics_deps);
	if (!d.metrics)
		fatal("cannot start the operations listener (see above)");
	store_pg_start(d.store);
	router_start(d.router);
	bus_start(d.bus);
	relay_start(d.relay);
	watcher_start(d.watcher);
	horizon_start(d.horizon);
	metrics_start(d.metrics);

	const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	for (int i = 0; i < 3; i++) {
		d.ev_signals[i] = evsignal_new(d.base, sigs[i], on_signal, &d);
		if (!d.ev_signals[i] || evsignal_add(d.ev_signals[i], NULL) != 0)
			fatal("cannot install signal handlers");
	}
	sigprocmask(SIG_UNBLOCK, &stop_signals, NULL); /* one held back is handled now */
	d.ev_janitor = event_new(d.base, -1, EV_PERSIST, on_janitor, &d);
	struct timeval tick = { 0, JANITOR_INTERVAL_MS * 1000 };
	if (!d.ev_janitor || event_add(d.ev_janitor, &tick) != 0)
		fatal("cannot start the maintenance timer");
	d.next_stats_ms = clock_now_ms() + STATS_INTERVAL_MS;
	log_info("hotlined %s started (pid %d, %zu feeds)", HOTLINE_VERSION, (int)getpid(),
		 d.cfg.nfeeds);
	/* Ready once listening: PostgreSQL and Redis are waited for inside (notify.h). */
	notify_init(JANITOR_INTERVAL_MS);
	notify_ready("running");
	notify_watchdog();

	event_base_dispatch(d.base);

	log_stats(&d, "exit");
	metrics_stop(d.metrics);
	http_free(d.http);
	server_free(d.server);
	watcher_free(d.watcher);
	horizon_free(d.horizon);
	relay_stop(d.relay);
	bus_free(d.bus); /* runs outstanding publish callbacks: the relay must still exist */
	metrics_free(d.metrics); /* ... and stream-depth ones: the metrics too */
	relay_free(d.relay);
	router_free(d.router);
	transitions_free(d.transitions);
	calendar_free((struct calendar *)d.calendar);
	store_pg_free(d.store);
	for (int i = 0; i < 3; i++)
		event_free(d.ev_signals[i]);
	event_free(d.ev_janitor);
	event_base_free(d.base);
	config_free(&d.cfg);
	log_info("stopped");
	return 0;
}
