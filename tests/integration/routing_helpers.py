"""Helpers for the routing and department-feed integration tests (test_routing.py).

Owns: a department client and a feed client on top of hotline_client.BinaryClient
(each keeps the frames it did not ask for yet, so pushed Tickets and TicketUpdates
never get lost between replies), loading rule files with `hotlinectl route load`,
a redis-py client of the session's Redis, reading department streams, and daemon
configs with departments and feeds of a test's own (fresh codes, so streams,
pending entries and TicketUpdates of other tests never mix in).
Never: imports anything from the daemon's build; edits conftest.py's fixtures.
"""

import random
import re
import subprocess
import time
import uuid

import redis

import hotline_client as hc
from hotline_client import Closed, Timeout


def pb():
    return hc.pb


def new_code(prefix):
    """A fresh department/feed code (letters, digits, '-'), unique per call."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_keyword():
    return f"kw{uuid.uuid4().hex[:12]}"


def new_phone():
    """A random mobile number whose digits occur nowhere else in the session."""
    return "139" + "".join(random.choice("0123456789") for _ in range(8))


def mask(phone11):
    """The masked form of an 11-digit mobile number (lib/mask.c)."""
    return phone11[:3] + "****" + phone11[-4:]


def now_ms():
    """The suite's daemons' clock (HOTLINE_TEST_CLOCK; else the system clock), unix ms."""
    return hc.now_ms()


def wait_until(predicate, timeout, interval=0.1, message="condition"):
    """Polls predicate() until it returns something truthy; returns it, or fails."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


# ------------------------------------------------------------------ config


def routing_overrides(depts=(), feeds=(), routing=None, hotlined=None, repeat_window_hours=0):
    """start_hotlined overrides adding [dept.CODE] (token CODE-dept-secret) for each dept,
    [feed.CODE] (token CODE-feed-secret) for each feed (a code, or (code, mode, dept) for
    a sub-centre; every secret is distinct per role and per id, as hotlined requires), and
    [routing] / [hotlined] options. Repeat-complaint linking is off unless asked for
    (these tests send many records of one caller and category)."""
    out = {"repeats": {"window_hours": repeat_window_hours}}
    for code in depts:
        out[f"dept.{code}"] = {"name": f"test department {code}", "token": f"{code}-dept-secret"}
    for feed in feeds:
        code, mode, dept = (feed, "merged", None) if isinstance(feed, str) else feed
        section = {"name": f"test feed {code}", "token": f"{code}-feed-secret", "mode": mode}
        if dept:
            section["dept"] = dept
        out[f"feed.{code}"] = section
    if routing:
        out["routing"] = dict(routing)
    if hotlined:
        out["hotlined"] = dict(hotlined)
    return out


# ------------------------------------------------------------------ clients


class FrameInbox(hc.BinaryClient):
    """A binary connection that keeps unrequested frames for later requests."""

    def __init__(self, host, port, timeout=10.0):
        super().__init__(host, port, timeout)
        self.backlog = []

    def next_frame(self, match, timeout=10.0, what="a frame"):
        """The first frame (kept or new) for which match(frame) holds."""
        for i, frame in enumerate(self.backlog):
            if match(frame):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                frame = self.read_frame(max(remaining, 0.001))
            except Timeout:
                raise AssertionError(
                    f"no {what} within {timeout} s; frames kept meanwhile: "
                    f"{[describe(f) for f in self.backlog]}"
                ) from None
            if match(frame):
                return frame
            self.backlog.append(frame)

    def collect(self, duration):
        """Reads every frame arriving within duration seconds into the backlog."""
        deadline = time.monotonic() + duration
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                self.backlog.append(self.read_frame(remaining))
            except Timeout:
                return

    def take(self, kind):
        """Removes and returns the kept frames of one kind."""
        got = [f for f in self.backlog if f.WhichOneof("msg") == kind]
        self.backlog = [f for f in self.backlog if f.WhichOneof("msg") != kind]
        return got


def describe(frame):
    kind = frame.WhichOneof("msg")
    return f"{kind}{{{str(getattr(frame, kind)).strip()}}}" if kind else "empty frame"


