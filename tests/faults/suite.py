"""suite.py - the fault suite's run: servers, daemons, load, faults, drain, proof.

Owns: the order of a run (tests/faults/run and tests/faults/soak are thin entry
points onto run_suite):
  1. a throwaway PostgreSQL (behind PgProxy) and Redis in a work directory; the
     schema (hotlinectl migrate) and the suite's rules (hotlinectl route load);
  2. two hotlined on those servers (slots 0 and 1; slot 2 is the occasional third).
     Slot 1's clock runs LATE_MS behind (HOTLINED_CLOCK_START), so the 2-hour
     deadlines of the urgent tickets it dispatches fall due during the run for the
     other daemons' watchers: deadline escalation happens under the faults too;
  3. the load: five feeds (one on JSON lines) with every record kept until its ack,
     departments (Python consumers that accept, reply, return and extend, and the
     reference hotline-dept with --reconnect), four agents calling back and taking
     calls; hostile peers come and go with the faults;
  4. the faults (injector.py) for most of the time given;
  5. the drain: no more intake or new department actions, every server and two
     daemons up, agents satisfied, until every record is acknowledged, every
     dispatch received, the outbox and feed_updates empty and no ticket left REPLIED
     (bounded by --drain-timeout);
  6. the daemons stopped with SIGTERM (exit 0 required), then checker.py's proof.
Exit status 0 only when the checker found nothing, no daemon exited unless the
suite made it, no sanitizer report appeared, the drain finished and the daemons'
memory stayed under --max-rss-mb.
Never: touches servers outside its work directory; leaves one running.
"""

import collections
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

import checker
import clients
import hotline_client
import servers

REPO = Path(__file__).resolve().parents[2]

LATE_MS = 2 * 3600 * 1000 - 8000  # slot 1's clock: urgent (2 h) deadlines fall due 8 s later
RULES = """rule leak -> da
  keywords 漏水, 停水

rule noise -> db
  keywords 噪音

rule lights -> dc
  keywords 路灯, 井盖
"""
RULE_DEPTS = {"leak": "da", "noise": "db", "lights": "dc", "subcenter:fs": "ds"}
PYTHON_DEPTS = {"da", "ds"}  # every action of theirs is sent (and recorded) by DeptConsumer
FEEDS = {  # code: (mode, sub-centre dept, records/s, JSON lines); about 65 records/s in all,
    # which the departments and agents keep up with on 2 shared cores (the drain is short)
    "fa": ("merged", None, 20, False),
    "fb": ("merged", None, 15, False),
    "fp": ("parallel", None, 12, False),
    "fs": ("subcenter", "ds", 8, False),
    "fj": ("merged", None, 10, True),
}
AGENTS_FEED = "agents"


class Context:
    """What the clients and the injector share: servers, daemons, records, counters."""

    def __init__(self, workdir, build, seed, rate_scale):
        self.workdir = Path(workdir)
        self.build = Path(build)
        self.seed = seed
        self.rate_scale = rate_scale
        self.tag = f"s{seed}"
        self.records = clients.Records(str(self.workdir / "records"))
        self.stopping = False
        self.problems = []
        self.faults = collections.Counter()
        self.t0 = time.monotonic()
        self.logfile = open(self.workdir / "suite.log", "a", encoding="utf-8")
        self.lock = threading.Lock()
        self.feeds, self.agents, self.consumers, self.hotline_depts = [], [], [], []
        self.json_feed = None
        self.feed_tokens = {code: f"{code}-feed-{seed}" for code in list(FEEDS) + [AGENTS_FEED]}
        self.dept_tokens = {code: f"{code}-dept-{seed}" for code in ("da", "db", "dc", "ds")}
        self.agent_token = f"agent-terminal-{seed}"
        self.desk_token = None  # a supervisor's HTTP token, made by setup()
        self.pg = self.redis = self.proxy = self.daemons = None

    def log(self, msg):
        line = f"[{time.monotonic() - self.t0:7.1f}s] {msg}"
        with self.lock:
            print(line, flush=True)
            self.logfile.write(line + "\n")
            self.logfile.flush()

    def problem(self, msg):
        self.problems.append(msg)
        self.log("PROBLEM: " + msg)

    def count(self, kind, n=1):
        with self.lock:
            self.faults[kind] += n

    def start_slot(self, slot, fault=None):
        clock = int(time.time() * 1000) - LATE_MS if slot.index == 1 else None
        return slot.start(fault=fault, clock_start_ms=clock)

    def departments_away(self, away):
        for c in self.consumers:
            c.away = away
        if away:
            for d in self.hotline_depts:
                d.signal_stop()
        for d in self.hotline_depts:
            if away:
                d.stop()
            elif d.proc is None or d.proc.poll() is not None:
                d.start()


