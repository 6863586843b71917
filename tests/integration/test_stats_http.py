"""GET /api/v1/stats/live and /api/v1/stats/report (docs/http-api.md "Statistics")
against a real hotlined, PostgreSQL and Redis: the endpoints run the statements
`hotline-stats` runs, so their numbers must be the tool's on the same data.

- live: the board (departments, manual desk, escalations, callbacks waiting,
  linked, intake per feed) equals `hotline-stats live --json` at the same instant
  (HOTLINE_STATS_NOW = the daemon's now_ms); satisfaction today and this month equal
  `report --json`'s for those days; the calendar warning is null on a date far from
  the calendar's end and the daemon's own warning near it.
- report: equals `report --json` (but for query_ms), also by dept and for one
  department; 400 on a bad date, to before from, more than 366 days, an unknown
  dimension.
- 401 without a token or with a bad one; an agent may read both.
- 503 when PostgreSQL is unreachable (the daemon reaches it through pg_proxy, stopped).

Isolation: a database and a Redis of the module's own (test_stats.Env), daemons on
fixed clocks (HOTLINED_CLOCK_START).
"""

import difflib
import json
import time

import pytest

from conftest import SANITIZER_MARKS, Daemon
from http_helpers import Api, add_user, error_code
from routing_helpers import DeptClient, FeedClient, new_code, wait_until
from test_callbacks import AgentClient
from test_stats import Env, callback, clock, intake_fields, new_id, ok, pb

DAY = "2026-05-12"  # a Tuesday, months from the calendar's end (2026-12-31)
MONTH_FIRST = "2026-05-01"
LIVE_KEYS = ("departments", "manual_desk", "escalated", "callbacks_waiting", "linked", "intake")


@pytest.fixture(scope="module")
def env(binaries, pg, schema, tmp_path_factory):
    e = Env(binaries, pg, tmp_path_factory.mktemp("stats_http"))
    e.agent_token = add_user(binaries, e.dsn, "stats-agent", "agent")
    yield e
    e.close()


@pytest.fixture(scope="module")
def day_of_work(env):
    """Tickets of DAY on the module's daemon: some waiting, some in hand, one on the
    desk, one closed satisfied and one rated unsatisfied. Returns the daemon."""
    d = env.start(clock(DAY, "09:30:00"))
    feed, power, desk = FeedClient(d, "sfwater"), FeedClient(d, "sfpower"), FeedClient(d, env.desk_feed)
    water = DeptClient(d, "sdwater")
    agent = AgentClient(d, new_code("ag"))
    done = []
    for _ in range(3):
        no = feed.intake(new_id(), **intake_fields())
        water.ticket(no)
        water.ack(no)
        done.append(no)
    power.intake(new_id(), **intake_fields(category="request"))
    desk.intake(new_id(), **intake_fields(category="consultation"))
    for no in done[:2]:
        ok(water.accept(no))
        ok(water.reply(no, "已修复"))
    callback(agent, done[0], pb().CALLBACK_OUTCOME_SATISFIED)
    callback(agent, done[1], pb().CALLBACK_OUTCOME_UNSATISFIED)
    for c in (feed, power, desk, water, agent):
        c.close()
    yield d
    env.stop()


def live(api, token=None):
    status, body = api.get("/api/v1/stats/live", token=token)
    assert status == 200, body
    return body


def test_live_is_the_tools_board(env, day_of_work):
    api = Api(day_of_work, env.sup_token)
    board = live(api)
    api.close()
    r = env.stats("--format", "json", "live", check=0, env={"HOTLINE_STATS_NOW": str(board["now_ms"])})
    tool = json.loads(r.stdout)
    for key in LIVE_KEYS:
        assert board[key] == tool[key], (key, board[key], tool[key])
    assert board["postgres"]["up"] is True and board["postgres"]["query_ms"] >= 0
    # what the day left, so that equal-but-empty boards cannot pass
    depts = {d["dept_code"]: d for d in board["departments"]}
    # sdwater: the one never accepted, and the one the unsatisfied caller reopened
    assert (depts["sdwater"]["waiting"], depts["sdwater"]["in_hand"]) == (2, 0), depts
    assert depts["sdpower"]["waiting"] == 1, depts
    assert board["manual_desk"] >= 1
    feeds = {f["feed_code"]: f for f in board["intake"]}
    assert feeds["sfwater"]["last_hour"] == 3 and feeds["sfpower"]["last_hour"] == 1, feeds
    # the daemon's clock decides "now": DAY, not the machine's date
    assert time.strftime("%Y-%m-%d", time.gmtime(board["now_ms"] / 1000 + 8 * 3600)) == DAY


def test_live_satisfaction_is_the_reports(env, day_of_work):
    api = Api(day_of_work, env.sup_token)
    sat = live(api)["satisfaction"]
    api.close()
    for name, frm in (("today", DAY), ("period", MONTH_FIRST)):
        want = env.report(frm, DAY)["total"]["rates"]["satisfaction"]
        got = sat[name]
        assert (got["num"], got["den"]) == (want["num"], want["den"]), (name, got, want)
        assert (got["from"], got["to"]) == (frm, DAY)
    # one satisfied, one unsatisfied callback today
    assert (sat["today"]["num"], sat["today"]["den"]) == (1, 2), sat
    assert sat["today"]["value"] == 0.5 and sat["today"]["name_zh"] == "有效参评满意率"


