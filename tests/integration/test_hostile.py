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
    reply = c.hello(feed, f"{feed}-secret\0")
    err = expect_error(reply, "ERROR_INVALID")
    assert "hello.token" in err.message
    with pytest.raises(hc.Closed):
        c.read_frame(5)
    c.close()
