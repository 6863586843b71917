"""hotline-agent's commands on the HTTP API (docs/http-api.md), run as a person would
run them, against a real hotlined, PostgreSQL and Redis: every command's readable
output and its --json, the token from $HOTLINE_TOKEN and from a file (and a file
others may read refused), the API's refusals (401, 403, 404, 409) with their exit
status and message, usage errors (exit 2); then the HTTP client itself against small
servers of the test's own: chunked and close-delimited answers, a silent server, an
answer past the size bound, and the knowledge-base search's request and output.

Rules: an empty rule set is in force for the module, so tickets taken by agents wait on
the desk (PENDING_DISPATCH). Desks with departments of their own: test_http_desk.Desk.
The binary-port mode of hotline-agent is test_callbacks.py's.
"""

import json
import os
import re
import socket
import stat
import subprocess
import threading
import time
import unicodedata
import uuid

import pytest

from http_helpers import Api
from routing_helpers import load_rules, new_phone, routing_overrides, wait_until
from test_http import people  # noqa: F401  (a fixture: an agent and a supervisor)
from test_http_desk import Desk

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
EXIT_FAILED, EXIT_USAGE, EXIT_CONFLICT, EXIT_NO_TASK = 1, 2, 3, 4


@pytest.fixture(scope="module", autouse=True)
def empty_rules(binaries, redis_server, db, rds, tmp_path_factory):
    load_rules(binaries, redis_server, db, rds, tmp_path_factory.mktemp("rules") / "empty.rules", "")


def run_agent(binaries, port, *args, token=None, token_file=None, timeout=60):
    """Runs build/tools/hotline-agent --http 127.0.0.1:PORT ARGS; returns CompletedProcess.
    token goes into $HOTLINE_TOKEN, token_file into --token-file."""
    exe = binaries.build / "tools" / "hotline-agent"
    env = {k: v for k, v in os.environ.items() if k not in ("HOTLINE_TOKEN", "HOTLINE_AGENT_TOKEN")}
    if token is not None:
        env["HOTLINE_TOKEN"] = token
    cmd = [str(exe), "--http", f"127.0.0.1:{port}", *(a if isinstance(a, bytes) else str(a) for a in args)]
    if token_file is not None:
        cmd += ["--token-file", str(token_file)]
    r = subprocess.run(
        cmd, capture_output=True, text=True, errors="replace", timeout=timeout, env=env,
        stdin=subprocess.DEVNULL,
    )
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, r.stderr
    return r


def expect_api_error(r, status, code, exit_code=EXIT_FAILED):
    """The one way an API error is shown: nothing on stdout, one line on stderr."""
    assert r.returncode == exit_code, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""
    assert re.fullmatch(rf"hotline-agent: {status} {code}: \S.*\n", r.stderr), r.stderr


def expect_usage(r, *words):
    assert r.returncode == EXIT_USAGE, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr.startswith("hotline-agent: "), r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)


def fields(text):
    """The "key  value" lines before the first blank line, as a dict."""
    out = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(" ")
        out[key] = value.strip()
    return out


def cells(line):
    """A line as display cells: a wide character takes two (the second None)."""
    out = []
    for ch in line:
        if unicodedata.combining(ch):
            continue
        out.append(ch)
        if unicodedata.east_asian_width(ch) in "WF":
            out.append(None)
    return out