def bins(build):
    out = {name: build / sub / name for sub, name in
           (("daemon", "hotlined"), ("tools", "hotlinectl"), ("tools", "hotline-dept"))}
    for path in out.values():
        if not os.access(path, os.X_OK):
            sys.exit(f"faults: {path} is missing: build first (meson setup {build} && ninja -C {build})")
    return out


def sanitized(build):
    try:
        opts = json.loads((build / "meson-info" / "intro-buildoptions.json").read_text())
    except (OSError, ValueError):
        return False
    return any(o.get("name") == "b_sanitize" and o.get("value") not in ("none", "", None) for o in opts)


def load_proto(workdir):
    outdir = workdir / "pb"
    outdir.mkdir(exist_ok=True)
    subprocess.run(["protoc", "--proto_path=proto", f"--python_out={outdir}", "proto/hotline.proto"],
                   cwd=REPO, check=True)
    sys.path.insert(0, str(outdir))
    hotline_client.load_proto(importlib.import_module("hotline_pb2"))


def config_fn(ctx, conninfo):
    feeds = {code: (ctx.feed_tokens[code], mode, dept) for code, (mode, dept, _, _) in FEEDS.items()}
    feeds[AGENTS_FEED] = (ctx.feed_tokens[AGENTS_FEED], "merged", None)
    overrides = {
        "hotlined": {"shutdown_timeout_ms": 20000},
        "postgres": {"reconnect_max_ms": 1000, "query_timeout_ms": 10000},
        # faster than the defaults, so that a CI-sized run drains in seconds
        "routing": {"relay_interval_ms": 500, "redeliver_after_ms": 5000},
        "callbacks": {"claim_timeout_ms": 5000},
        "escalation": {"interval_ms": 500},
        "agents": {"token": ctx.agent_token, "feed": AGENTS_FEED},
    }
    return lambda slot: servers.daemon_config(slot, conninfo, ctx.redis.address, feeds, ctx.dept_tokens,
                                              overrides)


def wait_ready(ctx, slots, timeout=60):
    """Until each slot's latest start says its Redis data is verified (it publishes)."""
    deadline = time.monotonic() + timeout
    for slot in slots:
        while True:
            text = slot.log_path.read_text(errors="replace").rsplit("==== fault suite: start", 1)[-1]
            if "bus: Redis ready at" in text:
                break
            if not slot.running() or time.monotonic() > deadline:
                raise RuntimeError(f"hotlined slot {slot.index} did not get ready:\n{slot.log_tail(30)}")
            time.sleep(0.1)


def setup(ctx, b):
    ctx.log(f"work directory {ctx.workdir}")
    load_proto(ctx.workdir)
    ctx.pg = servers.PgServer(ctx.workdir / "pg")
    ctx.pg.start()
    ctx.redis = servers.RedisServer(ctx.workdir / "redis")
    ctx.redis.start()
    servers.run([b["hotlinectl"], "--dsn", ctx.pg.conninfo, "migrate"])
    ctx.desk_token = servers.run([b["hotlinectl"], "--dsn", ctx.pg.conninfo, "user", "add",
                                  f"desk-{ctx.seed}", "--role", "supervisor"]).strip()
    rules = ctx.workdir / "suite.rules"
    rules.write_text(RULES, encoding="utf-8")
    servers.run([b["hotlinectl"], "--redis", ctx.redis.address, "route", "load", rules])
    ctx.proxy = servers.PgProxy(ctx.pg.socket_path())
    conninfo = (f"host=127.0.0.1 port={ctx.proxy.port} user={ctx.pg.user()} dbname=hotline"
                " sslmode=disable gssencmode=disable")
    ctx.daemons = servers.Daemons(b["hotlined"], ctx.workdir, 3, config_fn(ctx, conninfo), ctx.log)
    for slot in ctx.daemons.slots[:2]:
        ctx.start_slot(slot)
    wait_ready(ctx, ctx.daemons.slots[:2])
    ctx.daemons.start_monitor()
    ctx.log(f"PostgreSQL {ctx.pg.conninfo} (daemons through the proxy on port {ctx.proxy.port}); "
            f"Redis {ctx.redis.address}; hotlined on ports "
            + ", ".join(f"{s.binary_port}/{s.json_port}" for s in ctx.daemons.slots))


