"""The configuration rules, seen from outside: `hotlined -c FILE --check-config` on
generated files exits 1 with `file:line: reason` (or `file: reason`) for every
refusal of lib/config.c, and 0 for a valid file; hotlined and hotlinectl refuse a
file holding secrets that group or others may read; a SIGHUP with a refused file
keeps the running configuration.

Owns: config files written into the test's tmp_path. Never: needs PostgreSQL or
Redis, except the reload test (start_hotlined)."""

import configparser
import os
import signal
import time

import pytest

from conftest import EXAMPLE_CONF, REPO, run, write_private
from routing_helpers import FeedClient, wait_until

# Secrets as the tests use them: distinct per role and per id.
WATER = "[feed.water]\ntoken = water-feed-secret\n[dept.water]\ntoken = water-dept-secret\n"


def environment():
    """The environment without TZDIR, so that zone files come from /usr/share/zoneinfo."""
    env = dict(os.environ)
    env.pop("TZDIR", None)
    return env


def write(tmp_path, text, mode=0o600, name="hotlined.conf"):
    path = tmp_path / name
    write_private(path, text)
    os.chmod(path, mode)
    return path


def check(binaries, path):
    return run([binaries.hotlined, "-c", path, "--check-config"], cwd=REPO, env=environment())


def assert_refused(result, expected):
    assert result.returncode == 1, f"exit {result.returncode}:\n{result.stdout}\n{result.stderr}"
    assert expected in result.stderr, f"{expected!r} not in:\n{result.stderr}"


def assert_valid(result):
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stdout}\n{result.stderr}"
    assert "configuration is valid" in result.stdout


def test_example_config_is_valid(binaries, tmp_path):
    path = write(tmp_path, EXAMPLE_CONF.read_text(encoding="utf-8"))
    r = check(binaries, path)
    assert_valid(r)
    assert "(5 feeds, 28 departments, 3 Open311 services," in r.stdout