def table(text, first_header):
    """The table starting at the line beginning with first_header: its rows as dicts,
    after checking that every column starts at the same display column on every
    line (two blanks before it, text at it)."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(first_header))
    head = lines[start]
    names = head.split()
    starts = [len(cells(head[: head.index(n)])) for n in names]
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        c = cells(line)
        for s in starts[1:]:
            assert len(c) > s and c[s - 1] == " " and c[s - 2] == " " and c[s] != " ", (
                f"column at {s} not aligned in:\n{head}\n{line}"
            )
        bounds = starts + [len(c)]
        row = {}
        for i, n in enumerate(names):
            row[n] = "".join(ch for ch in c[bounds[i] : bounds[i + 1]] if ch is not None).strip()
        rows.append(row)
    return rows


@pytest.fixture
def daemon(start_hotlined):
    return start_hotlined(routing_overrides())


def write_token(path, token, mode=0o600, ending="\n"):
    path.write_text(token + ending)
    os.chmod(path, mode)
    return path


# ------------------------------------------------------------------ the token


def test_me_with_the_token_from_env_or_a_file(daemon, people, binaries, tmp_path):
    port = daemon.http_port
    r = run_agent(binaries, port, "me", token=people.agent)
    assert (r.returncode, r.stderr) == (0, "")
    assert fields(r.stdout) == {"name": people.agent_name, "role": "agent"}
    r = run_agent(binaries, port, "--json", "me", token=people.supervisor)
    assert r.returncode == 0 and r.stdout.count("\n") == 1
    assert json.loads(r.stdout) == {"name": people.supervisor_name, "role": "supervisor"}
    # a file of the owner's alone; its line break (LF or CRLF) is not part of the token
    path = write_token(tmp_path / "agent.token", people.agent)
    assert json.loads(run_agent(binaries, port, "me", "--json", token_file=path).stdout)["name"] == people.agent_name
    crlf = write_token(tmp_path / "crlf.token", people.agent, ending="\r\n")
    assert run_agent(binaries, port, "me", token_file=crlf).returncode == 0
    # the file named on the command line wins over the environment
    r = run_agent(binaries, port, "me", token=people.supervisor, token_file=path)
    assert fields(r.stdout)["name"] == people.agent_name
    # a file group or others may use is refused, like ssh refuses such a key
    for mode in (0o644, 0o640, 0o604, 0o601):
        os.chmod(path, mode)
        r = run_agent(binaries, port, "me", token_file=path)
        expect_usage(r, str(path), f"{stat.S_IMODE(mode):04o}", "chmod 600")
        assert people.agent not in r.stderr
    os.chmod(path, 0o400)
    assert run_agent(binaries, port, "me", token_file=path).returncode == 0
    expect_usage(run_agent(binaries, port, "me", token_file=tmp_path / "missing"), "cannot open")
    expect_usage(run_agent(binaries, port, "me", token_file=tmp_path), "not a regular file")
    two = write_token(tmp_path / "two.token", people.agent + " " + people.supervisor)
    expect_usage(run_agent(binaries, port, "me", token_file=two), "one token")
    expect_usage(run_agent(binaries, port, "me"), "no token", "HOTLINE_TOKEN")
    expect_usage(run_agent(binaries, port, "me", token="a b"), "HOTLINE_TOKEN")


def test_wrong_token_is_401(daemon, people, binaries, tmp_path):
    user_id, secret = people.agent[len("hl1.") :].split(".", 1)
    for bad in (f"hl1.{user_id}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}", "hl1.999999.x", "nonsense"):
        r = run_agent(binaries, daemon.http_port, "me", token=bad)
        expect_api_error(r, 401, "unauthenticated")
        assert bad not in r.stderr
    r = run_agent(binaries, daemon.http_port, "--json", "show", "20990101-00000001", token="hl1.1.x")
    expect_api_error(r, 401, "unauthenticated")


# ------------------------------------------------------------------ tickets


def test_create_and_show(daemon, people, binaries, db):
    port = daemon.http_port
    phone = new_phone()
    r = run_agent(
        binaries, port, "create", "--content", "小区垃圾清运不及时，已经三天没人收了", "--phone", phone,
        "--name", "王女士", "--category", "sanitation", "--district", "崇川区", "--address", "人民路 1 号",
        "--priority", "urgent", token=people.agent,
    )
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    created = fields(r.stdout)
    no = created["ticket_no"]
    assert (created["state"], created["duplicate"]) == ("PENDING_DISPATCH", "no")
    # no --external-id: a random one, shown, and the one stored
    assert re.fullmatch(r"cli-[0-9a-f]{24}", created["external_id"])
    row = db.ticket(no)
    assert (row["feed_code"], row["external_id"], row["caller_phone"]) == ("agents", created["external_id"], phone)

    r = run_agent(binaries, port, "show", no, token=people.agent)
    assert r.returncode == 0, r.stderr
    shown = fields(r.stdout)
    assert (shown["ticket_no"], shown["state"], shown["feed"]) == (no, "PENDING_DISPATCH", "agents")
    assert (shown["content"], shown["caller_name"], shown["district"]) == (
        "小区垃圾清运不及时，已经三天没人收了", "王女士", "崇川区"
    )
    assert (shown["priority"], shown["caller_phone"], shown["resolved_on_call"]) == ("urgent", phone, "no")
    assert "dispatched_at" not in shown  # null members are left out
    assert "audit trail (oldest first):" in r.stdout
    trail = table(r.stdout, "at ")
    assert [(e["event"], e["actor"]) for e in trail] == [
        ("INTAKE", f"user:{people.agent_name}"),
        ("ROUTE_NONE", "router"),
    ]
    assert trail[1]["state"] == "RECEIVED -> PENDING_DISPATCH"
    # --json: the API's document, as it came, on one line
    r = run_agent(binaries, port, "show", no, "--json", token=people.agent)
    assert r.stdout.count("\n") == 1
    assert json.loads(r.stdout) == Api(daemon, people.agent).get(f"/api/v1/tickets/{no}")[1]

    # the same external_id again: the same ticket
    ext = f"call-{uuid.uuid4().hex[:10]}"
    first = run_agent(binaries, port, "--json", "create", "--external-id", ext, "--content", "路灯不亮", token=people.agent)
    again = run_agent(binaries, port, "--json", "create", "--external-id", ext, "--content", "路灯不亮", token=people.agent)
    assert first.stderr == "" and again.stderr == ""
    first, again = json.loads(first.stdout), json.loads(again.stdout)
    assert (first["duplicate"], again["duplicate"], again["ticket_no"]) == (False, True, first["ticket_no"])
    # with --json and no --external-id, the one made up is said on stderr
    r = run_agent(binaries, port, "--json", "create", "--content", "噪音扰民", token=people.agent)
    made = re.fullmatch(r"hotline-agent: external_id (cli-[0-9a-f]{24})\n", r.stderr).group(1)
    assert db.ticket(json.loads(r.stdout)["ticket_no"])["external_id"] == made

    # resolved on the call: stored closed with the answer
    r = run_agent(
        binaries, port, "create", "--content", "社保卡丢了怎么办", "--resolved-on-call", "--answer",
        "可以在 APP 补办", token=people.agent,
    )
    assert fields(r.stdout)["state"] == "CLOSED", r.stdout + r.stderr
    closed = Api(daemon, people.agent).get(f"/api/v1/tickets/{fields(r.stdout)['ticket_no']}")[1]
    assert (closed["reply"], closed["resolved_on_call"], closed["channel"]) == ("可以在 APP 补办", True, "phone")


def test_create_and_show_refusals(daemon, people, binaries, db):
    port = daemon.http_port
    before = db.query("SELECT count(*) AS n FROM tickets WHERE feed_code = 'agents'")[0]["n"]
    for args, words in (
        (["create"], ["--content"]),
        (["create", "--content", "x", "--priority", "high"], ["normal, urgent or critical"]),
        (["create", "--content", "x", "--answer", "y"], ["--resolved-on-call"]),
        (["create", "--content", "x", "--resolved-on-call"], ["--answer"]),
        (["create", "--content", "x", "--colour", "red"], ["unknown option '--colour'"]),
        (["create", "--content"], ["--content needs a value"]),
        (["create", "--content", b"\xff"], ["--content must be valid UTF-8"]),
        (["show", b"\xff"], ["valid UTF-8"]),
        (["show"], ["show TICKET_NO"]),
        (["show", "a", "b"], ["unexpected argument 'b'"]),
        (["frobnicate"], ["unknown command 'frobnicate'"]),
        (["callback"], ["callback next"]),
        (["--timeout-ms", "0", "me"], ["--timeout-ms"]),
        (["--http", "nohost:99999", "me"], ["--http"]),
    ):
        expect_usage(run_agent(binaries, port, *args, token=people.agent), *words)
    # the daemon refuses what it must: a content past max_content is 400
    r = run_agent(binaries, port, "create", "--content", "x" * 9000, token=people.agent)
    expect_api_error(r, 400, "invalid")
    assert db.query("SELECT count(*) AS n FROM tickets WHERE feed_code = 'agents'")[0]["n"] == before
    expect_api_error(run_agent(binaries, port, "show", "20990101-00000001", token=people.agent), 404, "not_found")
    # a ticket number is one path segment whatever it holds
    expect_api_error(run_agent(binaries, port, "show", "../me", token=people.agent), 404, "not_found")


def test_history_paged_with_an_escaped_phone(daemon, people, binaries, db):
    port = daemon.http_port
    phone = f"+86 {new_phone()}"
    made = []
    for i in range(3):
        r = run_agent(binaries, port, "--json", "create", "--content", f"第{i}次来电", "--phone", phone, token=people.agent)
        made.append(json.loads(r.stdout)["ticket_no"])
        time.sleep(0.01)
    r = run_agent(binaries, port, "history", phone, "--limit", "2", token=people.agent)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == f"caller {phone}: tickets 1-2, newest first (more: --offset 2)"
    rows = table(r.stdout, "ticket_no")
    assert [x["ticket_no"] for x in rows] == made[::-1][:2]
    assert [x["content"] for x in rows] == ["第2次来电", "第1次来电"]
    r = run_agent(binaries, port, "--json", "history", phone, "--offset", "2", token=people.agent)
    page = json.loads(r.stdout)
    assert (page["caller_phone"], page["more"], [t["ticket_no"] for t in page["tickets"]]) == (phone, False, made[:1])
    r = run_agent(binaries, port, "history", new_phone(), token=people.agent)
    assert r.returncode == 0 and r.stdout.endswith(": no tickets\n")
    lookups = db.query("SELECT user_name, shown FROM caller_lookups WHERE caller_phone = %s ORDER BY lookup_id", (phone,))
    assert [(x["user_name"], x["shown"]) for x in lookups] == [(people.agent_name, 2), (people.agent_name, 1)]
    for args in (["--limit", "0"], ["--limit", "101"], ["--offset", "-1"], ["--offset", "10001"]):
        expect_usage(run_agent(binaries, port, "history", phone, *args, token=people.agent))


# ------------------------------------------------------------------ the desk


def test_desk_dispatch_and_close(start_hotlined, binaries, schema, db):
    d = Desk(start_hotlined, binaries, schema)
    try:
        port, agent, sup = d.daemon.http_port, d.agent.token, d.sup.token
        content = f"无人认领 路灯{uuid.uuid4().hex[:4]}"
        waiting = [d.pending_ticket(content=content, district="崇川区") for _ in range(3)]
        for no in waiting:
            wait_until(lambda: db.ticket(no)["state"] == "PENDING_DISPATCH", 10)
        r = run_agent(binaries, port, "desk", "--limit", "500", token=agent)
        assert r.returncode == 0, r.stderr
        rows = {x["ticket_no"]: x for x in table(r.stdout, "ticket_no")}
        for no in waiting:
            assert (rows[no]["state"], rows[no]["why"], rows[no]["returns"]) == ("PENDING_DISPATCH", "no_rule", "0")
            assert (rows[no]["district"], rows[no]["content"]) == ("崇川区", content)
        r = run_agent(binaries, port, "--json", "desk", "--limit", "500", token=agent)
        assert {t["ticket_no"] for t in json.loads(r.stdout)["tickets"]} >= set(waiting)
        expect_usage(run_agent(binaries, port, "desk", "--limit", "501", token=agent), "--limit")

        # dispatch: supervisors only; a department the configuration does not know is 400
        no = waiting[0]
        expect_api_error(run_agent(binaries, port, "dispatch", no, d.dept2, token=agent), 403, "forbidden")
        expect_api_error(run_agent(binaries, port, "dispatch", no, "nosuch", token=sup), 400, "invalid")
        expect_usage(run_agent(binaries, port, "dispatch", no, token=sup), "dispatch TICKET_NO DEPT")
        assert db.ticket(no)["state"] == "PENDING_DISPATCH"
        r = run_agent(binaries, port, "dispatch", no, d.dept2, "--note", "人工派单", token=sup)
        assert r.returncode == 0, r.stderr
        assert (fields(r.stdout)["state"], fields(r.stdout)["dept_code"]) == ("DISPATCHED", d.dept2)
        last = table(r.stdout, "at ")[-1]
        assert (last["event"], last["actor"], last["detail"]) == ("MANUAL_DISPATCH", f"user:{d.sup_name}", "人工派单")
        d.dept2_conn.ticket(no, timeout=15)
        # again: someone acted first, exit 3
        expect_api_error(run_agent(binaries, port, "dispatch", no, d.dept, token=sup), 409, "conflict", EXIT_CONFLICT)
        expect_api_error(
            run_agent(binaries, port, "dispatch", "20990101-00000001", d.dept, token=sup), 404, "not_found"
        )

        # close: junk, then a duplicate of the ticket just dispatched
        junk, dup = waiting[1], waiting[2]
        expect_usage(run_agent(binaries, port, "close", junk, token=sup), "--reason")
        expect_api_error(run_agent(binaries, port, "close", junk, "--reason", "测试来电", token=agent), 403, "forbidden")
        r = run_agent(binaries, port, "--json", "close", junk, "--reason", "测试来电", token=sup)
        closed = json.loads(r.stdout)
        assert (closed["state"], closed["reply"], closed["events"][-1]["kind"]) == ("CLOSED", "测试来电", "DESK_CLOSE")
        expect_api_error(
            run_agent(binaries, port, "close", junk, "--reason", "again", token=sup), 409, "conflict", EXIT_CONFLICT
        )
        r = run_agent(binaries, port, "close", dup, "--reason", "同一问题重复来电", "--duplicate-of", no, token=sup)
        assert (fields(r.stdout)["state"], fields(r.stdout)["parent_ticket_no"]) == ("LINKED", no), r.stderr
    finally:
        d.close()


def test_rule_on_escalated_tickets(start_hotlined, binaries, schema, db):
    d = Desk(start_hotlined, binaries, schema, max_returns=1)
    try:
        port, sup = d.daemon.http_port, d.sup.token
        first, second = d.escalated_ticket(1), d.escalated_ticket(1)
        for no in (first, second):
            wait_until(lambda: db.ticket(no)["state"] == "ESCALATED", 10)
        r = run_agent(binaries, port, "desk", "--limit", "500", token=sup)
        row = {x["ticket_no"]: x for x in table(r.stdout, "ticket_no")}[first]
        assert (row["state"], row["why"], row["returns"]) == ("ESCALATED", "returned", "1")
        assert row["last_return"] == f"{d.dept}: 不属于本单位职责"

        for args, words in (
            (["rule", first, "dispatch", "--reason", "x"], ["needs the department"]),
            (["rule", first, "close", d.dept2, "--reason", "x"], ["takes no department"]),
            (["rule", first, "maybe", "--reason", "x"], ["dispatch DEPT or close"]),
            (["rule", first, "close"], ["--reason"]),
        ):
            expect_usage(run_agent(binaries, port, *args, token=sup), *words)
        expect_api_error(
            run_agent(binaries, port, "rule", first, "close", "--reason", "x", token=d.agent.token), 403, "forbidden"
        )
        r = run_agent(binaries, port, "rule", first, "dispatch", d.dept2, "--reason", "属于你单位职责", token=sup)
        assert r.returncode == 0, r.stderr
        shown = fields(r.stdout)
        assert (shown["state"], shown["dept_code"], shown["ruled"]) == ("DISPATCHED", d.dept2, "yes")
        assert table(r.stdout, "at ")[-1]["event"] == "RULING_DISPATCH"
        r = run_agent(binaries, port, "--json", "rule", second, "close", "--reason", "不属于政府职能", token=sup)
        assert json.loads(r.stdout)["state"] == "CLOSED"
        expect_api_error(
            run_agent(binaries, port, "rule", second, "close", "--reason", "x", token=sup), 409, "conflict", EXIT_CONFLICT
        )
    finally:
        d.close()


# ------------------------------------------------------------------ callbacks


def test_callback_next_and_done(start_hotlined, binaries, schema, db, rds):
    # only this test's callbacks are in the queue
    [row] = db.query("SELECT epoch FROM bus_epoch")
    if row["epoch"]:
        rds.set("hotline:epoch", row["epoch"], nx=True)
    db.query("DELETE FROM outbox WHERE kind = 'callback'")
    rds.delete("hotline:callbacks")
    d = Desk(start_hotlined, binaries, schema)
    try:
        port, agent = d.daemon.http_port, d.agent.token
        r = run_agent(binaries, port, "callback", "next", token=agent)
        assert (r.returncode, r.stdout, r.stderr) == (EXIT_NO_TASK, "no callback is waiting\n", "")
        r = run_agent(binaries, port, "--json", "callback", "next", token=agent)
        assert (r.returncode, r.stdout) == (EXIT_NO_TASK, "")

        no = d.routed_ticket()
        assert d.dept_conn.accept(no).action_ack.ok
        assert d.dept_conn.reply(no, "已派人维修").action_ack.ok
        deadline = time.monotonic() + 20
        while True:
            r = run_agent(binaries, port, "callback", "next", token=agent)
            if r.returncode == 0:
                break
            assert r.returncode == EXIT_NO_TASK, r.stderr
            assert time.monotonic() < deadline, "no callback handed out"
            time.sleep(0.3)
        task = fields(r.stdout)
        assert (task["ticket_no"], task["reply"], task["attempt"], task["dept_code"]) == (no, "已派人维修", "1", d.dept)
        assert re.fullmatch(r"1[0-9]{10}", task["caller_phone"])  # agents see the number they ring

        expect_usage(run_agent(binaries, port, "callback", "done", no, "happy", token=agent), "unreachable")
        expect_usage(run_agent(binaries, port, "callback", "done", no, token=agent))
        # another account does not hold it
        expect_api_error(
            run_agent(binaries, port, "callback", "done", no, "satisfied", token=d.sup.token), 404, "not_found"
        )
        r = run_agent(binaries, port, "callback", "done", no, "basic", "--note", "基本满意", token=agent)
        assert r.returncode == 0, r.stderr
        assert fields(r.stdout) == {"ticket_no": no, "state": "CLOSED"}
        row = db.query("SELECT state, rating FROM tickets WHERE ticket_no = %s", (no,))[0]
        assert (row["state"], row["rating"]) == ("CLOSED", "BASICALLY_SATISFIED")
        expect_api_error(run_agent(binaries, port, "callback", "done", no, "satisfied", token=agent), 404, "not_found")
    finally:
        d.close()


# ------------------------------------------------------------------ the knowledge base


def test_kb_search_against_hotlined(daemon, people, binaries, schema, tmp_path):
    """Needs GET /api/v1/kb and `hotlinectl kb import` (the knowledge-base work)."""
    tag = uuid.uuid4().hex[:6]
    csv = tmp_path / "kb.csv"
    csv.write_text(
        "id,question,answer,category,department,updated\n"
        f"T{tag}-1,鹦鹉螺小区垃圾清运不及时怎么办？,\"请说明小区名称和垃圾点位置，\n工单派至属地城管部门。\",环卫,chengguan,2026-03-02\n"
        f"T{tag}-2,鹦鹉螺小区垃圾分类分哪几类？,可回收物、有害垃圾、厨余垃圾和其他垃圾。,环卫,chengguan,2026-01-08\n"
        f"T{tag}-3,停水了怎么查询？,拨打供水热线。,供水,water,2026-02-01\n",
        encoding="utf-8",
    )
    r = subprocess.run(
        [str(binaries.hotlinectl), "--dsn", schema, "kb", "import", str(csv)],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, f"hotlinectl kb import: {r.stdout}{r.stderr}"
    port = daemon.http_port
    r = run_agent(binaries, port, "kb", "鹦鹉螺 垃圾清运", "--limit", "5", token=people.agent)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"[1] T{tag}-1  score "), r.stdout
    assert "    Q:  鹦鹉螺小区垃圾清运不及时怎么办？\n" in r.stdout
    # a line break in an answer goes on indented under it
    assert "    A:  请说明小区名称和垃圾点位置，\n        工单派至属地城管部门。\n" in r.stdout
    r = run_agent(binaries, port, "--json", "kb", "鹦鹉螺", token=people.agent)
    doc = json.loads(r.stdout)
    assert doc["query"] == "鹦鹉螺"
    assert {e["id"] for e in doc["entries"]} == {f"T{tag}-1", f"T{tag}-2"}
    # the words of TEXT are one search
    r = run_agent(binaries, port, "--json", "kb", "停水", "查询", token=people.agent)
    assert json.loads(r.stdout)["query"] == "停水 查询"
    expect_usage(run_agent(binaries, port, "kb", token=people.agent), "kb")
    expect_usage(run_agent(binaries, port, "kb", "x" * 201, token=people.agent), "1..200 bytes")
    expect_usage(run_agent(binaries, port, "kb", "--limit", "51", "垃圾", token=people.agent), "--limit")


# ------------------------------------------------------------------ the client itself


class FakeServer:
    """A loopback server answering each connection with answer(request bytes) -> bytes
    (None: say nothing and hold the connection), then closing. Keeps the requests."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length: *(\d+)", head)
            while length and len(body) < int(length.group(1)):
                body += conn.recv(65536)
            self.requests.append((head.decode("utf-8", "replace"), body))
            reply = self.answer(head + b"\r\n\r\n" + body)
            if reply is None:
                self.held.append(conn)
                continue
            try:
                conn.sendall(reply)
            except OSError:
                pass
            conn.close()

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


