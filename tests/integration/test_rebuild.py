"""The Redis rebuild survives the daemon dying at any step, and routing waits for the
rule set.

Redis loses its data (FLUSHALL here; a restart without persistence is the same to the
daemon) while a department is away, so a backlog of dispatched tickets is lost with
it: their outbox rows are long deleted and only PostgreSQL knows they are owed. A
daemon that notices must rebuild, and the decision and the rebuild are durable
together (bus_epoch in PostgreSQL, 006_bus_epoch). hotlined is killed at each step of
the rebuild through its crash points (HOTLINED_FAULT, daemon/fault.h):
  rebuild_seen       the loss noticed, nothing written yet;
  rebuild_claimed    the claim and the outbox rows committed, Redis not told;
  rebuild_announced  the new epoch set in Redis, nothing republished yet.
The next daemon must leave every DISPATCHED ticket of the backlog in its
department's stream exactly once.

Routing: intake is never routed with an unknown rule set: a daemon that starts while
Redis does not answer holds its intake back until Redis's rule set is read (or
ROUTER_REDIS_WAIT_MS passes, then routes by what PostgreSQL remembers).
"""

import os
import signal
import subprocess
import time
import uuid

import pytest

from routing_helpers import (
    FeedClient,
    entries_by_ticket,
    load_rules,
    load_rules_raw,
    new_code,
    new_keyword,
    new_phone,
    redis_client,
    routing_overrides,
    wait_rules_in_force,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("neutral_rules_afterwards")

FAULT_EXIT = 86  # daemon/fault.h FAULT_EXIT_STATUS


def new_id():
    return f"rb-{uuid.uuid4().hex[:16]}"


def fields(keyword, i):
    return {"category": "complaint", "content": f"积水 {keyword} 第{i}件", "district": "崇川区",
            "caller_phone": new_phone()}


def dispatched_in_db(db):
    rows = db.query("SELECT ticket_no, dept_code FROM tickets WHERE state = 'DISPATCHED'")
    return {r["ticket_no"]: r["dept_code"] for r in rows}


def pg_epoch(db):
    return db.query("SELECT epoch FROM bus_epoch")[0]["epoch"]


def assert_every_dispatched_ticket_once(db, rds, backlog, dept, timeout=30):
    """Every DISPATCHED ticket is in its department's stream exactly once (after the
    outbox drained), the backlog among them."""

    def settled():
        if db.query("SELECT count(*) AS n FROM outbox")[0]["n"] != 0:
            return False
        return set(dispatched_in_db(db)) <= set(entries_by_ticket(rds))

    wait_until(settled, timeout, interval=0.3, message="every DISPATCHED ticket in a stream")
    time.sleep(1.0)  # more relay rounds: a late duplicate would show now
    expected = dispatched_in_db(db)
    found = entries_by_ticket(rds)
    assert set(backlog) <= set(expected)
    missing = sorted(set(expected) - set(found))
    dups = {t: len(v) for t, v in found.items() if len(v) != 1}
    wrong = {t: v[0][0] for t, v in found.items() if t in expected and v[0][0] != f"hotline:dept:{expected[t]}"}
    assert (missing[:5], dict(list(dups.items())[:5]), dict(list(wrong.items())[:5])) == ([], {}, {}), (
        f"{len(missing)} missing, {len(dups)} not once, {len(wrong)} in the wrong stream")
    for ticket_no in backlog:
        assert found[ticket_no][0][0] == f"hotline:dept:{dept}"


@pytest.mark.parametrize("point", ["rebuild_seen", "rebuild_claimed", "rebuild_announced"])
def test_daemon_killed_during_the_rebuild_leaves_it_owed(start_hotlined, binaries, redis_server, db, rds,
                                                          tmp_path, point):
    dept, feed = new_code("rbd"), new_code("rbf")
    kw = new_keyword()
    version = load_rules(binaries, redis_server, db, rds, tmp_path / "rb.rules", f"rule rb -> {dept}\n  keywords {kw}\n")
    overrides = routing_overrides(depts=[dept], feeds=[feed], routing={"relay_interval_ms": 200})
    first = start_hotlined(overrides)
    wait_rules_in_force(first, version)
    f = FeedClient(first, feed)
    backlog = [f.intake(new_id(), **fields(kw, i)) for i in range(40)]
    f.close()
    # Published, and the department away: the backlog sits in its stream.
    wait_until(lambda: set(backlog) <= set(entries_by_ticket(rds)), 15, message="the backlog in the stream")
    assert first.stop() == 0
    epoch_before = pg_epoch(db)
    assert epoch_before is not None and rds.get("hotline:epoch").decode() == epoch_before

    redis_client(redis_server.address).flushall()  # the backlog is lost with Redis's data

    env = dict(os.environ, HOTLINED_FAULT=point)
    env.pop("HOTLINED_CLOCK_START", None)
    log = open(tmp_path / f"faulty-{point}.log", "wb")
    faulty = subprocess.Popen([str(binaries.hotlined), "-c", str(first.conf_path)], env=env,
                              stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        rc = faulty.wait(30)
    except subprocess.TimeoutExpired:
        faulty.kill()
        faulty.wait()
        pytest.fail(f"hotlined never reached fault point {point}:\n"
                    f"{(tmp_path / f'faulty-{point}.log').read_text(errors='replace')[-3000:]}")
    text = (tmp_path / f"faulty-{point}.log").read_text(errors="replace")
    assert rc == FAULT_EXIT and f"fault point {point}" in text, text[-3000:]

    # What each step leaves behind.
    redis_epoch = rds.get("hotline:epoch")
    if point == "rebuild_seen":
        assert pg_epoch(db) == epoch_before and redis_epoch is None
    elif point == "rebuild_claimed":
        assert pg_epoch(db) != epoch_before and redis_epoch is None
        assert db.query("SELECT count(*) AS n FROM outbox")[0]["n"] >= len(backlog)
    else:
        assert redis_epoch is not None and redis_epoch.decode() == pg_epoch(db) != epoch_before
    assert all(not entries_by_ticket(rds).get(t) for t in backlog)

    second = start_hotlined(overrides)
    assert_every_dispatched_ticket_once(db, rds, backlog, dept)
    assert rds.get("hotline:epoch").decode() == pg_epoch(db)
    assert second.alive()


def test_redis_epoch_unknown_to_postgresql_is_rebuilt(start_hotlined, binaries, redis_server, db, rds, tmp_path):
    """A Redis restored from an old snapshot (or set by a daemon that died before its
    rebuild was durable) carries an epoch PostgreSQL never recorded: the daemon does
    not trust it, and rebuilds."""
    dept, feed = new_code("rbd"), new_code("rbf")
    kw = new_keyword()
    version = load_rules(binaries, redis_server, db, rds, tmp_path / "rb.rules", f"rule rb -> {dept}\n  keywords {kw}\n")
    overrides = routing_overrides(depts=[dept], feeds=[feed], routing={"relay_interval_ms": 200})
    first = start_hotlined(overrides)
    wait_rules_in_force(first, version)
    f = FeedClient(first, feed)
    backlog = [f.intake(new_id(), **fields(kw, i)) for i in range(10)]
    f.close()
    wait_until(lambda: set(backlog) <= set(entries_by_ticket(rds)), 15, message="the backlog in the stream")
    assert first.stop() == 0
    client = redis_client(redis_server.address)
    client.flushall()
    client.set("hotline:epoch", "an-epoch-nobody-rebuilt")  # what the old SET NX left behind
    second = start_hotlined(overrides)
    assert_every_dispatched_ticket_once(db, rds, backlog, dept)
    assert rds.get("hotline:epoch").decode() == pg_epoch(db) != "an-epoch-nobody-rebuilt"
    assert "is not the epoch PostgreSQL rebuilt" in second.log_text()


def redis_pid(redis_server):
    return int((redis_server.dir / "redis.pid").read_text().strip())


def test_intake_waits_for_the_rule_set_in_redis(start_hotlined, binaries, redis_server, db, rds, tmp_path):
    """Rules loaded into Redis while no daemon runs are not in PostgreSQL. A daemon
    that starts while Redis does not answer must not route its first records with
    what PostgreSQL remembers (nothing that matches): it holds them until Redis
    answers, then routes them by Redis's rules."""
    dept, feed = new_code("rwd"), new_code("rwf")
    kw = new_keyword()
    remembered = db.query("SELECT COALESCE(max(version), 0) AS v FROM routing_rules")[0]["v"]
    current = rds.get("hotline:rules:version")
    if current is None or int(current) < remembered:
        rds.set("hotline:rules:version", remembered)
    version = load_rules_raw(binaries, redis_server, tmp_path / "rw.rules", f"rule rw -> {dept}\n  keywords {kw}\n")
    assert not db.query("SELECT 1 FROM routing_rules WHERE version = %s", (version,))
    pid = redis_pid(redis_server)
    os.kill(pid, signal.SIGSTOP)
    try:
        daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed]), wait_redis=False)
        f = FeedClient(daemon, feed)
        f.send_intake(external_id=new_id(), **fields(kw, 0))
        f.collect(1.5)  # PostgreSQL answered long ago; Redis has not
        assert f.take("intake_ack") == [], "intake was acknowledged before the rules were known"
    finally:
        os.kill(pid, signal.SIGCONT)
    ack = f.next_frame(lambda fr: fr.WhichOneof("msg") == "intake_ack", 15, what="the IntakeAck").intake_ack
    [row] = db.query("SELECT state, dept_code, route_rule FROM tickets WHERE ticket_no = %s", (ack.ticket_no,))
    assert (row["state"], row["dept_code"], row["route_rule"]) == ("DISPATCHED", dept, "rw")
    f.close()


