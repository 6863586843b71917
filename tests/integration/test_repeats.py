"""Repeat complaints against real servers: an intake from the same caller phone in
the same category within [repeats] window_hours of an open ticket is linked to it
(state LINKED, parent_ticket_id) instead of being dispatched again, and the
department's reply fans out to every linked ticket and back to each child's feed.
"""

import time
import uuid

import pytest

from routing_helpers import (FrameInbox, load_rules, new_code, new_keyword, new_phone,
                             routing_overrides, wait_until)


pytestmark = pytest.mark.usefixtures("neutral_rules_afterwards")


@pytest.fixture
def setup(start_hotlined, binaries, redis_server, db, rds, tmp_path):
    dept = new_code("rep")
    keyword = new_keyword()
    load_rules(binaries, redis_server, db, rds, tmp_path / "rep.rules",
               f"rule repeat -> {dept}\n  keywords {keyword}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], repeat_window_hours=72))
    return daemon, dept, keyword


def send(daemon, feed, keyword, phone, category="complaint"):
    ext = f"rep-{uuid.uuid4().hex[:12]}"
    with daemon.feed(feed) as c:
        c.send_intake(external_id=ext, content=f"噪音扰民 {keyword}", category=category,
                      caller_phone=phone, district="崇川区")
        while True:  # updates owed to this feed from earlier tests may come first
            kind, msg = c.read_reply(15)
            if kind != "ticket_update":
                break
        assert kind == "ack", msg
        return msg.ticket_no


def row(db, ticket_no):
    [r] = db.query("SELECT t.state, t.dept_code, t.reply, t.deadline_at, p.ticket_no AS parent"
                   " FROM tickets t LEFT JOIN tickets p ON p.ticket_id = t.parent_ticket_id"
                   " WHERE t.ticket_no = %s", (ticket_no,))
    return r


def event_kinds(db, ticket_no):
    return [r["kind"] for r in db.query(
        "SELECT e.kind FROM ticket_events e JOIN tickets t USING (ticket_id)"
        " WHERE t.ticket_no = %s ORDER BY e.event_id", (ticket_no,))]


def in_any_stream(rds, ticket_no):
    for key in rds.scan_iter("hotline:dept:*"):
        for _, fields in rds.xrange(key):
            if fields.get(b"ticket_no", b"").decode() == ticket_no:
                return True
    return False


def dept_client(daemon, dept):
    c = FrameInbox("127.0.0.1", daemon.binary_port)
    reply = c.hello(dept, f"{dept}-dept-secret", role=2)
    assert reply.WhichOneof("msg") == "welcome", reply
    return c


def test_repeat_is_linked_not_dispatched_and_reply_fans_out(setup, db, rds):
    daemon, dept, keyword = setup
    phone = new_phone()
    parent = send(daemon, "water", keyword, phone)
    child = send(daemon, "power", keyword, phone)
    assert (row(db, parent)["state"], row(db, parent)["dept_code"]) == ("DISPATCHED", dept)
    c = row(db, child)
    assert (c["state"], c["dept_code"], c["parent"], c["deadline_at"]) == ("LINKED", None, parent, None)
    assert event_kinds(db, child) == ["INTAKE", "LINK"]
    time.sleep(1.0)
    assert not in_any_stream(rds, child), "a linked repeat complaint was dispatched again"

    # the department handles the parent; the reply reaches both feeds
    d = dept_client(daemon, dept)
    t = d.next_frame(lambda f: f.WhichOneof("msg") == "ticket" and f.ticket.ticket_no == parent,
                     what="the parent ticket")
    d.send_frame(frame_ack(t.ticket.ticket_no))
    d.send_frame(frame_action(parent, "accept"))
    d.next_frame(lambda f: f.WhichOneof("msg") == "action_ack", what="accept ack")
    d.send_frame(frame_action(parent, "reply", "已协调物业处理 handled"))
    ack = d.next_frame(lambda f: f.WhichOneof("msg") == "action_ack", what="reply ack").action_ack
    assert ack.ok, ack
    d.close()

    assert row(db, parent)["state"] == "REPLIED"
    assert (row(db, child)["state"], row(db, child)["reply"]) == ("LINKED", "已协调物业处理 handled")
    assert event_kinds(db, child)[-1] == "PARENT_REPLIED"
    for feed, ticket_no, state in (("water", parent, "TICKET_STATE_REPLIED"),
                                   ("power", child, "TICKET_STATE_LINKED")):
        f = FrameInbox("127.0.0.1", daemon.binary_port)
        assert f.hello(feed, f"{feed}-feed-secret").WhichOneof("msg") == "welcome"
        up = f.next_frame(lambda fr: fr.WhichOneof("msg") == "ticket_update"
                          and fr.ticket_update.ticket_no == ticket_no
                          and hc_state(fr.ticket_update.state) == state,
                          timeout=10, what=f"the {state} update for {ticket_no}").ticket_update
        assert up.reply == "已协调物业处理 handled"
        f.close()
    assert daemon.stop() == 0
    assert "linked=1 " in daemon.log_text(), "the repeat complaint is counted in the stats line"


def test_repeat_of_a_replied_ticket_carries_its_reply(setup, db):
    """A repeat arriving after the parent's reply gets no PARENT_REPLIED (that move
    is past): it is linked carrying the reply, so its CLOSED update has it too."""
    daemon, dept, keyword = setup
    phone = new_phone()
    parent = send(daemon, "water", keyword, phone)
    d = dept_client(daemon, dept)
    d.next_frame(lambda f: f.WhichOneof("msg") == "ticket" and f.ticket.ticket_no == parent, what="the parent")
    d.send_frame(frame_ack(parent))
    for action, text in (("accept", ""), ("reply", "已协调物业处理")):
        d.send_frame(frame_action(parent, action, text))
        assert d.next_frame(lambda f: f.WhichOneof("msg") == "action_ack", what=action).action_ack.ok
    d.close()
    child = send(daemon, "power", keyword, phone)
    c = row(db, child)
    assert (c["state"], c["parent"], c["reply"]) == ("LINKED", parent, "已协调物业处理")


def test_not_linked_other_category_or_other_caller(setup, db):
    daemon, dept, keyword = setup
    phone = new_phone()
    first = send(daemon, "water", keyword, phone)
    other_category = send(daemon, "water", keyword, phone, category="consultation")
    other_caller = send(daemon, "water", keyword, new_phone())
    for ticket_no in (first, other_category, other_caller):
        r = row(db, ticket_no)
        assert (r["state"], r["parent"]) == ("DISPATCHED", None), ticket_no


def test_not_linked_to_a_closed_or_too_old_ticket(setup, db):
    daemon, dept, keyword = setup
    phone = new_phone()
    closed = send(daemon, "water", keyword, phone)
    db.query("UPDATE tickets SET state = 'CLOSED' WHERE ticket_no = %s", (closed,))
    after_closed = send(daemon, "water", keyword, phone)
    assert (row(db, after_closed)["state"], row(db, after_closed)["parent"]) == ("DISPATCHED", None)
    db.query("UPDATE tickets SET created_at = to_timestamp(%s / 1000.0) WHERE ticket_no = %s",
             (daemon.now_ms() - 73 * 3_600_000, after_closed))
    too_late = send(daemon, "water", keyword, phone)
    assert (row(db, too_late)["state"], row(db, too_late)["parent"]) == ("DISPATCHED", None)


def test_repeats_in_one_burst_link_to_the_first(setup, db):
    """Records that may share a batch: the repeats still find their parent (a batch
    never holds two records of one caller and category), and a resend of a closed
    ticket's record in the same burst makes no parent of it."""
    daemon, dept, keyword = setup
    phone, other = new_phone(), new_phone()
    old_ext = f"rep-{uuid.uuid4().hex[:12]}"
    with daemon.feed("water") as c:
        c.send_intake(external_id=old_ext, content=f"旧 {keyword}", category="complaint",
                      caller_phone=phone)
        old = read_acks(c, 1)[old_ext]
    db.query("UPDATE tickets SET state = 'CLOSED' WHERE ticket_no = %s", (old.ticket_no,))

    exts = [old_ext] + [f"rep-{uuid.uuid4().hex[:12]}" for _ in range(5)]
    phones = [phone, phone, other, phone, other, phone]
    with daemon.feed("water") as c:
        for ext, p in zip(exts, phones):
            c.send_intake(external_id=ext, content=f"噪音扰民 {keyword}", category="complaint",
                          caller_phone=p)
        acks = read_acks(c, len(exts))
    assert acks[old_ext].duplicate and acks[old_ext].ticket_no == old.ticket_no
    first, first_other = acks[exts[1]].ticket_no, acks[exts[2]].ticket_no
    assert (row(db, first)["state"], row(db, first)["parent"]) == ("DISPATCHED", None)
    assert (row(db, first_other)["state"], row(db, first_other)["parent"]) == ("DISPATCHED", None)
    for ext, parent in ((exts[3], first), (exts[4], first_other), (exts[5], first)):
        r = row(db, acks[ext].ticket_no)
        assert (r["state"], r["parent"]) == ("LINKED", parent), ext


def test_repeat_linked_while_its_parent_closes_is_closed_with_it(setup, db, rds):
    """Found by tests/faults/soak. The intake statement looks for the parent in its
    snapshot, and the parent's close updates the LINKED children it can see: a repeat
    whose intake began before the close committed, and committed after it, was linked
    to a CLOSED parent and stayed LINKED for ever (its feed never heard CLOSED). Now
    the intake moves the parent's version: the close waits for it and decides again
    with the child in sight. Made deterministic here: an open transaction holding the
    record's (feed, external_id) makes the intake statement wait after its snapshot,
    while an agent closes the parent."""
    import psycopg
    import hotline_client as hc
    daemon, dept, keyword = setup
    [epoch] = db.query("SELECT epoch FROM bus_epoch")
    if epoch["epoch"]:
        rds.set("hotline:epoch", epoch["epoch"], nx=True)  # no rebuild of others' callbacks
    db.query("DELETE FROM outbox WHERE kind = 'callback'")
    rds.delete("hotline:callbacks")
    phone = new_phone()
    parent = send(daemon, "water", keyword, phone)
    d = dept_client(daemon, dept)
    d.next_frame(lambda f: f.WhichOneof("msg") == "ticket" and f.ticket.ticket_no == parent, what="the parent")
    d.send_frame(frame_ack(parent))
    for action in ("accept", "reply"):
        d.send_frame(frame_action(parent, action, "已处理"))
        assert d.next_frame(lambda f: f.WhichOneof("msg") == "action_ack", what=action).action_ack.ok
    d.close()
    agent = FrameInbox("127.0.0.1", daemon.binary_port)
    assert agent.hello(new_code("ag"), "agent-terminal-secret", role=3).WhichOneof("msg") == "welcome"

    def task():
        agent.send_frame(hc.pb.Frame(callback_claim=hc.pb.CallbackClaim()))
        return agent.next_frame(lambda f: f.WhichOneof("msg") == "callback_task").callback_task.ticket_no

    assert wait_until(task, 20, interval=0.3, message="the parent's callback") == parent

    ext = f"rep-{uuid.uuid4().hex[:12]}"
    with psycopg.connect(db.conninfo) as blocker:  # holds (water, ext): the intake waits
        blocker.execute("INSERT INTO tickets (ticket_id, ticket_no, feed_code, external_id, received_at,"
                        " content) VALUES (-1, 'blocker', 'water', %s, now(), 'x')", (ext,))
        child_feed = daemon.feed("power")
        feed = daemon.feed("water")
        feed.send_intake(external_id=ext, content=f"噪音扰民 {keyword}", category="complaint", caller_phone=phone)
        time.sleep(1.0)  # the intake statement has its snapshot (parent REPLIED) and waits
        agent.send_frame(hc.pb.Frame(callback_result=hc.pb.CallbackResult(
            ticket_no=parent, outcome=hc.pb.CALLBACK_OUTCOME_SATISFIED)))
        # The close may wait for the intake (which moved the parent's version) or go
        # first; either way the record's key is released only now.
        time.sleep(1.0)
        blocker.rollback()
        ack = agent.next_frame(lambda f: f.WhichOneof("msg") == "action_ack", 20, what="the result").action_ack
        assert (ack.ok, hc_state(ack.state)) == (True, "TICKET_STATE_CLOSED"), ack
    child = read_acks(feed, 1)[ext].ticket_no
    feed.close()
    child_feed.close()
    agent.close()
    c = row(db, child)
    assert c["parent"] is None or c["state"] == "CLOSED", \
        f"{child} is {c['state']}, linked to {c['parent']}, which is {row(db, parent)['state']}"


def read_acks(c, n):
    acks = {}
    while len(acks) < n:
        kind, msg = c.read_reply(15)
        if kind == "ticket_update":
            continue
        assert kind == "ack", msg
        acks[msg.external_id] = msg
    return acks


# -- frames ------------------------------------------------------------------


def frame_ack(ticket_no):
    import hotline_client as hc
    f = hc.pb.Frame()
    f.ack.ticket_no = ticket_no
    return f


def frame_action(ticket_no, action, text=""):
    import hotline_client as hc
    f = hc.pb.Frame()
    f.dept_action.ticket_no = ticket_no
    if action == "accept":
        f.dept_action.accept.SetInParent()
    elif action == "reply":
        f.dept_action.reply.content = text
    return f


def hc_state(value):
    import hotline_client as hc
    return hc.pb.TicketState.Name(value)