def answer_bytes(status, body):
    return b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        status.encode(), len(body), body)


@pytest.fixture
def fake_server(request):
    """Factory: fake_server(answer) -> a running FakeServer, closed after the test."""

    def make(answer):
        server = FakeServer(answer)
        request.addfinalizer(server.close)
        return server

    return make


def test_client_reads_chunked_and_close_delimited_answers(fake_server, binaries):
    doc = {"name": "李", "role": "agent"}
    body = json.dumps(doc, ensure_ascii=False, indent=1).encode()  # line breaks inside
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7]) for i in range(0, len(body), 7)
    ) + b"0\r\n\r\n"
    for answer in (chunked, b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + body):
        server = fake_server(lambda req, a=answer: a)
        r = run_agent(binaries, server.port, "me", token="hl1.7.secret")
        assert (r.returncode, fields(r.stdout)) == (0, {"name": "李", "role": "agent"}), r.stderr
        r = run_agent(binaries, server.port, "--json", "me", token="hl1.7.secret")
        assert r.stdout.count("\n") == 1 and json.loads(r.stdout) == doc
        head, _ = server.requests[0]
        assert head.startswith("GET /api/v1/me HTTP/1.1\r\n")
        assert "\r\nAuthorization: Bearer hl1.7.secret\r\n" in head + "\r\n"
        assert f"\r\nHost: 127.0.0.1:{server.port}" in head


