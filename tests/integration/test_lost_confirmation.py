"""A commit whose confirmation never reaches hotlined is stored once and applied once.

hotlined reaches PostgreSQL here through pg_proxy.PgProxy, which closes a connection
right after a chosen statement committed, before its ReadyForQuery: the daemon cannot
know the outcome and sends the work again (docs/durability.md, "What is not
promised"). A record must then be answered duplicate: true with its own ticket
number, and a transition must be made once and answered as made: read again, the
ticket carries the write key of the first send (tickets.last_write).

Three defects the fault suite (tests/faults/run) found are tested here, fixed:
  - a callback result UNREACHABLE whose confirmation was lost was recorded twice (two
    attempts, two audit rows, two callbacks queued): REPLIED + UNREACHABLE was
    allowed again when transition.c read and decided again;
  - a Redis that loses its data while the outbox DELETE of rows just published to it
    is slow: the rebuild skipped every ticket whose row still existed ("a pending row
    will publish anyway"), then the DELETE removed the row, and the tickets were
    DISPATCHED in PostgreSQL and in no stream;
  - a return whose confirmation was lost was answered NOT_FOUND, as if the ticket
    were not the department's.
"""

import time
import uuid

import pytest

import hotline_client as hc
from pg_proxy import PgProxy
from routing_helpers import (
    DeptClient,
    FeedClient,
    FrameInbox,
    describe,
    entries_by_ticket,
    new_code,
    new_phone,
    routing_overrides,
    wait_until,
)

AGENT_TOKEN = "agent-terminal-secret"  # deploy/hotlined.conf.example [agents] token
CALLBACKS = "hotline:callbacks"


def pb():
    return hc.pb


def new_id():
    return f"lc-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def sub_centre(proxy, start_hotlined, db, rds):
    """A daemon behind the proxy with a sub-centre feed and its department of the
    test's own (its tickets need no rule); no other test's callbacks in the queue.
    (The proxy comes first, so that it outlives the daemon's graceful stop.)"""
    [row] = db.query("SELECT epoch FROM bus_epoch")
    if row["epoch"]:
        rds.set("hotline:epoch", row["epoch"], nx=True)  # no rebuild of others' tickets
    db.query("DELETE FROM outbox WHERE kind = 'callback'")
    rds.delete(CALLBACKS)
    dept, feed = new_code("lcd"), new_code("lcf")
    overrides = routing_overrides(depts=[dept], feeds=[(feed, "subcenter", dept)],
                                  routing={"relay_interval_ms": 200})
    overrides["postgres"] = {"conninfo": proxy.conninfo}
    daemon = start_hotlined(overrides)
    return daemon, feed, dept


def fields():
    return {"category": "complaint", "content": f"小区停水 {uuid.uuid4().hex[:8]}", "caller_phone": new_phone()}


def events(db, ticket_no, kind):
    return db.query("SELECT e.kind FROM ticket_events e JOIN tickets t USING (ticket_id)"
                    " WHERE t.ticket_no = %s AND e.kind = %s", (ticket_no, kind))


def test_intake_whose_commit_confirmation_is_lost_is_stored_once(sub_centre, proxy, db):
    daemon, feed, _dept = sub_centre
    f = FeedClient(daemon, feed)
    ext = new_id()
    # The intake statement is prepared when the connection opens: match its batch by
    # the record's own external_id among the parameters.
    proxy.cut_statements({ext.encode(): 1})
    f.send_intake(external_id=ext, **fields())
    ack = f.next_frame(lambda fr: fr.WhichOneof("msg") == "intake_ack", 20, what="the IntakeAck").intake_ack
    assert proxy.cuts == 1
    assert ack.duplicate, "the resent batch found the record it had committed"
    rows = db.tickets_by_external_id(feed, ext)
    assert [r["ticket_no"] for r in rows] == [ack.ticket_no]
    f.close()


def test_accept_whose_commit_confirmation_is_lost_is_made_once(sub_centre, proxy, db):
    daemon, feed, dept = sub_centre
    f, d = FeedClient(daemon, feed), DeptClient(daemon, dept)
    ticket_no = f.intake(new_id(), **fields())
    d.ticket(ticket_no)
    d.ack(ticket_no)
    proxy.cut_statements({PgProxy.bind_param("ACCEPT"): 1})
    ack = d.accept(ticket_no).action_ack
    assert proxy.cuts == 1
    # Read again, the ticket carries this accept's write key: answered as made.
    assert (ack.ok, ack.state) == (True, pb().TICKET_STATE_ACCEPTED), ack
    assert len(events(db, ticket_no, "ACCEPT")) == 1
    f.close()
    d.close()