def test_without_redis_intake_is_routed_by_postgresql_rules_after_the_wait(
        start_hotlined, binaries, redis_server, db, rds, tmp_path):
    """Redis down at start for good: after ROUTER_REDIS_WAIT_MS (5 s) intake is routed
    by the rule set PostgreSQL remembers, not held back forever."""
    dept, feed = new_code("rpd"), new_code("rpf")
    kw = new_keyword()
    version = load_rules(binaries, redis_server, db, rds, tmp_path / "rp.rules", f"rule rp -> {dept}\n  keywords {kw}\n")
    overrides = routing_overrides(depts=[dept], feeds=[feed])
    first = start_hotlined(overrides)
    wait_rules_in_force(first, version)
    wait_until(lambda: db.query("SELECT 1 FROM routing_rules WHERE version = %s", (version,)), 5,
               message="the rule set remembered in PostgreSQL")
    assert first.stop() == 0
    pid = redis_pid(redis_server)
    os.kill(pid, signal.SIGSTOP)
    try:
        daemon = start_hotlined(overrides, wait_redis=False)
        f = FeedClient(daemon, feed)
        started = time.monotonic()
        ticket_no = f.intake(new_id(), timeout=20, **fields(kw, 0))
        waited = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    assert 3.0 <= waited <= 15, waited
    [row] = db.query("SELECT state, dept_code FROM tickets WHERE ticket_no = %s", (ticket_no,))
    assert (row["state"], row["dept_code"]) == ("DISPATCHED", dept)
    assert "routing intake with the rule set PostgreSQL remembers" in daemon.log_text()
    f.close()