def start_clients(ctx, b):
    seed = ctx.seed * 1000
    for i, (code, (mode, _dept, rate, json_lines)) in enumerate(FEEDS.items()):
        feed = clients.Feed(ctx, code, ctx.feed_tokens[code], mode, rate * ctx.rate_scale, seed + i,
                            json_lines)
        ctx.feeds.append(feed)
        if json_lines:
            ctx.json_feed = feed
    plans = {d: clients.Plans() for d in ctx.dept_tokens}
    for i, (dept, name) in enumerate([("da", "da-1"), ("da", "da-2"), ("dc", "dc-1"), ("ds", "ds-1")]):
        ctx.consumers.append(clients.DeptConsumer(ctx, dept, ctx.dept_tokens[dept], name, plans[dept],
                                                  seed + 100 + i))
    slots = ctx.daemons.slots
    ctx.hotline_depts = [
        clients.HotlineDept(ctx, b["hotline-dept"], "db", ctx.dept_tokens["db"], slots[0], "accept", "db"),
        clients.HotlineDept(ctx, b["hotline-dept"], "dc", ctx.dept_tokens["dc"], slots[1], "reply", "dc"),
    ]
    ctx.agents = [clients.Agent(ctx, f"ag{i}", ctx.agent_token, AGENTS_FEED, seed + 200 + i) for i in (1, 2, 3, 4)]
    ctx.agents.append(clients.HttpDesk(ctx, ctx.desk_token, AGENTS_FEED, seed + 300))
    for t in ctx.feeds + ctx.consumers + ctx.agents:
        t.start()
    for d in ctx.hotline_depts:
        d.start()


def check_hotline_depts(ctx):
    """A hotline-dept that exited by itself is a defect of the reference client: reported,
    and started again so that its department is not left without a consumer."""
    for d in ctx.hotline_depts:
        if d.exited_by_itself():
            ctx.problem(f"hotline-dept {d.name} exited by itself with {d.proc.returncode} "
                        f"(stderr: {d.stderr_path})")
            d.start()


def received_by_dept(ctx):
    got = collections.defaultdict(set)
    for c in ctx.consumers:
        got[c.dept] |= set(c.received)
    for d in ctx.hotline_depts:
        got[d.dept] |= d.received()
    return got


def status_line(ctx):
    acked = sum(f.stats["acks"] for f in ctx.feeds)
    pending = sum(f.unacked() for f in ctx.feeds + ctx.agents)
    up = ",".join(str(s.index) for s in ctx.daemons.running()) or "none"
    return f"acks {acked}, unacknowledged {pending}, daemons up: {up}"


