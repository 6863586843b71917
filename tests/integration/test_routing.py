"""Routing and the department feed through Redis, against a real hotlined,
PostgreSQL and Redis: rule files loaded with `hotlinectl route load`, routing at
intake (rule, sub-centre fallback, manual desk), the relay to department streams,
department connections (delivery, Ack, redelivery, window), department actions and
the TicketUpdates they send back to the originating feed, rule changes without a
restart, and the rebuild after Redis loses its data.

Isolation: PostgreSQL and Redis are shared by the session, and the rule set in
Redis is global. Every test loads its own rule file, and uses departments and feeds
of its own (fresh codes added to the daemon's config by routing_overrides), so
streams, pending entries and TicketUpdates of other tests never mix in; where an
example department or feed is used (water, enterprise) the test filters by
ticket_no. Helpers: routing_helpers.py; fixtures: conftest.py.
"""

import pathlib
import threading
import time
import uuid

import pytest
from google.protobuf import json_format

import hotline_client as hc
from routing_helpers import (
    DeptClient,
    FeedClient,
    entries_by_ticket,
    load_rules,
    load_rules_raw,
    mask,
    new_code,
    new_keyword,
    new_phone,
    now_ms,
    redis_client,
    redis_dump,
    routing_overrides,
    stream_entries,
    wait_rules_in_force,
    wait_until,
)

REPO_RULES_EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "rules.example"


def pb():
    return hc.pb


def new_id(prefix="rt"):
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


# ------------------------------------------------------------------ fixtures


pytestmark = pytest.mark.usefixtures("neutral_rules_afterwards")


@pytest.fixture
def rules(binaries, redis_server, db, rds, tmp_path):
    """rules(text) -> version: loads a rule file with hotlinectl route load."""
    n = [0]

    def load(text):
        n[0] += 1
        return load_rules(binaries, redis_server, db, rds, tmp_path / f"rules{n[0]}.conf", text)

    return load


# ------------------------------------------------------------------ database views


def ticket_row(db, ticket_no):
    rows = db.query(
        "SELECT ticket_no, feed_code, external_id, state, dept_code, route_rule, return_count,"
        " reply, version, dispatched_at, updated_at, deadline_at, extend_count"
        " FROM tickets WHERE ticket_no = %s",
        (ticket_no,),
    )
    assert len(rows) == 1, f"{len(rows)} rows for ticket {ticket_no}"
    return rows[0]


def events(db, ticket_no):
    rows = db.query(
        "SELECT e.kind, e.from_state, e.to_state, e.actor, e.detail FROM ticket_events e"
        " JOIN tickets t USING (ticket_id) WHERE t.ticket_no = %s ORDER BY e.event_id",
        (ticket_no,),
    )
    return [(r["kind"], r["from_state"], r["to_state"], r["actor"], r["detail"]) for r in rows]


def outbox_rows(db, ticket_no):
    rows = db.query(
        "SELECT count(*) AS n FROM outbox o JOIN tickets t"
        " ON t.ticket_id = o.ticket_id OR t.ticket_id = ANY(o.ticket_ids) WHERE t.ticket_no = %s",
        (ticket_no,),
    )
    return rows[0]["n"]


def feed_updates(db, ticket_no):
    return db.query(
        "SELECT update_id, feed_code, external_id, state, reply FROM feed_updates"
        " WHERE ticket_no = %s ORDER BY update_id",
        (ticket_no,),
    )


def deadline_ms(db, ticket_no):
    return db.query(
        "SELECT COALESCE((extract(epoch FROM deadline_at) * 1000)::int8, 0) AS ms"
        " FROM tickets WHERE ticket_no = %s",
        (ticket_no,),
    )[0]["ms"]


def settled_outbox(db, ticket_no):
    """Waits until the relay has published the ticket and deleted its outbox row."""
    wait_until(lambda: outbox_rows(db, ticket_no) == 0, 10, message=f"the outbox row of {ticket_no} deleted")


def remembered_rules(db, version):
    """The rule text routing_rules holds for version, or None."""
    rows = db.query("SELECT rules FROM routing_rules WHERE version = %s", (version,))
    return rows[0]["rules"] if rows else None


def snapshot(db, ticket_no):
    """Everything a refused action must leave alone."""
    return (
        ticket_row(db, ticket_no),
        events(db, ticket_no),
        feed_updates(db, ticket_no),
        outbox_rows(db, ticket_no),
    )


def redispatch(db, ticket_no, dept):
    """What a manual-desk agent would do (that tool does not exist yet): DISPATCHED again."""
    db.query(
        "UPDATE tickets SET state = 'DISPATCHED', dept_code = %s, version = version + 1 WHERE ticket_no = %s",
        (dept, ticket_no),
    )


def in_stream(rds, dept, ticket_no):
    return [e for e in stream_entries(rds, f"hotline:dept:{dept}") if e[1] == ticket_no]


def wait_entry_deleted(rds, dept, ticket_no, timeout=5.0):
    """An acknowledged ticket leaves the group's pending list (XACK) and the stream
    (XDEL: "a stream holds only open deliveries")."""
    stream = f"hotline:dept:{dept}"
    deadline = time.monotonic() + timeout
    while in_stream(rds, dept, ticket_no):
        if time.monotonic() > deadline:
            pending = rds.xpending_range(stream, "hotline", "-", "+", 100)
            raise AssertionError(
                f"{ticket_no} still in {stream} {timeout} s after its Ack: entries "
                f"{[(e, t) for e, t, _ in stream_entries(rds, stream)]}, pending {pending}"
            )
        time.sleep(0.05)


def intake_fields(keyword, phone, **extra):
    fields = {
        "channel": "phone",
        "category": "complaint",
        "content": f"小区停水三天了 {keyword}",
        "district": "崇川区",
        "address": "人民路1号",
        "caller_phone": phone,
    }
    fields.update(extra)
    return fields