def test_accept_lost_then_another_write_lands_is_still_made_once(sub_centre, proxy, db):
    """The accept commits, its confirmation is lost, and before the daemon reads the
    ticket again another write moves it (here: its last_write overwritten, as another
    daemon's move would). The re-read must still find the accept's key, in the audit
    row (013_event_write_key), and answer it as made, not decide it anew (the
    one-hour soak applied a callback result twice this way)."""
    import threading

    daemon, feed, dept = sub_centre
    f, d = FeedClient(daemon, feed), DeptClient(daemon, dept)
    ticket_no = f.intake(new_id(), **fields())
    d.ticket(ticket_no)
    d.ack(ticket_no)
    moved = threading.Event()

    def other_write():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if events(db, ticket_no, "ACCEPT"):
                db.query("UPDATE tickets SET last_write = 1 WHERE ticket_no = %s", (ticket_no,))
                moved.set()
                return
            time.sleep(0.02)

    proxy.delay_on[b"ticket_read\x00"] = 1.0  # every read of the ticket waits: room to move it
    proxy.cut_statements({PgProxy.bind_param("ACCEPT"): 1})
    mover = threading.Thread(target=other_write)
    mover.start()
    ack = d.accept(ticket_no).action_ack
    mover.join(25)
    proxy.delay_on.clear()
    assert proxy.cuts == 1 and moved.is_set()
    assert (ack.ok, ack.state) == (True, pb().TICKET_STATE_ACCEPTED), ack
    assert len(events(db, ticket_no, "ACCEPT")) == 1
    f.close()
    d.close()


def test_return_whose_commit_confirmation_is_lost_is_answered_as_made(sub_centre, proxy, db):
    """Read again after the return committed, the ticket is no longer the
    department's (return clears dept_code); it was answered NOT_FOUND. The write key
    found on the re-read makes it ok: true with the state the return made."""
    daemon, feed, dept = sub_centre
    f, d = FeedClient(daemon, feed), DeptClient(daemon, dept)
    ticket_no = f.intake(new_id(), **fields())
    d.ticket(ticket_no)
    d.ack(ticket_no)
    proxy.cut_statements({PgProxy.bind_param("RETURN"): 1})
    answer = d.return_ticket(ticket_no, "不属于本单位")
    assert proxy.cuts == 1
    assert len(events(db, ticket_no, "RETURN")) == 1
    assert answer.WhichOneof("msg") == "action_ack", describe(answer)
    assert answer.action_ack.ok, describe(answer)
    assert answer.action_ack.state == pb().TICKET_STATE_PENDING_DISPATCH, describe(answer)
    f.close()
    d.close()


class Agent(FrameInbox):
    def __init__(self, daemon):
        super().__init__("127.0.0.1", daemon.binary_port)
        reply = self.hello(new_code("ag"), AGENT_TOKEN, role=pb().ROLE_AGENT)
        assert reply.WhichOneof("msg") == "welcome", describe(reply)

    def wait_task(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.send_frame(pb().Frame(callback_claim=pb().CallbackClaim()))
            task = self.next_frame(lambda fr: fr.WhichOneof("msg") == "callback_task", 10).callback_task
            if task.ticket_no:
                return task
            time.sleep(0.3)
        raise AssertionError(f"no callback within {timeout} s")


def test_unreachable_result_whose_commit_confirmation_is_lost_is_recorded_once(sub_centre, proxy, db):
    daemon, feed, dept = sub_centre
    f, d = FeedClient(daemon, feed), DeptClient(daemon, dept)
    ticket_no = f.intake(new_id(), **fields())
    d.ticket(ticket_no)
    d.ack(ticket_no)
    assert d.accept(ticket_no).action_ack.ok
    assert d.reply(ticket_no, "已恢复供水").action_ack.ok
    agent = Agent(daemon)
    task = agent.wait_task()
    assert task.ticket_no == ticket_no
    proxy.cut_statements({PgProxy.bind_param("CALLBACK_UNREACHABLE"): 1})
    agent.send_frame(pb().Frame(callback_result=pb().CallbackResult(
        ticket_no=ticket_no, outcome=pb().CALLBACK_OUTCOME_UNREACHABLE, note="无人接听")))
    answer = agent.next_frame(lambda fr: fr.WhichOneof("msg") in ("action_ack", "error"), 20)
    assert proxy.cuts == 1, describe(answer)
    [row] = db.query("SELECT callback_attempts FROM tickets WHERE ticket_no = %s", (ticket_no,))
    recorded = len(events(db, ticket_no, "CALLBACK_UNREACHABLE"))
    assert (recorded, row["callback_attempts"]) == (1, 1), \
        f"one unreachable call recorded {recorded} times, callback_attempts {row['callback_attempts']}"
    for c in (f, d, agent):
        c.close()


def test_redis_lost_while_outbox_deletes_are_slow_is_rebuilt_whole(sub_centre, proxy, db, rds, redis_server):
    daemon, feed, dept = sub_centre
    f = FeedClient(daemon, feed)
    # The department is away: what is published waits in its stream. The relay's
    # DELETE of the published rows takes 4 s to reach PostgreSQL (the first one at
    # least is deleted before the sweeper, which takes rows older than 5 s, would
    # publish it again).
    proxy.delay_statements({b"DELETE FROM outbox": 4.0})
    backlog = [f.intake(new_id(), **fields()) for _ in range(5)]
    wait_until(lambda: set(backlog) <= set(entries_by_ticket(rds)), 10, message="the backlog published")
    redis_server.restart()  # Redis loses its data; the daemon rebuilds from PostgreSQL
    time.sleep(5.0)
    proxy.delay_statements({})
    wait_until(lambda: db.query("SELECT count(*) AS n FROM outbox")[0]["n"] == 0, 20, message="the outbox empty")
    time.sleep(1.0)
    found = entries_by_ticket(rds)
    missing = [t for t in backlog if t not in found]
    assert not missing, f"{len(missing)} of {len(backlog)} DISPATCHED tickets in no stream after the rebuild"
    f.close()
