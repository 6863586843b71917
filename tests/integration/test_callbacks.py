"""The callback loop (回访) and agent terminals (role AGENT), against a real hotlined,
PostgreSQL and Redis: a department's reply queues a callback on hotline:callbacks,
an agent claims it (CallbackClaim -> CallbackTask) and records how it went
(CallbackResult -> ActionAck): satisfied and basically satisfied close the ticket,
unsatisfied reopens it to the same department with a fresh deadline, unreachable
tries again until [callbacks] max_attempts closes it unrated; a claim not finished
within claim_timeout_ms goes to another agent; results only for callbacks the
connection holds; agents' Intake (and direct resolution, 直接办结); Hello refusals;
and the hotline-agent tool.

Timing: a callback reaches the queue through the outbox sweeper, which takes rows
older than 5 seconds, so each callback appears some 5-7 s after the reply.

Isolation: PostgreSQL and Redis are shared by the session, and hotline:callbacks is
one queue for everybody. Before each test the queue and every queued callback
outbox row are removed (only this test's callbacks can then appear), and
hotline:epoch is made to exist so that no daemon of this test rebuilds other tests'
replied tickets into the queue. Tickets come from a sub-centre feed of the test's
own (its department gets them without any rule), with an empty rule set in force.
Helpers: routing_helpers.py; fixtures: conftest.py.
"""

import json
import os
import socket
import subprocess
import time
import uuid

import pytest

import hotline_client as hc
from routing_helpers import (
    DeptClient,
    FeedClient,
    FrameInbox,
    describe,
    entries_by_ticket,
    new_code,
    new_phone,
    now_ms,
   
    routing_overrides,
    wait_until,
)

AGENT_TOKEN = "agent-terminal-secret"  # deploy/hotlined.conf.example [agents] token
AGENTS_FEED = "agents"  # ... and [agents] feed
CALLBACK_WAIT = 20.0  # seconds: the sweeper's 5 s plus slack (sanitizer builds are slower)
STREAM = "hotline:callbacks"


def pb():
    return hc.pb


def new_id(prefix="cb"):
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def state_name(value):
    return pb().TicketState.Name(value)


# ------------------------------------------------------------------ fixtures


pytestmark = pytest.mark.usefixtures("empty_rules")


@pytest.fixture(autouse=True)
def only_this_tests_callbacks(db, rds):
    # Redis's epoch as PostgreSQL recorded it: no daemon of this test rebuilds (a
    # rebuild would queue every REPLIED ticket of earlier tests again).
    [row] = db.query("SELECT epoch FROM bus_epoch")
    if row["epoch"]:
        rds.set("hotline:epoch", row["epoch"], nx=True)
    db.query("DELETE FROM outbox WHERE kind = 'callback'")
    rds.delete(STREAM)


class Setup:
    """A daemon with a sub-centre feed and its department of this test's own."""

    def __init__(self, start_hotlined, callbacks=None, extra=None):
        self.dept = new_code("cbd")
        self.feed = new_code("cbf")
        overrides = routing_overrides(
            depts=[self.dept],
            feeds=[(self.feed, "subcenter", self.dept)],
            routing={"relay_interval_ms": 200},
        )
        if callbacks:
            overrides["callbacks"] = {k: str(v) for k, v in callbacks.items()}
        for section, values in (extra or {}).items():
            overrides.setdefault(section, {}).update(values)
        self.daemon = start_hotlined(overrides)
        self.claim_timeout_ms = int(self.daemon.setting("callbacks", "claim_timeout_ms"))
        self.feed_conn = FeedClient(self.daemon, self.feed)
        self.dept_conn = DeptClient(self.daemon, self.dept)

    def replied_ticket(self, reply="已派人维修，今日恢复供水", **fields):
        """A new ticket taken, accepted and replied to by the department; returns
        (ticket_no, intake fields)."""
        intake = {
            "channel": "phone",
            "caller_phone": new_phone(),
            "caller_name": "王女士",
            "category": "complaint",
            "content": f"小区停水三天了 {uuid.uuid4().hex[:8]}",
            "district": "崇川区",
            "address": "人民路1号",
        }
        intake.update(fields)
        ticket_no = self.feed_conn.intake(new_id(), **intake)
        self.dept_conn.ticket(ticket_no, timeout=10)
        self.dept_conn.ack(ticket_no)
        assert self.dept_conn.accept(ticket_no).action_ack.ok
        ack = self.dept_conn.reply(ticket_no, reply).action_ack
        assert (ack.ok, state_name(ack.state)) == (True, "TICKET_STATE_REPLIED"), ack
        return ticket_no, intake

    def agent(self, agent_id=None):
        return AgentClient(self.daemon, agent_id or new_code("ag"))

    def close(self):
        self.feed_conn.close()
        self.dept_conn.close()


