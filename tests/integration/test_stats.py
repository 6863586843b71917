"""hotline-stats against a real hotlined, PostgreSQL and Redis: the rollup the daemon
keeps in the transactions that write the events, and the tool that reads it.

- A ticket received in one period and closed in the next: each period's
  reconciliation (carried over + received = closed + still open) balances, and so
  does the two together.
- A rollup row corrupted by hand: `check` names the day, the dimensions and the
  column, and exits 1; `report` no longer balances (exit 1); `rebuild` repairs it.
- A randomized history over three days (intake, routing to the manual desk,
  direct resolution, repeat complaints, accepts, returns, escalation, extensions,
  replies, callbacks of every outcome, overdue and due-soon marks, and the desk's
  moves over HTTP: dispatches, rulings, junk closed, duplicates joined to their
  original): the report from the rollup and the report recomputed from the audit
  trail are equal, for every grouping; `check` finds nothing.
- The HTML report opened in headless Chromium: a screenshot is taken, and its
  charts have the bars they should (one per day, one per department).
- `live` shows what is open, per department, and each daemon's own /healthz.
- `check`, `rebuild` and `report --compare-previous` in CSV and JSON too.

Isolation: the module has a database and a Redis of its own (on the session's
PostgreSQL cluster), so its reports cover exactly its tickets; daemons run on fixed
clocks (HOTLINED_CLOCK_START), one after the other, a day apart.
"""

import json
import os
import random
import shutil
import subprocess
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path

import psycopg
import pytest

import hotline_client as hc
from conftest import Daemon, Db, RedisServer, SANITIZER_MARKS, free_ports, run
from http_helpers import Api, add_user
from routing_helpers import DeptClient, FeedClient, load_rules, new_code, new_phone, redis_client, wait_until
from test_callbacks import AGENT_TOKEN, AgentClient

DAY1, DAY2, DAY3 = "2026-03-10", "2026-03-11", "2026-03-12"


def pb():
    return hc.pb


def clock(day, hour="09:00:00"):
    return f"{day}T{hour}+08:00"


