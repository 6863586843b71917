"""Several hotlined on one PostgreSQL and one Redis, one of them killed under load.

Three daemons share a database and a Redis of this module's own (a fresh database in
the session's cluster, a fresh Redis), so every count below is exact: nothing of other
tests is on the desk, in the streams or in the backlogs. Feeds and departments are
spread over the daemons; slot C's clock runs LATE_MS behind, so the urgent (2 h)
tickets it dispatches fall overdue a few seconds later for the other two daemons'
watchers, which race for them. Under a steady load, right after the feed on C sent a
burst, C is killed with SIGKILL. Then:

- every acknowledged record is stored once, under the ticket number every ack of it
  gave: the feed that was on C resends to a survivor what C never acknowledged (some
  of it committed) and a few records C did acknowledge;
- every dispatched ticket reaches its department; the tickets C's department
  connections held unacknowledged at the kill come again through a survivor; every
  one is accepted once; C's consumers are deleted from the groups;
- each overdue ticket escalates once (one OVERDUE row, one alert), none early;
- the desk (GET /api/v1/desk), a ticket's view and /metrics (desk, past deadline,
  outbox, TicketUpdates owed, stream depths; intake and escalation counters summed
  over the survivors) agree between the survivors and with PostgreSQL and Redis.

Clients are threads with non-blocking sockets: feeds keep every record until its
IntakeAck and resend all of them after a reconnect; departments record a Ticket,
acknowledge it (on C only every other one), accept it, and resend an unanswered
accept after a reconnect. A client whose daemon dies moves to the next one.
Never: touches the session's database or Redis (only its PostgreSQL cluster, to
create and drop a database), or the daemons of other tests.
"""

import collections
import json
import random
import select
import signal
import socket
import struct
import threading
import time
import uuid

import psycopg
import pytest
from psycopg.rows import dict_row

import hotline_client as hc
from conftest import Daemon, RedisServer, run
from http_helpers import Api, add_user
from routing_helpers import load_rules_raw, routing_overrides, wait_rules_in_force, wait_until

HEADER = struct.Struct(">I")
LATE_MS = 2 * 3600 * 1000 - 6000  # slot C's clock: its urgent deadlines pass 6 s after dispatch
LOAD_SECONDS = 10.0  # records sent for this long ...
KILL_AFTER = 4.0  # ... and slot C killed this far into it
FEED_RATE = 20  # records/s per feed
BURST = 100  # records the feed on C sends at once right before the kill
RESEND_ACKED = 10  # acknowledged records a feed sends again after a reconnect
TOPICS = {  # keyword in the content -> department (None: no rule, the desk)
    "漏水": "da",
    "噪音": "db",
    "路灯": "dbc",
    "井盖": "dc",
    "社保": None,
}
DEPTS = ("da", "db", "dbc", "dc")
FEEDS = ("fa", "fb", "fc")
RULES = "".join(f"rule r-{dept} -> {dept}\n  keywords {kw}\n\n" for kw, dept in TOPICS.items() if dept)


def pb():
    return hc.pb


# ------------------------------------------------------------------ servers


