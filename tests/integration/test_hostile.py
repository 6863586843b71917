"""Hostile peers: what a feed, a department or an agent can send that it should not.

Each test reproduces a defect found by trying to break the daemon from the outside and
shows it refused with a clear Error and nothing changed: NUL bytes inside protobuf
strings (protobuf-c would cut the string there), an Ack of another connection's
TicketUpdate, a record resolved on the call from a feed that may not, an extension to
the end of time.
"""

import uuid

import pytest

import hotline_client as hc
from routing_helpers import (
    DeptClient,
    FeedClient,
    describe,
    load_rules,
    new_code,
    new_keyword,
    new_phone,
    pb,
    routing_overrides,
    wait_rules_in_force,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("neutral_rules_afterwards")


def new_id(prefix="ho"):
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def loop(start_hotlined, binaries, redis_server, db, rds, tmp_path):
    """A daemon with feed F and department D, and keyword K routed to D."""
    dept, feed, other = new_code("hod"), new_code("hof"), new_code("hoo")
    kw = new_keyword()
    version = load_rules(binaries, redis_server, db, rds, tmp_path / "ho.rules", f"rule ho -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed, other]))
    wait_rules_in_force(daemon, version)
    return daemon, dept, feed, other, kw


def fields(kw, **extra):
    out = {"category": "complaint", "content": f"噪音扰民 {kw}", "district": "崇川区",
           "caller_phone": new_phone()}
    out.update(extra)
    return out


def expect_error(frame, code):
    assert frame.WhichOneof("msg") == "error", describe(frame)
    assert pb().ErrorCode.Name(frame.error.code) == code, describe(frame)
    return frame.error


def tickets_of(db, feed, external_id):
    return db.query("SELECT ticket_no, content FROM tickets WHERE feed_code = %s AND external_id = %s",
                    (feed, external_id))


# ------------------------------------------------------------------ NUL bytes


def test_nul_in_external_id_is_refused_not_taken_for_a_duplicate(loop, db):
    """external_id "X\\0y" used to be acked duplicate=true with X's ticket, and the new
    record lost."""
    daemon, _, feed, _, kw = loop
    f = FeedClient(daemon, feed)
    x = new_id()
    first = f.intake(x, **fields(kw))
    f.send_intake(external_id=x + "\0y", **fields(kw))
    frame = f.next_frame(lambda fr: fr.WhichOneof("msg") in ("error", "intake_ack"), 10, "the answer")
    err = expect_error(frame, "ERROR_INVALID")
    assert "intake.external_id" in err.message and "NUL" in err.message
    assert err.external_id == ""  # the cut id is not echoed as if it were the record's
    assert [r["ticket_no"] for r in tickets_of(db, feed, x)] == [first]
    # the connection goes on
    assert f.intake(new_id(), **fields(kw))
    f.close()


@pytest.mark.parametrize("field", ["content", "caller_name", "address", "category", "district"])
def test_nul_in_any_intake_string_stores_nothing(loop, db, field):
    daemon, _, feed, _, kw = loop
    f = FeedClient(daemon, feed)
    ext = new_id()
    record = fields(kw)
    record[field] = (record.get(field) or "x") + "\0HIDDEN"
    f.send_intake(external_id=ext, **record)
    frame = f.next_frame(lambda fr: fr.WhichOneof("msg") in ("error", "intake_ack"), 10, "the answer")
    err = expect_error(frame, "ERROR_INVALID")
    assert f"intake.{field}" in err.message
    assert err.external_id == ext
    assert tickets_of(db, feed, ext) == []
    f.close()


def test_nul_in_department_texts_is_refused_and_the_ticket_unchanged(loop, db):
    daemon, dept, feed, _, kw = loop
    f = FeedClient(daemon, feed)
    ticket_no = f.intake(new_id(), **fields(kw))
    d = DeptClient(daemon, dept)
    d.ticket(ticket_no)
    d.ack(ticket_no)
    ack = d.accept(ticket_no)
    assert ack.WhichOneof("msg") == "action_ack" and ack.action_ack.ok
    for action in ({"reply": pb().DeptAction.Reply(content="已处理\0其实没有")},
                   {"return_ticket": pb().DeptAction.Return(reason="不归我们\0")},
                   {"extend": pb().DeptAction.Extend(until=hc.now_ms() + 86_400_000, reason="\0")}):
        err = expect_error(d.action(ticket_no, **action), "ERROR_INVALID")
        assert "NUL" in err.message and err.ticket_no == ticket_no
    [row] = db.query("SELECT state, reply, return_count, extend_count FROM tickets WHERE ticket_no = %s",
                     (ticket_no,))
    assert (row["state"], row["reply"], row["return_count"], row["extend_count"]) == ("ACCEPTED", None, 0, 0)
    # a NUL in the ticket number itself: not echoed
    d.send_frame(pb().Frame(dept_action=pb().DeptAction(ticket_no=ticket_no + "\0x",
                                                        accept=pb().DeptAction.Accept())))
    err = expect_error(d.next_frame(lambda fr: fr.WhichOneof("msg") == "error", 10, "the Error"), "ERROR_INVALID")
    assert "dept_action.ticket_no" in err.message and err.ticket_no == ""
    d.close()
    f.close()


def test_nul_in_hello_closes_the_connection(loop):
    daemon, _, feed, _, _ = loop
    c = daemon.binary()
    reply = c.hello(feed, f"{feed}-feed-secret\0")
    err = expect_error(reply, "ERROR_INVALID")
    assert "hello.token" in err.message
    with pytest.raises(hc.Closed):
        c.read_frame(5)
    c.close()


# ------------------------------------------------------------------ TicketUpdates


def accepted(daemon, dept, feed, kw, n=1):
    """n tickets of feed, accepted by dept (so feed is owed an ACCEPTED update each)."""
    f = FeedClient(daemon, feed)
    tickets = [f.intake(new_id(), **fields(kw)) for _ in range(n)]
    f.close()
    d = DeptClient(daemon, dept)
    for t in tickets:
        d.ticket(t)
        d.ack(t)
        ack = d.accept(t)
        assert ack.WhichOneof("msg") == "action_ack" and ack.action_ack.ok, describe(ack)
    d.close()
    return tickets


def test_a_feed_cannot_ack_another_feeds_update(loop, db):
    """Feed `other` sending Ack{update_id} for an update owed to `feed` used to be
    taken: the update was deleted and never reached its feed."""
    daemon, dept, feed, other, kw = loop
    [ticket_no] = accepted(daemon, dept, feed, kw)
    [row] = db.query("SELECT update_id FROM feed_updates WHERE ticket_no = %s", (ticket_no,))
    update_id = row["update_id"]
    o = FeedClient(daemon, other)
    o.ack_update(update_id)
    err = expect_error(o.next_frame(lambda fr: fr.WhichOneof("msg") == "error", 10, "the Error"), "ERROR_NOT_FOUND")
    assert "this connection" in err.message
    o.close()
    f = FeedClient(daemon, feed)
    up = f.update(ticket_no)
    assert up.update_id == update_id
    # still owed: a second connection of the same feed that was not sent it cannot ack it either
    g = FeedClient(daemon, feed)
    g.update(ticket_no)  # owed to every connection of the feed until acknowledged
    h = daemon.binary()
    assert h.hello(feed, f"{feed}-feed-secret").WhichOneof("msg") == "welcome"
    f.ack_update(update_id)
    import time
    time.sleep(1.5)  # the janitor's batched DELETE
    assert db.query("SELECT 1 FROM feed_updates WHERE update_id = %s", (update_id,)) == []
    f.close()
    g.close()
    h.close()


def test_every_connection_sent_an_update_may_ack_it(loop, db):
    """An update is owed to every connection of its feed until one acknowledges it,
    so two connections may both be sent it and both ack it. The second Ack used to
    get Error{NOT_FOUND} (the update was no longer held for that connection), and a
    feed that takes an Error without external_id for a broken connection (as
    hotline-loadgen does) dropped it: bench/dispatch with accepting departments lost
    12 of 16 loadgen connections that way."""
    daemon, dept, feed, _, kw = loop
    [ticket_no] = accepted(daemon, dept, feed, kw)
    [row] = db.query("SELECT update_id FROM feed_updates WHERE ticket_no = %s", (ticket_no,))
    f, g = FeedClient(daemon, feed), FeedClient(daemon, feed)
    assert f.update(ticket_no).update_id == row["update_id"]
    assert g.update(ticket_no).update_id == row["update_id"]
    f.ack_update(row["update_id"])
    g.ack_update(row["update_id"])
    for c in (f, g):
        c.collect(1.0)
        assert c.take("error") == []
    wait_until(lambda: db.query("SELECT 1 FROM feed_updates WHERE update_id = %s", (row["update_id"],)) == [],
               5, message="the acknowledged update deleted")
    f.close()
    g.close()


def test_ack_of_an_update_never_sent_here_is_refused(loop, db):
    daemon, dept, feed, _, kw = loop
    f = FeedClient(daemon, feed)
    for bogus in (1, 2**62, 2**64 - 1):
        f.ack_update(bogus)
        expect_error(f.next_frame(lambda fr: fr.WhichOneof("msg") == "error", 10, "the Error"), "ERROR_NOT_FOUND")
    f.close()


def test_updates_committed_out_of_order_all_reach_a_live_feed(loop, db):
    """Transitions on two PostgreSQL connections commit in any order: an update id
    that commits after a higher one used to be skipped on a live connection (a cursor
    'greater than the last id seen') until the feed reconnected. Every update must
    arrive on the connection that stays open."""
    import threading
    import time

    daemon, dept, feed, _, kw = loop
    f = FeedClient(daemon, feed, timeout=30)
    tickets = [f.intake(new_id(), **fields(kw)) for _ in range(120)]
    f.collect(0.5)
    f.take("ticket_update")
    halves = [tickets[0::2], tickets[1::2]]
    depts = [DeptClient(daemon, dept) for _ in range(2)]
    got = {}
    for d in depts:
        for t in d.tickets_within(2.0):
            got[t.ticket_no] = d
    for t in tickets:
        if t not in got:  # held by the other connection: take it wherever it is
            pass

    def work(d, mine):
        for t in mine:
            d.send_frame(pb().Frame(ack=pb().Ack(ticket_no=t)))
            d.send_frame(pb().Frame(dept_action=pb().DeptAction(ticket_no=t, accept=pb().DeptAction.Accept())))
            d.send_frame(pb().Frame(dept_action=pb().DeptAction(ticket_no=t, reply=pb().DeptAction.Reply(content="已处理"))))

    by_conn = {0: [], 1: []}
    for t in tickets:
        by_conn[0 if got.get(t) is depts[0] else 1].append(t)
    threads = [threading.Thread(target=work, args=(depts[i], by_conn[i])) for i in (0, 1)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    expected = 2 * len(tickets)  # ACCEPTED and REPLIED for each
    seen = set()
    deadline = time.monotonic() + 30
    while len(seen) < expected and time.monotonic() < deadline:
        f.collect(0.5)
        for up in [fr.ticket_update for fr in f.take("ticket_update")]:
            seen.add((up.ticket_no, up.state))
            f.ack_update(up.update_id)
    stored = db.query("SELECT count(*) AS n FROM ticket_events e JOIN tickets t USING (ticket_id)"
                      " WHERE t.ticket_no = ANY(%s) AND e.kind IN ('ACCEPT', 'REPLY')", (tickets,))[0]["n"]
    assert stored == expected
    assert len(seen) == expected, f"{expected - len(seen)} TicketUpdates never reached the live connection"
    for d in depts:
        d.close()
    f.close()


# ------------------------------------------------------------------ bounded queues keep order


def test_department_actions_past_the_window_wait_and_keep_their_order(start_hotlined, binaries, redis_server,
                                                                      db, rds, tmp_path):
    """A department connection with many unanswered actions used to get
    Error{UNAVAILABLE} 'too many actions waiting', answered ahead of earlier actions.
    Now the bound is announced (Welcome.action_window = 2 x dept_window) and past it
    the daemon stops reading the connection: every action is answered, in order."""
    dept, feed = new_code("hod"), new_code("hof")
    kw = new_keyword()
    version = load_rules(binaries, redis_server, db, rds, tmp_path / "ho.rules", f"rule ho -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed], routing={"dept_window": 5}))
    wait_rules_in_force(daemon, version)
    f = FeedClient(daemon, feed)
    tickets = [f.intake(new_id(), **fields(kw)) for _ in range(3)]
    d = DeptClient(daemon, dept)
    assert (d.welcome.window, d.welcome.action_window) == (5, 10)
    sent = []
    for i in range(60):  # six windows' worth, none read meanwhile
        t = tickets[i % 3]
        d.send_frame(pb().Frame(dept_action=pb().DeptAction(ticket_no=t, accept=pb().DeptAction.Accept())))
        sent.append(t)
    answers = []
    while len(answers) < len(sent):
        frame = d.next_frame(lambda fr: fr.WhichOneof("msg") in ("action_ack", "error"), 20, "an answer")
        answers.append(frame)
    assert [fr.WhichOneof("msg") for fr in answers] == ["action_ack"] * 60, [describe(a) for a in answers if
                                                                             a.WhichOneof("msg") == "error"][:3]
    assert [a.action_ack.ticket_no for a in answers] == sent
    assert [a.action_ack.ok for a in answers] == [True] * 3 + [False] * 57
    d.close()
    f.close()


def test_agent_claims_past_the_queue_wait_instead_of_being_refused(start_hotlined, db, rds):
    """More than 64 claims and results unanswered on one agent connection: the daemon
    stops reading instead of answering UNAVAILABLE out of order."""
    db.query("DELETE FROM outbox WHERE kind = 'callback'")
    rds.delete("hotline:callbacks")  # nothing to claim: every claim is answered 'none waiting'
    daemon = start_hotlined()
    c = daemon.binary()
    reply = c.hello("li", daemon.setting("agents", "token"), role=pb().ROLE_AGENT)
    assert reply.WhichOneof("msg") == "welcome", describe(reply)
    for _ in range(200):
        c.send_frame(pb().Frame(callback_claim=pb().CallbackClaim()))
    kinds = [c.read_frame(20).WhichOneof("msg") for _ in range(200)]
    assert kinds == ["callback_task"] * 200, [k for k in kinds if k != "callback_task"][:3]
    c.close()


# ------------------------------------------------------------------ limits of the state machine's inputs


def test_extend_is_bounded(loop, db):
    """extend until INT64_MAX answered INTERNAL 'try again'; until in the year 100000
    was accepted and in effect removed the deadline. Both are INVALID now, as is a
    time not after now; within [routing] extend_max_days (365) it is applied."""
    daemon, dept, feed, _, kw = loop
    f = FeedClient(daemon, feed)
    ticket_no = f.intake(new_id(), **fields(kw))
    f.close()
    d = DeptClient(daemon, dept)
    d.ticket(ticket_no)
    d.ack(ticket_no)
    assert d.accept(ticket_no).action_ack.ok
    now = daemon.now_ms()
    year_100000 = 3_093_527_980_800_000
    for until in (2**63 - 1, year_100000, now + 366 * 86_400_000, now - 1000, 0):
        err = expect_error(d.extend(ticket_no, until, "需要更多时间"), "ERROR_INVALID")
        assert "extend_max_days" in err.message and err.ticket_no == ticket_no
    [before] = db.query("SELECT deadline_at, extend_count FROM tickets WHERE ticket_no = %s", (ticket_no,))
    assert before["extend_count"] == 0
    ok = d.extend(ticket_no, now + 30 * 86_400_000, "需要更多时间")
    assert ok.WhichOneof("msg") == "action_ack" and ok.action_ack.ok, describe(ok)
    [after] = db.query("SELECT deadline_at, extend_count FROM tickets WHERE ticket_no = %s", (ticket_no,))
    assert after["extend_count"] == 1 and after["deadline_at"] > before["deadline_at"]
    d.close()


def test_only_agents_resolve_on_the_call(start_hotlined, db):
    """A feed's record with resolved_on_call used to be stored CLOSED and never
    dispatched. Only agents resolve on the call, unless the feed's section says
    allow_resolved_on_call = yes."""
    allowed = new_code("hoa")
    daemon = start_hotlined(routing_overrides(feeds=[allowed]) | {
        f"feed.{allowed}": {"name": "a line with its own operators", "token": f"{allowed}-feed-secret",
                            "mode": "parallel", "allow_resolved_on_call": "yes"}})
    record = {"category": "consultation", "content": "公积金怎么提取", "caller_phone": new_phone(),
              "resolved_on_call": True, "answer": "携带身份证到公积金中心办理"}
    with daemon.feed("water") as c:
        ext = new_id()
        c.send_intake(external_id=ext, **record)
        kind, msg = c.read_reply(10)
        while kind == "ticket_update":
            kind, msg = c.read_reply(10)
        assert kind == "error" and hc.error_name(msg.code) == "ERROR_INVALID", (kind, msg)
        assert "allow_resolved_on_call" in msg.message and msg.external_id == ext
    assert tickets_of(db, "water", ext) == []
    c = daemon.binary()
    assert c.hello(allowed, f"{allowed}-feed-secret").WhichOneof("msg") == "welcome"
    ext = new_id()
    c.send_intake(external_id=ext, **record)
    kind, msg = c.read_reply(10)
    assert kind == "ack", msg
    [row] = db.query("SELECT state, resolved_on_call FROM tickets WHERE ticket_no = %s", (msg.ticket_no,))
    assert (row["state"], row["resolved_on_call"]) == ("CLOSED", True)
    c.close()
