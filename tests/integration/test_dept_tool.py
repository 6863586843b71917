"""tools/hotline-dept, the reference department client, against real servers: it
prints each ticket pushed to it as a JSON line (phone masked) and acknowledges it,
acts from its options or from commands on stdin (at most Welcome.action_window
actions unanswered; one answered UNAVAILABLE or INTERNAL sent again), and never
acknowledges a ticket it could not print (the daemon then delivers it again)."""

import contextlib
import json
import socket
import subprocess
import time
import uuid

import pytest

from hotline_client import BinaryClient, Closed, Timeout, encode_frame, intake_frame
from routing_helpers import (load_rules, mask, new_code, new_keyword, new_phone, pb,
                             routing_overrides, wait_until)


pytestmark = pytest.mark.usefixtures("neutral_rules_afterwards")


@pytest.fixture(scope="module", autouse=True)
def no_callbacks_left_behind(db, rds):
    """Every ticket replied here (over 300) is owed a callback, queued for any agent:
    later modules' agents must not be handed them (test_hostile's claims expect
    none waiting). Removed once this module's daemons are gone, as test_callbacks
    does before each of its tests."""
    yield
    db.query("DELETE FROM outbox WHERE kind = 'callback'")
    rds.delete("hotline:callbacks")


def department(start_hotlined, binaries, redis_server, db, rds, tmp_path, routing=None):
    dept = new_code("tool")
    keyword = new_keyword()
    load_rules(binaries, redis_server, db, rds, tmp_path / "tool.rules",
               f"rule tool -> {dept}\n  keywords {keyword}\n")
    # A feed of its own: the TicketUpdates these tests cause are owed to it, and
    # must not come before the acks other modules' tests wait for on theirs.
    feed = new_code("tf")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed], routing=routing))
    return daemon, dept, keyword, feed


@pytest.fixture
def setup(start_hotlined, binaries, redis_server, db, rds, tmp_path):
    return department(start_hotlined, binaries, redis_server, db, rds, tmp_path)


DEPT_WINDOW = 10  # Welcome.action_window is then 20


@pytest.fixture
def small_window(start_hotlined, binaries, redis_server, db, rds, tmp_path):
    """A department whose connections hold DEPT_WINDOW tickets and 2 x DEPT_WINDOW
    actions: a burst of a few hundred tickets is many windows' worth."""
    return department(start_hotlined, binaries, redis_server, db, rds, tmp_path,
                      routing={"dept_window": DEPT_WINDOW})


def send_intakes(daemon, feed, keyword, n):
    """n records for the department; returns [(ticket_no, phone)]."""
    out = []
    client = daemon.binary()
    assert client.hello(feed, f"{feed}-feed-secret").WhichOneof("msg") == "welcome"
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


def send_burst(daemon, feed, keyword, n):
    """n records for the department, sent without waiting for acks; returns their
    ticket numbers."""
    client = daemon.binary()
    assert client.hello(feed, f"{feed}-feed-secret").WhichOneof("msg") == "welcome"
    with client as c:
        c.send_raw(b"".join(intake_frame(external_id=f"tool-{uuid.uuid4().hex[:12]}",
                                         content=f"路灯不亮 {keyword}", caller_phone=new_phone(),
                                         district="崇川区") for _ in range(n)))
        tickets = []
        while len(tickets) < n:
            kind, msg = c.read_reply(15)
            if kind == "ticket_update":
                continue
            assert kind == "ack", msg
            tickets.append(msg.ticket_no)
    return tickets


def run_dept(binaries, daemon, dept, *args, stdin="", stdout=subprocess.PIPE, timeout=30):
    r = subprocess.run([str(binaries.dept), "--port", str(daemon.binary_port), "--dept", dept,
                        "--token", f"{dept}-dept-secret", "--timeout", "20", *args],
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
                             "--token", f"{dept}-dept-secret", "--count", "1", "--timeout", "20"],
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
                            "--token", f"{dept}-dept-secret", "--timeout", "20"],
                           stdin=f, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    errors = [e for e in events if e["event"] == "command_error"]
    assert len(errors) == 1 and "too long" in errors[0]["message"], errors
    acks = [e for e in events if e["event"] == "action_ack"]
    assert [(a["ticket_no"], a["ok"]) for a in acks] == [(ticket_no, True)], events
    assert state_of(db, ticket_no) == "ACCEPTED"


# ------------------------------------------------------------------ many actions