class DeptClient(FrameInbox):
    """A department system: Hello as ROLE_DEPARTMENT, Tickets pushed, Ack, DeptAction."""

    def __init__(self, daemon, dept, token=None, timeout=10.0):
        super().__init__("127.0.0.1", daemon.binary_port, timeout)
        self.dept = dept
        self.welcome = None
        reply = self.hello(dept, token if token is not None else f"{dept}-dept-secret", role=pb().ROLE_DEPARTMENT)
        assert reply.WhichOneof("msg") == "welcome", f"hello as department {dept}: {describe(reply)}"
        self.welcome = reply.welcome

    def ticket(self, ticket_no=None, timeout=10.0):
        """The next Ticket pushed (the one with ticket_no, when given)."""
        return self.next_frame(
            lambda f: f.WhichOneof("msg") == "ticket"
            and (ticket_no is None or f.ticket.ticket_no == ticket_no),
            timeout,
            f"Ticket {ticket_no or ''} for department {self.dept}",
        ).ticket

    def tickets_within(self, duration):
        """Every Ticket pushed within duration seconds (plus those kept before)."""
        self.collect(duration)
        return [f.ticket for f in self.take("ticket")]

    def ack(self, ticket_no):
        self.send_frame(pb().Frame(ack=pb().Ack(ticket_no=ticket_no)))

    def action(self, ticket_no, **action):
        """Sends DeptAction{ticket_no, <action>} and returns the answer frame
        (action_ack or error) naming that ticket."""
        self.send_frame(pb().Frame(dept_action=pb().DeptAction(ticket_no=ticket_no, **action)))
        return self.answer(ticket_no)

    def answer(self, ticket_no, timeout=15.0):
        def match(f):
            kind = f.WhichOneof("msg")
            return (kind == "action_ack" and f.action_ack.ticket_no == ticket_no) or (
                kind == "error" and f.error.ticket_no == ticket_no
            )

        return self.next_frame(match, timeout, f"ActionAck or Error for {ticket_no}")

    def accept(self, ticket_no):
        return self.action(ticket_no, accept=pb().DeptAction.Accept())

    def return_ticket(self, ticket_no, reason):
        return self.action(ticket_no, return_ticket=pb().DeptAction.Return(reason=reason))

    def reply(self, ticket_no, content):
        return self.action(ticket_no, reply=pb().DeptAction.Reply(content=content))

    def extend(self, ticket_no, until, reason):
        return self.action(ticket_no, extend=pb().DeptAction.Extend(until=until, reason=reason))


class FeedClient(FrameInbox):
    """A feed connection: Intake, IntakeAck, and the TicketUpdates pushed to it."""

    def __init__(self, daemon, feed, token=None, timeout=10.0):
        super().__init__("127.0.0.1", daemon.binary_port, timeout)
        self.feed = feed
        reply = self.hello(feed, token if token is not None else f"{feed}-feed-secret")
        assert reply.WhichOneof("msg") == "welcome", f"hello as feed {feed}: {describe(reply)}"

    def intake(self, external_id, timeout=15.0, **fields):
        """Sends one Intake and returns its ticket_no (asserts a fresh IntakeAck)."""
        self.send_intake(external_id=external_id, **fields)
        frame = self.next_frame(
            lambda f: (f.WhichOneof("msg") == "intake_ack" and f.intake_ack.external_id == external_id)
            or (f.WhichOneof("msg") == "error" and f.error.external_id == external_id),
            timeout,
            f"IntakeAck for {external_id}",
        )
        assert frame.WhichOneof("msg") == "intake_ack", describe(frame)
        assert frame.intake_ack.duplicate is False
        assert frame.intake_ack.ticket_no
        return frame.intake_ack.ticket_no

    def update(self, ticket_no, state=None, timeout=10.0):
        """The next TicketUpdate about ticket_no (in state, when given)."""
        return self.next_frame(
            lambda f: f.WhichOneof("msg") == "ticket_update"
            and f.ticket_update.ticket_no == ticket_no
            and (state is None or f.ticket_update.state == state),
            timeout,
            f"TicketUpdate for {ticket_no} in state {state}",
        ).ticket_update

    def ack_update(self, update_id):
        self.send_frame(pb().Frame(ack=pb().Ack(update_id=update_id)))


# ------------------------------------------------------------------ rules