def test_client_sends_json_bodies_and_reads_errors(fake_server, binaries):
    error = '{"error":{"code":"conflict","message":"已派单\\u001b[2J"}}'.encode()
    server = fake_server(lambda req: answer_bytes("409 Conflict", error))
    r = run_agent(binaries, server.port, "dispatch", "2026-1/2", "water", "--note", "人工 派单", token="hl1.1.x")
    assert r.returncode == EXIT_CONFLICT
    # the server's control characters never reach the terminal
    assert r.stderr == "hotline-agent: 409 conflict: 已派单?[2J\n"
    head, body = server.requests[0]
    assert head.startswith("POST /api/v1/tickets/2026-1%2F2/dispatch HTTP/1.1\r\n")
    assert "Content-Type: application/json" in head and f"Content-Length: {len(body)}" in head
    assert json.loads(body) == {"dept_code": "water", "note": "人工 派单"}
    # an error that is no error document: the status line says it
    server = fake_server(lambda req: answer_bytes("502 Bad Gateway", b"oops!"))
    r = run_agent(binaries, server.port, "me", token="hl1.1.x")
    assert (r.returncode, r.stderr) == (EXIT_FAILED, "hotline-agent: 502 Bad Gateway (the answer holds no error document)\n")
    # a 200 that is not JSON
    server = fake_server(lambda req: answer_bytes("200 OK", b"nope"))
    r = run_agent(binaries, server.port, "me", token="hl1.1.x")
    assert r.returncode == EXIT_FAILED and "not a JSON object" in r.stderr and r.stdout == ""