def test_live_counts_a_new_ticket_at_once(env, day_of_work):
    api = Api(day_of_work, env.sup_token)
    before = {f["feed_code"]: f["last_hour"] for f in live(api)["intake"]}
    feed = FeedClient(day_of_work, "sfpower")
    feed.intake(new_id(), **intake_fields())
    feed.close()
    after = {f["feed_code"]: f["last_hour"] for f in live(api)["intake"]}
    api.close()
    assert after["sfpower"] == before["sfpower"] + 1, (before, after)


def settled_report(api, env, query, args):
    """The endpoint's report and the tool's on the same rollup: the watcher marks tickets
    due soon as it goes, so the tool's is taken between two equal answers of the endpoint."""
    for _ in range(50):
        status, got = api.get(f"/api/v1/stats/report?from={MONTH_FIRST}&to={DAY}{query}")
        assert status == 200, got
        want = env.report(MONTH_FIRST, DAY, *args)
        status, again = api.get(f"/api/v1/stats/report?from={MONTH_FIRST}&to={DAY}{query}")
        assert got.pop("query_ms") >= 0 and again.pop("query_ms") >= 0
        want.pop("query_ms")
        if got == again:
            return got, want
        time.sleep(0.2)
    raise AssertionError("the rollup never settled")


def test_report_is_the_tools(env, day_of_work):
    api = Api(day_of_work, env.sup_token)
    for query, args in (("", ()), ("&by=dept", ("--by", "dept")),
                        ("&by=feed&dept=sdwater", ("--by", "feed", "--dept", "sdwater"))):
        got, want = settled_report(api, env, query, args)
        a, b = (json.dumps(x, sort_keys=True, indent=1).splitlines() for x in (got, want))
        assert a == b, (query, "\n".join(difflib.unified_diff(a, b, "endpoint", "hotline-stats", lineterm="")))
    assert got["by"] == "feed" and got["dept"] == "sdwater" and got["groups"], got
    status, got = api.get(f"/api/v1/stats/report?from={DAY}&to={DAY}")
    api.close()
    assert got["total"]["counts"]["received"] >= 5 and got["reconciliation"]["balanced"], got


def test_bad_requests(env, day_of_work):
    api = Api(day_of_work, env.sup_token)
    for query in ("from=2026-13-01&to=2026-12-01", "from=2026-05-01", "to=2026-05-01", "from=&to=",
                  "from=2026-05-02&to=2026-05-01", "from=20260501&to=20260502",
                  "from=2025-01-01&to=2026-01-02", "from=2026-05-01&to=2026-05-02&by=nosuch",
                  "from=2026-05-01&to=2026-05-02&dept=no%20such"):
        status, body = api.get(f"/api/v1/stats/report?{query}")
        assert status == 400 and error_code(body) == "invalid", (query, status, body)
    # exactly 366 days is allowed
    status, body = api.get("/api/v1/stats/report?from=2025-05-12&to=2026-05-12")
    assert status == 200 and body["days"] == 366, body
    assert api.raw("POST", "/api/v1/stats/live")[0] == 405
    api.close()


def test_tokens(env, day_of_work):
    api = Api(day_of_work)
    for path in ("/api/v1/stats/live", f"/api/v1/stats/report?from={DAY}&to={DAY}"):
        status, body = api.get(path)
        assert status == 401 and error_code(body) == "unauthenticated", (path, body)
        status, body = api.get(path, token="hl1.1.notavalidtokenatall")
        assert status == 401, (path, body)
        status, body = api.get(path, token=env.agent_token)
        assert status == 200, (path, body)
    api.close()


def another_daemon(env, name, at, dsn=None):
    """A daemon of the module's own beside the fixture's (same database and Redis)."""
    d = Daemon(env.binaries, env.tmp / name, dsn or env.dsn, env.redis.address, env.overrides(), clock=at)
    return d.start()


def stop(d):
    """Stops another_daemon()'s daemon: exit 0, and no sanitizer report."""
    assert d.stop() == 0, d.log_tail()
    assert not [m for m in SANITIZER_MARKS if m in d.log_text()], d.log_tail()


def test_calendar_warning(env, day_of_work):
    api = Api(day_of_work, env.sup_token)
    assert live(api)["calendar"] == {"warning": None}
    api.close()
    d = another_daemon(env, "hotlined-december", clock("2026-12-07", "10:00:00"))  # 24 days left
    try:
        api = Api(d, env.sup_token)
        warning = live(api)["calendar"]["warning"]
        api.close()
        assert warning and "2026" in warning, warning
        assert f"calendar: {warning}" in d.log_text()
    finally:
        stop(d)


def test_unreachable_postgresql_is_503(env, proxy):
    dbname = env.dsn.split("dbname=")[1].split()[0]
    d = another_daemon(env, "hotlined-proxied", clock(DAY, "18:00:00"),
                       proxy.conninfo.replace("dbname=hotline", f"dbname={dbname}"))
    try:
        api = Api(d, env.sup_token)
        live(api)
        proxy.stop()
        wait_until(lambda: api.get("/api/v1/stats/live")[0] == 503, 20, message="503 once PostgreSQL is gone")
        for path in ("/api/v1/stats/live", f"/api/v1/stats/report?from={DAY}&to={DAY}"):
            status, body = api.get(path)
            assert status == 503 and error_code(body) == "unavailable", (path, body)
        api.close()
    finally:
        stop(d)
