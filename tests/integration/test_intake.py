"""Intake over the binary and JSON-lines protocols, against a real hotlined,
PostgreSQL and Redis: authentication, the durability contract (ack only after
commit), idempotency, validation, framing errors, back-pressure, shutdown and a
PostgreSQL restart under load. Fixtures are in conftest.py.
"""

import random
import signal
import struct
import subprocess
import threading
import time
import uuid
from collections import deque

import pytest

import hotline_client as hc
from hotline_client import Closed, Timeout

PHONE = "13812345678"


def pb():
    return hc.pb


def new_id(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def record(external_id, **fields):
    """Intake fields of a typical, valid record."""
    values = {
        "external_id": external_id,
        "channel": "phone",
        "category": "complaint",
        "content": f"No water on Renmin Road since 6am ({external_id})",
        "district": "Chongchuan",
        "address": "Renmin Road 1",
    }
    values.update(fields)
    return values


def expect_ack(client, external_id, timeout=15.0):
    kind, msg = client.read_reply(timeout)
    assert kind == "ack", f"expected IntakeAck for {external_id}, got {kind}: {msg}"
    assert msg.external_id == external_id
    assert msg.ticket_no != ""
    return msg


def expect_error(client, code, timeout=10.0):
    kind, msg = client.read_reply(timeout)
    assert kind == "error", f"expected Error {hc.error_name(code)}, got {kind}: {msg}"
    assert hc.error_name(msg.code) == hc.error_name(code), f"error: {msg}"
    return msg


# ------------------------------------------------------------------ hello


def test_welcome_on_good_hello(hotlined):
    with hotlined.binary() as c:
        reply = c.hello("water", "water-feed-secret")
        assert reply.WhichOneof("msg") == "welcome", reply
        assert reply.welcome.version == 1
        assert reply.welcome.max_frame == int(hotlined.setting("hotlined", "max_frame"))
        assert reply.welcome.window == int(hotlined.setting("hotlined", "max_conn_inflight"))
        assert reply.welcome.server != ""


def test_wrong_token_is_auth_error_and_close(hotlined):
    with hotlined.binary() as c:
        reply = c.hello("water", "not-the-water-secret")
        assert reply.WhichOneof("msg") == "error", reply
        assert hc.error_name(reply.error.code) == "ERROR_AUTH"
        assert c.wait_closed(5.0), "connection still open after ERROR_AUTH"


def test_unknown_feed_is_auth_error(hotlined):
    with hotlined.binary() as c:
        reply = c.hello("no-such-feed", "water-feed-secret")
        assert reply.WhichOneof("msg") == "error", reply
        assert hc.error_name(reply.error.code) == "ERROR_AUTH"
        assert c.wait_closed(5.0), "connection still open after ERROR_AUTH"


def test_first_frame_not_hello_is_protocol_error(hotlined, db):
    external_id = new_id("nohello")
    with hotlined.binary() as c:
        c.send_intake(**record(external_id))
        expect_error(c, pb().ERROR_PROTOCOL)
        assert c.wait_closed(5.0), "connection still open after a first frame that is not Hello"
    assert db.count_external_id("water", external_id) == 0


# ------------------------------------------------------------------ durability and idempotency


def test_ack_only_after_row_is_visible(hotlined, db):
    """On every IntakeAck the ticket must already be committed (seen from another connection)."""
    with hotlined.feed("water") as c:
        # one at a time
        for i in range(10):
            external_id = new_id("vis")
            fields = record(external_id, content=f"漏水 leak report {i} {external_id}", caller_phone=PHONE)
            c.send_intake(**fields)
            ack = expect_ack(c, external_id)
            assert ack.duplicate is False
            row = db.ticket(ack.ticket_no)
            assert row is not None, f"acked ticket {ack.ticket_no} is not in PostgreSQL"
            assert row["feed_code"] == "water"
            assert row["external_id"] == external_id
            assert row["content"] == fields["content"]
            assert row["caller_phone"] == PHONE
        # pipelined: each ack checked the moment it arrives
        sent = {}
        burst = b""
        for i in range(200):
            external_id = new_id("visp")
            sent[external_id] = f"pipelined {i} {external_id}"
            burst += hc.intake_frame(**record(external_id, content=sent[external_id]))
        c.send_raw(burst)
        for _ in range(len(sent)):
            kind, ack = c.read_reply(30.0)
            assert kind == "ack", ack
            row = db.ticket(ack.ticket_no)
            assert row is not None, f"acked ticket {ack.ticket_no} is not in PostgreSQL"
            assert row["external_id"] == ack.external_id
            assert row["content"] == sent.pop(ack.external_id)
            assert row["feed_code"] == "water"
        assert not sent


def test_stored_values_are_exact(hotlined, db):
    """Times, coordinates and priority arrive bit for bit (they travel as binary
    arrays); a record without a location stores NULLs, also first in its batch."""
    received = hc.now_ms() - 12345
    lat, lon = 32.01234567890123, 120.86543210987654
    exts = [new_id("exact") for _ in range(3)]
    burst = hc.intake_frame(**record(exts[0], received_at=received))  # no location
    burst += hc.intake_frame(**record(exts[1], received_at=received + 1, lat=lat, lon=lon,
                                      priority=pb_priority("PRIORITY_URGENT")))
    burst += hc.intake_frame(**record(exts[2], lat=-0.5, lon=1e-9))
    with hotlined.feed("water") as c:
        c.send_raw(burst)
        acks = {}
        for _ in exts:
            kind, ack = c.read_reply(15.0)
            assert kind == "ack", ack
            acks[ack.external_id] = ack.ticket_no
    rows = {r["external_id"]: r for r in db.query(
        "SELECT external_id, lat, lon, priority,"
        " (extract(epoch FROM received_at) * 1000)::int8 AS received_ms"
        " FROM tickets WHERE ticket_no = ANY(%s)", (list(acks.values()),))}
    assert (rows[exts[0]]["lat"], rows[exts[0]]["lon"]) == (None, None)
    assert rows[exts[0]]["received_ms"] == received
    assert (rows[exts[1]]["lat"], rows[exts[1]]["lon"]) == (lat, lon)
    assert rows[exts[1]]["received_ms"] == received + 1
    assert rows[exts[1]]["priority"] == pb_priority("PRIORITY_URGENT")
    assert rows[exts[0]]["priority"] == 1
    assert (rows[exts[2]]["lat"], rows[exts[2]]["lon"]) == (-0.5, 1e-9)


def pb_priority(name):
    return hc.pb.Priority.Value(name)


def test_ticket_numbers_past_eight_digits_keep_every_digit(start_hotlined, db):
    """After ticket 99,999,999 the number grows a digit instead of being cut to 8
    (which would repeat numbers and refuse every intake on the unique index)."""
    db.query("SELECT setval('ticket_seq', GREATEST(123456788, (SELECT last_value FROM ticket_seq)))")
    daemon = start_hotlined()  # a fresh daemon draws its ids after the jump
    with daemon.feed("water") as c:
        exts = [new_id("big") for _ in range(2)]
        for ext in exts:
            c.send_intake(**record(ext))
        acks = [expect_ack(c, ext) for ext in exts]
    for ack in acks:
        [row] = db.query("SELECT ticket_id FROM tickets WHERE ticket_no = %s", (ack.ticket_no,))
        assert row["ticket_id"] >= 123456789
        assert ack.ticket_no.split("-")[1] == str(row["ticket_id"]), ack.ticket_no


def test_resend_gets_same_ticket_flagged_duplicate(hotlined, db):
    external_id = new_id("dup")
    fields = record(external_id)
    with hotlined.feed("water") as c:
        c.send_intake(**fields)
        first = expect_ack(c, external_id)
        assert first.duplicate is False
    with hotlined.feed("water") as c:  # a resend usually comes on a new connection
        c.send_intake(**fields)
        second = expect_ack(c, external_id)
        assert second.duplicate is True
        assert second.ticket_no == first.ticket_no
    rows = db.tickets_by_external_id("water", external_id)
    assert len(rows) == 1
    assert rows[0]["ticket_no"] == first.ticket_no


def test_same_external_id_from_another_feed_is_a_new_ticket(hotlined, db):
    external_id = new_id("twofeeds")
    with hotlined.feed("water") as c:
        c.send_intake(**record(external_id))
        water = expect_ack(c, external_id)
    with hotlined.feed("power") as c:
        c.send_intake(**record(external_id))
        power = expect_ack(c, external_id)
    assert power.duplicate is False
    assert power.ticket_no != water.ticket_no
    assert db.count_external_id("water", external_id) == 1
    assert db.count_external_id("power", external_id) == 1


def test_same_external_id_twice_in_one_burst(hotlined, db):
    external_id = new_id("burstdup")
    frame = hc.intake_frame(**record(external_id))
    with hotlined.feed("water") as c:
        c.send_raw(frame + frame)  # pipelined: the second is sent before the first is acked
        a = expect_ack(c, external_id)
        b = expect_ack(c, external_id)
    assert sorted([a.duplicate, b.duplicate]) == [False, True]
    assert a.ticket_no == b.ticket_no
    rows = db.tickets_by_external_id("water", external_id)
    assert len(rows) == 1
    assert rows[0]["ticket_no"] == a.ticket_no


# ------------------------------------------------------------------ validation


def test_missing_content_is_invalid_and_connection_stays_open(hotlined, db):
    bad_id = new_id("nocontent")
    good_id = new_id("good")
    with hotlined.feed("water") as c:
        c.send_intake(**record(bad_id, content=""))
        err = expect_error(c, pb().ERROR_INVALID)
        assert err.external_id == bad_id
        assert err.message != ""
        c.send_intake(**record(good_id))
        expect_ack(c, good_id)
    assert db.count_external_id("water", bad_id) == 0
    assert db.count_external_id("water", good_id) == 1


def test_missing_external_id_is_invalid(hotlined, db):
    content = f"record without an id {new_id('c')}"
    good_id = new_id("good")
    with hotlined.feed("water") as c:
        fields = record("", content=content)
        del fields["external_id"]
        c.send_intake(**fields)
        err = expect_error(c, pb().ERROR_INVALID)
        assert err.external_id == ""
        c.send_intake(**record(good_id))
        expect_ack(c, good_id)
    assert db.query("SELECT count(*) AS n FROM tickets WHERE content = %s", (content,))[0]["n"] == 0


def test_invalid_utf8_content_is_invalid_and_not_stored(hotlined, db):
    external_id = new_id("utf8")
    raw = b"broken \xff\xfe utf-8 \xc3\x28 here"
    frame = hc.intake_frame_raw_content(raw, external_id=external_id, channel="phone")
    with hotlined.feed("water") as c:
        c.send_raw(frame)
        err = expect_error(c, pb().ERROR_INVALID)
        assert err.external_id == external_id
        good_id = new_id("good")
        c.send_intake(**record(good_id))
        expect_ack(c, good_id)
    assert db.count_external_id("water", external_id) == 0


# ------------------------------------------------------------------ framing


def test_garbage_bytes_are_bad_frame_and_close(hotlined):
    body = b"\xff" * 8  # a varint tag that never ends: not protobuf
    with pytest.raises(Exception):
        pb().Frame.FromString(body)
    with hotlined.feed("water") as c:
        c.send_raw(struct.pack(">I", len(body)) + body)
        expect_error(c, pb().ERROR_BAD_FRAME)
        assert c.wait_closed(5.0), "connection still open after ERROR_BAD_FRAME"


def test_not_a_frame_is_bad_frame(hotlined):
    rnd = random.Random(12345)
    body = b"\x07" + bytes(rnd.randrange(256) for _ in range(63))  # wire type 7 does not exist
    with pytest.raises(Exception):
        pb().Frame.FromString(body)
    with hotlined.binary() as c:
        c.send_raw(struct.pack(">I", len(body)) + body)
        expect_error(c, pb().ERROR_BAD_FRAME)
        assert c.wait_closed(5.0), "connection still open after ERROR_BAD_FRAME"


@pytest.mark.parametrize("announced", ["max_frame+1", 0xFFFFFFFF])
def test_oversize_length_prefix_is_refused_and_closed(hotlined, announced):
    if announced == "max_frame+1":
        announced = int(hotlined.setting("hotlined", "max_frame")) + 1
    with hotlined.feed("water") as c:
        c.send_raw(struct.pack(">I", announced))  # only the header: the refusal must not wait for a body
        expect_error(c, pb().ERROR_FRAME_TOO_LARGE)
        assert c.wait_closed(5.0), "connection still open after ERROR_FRAME_TOO_LARGE"


def test_connection_cut_mid_frame_stores_nothing(hotlined, db):
    before = db.query("SELECT count(*) AS n FROM tickets")[0]["n"]
    external_id = new_id("cut")
    frame = hc.intake_frame(**record(external_id))
    with hotlined.feed("water") as c:
        c.send_raw(frame[: len(frame) // 2])
    time.sleep(0.5)
    assert db.count_external_id("water", external_id) == 0
    assert db.query("SELECT count(*) AS n FROM tickets")[0]["n"] == before
    assert hotlined.alive()
    with hotlined.feed("water") as c:  # and the daemon still serves
        good_id = new_id("good")
        c.send_intake(**record(good_id))
        expect_ack(c, good_id)


# ------------------------------------------------------------------ JSON lines


def test_json_hello_intake_ack_and_duplicate(hotlined, db):
    external_id = new_id("json")
    with hotlined.json() as c:
        welcome = c.hello("water", "water-feed-secret")
        assert welcome["type"] == "welcome"
        assert welcome["version"] == 1
        assert welcome["max_line"] == int(hotlined.setting("hotlined", "max_line"))
        fields = record(external_id, content="路灯不亮 street light out", priority="urgent", lat=32.0, lon=120.9)
        c.send_intake(**fields)
        ack = c.read_line()
        assert ack == {"type": "ack", "external_id": external_id, "ticket_no": ack["ticket_no"], "duplicate": False}
        row = db.ticket(ack["ticket_no"])
        assert row is not None
        assert row["feed_code"] == "water"
        assert row["content"] == fields["content"]
        c.send_intake(**fields)
        again = c.read_line()
        assert again == {"type": "ack", "external_id": external_id, "ticket_no": ack["ticket_no"], "duplicate": True}
    assert db.count_external_id("water", external_id) == 1


def test_json_wrong_token_is_auth_error_and_close(hotlined):
    with hotlined.json() as c:
        reply = c.hello("water", "wrong")
        assert reply["type"] == "error"
        assert reply["code"] == "auth"
        assert c.wait_closed(5.0)


def test_json_not_json_line_gets_error_and_connection_continues(hotlined, db):
    """Documented behaviour: a line that is not JSON costs that line only; the
    connection stays open (only an oversize line closes a JSON connection)."""
    with hotlined.json_feed("water") as c:
        c.send_line(b"this is not json {")
        reply = c.read_line()
        assert reply["type"] == "error"
        assert reply["code"] == "invalid"
        assert reply["external_id"] == ""
        good_id = new_id("good")
        c.send_intake(**record(good_id))
        ack = c.read_line()
        assert ack["type"] == "ack" and ack["external_id"] == good_id
    assert db.count_external_id("water", good_id) == 1


def test_json_invalid_record_keeps_connection_open(hotlined, db):
    bad_id = new_id("jbad")
    good_id = new_id("jgood")
    with hotlined.json_feed("water") as c:
        fields = record(bad_id)
        del fields["content"]
        c.send_intake(**fields)
        reply = c.read_line()
        assert reply["type"] == "error"
        assert reply["code"] == "invalid"
        assert reply["external_id"] == bad_id
        c.send_intake(**record(good_id))
        ack = c.read_line()
        assert ack["type"] == "ack" and ack["external_id"] == good_id
    assert db.count_external_id("water", bad_id) == 0


def test_json_oversize_line_is_refused_and_closed(hotlined, db):
    external_id = new_id("jbig")
    max_line = int(hotlined.setting("hotlined", "max_line"))
    with hotlined.json_feed("water") as c:
        c.send_line(record(external_id, content="x" * (max_line + 100)))
        reply = c.read_line()
        assert reply["type"] == "error"
        assert reply["code"] == "frame_too_large"
        assert c.wait_closed(5.0), "JSON connection still open after an oversize line"
    assert db.count_external_id("water", external_id) == 0


# ------------------------------------------------------------------ personal data


def test_phone_number_never_in_full_in_daemon_log(start_hotlined, db):
    daemon = start_hotlined({"hotlined": {"log_level": "debug"}})
    ids = [new_id("phone"), new_id("phone"), new_id("phone")]
    with daemon.feed("water") as c:
        c.send_intake(**record(ids[0], caller_phone=PHONE, caller_name="张三"))
        expect_ack(c, ids[0])
        c.send_intake(**record(ids[1], caller_phone=PHONE, content=""))  # refused record, logged
        expect_error(c, pb().ERROR_INVALID)
    with daemon.json_feed("water") as c:
        c.send_intake(**record(ids[2], caller_phone=PHONE))
        assert c.read_line()["type"] == "ack"
        c.send_line(f'{{"external_id":"x","caller_phone":"{PHONE}",')  # not JSON, echoing it would leak
        assert c.read_line()["type"] == "error"
    assert db.tickets_by_external_id("water", ids[0])[0]["caller_phone"] == PHONE
    assert daemon.stop() == 0
    log = daemon.log_text()
    assert log.strip() != "", "hotlined wrote no log at debug level"
    assert PHONE not in log, "the full caller phone number appears in hotlined's log"


# ------------------------------------------------------------------ load, shutdown, faults


def _sender(client, data, errors):
    try:
        client.send_raw(data)
    except OSError as e:  # the daemon may close first (shutdown)
        errors.append(e)


def test_pipelining_2000_records(hotlined, db):
    prefix = new_id("pipe") + "-"
    ids = [f"{prefix}{i:05d}" for i in range(2000)]
    data = b"".join(hc.intake_frame(**record(i, content=f"pipelined record {i}")) for i in ids)
    acks = {}
    with hotlined.feed("water") as c:
        errors = []
        sender = threading.Thread(target=_sender, args=(c, data, errors), daemon=True)
        sender.start()
        deadline = time.monotonic() + 120
        while len(acks) < len(ids):
            kind, msg = c.read_reply(max(0.1, deadline - time.monotonic()))
            assert kind == "ack", f"{kind}: {msg}"
            assert msg.duplicate is False
            assert msg.external_id not in acks, f"two acks for {msg.external_id}"
            acks[msg.external_id] = msg.ticket_no
        sender.join(10)
        assert not errors
    assert set(acks) == set(ids)
    assert len(set(acks.values())) == len(ids), "ticket numbers are not unique"
    stored = db.tickets_with_prefix("water", prefix)
    assert len(stored) == 2000
    assert stored == acks


def test_sigterm_during_burst_keeps_every_ack_and_exits_0(start_hotlined, db):
    daemon = start_hotlined()
    prefix = new_id("term") + "-"
    ids = [f"{prefix}{i:05d}" for i in range(6000)]
    data = b"".join(hc.intake_frame(**record(i)) for i in ids)
    acks, errors = {}, []
    c = daemon.feed("water")
    send_errors = []
    sender = threading.Thread(target=_sender, args=(c, data, send_errors), daemon=True)
    sender.start()
    signalled = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            try:
                kind, msg = c.read_reply(max(0.1, deadline - time.monotonic()))
            except Closed:
                break
            if kind == "ack":
                acks[msg.external_id] = msg.ticket_no
            else:
                assert kind == "error", f"{kind}: {msg}"
                assert hc.error_name(msg.code) == "ERROR_UNAVAILABLE", f"unexpected error during shutdown: {msg}"
                errors.append(msg)
            if not signalled and len(acks) >= 200:
                daemon.signal(signal.SIGTERM)
                signalled = True
        else:
            pytest.fail("connection not closed within 60 s of SIGTERM")
    finally:
        c.close()
        sender.join(10)
    print(f"acks {len(acks)}, UNAVAILABLE {len(errors)}, of {len(ids)} sent")
    assert signalled, f"only {len(acks)} acks before the connection closed"
    assert daemon.wait(40) == 0, f"hotlined exit code {daemon.returncode}"
    stored = db.tickets_with_prefix("water", prefix)
    missing = [e for e in acks if e not in stored]
    assert not missing, f"{len(missing)} acked records are not in PostgreSQL, e.g. {missing[:3]}"
    assert all(stored[e] == t for e, t in acks.items())


class Feeder:
    """A feed that keeps sending, treating ERROR_UNAVAILABLE/ERROR_INTERNAL or a dropped
    connection as 'resend later', as the durability contract asks of feeds."""

    WINDOW = 64

    def __init__(self, daemon, prefix):
        self.daemon = daemon
        self.prefix = prefix
        self.next = 0
        self.client = None
        self.pending = {}  # external_id -> sent, not answered
        self.resend = deque()
        self.acked = {}  # external_id -> ticket_no
        self.ack_times = []
        self.retryable = 0
        self.drops = 0
        self.failures = []

    def _connect(self):
        try:
            self.client = self.daemon.feed("water", timeout=5.0)
        except (OSError, Closed, Timeout, AssertionError):
            self.client = None
            time.sleep(0.2)

    def _drop(self):
        if self.client is not None:
            self.client.close()
        self.client = None
        self.drops += 1
        self.resend.extend(self.pending)
        self.pending.clear()

    def run(self, produce_until, give_up_at):
        try:
            self._run(produce_until, give_up_at)
        except Exception as e:  # a thread's exception would otherwise be lost
            self.failures.append(f"feeder crashed: {e!r}")
        finally:
            if self.client is not None:
                self.client.close()

    def _run(self, produce_until, give_up_at):
        while time.monotonic() < give_up_at:
            producing = time.monotonic() < produce_until
            if not producing and not self.pending and not self.resend:
                break
            if self.client is None:
                self._connect()
                continue
            burst = b""
            while len(self.pending) < self.WINDOW and (self.resend or producing):
                if self.resend:
                    external_id = self.resend.popleft()
                else:
                    external_id = f"{self.prefix}{self.next:06d}"
                    self.next += 1
                self.pending[external_id] = True
                burst += hc.intake_frame(**record(external_id))
            try:
                if burst:
                    self.client.send_raw(burst)
                kind, msg = self.client.read_reply(1.0)
            except Timeout:
                continue  # storage down: the daemon holds records back (back-pressure)
            except (Closed, OSError):
                self._drop()
                continue
            if kind == "ack":
                if msg.external_id in self.acked:
                    if self.acked[msg.external_id] != msg.ticket_no:
                        self.failures.append(f"{msg.external_id}: two ticket numbers")
                self.acked[msg.external_id] = msg.ticket_no
                self.ack_times.append(time.monotonic())
                self.pending.pop(msg.external_id, None)
            elif kind == "error" and hc.error_name(msg.code) in ("ERROR_UNAVAILABLE", "ERROR_INTERNAL"):
                self.retryable += 1
                if msg.external_id in self.pending:
                    del self.pending[msg.external_id]
                    self.resend.append(msg.external_id)
            else:
                self.failures.append(f"{kind}: {msg}")
                self._drop()

    def unacked(self):
        return set(self.pending) | set(self.resend)


def test_postgres_restart_under_load(start_hotlined, db, pg_restart):
    daemon = start_hotlined()
    prefix = new_id("pgr")
    feeders = [Feeder(daemon, f"{prefix}-{n}-") for n in range(4)]
    start = time.monotonic()
    produce_until = start + 6.0
    give_up_at = start + 90.0
    threads = [threading.Thread(target=f.run, args=(produce_until, give_up_at), daemon=True) for f in feeders]
    for t in threads:
        t.start()
    time.sleep(1.5)
    pg_restart()
    restarted_at = time.monotonic()
    for t in threads:
        t.join(give_up_at - time.monotonic() + 10)
    assert not any(t.is_alive() for t in threads)

    for n, f in enumerate(feeders):
        after = sum(1 for ts in f.ack_times if ts > restarted_at)
        print(f"feeder {n}: sent {f.next}, acked {len(f.acked)} ({after} after the restart), "
              f"retryable errors {f.retryable}, dropped connections {f.drops}")
    assert daemon.alive(), f"hotlined died during the PostgreSQL restart:\n{daemon.log_tail()}"
    failures = [f for feeder in feeders for f in feeder.failures]
    assert not failures, failures[:5]
    acked = {e: t for feeder in feeders for e, t in feeder.acked.items()}
    assert len(acked) > 0
    assert any(ts > restarted_at for feeder in feeders for ts in feeder.ack_times), "no ack after PostgreSQL came back"
    unacked = set().union(*(f.unacked() for f in feeders))
    assert not unacked, f"{len(unacked)} records never acknowledged within 90 s"
    stored = db.tickets_with_prefix("water", prefix + "-")
    missing = [e for e in acked if e not in stored]
    assert not missing, f"{len(missing)} acked records are not in PostgreSQL, e.g. {missing[:3]}"
    assert all(stored[e] == t for e, t in acked.items()), "stored ticket_no differs from the acked one"
    assert len(set(stored.values())) == len(stored)
    # still serving normally
    with daemon.feed("water") as c:
        good_id = new_id("after")
        c.send_intake(**record(good_id))
        expect_ack(c, good_id)


def test_migrate_is_idempotent(binaries, schema):
    r = subprocess.run([str(binaries.hotlinectl), "--dsn", schema, "migrate"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_migrate_with_config_file(hotlined, binaries):
    r = subprocess.run(
        [str(binaries.hotlinectl), "-c", str(hotlined.conf_path), "migrate"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stdout + r.stderr