def test_client_gives_up_on_a_silent_server_and_a_huge_answer(fake_server, binaries):
    server = fake_server(lambda req: None)
    t0 = time.monotonic()
    r = run_agent(binaries, server.port, "--timeout-ms", "700", "me", token="hl1.1.x")
    elapsed = time.monotonic() - t0
    assert r.returncode == EXIT_FAILED and r.stdout == ""
    assert r.stderr == f"hotline-agent: no answer from 127.0.0.1:{server.port} within 700 ms\n"
    assert 0.6 < elapsed < 5, elapsed
    # past 16 MiB the answer is refused before its body is read
    server = fake_server(lambda req: b"HTTP/1.1 200 OK\r\nContent-Length: 16777217\r\n\r\n{")
    r = run_agent(binaries, server.port, "me", token="hl1.1.x")
    assert r.returncode == EXIT_FAILED and "larger than 16777216" in r.stderr
    big = b"[" + b"1," * (8 * 1024 * 1024) + b"1]"
    server = fake_server(lambda req: b"HTTP/1.1 200 OK\r\n\r\n" + big)
    r = run_agent(binaries, server.port, "me", token="hl1.1.x")
    assert r.returncode == EXIT_FAILED and "larger than 16777216" in r.stderr
    # nobody listening: a port bound but not listening refuses connections
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        r = run_agent(binaries, bound.getsockname()[1], "me", token="hl1.1.x")
    assert r.returncode == EXIT_FAILED and "cannot connect" in r.stderr and "refused" in r.stderr