def drain(ctx, timeout, stall=45.0):
    """Returns the seconds it took, or None when it did not finish within timeout or
    nothing changed for `stall` seconds (what is missing then will not come)."""
    for f in ctx.feeds:
        f.stop_generating()
    for a in ctx.agents:
        a.generating = False
        a.satisfied_only = True
    for c in ctx.consumers:
        c.acting = False  # actions already sent are answered; no new ones
    started = time.monotonic()
    last_report = 0.0
    last_state, changed = None, started
    with psycopg.connect(ctx.pg.conninfo, autocommit=True) as db:
        while True:
            check_hotline_depts(ctx)
            pending = sum(f.unacked() for f in ctx.feeds + ctx.agents)
            outbox, updates, replied = db.execute(
                "SELECT (SELECT count(*) FROM outbox), (SELECT count(*) FROM feed_updates),"
                " (SELECT count(*) FROM tickets WHERE state = 'REPLIED')").fetchone()
            owed = checker.deliveries_owed(db, RULE_DEPTS)
            got = received_by_dept(ctx)
            undelivered = sum(1 for key, dept in owed.items() if key not in got.get(dept, ()))
            elapsed = time.monotonic() - started
            if not (pending or outbox or updates or replied or undelivered):
                ctx.log(f"drained in {elapsed:.1f} s")
                return elapsed
            state = (pending, outbox, updates, replied, undelivered)
            if state != last_state:
                last_state, changed = state, time.monotonic()
            if elapsed - last_report >= 10:
                last_report = elapsed
                ctx.log(f"draining: {pending} unacknowledged, {outbox} outbox rows, {updates} updates owed, "
                        f"{replied} REPLIED, {undelivered} of {len(owed)} dispatches not received")
            stalled = time.monotonic() - changed > stall
            if elapsed > timeout or stalled:
                why = f"nothing changed for {stall:.0f} s" if stalled else "timeout"
                ctx.problem(f"not drained after {elapsed:.0f} s ({why}): {pending} unacknowledged, "
                            f"{outbox} outbox rows, {updates} updates owed, {replied} REPLIED, "
                            f"{undelivered} dispatches not received")
                return None
            time.sleep(1.0)


def stop_all(ctx):
    """Clients first (their records flushed), then every daemon with SIGTERM (exit 0)."""
    ctx.stopping = True
    for t in ctx.feeds + ctx.consumers + ctx.agents:
        t.join(10)
    for d in ctx.hotline_depts:
        d.stop()
    ctx.records.flush()
    for slot in ctx.daemons.slots:
        if slot.running():
            rc = slot.terminate()
            if rc != 0:
                ctx.problem(f"hotlined slot {slot.index} exited with {rc} on SIGTERM (expected 0):\n"
                            f"{slot.log_tail(20)}")
    ctx.daemons.stop_monitor()
    ctx.proxy.stop()


def rss_report(ctx):
    return ", ".join(f"slot {s.index} {s.max_rss_kb / 1024:.1f} MB / {s.max_fds} fds"
                     for s in ctx.daemons.slots if s.starts)


def summary(ctx, result, drained, args, extra_lines=()):
    ok = result.ok() and not ctx.problems and not ctx.daemons.crashes and drained is not None
    max_rss_mb = max((s.max_rss_kb for s in ctx.daemons.slots), default=0) / 1024
    if max_rss_mb > args.max_rss_mb:
        ok = False
    sanitizer = ctx.daemons.sanitizer_reports()
    ok = ok and not sanitizer
    print("\n==== fault suite summary", flush=True)
    print(f"seed {ctx.seed}, build {ctx.build}, work directory {ctx.workdir}")
    print("faults injected, by kind:")
    for kind, n in sorted(ctx.faults.items()):
        print(f"  {kind:58} {n:5d}")
    print(f"  {'total':58} {sum(ctx.faults.values()):5d}")
    print("counts:")
    for name, value in result.counts.items():
        print(f"  {name:58} {value}")
    http = collections.Counter()
    for a in ctx.agents:
        if isinstance(a, clients.HttpDesk):
            http.update({k[5:]: v for k, v in a.stats.items() if k.startswith("http_")})
    print(f"  {'HTTP desk requests, by answer':58} "
          + (", ".join(f"{k} {v}" for k, v in sorted(http.items())) or "none"))
    print(f"  {'drain time (s)':58} {'did not drain' if drained is None else f'{drained:.1f}'}")
    print(f"  {'max RSS (bound ' + str(args.max_rss_mb) + ' MB)':58} {max_rss_mb:.1f} MB ({rss_report(ctx)})")
    print(f"  {'daemon crashes (exits the suite did not cause)':58} {len(ctx.daemons.crashes)}")
    print(f"  {'sanitizer reports in daemon logs':58} {len(sanitizer)}")
    for line in extra_lines:
        print(line)
    for slot, pid, rc, tail in ctx.daemons.crashes:
        print(f"\nCRASH: hotlined slot {slot} pid {pid} exited with {rc}; its log ended:\n{tail}")
    for slot, mark in sanitizer:
        print(f"SANITIZER: {mark} in {ctx.daemons.slots[slot].log_path}")
    for p in ctx.problems:
        print(f"PROBLEM: {p}")
    for what, n, examples in result.failures:
        print(f"FAILED: {what}: {n}")
        for e in examples:
            print(f"    {e}")
    print(f"RESULT: {'PASS' if ok else 'FAIL'} (logs and records in {ctx.workdir})")
    return ok


