"""Behaviour that depends on the date, tested at fixed dates, never today's.

Each daemon here runs its clock from a pinned instant (HOTLINED_CLOCK_START, through
start_hotlined(clock=...)): deadlines counted in working days from a Monday, a
Friday, the day before a holiday, a make-up Saturday (调休), 31 December, and a day
in a year after the last calendar file (2027: deploy/calendar ends with 2026.cal);
the ticket number's date; and one clock for every time one event writes (the
deadline, dispatched_at, created_at and the audit rows of one dispatch agree to the
microsecond). Working days come from deploy/calendar/2026.cal (国办发明电〔2025〕7号).
"""

import datetime
import uuid

import pytest

from routing_helpers import load_rules, new_code, new_keyword, new_phone, routing_overrides, wait_until

pytestmark = pytest.mark.usefixtures("neutral_rules_afterwards")

CST = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture
def routed(binaries, redis_server, db, rds, tmp_path):
    """A department and a keyword routed to it; returns (overrides, keyword)."""
    dept = new_code("dates")
    keyword = new_keyword()
    load_rules(binaries, redis_server, db, rds, tmp_path / "dates.rules",
               f"rule dates -> {dept}\n  keywords {keyword}\n")
    overrides = routing_overrides(depts=[dept])
    overrides["deadlines"] = {"default": "5wd", "urgent": "2h", "category.consultation": "3wd"}
    return overrides, keyword


def dispatch_one(daemon, keyword, **fields):
    """One record through feed water; returns its ticket number."""
    with daemon.feed("water") as c:
        c.send_intake(external_id=f"date-{uuid.uuid4().hex[:12]}", content=f"咨询 {keyword}",
                      district="崇川区", caller_phone=new_phone(), **fields)
        while True:  # TicketUpdates owed to water from other tests may come first
            kind, msg = c.read_reply(15)
            if kind != "ticket_update":
                break
        assert kind == "ack", msg
        return msg.ticket_no


def ticket_times(db, ticket_no):
    [row] = db.query(
        "SELECT ticket_id, state, created_at, dispatched_at, deadline_at, updated_at"
        " FROM tickets WHERE ticket_no = %s", (ticket_no,))
    events = db.query("SELECT kind, at FROM ticket_events WHERE ticket_id = %s ORDER BY event_id",
                      (row["ticket_id"],))
    return row, events


# (start, local time CST)  ->  deadline of a 3-working-day consultation
CASES = [
    # Monday: Tue, Wed, Thu
    ("monday", "2026-12-07T10:00:00+08:00", "2026-12-10"),
    # Friday: Mon, Tue, Wed
    ("friday", "2026-12-11T10:00:00+08:00", "2026-12-16"),
    # the day before 国庆节 (10-01..10-07 off): Thu 10-08, Fri 10-09, and Sat 10-10,
    # a make-up working day
    ("day-before-holiday", "2026-09-30T10:00:00+08:00", "2026-10-10"),
    # a make-up Saturday (劳动节调休, 05-09 worked) counts as a working day itself
    ("makeup-saturday", "2026-05-09T10:00:00+08:00", "2026-05-13"),
    # 31 December, the last day the calendar knows: 2027 is counted Monday to Friday
    # (Fri 01-01, Mon 01-04, Tue 01-05), with a warning
    ("december-31", "2026-12-31T10:00:00+08:00", "2027-01-05"),
    # a year after the last calendar file: Monday to Friday
    ("year-2027", "2027-03-01T10:00:00+08:00", "2027-03-04"),
]


@pytest.mark.parametrize("name,start,due_day", CASES, ids=[c[0] for c in CASES])
def test_working_day_deadline_at_fixed_dates(routed, start_hotlined, db, name, start, due_day):
    overrides, keyword = routed
    daemon = start_hotlined(overrides, clock=start)
    ticket_no = dispatch_one(daemon, keyword, category="consultation")
    begin = datetime.datetime.fromisoformat(start)
    assert ticket_no.startswith(begin.strftime("%Y%m%d") + "-"), ticket_no

    row, events = ticket_times(db, ticket_no)
    assert row["state"] == "DISPATCHED"
    dispatched = row["dispatched_at"]
    # The daemon's clock started at `start` and runs at real speed.
    assert begin <= dispatched < begin + datetime.timedelta(seconds=60), (dispatched, begin)
    # One clock for the whole event: created, dispatched, updated and both audit rows.
    assert row["created_at"] == dispatched == row["updated_at"]
    assert [e["kind"] for e in events] == ["INTAKE", "ROUTE_MATCHED"]
    assert all(e["at"] == dispatched for e in events), events
    # The deadline is the same local time of day on the third working day: exact.
    due = datetime.datetime.fromisoformat(due_day).replace(tzinfo=CST)
    whole_days = (due.date() - dispatched.astimezone(CST).date()).days
    assert row["deadline_at"] - dispatched == datetime.timedelta(days=whole_days), (
        name, row["deadline_at"], dispatched)
    assert row["deadline_at"].astimezone(CST).date() == due.date()
    if due.year > 2026:
        wait_until(lambda: "past the last year the calendar knows" in daemon.log_text(), 5,
                   message="the warning that the deadline runs past the calendar")
    else:
        assert "past the last year the calendar knows" not in daemon.log_text()