def as_dict(message):
    """Every field of a message, defaults included (readable assertion diffs)."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, including_default_value_fields=True
    )


def state_name(value):
    return pb().TicketState.Name(value)


def expect_error(frame, code, ticket_no):
    assert frame.WhichOneof("msg") == "error", f"expected Error {code}, got {frame}"
    assert pb().ErrorCode.Name(frame.error.code) == code, frame.error
    assert frame.error.ticket_no == ticket_no
    return frame.error


def expect_action_ack(frame, ticket_no, ok, state, error=""):
    assert frame.WhichOneof("msg") == "action_ack", f"expected ActionAck, got {frame}"
    ack = frame.action_ack
    assert ack.ticket_no == ticket_no
    assert (ack.ok, state_name(ack.state), ack.error) == (ok, state, error)
    return ack


# ------------------------------------------------------------------ routing at intake


def test_rule_file_ticket_reaches_exactly_its_department(start_hotlined, rules, db, rds):
    dept_a, dept_b, feed = new_code("rta"), new_code("rtb"), new_code("rtf")
    kw_a, kw_b = new_keyword(), new_keyword()
    # Not canonical on purpose: comments, odd spacing, full-width comma,
    # conditions out of canonical order, one condition on two lines.
    version = rules(
        f"# routing test\n"
        f"rule to-a -> {dept_a}\n"
        f"   keywords  {kw_a} ， 不相干的词\n"
        f"\n"
        f"rule to-b -> {dept_b}\n"
        f"  keywords {kw_b}\n"
        f"  category consultation\n"
        f"  keywords 另一个词\n"
    )
    canonical = (
        f"rule to-a -> {dept_a}\n  keywords {kw_a}, 不相干的词\n\n"
        f"rule to-b -> {dept_b}\n  category consultation\n  keywords {kw_b}, 另一个词\n"
    )
    assert rds.get("hotline:rules").decode() == canonical
    assert int(rds.get("hotline:rules:version")) == version

    daemon = start_hotlined(routing_overrides(depts=[dept_a, dept_b], feeds=[feed]))
    wait_rules_in_force(daemon, version)
    # the daemon remembers the version in PostgreSQL
    remembered = wait_until(lambda: remembered_rules(db, version), 10, message=f"routing_rules v{version}")
    assert remembered == canonical

    a = DeptClient(daemon, dept_a)
    b = DeptClient(daemon, dept_b)
    feed_conn = FeedClient(daemon, feed)
    phone = new_phone()
    received_at = now_ms() - 60_000
    external_id = new_id()
    content = f"小区停水三天了 {kw_a} 另一个词"  # also has a to-b keyword: first match wins
    ticket_no = feed_conn.intake(
        external_id,
        **intake_fields(kw_a, phone, content=content, received_at=received_at, lat=32.01, lon=120.86),
    )

    ticket = a.ticket(ticket_no, timeout=10)
    assert as_dict(ticket) == as_dict(pb().Ticket(
        ticket_no=ticket_no,
        category="complaint",
        content=content,
        caller_phone_masked=mask(phone),
        district="崇川区",
        address="人民路1号",
        priority=pb().PRIORITY_NORMAL,
        received_at=received_at,
        deadline_at=deadline_ms(db, ticket_no),  # whatever the dispatch set, as stored
        reopen_count=0,
        state=pb().TICKET_STATE_DISPATCHED,
        lat=32.01,
        lon=120.86,
    ))
    row = ticket_row(db, ticket_no)
    assert (row["state"], row["dept_code"], row["route_rule"]) == ("DISPATCHED", dept_a, "to-a")
    assert row["dispatched_at"] is not None
    assert events(db, ticket_no) == [
        ("INTAKE", None, "RECEIVED", f"feed:{feed}", None),
        ("ROUTE_MATCHED", "RECEIVED", "DISPATCHED", "router", "to-a"),
    ]
    # published once, to its own stream only; the outbox row is gone
    wait_until(lambda: outbox_rows(db, ticket_no) == 0, 10, message="the outbox row to be deleted")
    found = entries_by_ticket(rds)[ticket_no]
    assert [stream for stream, _, _ in found] == [f"hotline:dept:{dept_a}"]
    assert found[0][2] == ticket

    # the other department gets nothing, now or later
    assert b.tickets_within(2.5) == []
    assert stream_entries(rds, f"hotline:dept:{dept_b}") == []

    # Ack: the stream keeps only open work; no redelivery to the same department
    a.ack(ticket_no)
    wait_entry_deleted(rds, dept_a, ticket_no)
    assert a.tickets_within(1.0) == []
    assert not a.backlog, a.backlog  # no Error in answer to the Ack
    for c in (a, b, feed_conn):
        c.close()


def test_rules_example_routes_by_its_rules(start_hotlined, rules, db):
    """deploy/rules.example as operators would load it: safety first, sub-centre,
    "fraud" before "telecom", district fallback, and no catch-all."""
    version = rules(REPO_RULES_EXAMPLE.read_text(encoding="utf-8"))
    daemon = start_hotlined()
    wait_rules_in_force(daemon, version)
    water = DeptClient(daemon, "water")
    feed = FeedClient(daemon, "power", token="power-feed-secret")
    tag = uuid.uuid4().hex[:8]
    cases = [
        # content, category, district -> state, dept, rule
        (f"小区停水三天了 {tag}", "complaint", "", "DISPATCHED", "water", "water-supply"),
        (f"厨房燃气泄漏，停水了 {tag}", "complaint", "", "DISPATCHED", "gas", "gas-leak"),
        (f"接到电信诈骗电话 {tag}", "complaint", "", "DISPATCHED", "public-security", "fraud"),
        (f"欠薪 {tag}", "consultation", "海门区", "DISPATCHED", "haimen-gov", "district-haimen"),
        (f"想问一件事 {tag}", "consultation", "", "PENDING_DISPATCH", None, None),
    ]
    tickets = []
    for content, category, district, *_ in cases:
        tickets.append(feed.intake(new_id(), content=content, category=category, district=district))
    for ticket_no, (_, _, _, state, dept, rule) in zip(tickets, cases):
        row = ticket_row(db, ticket_no)
        assert (row["state"], row["dept_code"], row["route_rule"]) == (state, dept, rule), row
    # the water department's connection gets the water ticket (the example stream
    # may hold other tests' tickets too)
    got = water.ticket(tickets[0], timeout=10)
    assert got.content == cases[0][0]
    water.ack(tickets[0])
    water.close()
    feed.close()


def test_unmatched_ticket_pending_dispatch_without_stream_entry(start_hotlined, rules, db, rds):
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule complaints -> {dept}\n  category complaint\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed]))
    wait_rules_in_force(daemon, version)
    conn = DeptClient(daemon, dept)
    f = FeedClient(daemon, feed)
    phone = new_phone()
    # only one of the two conditions holds / neither holds
    half = f.intake(new_id(), **intake_fields(kw, phone, category="consultation"))
    none = f.intake(new_id(), **intake_fields(new_keyword(), phone))
    matched = f.intake(new_id(), **intake_fields(kw, phone))

    # the matched one, committed after the others, reaches its stream ...
    assert conn.ticket(timeout=10).ticket_no == matched
    wait_until(lambda: outbox_rows(db, matched) == 0, 10, message="the matched ticket's outbox row deleted")
    # ... and the unmatched ones are in no stream at all, and never get delivered
    found = entries_by_ticket(rds)
    assert half not in found and none not in found
    assert conn.tickets_within(1.5) == []
    for ticket_no in (half, none):
        row = ticket_row(db, ticket_no)
        assert (row["state"], row["dept_code"], row["route_rule"], row["dispatched_at"]) == (
            "PENDING_DISPATCH",
            None,
            None,
            None,
        )
        assert events(db, ticket_no) == [
            ("INTAKE", None, "RECEIVED", f"feed:{feed}", None),
            ("ROUTE_NONE", "RECEIVED", "PENDING_DISPATCH", "router", None),
        ]
        assert outbox_rows(db, ticket_no) == 0
    conn.close()
    f.close()


def test_subcenter_feed_falls_back_to_its_own_department(start_hotlined, rules, db):
    dept, sub_dept, sub_feed, plain_feed = new_code("rtd"), new_code("rts"), new_code("rtsc"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule by-keyword -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(
        routing_overrides(depts=[dept, sub_dept], feeds=[plain_feed, (sub_feed, "subcenter", sub_dept)])
    )
    wait_rules_in_force(daemon, version)
    enterprise_dept = DeptClient(daemon, "enterprise")
    sub_conn = DeptClient(daemon, sub_dept)
    phone = new_phone()
    other = new_keyword()

    enterprise = FeedClient(daemon, "enterprise", token="enterprise-feed-secret")
    ent_fallback = enterprise.intake(new_id(), **intake_fields(other, phone))
    ent_rule = enterprise.intake(new_id(), **intake_fields(kw, phone))  # a rule comes first
    sub = FeedClient(daemon, sub_feed)
    sub_fallback = sub.intake(new_id(), **intake_fields(other, phone))
    plain = FeedClient(daemon, plain_feed)
    plain_none = plain.intake(new_id(), **intake_fields(other, phone))

    expected = {
        ent_fallback: ("DISPATCHED", "enterprise", "subcenter:enterprise"),
        ent_rule: ("DISPATCHED", dept, "by-keyword"),
        sub_fallback: ("DISPATCHED", sub_dept, f"subcenter:{sub_feed}"),
        plain_none: ("PENDING_DISPATCH", None, None),
    }
    for ticket_no, want in expected.items():
        row = ticket_row(db, ticket_no)
        assert (row["state"], row["dept_code"], row["route_rule"]) == want, ticket_no
    assert events(db, ent_fallback)[1] == (
        "ROUTE_MATCHED",
        "RECEIVED",
        "DISPATCHED",
        "router",
        "subcenter:enterprise",
    )

    assert enterprise_dept.ticket(ent_fallback, timeout=10).ticket_no == ent_fallback
    enterprise_dept.ack(ent_fallback)
    assert sub_conn.ticket(timeout=10).ticket_no == sub_fallback
    assert sub_conn.tickets_within(1.0) == []
    for c in (enterprise_dept, sub_conn, enterprise, sub, plain):
        c.close()


# ------------------------------------------------------------------ delivery


def dept_daemon(start_hotlined, rules, **routing):
    """A daemon with a fresh department and feed and a rule set sending keyword kw to
    that department, in force; routing: [routing] options. Returns (daemon, dept,
    feed, kw)."""
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed], routing=routing or None))
    wait_rules_in_force(daemon, version)
    return daemon, dept, feed, kw


def test_department_reconnect_gets_unacked_tickets_again(start_hotlined, rules, db, rds):
    # default redeliver_after_ms (30 s): the handover at close must not wait for it
    daemon, dept, feed, kw = dept_daemon(start_hotlined, rules)
    assert daemon.setting("routing", "redeliver_after_ms") == "30000"
    f = FeedClient(daemon, feed)
    phone = new_phone()
    first = DeptClient(daemon, dept)
    sent = [f.intake(new_id(), **intake_fields(kw, phone, content=f"{kw} 第{i}件")) for i in range(3)]
    got = {first.ticket(timeout=10).ticket_no for _ in range(3)}
    assert got == set(sent)
    first.ack(sent[0])
    wait_entry_deleted(rds, dept, sent[0])
    first.close()

    start = time.monotonic()
    second = DeptClient(daemon, dept)
    again = {second.ticket(timeout=6).ticket_no for _ in range(2)}
    elapsed = time.monotonic() - start
    assert again == set(sent[1:])
    assert elapsed < 6, f"redelivery after reconnect took {elapsed:.1f} s"
    assert second.tickets_within(2.5) == []  # not the acked one, and no duplicates
    for ticket_no in sent[1:]:
        second.ack(ticket_no)
    for ticket_no in sent[1:]:
        wait_entry_deleted(rds, dept, ticket_no)
    assert stream_entries(rds, f"hotline:dept:{dept}") == []
    second.close()

    third = DeptClient(daemon, dept)
    assert third.tickets_within(3.0) == []
    third.close()
    f.close()


def test_trimmed_stream_keeps_pending_and_undelivered_and_backlog_comes_back(start_hotlined, rules, db, rds):
    """Acks are an XACK and, now and then, a trim of the stream below its oldest open
    entry (queries/stream_trim.lua) instead of an XDEL each. Acknowledged out of order,
    the entries above an unacknowledged one stay; the unacknowledged one (handed to
    "orphans" when the connection closes) and the tickets published while the
    department was away (never delivered) are never trimmed, however many trims run
    meanwhile (another daemon's consumers of the department would run them), and all
    reach the department when it comes back, each once."""
    daemon, dept, feed, kw = dept_daemon(start_hotlined, rules, dept_window=3)
    stream = f"hotline:dept:{dept}"
    trim_script = (pathlib.Path(__file__).resolve().parents[2] / "queries" / "stream_trim.lua").read_text()
    f = FeedClient(daemon, feed)
    first = DeptClient(daemon, dept)
    held = [f.intake(new_id(), **intake_fields(kw, new_phone(), content=f"{kw} 先{i}")) for i in range(3)]
    assert {first.ticket(timeout=10).ticket_no for _ in range(3)} == set(held)
    first.ack(held[2])
    first.ack(held[1])
    time.sleep(0.5)  # the consumer's trim after those acks has run
    assert [e[1] for e in stream_entries(rds, stream)][:1] == [held[0]]
    first.close()
    wait_until(lambda: any(c["name"] == b"orphans" and c["pending"] == 1
                           for c in rds.xinfo_consumers(stream, "hotline")), 5,
               message="the unacknowledged ticket handed to orphans")

    backlog = [f.intake(new_id(), **intake_fields(kw, new_phone(), content=f"{kw} 后{i}")) for i in range(10)]
    wait_until(lambda: len(stream_entries(rds, stream)) >= 1 + 2 + len(backlog), 10,
               message="the backlog published")
    for _ in range(3):
        rds.eval(trim_script, 1, stream, "hotline", 1000)
    in_redis = {e[1] for e in stream_entries(rds, stream)}
    assert {held[0], *backlog} <= in_redis

    second = DeptClient(daemon, dept)
    got = []
    while len(got) < 1 + len(backlog):
        ticket_no = second.ticket(timeout=10).ticket_no
        got.append(ticket_no)
        second.ack(ticket_no)
    assert sorted(got) == sorted([held[0], *backlog])  # each once
    assert second.tickets_within(1.0) == []
    wait_until(lambda: stream_entries(rds, stream) == [], 5, message="the stream trimmed to nothing")
    states = {t: db.ticket(t)["state"] for t in got}
    assert set(states.values()) == {"DISPATCHED"}, states
    second.close()
    f.close()


def test_unacked_ticket_redelivered_to_second_connection(start_hotlined, rules, rds):
    """A ticket the holding connection leaves unacknowledged for redeliver_after_ms
    goes to the department's other connection, not back to the holder."""
    daemon, dept, feed, kw = dept_daemon(start_hotlined, rules, redeliver_after_ms=1000)
    f = FeedClient(daemon, feed)
    holder = DeptClient(daemon, dept)
    ticket_no = f.intake(new_id(), **intake_fields(kw, new_phone()))
    original = holder.ticket(ticket_no, timeout=10)
    delivered = time.monotonic()

    other = DeptClient(daemon, dept)
    redelivered = other.ticket(timeout=8)
    waited = time.monotonic() - delivered
    assert redelivered == original
    assert waited >= 0.9, f"redelivered {waited:.2f} s after the first delivery, before redeliver_after_ms"
    # given to the other connection, not pushed again to the one that holds it
    assert [t.ticket_no for t in holder.tickets_within(0.2)] == []

    other.ack(ticket_no)
    wait_entry_deleted(rds, dept, ticket_no)
    # acked: nobody gets it again, however long it was unacknowledged before
    assert holder.tickets_within(3.0) == []
    assert other.tickets_within(0.1) == []
    for c in (holder, other, f):
        c.close()


def test_consumers_of_closed_connections_are_forgotten(start_hotlined, rules, rds):
    """Each department connection reads as a consumer of its own. Once the connection
    is gone and its consumer holds nothing, the department's next claim deletes it;
    the consumers used to stay in the group for ever, one more per connection (and
    every consumer of a daemon killed). A live one is kept, even when
    it holds nothing."""
    daemon, dept, feed, kw = dept_daemon(start_hotlined, rules, redeliver_after_ms=1000)
    stream = f"hotline:dept:{dept}"

    def consumers():
        return sorted(c["name"].decode() for c in rds.xinfo_consumers(stream, "hotline"))

    f = FeedClient(daemon, feed)
    for i in range(3):  # a consumer exists once it was given something
        d = DeptClient(daemon, dept)
        ticket_no = f.intake(new_id(), **intake_fields(kw, new_phone(), content=f"{kw} {i}"))
        d.ticket(ticket_no)
        d.ack(ticket_no)
        wait_entry_deleted(rds, dept, ticket_no)
        d.close()
    closed = consumers()
    assert len(closed) == 3, closed

    live = DeptClient(daemon, dept)
    ticket_no = f.intake(new_id(), **intake_fields(kw, new_phone(), content=f"{kw} live"))
    live.ticket(ticket_no)
    live.ack(ticket_no)
    wait_until(lambda: len(consumers()) == 1 and not set(consumers()) & set(closed), 5,
               message=f"only the live connection's consumer left of {consumers()}")
    [mine] = consumers()
    time.sleep(2.5)  # idle, holding nothing, for more than redeliver_after_ms
    assert consumers() == [mine]
    live.close()
    f.close()


def test_unacked_ticket_not_pushed_again_to_the_connection_holding_it(start_hotlined, rules):
    """With no other connection, a ticket held unacknowledged past redeliver_after_ms
    stays with its connection: it is not pushed to it again (TCP lost nothing), and
    it does not eat the connection's window."""
    daemon, dept, feed, kw = dept_daemon(start_hotlined, rules, redeliver_after_ms=1000, dept_window=3)
    f = FeedClient(daemon, feed)
    holder = DeptClient(daemon, dept)
    held = f.intake(new_id(), **intake_fields(kw, new_phone()))
    assert holder.ticket(timeout=10).ticket_no == held
    # several redeliver_after_ms periods (and the consumer's 2 s read cycles)
    pushed_again = [t.ticket_no for t in holder.tickets_within(6.5)]
    assert pushed_again == [], f"{held} pushed again to the connection that holds it: {pushed_again}"
    later = {f.intake(new_id(), **intake_fields(kw, new_phone(), content=f"{kw} {i}")) for i in range(2)}
    assert {t.ticket_no for t in holder.tickets_within(3.0)} == later
    holder.close()
    f.close()


def test_department_window_limits_unacked_tickets(start_hotlined, rules):
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed], routing={"dept_window": 2}))
    wait_rules_in_force(daemon, version)
    f = FeedClient(daemon, feed)
    conn = DeptClient(daemon, dept)
    sent = [f.intake(new_id(), **intake_fields(kw, new_phone(), content=f"{kw} {i}")) for i in range(3)]
    got = [t.ticket_no for t in conn.tickets_within(2.5)]
    assert len(got) == 2, got
    assert set(got) < set(sent)
    conn.ack(got[0])
    third = conn.ticket(timeout=5).ticket_no
    assert {third} == set(sent) - set(got)
    assert conn.tickets_within(1.0) == []
    conn.close()
    f.close()


