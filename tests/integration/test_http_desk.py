"""The desk and the callback queue over HTTP (docs/http-api.md), against a real
hotlined, PostgreSQL and Redis: a ticket no rule matched, dispatched from the desk,
reaches its department's stream and its feed hears of it; an escalated ticket ruled
both ways (and a ruled ticket cannot be returned); junk and duplicates closed from the
desk; two supervisors at once; callbacks claimed and recorded by an account.

Rules: an empty rule set is in force for the module, so a merged feed's tickets wait
on the desk and a sub-centre feed's go to its own department. Accounts: hotlinectl.
"""

import threading
import time
import uuid

import pytest

import hotline_client as hc
from http_helpers import Api, add_user, error_code, new_user
from routing_helpers import (
    DeptClient,
    FeedClient,
    new_code,
    new_phone,
    routing_overrides,
    wait_until,
)

CALLBACK_WAIT = 20.0


def pb():
    return hc.pb


pytestmark = pytest.mark.usefixtures("empty_rules")


@pytest.fixture(autouse=True)
def only_this_tests_callbacks(db, rds):
    [row] = db.query("SELECT epoch FROM bus_epoch")
    if row["epoch"]:
        rds.set("hotline:epoch", row["epoch"], nx=True)
    db.query("DELETE FROM outbox WHERE kind = 'callback'")
    rds.delete("hotline:callbacks")


class Desk:
    """A daemon with two departments, a merged feed (its tickets wait on the desk)
    and a sub-centre feed of the first department; an agent and a supervisor."""

    def __init__(self, start_hotlined, binaries, schema, max_returns=3):
        self.dept, self.dept2 = new_code("dk"), new_code("dk")
        self.feed, self.sub = new_code("df"), new_code("ds")
        overrides = routing_overrides(
            depts=[self.dept, self.dept2],
            feeds=[self.feed, (self.sub, "subcenter", self.dept)],
            routing={"relay_interval_ms": 200, "max_returns": max_returns},
        )
        self.daemon = start_hotlined(overrides)
        self.agent_name, self.sup_name, self.sup2_name = new_user("ag"), new_user("sv"), new_user("sv")
        self.agent = Api(self.daemon, add_user(binaries, schema, self.agent_name, "agent"))
        sup_token = add_user(binaries, schema, self.sup_name, "supervisor")
        self.sup = Api(self.daemon, sup_token)
        self.sup2 = Api(self.daemon, add_user(binaries, schema, self.sup2_name, "supervisor"))
        self.feed_conn = FeedClient(self.daemon, self.feed)
        self.sub_conn = FeedClient(self.daemon, self.sub)
        self.dept_conn = DeptClient(self.daemon, self.dept)
        self.dept2_conn = DeptClient(self.daemon, self.dept2)

    def pending_ticket(self, **fields):
        """A ticket of the merged feed: no rule matches it, it waits on the desk."""
        intake = {"caller_phone": new_phone(), "category": "misc", "content": f"无人认领 {uuid.uuid4().hex[:6]}"}
        intake.update(fields)
        return self.feed_conn.intake(f"p-{uuid.uuid4().hex[:12]}", **intake)

    def routed_ticket(self):
        """A ticket of the sub-centre feed, pushed to self.dept."""
        no = self.sub_conn.intake(
            f"s-{uuid.uuid4().hex[:12]}", caller_phone=new_phone(), category="water", content="停水"
        )
        self.dept_conn.ticket(no)
        self.dept_conn.ack(no)
        return no

    def escalated_ticket(self, returns):
        no = self.routed_ticket()
        ack = self.dept_conn.return_ticket(no, "不属于本单位职责").action_ack
        assert ack.ok, ack
        return no

    def close(self):
        for c in (self.feed_conn, self.sub_conn, self.dept_conn, self.dept2_conn):
            c.close()


@pytest.fixture
def desk(start_hotlined, binaries, schema):
    made = []

    def make(**kw):
        d = Desk(start_hotlined, binaries, schema, **kw)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


