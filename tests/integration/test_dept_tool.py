"""tools/hotline-dept, the reference department client, against real servers: it
prints each ticket pushed to it as a JSON line (phone masked) and acknowledges it,
acts from its options or from commands on stdin, and never acknowledges a ticket
it could not print (the daemon then delivers it again)."""

import json
import subprocess
import time
import uuid

import pytest

from routing_helpers import (load_rules, mask, new_code, new_keyword, new_phone,
                             routing_overrides, wait_until)


pytestmark = pytest.mark.usefixtures("neutral_rules_afterwards")


@pytest.fixture
def setup(start_hotlined, binaries, redis_server, db, rds, tmp_path):
    dept = new_code("tool")
    keyword = new_keyword()
    load_rules(binaries, redis_server, db, rds, tmp_path / "tool.rules",
               f"rule tool -> {dept}\n  keywords {keyword}\n")
    # A feed of its own: the TicketUpdates these tests cause are owed to it, and
    # must not come before the acks other modules' tests wait for on theirs.
    feed = new_code("tf")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed]))
    return daemon, dept, keyword, feed


def send_intakes(daemon, feed, keyword, n):
    """n records for the department; returns [(ticket_no, phone)]."""
    out = []
    client = daemon.binary()
    assert client.hello(feed, f"{feed}-secret").WhichOneof("msg") == "welcome"
    with client as c:
        for _ in range(n):
            phone = new_phone()
            c.send_intake(external_id=f"tool-{uuid.uuid4().hex[:12]}",
                          content=f"路灯不亮 {keyword}", caller_phone=phone, district="崇川区")
            while True:
                kind, msg = c.read_reply(15)
                if kind != "ticket_update":
                    break
            assert kind == "ack", msg
            out.append((msg.ticket_no, phone))
    return out


def run_dept(binaries, daemon, dept, *args, stdin="", stdout=subprocess.PIPE, timeout=30):
    r = subprocess.run([str(binaries.dept), "--port", str(daemon.binary_port), "--dept", dept,
                        "--token", f"{dept}-secret", "--timeout", "20", *args],
                       input=stdin, stdout=stdout, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    events = [json.loads(line) for line in (r.stdout or "").splitlines()]
    return r, events


def state_of(db, ticket_no):
    [r] = db.query("SELECT state FROM tickets WHERE ticket_no = %s", (ticket_no,))
    return r["state"]


def pending(rds, dept):
    return rds.xpending(f"hotline:dept:{dept}", "hotline")["pending"]


def test_prints_acks_and_replies_every_ticket(setup, binaries, db, rds):
    daemon, dept, keyword, feed = setup
    sent = send_intakes(daemon, feed, keyword, 3)
    r, events = run_dept(binaries, daemon, dept, "--auto", "reply", "--reply-text", "已修复",
                         "--count", "3")
    assert r.returncode == 0, r.stderr
    tickets = {e["ticket_no"]: e for e in events if e["event"] == "ticket"}
    assert set(tickets) == {t for t, _ in sent}
    for ticket_no, phone in sent:
        assert tickets[ticket_no]["caller_phone_masked"] == mask(phone)
        assert phone not in r.stdout
        assert state_of(db, ticket_no) == "REPLIED"
    acks = [e for e in events if e["event"] == "action_ack"]
    assert len(acks) == 6 and all(a["ok"] for a in acks), acks
    assert events[-1]["event"] == "summary"
    # the daemon batches its XACKs: give the last batch a moment
    wait_until(lambda: pending(rds, dept) == 0, 5, message="every printed ticket acknowledged")


def test_commands_from_stdin(setup, binaries, db):
    daemon, dept, keyword, feed = setup
    [(ticket_no, _)] = send_intakes(daemon, feed, keyword, 1)
    r, _ = run_dept(binaries, daemon, dept, "--count", "1")
    assert r.returncode == 0, r.stderr
    # A ticket number over the daemon's 31 bytes: its refusal would not name it (so
    # could not be matched to the action), and the action would stay unanswered.
    r, events = run_dept(binaries, daemon, dept,
                         stdin=f"accept {ticket_no}\nreply {ticket_no} 已协调 处理\naccept {'9' * 32}\nquit\n")
    assert r.returncode == 0, r.stderr
    acks = [e for e in events if e["event"] == "action_ack"]
    assert [a["ok"] for a in acks] == [True, True], events
    [error] = [e for e in events if e["event"] == "command_error"]
    assert "over-long TICKET_NO" in error["message"], error
    assert events[-1]["pending_actions"] == 0
    [row] = db.query("SELECT state, reply FROM tickets WHERE ticket_no = %s", (ticket_no,))
    assert (row["state"], row["reply"]) == ("REPLIED", "已协调 处理")


def test_unwritable_stdout_takes_nothing(setup, binaries, rds):
    """stdout goes away after the welcome: the ticket's line cannot be written, so
    its ack must not be sent either."""
    daemon, dept, keyword, feed = setup
    proc = subprocess.Popen([str(binaries.dept), "--port", str(daemon.binary_port), "--dept", dept,
                             "--token", f"{dept}-secret", "--count", "1", "--timeout", "20"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert json.loads(proc.stdout.readline())["event"] == "welcome"
        proc.stdout.close()  # writes now fail with EPIPE
        [(ticket_no, _)] = send_intakes(daemon, feed, keyword, 1)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err
    assert "cannot write tickets" in err
    time.sleep(0.5)  # an ack sent by mistake would have reached Redis by now
    assert pending(rds, dept) == 1, "a ticket that was not printed was acknowledged"
    # Not printed, so not acknowledged: the next consumer gets it.
    r, events = run_dept(binaries, daemon, dept, "--count", "1")
    assert r.returncode == 0, r.stderr
    assert [e["ticket_no"] for e in events if e["event"] == "ticket"] == [ticket_no]
    wait_until(lambda: pending(rds, dept) == 0, 5, message="the ticket acknowledged")


def test_commands_from_a_file_with_an_over_long_line(setup, binaries, db, tmp_path):
    """A regular file (read in chunks, not polled), a line over the 64 KiB limit
    (one command_error, the rest of the line dropped) and a last line without a
    line end."""
    daemon, dept, keyword, feed = setup
    [(ticket_no, _)] = send_intakes(daemon, feed, keyword, 1)
    r, _ = run_dept(binaries, daemon, dept, "--count", "1")
    assert r.returncode == 0, r.stderr
    commands = tmp_path / "commands.txt"
    commands.write_text("accept " + "x" * 200000 + "\n" + f"accept {ticket_no}\nquit")
    with open(commands) as f:
        r = subprocess.run([str(binaries.dept), "--port", str(daemon.binary_port), "--dept", dept,
                            "--token", f"{dept}-secret", "--timeout", "20"],
                           stdin=f, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    errors = [e for e in events if e["event"] == "command_error"]
    assert len(errors) == 1 and "too long" in errors[0]["message"], errors
    acks = [e for e in events if e["event"] == "action_ack"]
    assert [(a["ticket_no"], a["ok"]) for a in acks] == [(ticket_no, True)], events
    assert state_of(db, ticket_no) == "ACCEPTED"