def test_department_welcome_announces_dept_window(start_hotlined):
    """Welcome.window is "records a client may have unacknowledged at once"; for a
    department that is dept_window (README, hotline-dept: "window":100)."""
    dept = new_code("rtd")
    daemon = start_hotlined(routing_overrides(depts=[dept], routing={"dept_window": 7}))
    conn = DeptClient(daemon, dept)
    assert conn.welcome.window == 7
    conn.close()


def test_department_hello_and_protocol(start_hotlined):
    dept = new_code("rtd")
    daemon = start_hotlined(routing_overrides(depts=[dept]))
    for dept_id, token in ((dept, "wrong-secret"), ("no-such-dept", "water-dept-secret")):
        with daemon.binary() as c:
            reply = c.hello(dept_id, token, role=pb().ROLE_DEPARTMENT)
            assert reply.WhichOneof("msg") == "error", reply
            assert pb().ErrorCode.Name(reply.error.code) == "ERROR_AUTH"
            assert c.wait_closed(5.0)
    # a department connection may not send what feeds send
    with DeptClient(daemon, "water") as water:
        water.send_intake(external_id=new_id(), content="x")
        frame = water.next_frame(lambda f: f.WhichOneof("msg") == "error", 5, "Error")
        assert pb().ErrorCode.Name(frame.error.code) == "ERROR_PROTOCOL"


