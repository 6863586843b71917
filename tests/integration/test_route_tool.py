"""`hotlinectl route test` decides exactly as the daemon does (lib/route.c, one code
path): a rule, a sub-centre feed's own department when no rule claims its ticket,
the manual desk; and the daemon, given the same ticket, agrees."""

import subprocess
import uuid

import pytest

from routing_helpers import (
    FeedClient,
    load_rules,
    new_code,
    new_keyword,
    new_phone,
    routing_overrides,
    wait_rules_in_force,
)

pytestmark = pytest.mark.usefixtures("neutral_rules_afterwards")


def route_test(binaries, redis_server, *args, config=None):
    cmd = [str(binaries.hotlinectl)]
    if config:
        cmd += ["-c", str(config)]
    cmd += ["--redis", redis_server.address, "route", "test", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


@pytest.fixture
def setup(start_hotlined, binaries, redis_server, db, rds, tmp_path):
    dept, sub_dept = new_code("rtd"), new_code("rts")
    sub_feed, plain_feed = new_code("rtsub"), new_code("rtf")
    kw = new_keyword()
    version = load_rules(binaries, redis_server, db, rds, tmp_path / "t.rules",
                         f"rule noise -> {dept}\n  keywords {kw}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept, sub_dept],
                                              feeds=[(sub_feed, "subcenter", sub_dept), plain_feed]))
    wait_rules_in_force(daemon, version)
    return daemon, dept, sub_dept, sub_feed, plain_feed, kw


def daemon_routes(daemon, db, feed, content):
    f = FeedClient(daemon, feed)
    ticket_no = f.intake(f"rt-{uuid.uuid4().hex[:12]}", category="complaint", content=content,
                         caller_phone=new_phone())
    f.close()
    [row] = db.query("SELECT state, dept_code, route_rule FROM tickets WHERE ticket_no = %s", (ticket_no,))
    return row


def test_rule_match_is_reported_with_its_line(setup, binaries, redis_server, db):
    daemon, dept, _, _, plain_feed, kw = setup
    r = route_test(binaries, redis_server, "--feed", plain_feed, "--content", f"夜间施工 {kw}",
                   config=daemon.conf_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"rule noise (line 1) -> {dept}"
    row = daemon_routes(daemon, db, plain_feed, f"夜间施工 {kw}")
    assert (row["state"], row["dept_code"], row["route_rule"]) == ("DISPATCHED", dept, "noise")


def test_subcenter_feed_keeps_what_no_rule_claims(setup, binaries, redis_server, db):
    """The defect: route test ignored a sub-centre feed's own department and printed
    'no rule matched -> PENDING_DISPATCH' where the daemon sends it to the sub-centre."""
    daemon, _, sub_dept, sub_feed, _, _ = setup
    r = route_test(binaries, redis_server, "--feed", sub_feed, "--content", "咨询营业执照",
                   config=daemon.conf_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"no rule matched; feed {sub_feed} is a sub-centre -> {sub_dept} (its own department)"
    row = daemon_routes(daemon, db, sub_feed, "咨询营业执照")
    assert (row["state"], row["dept_code"], row["route_rule"]) == ("DISPATCHED", sub_dept, f"subcenter:{sub_feed}")


def test_plain_feed_unmatched_goes_to_the_desk(setup, binaries, redis_server, db):
    daemon, _, _, _, plain_feed, _ = setup
    r = route_test(binaries, redis_server, "--feed", plain_feed, "--content", "咨询营业执照",
                   config=daemon.conf_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "no rule matched -> PENDING_DISPATCH (manual dispatch desk)"
    assert daemon_routes(daemon, db, plain_feed, "咨询营业执照")["state"] == "PENDING_DISPATCH"


def test_feed_without_a_config_or_unknown_to_it(setup, binaries, redis_server):
    daemon, _, _, sub_feed, _, _ = setup
    r = route_test(binaries, redis_server, "--feed", sub_feed, "--content", "咨询")
    assert r.returncode == 0
    assert "join mode" in r.stderr and "unknown" in r.stderr
    r = route_test(binaries, redis_server, "--feed", "no-such-feed", "--content", "咨询",
                   config=daemon.conf_path)
    assert r.returncode == 1
    assert "no [feed.no-such-feed] section" in r.stderr