def test_hours_limit_runs_through_new_year(routed, start_hotlined, db):
    """urgent = 2h counts hours on the clock, through the night and the new year."""
    overrides, keyword = routed
    daemon = start_hotlined(overrides, clock="2026-12-31T23:00:00+08:00")
    ticket_no = dispatch_one(daemon, keyword, category="consultation", priority=2)  # URGENT
    assert ticket_no.startswith("20261231-")
    row, _ = ticket_times(db, ticket_no)
    assert row["deadline_at"] - row["dispatched_at"] == datetime.timedelta(hours=2)


def test_overdue_marked_by_the_clock_of_the_daemon_that_watches(routed, start_hotlined, db):
    """A ticket dispatched at 21:00 with a 2-hour limit is overdue for a daemon whose
    clock reads 23:30; the mark and its audit row carry that daemon's time."""
    overrides, keyword = routed
    overrides = dict(overrides, escalation={"interval_ms": 200, "due_soon_ms": 0, "batch": 50})
    early = start_hotlined(overrides, clock="2026-12-31T21:00:00+08:00")
    ticket_no = dispatch_one(early, keyword, category="consultation", priority=2)
    row, _ = ticket_times(db, ticket_no)
    assert row["deadline_at"] == row["dispatched_at"] + datetime.timedelta(hours=2)
    late_start = datetime.datetime.fromisoformat("2026-12-31T23:30:00+08:00")
    start_hotlined(overrides, clock=late_start.isoformat())
    marked = wait_until(lambda: db.query(
        "SELECT overdue_at FROM tickets WHERE ticket_no = %s AND overdue_at IS NOT NULL",
        (ticket_no,)), 15, message="the overdue mark")
    overdue_at = marked[0]["overdue_at"]
    assert late_start <= overdue_at < late_start + datetime.timedelta(seconds=60)
    [event] = db.query("SELECT e.at FROM ticket_events e JOIN tickets t USING (ticket_id)"
                       " WHERE t.ticket_no = %s AND e.kind = 'OVERDUE'", (ticket_no,))
    assert event["at"] == overdue_at


def test_a_clock_that_is_not_an_instant_is_refused(binaries, tmp_path):
    """HOTLINED_CLOCK_START must be an RFC 3339 instant or unix ms: anything else stops
    the daemon at start with the reason."""
    import os
    import subprocess

    conf = tmp_path / "c.conf"
    conf.write_text("[hotlined]\nlisten_binary =\nlisten_json =\n")
    conf.chmod(0o600)
    env = dict(os.environ, HOTLINED_CLOCK_START="next tuesday")
    r = subprocess.run([str(binaries.hotlined), "-c", str(conf)], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert "HOTLINED_CLOCK_START" in r.stderr and "RFC 3339" in r.stderr


# ------------------------------------------------------------------ the calendar's horizon


def horizon_alerts(pubsub, seconds):
    import json
    import time

    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msg = pubsub.get_message(timeout=0.1)
        if msg and msg["type"] == "message":
            data = json.loads(msg["data"])
            if data.get("kind") == "calendar_horizon":
                out.append(data)
    return out


@pytest.mark.parametrize("today,days_left,warn,expired", [
    ("2026-06-01T09:00:00+08:00", 213, False, False),
    ("2026-12-07T09:00:00+08:00", 24, True, False),
    ("2027-03-01T09:00:00+08:00", -60, True, True),
], ids=["june", "december-7", "2027"])
def test_calendar_horizon_told_to_supervisors(start_hotlined, rds, today, days_left, warn, expired):
    """From 60 days before the calendar's last day (and once it has passed) the daemon
    warns in its log and publishes one calendar_horizon alert a day on
    hotline:alerts; hotline:calendar always holds the horizon for dashboards."""
    import json

    rds.delete("hotline:calendar")
    pubsub = rds.pubsub()
    pubsub.subscribe("hotline:alerts")
    try:
        daemon = start_hotlined(clock=today)
        state = wait_until(lambda: rds.get("hotline:calendar"), 15, message="hotline:calendar")
        alerts = horizon_alerts(pubsub, 2.0)
    finally:
        pubsub.close()
    horizon = json.loads(state)
    assert (horizon["days_left"], horizon["warn"], horizon["expired"]) == (days_left, warn, expired)
    assert horizon["last_day"] == "2026-12-31" and horizon["missing_year"] == 2027
    if warn:
        assert len(alerts) == 1, alerts
        assert alerts[0]["days_left"] == days_left and "2027.cal" in alerts[0]["message"]
        assert "calendar: working-day calendar covers" in daemon.log_text()
    else:
        assert alerts == []
        assert "calendar: working-day calendar covers" not in daemon.log_text()
