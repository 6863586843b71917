"""injector.py - the faults, at seeded random timings, while the load runs.

Owns: two threads until a deadline. The kill thread kills a running hotlined with
kill -9 every few seconds in one of four ways (restarted at once; after a pause; at
full load, right after every feed sent a burst; and killed again while it recovers).
The server thread goes through every other kind once, in a seeded random order, then
picks at random: PostgreSQL stopped as in a crash (pg_ctl -m immediate) and started
again, also while Redis is down (either going first); commit confirmations lost
(PgProxy: any statement's, and department actions' and callback results' in
particular); Redis frozen (SIGSTOP) for seconds; Redis restarted without persistence
while the departments are away, with hotlined stopped at each step of the rebuild
(HOTLINED_FAULT=rebuild_seen, rebuild_claimed, rebuild_announced: daemon/fault.h),
and again with the daemons up while their outbox DELETEs are slow to reach
PostgreSQL; a feed, a JSON-lines feed, a department and an agent cut mid-frame, and
peers sending random bytes; a third daemon on the same servers, one of the three
killed; SIGHUP (a reload) under load. The Redis rebuild holds the kill thread off (it
stops every daemon itself); everything else may overlap.
Never: leaves a server stopped or frozen when it returns (finish() restores them).
Callers: suite.py.
"""

import random
import signal
import threading
import time

import clients

KILL_KINDS = ["kill9_now", "kill9_pause", "kill9_full_load", "kill9_recovering"]
SERVER_KINDS = ["pg_kill", "pg_kill_redis_down", "pg_lost_confirmations", "redis_freeze",
                "redis_loss_rebuild", "redis_loss_slow_pg", "cut_mid_frame", "third_daemon",
                "reload"]
REBUILD_POINTS = ["rebuild_seen", "rebuild_claimed", "rebuild_announced"]
# transitions (daemon/transition.c) whose commit confirmations are lost on purpose
TRANSITION_EVENTS = ["ACCEPT", "REPLY", "RETURN", "EXTEND", "CALLBACK_SATISFIED",
                     "CALLBACK_BASICALLY_SATISFIED", "CALLBACK_UNSATISFIED", "CALLBACK_UNREACHABLE"]