class Env:
    """The module's database, Redis and daemons (one at a time)."""

    def __init__(self, binaries, pg, tmp):
        self.binaries = binaries
        self.tmp = tmp
        name = "stats_" + uuid.uuid4().hex[:8]
        with psycopg.connect(pg.conninfo, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        self.dsn = pg.conninfo.replace("dbname=hotline", f"dbname={name}")
        assert self.dsn != pg.conninfo, pg.conninfo
        r = run([binaries.hotlinectl, "--dsn", self.dsn, "migrate"])
        assert r.returncode == 0, r.stderr
        self.db = Db(self.dsn)
        self.redis = RedisServer(tmp / "redis")
        self.redis.start()
        self.rds = redis_client(self.redis.address)
        self.stats_bin = binaries.build / "tools" / "hotline-stats"
        self.depts = ["sdwater", "sdpower"]
        self.feeds = {"sfwater": "sdwater", "sfpower": "sdpower"}
        self.desk_feed = "sfdesk"
        self.daemon = None
        self.n = 0
        self.sup_token = add_user(binaries, self.dsn, "stats-sup", "supervisor")
        self.desk_turn = 0
        load_rules(binaries, self.redis, self.db, self.rds, tmp / "empty.rules", "")

    def overrides(self):
        out = {
            "repeats": {"window_hours": 72},
            "routing": {"relay_interval_ms": 200, "max_returns": 2},
            "escalation": {"interval_ms": 200, "due_soon_ms": 7200000},
            "deadlines": {"default": "1h", "normal": "1h"},
            "callbacks": {"max_attempts": 2, "claim_timeout_ms": 1000},
        }
        for d in self.depts:
            out[f"dept.{d}"] = {"name": d, "token": f"{d}-dept-secret"}
        for f, d in self.feeds.items():
            out[f"feed.{f}"] = {"name": f, "token": f"{f}-feed-secret", "mode": "subcenter", "dept": d}
        out[f"feed.{self.desk_feed}"] = {"name": "desk", "token": f"{self.desk_feed}-feed-secret"}
        return out

    def start(self, at):
        self.stop()
        self.n += 1
        self.daemon = Daemon(self.binaries, self.tmp / f"hotlined{self.n}", self.dsn, self.redis.address,
                             self.overrides(), clock=at)
        self.daemon.start()
        return self.daemon

    def stop(self):
        if self.daemon is not None:
            rc = self.daemon.stop()
            text = self.daemon.log_text()
            assert rc == 0, self.daemon.log_tail()
            for mark in SANITIZER_MARKS:
                assert mark not in text, self.daemon.log_tail()
            self.daemon = None

    def stats(self, *args, check=None, env=None):
        e = dict(os.environ)
        e.update(env or {})
        r = subprocess.run([str(self.stats_bin), "--dsn", self.dsn, *map(str, args)], capture_output=True,
                           text=True, timeout=120, env=e)
        for mark in SANITIZER_MARKS:
            assert mark not in r.stderr, r.stderr
        if check is not None:
            assert r.returncode == check, f"hotline-stats {args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def report(self, frm, to, *more, check=0):
        r = self.stats("--format", "json", "report", "--from", frm, "--to", to, *more, check=check)
        return json.loads(r.stdout)

    def close(self):
        self.stop()
        self.rds.close()
        self.redis.destroy()
        self.db.close()


@pytest.fixture(scope="module")
def env(binaries, pg, schema, tmp_path_factory):
    e = Env(binaries, pg, tmp_path_factory.mktemp("stats"))
    yield e
    e.close()


def intake_fields(**over):
    fields = {
        "channel": "phone",
        "caller_phone": new_phone(),
        "caller_name": "王女士",
        "category": "complaint",
        "content": f"小区停水三天了 {uuid.uuid4().hex[:8]}",
        "district": "崇川区",
    }
    fields.update(over)
    return fields


def new_id():
    return "st-" + uuid.uuid4().hex[:16]


def ok(ack_frame):
    assert ack_frame.WhichOneof("msg") == "action_ack" and ack_frame.action_ack.ok, ack_frame
    return ack_frame.action_ack


def callback(agent, ticket_no, outcome):
    """Claims until ticket_no is handed out (others are let lapse) and records outcome."""
    deadline = time.monotonic() + 30
    while True:
        task = agent.task()
        if task.ticket_no == ticket_no:
            return ok(agent.result(ticket_no, outcome))
        assert time.monotonic() < deadline, f"callback for {ticket_no} never handed out"
        if not task.ticket_no:
            time.sleep(0.3)


def totals(report):
    return report["total"]["counts"]


def assert_balanced(report):
    rec = report["reconciliation"]
    assert rec["carried"] + rec["received"] == rec["closed"] + rec["open_end"], rec
    assert rec["balanced"] and rec["imbalance"] == 0, rec


# ------------------------------------------------------------------ tests


def test_help_and_usage(env):
    r = env.stats("--help", check=0)
    for word in ("live", "report", "check", "rebuild", "--compare-previous", "--html"):
        assert word in r.stdout
    assert env.stats("report", "--from", "2026-13-01", "--to", "2026-03-01").returncode == 2
    assert env.stats("nosuch").returncode == 2


def test_reconciliation_across_period_boundary(env):
    """Received on day 1, closed on day 2: both days and the two together balance."""
    d = env.start(clock(DAY1, "10:00:00"))
    feed = FeedClient(d, "sfwater")
    dept = DeptClient(d, "sdwater")
    desk = FeedClient(d, env.desk_feed)
    kept = feed.intake(new_id(), **intake_fields())
    dept.ticket(kept)
    dept.ack(kept)
    ok(dept.accept(kept))
    ok(dept.reply(kept, "已修复"))
    open_one = feed.intake(new_id(), **intake_fields(category="request"))
    desk.intake(new_id(), **intake_fields(category="consultation"))  # to the manual desk
    for c in (feed, dept, desk):
        c.close()

    d = env.start(clock(DAY2, "10:01:00"))
    agent = AgentClient(d, new_code("ag"))
    ack = callback(agent, kept, pb().CALLBACK_OUTCOME_SATISFIED)
    assert pb().TicketState.Name(ack.state) == "TICKET_STATE_CLOSED"
    agent.close()
    wait_until(lambda: env.db.query("SELECT count(*) AS n FROM tickets WHERE overdue_at IS NOT NULL")[0]["n"] == 1,
               10, message="the watcher's overdue mark")
    env.stop()

    day1, day2, both = env.report(DAY1, DAY1), env.report(DAY2, DAY2), env.report(DAY1, DAY2)
    for rep in (day1, day2, both):
        assert_balanced(rep)
    assert (day1["reconciliation"]["carried"], day1["reconciliation"]["received"],
            day1["reconciliation"]["closed"], day1["reconciliation"]["open_end"]) == (0, 3, 0, 3)
    assert (day2["reconciliation"]["carried"], day2["reconciliation"]["received"],
            day2["reconciliation"]["closed"], day2["reconciliation"]["open_end"]) == (3, 0, 1, 2)
    assert (both["reconciliation"]["carried"], both["reconciliation"]["closed"]) == (0, 1)
    # what each day counted, by the department the move is counted to
    by_dept = {g["key"]: g["counts"] for g in env.report(DAY1, DAY1, "--by", "dept")["groups"]}
    assert by_dept["sdwater"]["received"] == 2 and by_dept["sdwater"]["dispatched"] == 2
    assert by_dept["sdwater"]["accepted"] == 1 and by_dept["sdwater"]["replied"] == 1
    assert by_dept["sdwater"]["accepted_on_time"] == 1 and by_dept["sdwater"]["replied_on_time"] == 1
    assert by_dept[""]["pending"] == 1
    c2 = totals(day2)
    assert (c2["closed"], c2["satisfied"], c2["callback_calls"], c2["handled"]) == (1, 1, 1, 1)
    # received 10:00 on day 1, closed 10:01 and a little on day 2: the [1d, 2d) bucket
    assert c2["hist_2d"] == 1 and 86400 <= c2["handled_seconds"] < 86400 + 600
    assert day2["total"]["rates"]["satisfaction"]["value"] == 1.0
    # day 2's open tickets are day 1's, now overdue (deadline 1 h), marked once each
    assert c2["overdue"] == 1
    env.stats("check", check=0)
    text = env.stats("report", "--from", DAY1, "--to", DAY2, check=0).stdout
    assert "carried over 0 + received 3 = closed 1 + open at the end 2: balanced" in text


def test_corrupted_rollup_is_detected_and_rebuilt(env):
    """A count changed behind the daemon's back: check says where, report does not
    balance, rebuild repairs it from the audit trail."""
    env.db.query("UPDATE stats_daily SET closed = closed + 1 WHERE dim = '' AND day = %s"
                 " AND dept_code = 'sdwater'", (DAY2,))
    env.db.query("UPDATE stats_daily SET accepted = accepted - 1 WHERE dim = 'district' AND day = %s"
                 " AND dept_code = 'sdwater' AND value = '崇川区'", (DAY1,))
    r = env.stats("--format", "json", "check", check=1)
    found = json.loads(r.stdout)
    assert not found["matches"] and found["differences_count"] == 2, found
    assert {"day": DAY2, "dept_code": "sdwater", "dim": "", "value": "", "column": "closed", "rollup": 2,
            "audit_trail": 1} in found["differences"], found
    r = env.stats("--format", "csv", "check", check=1)
    assert r.stdout.splitlines()[0] == "day,dept_code,dim,value,column,rollup,audit_trail"
    assert f'{DAY1},sdwater,district,"崇川区",accepted,0,1' in r.stdout.splitlines(), r.stdout
    r = env.stats("check", check=1)
    assert f"{DAY2} dept=sdwater total: closed rollup 2, audit trail 1 (+1)" in r.stdout, r.stdout
    assert f"{DAY1} dept=sdwater district=崇川区: accepted rollup 0, audit trail 1 (-1)" in r.stdout, r.stdout
    assert "2 counts of the rollup differ from the audit trail" in r.stdout, r.stdout
    r = env.stats("report", "--from", DAY1, "--to", DAY2, check=1)
    assert "DOES NOT BALANCE by -1" in r.stdout, r.stdout
    r = env.stats("rebuild", check=0)
    assert "recomputed from the audit trail" in r.stdout
    r = env.stats("--format", "json", "check", check=0)
    assert json.loads(r.stdout)["matches"] is True
    r = env.stats("--format", "json", "rebuild", "--from", DAY1, "--to", DAY2, check=0)
    rebuilt = json.loads(r.stdout)
    assert rebuilt["deleted"] == rebuilt["inserted"] > 0, rebuilt
    env.stats("check", check=0)
    assert_balanced(env.report(DAY1, DAY2))


def random_history(env, rnd):
    """Three days of random moves through the daemon's own flows; returns the tickets."""
    tickets = {}  # ticket_no -> state we expect to know (only for choosing moves)
    for day in (DAY1, DAY2, DAY3):
        d = env.start(clock(day, "09:00:00"))
        feeds = {f: FeedClient(d, f) for f in env.feeds}
        desk = FeedClient(d, env.desk_feed)
        depts = {x: DeptClient(d, x) for x in env.depts}
        agent = AgentClient(d, new_code("ag"))
        # the department's pending deliveries (redelivered after a restart): ack them all
        time.sleep(0.5)
        for x, conn in depts.items():
            for t in conn.tickets_within(0.5):
                conn.ack(t.ticket_no)
        phones = [new_phone() for _ in range(3)]
        for i in range(10):
            kind = rnd.random()
            fields = intake_fields(channel=rnd.choice(["phone", "web", "app"]),
                                   category=rnd.choice(["complaint", "request", "consultation"]),
                                   district=rnd.choice(["崇川区", "通州区", ""]),
                                   caller_phone=rnd.choice(phones))
            if kind < 0.15:
                ack = agent.intake(new_id(), resolved_on_call=True, answer="已当场答复", **fields)
                assert ack.WhichOneof("msg") == "intake_ack", ack
                continue
            if kind < 0.3:
                no = desk.intake(new_id(), **fields)
                tickets[no] = (None, "desk")
                continue
            feed = rnd.choice(list(env.feeds))
            no = feeds[feed].intake(new_id(), **fields)
            tickets[no] = (env.feeds[feed], "new")
        desk_moves(env, d, rnd)
        rows = env.db.query("SELECT ticket_no, state, COALESCE(dept_code, '') AS dept, ruled, return_count"
                            " FROM tickets")
        state = {r["ticket_no"]: (r["state"], r["dept"], r["ruled"], r["return_count"]) for r in rows}
        for no in list(tickets):
            st, dept, ruled, returns = state[no]
            if not dept or st not in ("DISPATCHED", "ACCEPTED"):
                continue
            conn = depts[dept]
            move = rnd.random()
            # returned once and dispatched from the desk: often returned again (escalated)
            if st == "DISPATCHED" and move < (0.8 if returns else 0.15) and not ruled:
                ok(conn.return_ticket(no, "不属于本部门"))
            elif st == "DISPATCHED" and move < 0.9:
                ok(conn.accept(no))
                st = "ACCEPTED"
            if st == "ACCEPTED":
                m2 = rnd.random()
                if m2 < 0.2:
                    ok(conn.extend(no, d.now_ms() + 3 * 86400000, "需要协调"))
                elif m2 < 0.8:
                    ok(conn.reply(no, "已处理"))
        # callbacks of every outcome for what is replied now
        replied = [r["ticket_no"] for r in env.db.query("SELECT ticket_no FROM tickets WHERE state = 'REPLIED'")]
        outcomes = [pb().CALLBACK_OUTCOME_SATISFIED, pb().CALLBACK_OUTCOME_BASICALLY_SATISFIED, pb().CALLBACK_OUTCOME_UNSATISFIED,
                    pb().CALLBACK_OUTCOME_UNREACHABLE]
        deadline = time.monotonic() + 40
        left = set(replied)
        while left and time.monotonic() < deadline:
            task = agent.task()
            if not task.ticket_no:
                time.sleep(0.3)
                continue
            if task.ticket_no in left:
                ok(agent.result(task.ticket_no, rnd.choice(outcomes)))
                left.discard(task.ticket_no)
        time.sleep(1.0)  # the watcher's marks of this day
        for c in [*feeds.values(), desk, *depts.values(), agent]:
            c.close()
    env.stop()
    return tickets


def desk_moves(env, d, rnd):
    """A supervisor works the desk over HTTP: an escalated ticket is ruled (to a
    department or closed); a returned one is dispatched again; a new one is, in turn,
    closed as junk, joined to an open original as its duplicate, dispatched, or left
    (in turn, so that each happens even in a short history)."""
    sup = Api(d, env.sup_token)
    waiting = env.db.query("SELECT ticket_no, state, return_count FROM tickets"
                           " WHERE state IN ('PENDING_DISPATCH', 'ESCALATED') ORDER BY ticket_no")
    for row in waiting:
        no = row["ticket_no"]
        originals = [r["ticket_no"] for r in env.db.query(
            "SELECT ticket_no FROM tickets WHERE state IN ('DISPATCHED', 'ACCEPTED')"
            " AND parent_ticket_id IS NULL AND ticket_no <> %s", (no,))]
        dispatch = {"dept_code": rnd.choice(env.depts), "note": "人工派单"}
        if row["state"] == "ESCALATED":
            body = ({"decision": "dispatch", "dept_code": rnd.choice(env.depts), "reason": "属于你单位职责"}
                    if rnd.random() < 0.6 else {"decision": "close", "reason": "已向市民解释"})
            status, reply = sup.post(f"/api/v1/tickets/{no}/ruling", body)
        elif row["return_count"]:
            status, reply = sup.post(f"/api/v1/tickets/{no}/dispatch", dispatch)
        else:
            turn = env.desk_turn % 4
            env.desk_turn += 1
            if turn == 0:
                status, reply = sup.post(f"/api/v1/tickets/{no}/close", {"reason": "测试来电"})
            elif turn == 1 and originals:
                status, reply = sup.post(f"/api/v1/tickets/{no}/close",
                                         {"reason": "重复来电", "duplicate_of": rnd.choice(originals)})
            elif turn == 2:
                status, reply = sup.post(f"/api/v1/tickets/{no}/dispatch", dispatch)
            else:
                continue
        assert status == 200, (no, row["state"], reply)
    sup.close()


def test_rollup_and_audit_trail_reports_are_equal(env):
    rnd = random.Random(12345)
    random_history(env, rnd)
    env.stats("check", check=0)
    counts = totals(env.report(DAY1, DAY3))
    for name in ("received", "dispatched", "pending", "direct_closed", "linked", "accepted", "returned",
                 "escalated", "replied", "callback_calls", "closed", "overdue", "due_soon"):
        assert counts[name] > 0, (name, counts)
    # the desk's moves are in the history (counted like the rest: check found nothing)
    kinds = {r["kind"] for r in env.db.query("SELECT DISTINCT kind FROM ticket_events")}
    assert {"MANUAL_DISPATCH", "DESK_CLOSE", "DESK_DUPLICATE"} <= kinds, kinds
    assert kinds & {"RULING_DISPATCH", "RULING_CLOSE"}, kinds
    # the first test's daemon took tickets on day 1 at 10:00, this history's closes some
    # of them on day 1 from 09:00: a handling time never counts below 0
    assert env.db.query("SELECT count(*) AS n FROM tickets WHERE closed_at < created_at")[0]["n"] > 0
    assert env.db.query("SELECT min(handled_seconds) AS s FROM stats_daily")[0]["s"] >= 0
    for by in ("", "feed", "channel", "category", "dept", "district", "day", "month"):
        more = ("--by", by) if by else ()
        for frm, to in ((DAY1, DAY3), (DAY2, DAY2), (DAY1, DAY1)):
            a = env.report(frm, to, *more, "--compare-previous")
            b = env.report(frm, to, *more, "--compare-previous", "--source", "audit")
            assert a["source"] == "rollup" and b["source"] == "audit trail"
            for key in ("source", "query_ms"):
                a.pop(key), b.pop(key)
            assert a == b, (by, frm, to)
            assert_balanced(a)
    one = env.report(DAY1, DAY3, "--dept", "sdpower", "--by", "day")
    assert all(g["key"] in (DAY1, DAY2, DAY3) for g in one["groups"])
    r = env.stats("--format", "csv", "report", "--from", DAY1, "--to", DAY3, "--by", "dept", check=0)
    header = r.stdout.splitlines()[0].split(",")
    assert header[:3] == ["key", "received", "dispatched"] and "satisfaction" in header
    assert "reconciliation" in r.stderr and "balanced" in r.stderr
    r = env.stats("--format", "csv", "report", "--from", DAY2, "--to", DAY3, "--compare-previous", check=0)
    lines = r.stdout.splitlines()
    assert lines[-2].startswith('"(total)",') and lines[-1].startswith(f'"(previous 2026-03-09..{DAY1})",')
    previous = env.report(DAY2, DAY3, "--compare-previous")["previous"]["total"]["counts"]
    assert lines[-1].split(",")[1] == str(previous["received"])


class SvgBars(HTMLParser):
    def __init__(self):
        super().__init__()
        self.svg = None
        self.bars = {}
        self.external = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svg = a.get("id")
            self.bars.setdefault(self.svg, [])
        if tag == "rect" and a.get("class") == "bar":
            self.bars[self.svg].append((a.get("data-key"), float(a.get("data-value"))))
        for name in ("src", "href"):
            if name in a:
                self.external.append((tag, name, a[name]))
        if tag in ("script", "link", "iframe", "img"):
            self.external.append((tag,))

    def handle_endtag(self, tag):
        if tag == "svg":
            self.svg = None


def test_html_report_in_headless_chromium(env, tmp_path):
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.fail("chromium is missing: deploy/install-deps installs it")
    page = tmp_path / "report.html"
    env.stats("report", "--from", DAY1, "--to", DAY3, "--by", "dept", "--html", page, check=0)
    html = page.read_text(encoding="utf-8")
    assert "有效参评满意率" in html and "Noto Sans CJK SC" in html and 'charset="utf-8"' in html
    assert "@import" not in html and "url(" not in html
    parser = SvgBars()
    parser.feed(html)
    assert parser.external == []
    days = parser.bars["volume-per-day"]
    assert [k for k, _ in days] == [DAY1, DAY2, DAY3]
    rep = env.report(DAY1, DAY3, "--by", "day")
    assert [v for _, v in days] == [float(g["counts"]["received"]) for g in rep["groups"]]
    depts = sorted(k for k, _ in parser.bars["satisfaction-per-dept"])
    assert depts == sorted(env.depts)
    overdue = dict(parser.bars["overdue-per-dept"])
    by_dept = {g["key"]: g["counts"]["overdue"] for g in env.report(DAY1, DAY3, "--by", "dept")["groups"]}
    assert overdue == {k: float(v) for k, v in by_dept.items() if k}
    assert sum(overdue.values()) > 0
    assert "<table id=\"reconciliation\">" in html

    shot = tmp_path / "report.png"
    r = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'chromium'}", f"--screenshot={shot}", "--window-size=1280,2000",
         page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000, len(data)
    keep = os.environ.get("HOTLINE_STATS_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)


def test_live_board(env):
    rows = env.db.query(
        "SELECT dept_code, count(*) FILTER (WHERE state = 'DISPATCHED') AS waiting,"
        " count(*) FILTER (WHERE state = 'ACCEPTED') AS in_hand FROM tickets"
        " WHERE state IN ('DISPATCHED', 'ACCEPTED') GROUP BY 1")
    want = {r["dept_code"]: (r["waiting"], r["in_hand"]) for r in rows}
    desk = env.db.query("SELECT count(*) AS n FROM tickets WHERE state = 'PENDING_DISPATCH'")[0]["n"]
    now = {"HOTLINE_STATS_NOW": "2026-04-30T00:00:00+08:00"}
    r = env.stats("--redis", env.redis.address, "--format", "json", "live", check=0, env=now)
    board = json.loads(r.stdout)
    got = {d["dept_code"]: (d["waiting"], d["in_hand"]) for d in board["departments"]}
    assert got == want
    assert board["manual_desk"] == desk
    assert board["postgres"]["up"] and board["redis"]["up"]
    # every open ticket of the departments is past its deadline (1 h, or extended 3 days)
    assert sum(d["overdue"] for d in board["departments"]) == sum(w + h for w, h in want.values())
    r = env.stats("live", check=0, env=now)
    assert "manual desk (PENDING_DISPATCH)" in r.stdout and "PostgreSQL ok" in r.stdout


def test_live_asks_each_daemon(env):
    """Each daemon's /healthz on its operations listener: one up, one not there."""
    d = env.start(clock(DAY3, "18:00:00"))
    up = f"127.0.0.1:{d.ops_port}"
    (gone_port,) = free_ports(1)
    gone = f"127.0.0.1:{gone_port}"
    r = env.stats("--format", "json", "live", "--daemon", up, "--daemon", gone, check=1)
    daemons = {x["address"]: x for x in json.loads(r.stdout)["daemons"]}
    assert daemons[up]["ok"] and daemons[up]["postgres"] and daemons[up]["redis"], daemons
    assert daemons[up]["loop_lag_ms"] >= 0
    assert not daemons[gone]["reachable"] and daemons[gone]["error"], daemons
    r = env.stats("live", "--daemon", up, "--daemon", gone, check=1)
    assert f"hotlined {up}" in r.stdout and "ok (event loop lag" in r.stdout, r.stdout
    assert f"hotlined {gone}" in r.stdout and "UNREACHABLE" in r.stdout, r.stdout
    env.stats("live", "--daemon", up, check=0)
    # from the config, as an operator runs it: the config's [http] ops_listen
    r = subprocess.run([str(env.stats_bin), "-c", str(d.conf_path), "--format", "json", "live"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    board = json.loads(r.stdout)
    assert [x["address"] for x in board["daemons"]] == [up] and board["redis"]["up"]
    env.stop()
    r = env.stats("--format", "json", "live", "--daemon", up, check=1)
    assert not json.loads(r.stdout)["daemons"][0]["reachable"]


def test_rollup_exact_with_connections_writing_one_day(env):
    """Four pool connections commit intake batches of the same day at once (small
    batches, several feed connections flat out): each session adds to rows of its own
    slot (stats_intake_daily), the report sums them to the tickets received, `check`
    finds the rollup equal to the audit trail, and `rebuild` folds the slots into
    stats_daily without changing a number."""
    over = env.overrides()
    over["postgres"] = {"connections": 4, "batch_max": 40}
    env.stop()
    env.n += 1
    # today's clock: the loadgen's records are received now (hotlined refuses records
    # received in its future)
    d = Daemon(env.binaries, env.tmp / f"hotlined{env.n}", env.dsn, env.redis.address, over)
    env.daemon = d
    d.start()
    loadgen = env.binaries.build / "tools" / "hotline-loadgen"
    feeds = ",".join(f"{f}:{f}-feed-secret" for f in (*env.feeds, env.desk_feed))
    r = subprocess.run([str(loadgen), "--port", str(d.binary_port), "--feeds", feeds, "--connections", "6",
                        "--records", "300", "--window", "60", "--phones", "--prefix", "st-slots",
                        "--timeout", "60", "--json-summary"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["acked"] == 1800, r.stdout
    env.stop()
    stored = env.db.query("SELECT count(*) AS n FROM tickets WHERE external_id LIKE 'st-slots-%%'")[0]["n"]
    assert stored == 1800
    day = env.db.query("SELECT max(day)::text AS d FROM stats_intake_daily")[0]["d"]
    assert day > DAY3, day
    slots = env.db.query("SELECT count(DISTINCT slot) AS n, count(*) AS rows FROM stats_intake_daily"
                         " WHERE dim = '' AND day = %s", (day,))[0]
    assert slots["n"] >= 2, slots  # the batches of several sessions, each in its own rows
    got = totals(env.report(day, day))
    assert got["received"] == stored, got  # (a run across midnight would split them)
    assert got["dispatched"] + got["pending"] + got["linked"] == stored, got
    env.stats("check", "--from", day, "--to", day, check=0)
    before = env.report(day, day, "--by", "feed")
    r = env.stats("--format", "json", "rebuild", "--from", day, "--to", day, check=0)
    rebuilt = json.loads(r.stdout)
    assert rebuilt["deleted"] == rebuilt["inserted"] > 0, rebuilt
    assert env.db.query("SELECT count(*) AS n FROM stats_intake_daily WHERE day = %s", (day,))[0]["n"] == 0
    assert env.report(day, day, "--by", "feed")["groups"] == before["groups"]
    env.stats("check", check=0)