# (id, file text, the reason after "FILE" in the message)
REFUSALS = [
    ("long_line", "[postgres]\nconninfo = " + "x" * 70000 + "\n", ":2: line longer than 65536 bytes"),
    ("no_equals", "[hotlined]\nlog_level warn\n", ":2: expected key = value"),
    ("nul_byte", b"[hotlined]\n\nlog_level = w\0arn\n", ":3: NUL byte"),
    ("unknown_section", "[hotlined]\n[hotline]\n", ":2: unknown section [hotline]"),
    ("duplicate_key", "[feed.water]\ntoken = w1\nname = W\ntoken = w2\n",
     ":4: duplicate key 'token' in [feed.water] (first set on line 2)"),
    ("duplicate_section", WATER + "[feed.water]\nname = W\n",
     ":5: section [feed.water] appears twice (first on line 1)"),
    ("duplicate_deadline", "[deadlines]\nurgent = 2h\ndefault = 5wd\nurgent = 4h\n",
     ":4: duplicate key 'urgent' in [deadlines] (first set on line 2)"),
    ("feed_token_is_dept_token", "[feed.water]\ntoken = same\n[dept.water]\ntoken = same\n",
     ": [dept.water] token is the same as [feed.water] token: every secret must be distinct"
     " per role and per id"),
    ("two_departments", WATER + "[dept.gas]\ntoken = water-dept-secret\n",
     ": [dept.gas] token is the same as [dept.water] token"),
    ("two_feeds", WATER + "[feed.power]\ntoken = water-feed-secret\n",
     ": [feed.power] token is the same as [feed.water] token"),
    ("redis_password_is_a_token", "[redis]\npassword = pw-1\n" + WATER + "[dept.gas]\ntoken = pw-1\n",
     ": [dept.gas] token is the same as [redis] password"),
    ("agents_token_is_a_feed_token", "[agents]\ntoken = a-1\nfeed = agents\n[feed.agents]\ntoken = a-1\n",
     ": [feed.agents] token is the same as [agents] token"),
    ("unknown_timezone", "[postgres]\ntimezone = Mars/Olympus\n",
     ": [postgres] timezone: 'Mars/Olympus' is not a time zone known to this system"
     " (no /usr/share/zoneinfo/Mars/Olympus)"),
    ("timezone_path", "[postgres]\ntimezone = ../etc/passwd\n",
     ": [postgres] timezone: '../etc/passwd' is not a time zone name"),
    ("agents_feed_missing", WATER + "[agents]\ntoken = agent-terminal-secret\nfeed = nosuch\n",
     ": [agents] feed: 'nosuch' has no [feed.nosuch] section"),
    ("unauthenticated_per_address", "[hotlined]\nmax_unauthenticated = 8\nmax_unauthenticated_per_address = 9\n",
     ": [hotlined] max_unauthenticated_per_address (9) exceeds max_unauthenticated (8)"),
    ("unauthenticated_over_connections", "[hotlined]\nmax_connections = 100\n",
     ": [hotlined] max_unauthenticated (256) exceeds max_connections (100)"),
    ("extend_max_days", "[routing]\nextend_max_days = 4000\n",
     ":2: [routing] extend_max_days: 4000 is outside 1..3650"),
    ("allow_resolved_on_call", "[feed.water]\ntoken = w\nallow_resolved_on_call = sometimes\n",
     ":3: [feed.water] allow_resolved_on_call: 'sometimes' is not yes or no"),
    ("open311_key_is_a_feed_token", WATER + "[feed.app]\nopen311_key = water-feed-secret\n",
     ": [feed.app] open311_key is the same as [feed.water] token: every secret must be distinct"
     " per role and per id"),
    ("open311_key_is_a_dept_token", "[feed.app]\nopen311_key = k-1\n[dept.app]\ntoken = k-1\n",
     ": [dept.app] token is the same as [feed.app] open311_key"),
    ("two_open311_clients", "[feed.a]\nopen311_key = k-1\n[feed.b]\nopen311_key = k-1\n",
     ": [feed.b] open311_key is the same as [feed.a] open311_key"),
    ("open311_client_with_token", "[feed.app]\ntoken = t-1\nopen311_key = k-1\n",
     ": [feed.app]: an Open311 client (open311_key) has no token"),
    ("agents_feed_is_open311", "[agents]\ntoken = a-1\nfeed = app\n[feed.app]\nopen311_key = k-1\n",
     ": [agents] feed: 'app' is an Open311 client"),
    ("service_category_twice", "[service.a]\ncategory = roads\n[service.b]\ncategory = roads\n",
     ": [service.b] category 'roads' is also [service.a]'s: each service needs a category of its own"),
    ("service_unknown_key", "[service.a]\nurl = x\n", ":2: [service.a]: unknown key 'url'"),
    ("service_code", "[service.a.b]\n", ":1: [service.a.b]: service code must be 1-64 letters"),
]