def test_feed_and_department_tokens_open_only_their_own_door(start_hotlined):
    """Every secret is distinct per role and per id: the water feed's token does not
    let anyone in as the water department, nor the department's as the feed (binary
    and JSON), though both name the same code; each opens its own door."""
    dept, feed = new_code("rtd"), new_code("rtf")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed]))
    refused = [
        ("water", "water-feed-secret", pb().ROLE_DEPARTMENT),
        ("water", "water-dept-secret", pb().ROLE_FEED),
        (dept, f"{feed}-feed-secret", pb().ROLE_DEPARTMENT),
        (feed, f"{dept}-dept-secret", pb().ROLE_FEED),
    ]
    for code, token, role in refused:
        with daemon.binary() as c:
            reply = c.hello(code, token, role=role)
            assert reply.WhichOneof("msg") == "error", (code, token, role, reply)
            assert pb().ErrorCode.Name(reply.error.code) == "ERROR_AUTH", reply
            assert c.wait_closed(5.0)
    with daemon.json() as c:
        reply = c.hello("water", "water-dept-secret")
        assert (reply.get("type"), reply.get("code")) == ("error", "auth"), reply
    # the right token for each role still works
    DeptClient(daemon, "water", token="water-dept-secret").close()
    FeedClient(daemon, "water", token="water-feed-secret").close()
    DeptClient(daemon, dept).close()
    FeedClient(daemon, feed).close()


# ------------------------------------------------------------------ actions


def test_cross_department_action_refused_and_ticket_unchanged(start_hotlined, rules, db):
    dept_a, dept_b, feed = new_code("rta"), new_code("rtb"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept_a}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept_a, dept_b], feeds=[feed]))
    wait_rules_in_force(daemon, version)
    f = FeedClient(daemon, feed)
    a = DeptClient(daemon, dept_a)
    b = DeptClient(daemon, dept_b)
    ticket_no = f.intake(new_id(), **intake_fields(kw, new_phone()))
    a.ticket(ticket_no, timeout=10)
    settled_outbox(db, ticket_no)
    before = snapshot(db, ticket_no)

    tries = [
        b.accept(ticket_no),
        b.return_ticket(ticket_no, "不是我们的"),
        b.reply(ticket_no, "已处理"),
        b.extend(ticket_no, now_ms() + 86_400_000, "需要时间"),
    ]
    for frame in tries:
        err = expect_error(frame, "ERROR_NOT_FOUND", ticket_no)
        assert err.message == "no such ticket for this department"
    # Ack of a ticket not delivered on this connection (README: Error{PROTOCOL}, so
    # that it cannot be mistaken for an action's NOT_FOUND); the connection stays
    b.ack(ticket_no)
    err = expect_error(b.answer(ticket_no), "ERROR_PROTOCOL", ticket_no)
    assert err.message == "Ack for a ticket that awaits no acknowledgement on this connection"
    # a ticket that does not exist gets the same answer
    ghost = "20000101-99999999"
    expect_error(b.accept(ghost), "ERROR_NOT_FOUND", ghost)
    expect_error(a.accept(ghost), "ERROR_NOT_FOUND", ghost)

    assert snapshot(db, ticket_no) == before
    assert b.tickets_within(0.5) == []
    assert [u for u in f.take("ticket_update")] == []
    # still the owner's to act on
    expect_action_ack(a.accept(ticket_no), ticket_no, True, "TICKET_STATE_ACCEPTED")
    for c in (a, b, f):
        c.close()


def test_forbidden_transition_ok_false_and_db_unchanged(start_hotlined, rules, db):
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed]))
    wait_rules_in_force(daemon, version)
    f = FeedClient(daemon, feed)
    a = DeptClient(daemon, dept)
    ticket_no = f.intake(new_id(), **intake_fields(kw, new_phone()))
    a.ticket(ticket_no, timeout=10)
    settled_outbox(db, ticket_no)

    before = snapshot(db, ticket_no)
    expect_action_ack(
        a.reply(ticket_no, "已修复"),
        ticket_no,
        False,
        "TICKET_STATE_DISPATCHED",
        "cannot reply to a ticket in state DISPATCHED (REPLY needs ACCEPTED)",
    )
    assert snapshot(db, ticket_no) == before

    expect_action_ack(a.accept(ticket_no), ticket_no, True, "TICKET_STATE_ACCEPTED")
    before = snapshot(db, ticket_no)
    expect_action_ack(
        a.accept(ticket_no),
        ticket_no,
        False,
        "TICKET_STATE_ACCEPTED",
        "cannot accept a ticket in state ACCEPTED (ACCEPT needs DISPATCHED)",
    )
    blank = a.return_ticket(ticket_no, " \u3000 ")  # spaces and U+3000 only
    expect_action_ack(blank, ticket_no, False, "TICKET_STATE_ACCEPTED", "a return needs a reason")
    assert snapshot(db, ticket_no) == before
    row = ticket_row(db, ticket_no)
    assert (row["state"], row["dept_code"], row["return_count"]) == ("ACCEPTED", dept, 0)
    a.close()
    f.close()