@pytest.fixture
def setup(start_hotlined):
    made = []

    def make(**kw):
        s = Setup(start_hotlined, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


class AgentClient(FrameInbox):
    """An agent terminal: Hello as ROLE_AGENT, CallbackClaim, CallbackResult, Intake."""

    def __init__(self, daemon, agent_id, token=AGENT_TOKEN, timeout=10.0):
        super().__init__("127.0.0.1", daemon.binary_port, timeout)
        self.agent_id = agent_id
        reply = self.hello(agent_id, token, role=pb().ROLE_AGENT)
        assert reply.WhichOneof("msg") == "welcome", f"hello as agent {agent_id}: {describe(reply)}"
        self.welcome = reply.welcome

    def claim(self, timeout=10.0):
        """Sends CallbackClaim; returns its answer: a callback_task frame, or an
        error frame that names neither a ticket nor a record."""
        self.send_frame(pb().Frame(callback_claim=pb().CallbackClaim()))
        return self.next_frame(
            lambda f: f.WhichOneof("msg") == "callback_task"
            or (f.WhichOneof("msg") == "error" and not f.error.ticket_no and not f.error.external_id),
            timeout,
            "CallbackTask",
        )

    def task(self, timeout=10.0):
        """claim(), asserting a CallbackTask; returns it (ticket_no "" = none waiting)."""
        frame = self.claim(timeout)
        assert frame.WhichOneof("msg") == "callback_task", describe(frame)
        return frame.callback_task

    def wait_task(self, timeout=CALLBACK_WAIT):
        """Claims until a callback is handed out (the sweeper publishes it a few
        seconds after the reply); returns the CallbackTask."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.task()
            if task.ticket_no:
                return task
            if time.monotonic() > deadline:
                raise AssertionError(f"no callback handed out within {timeout} s")
            time.sleep(0.3)

    def result(self, ticket_no, outcome, note=""):
        """Sends CallbackResult; returns the answer naming that ticket (action_ack or error)."""
        self.send_frame(
            pb().Frame(callback_result=pb().CallbackResult(ticket_no=ticket_no, outcome=outcome, note=note))
        )
        return self.next_frame(
            lambda f: (f.WhichOneof("msg") == "action_ack" and f.action_ack.ticket_no == ticket_no)
            or (f.WhichOneof("msg") == "error" and f.error.ticket_no == ticket_no),
            15.0,
            f"ActionAck or Error for {ticket_no}",
        )

    def intake(self, external_id, **fields):
        """Sends Intake; returns the answer naming that record (intake_ack or error)."""
        self.send_intake(external_id=external_id, **fields)
        return self.next_frame(
            lambda f: (f.WhichOneof("msg") == "intake_ack" and f.intake_ack.external_id == external_id)
            or (f.WhichOneof("msg") == "error" and f.error.external_id == external_id),
            15.0,
            f"IntakeAck for {external_id}",
        )


# ------------------------------------------------------------------ views


def ticket_row(db, ticket_no):
    rows = db.query(
        "SELECT ticket_no, feed_code, state, dept_code, rating, reply, reopen_count, callback_attempts,"
        " closed_at, resolved_on_call, caller_phone,"
        " COALESCE((extract(epoch FROM deadline_at) * 1000)::int8, 0) AS deadline_ms"
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


def outbox_kinds(db, ticket_no):
    rows = db.query(
        "SELECT o.kind FROM outbox o JOIN tickets t ON t.ticket_id = o.ticket_id"
        " OR t.ticket_id = ANY(o.ticket_ids) WHERE t.ticket_no = %s ORDER BY o.outbox_id",
        (ticket_no,),
    )
    return [r["kind"] for r in rows]


def queued_callbacks(rds):
    """[ticket_no] of the entries in hotline:callbacks, oldest first."""
    if not rds.exists(STREAM):
        return []
    return [fields[b"ticket_no"].decode() for _, fields in rds.xrange(STREAM)]


def pending_count(rds):
    if not rds.exists(STREAM):
        return 0
    try:
        return rds.xpending(STREAM, "agents")["pending"]
    except Exception as e:  # NOGROUP: nobody claimed anything yet
        assert "NOGROUP" in str(e), e
        return 0


def agent_consumers(rds, agent_id):
    try:
        consumers = rds.xinfo_consumers(STREAM, "agents")
    except Exception as e:
        assert "NOGROUP" in str(e) or "no such key" in str(e), e
        return []
    names = [c["name"].decode() if isinstance(c["name"], bytes) else c["name"] for c in consumers]
    return [n for n in names if n.startswith(f"agent-{agent_id}-")]


def expect_ack(frame, ticket_no, ok, state, error=""):
    assert frame.WhichOneof("msg") == "action_ack", f"expected ActionAck, got {describe(frame)}"
    ack = frame.action_ack
    assert (ack.ticket_no, ack.ok, state_name(ack.state), ack.error) == (ticket_no, ok, state, error)


def expect_error(frame, code, ticket_no="", external_id=""):
    assert frame.WhichOneof("msg") == "error", f"expected Error {code}, got {describe(frame)}"
    err = frame.error
    assert (pb().ErrorCode.Name(err.code), err.ticket_no, err.external_id) == (code, ticket_no, external_id), err
    return err


# ------------------------------------------------------------------ outcomes


def test_satisfied_closes_and_the_feed_hears_it(setup, db, rds):
    s = setup()
    reply = "已派人维修，今日恢复供水"
    ticket_no, intake = s.replied_ticket(reply=reply)
    # the reply queued exactly one callback; nothing is handed out before the sweeper runs
    assert outbox_kinds(db, ticket_no) == ["callback"]
    agent = s.agent()
    before = now_ms()
    task = agent.wait_task()
    after = now_ms()
    assert task.ticket_no == ticket_no
    assert (
        task.caller_phone,
        task.caller_name,
        task.category,
        task.content,
        task.reply,
        task.dept_code,
        task.attempt,
    ) == (intake["caller_phone"], "王女士", "complaint", intake["content"], reply, s.dept, 1)
    assert before + s.claim_timeout_ms - 1000 <= task.claimed_until <= after + s.claim_timeout_ms + 1000
    assert queued_callbacks(rds) == [ticket_no]
    assert pending_count(rds) == 1

    expect_ack(agent.result(ticket_no, pb().CALLBACK_OUTCOME_SATISFIED, "很满意"), ticket_no, True, "TICKET_STATE_CLOSED")
    row = ticket_row(db, ticket_no)
    assert (row["state"], row["rating"], row["dept_code"], row["reply"], row["callback_attempts"]) == (
        "CLOSED",
        "SATISFIED",
        s.dept,
        reply,
        1,
    )
    assert row["closed_at"] is not None
    assert events(db, ticket_no)[-1] == ("CALLBACK_SATISFIED", "REPLIED", "CLOSED", f"agent:{agent.agent_id}", "很满意")
    # one way out: the originating feed hears CLOSED, with the reply
    update = s.feed_conn.update(ticket_no, state=pb().TICKET_STATE_CLOSED)
    assert update.reply == reply
    # the entry is acknowledged and deleted: nothing left to hand out or to take back
    wait_until(lambda: queued_callbacks(rds) == [] and pending_count(rds) == 0, 5, message="XACK + XDEL")
    assert agent.task().ticket_no == ""
    # finished: the connection holds it no more
    expect_error(agent.result(ticket_no, pb().CALLBACK_OUTCOME_SATISFIED), "ERROR_NOT_FOUND", ticket_no)
    assert ticket_row(db, ticket_no)["state"] == "CLOSED"
    # a connection that ends holding nothing leaves no consumer behind
    assert agent_consumers(rds, agent.agent_id) != []
    agent.close()
    wait_until(lambda: agent_consumers(rds, agent.agent_id) == [], 5, message="the consumer deleted")


def test_basically_satisfied_closes(setup, db):
    s = setup()
    ticket_no, _ = s.replied_ticket()
    agent = s.agent()
    assert agent.wait_task().ticket_no == ticket_no
    expect_ack(
        agent.result(ticket_no, pb().CALLBACK_OUTCOME_BASICALLY_SATISFIED), ticket_no, True, "TICKET_STATE_CLOSED"
    )
    row = ticket_row(db, ticket_no)
    assert (row["state"], row["rating"]) == ("CLOSED", "BASICALLY_SATISFIED")
    assert row["closed_at"] is not None
    # no note: no detail
    assert events(db, ticket_no)[-1] == (
        "CALLBACK_BASICALLY_SATISFIED",
        "REPLIED",
        "CLOSED",
        f"agent:{agent.agent_id}",
        None,
    )
    s.feed_conn.update(ticket_no, state=pb().TICKET_STATE_CLOSED)


def test_unsatisfied_reopens_to_the_same_department(setup, db, rds):
    s = setup()
    # urgent: a 2-hour limit on the clock, so a later dispatch means a later deadline
    ticket_no, _ = s.replied_ticket(priority=pb().PRIORITY_URGENT)
    first_deadline = ticket_row(db, ticket_no)["deadline_ms"]
    assert first_deadline > 0
    agent = s.agent()
    assert agent.wait_task().ticket_no == ticket_no
    expect_ack(
        agent.result(ticket_no, pb().CALLBACK_OUTCOME_UNSATISFIED, "水还是浑的"), ticket_no, True, "TICKET_STATE_DISPATCHED"
    )
    row = ticket_row(db, ticket_no)
    assert (row["state"], row["dept_code"], row["reopen_count"], row["rating"], row["closed_at"]) == (
        "DISPATCHED",
        s.dept,
        1,
        "UNSATISFIED",
        None,
    )
    assert row["deadline_ms"] > first_deadline
    assert events(db, ticket_no)[-1] == ("CALLBACK_UNSATISFIED", "REPLIED", "DISPATCHED", f"agent:{agent.agent_id}", "水还是浑的")
    # the same department gets the ticket again (through the outbox), reopened
    again = s.dept_conn.ticket(ticket_no, timeout=CALLBACK_WAIT)
    assert (again.reopen_count, state_name(again.state), again.deadline_at) == (
        1,
        "TICKET_STATE_DISPATCHED",
        row["deadline_ms"],
    )
    s.dept_conn.ack(ticket_no)
    s.feed_conn.update(ticket_no, state=pb().TICKET_STATE_DISPATCHED)
    # the old callback is finished; the reopened ticket is not called back until replied again
    wait_until(lambda: queued_callbacks(rds) == [] and pending_count(rds) == 0, 5, message="XACK + XDEL")
    assert agent.task().ticket_no == ""


def test_unreachable_retries_then_closes_unrated(setup, db, rds):
    s = setup(callbacks={"max_attempts": 2})
    ticket_no, _ = s.replied_ticket()
    agent = s.agent()
    first = agent.wait_task()
    assert (first.ticket_no, first.attempt) == (ticket_no, 1)
    expect_ack(agent.result(ticket_no, pb().CALLBACK_OUTCOME_UNREACHABLE, "无人接听"), ticket_no, True, "TICKET_STATE_REPLIED")
    row = ticket_row(db, ticket_no)
    assert (row["state"], row["callback_attempts"], row["rating"], row["closed_at"]) == ("REPLIED", 1, None, None)
    # the finished attempt is gone; the next one comes back to the queue through the outbox
    assert agent.task().ticket_no == ""
    assert outbox_kinds(db, ticket_no) == ["callback"]
    second = agent.wait_task()
    assert (second.ticket_no, second.attempt) == (ticket_no, 2)
    expect_ack(agent.result(ticket_no, pb().CALLBACK_OUTCOME_UNREACHABLE), ticket_no, True, "TICKET_STATE_CLOSED")
    row = ticket_row(db, ticket_no)
    assert (row["state"], row["callback_attempts"], row["rating"]) == ("CLOSED", 2, "UNRATED")
    assert row["closed_at"] is not None
    actor = f"agent:{agent.agent_id}"
    assert events(db, ticket_no)[-2:] == [
        ("CALLBACK_UNREACHABLE", "REPLIED", "REPLIED", actor, "无人接听"),
        ("CALLBACK_UNREACHABLE", "REPLIED", "CLOSED", actor, None),
    ]
    # the feed heard REPLIED and then CLOSED, never an update for the unreachable try
    update = s.feed_conn.update(ticket_no, state=pb().TICKET_STATE_CLOSED)
    assert update.reply
    states = [
        r["state"]
        for r in db.query("SELECT state FROM feed_updates WHERE ticket_no = %s ORDER BY update_id", (ticket_no,))
    ]
    assert states[-2:] == ["REPLIED", "CLOSED"]
    wait_until(lambda: queued_callbacks(rds) == [] and pending_count(rds) == 0, 5, message="XACK + XDEL")
    assert outbox_kinds(db, ticket_no) == []


# ------------------------------------------------------------------ claims


def test_claim_not_finished_goes_to_another_agent(setup, db):
    s = setup(callbacks={"claim_timeout_ms": 1500})
    ticket_no, _ = s.replied_ticket()
    slow, other = s.agent(), s.agent()
    held = slow.wait_task()
    assert held.ticket_no == ticket_no
    # held: nobody else gets it within the claim time
    assert other.task().ticket_no == ""
    wait_until(lambda: now_ms() > held.claimed_until + 100, 5, message="the claim to lapse")
    taken = other.task()
    assert (taken.ticket_no, taken.attempt) == (ticket_no, 1)
    assert taken.claimed_until > held.claimed_until
    # the first agent's claim is gone now: its result is refused, nothing changes
    expect_error(slow.result(ticket_no, pb().CALLBACK_OUTCOME_SATISFIED), "ERROR_NOT_FOUND", ticket_no)
    assert ticket_row(db, ticket_no)["state"] == "REPLIED"
    expect_ack(other.result(ticket_no, pb().CALLBACK_OUTCOME_SATISFIED), ticket_no, True, "TICKET_STATE_CLOSED")
    assert events(db, ticket_no)[-1][3] == f"agent:{other.agent_id}"


def test_claim_of_a_disconnected_agent_returns_after_the_timeout(setup, db, rds):
    s = setup(callbacks={"claim_timeout_ms": 1500})
    ticket_no, _ = s.replied_ticket()
    gone = s.agent()
    held = gone.wait_task()
    assert held.ticket_no == ticket_no
    gone.close()
    # the claim stays pending (with its consumer) until it lapses
    time.sleep(0.3)
    assert pending_count(rds) == 1
    assert agent_consumers(rds, gone.agent_id) != []
    other = s.agent()
    assert other.task().ticket_no == ""
    wait_until(lambda: now_ms() > held.claimed_until + 100, 5, message="the claim to lapse")
    taken = other.task()
    assert (taken.ticket_no, taken.attempt) == (ticket_no, 1)
    expect_ack(
        other.result(ticket_no, pb().CALLBACK_OUTCOME_BASICALLY_SATISFIED), ticket_no, True, "TICKET_STATE_CLOSED"
    )
    assert ticket_row(db, ticket_no)["rating"] == "BASICALLY_SATISFIED"


def test_result_only_for_a_callback_this_connection_holds(setup, db):
    s = setup()
    ticket_no, _ = s.replied_ticket()
    holder, stranger = s.agent(), s.agent()
    # before anyone claimed it (it may not even be queued yet)
    expect_error(stranger.result(ticket_no, pb().CALLBACK_OUTCOME_SATISFIED), "ERROR_NOT_FOUND", ticket_no)
    assert holder.wait_task().ticket_no == ticket_no
    before = events(db, ticket_no)
    # claimed by another connection: the same answer as for a ticket that does not exist
    err = expect_error(stranger.result(ticket_no, pb().CALLBACK_OUTCOME_UNSATISFIED), "ERROR_NOT_FOUND", ticket_no)
    missing = "20990101-99999999"
    err2 = expect_error(stranger.result(missing, pb().CALLBACK_OUTCOME_SATISFIED), "ERROR_NOT_FOUND", missing)
    assert err.message == err2.message
    # malformed results
    expect_error(holder.result(ticket_no, pb().CALLBACK_OUTCOME_UNSPECIFIED), "ERROR_INVALID", ticket_no)
    expect_error(holder.result(ticket_no, 99), "ERROR_INVALID", ticket_no)
    row = ticket_row(db, ticket_no)
    assert (row["state"], row["rating"], row["callback_attempts"]) == ("REPLIED", None, 0)
    assert events(db, ticket_no) == before
    # the holder's result still counts
    expect_ack(holder.result(ticket_no, pb().CALLBACK_OUTCOME_SATISFIED), ticket_no, True, "TICKET_STATE_CLOSED")


def test_claims_per_connection_are_bounded(setup, db, rds):
    s = setup()
    tickets = {s.replied_ticket()[0] for _ in range(17)}
    # all 17 callbacks queued before claiming (the relay publishes them in sweeps)
    wait_until(lambda: set(queued_callbacks(rds)) >= tickets, CALLBACK_WAIT,
               message="all 17 callbacks queued")
    greedy = s.agent()
    held = [greedy.wait_task().ticket_no]
    for _ in range(15):
        task = greedy.task()
        assert task.ticket_no, "a callback should be waiting"
        held.append(task.ticket_no)
    assert len(set(held)) == 16 and set(held) <= tickets
    # the 17th claim on this connection is refused; another connection gets the last one
    err = expect_error(greedy.claim(), "ERROR_UNAVAILABLE")
    assert "16" in err.message
    other = s.agent()
    last = other.task().ticket_no
    assert {last} == tickets - set(held)
    # a result frees a slot
    expect_ack(greedy.result(held[0], pb().CALLBACK_OUTCOME_SATISFIED), held[0], True, "TICKET_STATE_CLOSED")
    assert greedy.task().ticket_no == ""
    # a result sent just before the agent stops sending is still recorded and answered
    greedy.send_frame(
        pb().Frame(callback_result=pb().CallbackResult(ticket_no=held[1], outcome=pb().CALLBACK_OUTCOME_SATISFIED))
    )
    greedy.sock.shutdown(socket.SHUT_WR)
    expect_ack(greedy.next_frame(lambda f: True), held[1], True, "TICKET_STATE_CLOSED")
    assert greedy.wait_closed(5)
    assert ticket_row(db, held[1])["rating"] == "SATISFIED"


# ------------------------------------------------------------------ agents' intake


def test_direct_resolution_is_stored_closed_and_published_nowhere(setup, db, rds):
    s = setup()
    agent = s.agent()
    external_id = new_id("direct")
    answer = "公积金提取需携带身份证到窗口办理"
    reply = agent.intake(
        external_id,
        channel="phone",
        caller_phone=new_phone(),
        category="consultation",
        content="怎么提取公积金？",
        resolved_on_call=True,
        answer=answer,
    )
    assert reply.WhichOneof("msg") == "intake_ack", describe(reply)
    ticket_no = reply.intake_ack.ticket_no
    assert reply.intake_ack.duplicate is False
    row = ticket_row(db, ticket_no)
    assert (row["feed_code"], row["state"], row["reply"], row["resolved_on_call"], row["dept_code"]) == (
        AGENTS_FEED,
        "CLOSED",
        answer,
        True,
        None,
    )
    assert row["closed_at"] is not None
    assert [(k, f, t) for k, f, t, _, _ in events(db, ticket_no)] == [
        ("INTAKE", None, "RECEIVED"),
        ("DIRECT_CLOSE", "RECEIVED", "CLOSED"),
    ]
    # nothing to publish (no outbox row in the intake transaction), now or later
    assert outbox_kinds(db, ticket_no) == []
    time.sleep(1.0)
    assert ticket_no not in entries_by_ticket(rds)
    assert ticket_no not in queued_callbacks(rds)
    # a resend is a duplicate of the same ticket
    again = agent.intake(
        external_id, caller_phone=new_phone(), content="怎么提取公积金？", resolved_on_call=True, answer=answer
    )
    assert (again.intake_ack.ticket_no, again.intake_ack.duplicate) == (ticket_no, True)
    # resolved on the call needs the answer
    bad_id = new_id("direct")
    err = expect_error(agent.intake(bad_id, content="没有答案", resolved_on_call=True), "ERROR_INVALID", external_id=bad_id)
    assert "answer" in err.message
    # a plain agent intake is routed like any other (no rule: the manual desk)
    plain = agent.intake(new_id("plain"), caller_phone=new_phone(), category="request", content="路灯坏了")
    plain_no = plain.intake_ack.ticket_no
    row = ticket_row(db, plain_no)
    assert (row["feed_code"], row["state"], row["resolved_on_call"], row["closed_at"]) == (
        AGENTS_FEED,
        "PENDING_DISPATCH",
        False,
        None,
    )


# ------------------------------------------------------------------ Hello and roles


def hello_error(daemon, agent_id, token):
    client = hc.BinaryClient("127.0.0.1", daemon.binary_port)
    reply = client.hello(agent_id, token, role=pb().ROLE_AGENT)
    assert reply.WhichOneof("msg") == "error", describe(reply)
    assert client.wait_closed(5), "the connection stays open after a refused Hello"
    client.close()
    return reply.error


def test_agent_hello_refusals(start_hotlined):
    daemon = start_hotlined()
    err = hello_error(daemon, "li", "not-the-token")
    assert pb().ErrorCode.Name(err.code) == "ERROR_AUTH"
    err = hello_error(daemon, "no spaces allowed", AGENT_TOKEN)
    assert pb().ErrorCode.Name(err.code) == "ERROR_AUTH"
    # agents' frames from other roles, and others' frames from agents
    feed = daemon.feed("water")
    feed.send_frame(pb().Frame(callback_claim=pb().CallbackClaim()))
    assert pb().ErrorCode.Name(feed.read_frame().error.code) == "ERROR_PROTOCOL"
    feed.close()
    agent = AgentClient(daemon, "li")
    agent.send_frame(pb().Frame(ack=pb().Ack(ticket_no="20990101-00000001")))
    expect_error(agent.next_frame(lambda f: True), "ERROR_PROTOCOL")
    agent.send_frame(pb().Frame(dept_action=pb().DeptAction(ticket_no="x", accept=pb().DeptAction.Accept())))
    expect_error(agent.next_frame(lambda f: True), "ERROR_PROTOCOL")
    # still usable
    assert agent.claim().WhichOneof("msg") == "callback_task"
    agent.close()


def test_agents_disabled_without_a_token(start_hotlined):
    daemon = start_hotlined({"agents": {"token": ""}})
    for token in ("", AGENT_TOKEN):
        err = hello_error(daemon, "li", token)
        assert pb().ErrorCode.Name(err.code) == "ERROR_AUTH"


# An [agents] feed without its [feed.CODE] section is refused by the config itself
# (tests/unit/test_config.c; test_config_check.py: test_agents_feed_must_have_a_section).


# ------------------------------------------------------------------ hotline-agent


def run_agent(binaries, daemon, args, stdin_text=None, timeout=60, token=AGENT_TOKEN):
    exe = binaries.build / "tools" / "hotline-agent"
    env = dict(os.environ)
    env.pop("HOTLINE_AGENT_TOKEN", None)
    cmd = [str(exe), "--port", str(daemon.binary_port)] + list(args)
    if token is not None:
        cmd += ["--token", token]
    r = subprocess.run(
        cmd,
        input=stdin_text,
        stdin=None if stdin_text is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    for line in lines:
        assert isinstance(line.get("at_ms"), int) and line["at_ms"] > 0, line
    for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        assert mark not in r.stderr, r.stderr
    return r.returncode, lines, r.stderr


def test_hotline_agent_auto_records_callbacks(setup, binaries, db):
    s = setup()
    ticket_no, intake = s.replied_ticket()
    code, lines, stderr = run_agent(
        binaries,
        s.daemon,
        ["--id", "tool-auto", "--auto", "satisfied", "--note", "自动回访", "--count", "1", "--timeout", "40", "--poll-ms", "300"],
    )
    assert code == 0, stderr
    kinds = [l["event"] for l in lines]
    assert kinds[0] == "welcome" and kinds[-1] == "summary"
    assert set(kinds[1:-1]) <= {"no_task", "task", "result_ack"}, kinds
    task = next(l for l in lines if l["event"] == "task")
    assert (task["ticket_no"], task["caller_phone"], task["attempt"], task["dept_code"]) == (
        ticket_no,
        intake["caller_phone"],
        1,
        s.dept,
    )
    ack = next(l for l in lines if l["event"] == "result_ack")
    assert (ack["ticket_no"], ack["outcome"], ack["ok"], ack["state"]) == (ticket_no, "satisfied", True, "CLOSED")
    summary = lines[-1]
    assert (summary["tasks"], summary["results_ok"], summary["results_failed"], summary["pending"], summary["exit"]) == (
        1,
        1,
        0,
        0,
        0,
    )
    row = ticket_row(db, ticket_no)
    assert (row["state"], row["rating"]) == ("CLOSED", "SATISFIED")
    assert events(db, ticket_no)[-1] == ("CALLBACK_SATISFIED", "REPLIED", "CLOSED", "agent:tool-auto", "自动回访")
    # the phone number is never logged
    assert intake["caller_phone"] not in stderr
    assert intake["caller_phone"] not in s.daemon.log_text()


def test_hotline_agent_commands(start_hotlined, binaries, db):
    daemon = start_hotlined()
    resolve_id, intake_id = new_id("tool-r"), new_id("tool-i")
    phone = new_phone()
    script = (
        f"resolve --phone {phone} --name 张先生 {resolve_id} consultation 社保卡 可以 在 APP 补办 -- 社保卡丢了 怎么办\n"
        f"intake --phone {new_phone()} --district 崇川区 {intake_id} - 路灯 不亮 了\n"
        "claim\n"
        "result 20990101-99999999 unsatisfied 测试\n"
        "result 20990101-99999999 maybe\n"
        "frobnicate\n"
    )
    code, lines, stderr = run_agent(binaries, daemon, ["--id", "tool-cmd", "--timeout", "30"], stdin_text=script)
    assert code == 0, stderr
    by_kind = {}
    for l in lines:
        by_kind.setdefault(l["event"], []).append(l)
    acks = {l["external_id"]: l for l in by_kind["intake_ack"]}
    assert set(acks) == {resolve_id, intake_id}
    assert (acks[resolve_id]["resolved"], acks[resolve_id]["duplicate"]) == (True, False)
    assert acks[intake_id]["resolved"] is False
    assert len(by_kind["no_task"]) == 1
    [err] = by_kind["error"]
    assert (err["code"], err["ticket_no"], err["request"]) == ("NOT_FOUND", "20990101-99999999", "result")
    assert [c["line"] for c in by_kind["command_error"]] == ["result 20990101-99999999 maybe", "frobnicate"]
    summary = by_kind["summary"][0]
    assert (summary["intakes_acked"], summary["results_failed"], summary["pending"], summary["exit"]) == (2, 1, 0, 0)

    resolved = ticket_row(db, acks[resolve_id]["ticket_no"])
    assert (resolved["feed_code"], resolved["state"], resolved["reply"], resolved["caller_phone"]) == (
        AGENTS_FEED,
        "CLOSED",
        "社保卡 可以 在 APP 补办",
        phone,
    )
    content = db.query("SELECT content, caller_name, category FROM tickets WHERE ticket_no = %s", (acks[resolve_id]["ticket_no"],))[0]
    assert (content["content"], content["caller_name"], content["category"]) == ("社保卡丢了 怎么办", "张先生", "consultation")
    plain = db.query(
        "SELECT state, category, content, district FROM tickets WHERE ticket_no = %s", (acks[intake_id]["ticket_no"],)
    )[0]
    assert (plain["state"], plain["category"], plain["content"], plain["district"]) == (
        "PENDING_DISPATCH",
        None,
        "路灯 不亮 了",
        "崇川区",
    )


def test_hotline_agent_refused_and_usage(start_hotlined, binaries):
    daemon = start_hotlined()
    code, lines, _ = run_agent(binaries, daemon, ["--id", "tool-bad"], stdin_text="claim\n", token="wrong")
    assert code == 1
    errors = [l for l in lines if l["event"] == "error"]
    assert [e["code"] for e in errors] == ["AUTH"]
    assert lines[-1]["event"] == "summary" and lines[-1]["exit"] == 1
    for args in (["--id", "bad id"], ["--id", "x", "--auto", "maybe"], ["--id", "x", "--count", "0"]):
        code, _, stderr = run_agent(binaries, daemon, args, stdin_text="")
        assert code == 2, (args, stderr)
    code, _, stderr = run_agent(binaries, daemon, ["--id", "x"], stdin_text="", token=None)
    assert code == 2 and "HOTLINE_AGENT_TOKEN" in stderr