@pytest.mark.parametrize("text,reason", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_check_config_refuses(binaries, tmp_path, text, reason):
    path = write(tmp_path, text)
    assert_refused(check(binaries, path), f"hotlined: {path}{reason}")


def test_long_lines_are_whole(binaries, tmp_path):
    """What Debian's libinih (200-byte lines) got wrong: a 195-character token, a
    10000-byte conninfo, and a long value holding "name=" are each one value."""
    token = "t" * 195
    conninfo = "host=/tmp dbname=hotline application_name=" + "a" * (10000 - 42)
    name = "n" * 290 + "name=x"
    path = write(tmp_path, f"[postgres]\nconninfo = {conninfo}\n[feed.water]\ntoken = {token}\nname = {name}\n")
    r = check(binaries, path)
    assert_valid(r)
    assert "(1 feeds, 0 departments, 0 Open311 services," in r.stdout


def test_file_mode_and_owner(binaries, tmp_path):
    """A file holding tokens or passwords must be its owner's alone, like an ssh key."""
    path = write(tmp_path, WATER, 0o644)
    message = (f"{path}: mode 0644 lets group or others read it, and it holds tokens and passwords:"
               f" chmod 600 {path}")
    assert_refused(check(binaries, path), f"hotlined: {message}")
    # the daemon itself, and hotlinectl with -c, refuse it as well (before connecting anywhere)
    r = run([binaries.hotlined, "-c", path], cwd=REPO, env=environment(), timeout=30)
    assert_refused(r, f"hotlined: {message}")
    for command in (["migrate"], ["route", "show"]):
        r = run([binaries.hotlinectl, "-c", path, *command], cwd=REPO, env=environment(), timeout=30)
        assert_refused(r, f"hotlinectl: {message}")
    os.chmod(path, 0o640)
    assert_refused(check(binaries, path), f"{path}: mode 0640 lets group or others read it")
    os.chmod(path, 0o600)
    assert_valid(check(binaries, path))
    # a Redis password alone is a secret too
    path = write(tmp_path, "[redis]\npassword = pw\n", 0o644, "redis.conf")
    assert_refused(check(binaries, path), f"{path}: mode 0644 lets group or others read it")
    # a file without secrets may be readable by all
    path = write(tmp_path, "[hotlined]\nlog_level = warn\n", 0o644, "public.conf")
    assert_valid(check(binaries, path))
    if os.geteuid() == 0:
        path = write(tmp_path, WATER, 0o600, "theirs.conf")
        os.chown(path, 65534, -1)
        assert_refused(check(binaries, path), f"{path}: owned by uid 65534, neither the user running this")


def test_open311_key_makes_the_file_private(binaries, tmp_path):
    """An api_key is a secret: a file holding only an Open311 client's must be 0600 too."""
    path = write(tmp_path, "[feed.app]\nopen311_key = k-1\n[service.a]\n", 0o644)
    assert_refused(check(binaries, path), f"{path}: mode 0644 lets group or others read it")
    os.chmod(path, 0o600)
    r = check(binaries, path)
    assert_valid(r)
    assert "(1 feeds, 0 departments, 1 Open311 services," in r.stdout


def test_agents_feed_must_have_a_section(binaries, tmp_path):
    """[agents] feed naming no [feed.CODE] used to pass and then fail every agent's
    Hello with INTERNAL; now the daemon does not start with it. Without an agents
    token the feed is not used, so it need not exist."""
    path = write(tmp_path, WATER + "[agents]\ntoken = agent-terminal-secret\nfeed = no-such-feed\n")
    reason = f"{path}: [agents] feed: 'no-such-feed' has no [feed.no-such-feed] section"
    assert_refused(check(binaries, path), reason)
    assert_refused(run([binaries.hotlined, "-c", path], cwd=REPO, env=environment(), timeout=30), reason)
    path = write(tmp_path, WATER + "[agents]\ntoken =\nfeed = no-such-feed\n", name="no-agents.conf")
    assert_valid(check(binaries, path))


def test_reload_with_a_refused_file_keeps_the_running_config(start_hotlined):
    daemon = start_hotlined()
    good = configparser.ConfigParser(interpolation=None)
    good.read_dict(daemon.config)

    def reload_and_wait():
        before = daemon.log_text().count("reload")
        daemon.signal(signal.SIGHUP)
        wait_until(lambda: daemon.log_text().count("reload") > before, 10, message="the reload's log line")
        time.sleep(0.1)
        return daemon.log_text()

    reused = configparser.ConfigParser(interpolation=None)
    reused.read_dict(daemon.config)
    reused["dept.water"]["token"] = "water-feed-secret"
    write_private(daemon.conf_path, reused)
    log = reload_and_wait()
    assert ("reload failed, keeping the running configuration: "
            f"{daemon.conf_path}: [dept.water] token is the same as [feed.water] token") in log

    write_private(daemon.conf_path, good)
    os.chmod(daemon.conf_path, 0o644)
    log = reload_and_wait()
    assert f"{daemon.conf_path}: mode 0644 lets group or others read it" in log
    FeedClient(daemon, "water", token="water-feed-secret").close()

    os.chmod(daemon.conf_path, 0o600)
    log = reload_and_wait()
    assert f"reloaded {daemon.conf_path}" in log
    assert daemon.alive()