def test_accept_reply_reach_feed_and_acked_updates_not_resent(start_hotlined, rules, db):
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed]))
    wait_rules_in_force(daemon, version)
    f = FeedClient(daemon, feed)
    a = DeptClient(daemon, dept)
    reply_text = f"水管已修复，恢复供水。{kw}"

    # ---- acknowledged updates are deleted and never sent again
    ext1 = new_id()
    t1 = f.intake(ext1, **intake_fields(kw, new_phone()))
    a.ticket(t1, timeout=10)
    start = now_ms()
    expect_action_ack(a.accept(t1), t1, True, "TICKET_STATE_ACCEPTED")
    accepted = f.update(t1, pb().TICKET_STATE_ACCEPTED)
    until = max(now_ms(), deadline_ms(db, t1)) + 3 * 86_400_000
    expect_action_ack(a.extend(t1, until, "需要协调施工"), t1, True, "TICKET_STATE_ACCEPTED")
    assert deadline_ms(db, t1) == until
    expect_action_ack(a.reply(t1, reply_text), t1, True, "TICKET_STATE_REPLIED")
    replied = f.update(t1, pb().TICKET_STATE_REPLIED)
    assert (accepted.external_id, accepted.ticket_no, accepted.reply) == (ext1, t1, "")
    assert (replied.external_id, replied.ticket_no, replied.reply) == (ext1, t1, reply_text)
    assert start - 1000 <= replied.at <= now_ms() + 1000
    assert 0 < accepted.update_id < replied.update_id
    # extend writes no TicketUpdate: exactly two, also in the table
    f.collect(1.0)
    assert [u for u in f.take("ticket_update") if u.ticket_update.ticket_no == t1] == []
    rows = feed_updates(db, t1)
    assert [(r["update_id"], r["feed_code"], r["external_id"], r["state"], r["reply"]) for r in rows] == [
        (accepted.update_id, feed, ext1, "ACCEPTED", None),
        (replied.update_id, feed, ext1, "REPLIED", reply_text),
    ]
    row = ticket_row(db, t1)
    assert (row["state"], row["reply"], row["extend_count"]) == ("REPLIED", reply_text, 1)
    f.ack_update(accepted.update_id)
    f.ack_update(replied.update_id)
    wait_until(lambda: feed_updates(db, t1) == [], 5, message="acknowledged TicketUpdates deleted")
    f.close()

    f = FeedClient(daemon, feed)
    f.collect(2.0)
    assert [u.ticket_update for u in f.take("ticket_update")] == []

    # ---- an unacknowledged update is sent again after the feed reconnects
    ext2 = new_id()
    t2 = f.intake(ext2, **intake_fields(kw, new_phone()))
    a.ticket(t2, timeout=10)
    expect_action_ack(a.accept(t2), t2, True, "TICKET_STATE_ACCEPTED")
    expect_action_ack(a.reply(t2, reply_text), t2, True, "TICKET_STATE_REPLIED")
    accepted2 = f.update(t2, pb().TICKET_STATE_ACCEPTED)
    replied2 = f.update(t2, pb().TICKET_STATE_REPLIED)
    f.ack_update(accepted2.update_id)  # the REPLIED one stays unacknowledged
    wait_until(lambda: len(feed_updates(db, t2)) == 1, 5, message="the acked update deleted")
    f.close()

    f = FeedClient(daemon, feed)
    again = f.update(t2, timeout=5)
    assert again == replied2
    f.collect(1.5)
    assert [u.ticket_update for u in f.take("ticket_update")] == []  # not the acked one, not twice
    f.ack_update(again.update_id)
    wait_until(lambda: feed_updates(db, t2) == [], 5, message="the resent update deleted after its ack")
    f.close()

    f = FeedClient(daemon, feed)
    f.collect(2.0)
    assert [u.ticket_update for u in f.take("ticket_update")] == []
    f.close()
    a.close()


def test_update_from_another_daemon_arrives_within_update_poll(start_hotlined, rules):
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept}\n  keywords {kw}\n")
    overrides = routing_overrides(depts=[dept], feeds=[feed], routing={"update_poll_ms": 500})
    one = start_hotlined(overrides)
    two = start_hotlined(overrides)
    wait_rules_in_force(one, version)
    wait_rules_in_force(two, version)
    f = FeedClient(one, feed)
    a = DeptClient(two, dept)
    ext = new_id()
    ticket_no = f.intake(ext, **intake_fields(kw, new_phone()))
    assert a.ticket(timeout=10).ticket_no == ticket_no  # through the stream, from the other daemon
    a.ack(ticket_no)
    expect_action_ack(a.accept(ticket_no), ticket_no, True, "TICKET_STATE_ACCEPTED")
    started = time.monotonic()
    update = f.update(ticket_no, pb().TICKET_STATE_ACCEPTED, timeout=5)
    took = time.monotonic() - started
    assert (update.external_id, update.ticket_no) == (ext, ticket_no)
    assert took < 0.5 + 1.0, f"the update from the other daemon took {took:.2f} s"
    f.ack_update(update.update_id)
    a.close()
    f.close()


def test_three_returns_escalate(start_hotlined, rules, db):
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed]))
    assert daemon.setting("routing", "max_returns") == "3"
    wait_rules_in_force(daemon, version)
    f = FeedClient(daemon, feed)
    a = DeptClient(daemon, dept)
    ext = new_id()
    ticket_no = f.intake(ext, **intake_fields(kw, new_phone()))
    a.ticket(ticket_no, timeout=10)
    a.ack(ticket_no)

    answer = a.return_ticket(ticket_no, "不属于本单位职责 1")
    expect_action_ack(answer, ticket_no, True, "TICKET_STATE_PENDING_DISPATCH")
    row = ticket_row(db, ticket_no)
    assert (row["state"], row["dept_code"], row["return_count"]) == ("PENDING_DISPATCH", None, 1)
    # no longer the department's ticket
    expect_error(a.accept(ticket_no), "ERROR_NOT_FOUND", ticket_no)

    redispatch(db, ticket_no, dept)
    expect_action_ack(a.accept(ticket_no), ticket_no, True, "TICKET_STATE_ACCEPTED")
    answer = a.return_ticket(ticket_no, "不属于本单位职责 2")
    expect_action_ack(answer, ticket_no, True, "TICKET_STATE_PENDING_DISPATCH")
    row = ticket_row(db, ticket_no)
    assert (row["state"], row["dept_code"], row["return_count"]) == ("PENDING_DISPATCH", None, 2)

    redispatch(db, ticket_no, dept)
    answer = a.return_ticket(ticket_no, "不属于本单位职责 3")
    expect_action_ack(answer, ticket_no, True, "TICKET_STATE_ESCALATED")
    row = ticket_row(db, ticket_no)
    assert (row["state"], row["dept_code"], row["return_count"]) == ("ESCALATED", None, 3)
    actor = f"dept:{dept}"
    assert [e for e in events(db, ticket_no) if e[0] in ("RETURN", "ACCEPT")] == [
        ("RETURN", "DISPATCHED", "PENDING_DISPATCH", actor, "不属于本单位职责 1"),
        ("ACCEPT", "DISPATCHED", "ACCEPTED", actor, None),
        ("RETURN", "ACCEPTED", "PENDING_DISPATCH", actor, "不属于本单位职责 2"),
        ("RETURN", "DISPATCHED", "ESCALATED", actor, "不属于本单位职责 3"),
    ]
    expect_error(a.return_ticket(ticket_no, "again"), "ERROR_NOT_FOUND", ticket_no)

    # one way out: the feed hears every step, the escalation last
    states = []
    while not states or states[-1] != "ESCALATED":
        u = f.update(ticket_no, timeout=5)
        assert u.external_id == ext
        states.append(state_name(u.state)[len("TICKET_STATE_") :])
        f.ack_update(u.update_id)
    assert states == ["PENDING_DISPATCH", "ACCEPTED", "PENDING_DISPATCH", "ESCALATED"]
    a.close()
    f.close()