def start_dept(binaries, daemon, dept, *args):
    """hotline-dept running, past its welcome line (returned, parsed)."""
    proc = subprocess.Popen([str(binaries.dept), "--port", str(daemon.binary_port), "--dept", dept,
                             "--token", f"{dept}-dept-secret", *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"hotline-dept printed no welcome:\n{err}")
    return proc, json.loads(line)


def finish_dept(proc, timeout):
    """Waits for hotline-dept's exit: (returncode, events after the welcome, stderr)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, [json.loads(line) for line in out.splitlines()], err


def states_of(db, tickets):
    rows = db.query("SELECT state, count(*) AS n FROM tickets WHERE ticket_no = ANY(%s) GROUP BY state",
                    (list(tickets),))
    return {r["state"]: r["n"] for r in rows}


@pytest.mark.parametrize("mode, state, actions_per_ticket", [("accept", "ACCEPTED", 1),
                                                              ("reply", "REPLIED", 2)])
def test_auto_keeps_up_with_a_burst(small_window, binaries, db, mode, state, actions_per_ticket):
    """A burst of 300 tickets, 15 ticket windows and 15 (accept) or 30 (reply) action
    windows' worth: every ticket ends ACCEPTED (REPLIED) and no action fails. The
    daemon holds 2 x dept_window actions per connection and announces it; hotline-dept
    used to send every action at once, and the daemon then refused those past its
    window with UNAVAILABLE, which hotline-dept never sent again."""
    daemon, dept, keyword, feed = small_window
    n = 300
    proc, welcome = start_dept(binaries, daemon, dept, "--auto", mode, "--count", str(n), "--quiet",
                               "--timeout", "60")
    assert (welcome["event"], welcome["window"], welcome["action_window"]) == \
        ("welcome", DEPT_WINDOW, 2 * DEPT_WINDOW)
    tickets = send_burst(daemon, feed, keyword, n)
    rc, events, err = finish_dept(proc, 90)
    assert rc == 0, err
    assert [e for e in events if e["event"] == "error"] == []
    summary = events[-1]
    assert summary["event"] == "summary"
    assert summary["distinct"] == n
    assert (summary["actions_ok"], summary["actions_failed"], summary["pending_actions"],
            summary["resent"]) == (actions_per_ticket * n, 0, 0, 0), summary
    assert states_of(db, tickets) == {state: n}


@contextlib.contextmanager
def accept_faults(db, plan):
    """While in force, the daemon's writes of an accept (DISPATCHED -> ACCEPTED) of the
    tickets in plan {ticket_no: (mode, times)} are spoiled, the first `times` of them:
    'busy' makes the UPDATE skip the row, which the daemon takes for a concurrent
    change (three in a row: Error{UNAVAILABLE}); 'fail' raises an error, which it
    answers Error{INTERNAL}. The counts are sequences, which a raised error does not
    roll back. A trigger on tickets, dropped on the way out."""
    name = f"accept_faults_{uuid.uuid4().hex[:8]}"
    db.query(f"CREATE TABLE {name} (ticket_no text PRIMARY KEY, mode text NOT NULL,"
             " times int NOT NULL, counter text NOT NULL)")
    for i, (ticket_no, (mode, times)) in enumerate(plan.items()):
        db.query(f"CREATE SEQUENCE {name}_{i}")
        db.query(f"INSERT INTO {name} VALUES (%s, %s, %s, %s)", (ticket_no, mode, times, f"{name}_{i}"))
    db.query(f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE f {name};
        BEGIN
          SELECT * INTO f FROM {name} WHERE ticket_no = OLD.ticket_no;
          IF NOT FOUND OR nextval(f.counter::regclass) > f.times THEN RETURN NEW; END IF;
          IF f.mode = 'busy' THEN RETURN NULL; END IF;
          RAISE EXCEPTION 'injected: the accept of % fails', OLD.ticket_no;
        END $$""")
    db.query(f"CREATE TRIGGER {name} BEFORE UPDATE ON tickets FOR EACH ROW"
             f" WHEN (OLD.state = 'DISPATCHED' AND NEW.state = 'ACCEPTED') EXECUTE FUNCTION {name}()")
    try:
        yield
    finally:
        db.query(f"DROP TRIGGER {name} ON tickets")
        db.query(f"DROP FUNCTION {name}()")
        db.query(f"DROP TABLE {name}")
        for i in range(len(plan)):
            db.query(f"DROP SEQUENCE {name}_{i}")