class Injector:
    """kinds: the server fault kinds to use (the soak uses fewer); kill_every: (min, max)
    seconds between kill episodes, or None for no kill thread; kill_slots: the slots
    the kill thread may kill."""

    def __init__(self, ctx, seed, kinds=SERVER_KINDS, kill_every=(1.0, 4.0), kill_slots=(0, 1, 2),
                 server_every=(1.0, 3.0)):
        self.ctx = ctx
        self.kinds = list(kinds)
        self.kill_every = kill_every
        self.kill_slots = kill_slots
        self.server_every = server_every
        self.kill_rng = random.Random(seed * 7919 + 1)
        self.server_rng = random.Random(seed * 7919 + 2)
        self.exclusive = threading.Lock()
        self.over = threading.Event()  # set by finish(): no new episode starts
        self.until = 0.0
        self.threads = []
        self.cut_serial = 0

    def start(self, seconds):
        self.until = time.monotonic() + seconds
        if self.kill_every:
            self.threads.append(threading.Thread(target=self._kill_loop, name="kills", daemon=True))
        if self.kinds:
            self.threads.append(threading.Thread(target=self._server_loop, name="server-faults",
                                                 daemon=True))
        for t in self.threads:
            t.start()

    def _pause(self, rng, between):
        """Waits a random time between episodes; False when the faults are over."""
        delay = rng.uniform(*between)
        if self.over.wait(max(0.0, min(delay, self.until - time.monotonic()))):
            return False
        return time.monotonic() < self.until

    def join(self):
        self.over.set()
        for t in self.threads:
            t.join()

    def _guarded(self, name, fn, *args):
        try:
            fn(*args)
        except Exception as e:  # a harness failure is reported, never silently ignored
            self.ctx.problem(f"fault {name} failed in the harness: {e!r}")

    # ------------------------------------------------------------- kill -9

    def _kill(self, slot, how):
        pid = slot.kill9()
        if pid is not None:
            self.ctx.count("kill -9 hotlined")
            self.ctx.log(f"fault: kill -9 hotlined slot {slot.index} pid {pid} ({how})")
        return pid is not None

    def _kill_loop(self):
        rng = self.kill_rng
        while self._pause(rng, self.kill_every):
            with self.exclusive:
                running = [s for s in self.ctx.daemons.running() if s.index in self.kill_slots]
                if not running:
                    continue
                slot = rng.choice(running)
                kind = rng.choice(KILL_KINDS)
                self._guarded(kind, getattr(self, "_" + kind), slot, rng)

    def _kill9_now(self, slot, rng):
        if self._kill(slot, "restarted at once"):
            self.ctx.start_slot(slot)

    def _kill9_pause(self, slot, rng):
        pause = rng.uniform(1.0, 5.0)
        if self._kill(slot, f"restarted after {pause:.1f} s"):
            time.sleep(pause)
            self.ctx.start_slot(slot)

    def _kill9_full_load(self, slot, rng):
        for feed in self.ctx.feeds:
            feed.burst(rng.randint(100, 300))
        time.sleep(rng.uniform(0.2, 1.0))
        if self._kill(slot, "at full load, restarted at once"):
            self.ctx.start_slot(slot)

    def _kill9_recovering(self, slot, rng):
        if not self._kill(slot, "restarted, to be killed again while it recovers"):
            return
        self.ctx.start_slot(slot)
        time.sleep(rng.uniform(0.05, 1.5))
        if self._kill(slot, "while it recovers; restarted"):
            self.ctx.start_slot(slot)

    # ------------------------------------------------------------- servers and peers

    def _server_loop(self):
        rng = self.server_rng
        order = list(self.kinds)
        rng.shuffle(order)
        while self._pause(rng, self.server_every):
            kind = order.pop(0) if order else rng.choice(self.kinds)
            self._guarded(kind, getattr(self, "_" + kind), rng)

    def _pg_kill(self, rng):
        pause = rng.uniform(1.0, 5.0)
        self.ctx.log(f"fault: PostgreSQL stopped -m immediate for {pause:.1f} s")
        self.ctx.pg.kill()
        self.ctx.count("PostgreSQL -m immediate")
        time.sleep(pause)
        self.ctx.pg.restart_after_kill()

    def _pg_kill_redis_down(self, rng):
        """Both servers down at once, in either order; Redis comes back empty."""
        if rng.random() < 0.5:
            self.ctx.log("fault: Redis stopped, then PostgreSQL stopped -m immediate while Redis is down")
            self.ctx.redis.stop()
            self.ctx.count("Redis stopped (restart loses its data)")
            time.sleep(rng.uniform(0.5, 2.0))
            self.ctx.pg.kill()
            self.ctx.count("PostgreSQL -m immediate while Redis is down")
        else:
            self.ctx.log("fault: PostgreSQL stopped -m immediate, then Redis stopped while PostgreSQL is down")
            self.ctx.pg.kill()
            self.ctx.count("PostgreSQL -m immediate")
            time.sleep(rng.uniform(0.2, 1.5))
            self.ctx.redis.stop()
            self.ctx.count("Redis stopped while PostgreSQL is down (restart loses its data)")
        time.sleep(rng.uniform(1.0, 4.0))
        if rng.random() < 0.5:
            self.ctx.pg.restart_after_kill()
            time.sleep(rng.uniform(0.0, 2.0))
            self.ctx.redis.start()
        else:
            self.ctx.redis.start()
            time.sleep(rng.uniform(0.0, 2.0))
            self.ctx.pg.restart_after_kill()

    def _pg_lost_confirmations(self, rng):
        """For a few seconds, again and again, cut connections right after a commit: of any
        statement, and of the next one to three of each kind of transition (department
        actions, callback results), which the daemon reads and decides again when it
        sends them again."""
        before = self.ctx.proxy.cuts
        self.ctx.proxy.cut_statements({self.ctx.proxy.bind_param(event): rng.randint(1, 3)
                                       for event in TRANSITION_EVENTS})
        end = time.monotonic() + rng.uniform(2.0, 5.0)
        fraction = rng.uniform(0.3, 1.0)
        while time.monotonic() < end:
            self.ctx.proxy.arm_cut(rng, fraction)
            time.sleep(rng.uniform(0.05, 0.4))
        time.sleep(1.0)
        self.ctx.proxy.cut_statements({})
        made = self.ctx.proxy.cuts - before
        self.ctx.count("commit confirmation lost", made)
        self.ctx.log(f"fault: {made} PostgreSQL connections cut after a commit, before its confirmation")

    def _redis_freeze(self, rng):
        pause = rng.uniform(3.0, 8.0)
        self.ctx.log(f"fault: Redis frozen (SIGSTOP) for {pause:.1f} s")
        self.ctx.redis.freeze()
        self.ctx.count("Redis SIGSTOP/SIGCONT")
        time.sleep(pause)
        self.ctx.redis.thaw()

    def _redis_loss_rebuild(self, rng):
        with self.exclusive:
            self.ctx.log("fault: departments away; a backlog builds up in their streams")
            self.ctx.departments_away(True)
            time.sleep(rng.uniform(2.0, 4.0))
            for slot in self.ctx.daemons.running():
                self._kill(slot, "before Redis loses its data")
            self.ctx.redis.restart()
            self.ctx.count("Redis restarted without persistence (departments away)")
            self.ctx.log("fault: Redis restarted without persistence: the backlog is lost with it")
            first = self.ctx.daemons.slots[0]
            for point in REBUILD_POINTS:
                first.start(fault=point)
                rc = first.wait_exit(30)
                if rc is None:
                    first.kill9()
                    self.ctx.problem(f"hotlined with HOTLINED_FAULT={point} never reached it:\n"
                                     f"{first.log_tail(20)}")
                elif rc != 86 or f"fault point {point}" not in first.log_tail(5):
                    self.ctx.problem(f"hotlined with HOTLINED_FAULT={point} exited with {rc}:\n"
                                     f"{first.log_tail(20)}")
                else:
                    self.ctx.count(f"hotlined stopped at {point}")
                    self.ctx.log(f"fault: hotlined stopped at {point}")
            for slot in self.ctx.daemons.slots[:2]:
                self.ctx.start_slot(slot)
            time.sleep(rng.uniform(1.0, 3.0))
            self.ctx.departments_away(False)
            self.ctx.log("fault: departments back")

    def _redis_loss_slow_pg(self, rng):
        """Redis loses its data while the outbox's DELETEs (of rows just published to
        it) are slow to reach PostgreSQL: the rebuild must still republish their tickets.
        No kill meanwhile: a daemon killed with its DELETE held back would leave its rows
        for the sweeper, which hides what this looks for."""
        with self.exclusive:
            self.ctx.log("fault: departments away; outbox DELETEs slow; Redis restarted without persistence")
            self.ctx.departments_away(True)
            time.sleep(rng.uniform(1.0, 3.0))
            self.ctx.proxy.delay_statements({b"DELETE FROM outbox": rng.uniform(2.0, 4.0)})
            time.sleep(rng.uniform(0.2, 1.0))
            self.ctx.redis.restart()
            self.ctx.count("Redis restarted without persistence while outbox DELETEs are slow")
            time.sleep(rng.uniform(3.0, 5.0))
            self.ctx.proxy.delay_statements({})
            time.sleep(rng.uniform(0.5, 2.0))
            self.ctx.departments_away(False)

    def _cut_mid_frame(self, rng):
        self.cut_serial += 1
        feed = rng.choice([f for f in self.ctx.feeds if not f.json])
        done = [
            clients.cut_feed(self.ctx, rng, feed.code, feed.token, self.cut_serial),
            clients.cut_json_feed(self.ctx, rng, self.ctx.json_feed.code, self.ctx.json_feed.token,
                                  self.cut_serial),
            clients.cut_dept(self.ctx, rng, "da", self.ctx.dept_tokens["da"]),
            clients.cut_agent(self.ctx, rng, f"cut{self.cut_serial}", self.ctx.agent_token),
        ]
        for name, ok in zip(["feed", "JSON feed", "department", "agent"], done):
            if ok:
                self.ctx.count(f"{name} cut mid-frame")
        noise = sum(clients.garbage(self.ctx, rng, json_lines=rng.random() < 0.3) for _ in range(3))
        self.ctx.count("peer sending random bytes", noise)
        self.ctx.log(f"fault: a feed, a JSON feed, a department and an agent cut mid-frame ({sum(done)} of 4); "
                     f"{noise} peers sending random bytes")

    def _reload(self, rng):
        """SIGHUP to every daemon under load (the config is unchanged: a no-op reload),
        once it has started (servers.Slot.handles_signals)."""
        for slot in self.ctx.daemons.running():
            if not slot.handles_signals():
                continue
            try:
                slot.proc.send_signal(signal.SIGHUP)
                self.ctx.count("SIGHUP reload under load")
            except ProcessLookupError:
                pass
        self.ctx.log("fault: SIGHUP (reload) to every daemon")

    def _third_daemon(self, rng):
        third = self.ctx.daemons.slots[2]
        if third.running():
            return
        self.ctx.start_slot(third)
        self.ctx.count("third daemon on the same servers")
        self.ctx.log("fault: a third daemon on the same servers")
        time.sleep(rng.uniform(3.0, 8.0))
        with self.exclusive:
            running = self.ctx.daemons.running()
            victim = rng.choice(running) if running else None
            if victim is not None and self._kill(victim, "one of three"):
                if victim.index != 2:
                    time.sleep(rng.uniform(0.5, 3.0))
                    self.ctx.start_slot(victim)
        time.sleep(rng.uniform(1.0, 4.0))
        if third.running():
            rc = third.terminate()
            self.ctx.log(f"the third daemon stopped (SIGTERM): exit {rc}")

    # ------------------------------------------------------------- the end

    def finish(self):
        """Every server up and thawed, slots 0 and 1 running, slot 2 stopped, no cut armed."""
        self.join()
        ctx = self.ctx
        ctx.redis.thaw()
        if not ctx.pg.running():
            ctx.pg.restart_after_kill()
        if ctx.redis.pid() is None or not _alive(ctx.redis.pid()):
            ctx.redis.start()
        ctx.proxy.cut_statements({})
        ctx.proxy.delay_statements({})
        with ctx.proxy.lock:
            for c in ctx.proxy.conns:
                c.cut_armed = False
        for slot in ctx.daemons.slots[:2]:
            if not slot.running():
                ctx.start_slot(slot)
        third = ctx.daemons.slots[2]
        if third.running():
            third.terminate()
        ctx.departments_away(False)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