def test_max_returns_is_configurable(start_hotlined, rules, db):
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed], routing={"max_returns": 1}))
    wait_rules_in_force(daemon, version)
    f = FeedClient(daemon, feed)
    a = DeptClient(daemon, dept)
    ticket_no = f.intake(new_id(), **intake_fields(kw, new_phone()))
    a.ticket(ticket_no, timeout=10)
    answer = a.return_ticket(ticket_no, "不归我们管")
    expect_action_ack(answer, ticket_no, True, "TICKET_STATE_ESCALATED")
    assert ticket_row(db, ticket_no)["return_count"] == 1
    a.close()
    f.close()


# ------------------------------------------------------------------ rule changes


def test_rule_change_takes_effect_without_restart(start_hotlined, rules, db):
    dept_a, dept_b, feed = new_code("rta"), new_code("rtb"), new_code("rtf")
    kw = new_keyword()
    v1 = rules(f"rule old -> {dept_a}\n  keywords {kw}\n")
    # a long check interval: only the pub/sub announcement can make the switch fast
    overrides = routing_overrides(depts=[dept_a, dept_b], feeds=[feed])
    overrides["redis"] = {"check_interval_ms": 60000}
    daemon = start_hotlined(overrides)
    wait_rules_in_force(daemon, v1)
    f = FeedClient(daemon, feed)
    a = DeptClient(daemon, dept_a)
    b = DeptClient(daemon, dept_b)
    phone = new_phone()
    t1 = f.intake(new_id(), **intake_fields(kw, phone))
    assert a.ticket(timeout=10).ticket_no == t1

    v2 = rules(f"rule new -> {dept_b}\n  keywords {kw}\n")
    assert v2 > v1
    wait_rules_in_force(daemon, v2, timeout=3)
    t2 = f.intake(new_id(), **intake_fields(kw, phone))
    assert b.ticket(timeout=10).ticket_no == t2
    assert a.tickets_within(1.0) == []
    assert (ticket_row(db, t2)["dept_code"], ticket_row(db, t2)["route_rule"]) == (dept_b, "new")
    assert (ticket_row(db, t1)["dept_code"], ticket_row(db, t1)["route_rule"]) == (dept_a, "old")
    remembered = wait_until(lambda: remembered_rules(db, v2), 5, message=f"routing_rules v{v2}")
    assert remembered == f"rule new -> {dept_b}\n  keywords {kw}\n"
    assert daemon.alive()
    for c in (a, b, f):
        c.close()


def test_missed_announcement_is_caught_by_the_periodic_check(start_hotlined, rules, rds, db):
    dept_a, dept_b, feed = new_code("rta"), new_code("rtb"), new_code("rtf")
    kw = new_keyword()
    v1 = rules(f"rule old -> {dept_a}\n  keywords {kw}\n")
    overrides = routing_overrides(depts=[dept_a, dept_b], feeds=[feed])
    overrides["redis"] = {"check_interval_ms": 500}
    daemon = start_hotlined(overrides)
    wait_rules_in_force(daemon, v1)
    # what `route load` stores, without the PUBLISH (say the daemon's subscription was down)
    text = f"rule new -> {dept_b}\n  keywords {kw}\n"
    with rds.pipeline(transaction=True) as p:
        p.set("hotline:rules", text)
        p.incr("hotline:rules:version")
        _, v2 = p.execute()
    wait_rules_in_force(daemon, v2, timeout=3)
    f = FeedClient(daemon, feed)
    t = f.intake(new_id(), **intake_fields(kw, new_phone()))
    assert (ticket_row(db, t)["state"], ticket_row(db, t)["dept_code"]) == ("DISPATCHED", dept_b)
    f.close()


def test_rules_loaded_after_redis_data_loss_take_effect(
    start_hotlined, binaries, redis_server, rules, db, rds, tmp_path
):
    """Redis loses its data while no daemon runs (restart without persistence); the
    operator loads a rule file (its version starts again at 1); a daemon started
    afterwards must route by it, not by an older version remembered in PostgreSQL."""
    dept_a, dept_b, feed = new_code("rta"), new_code("rtb"), new_code("rtf")
    kw = new_keyword()
    v1 = rules(f"rule old -> {dept_a}\n  keywords {kw}\n")
    overrides = routing_overrides(depts=[dept_a, dept_b], feeds=[feed], routing={"relay_interval_ms": 500})
    first = start_hotlined(overrides)
    wait_rules_in_force(first, v1)
    wait_until(lambda: remembered_rules(db, v1), 5, message=f"routing_rules v{v1}")
    assert first.stop() == 0

    redis_server.restart()
    assert rds.get("hotline:rules:version") is None
    v2 = load_rules_raw(
        binaries, redis_server, tmp_path / "after-loss.rules", f"rule new -> {dept_b}\n  keywords {kw}\n"
    )

    second = start_hotlined(overrides)
    f = FeedClient(second, feed)
    time.sleep(1.5)  # three relay intervals: every periodic check has run
    t = f.intake(new_id(), **intake_fields(kw, new_phone()))
    row = ticket_row(db, t)
    assert (row["dept_code"], row["route_rule"]) == (dept_b, "new"), (
        f"rules v{v2} loaded after the data loss are not in force "
        f"(the daemon remembers v{v1} in PostgreSQL); ticket routed by {row['route_rule']!r}"
    )
    f.close()


# ------------------------------------------------------------------ republishing


def add_backdated_outbox_rows(db, ticket_no, copies):
    """copies outbox rows (one statement, so one sweep takes them all) for the ticket's
    current dispatch, backdated so the relay's sweeper takes them at its next round."""
    db.query(
        "INSERT INTO outbox (ticket_id, kind, dept_code, created_at)"
        " SELECT ticket_id, 'dispatch', dept_code, now() - interval '1 hour'"
        " FROM tickets, generate_series(1, %s) WHERE ticket_no = %s",
        (copies, ticket_no),
    )
    assert outbox_rows(db, ticket_no) == copies


def test_republished_dispatch_stays_one_stream_entry(start_hotlined, rules, db, rds):
    """An outbox row for a dispatch that is already in its stream (a daemon died
    between publishing and deleting the row; a rebuild raced with the fast path) is
    swept, found already published, and deleted: the stream keeps one entry. The same
    holds for two such rows in one sweep, and for two rows of a dispatch never
    published before (the same publish marker twice in one publish call)."""
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed], routing={"relay_interval_ms": 200}))
    wait_rules_in_force(daemon, version)
    f = FeedClient(daemon, feed)
    phone = new_phone()
    published = f.intake(new_id(), **intake_fields(kw, phone))
    unrouted = f.intake(new_id(), **intake_fields(new_keyword(), phone))  # the manual desk's
    wait_until(lambda: in_stream(rds, dept, published), 10, message=f"{published} in hotline:dept:{dept}")
    settled_outbox(db, published)
    (entry_id, _, _), = in_stream(rds, dept, published)

    for copies in (1, 2):
        add_backdated_outbox_rows(db, published, copies)
        settled_outbox(db, published)  # swept and deleted: published or found published
        assert [e for e, _, _ in in_stream(rds, dept, published)] == [entry_id], (
            f"{copies} outbox row(s) for a dispatch already in the stream added entries"
        )

    assert ticket_row(db, unrouted)["state"] == "PENDING_DISPATCH"
    assert in_stream(rds, dept, unrouted) == []
    redispatch(db, unrouted, dept)
    add_backdated_outbox_rows(db, unrouted, 2)
    settled_outbox(db, unrouted)
    entries = in_stream(rds, dept, unrouted)
    assert len(entries) == 1, f"two outbox rows of one new dispatch made {len(entries)} entries"
    assert pb().Ticket.FromString(entries[0][2]).ticket_no == unrouted
    assert [e for e, _, _ in in_stream(rds, dept, published)] == [entry_id]
    assert daemon.alive()
    f.close()


# ------------------------------------------------------------------ Redis data loss