def test_kb_request_and_output(fake_server, binaries):
    """The KB search as docs/http-api.md has it: q percent-encoded UTF-8, limit, the
    entries printed with their whole answers (and their widths right)."""
    entries = [
        {"id": "KB-0012", "question": "垃圾清运不及时怎么办？", "answer": "第一行\n第二行", "category": "环卫",
         "department": "sanitation", "updated": "2026-03-01", "score": 0.83},
        {"id": "KB-0013", "question": "Q2", "answer": "A2", "category": None, "department": None,
         "updated": "2026-01-01", "score": 0.25},
    ]
    answer = json.dumps({"query": "垃圾 清运&x", "entries": entries}, ensure_ascii=False).encode()
    server = fake_server(lambda req: answer_bytes("200 OK", answer))
    r = run_agent(binaries, server.port, "kb", "--limit", "7", "垃圾", "清运&x", token="hl1.1.x")
    assert r.returncode == 0, r.stderr
    head, _ = server.requests[0]
    assert head.startswith("GET /api/v1/kb?q=%E5%9E%83%E5%9C%BE%20%E6%B8%85%E8%BF%90%26x&limit=7 HTTP/1.1\r\n"), head
    assert r.stdout == (
        "[1] KB-0012  score 0.83  环卫  sanitation  2026-03-01\n"
        "    Q:  垃圾清运不及时怎么办？\n"
        "    A:  第一行\n"
        "        第二行\n"
        "\n"
        "[2] KB-0013  score 0.25  2026-01-01\n"
        "    Q:  Q2\n"
        "    A:  A2\n"
    )
    empty = b'{"query": "zz", "entries": []}'
    server = fake_server(lambda req: answer_bytes("200 OK", empty))
    r = run_agent(binaries, server.port, "kb", "zz", token="hl1.1.x")
    assert (r.returncode, r.stdout) == (0, "no entry matches 'zz'\n")


def test_help(binaries):
    exe = str(binaries.build / "tools" / "hotline-agent")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    for command in ("me", "create", "show", "history", "kb", "desk", "dispatch", "rule", "close", "callback next", "callback done"):
        assert f"\n  {command}" in r.stdout, command
    assert "--id AGENT_ID" in r.stdout  # the binary terminal is still there
    for command in (["show"], ["create"], ["callback", "done"], ["callback"], ["kb"]):
        r = subprocess.run([exe, *command, "--help"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stdout.startswith("usage: hotline-agent [OPTIONS] "), (command, r.stdout)
        assert "Exit status" in r.stdout
    r = subprocess.run([exe, "create", "--help"], capture_output=True, text=True, timeout=30)
    assert "--resolved-on-call" in r.stdout and "POST /api/v1/tickets" in r.stdout