def desk_entry(api, ticket_no):
    status, body = api.get("/api/v1/desk?limit=500")
    assert status == 200, body
    found = [t for t in body["tickets"] if t["ticket_no"] == ticket_no]
    return found[0] if found else None


def trail(db, ticket_no):
    return [
        (r["kind"], r["actor"])
        for r in db.query(
            "SELECT e.kind, e.actor FROM ticket_events e JOIN tickets t USING (ticket_id)"
            " WHERE t.ticket_no = %s ORDER BY e.event_id",
            (ticket_no,),
        )
    ]


# ------------------------------------------------------------------ dispatch


def test_pending_ticket_dispatched_from_the_desk(desk, db):
    d = desk()
    no = d.pending_ticket()
    wait_until(lambda: db.ticket(no)["state"] == "PENDING_DISPATCH", 10)
    entry = desk_entry(d.agent, no)  # agents may list the desk
    assert entry and entry["state"] == "PENDING_DISPATCH" and entry["why"] == "no_rule"
    assert entry["returns"] == [] and entry["waiting_since"].endswith("Z")

    # a department the configuration does not know: refused, nothing changes
    status, body = d.sup.post(f"/api/v1/tickets/{no}/dispatch", {"dept_code": "nosuch"})
    assert (status, error_code(body)) == (400, "invalid")
    status, body = d.sup.post(f"/api/v1/tickets/{no}/dispatch", {})
    assert (status, error_code(body)) == (400, "invalid")
    assert db.ticket(no)["state"] == "PENDING_DISPATCH"

    status, t = d.sup.post(f"/api/v1/tickets/{no}/dispatch", {"dept_code": d.dept2, "note": "人工派单"})
    assert status == 200, t
    assert (t["state"], t["dept_code"]) == ("DISPATCHED", d.dept2)
    assert t["deadline_at"] and t["dispatched_at"]
    assert t["events"][-1]["kind"] == "MANUAL_DISPATCH"
    assert t["events"][-1]["actor"] == f"user:{d.sup_name}"
    # published to the department's stream through the outbox, like a routed ticket
    pushed = d.dept2_conn.ticket(no, timeout=15)
    assert pushed.ticket_no == no
    # and the feed it came from hears of it
    update = d.feed_conn.update(no, state=pb().TICKET_STATE_DISPATCHED, timeout=15)
    assert update.ticket_no == no
    assert desk_entry(d.agent, no) is None
    # again: the state no longer allows it
    status, body = d.sup.post(f"/api/v1/tickets/{no}/dispatch", {"dept_code": d.dept})
    assert (status, error_code(body)) == (409, "conflict")
    status, body = d.sup.post("/api/v1/tickets/20990101-00000001/dispatch", {"dept_code": d.dept})
    assert (status, error_code(body)) == (404, "not_found")