class Servers:
    """This module's database (in the session's cluster) and Redis."""

    def __init__(self, conninfo, redis):
        self.conninfo = conninfo
        self.redis = redis
        self.conn = psycopg.connect(conninfo, autocommit=True, row_factory=dict_row)

    def query(self, sql, params=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []


@pytest.fixture(scope="module")
def servers(pg, binaries, tmp_path_factory):
    dbname = f"scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg.conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    conninfo = " ".join(kv for kv in pg.conninfo.split() if not kv.startswith("dbname=")) + f" dbname={dbname}"
    r = run([binaries.hotlinectl, "--dsn", conninfo, "migrate"])
    assert r.returncode == 0, r.stderr
    redis = RedisServer(tmp_path_factory.mktemp("scale-redis") / "server")
    redis.start()
    s = Servers(conninfo, redis)
    yield s
    s.conn.close()
    redis.destroy()
    with psycopg.connect(pg.conninfo, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


# ------------------------------------------------------------------ clients


class Link:
    """A non-blocking binary connection past its Welcome."""

    def __init__(self, daemon, role, ident, token):
        self.sock = socket.create_connection(("127.0.0.1", daemon.binary_port), timeout=3)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.inbuf, self.outbuf = bytearray(), bytearray()
        self.send(pb().Frame(hello=pb().Hello(role=role, id=ident, token=token, version=1)))
        self.sock.setblocking(False)
        deadline = time.monotonic() + 5
        self.early = []
        while not self.early:
            if time.monotonic() > deadline:
                raise ConnectionError("no answer to Hello")
            self.early = self.pump(0.1)
        first = self.early.pop(0)
        if first.WhichOneof("msg") != "welcome":
            raise ConnectionError(f"Hello refused: {first}")
        self.welcome = first.welcome

    def close(self):
        self.sock.close()

    def send(self, frame):
        body = frame.SerializeToString()
        self.outbuf += HEADER.pack(len(body)) + body

    def pump(self, timeout):
        """Writes what it can, waits up to timeout for input; returns the Frames read.
        Raises ConnectionError once the peer is gone."""
        r, w, _ = select.select([self.sock], [self.sock] if self.outbuf else [], [], timeout)
        try:
            if w:
                del self.outbuf[: self.sock.send(self.outbuf)]
            if r:
                data = self.sock.recv(262144)
                if not data:
                    raise ConnectionError("closed by the daemon")
                self.inbuf += data
        except (BlockingIOError, InterruptedError):
            pass
        out = []
        while len(self.inbuf) >= 4:
            (n,) = HEADER.unpack_from(self.inbuf)
            if len(self.inbuf) < 4 + n:
                break
            out.append(pb().Frame.FromString(bytes(self.inbuf[4 : 4 + n])))
            del self.inbuf[: 4 + n]
        return out


class Client(threading.Thread):
    """A peer that talks to the first daemon of its list that is alive, moving on when
    that one dies; an exception in it is kept and fails the test."""

    def __init__(self, name, daemons, role, ident, token):
        super().__init__(name=name, daemon=True)
        self.daemons = list(daemons)
        self.role, self.peer, self.token = role, ident, token
        self.link = self.at = None
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.failure = None
        self.connects = collections.Counter()  # daemon name -> Welcomes

    def run(self):
        try:
            while not self.stop.is_set():
                if self.link is None and not self._connect():
                    time.sleep(0.1)
                    continue
                self.tick()
                try:
                    frames = self.link.pump(0.05)
                except OSError:
                    self.link.close()
                    self.link = None
                    continue
                with self.lock:
                    for f in frames:
                        self.handle(f)
        except Exception as e:  # noqa: BLE001 - reported by the test
            import traceback

            self.failure = f"{self.name}: {e!r}\n{traceback.format_exc()}"

    def _connect(self):
        for d in self.daemons:
            if not d.alive():
                continue
            try:
                link = Link(d, self.role, self.peer, self.token)
            except OSError:
                continue
            with self.lock:
                self.link, self.at = link, d.name
                self.connects[d.name] += 1
                self.connected()
                for f in link.early:
                    self.handle(f)
            return True
        return False

    def tick(self):
        pass

    def connected(self):
        pass

    def handle(self, frame):
        raise NotImplementedError


class Feed(Client):
    """Sends FEED_RATE records a second while `generating`, keeps each until its
    IntakeAck, resends them all after a reconnect; acknowledges every TicketUpdate."""

    def __init__(self, code, daemons, rng):
        super().__init__(f"feed-{code}", daemons, pb().ROLE_FEED, code, f"{code}-feed-secret")
        self.code, self.rng = code, rng
        self.generating = True
        self.burst = 0  # records to send at once
        self.seq = 0
        self.next_at = None
        self.records = {}  # external_id -> Intake fields
        self.pending = collections.OrderedDict()  # external_id -> None, not acknowledged
        self.to_send = collections.deque()
        self.window = 1
        self.inflight = set()
        self.acks = collections.defaultdict(list)  # external_id -> [(ticket_no, duplicate, daemon)]
        self.errors = []

    def connected(self):
        self.window = max(1, self.link.welcome.window)
        self.inflight.clear()
        if sum(self.connects.values()) > 1:  # the last acks may not have reached our log
            for ext in [e for e in self.acks if e not in self.pending][-RESEND_ACKED:]:
                self.pending[ext] = None
        self.to_send = collections.deque(self.pending)

    def tick(self):
        now = time.monotonic()
        if self.next_at is None:
            self.next_at = now
        with self.lock:
            while self.generating and (now >= self.next_at or self.burst):
                if self.burst:
                    self.burst -= 1
                else:
                    self.next_at += 1.0 / FEED_RATE
                self.seq += 1
                ext = f"{self.code}-{self.seq}"
                topic = self.rng.choice(list(TOPICS))
                self.records[ext] = dict(
                    external_id=ext,
                    content=f"{topic} 问题 [{ext}]",
                    category=self.rng.choice(["complaint", "request", "consultation"]),
                    caller_phone="139" + "".join(self.rng.choice("0123456789") for _ in range(8)),
                    district="崇川区",
                    channel="phone",
                    priority=pb().PRIORITY_URGENT if self.rng.random() < 0.25 else pb().PRIORITY_NORMAL,
                )
                self.pending[ext] = None
                self.to_send.append(ext)
            while self.to_send and len(self.inflight) < self.window:
                ext = self.to_send.popleft()
                if ext in self.pending and ext not in self.inflight:
                    self.link.send(pb().Frame(intake=pb().Intake(**self.records[ext])))
                    self.inflight.add(ext)

    def handle(self, frame):
        kind = frame.WhichOneof("msg")
        if kind == "intake_ack":
            a = frame.intake_ack
            self.acks[a.external_id].append((a.ticket_no, a.duplicate, self.at))
            self.pending.pop(a.external_id, None)
            self.inflight.discard(a.external_id)
        elif kind == "ticket_update":
            self.link.send(pb().Frame(ack=pb().Ack(update_id=frame.ticket_update.update_id)))
        elif kind == "error" and frame.error.external_id:
            ext = frame.error.external_id
            self.inflight.discard(ext)
            if frame.error.code in (pb().ERROR_INTERNAL, pb().ERROR_UNAVAILABLE):
                self.to_send.append(ext)  # sent again, like any unacknowledged record
            else:
                self.errors.append(str(frame.error))
        else:
            self.errors.append(f"{kind}: {frame}")

    def unacked(self):
        with self.lock:
            return len(self.pending)


class Dept(Client):
    """A department connection: records each Ticket, acknowledges it (while
    `skip_acks`, every other one only: those stay pending in the daemon's consumer),
    and accepts it once; an accept left unanswered by a lost connection is sent again."""

    def __init__(self, dept, daemons, skip_acks=False):
        super().__init__(f"dept-{dept}@{daemons[0].name}", daemons, pb().ROLE_DEPARTMENT, dept,
                         f"{dept}-dept-secret")
        self.dept = dept
        self.skip_acks = skip_acks
        self.received = []  # (ticket_no, daemon, monotonic)
        self.held = set()  # received and never acknowledged
        self.accepting = set()  # accept sent, not answered
        self.accepted = {}  # ticket_no -> ok (True: this accept moved it; False: already ACCEPTED)
        self.failed = []

    def connected(self):
        self.skip_acks = self.skip_acks and self.at == self.daemons[0].name
        for ticket_no in self.accepting:
            self._accept(ticket_no)

    def _accept(self, ticket_no):
        self.accepting.add(ticket_no)
        self.link.send(pb().Frame(dept_action=pb().DeptAction(ticket_no=ticket_no, accept=pb().DeptAction.Accept())))

    def handle(self, frame):
        kind = frame.WhichOneof("msg")
        if kind == "ticket":
            ticket_no = frame.ticket.ticket_no
            self.received.append((ticket_no, self.at, time.monotonic()))
            if self.skip_acks and len(self.received) % 2 == 0:
                self.held.add(ticket_no)
            else:
                self.link.send(pb().Frame(ack=pb().Ack(ticket_no=ticket_no)))
            if ticket_no not in self.accepted and ticket_no not in self.accepting:
                self._accept(ticket_no)
        elif kind == "action_ack":
            a = frame.action_ack
            self.accepting.discard(a.ticket_no)
            if a.ok or a.state == pb().TICKET_STATE_ACCEPTED:
                self.accepted[a.ticket_no] = a.ok
            else:
                self.failed.append(str(a))
        elif kind == "error" and frame.error.ticket_no:
            if frame.error.code in (pb().ERROR_INTERNAL, pb().ERROR_UNAVAILABLE):
                self._accept(frame.error.ticket_no)
            else:
                self.accepting.discard(frame.error.ticket_no)
                self.failed.append(str(frame.error))
        else:
            self.failed.append(f"{kind}: {frame}")


class Alerts(threading.Thread):
    """Every message on hotline:alerts while the test runs."""

    def __init__(self, redis_address):
        from routing_helpers import redis_client

        super().__init__(name="alerts", daemon=True)
        self.client = redis_client(redis_address)
        self.pubsub = self.client.pubsub()
        self.pubsub.subscribe("hotline:alerts")
        self.messages = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            msg = self.pubsub.get_message(timeout=0.1)
            if msg and msg["type"] == "message":
                self.messages.append(json.loads(msg["data"]))

    def close(self):
        self.stop.set()
        self.join(5)
        self.pubsub.close()
        self.client.close()


# ------------------------------------------------------------------ the picture


def metrics(daemon):
    """{(name, frozenset(labels)): value} of the daemon's /metrics."""
    import http.client
    import re

    conn = http.client.HTTPConnection("127.0.0.1", daemon.ops_port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    out = {}
    for line in text.splitlines():
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        if m:
            labels = frozenset(re.findall(r'([a-z_]+)="([^"]*)"', m.group(2) or ""))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def backlog_truth(servers, rds, now_ms):
    """What every daemon's backlog gauges must say: from PostgreSQL and Redis."""
    [row] = servers.query(
        "SELECT (SELECT count(*) FROM outbox) AS outbox,"
        " (SELECT count(*) FROM feed_updates) AS owed,"
        " (SELECT count(*) FROM tickets WHERE state = 'PENDING_DISPATCH') AS desk,"
        " (SELECT count(*) FROM tickets WHERE state = 'ESCALATED') AS escalated,"
        " (SELECT count(*) FROM tickets WHERE state IN ('DISPATCHED', 'ACCEPTED')"
        "    AND deadline_at < to_timestamp(%s / 1000.0)) AS past",
        (now_ms,),
    )
    truth = {
        ("hotline_outbox_rows", frozenset()): row["outbox"],
        ("hotline_updates_owed", frozenset()): row["owed"],
        ("hotline_desk_tickets", frozenset({("state", "PENDING_DISPATCH")})): row["desk"],
        ("hotline_desk_tickets", frozenset({("state", "ESCALATED")})): row["escalated"],
        ("hotline_past_deadline_tickets", frozenset()): row["past"],
    }
    for dept in DEPTS:
        stream = f"hotline:dept:{dept}"
        truth[("hotline_stream_length", frozenset({("dept", dept)}))] = rds.xlen(stream)
        truth[("hotline_stream_pending", frozenset({("dept", dept)}))] = rds.xpending(stream, "hotline")["pending"]
    return truth


# ------------------------------------------------------------------ the run


@pytest.fixture
def three_daemons(servers, binaries, tmp_path):
    """Daemons A, B and C on this module's servers with the feeds, departments and rules
    above; C's clock LATE_MS behind. Teardown stops them: A and B must exit 0, C by
    the SIGKILL the test sent (when it was sent), none with a sanitizer report."""
    version = load_rules_raw(binaries, servers.redis, tmp_path / "scale.rules", RULES)
    overrides = routing_overrides(depts=DEPTS, feeds=FEEDS,
                                  routing={"redeliver_after_ms": 2000, "update_poll_ms": 500})
    overrides["escalation"] = {"interval_ms": 300, "due_soon_ms": 60000, "batch": 500}
    daemons = []
    for name in ("A", "B", "C"):
        d = Daemon(binaries, tmp_path / f"hotlined-{name}", servers.conninfo, servers.redis.address, overrides,
                   clock=str(hc.now_ms() - LATE_MS) if name == "C" else None)
        d.name, d.killed = name, False
        daemons.append(d)
    try:
        for d in daemons:
            d.start()
            wait_rules_in_force(d, version)
        yield daemons
    finally:
        problems = []
        for d in daemons:
            if d.proc is None or d.start_failed:
                continue
            rc = d.stop()
            if rc != (-signal.SIGKILL if d.killed else 0):
                problems.append(f"{d.name} exited with {rc}")
            problems += [f"{d.name}: {mark}" for mark in d.sanitizer_reports()]
            if problems:
                print(f"---- hotlined {d.name} log, last lines ----\n{d.log_tail(60)}")
        assert not problems, problems


def check_records(servers, feeds):
    """Every record acknowledged and stored once, under the number every ack of it gave,
    and nothing else stored. Returns {(feed, external_id): row}."""
    stored = {(r["feed_code"], r["external_id"]): r for r in servers.query(
        "SELECT feed_code, external_id, ticket_no, content, state, dept_code, priority,"
        " deadline_at, overdue_at FROM tickets")}
    [twice] = servers.query("SELECT count(*) - count(DISTINCT (feed_code, external_id)) AS n FROM tickets")
    assert twice["n"] == 0
    for f in feeds.values():
        assert not f.errors, f.errors
        assert set(f.acks) == set(f.records), f"{f.code}: records never acknowledged"
        for ext, acks in f.acks.items():
            row = stored.get((f.code, ext))
            assert row is not None, f"{f.code}/{ext} acknowledged ({acks}) but not stored"
            assert {t for t, *_ in acks} == {row["ticket_no"]}, (f.code, ext, acks, row["ticket_no"])
            assert row["content"] == f.records[ext]["content"]
    assert len(stored) == sum(len(f.records) for f in feeds.values())
    return stored


def check_delivery(servers, stored, depts, held_at_kill):
    """Every dispatched ticket received by its department and accepted once; each one
    a connection on C held unacknowledged received again through a survivor (dbc's
    possibly before the kill, through its connection on B). Returns the tickets routed."""
    received = collections.defaultdict(set)  # (dept, ticket_no) -> daemons it came through
    accepted = set()
    for d in depts:
        assert not d.failed, d.failed
        for ticket_no, at, _ in d.received:
            received[(d.dept, ticket_no)].add(at)
        accepted |= set(d.accepted)
    routed = {(r["dept_code"], r["ticket_no"]) for r in stored.values() if r["dept_code"]}
    assert routed and set(received) == routed, "tickets dispatched and tickets received differ"
    for key in held_at_kill:
        assert received[key] - {"C"}, f"{key}, held unacknowledged on C, never came through a survivor"
    states = {r["ticket_no"]: r["state"] for r in stored.values()}
    for _, ticket_no in routed:
        assert states[ticket_no] == "ACCEPTED" and ticket_no in accepted, ticket_no
    accepts = servers.query("SELECT t.ticket_no, count(*) AS n FROM ticket_events e JOIN tickets t"
                            " USING (ticket_id) WHERE e.kind = 'ACCEPT' GROUP BY t.ticket_no")
    assert len(accepts) == len(routed) and all(r["n"] == 1 for r in accepts)
    return routed


def check_escalation(servers, stored, alerts, now_ms):
    """Each ticket whose deadline passed (C's urgent ones) marked overdue once, with one
    alert; no other ticket marked; due soon at most once. Returns (overdue tickets,
    Counter of (ticket_no, kind) marks)."""
    marks = collections.Counter((r["ticket_no"], r["kind"]) for r in servers.query(
        "SELECT t.ticket_no, e.kind FROM ticket_events e JOIN tickets t USING (ticket_id)"
        " WHERE e.kind IN ('OVERDUE', 'DUE_SOON')"))
    alerted = collections.Counter((m["ticket_no"], m["kind"]) for m in alerts.messages if "ticket_no" in m)
    overdue = set()
    for r in stored.values():
        ticket_no = r["ticket_no"]
        if r["deadline_at"] is not None and r["deadline_at"].timestamp() * 1000 <= now_ms - 1000:
            overdue.add(ticket_no)
            assert r["priority"] == pb().PRIORITY_URGENT and r["overdue_at"] is not None, r
            assert marks[(ticket_no, "OVERDUE")] == 1, (ticket_no, marks[(ticket_no, "OVERDUE")])
            assert alerted[(ticket_no, "overdue")] == 1, (ticket_no, alerted[(ticket_no, "overdue")])
        elif r["overdue_at"] is None:
            assert marks[(ticket_no, "OVERDUE")] == 0, r
        assert marks[(ticket_no, "DUE_SOON")] <= 1, r
    assert overdue, "no deadline passed during the run"
    return overdue, marks


def check_desk_and_views(survivors, token, stored, feeds, overdue):
    """The desk of both survivors is the same list: the records no rule matched. A
    sample of tickets (overdue, on the desk, resent to A after C acknowledged them)
    looks the same through both. Returns the tickets on the desk."""
    def get(daemon, path):
        api = Api(daemon, token)
        try:
            status, body = api.get(path)
        finally:
            api.close()
        assert status == 200, (path, body)
        return body

    desks = [get(d, "/api/v1/desk?limit=500") for d in survivors]
    assert desks[0] == desks[1]
    on_desk = {t["ticket_no"] for t in desks[0]["tickets"]}
    no_rule = {r["ticket_no"] for (feed, ext), r in stored.items() if "社保" in feeds[feed].records[ext]["content"]}
    assert on_desk == no_rule and 0 < len(on_desk) < 500
    resent = sorted(stored[("fc", ext)]["ticket_no"] for ext, acks in feeds["fc"].acks.items()
                    if any(dup for _, dup, _ in acks))
    for ticket_no in sorted(overdue)[:5] + sorted(on_desk)[:3] + resent[:5]:
        views = [get(d, f"/api/v1/tickets/{ticket_no}") for d in survivors]
        assert views[0] == views[1], ticket_no
        kinds = collections.Counter(e["kind"] for e in views[0]["events"])
        assert kinds["OVERDUE"] == (1 if ticket_no in overdue else 0), views[0]
    return on_desk


def check_metrics(survivors, servers, rds, feeds, marks):
    """Both survivors' backlog gauges equal PostgreSQL's and Redis's counts (within
    their 5 s refresh); their escalation counters add up to the marks in PostgreSQL
    (C, its clock behind, marked nothing); each one's intake counters are the acks
    the feeds got from it."""
    def agree():
        truth = backlog_truth(servers, rds, survivors[0].now_ms())
        pages = [metrics(d) for d in survivors]
        return all(page.get(k) == v for page in pages for k, v in truth.items()) and pages

    pages = wait_until(agree, 15, interval=0.5, message="both survivors' backlog gauges equal to"
                       " PostgreSQL's and Redis's counts")
    for kind in ("due_soon", "overdue"):
        made = sum(n for (_, k), n in marks.items() if k == kind.upper())
        counted = sum(p.get(("hotline_escalations_total", frozenset({("kind", kind)})), 0) for p in pages)
        assert counted == made, f"{kind}: {counted} counted by the survivors, {made} marks"
    for f in feeds.values():
        for page, d in zip(pages, survivors):
            dups = [dup for acks in f.acks.values() for _, dup, at in acks if at == d.name]
            label = frozenset({("feed", f.code)})
            assert page.get(("hotline_intake_acked_total", label), 0) == len(dups), (d.name, f.code)
            assert page.get(("hotline_intake_duplicates_total", label), 0) == sum(dups), (d.name, f.code)


def test_three_daemons_one_killed_under_load(three_daemons, servers, binaries):
    from routing_helpers import redis_client

    a, b, c = three_daemons
    token = add_user(binaries, servers.conninfo, f"scale-{uuid.uuid4().hex[:6]}", "supervisor")
    rds = redis_client(servers.redis.address)
    alerts = Alerts(servers.redis.address)
    alerts.start()
    rng = random.Random(15)
    feeds = {code: Feed(code, daemons, random.Random(rng.random()))
             for code, daemons in (("fa", [a, b]), ("fb", [b, a]), ("fc", [c, a, b]))}
    depts = [Dept("da", [a, b]), Dept("db", [b, a]), Dept("dbc", [b, a]),
             Dept("dbc", [c, a], skip_acks=True), Dept("dc", [c, b, a], skip_acks=True)]
    clients = depts + list(feeds.values())
    try:
        for client in clients:
            client.start()
        time.sleep(KILL_AFTER)
        with feeds["fc"].lock:
            feeds["fc"].burst = BURST
        time.sleep(0.05)  # batches in flight: some committed, not yet acknowledged
        c.proc.send_signal(signal.SIGKILL)
        c.killed = True
        c.wait(10)
        held_at_kill = set()
        for d in depts:
            with d.lock:
                held_at_kill |= {(d.dept, t) for t in d.held}
        assert held_at_kill, "the departments on C held nothing unacknowledged when it died"

        time.sleep(LOAD_SECONDS - KILL_AFTER)
        for f in feeds.values():
            f.generating = False

        def settled():
            failures = [cl.failure for cl in clients if cl.failure]
            assert not failures, failures
            if any(f.unacked() for f in feeds.values()):
                return False
            [row] = servers.query(
                "SELECT (SELECT count(*) FROM tickets WHERE state = 'DISPATCHED') AS dispatched,"
                " (SELECT count(*) FROM outbox) AS outbox, (SELECT count(*) FROM feed_updates) AS owed,"
                " (SELECT count(*) FROM tickets WHERE deadline_at <= to_timestamp(%s / 1000.0)"
                "    AND overdue_at IS NULL) AS unmarked",
                (a.now_ms(),),
            )
            return not any(row.values())

        wait_until(settled, 40, interval=0.3, message="every record acknowledged, every ticket accepted,"
                   " the outbox and TicketUpdates empty, every passed deadline marked")
        time.sleep(1.0)  # a few more watcher passes: a second mark would show now
        # C's consumers hold nothing now: the survivors' claims have deleted them
        left = [x["name"].decode() for dept in DEPTS
                for x in rds.xinfo_consumers(f"hotline:dept:{dept}", "hotline")]
        assert not [n for n in left if n.startswith(f"conn-{c.proc.pid}-")], left
        now_ms = a.now_ms()
    finally:
        for client in clients:
            client.stop.set()
        for client in clients:
            client.join(5)
            if client.link is not None:
                client.link.close()
        alerts.close()
    for client in clients:
        assert not client.is_alive() and not client.failure, client.failure

    stored = check_records(servers, feeds)
    assert feeds["fc"].connects["C"] == 1 and feeds["fc"].connects["A"] >= 1
    duplicates = sum(dup for f in feeds.values() for acks in f.acks.values() for _, dup, _ in acks)
    assert duplicates >= RESEND_ACKED
    routed = check_delivery(servers, stored, depts, held_at_kill)
    overdue, marks = check_escalation(servers, stored, alerts, now_ms)
    on_desk = check_desk_and_views([a, b], token, stored, feeds, overdue)
    check_metrics([a, b], servers, rds, feeds, marks)
    rds.close()
    print(f"\nscale: {len(stored)} records, {duplicates} acknowledged as duplicates,"
          f" {len(held_at_kill)} tickets held on C redelivered, {len(routed)} dispatched and accepted,"
          f" {len(overdue)} overdue, {len(on_desk)} on the desk")