def load_rules(binaries, redis_server, db, rds, path, text):
    """Writes text to path and publishes it with `hotlinectl --redis ADDR route load`.
    Returns the version it printed.

    The session's Redis may have lost its data earlier (a restart without
    persistence, or FLUSHALL) while PostgreSQL's routing_rules still remembers
    higher versions; a load would then get a version the daemons ignore (see
    test_rules_loaded_after_redis_data_loss_take_effect, which tests exactly
    that). Other tests are about something else, so the version counter is
    first brought up to what PostgreSQL has seen.
    """
    rows = db.query("SELECT COALESCE(max(version), 0) AS v FROM routing_rules")
    remembered = int(rows[0]["v"])
    current = rds.get("hotline:rules:version")
    if current is None or int(current) < remembered:
        rds.set("hotline:rules:version", remembered)
    return load_rules_raw(binaries, redis_server, path, text)


def load_rules_raw(binaries, redis_server, path, text):
    path.write_text(text, encoding="utf-8")
    r = subprocess.run(
        [str(binaries.hotlinectl), "--redis", redis_server.address, "route", "load", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, f"hotlinectl route load failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    m = re.search(r"loaded (\d+) rules from .* as version (\d+)", r.stdout)
    assert m, f"unexpected hotlinectl output: {r.stdout!r}"
    return int(m.group(2))


def wait_rules_in_force(daemon, version, timeout=10.0):
    """Waits for the daemon's log line announcing rule set version `version`."""
    line = f"router: rule set version {version} in force"
    wait_until(lambda: line in daemon.log_text(), timeout, message=f"'{line}' in the daemon log")


# ------------------------------------------------------------------ Redis


def redis_client(address):
    """redis-py client of the session's Redis (a Unix socket path), retrying a
    command once the server is back after a restart."""
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    return redis.Redis(
        unix_socket_path=address,
        socket_timeout=10,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 20),
        retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError],
    )


def dept_streams(rds):
    return sorted(k.decode() for k in rds.scan_iter(match="hotline:dept:*", count=1000))


def stream_entries(rds, stream):
    """[(entry_id, ticket_no, ticket bytes)] of one department stream."""
    out = []
    for entry_id, fields in rds.xrange(stream):
        out.append((entry_id.decode(), fields.get(b"ticket_no", b"").decode(), fields.get(b"ticket", b"")))
    return out


def entries_by_ticket(rds):
    """{ticket_no: [(stream, entry_id, Ticket)]} across every hotline:dept:* stream."""
    found = {}
    for stream in dept_streams(rds):
        if rds.type(stream) != b"stream":
            continue
        for entry_id, ticket_no, blob in stream_entries(rds, stream):
            ticket = pb().Ticket.FromString(blob)
            found.setdefault(ticket_no, []).append((stream, entry_id, ticket))
    return found


def redis_dump(rds):
    """Every key and value in Redis as bytes (strings, stream fields, hashes, lists,
    sets), for looking for data that must not be there."""
    chunks = []
    for key in rds.scan_iter(count=1000):
        chunks.append(key)
        kind = rds.type(key)
        if kind == b"string":
            chunks.append(rds.get(key) or b"")
        elif kind == b"stream":
            for entry_id, fields in rds.xrange(key):
                chunks.append(entry_id)
                for k, v in fields.items():
                    chunks += [k, v]
        elif kind == b"hash":
            for k, v in rds.hgetall(key).items():
                chunks += [k, v]
        elif kind == b"list":
            chunks += rds.lrange(key, 0, -1)
        elif kind == b"set":
            chunks += list(rds.smembers(key))
        elif kind == b"zset":
            chunks += [m for m, _ in rds.zrange(key, 0, -1, withscores=True)]
    return b"\n".join(chunks)


__all__ = [
    "Closed",
    "DeptClient",
    "FeedClient",
    "Timeout",
    "dept_streams",
    "entries_by_ticket",
    "load_rules",
    "load_rules_raw",
    "mask",
    "new_code",
    "new_keyword",
    "new_phone",
    "now_ms",
    "redis_client",
    "redis_dump",
    "routing_overrides",
    "stream_entries",
    "wait_rules_in_force",
    "wait_until",
]