@pytest.mark.parametrize("loss", ["restart", "flushall"])
def test_redis_data_loss_during_load_republishes_every_dispatched_ticket_once(
    start_hotlined, rules, redis_server, db, rds, loss
):
    """Redis loses everything while tickets keep coming in: restarted without
    persistence (the daemon's connections drop), or FLUSHALL (they do not; only the
    periodic check of hotline:epoch notices). Afterwards every DISPATCHED ticket in
    PostgreSQL is in its department's stream exactly once."""
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept}\n  keywords {kw}\n")
    canonical = rds.get("hotline:rules")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed], routing={"relay_interval_ms": 500}))
    wait_rules_in_force(daemon, version)
    phone = new_phone()
    f = FeedClient(daemon, feed)

    total, restart_at = 300, 100
    sent = {}
    restart_ms = []

    def restart():
        restart_ms.append(now_ms())
        if loss == "restart":
            redis_server.restart()  # no persistence: streams, markers, rules, epoch gone
        else:
            redis_client(redis_server.address).flushall()

    restarter = threading.Thread(target=restart)
    for i in range(total):
        matched = i % 5 != 0  # every fifth goes to the manual desk
        ext = new_id()
        word = kw if matched else new_keyword()
        fields = intake_fields(word, phone, content=f"{kw if matched else ''} 第{i}件")
        sent[f.intake(ext, **fields)] = matched
        if i == restart_at:
            restarter.start()  # intake goes on meanwhile
        time.sleep(0.005)
    restarter.join(60)
    assert not restarter.is_alive()
    assert daemon.alive(), daemon.log_tail()
    assert sum(sent.values()) == total - total // 5

    def dispatched_in_db():
        rows = db.query("SELECT ticket_no, dept_code FROM tickets WHERE state = 'DISPATCHED'")
        return {r["ticket_no"]: r["dept_code"] for r in rows}

    def settled():
        if db.query("SELECT count(*) AS n FROM outbox WHERE dept_code IS NOT NULL")[0]["n"] != 0:
            return False
        found = entries_by_ticket(rds)
        return set(dispatched_in_db()) <= set(found)

    wait_until(settled, 45, interval=0.5, message="an empty outbox and every DISPATCHED ticket in a stream")
    time.sleep(1.5)  # three more relay rounds: a late duplicate would show now
    expected = dispatched_in_db()
    found = entries_by_ticket(rds)
    ours = {t for t, matched in sent.items() if matched}
    assert ours <= set(expected)
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    dups = {t: len(v) for t, v in found.items() if len(v) != 1}
    wrong_stream = {
        t: [s for s, _, _ in v]
        for t, v in found.items()
        if t in expected and v[0][0] != f"hotline:dept:{expected[t]}"
    }
    first = (missing[:5], extra[:5], dict(list(dups.items())[:5]), dict(list(wrong_stream.items())[:5]))
    assert first == ([], [], {}, {}), (
        f"{len(missing)} missing, {len(extra)} not DISPATCHED, {len(dups)} not exactly once, "
        f"{len(wrong_stream)} in the wrong stream; entry ids of the first duplicates: "
        f"{ {t: [e for _, e, _ in found[t]] for t in list(dups)[:3]} }; restarted at "
        f"{restart_ms[0] if restart_ms else None} ms"
    )
    for ticket_no in sent:
        if not sent[ticket_no]:
            assert ticket_row(db, ticket_no)["state"] == "PENDING_DISPATCH"
    # each entry is the ticket it names, masked, and the rule set is back in Redis
    for ticket_no in ours:
        (_, _, ticket), = found[ticket_no]
        assert (ticket.ticket_no, ticket.caller_phone_masked, state_name(ticket.state)) == (
            ticket_no,
            mask(phone),
            "TICKET_STATE_DISPATCHED",
        )
        assert ticket.content.startswith(kw)
    assert rds.get("hotline:rules") == canonical
    assert int(rds.get("hotline:rules:version")) == version
    assert rds.get("hotline:epoch") is not None
    assert phone.encode() not in redis_dump(rds)
    log = daemon.log_text()
    assert "rebuilding department streams from PostgreSQL" in log
    assert daemon.alive()
    f.close()


def test_caller_phone_is_masked_everywhere_in_redis(start_hotlined, rules, rds):
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed]))
    wait_rules_in_force(daemon, version)
    f = FeedClient(daemon, feed)
    conn = DeptClient(daemon, dept)
    mobile = new_phone()
    digits = mobile[3:]
    phones = {
        mobile: mask(mobile),
        f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}": f"+861******{mobile[-4:]}",
        f"0513-8{digits[:7]}": f"051*****{digits[3:7]}",  # 12 digits: area code + number
    }
    sent = {}
    for phone, masked in phones.items():
        sent[f.intake(new_id(), **intake_fields(kw, phone))] = (phone, masked)
    for _ in phones:
        ticket = conn.ticket(timeout=10)
        assert ticket.caller_phone_masked == sent[ticket.ticket_no][1]
    dump = redis_dump(rds)
    for ticket_no in sent:
        assert ticket_no.encode() in dump  # the tickets are there (not yet acked) ...
    for phone, _ in sent.values():
        only_digits = "".join(ch for ch in phone if ch.isdigit())
        for needle in {phone, only_digits, only_digits[-8:]}:
            assert needle.encode() not in dump, f"{needle!r} found in Redis"  # ... their phones are not
            assert needle not in daemon.log_text()
    conn.close()
    f.close()


def test_stream_entry_that_is_not_a_ticket_is_logged_and_acknowledged_away(start_hotlined, rules, rds):
    """The daemon passes a stream entry's Ticket bytes to the department as they are,
    after a wire-format check: an entry that is not a well-formed Ticket, or whose
    Ticket names another ticket than the entry does, never reaches the department; it
    is logged and acknowledged away, and the tickets after it flow as usual."""
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed]))
    wait_rules_in_force(daemon, version)
    stream = f"hotline:dept:{dept}"
    other = pb().Ticket(ticket_no="20261128-99999999", category="路灯", content="x").SerializeToString()
    wrong_wire = pb().Ticket(ticket_no="20261128-99999998").SerializeToString() + bytes([0x60, 0x01])
    bad = {
        "20261128-99999997": b"\xff\xff\xff\xff",  # not protobuf at all
        "20261128-99999996": other,  # a Ticket, but of another ticket_no
        "20261128-99999998": wrong_wire,  # lat (a double) sent as a varint
        "x" * 40: pb().Ticket(ticket_no="x" * 40).SerializeToString(),  # ticket_no too long
    }
    for ticket_no, blob in bad.items():
        rds.xadd(stream, {"ticket_no": ticket_no, "ticket": blob})
    f = FeedClient(daemon, feed)
    conn = DeptClient(daemon, dept)
    good = f.intake(new_id(), **intake_fields(kw, new_phone()))
    got = conn.tickets_within(3.0)
    assert [t.ticket_no for t in got] == [good]
    assert got[0].content and got[0].caller_phone_masked  # the whole Ticket came through
    conn.ack(good)
    wait_until(lambda: stream_entries(rds, stream) == [], 10, message=f"{stream} emptied")
    log = daemon.log_text()
    assert log.count("is not a Ticket; acknowledging it away") == len(bad), daemon.log_tail()
    conn.close()
    f.close()


