"""PostgreSQL outages: hotlined stays up, acknowledges nothing it has not committed,
stops reading from feeds instead of growing memory (back-pressure), and catches up
when PostgreSQL returns. Also: a daemon started while PostgreSQL is down.

These tests stop the session's PostgreSQL and always start it again (finally).
"""

import os
import socket
import threading
import time
import uuid

import hotline_client as hc
from hotline_client import Timeout


def new_id(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def intake_bytes(external_id, content_bytes=500):
    content = ("停水 no water on Renmin Road " * 40)[:content_bytes]
    return hc.intake_frame(external_id=external_id, content=content, category="complaint")


class Reader(threading.Thread):
    """Collects every reply of one client until told to stop."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.client = client
        self.acks = {}
        self.errors = []
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                kind, msg = self.client.read_reply(0.5)
            except Timeout:
                continue
            except hc.Closed:
                return
            if kind == "ack":
                self.acks[msg.external_id] = msg.ticket_no
            else:
                self.errors.append(msg)


def test_postgres_down_backpressure_then_catch_up(start_hotlined, db, pg):
    daemon = start_hotlined({"hotlined": {"max_inflight": 300, "max_conn_inflight": 100}})
    prefix = new_id("bp")
    total = 30000  # ~15 MB: more than loopback socket buffers can hold
    client = daemon.feed("water")
    reader = Reader(client)
    reader.start()
    # warm up, so the baseline RSS includes the daemon's steady state
    client.send_raw(intake_bytes(f"{prefix}-warm"))
    deadline = time.monotonic() + 15
    while f"{prefix}-warm" not in reader.acks and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"{prefix}-warm" in reader.acks
    base_rss = rss_kib(daemon.proc.pid)

    pg.stop()
    try:
        # Send as much as the daemon will take without blocking forever. (The
        # reader thread sets short timeouts on the shared socket, so a send that
        # cannot proceed raises TimeoutError or BlockingIOError.)
        pending = b"".join(intake_bytes(f"{prefix}-{n}") for n in range(total))
        sent = 0
        stall_since = None
        give_up = time.monotonic() + 20
        while sent < len(pending) and time.monotonic() < give_up:
            try:
                sent += client.sock.send(pending[sent : sent + 65536])
                stall_since = None
            except (BlockingIOError, TimeoutError):
                if stall_since is None:
                    stall_since = time.monotonic()
                elif time.monotonic() - stall_since > 2.0:
                    break  # the daemon stopped reading: back-pressure reached the socket
                time.sleep(0.05)
        assert sent < len(pending), "hotlined kept reading everything while PostgreSQL was down"
        time.sleep(1.0)
        assert daemon.alive(), daemon.log_tail()
        acked_while_down = set(reader.acks) - {f"{prefix}-warm"}
        assert not acked_while_down, f"{len(acked_while_down)} records acknowledged while PostgreSQL was down"
        growth = rss_kib(daemon.proc.pid) - base_rss
        # 300 records in flight plus a frame of buffered input: far below 30000 records
        assert growth < 16 * 1024, f"RSS grew by {growth} KiB while PostgreSQL was down"
    finally:
        pg.start()

    # Everything is eventually acknowledged and stored exactly once.
    while sent < len(pending) and time.monotonic() < give_up + 60:
        try:
            sent += client.sock.send(pending[sent : sent + 65536])
        except (BlockingIOError, TimeoutError):
            time.sleep(0.01)
    assert sent == len(pending)
    deadline = time.monotonic() + 90
    while len(reader.acks) < total + 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    reader.stop = True
    assert not reader.errors, reader.errors[:3]
    assert len(reader.acks) == total + 1, f"only {len(reader.acks)} of {total + 1} acknowledged"
    stored = db.tickets_with_prefix("water", prefix + "-")
    assert len(stored) == total + 1
    assert all(stored[e] == t for e, t in reader.acks.items())
    assert "connection 0 to PostgreSQL lost" in daemon.log_text()
    client.close()


def test_daemon_started_while_postgres_is_down(start_hotlined, db, pg):
    pg.stop()
    try:
        daemon = start_hotlined(wait_redis=False)  # Redis's data is checked against PostgreSQL
        client = daemon.feed("water")
        prefix = new_id("late")
        for n in range(10):
            client.send_raw(intake_bytes(f"{prefix}-{n}"))
        try:
            kind, msg = client.read_reply(1.5)
            raise AssertionError(f"a reply before PostgreSQL was up: {kind} {msg}")
        except Timeout:
            pass
        assert daemon.alive()
    finally:
        pg.start()
    acks = {}
    deadline = time.monotonic() + 30
    while len(acks) < 10 and time.monotonic() < deadline:
        kind, msg = client.read_reply(30)
        assert kind == "ack", msg
        acks[msg.external_id] = msg.ticket_no
    assert len(acks) == 10
    stored = db.tickets_with_prefix("water", prefix + "-")
    assert stored == acks
    client.close()