def teardown(ctx, keep_data):
    for server in (ctx.redis, ctx.pg):
        if server is None:
            continue
        if keep_data:
            if isinstance(server, servers.PgServer):
                servers.run([servers.PGTMP, "pg-stop", server.dir], check=False)
            else:
                server.stop()
        else:
            server.destroy()


def common_args(parser):
    parser.add_argument("--build", default=os.environ.get("HOTLINE_BUILD", "build"),
                        help="build directory with daemon/hotlined and tools/ (default: build)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    parser.add_argument("--workdir", help="work directory (default: a new one under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory even when all passed")
    parser.add_argument("--drain-timeout", type=float, default=120.0,
                        help="longest drain after the faults, s (default 120)")
    parser.add_argument("--max-rss-mb", type=float, default=None,
                        help="largest VmRSS a daemon may reach (default 256; 1024 for a sanitizer build)")
    parser.add_argument("--rate-scale", type=float, default=1.0,
                        help="multiplies every feed's rate (default 1: about 65 records/s in all)")


def run_suite(args, fault_seconds, make_injector, reporter=None):
    """The whole run; returns the exit status. make_injector(ctx) -> Injector;
    reporter(ctx, stop_event) runs in a thread during the faults (the soak's minutes)."""
    build = Path(args.build)
    build = build if build.is_absolute() else REPO / build
    b = bins(build)
    if args.max_rss_mb is None:
        args.max_rss_mb = 1024 if sanitized(build) else 256
    seed = args.seed if args.seed is not None else int(time.time()) % 100000
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="hotline-faults-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = Context(workdir, build, seed, args.rate_scale)
    ok = False
    try:
        setup(ctx, b)
        start_clients(ctx, b)
        ctx.log(f"load running; faults for {fault_seconds:.0f} s (seed {seed})")
        inj = make_injector(ctx)
        inj.start(fault_seconds)
        stop_report = threading.Event()
        extra = []
        rep = None
        if reporter:
            rep = threading.Thread(target=reporter, args=(ctx, stop_report, extra), daemon=True)
            rep.start()
        end = time.monotonic() + fault_seconds
        next_status = time.monotonic() + 15
        while time.monotonic() < end:
            time.sleep(min(1.0, max(0.1, end - time.monotonic())))
            check_hotline_depts(ctx)
            if not reporter and time.monotonic() >= next_status:
                next_status += 15
                ctx.log(status_line(ctx))
        inj.finish()
        stop_report.set()
        if rep:
            rep.join()
        ctx.log("faults over; draining (no more intake or department actions; agents satisfied)")
        wait_ready(ctx, ctx.daemons.slots[:2])
        drained = drain(ctx, args.drain_timeout)
        received = received_by_dept(ctx)
        stop_all(ctx)
        ctx.log("checking the records against PostgreSQL")
        result = checker.check(ctx.pg.conninfo, ctx.records.dir, RULE_DEPTS, AGENTS_FEED, received,
                               PYTHON_DEPTS)
        ok = summary(ctx, result, drained, args, extra)
    except KeyboardInterrupt:
        ctx.log("interrupted")
    except Exception as e:
        ctx.problem(f"the suite failed: {e!r}")
        import traceback
        traceback.print_exc()
    finally:
        ctx.stopping = True
        if ctx.daemons:
            ctx.daemons.stopping = True
            for slot in ctx.daemons.slots:
                if slot.running():
                    slot.kill9()
        for d in ctx.hotline_depts:
            d.stop()
        if ctx.proxy:
            ctx.proxy.stop()
        ctx.records.close()
        keep = args.keep or not ok
        teardown(ctx, keep)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


__all__ = ["common_args", "percentile", "run_suite"]