def test_intake_batch_has_one_outbox_row_kept_until_every_ticket_is_published(start_hotlined, rules, db, rds):
    """An intake batch writes one outbox row for all the tickets it dispatched. When
    publishing fails (here the department's stream key is of the wrong type, so XADD
    is refused), the row stays whole; once publishing works again the sweeper takes
    the row, every ticket lands in its stream once, and the row is deleted."""
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed], routing={"relay_interval_ms": 200}))
    wait_rules_in_force(daemon, version)
    stream = f"hotline:dept:{dept}"
    rds.set(stream, "not a stream")
    f = FeedClient(daemon, feed)
    ids = [new_id() for _ in range(6)]
    for i, external_id in enumerate(ids):  # sent back to back: one batch (or a few)
        f.send_intake(external_id=external_id, **intake_fields(kw, new_phone(), content=f"{kw} {i}"))
    acks = [f.next_frame(lambda fr: fr.WhichOneof("msg") == "intake_ack", 10, "IntakeAck") for _ in ids]
    tickets = sorted(a.intake_ack.ticket_no for a in acks)
    rows = db.query(
        "SELECT o.outbox_id, o.ticket_id, o.kind, o.dept_code,"
        " ARRAY(SELECT t.ticket_no FROM tickets t WHERE t.ticket_id = ANY(o.ticket_ids)"
        "   ORDER BY t.ticket_no) AS tickets"
        " FROM outbox o WHERE o.ticket_ids && ARRAY(SELECT ticket_id FROM tickets WHERE ticket_no = ANY(%s))",
        (tickets,),
    )
    assert sum(len(r["tickets"]) for r in rows) == len(ids), rows
    assert all(r["ticket_id"] is None and r["kind"] == "dispatch" and r["dept_code"] is None for r in rows)
    assert len(rows) < len(ids), f"one row per batch, not per ticket: {rows}"
    time.sleep(1.0)  # the fast path tried and failed: the rows are still there, whole
    assert sum(outbox_rows(db, t) for t in tickets) == len(ids)
    assert rds.type(stream) == b"string"

    rds.delete(stream)  # publishing works again; the sweeper takes rows older than 5 s
    wait_until(lambda: all(outbox_rows(db, t) == 0 for t in tickets), 20, message="the batch rows deleted")
    entries = [no for _, no, _ in stream_entries(rds, stream)]
    assert sorted(entries) == tickets, entries
    f.close()


def test_redis_data_loss_rebuild_requeues_a_callback_despite_a_stale_dispatch_row(
    start_hotlined, rules, redis_server, db, rds
):
    """After Redis lost its data, the rebuild queues what each open ticket needs. A
    pending outbox row that will not publish that (here a stale dispatch row of a
    ticket now waiting for its callback) must not stop it: the replied ticket is back
    on hotline:callbacks."""
    dept, feed = new_code("rtd"), new_code("rtf")
    kw = new_keyword()
    version = rules(f"rule r -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed], routing={"relay_interval_ms": 500}))
    wait_rules_in_force(daemon, version)
    f = FeedClient(daemon, feed)
    conn = DeptClient(daemon, dept)
    ticket_no = f.intake(new_id(), **intake_fields(kw, new_phone()))
    assert conn.ticket(ticket_no, timeout=10).ticket_no == ticket_no
    conn.ack(ticket_no)
    assert conn.accept(ticket_no).WhichOneof("msg") == "action_ack"
    assert conn.reply(ticket_no, "已处理").WhichOneof("msg") == "action_ack"

    def on_callbacks():
        return ticket_no in {no for _, no, _ in stream_entries(rds, "hotline:callbacks")}

    wait_until(on_callbacks, 15, message=f"{ticket_no} on hotline:callbacks")
    # a dispatch row still pending for it (a daemon died before deleting it, say):
    # young, so the sweeper leaves it for 5 s
    db.query(
        "INSERT INTO outbox (ticket_id, kind, dept_code) SELECT ticket_id, 'dispatch', dept_code"
        " FROM tickets WHERE ticket_no = %s",
        (ticket_no,),
    )
    rebuilt = "rebuilding department streams from PostgreSQL"
    before = daemon.log_text().count(rebuilt)
    redis_server.restart()  # no persistence: the callback stream is gone
    wait_until(lambda: daemon.log_text().count(rebuilt) > before, 15, message="the rebuild")
    wait_until(on_callbacks, 15, message=f"{ticket_no} back on hotline:callbacks after the rebuild")
    conn.close()
    f.close()


def test_outbox_rows_that_keep_failing_do_not_hold_back_the_sweep(start_hotlined, rules, db, rds):
    """The sweeper takes relay_batch tickets at a time, oldest rows first. Rows that
    cannot be published (one department's stream key is of the wrong type) must not
    hold back the rows after them: a sweep cut short goes on after its last row."""
    bad, good, feed = new_code("rtb"), new_code("rtg"), new_code("rtf")
    kw_bad, kw_good = new_keyword(), new_keyword()
    version = rules(f"rule b -> {bad}\n  keywords {kw_bad}\nrule g -> {good}\n  keywords {kw_good}\n")
    daemon = start_hotlined(
        routing_overrides(depts=[bad, good], feeds=[feed], routing={"relay_batch": 2, "relay_interval_ms": 200})
    )
    wait_rules_in_force(daemon, version)
    rds.set(f"hotline:dept:{bad}", "not a stream")
    rds.set(f"hotline:dept:{good}", "not a stream")
    f = FeedClient(daemon, feed)
    stuck = [f.intake(new_id(), **intake_fields(kw_bad, new_phone(), content=f"{kw_bad} {i}")) for i in range(3)]
    waiting = f.intake(new_id(), **intake_fields(kw_good, new_phone()))
    rds.delete(f"hotline:dept:{good}")  # the good department can be published to again
    wait_until(
        lambda: waiting in [no for _, no, _ in stream_entries(rds, f"hotline:dept:{good}")],
        20,
        message=f"{waiting} swept past the failing rows into hotline:dept:{good}",
    )
    assert all(outbox_rows(db, t) == 1 for t in stuck)
    rds.delete(f"hotline:dept:{bad}")
    wait_until(lambda: all(outbox_rows(db, t) == 0 for t in stuck), 20, message="the failing rows published at last")
    assert sorted(no for _, no, _ in stream_entries(rds, f"hotline:dept:{bad}")) == sorted(stuck)
    f.close()


def test_partly_published_batch_row_keeps_only_what_is_left_to_publish(start_hotlined, rules, db, rds):
    """An intake batch's outbox row whose tickets were published only in part (one
    department's stream refused them) is narrowed to the tickets not published, so a
    later attempt never publishes the others again, even once the publish markers are
    gone (they live an hour or two; deleted here)."""
    bad, good, feed = new_code("rtb"), new_code("rtg"), new_code("rtf")
    kw_bad, kw_good = new_keyword(), new_keyword()
    version = rules(f"rule b -> {bad}\n  keywords {kw_bad}\nrule g -> {good}\n  keywords {kw_good}\n")
    daemon = start_hotlined(routing_overrides(depts=[bad, good], feeds=[feed], routing={"relay_interval_ms": 200}))
    wait_rules_in_force(daemon, version)
    rds.set(f"hotline:dept:{bad}", "not a stream")
    f = FeedClient(daemon, feed)
    ids = [new_id() for _ in range(8)]
    for i, external_id in enumerate(ids):  # bad, good, bad, good...: any batch of two mixes them
        kw = kw_bad if i % 2 == 0 else kw_good
        f.send_intake(external_id=external_id, **intake_fields(kw, new_phone(), content=f"{kw} {i}"))
    acks = {}
    for _ in ids:
        a = f.next_frame(lambda fr: fr.WhichOneof("msg") == "intake_ack", 10, "IntakeAck").intake_ack
        acks[a.external_id] = a.ticket_no
    bad_tickets = sorted(acks[x] for i, x in enumerate(ids) if i % 2 == 0)
    good_tickets = sorted(acks[x] for i, x in enumerate(ids) if i % 2 == 1)

    def listed():
        rows = db.query(
            "SELECT t.ticket_no FROM outbox o JOIN tickets t ON t.ticket_id = ANY(o.ticket_ids)"
            " WHERE t.ticket_no = ANY(%s)",
            (bad_tickets + good_tickets,),
        )
        return sorted(r["ticket_no"] for r in rows)

    wait_until(lambda: listed() == bad_tickets, 10, message=f"the batch rows narrowed to {bad_tickets}")
    wait_until(
        lambda: sorted(no for _, no, _ in stream_entries(rds, f"hotline:dept:{good}")) == good_tickets,
        10,
        message="the good department's tickets published",
    )
    for key in rds.scan_iter(match="hotline:published:*"):
        rds.delete(key)  # as if the markers had expired
    rds.delete(f"hotline:dept:{bad}")
    wait_until(lambda: listed() == [], 20, message="the rest published and the rows deleted")
    assert sorted(no for _, no, _ in stream_entries(rds, f"hotline:dept:{bad}")) == bad_tickets
    assert sorted(no for _, no, _ in stream_entries(rds, f"hotline:dept:{good}")) == good_tickets
    f.close()