def test_two_supervisors_at_once_one_wins(desk, db):
    d = desk()
    for _ in range(3):
        no = d.pending_ticket()
        wait_until(lambda: db.ticket(no)["state"] == "PENDING_DISPATCH", 10)
        results = []
        barrier = threading.Barrier(2)

        def act(api, dept):
            barrier.wait()
            results.append(api.post(f"/api/v1/tickets/{no}/dispatch", {"dept_code": dept})[0])

        threads = [
            threading.Thread(target=act, args=(d.sup, d.dept)),
            threading.Thread(target=act, args=(d.sup2, d.dept2)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [200, 409], results
        assert [k for k, _ in trail(db, no)].count("MANUAL_DISPATCH") == 1


# ------------------------------------------------------------------ rulings


def test_escalated_ticket_ruled_to_a_department(desk, db):
    d = desk(max_returns=1)
    no = d.escalated_ticket(1)
    wait_until(lambda: db.ticket(no)["state"] == "ESCALATED", 10)
    entry = desk_entry(d.sup, no)
    assert entry["why"] == "returned" and entry["return_count"] == 1
    assert [(r["dept_code"], r["reason"]) for r in entry["returns"]] == [(d.dept, "不属于本单位职责")]

    for body in (
        {"decision": "dispatch", "reason": "x"},  # no department
        {"decision": "close", "dept_code": d.dept, "reason": "x"},
        {"decision": "maybe", "reason": "x"},
        {"decision": "dispatch", "dept_code": d.dept2},  # no reason
        {"decision": "dispatch", "dept_code": d.dept2, "reason": "  "},
    ):
        status, reply = d.sup.post(f"/api/v1/tickets/{no}/ruling", body)
        assert (status, error_code(reply)) == (400, "invalid"), body
    assert db.ticket(no)["state"] == "ESCALATED"

    status, t = d.sup.post(
        f"/api/v1/tickets/{no}/ruling", {"decision": "dispatch", "dept_code": d.dept2, "reason": "属于你单位职责"}
    )
    assert status == 200, t
    assert (t["state"], t["dept_code"], t["ruled"]) == ("DISPATCHED", d.dept2, True)
    d.dept2_conn.ticket(no, timeout=15)
    d.dept2_conn.ack(no)
    # the ruled department may not return it
    ack = d.dept2_conn.return_ticket(no, "还是不归我们管").action_ack
    assert ack.ok is False and "ruling" in ack.error
    assert db.ticket(no)["state"] == "DISPATCHED"
    # it may still accept and reply
    assert d.dept2_conn.accept(no).action_ack.ok
    status, body = d.sup.post(f"/api/v1/tickets/{no}/ruling", {"decision": "close", "reason": "x"})
    assert (status, error_code(body)) == (409, "conflict")


def test_escalated_ticket_ruled_closed_and_the_feed_told(desk, db):
    d = desk(max_returns=1)
    no = d.escalated_ticket(1)
    wait_until(lambda: db.ticket(no)["state"] == "ESCALATED", 10)
    status, t = d.sup.post(
        f"/api/v1/tickets/{no}/ruling", {"decision": "close", "reason": "诉求不属于政府职能范围，已向市民解释"}
    )
    assert status == 200, t
    assert t["state"] == "CLOSED" and t["closed_at"]
    update = d.sub_conn.update(no, state=pb().TICKET_STATE_CLOSED, timeout=15)
    assert update.reply == "诉求不属于政府职能范围，已向市民解释"
    assert trail(db, no)[-1] == ("RULING_CLOSE", f"user:{d.sup_name}")


# ------------------------------------------------------------------ desk close


def test_junk_closed_from_the_desk(desk, db):
    d = desk()
    no = d.pending_ticket()
    wait_until(lambda: db.ticket(no)["state"] == "PENDING_DISPATCH", 10)
    status, body = d.sup.post(f"/api/v1/tickets/{no}/close", {})
    assert (status, error_code(body)) == (400, "invalid")
    status, t = d.sup.post(f"/api/v1/tickets/{no}/close", {"reason": "测试来电"})
    assert (status, t["state"]) == (200, "CLOSED"), t
    assert d.feed_conn.update(no, state=pb().TICKET_STATE_CLOSED, timeout=15).reply == "测试来电"
    assert trail(db, no)[-1] == ("DESK_CLOSE", f"user:{d.sup_name}")
    status, body = d.sup.post(f"/api/v1/tickets/{no}/close", {"reason": "again"})
    assert (status, error_code(body)) == (409, "conflict")


def test_duplicate_follows_the_original(desk, db):
    d = desk()
    original = d.routed_ticket()
    dup = d.pending_ticket()
    wait_until(lambda: db.ticket(dup)["state"] == "PENDING_DISPATCH", 10)
    # refusals first: itself, an unknown ticket
    status, body = d.sup.post(f"/api/v1/tickets/{dup}/close", {"reason": "重复", "duplicate_of": dup})
    assert (status, error_code(body)) == (400, "invalid")
    status, body = d.sup.post(
        f"/api/v1/tickets/{dup}/close", {"reason": "重复", "duplicate_of": "20990101-00000001"}
    )
    assert (status, error_code(body)) == (400, "invalid")
    assert db.ticket(dup)["state"] == "PENDING_DISPATCH"

    status, t = d.sup.post(f"/api/v1/tickets/{dup}/close", {"reason": "同一问题重复来电", "duplicate_of": original})
    assert status == 200, t
    assert (t["state"], t["parent_ticket_no"]) == ("LINKED", original)
    d.feed_conn.update(dup, state=pb().TICKET_STATE_LINKED, timeout=15)
    # the original's reply reaches the duplicate's caller too
    assert d.dept_conn.accept(original).action_ack.ok
    assert d.dept_conn.reply(original, "已恢复供水").action_ack.ok
    update = d.feed_conn.update(dup, state=pb().TICKET_STATE_LINKED, timeout=15)
    while update.reply != "已恢复供水":
        update = d.feed_conn.update(dup, state=pb().TICKET_STATE_LINKED, timeout=15)
    # a closed original cannot be joined
    closed = d.pending_ticket()
    wait_until(lambda: db.ticket(closed)["state"] == "PENDING_DISPATCH", 10)
    assert d.sup.post(f"/api/v1/tickets/{closed}/close", {"reason": "测试"})[0] == 200
    other = d.pending_ticket()
    wait_until(lambda: db.ticket(other)["state"] == "PENDING_DISPATCH", 10)
    status, body = d.sup.post(f"/api/v1/tickets/{other}/close", {"reason": "重复", "duplicate_of": closed})
    assert (status, error_code(body)) == (409, "conflict")
    assert "closed" in body["error"]["message"]
    # ... nor a duplicate itself
    status, body = d.sup.post(f"/api/v1/tickets/{other}/close", {"reason": "重复", "duplicate_of": dup})
    assert (status, error_code(body)) == (409, "conflict")
    assert db.ticket(other)["state"] == "PENDING_DISPATCH"


# ------------------------------------------------------------------ callbacks


def test_callbacks_claimed_and_recorded_over_http(desk, db):
    d = desk()
    status, body = d.agent.post("/api/v1/callbacks/ZZ-none/result", {"outcome": "satisfied"})
    assert (status, error_code(body)) == (404, "not_found")
    no = d.routed_ticket()
    assert d.dept_conn.accept(no).action_ack.ok
    assert d.dept_conn.reply(no, "已派人维修").action_ack.ok
    deadline = time.monotonic() + CALLBACK_WAIT
    while True:
        status, task = d.agent.post("/api/v1/callbacks/claim")
        if status == 200:
            break
        assert status == 204 and task is None, (status, task)
        assert time.monotonic() < deadline, "no callback handed out"
        time.sleep(0.3)
    assert (task["ticket_no"], task["reply"], task["attempt"], task["dept_code"]) == (no, "已派人维修", 1, d.dept)
    assert task["claimed_until"].endswith("Z")
    # another account does not hold it
    status, body = d.sup.post(f"/api/v1/callbacks/{no}/result", {"outcome": "satisfied"})
    assert (status, error_code(body)) == (404, "not_found")
    status, body = d.agent.post(f"/api/v1/callbacks/{no}/result", {"outcome": "happy"})
    assert (status, error_code(body)) == (400, "invalid")
    status, body = d.agent.post(f"/api/v1/callbacks/{no}/result", {"outcome": "satisfied", "note": "很满意"})
    assert (status, body) == (200, {"ticket_no": no, "state": "CLOSED"})
    row = db.query("SELECT state, rating FROM tickets WHERE ticket_no = %s", (no,))[0]
    assert (row["state"], row["rating"]) == ("CLOSED", "SATISFIED")
    assert trail(db, no)[-1] == ("CALLBACK_SATISFIED", f"user:{d.agent_name}")
    d.sub_conn.update(no, state=pb().TICKET_STATE_CLOSED, timeout=15)
    status, body = d.agent.post(f"/api/v1/callbacks/{no}/result", {"outcome": "satisfied"})
    assert (status, error_code(body)) == (404, "not_found")
