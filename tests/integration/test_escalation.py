"""Deadlines and escalation (督办) against real PostgreSQL, Redis and two hotlined
daemons on the same database: a dispatched ticket gets a deadline from the
[deadlines] policy and the working-day calendar; a ticket near its deadline is
marked due soon, a ticket past it overdue, each exactly once however many daemons
watch, with one audit event and one alert on hotline:alerts each.
"""

import json
import time
import uuid

import pytest

import hotline_client as hc
from routing_helpers import load_rules, new_code, new_keyword, new_phone, routing_overrides, wait_until


pytestmark = pytest.mark.usefixtures("neutral_rules_afterwards")


class Alerts:
    """Collects hotline:alerts messages in the background of a test."""

    def __init__(self, rds):
        self.pubsub = rds.pubsub()
        self.pubsub.subscribe("hotline:alerts")
        self.messages = []

    def drain(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msg = self.pubsub.get_message(timeout=0.1)
            if msg and msg["type"] == "message":
                self.messages.append(json.loads(msg["data"]))

    def for_ticket(self, ticket_no, kind):
        return [m for m in self.messages if m["ticket_no"] == ticket_no and m["kind"] == kind]

    def close(self):
        self.pubsub.close()


def intake(daemon, keyword, n=1, category="complaint"):
    """Sends n records from n different callers (so none is a repeat complaint)
    through feed water; returns their ticket numbers."""
    tickets = []
    with daemon.feed("water") as c:
        for i in range(n):
            ext = f"esc-{uuid.uuid4().hex[:12]}"
            c.send_intake(external_id=ext, content=f"路灯不亮 {keyword} {i}", category=category,
                          district="崇川区", caller_phone=new_phone())
            while True:  # updates owed to this feed from earlier tests may come first
                kind, msg = c.read_reply(15)
                if kind != "ticket_update":
                    break
            assert kind == "ack", msg
            tickets.append(msg.ticket_no)
    return tickets


def events_of(db, ticket_no, kind):
    return db.query(
        "SELECT e.kind FROM ticket_events e JOIN tickets t USING (ticket_id)"
        " WHERE t.ticket_no = %s AND e.kind = %s",
        (ticket_no, kind),
    )


@pytest.fixture
def two_daemons(start_hotlined, binaries, redis_server, db, rds, tmp_path):
    dept = new_code("esc")
    keyword = new_keyword()
    load_rules(binaries, redis_server, db, rds, tmp_path / "esc.rules",
               f"rule esc -> {dept}\n  keywords {keyword}\n")
    overrides = routing_overrides(depts=[dept])
    overrides["escalation"] = {"interval_ms": 200, "due_soon_ms": 3600000, "batch": 20}
    overrides["deadlines"] = {"default": "5wd", "urgent": "2h", "category.consultation": "3wd"}
    first = start_hotlined(overrides)
    second = start_hotlined(overrides)
    return first, second, dept, keyword


def test_dispatch_sets_deadline_from_policy(two_daemons, db):
    """complaint: 13 working days (the example config); consultation: 3 working days;
    the clock starts at dispatch. Working days span at least as many calendar days,
    and at most that plus weekends and one holiday week."""
    first, _, dept, keyword = two_daemons
    spans = {}
    for category, low, high in (("complaint", 13, 13 + 6 + 8), ("consultation", 3, 3 + 4 + 8)):
        [ticket_no] = intake(first, keyword, category=category)
        [row] = db.query("SELECT state, dept_code, deadline_at, dispatched_at FROM tickets"
                         " WHERE ticket_no = %s", (ticket_no,))
        assert (row["state"], row["dept_code"]) == ("DISPATCHED", dept)
        assert row["deadline_at"] is not None
        days = (row["deadline_at"].timestamp() - row["dispatched_at"].timestamp()) / 86400
        assert low <= days <= high, (category, days)
        spans[category] = days
    assert spans["complaint"] > spans["consultation"]


def test_overdue_is_escalated_exactly_once_with_two_daemons(two_daemons, db, rds):
    first, second, _, keyword = two_daemons
    alerts = Alerts(rds)
    try:
        tickets = intake(first, keyword, n=30)
        db.query("UPDATE tickets SET deadline_at = to_timestamp(%s / 1000.0)"
                 " WHERE ticket_no = ANY(%s)", (first.now_ms() - 60_000, tickets))
        wait_until(lambda: all(r["overdue_at"] is not None for r in db.query(
            "SELECT overdue_at FROM tickets WHERE ticket_no = ANY(%s)", (tickets,))),
            timeout=15, message="every ticket marked overdue")
        alerts.drain(2.0)  # ten more checks by each daemon
        for ticket_no in tickets:
            assert len(events_of(db, ticket_no, "OVERDUE")) == 1, ticket_no
            assert len(alerts.for_ticket(ticket_no, "overdue")) == 1, ticket_no
        [state] = db.query("SELECT DISTINCT state FROM tickets WHERE ticket_no = ANY(%s)", (tickets,))
        assert state["state"] == "DISPATCHED"  # escalation marks, it does not move the ticket
        assert first.alive() and second.alive()
        both = first.log_text() + second.log_text()
        assert "tickets marked overdue" in both
    finally:
        alerts.close()


def test_due_soon_is_marked_once_and_not_overdue(two_daemons, db, rds):
    first, _, _, keyword = two_daemons
    alerts = Alerts(rds)
    try:
        [ticket_no] = intake(first, keyword)
        db.query("UPDATE tickets SET deadline_at = to_timestamp(%s / 1000.0) WHERE ticket_no = %s",
                 (first.now_ms() + 30 * 60_000, ticket_no))
        wait_until(lambda: db.query("SELECT due_soon_at FROM tickets WHERE ticket_no = %s",
                                    (ticket_no,))[0]["due_soon_at"] is not None,
                   timeout=15, message="due soon mark")
        alerts.drain(1.5)
        assert len(events_of(db, ticket_no, "DUE_SOON")) == 1
        assert events_of(db, ticket_no, "OVERDUE") == []
        [alert] = alerts.for_ticket(ticket_no, "due_soon")
        assert alert["state"] == "DISPATCHED"
        assert alert["deadline_at"] > first.now_ms()
    finally:
        alerts.close()


def test_closed_or_far_tickets_are_not_escalated(two_daemons, db):
    first, _, _, keyword = two_daemons
    [far, closed] = intake(first, keyword, n=2)
    db.query("UPDATE tickets SET state = 'CLOSED', deadline_at = to_timestamp(%s / 1000.0)"
             " WHERE ticket_no = %s", (first.now_ms() - 3_600_000, closed))
    time.sleep(1.5)
    for ticket_no in (far, closed):
        assert events_of(db, ticket_no, "OVERDUE") == []
        assert events_of(db, ticket_no, "DUE_SOON") == []


def test_accept_keeps_the_marks_of_its_deadline(two_daemons, db, rds):
    """A ticket escalated while DISPATCHED and then accepted keeps its deadline, so it is
    not escalated again (an accept used to clear the marks: a second OVERDUE row and
    alert for one deadline); an extend moves the deadline and clears them."""
    from routing_helpers import DeptClient

    first, _, dept, keyword = two_daemons
    [ticket_no] = intake(first, keyword)
    db.query("UPDATE tickets SET deadline_at = to_timestamp(%s / 1000.0) WHERE ticket_no = %s",
             (first.now_ms() - 60_000, ticket_no))
    wait_until(lambda: events_of(db, ticket_no, "OVERDUE"), 15, message="the overdue mark")
    d = DeptClient(first, dept)
    d.ticket(ticket_no)
    d.ack(ticket_no)
    assert d.accept(ticket_no).action_ack.ok
    time.sleep(1.5)  # several checks by both daemons
    assert len(events_of(db, ticket_no, "OVERDUE")) == 1
    [row] = db.query("SELECT state, overdue_at FROM tickets WHERE ticket_no = %s", (ticket_no,))
    assert row["state"] == "ACCEPTED" and row["overdue_at"] is not None
    ack = d.extend(ticket_no, first.now_ms() + 10 * 86_400_000, "等待配件")
    assert ack.action_ack.ok
    [row] = db.query("SELECT overdue_at, due_soon_at FROM tickets WHERE ticket_no = %s", (ticket_no,))
    assert row["overdue_at"] is None and row["due_soon_at"] is None
    d.close()
    # feed water is owed the ACCEPTED update: later modules' water connections must not see it
    db.query("DELETE FROM feed_updates WHERE ticket_no = %s", (ticket_no,))