def test_actions_refused_for_now_are_sent_again(small_window, binaries, db):
    """Error{UNAVAILABLE} (the ticket kept changing) and Error{INTERNAL} (PostgreSQL
    failed) answer an action with 'try again': hotline-dept sends it again after a
    backoff, counts that as resent, and reports the action failed only after 10
    resends. Meanwhile the ticket's reply (--auto reply) waits: a reply sent before
    its accept succeeded would be refused (ActionAck ok=false) and count as failed."""
    daemon, dept, keyword, feed = small_window
    n = 30
    tickets = send_burst(daemon, feed, keyword, n)
    busy, failing, broken = tickets[3], tickets[10], tickets[20]
    # busy: 6 skipped writes = 2 answers of 3 attempts each
    with accept_faults(db, {busy: ("busy", 6), failing: ("fail", 2), broken: ("fail", 10**6)}):
        proc, welcome = start_dept(binaries, daemon, dept, "--auto", "reply", "--count", str(n), "--quiet",
                                   "--timeout", "60")
        rc, events, err = finish_dept(proc, 90)
    assert rc == 0, err
    errors = [(e["ticket_no"], e["action"], e["code"], "resend_in_ms" in e) for e in events
              if e["event"] == "error"]
    # The daemon group-commits transitions: a write that shared a transaction with
    # one that failed is sent again alone (and from then on goes alone), unanswered,
    # so each action may spend one injected fault without an answer. Hence at most
    # (not exactly) 2 answers for busy and failing, at least one for busy (its 6
    # skips outlast one wasted and 3 alone), and broken's 10 resends and final
    # failure exactly.
    by_ticket = {t: sorted(e for e in errors if e[0] == t) for t in (busy, failing, broken)}
    assert by_ticket[busy] in ([(busy, "accept", "UNAVAILABLE", True)] * k for k in (1, 2)), errors
    assert by_ticket[failing] in ([(failing, "accept", "INTERNAL", True)] * k for k in (0, 1, 2)), errors
    assert by_ticket[broken] == sorted([(broken, "accept", "INTERNAL", True)] * 10 +
                                       [(broken, "accept", "INTERNAL", False)]), errors
    assert len(errors) == sum(len(x) for x in by_ticket.values()), errors
    resends = len(errors) - 1
    waits = [e["resend_in_ms"] for e in events if e["event"] == "error" and e["ticket_no"] == broken
             and "resend_in_ms" in e]
    assert 40 <= waits[0] <= 60 and 1600 <= waits[-1] <= 2400, waits  # 50 ms doubling to 2 s, +-20%
    summary = events[-1]
    assert (summary["actions_ok"], summary["actions_failed"], summary["resent"],
            summary["actions_sent"], summary["pending_actions"]) == \
        (2 * (n - 1), 1, resends, n + resends + (n - 1), 0), summary
    assert states_of(db, tickets) == {"REPLIED": n - 1, "DISPATCHED": 1}
    assert state_of(db, broken) == "DISPATCHED"


class ServerEnd(BinaryClient):
    """The server's end of an accepted connection, for a daemon played by the test."""

    def __init__(self, sock):  # not super().__init__(), which connects
        self.sock = sock
        self.buf = bytearray()
        self.eof = False


@pytest.mark.parametrize("window, action_window, bound", [(10, 4, 4), (3, 0, 3)])
def test_never_more_actions_unanswered_than_the_window(binaries, window, action_window, bound):
    """Against a server played by the test, which answers only when it chooses:
    hotline-dept --auto accept on 30 tickets has exactly `bound` accepts unanswered,
    and sends one more per answer. A server that announces no action_window (older
    than it) gets at most `window`: the number of actions such a server held before
    refusing more."""
    n = 30
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        proc = subprocess.Popen([str(binaries.dept), "--port", str(listener.getsockname()[1]),
                                 "--dept", "fake", "--token", "fake-secret", "--auto", "accept",
                                 "--count", str(n), "--quiet", "--timeout", "20"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            sock, _ = listener.accept()
            server = ServerEnd(sock)
            hello = server.read_frame(10).hello
            assert (hello.role, hello.id) == (pb().ROLE_DEPARTMENT, "fake")
            server.send_frame(pb().Frame(welcome=pb().Welcome(
                version=1, server="fake/0", max_frame=65536, window=window, action_window=action_window)))
            server.send_raw(b"".join(encode_frame(pb().Frame(ticket=pb().Ticket(
                ticket_no=f"F-{i:04d}", content="x", state=pb().TICKET_STATE_DISPATCHED)))
                for i in range(n)))
            sent = []

            def read_actions(until_count, quiet_s):
                """Reads frames until until_count actions came, then quiet_s more."""
                deadline = time.monotonic() + 10
                settle = None
                while True:
                    now = time.monotonic()
                    if len(sent) >= until_count and settle is None:
                        settle = now + quiet_s
                    end = settle if settle is not None else deadline
                    if now >= end:
                        return
                    try:
                        frame = server.read_frame(end - now)
                    except Timeout:
                        continue
                    except Closed:  # done: every ticket taken and every action answered
                        return
                    if frame.WhichOneof("msg") == "dept_action":
                        sent.append(frame.dept_action)

            read_actions(bound, 0.5)
            assert len(sent) == bound
            for answered in range(1, n + 1):
                action = sent[answered - 1]
                assert action.WhichOneof("action") == "accept"
                server.send_frame(pb().Frame(action_ack=pb().ActionAck(
                    ticket_no=action.ticket_no, ok=True, state=pb().TICKET_STATE_ACCEPTED)))
                read_actions(min(n, answered + bound), 0.02)
                assert len(sent) == min(n, answered + bound)
            rc, events, err = finish_dept(proc, 20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert rc == 0, err
    assert events[0]["event"] == "welcome" and events[0]["action_window"] == action_window
    assert sorted(a.ticket_no for a in sent) == [f"F-{i:04d}" for i in range(n)]
    summary = events[-1]
    assert (summary["actions_ok"], summary["actions_failed"], summary["resent"]) == (n, 0, 0), summary
