"""PostgreSQL primary and streaming standby: the standby is promoted during a feed
load, and hotlined, whose conninfo names both servers with
target_session_attrs=read-write, follows to the new primary by itself; every record
it acknowledged is there, under the ticket number its ack gave.

A cluster pair of its own (deploy/pgtmp pg-start, then pg-standby: pg_basebackup -R
-X stream), synchronous replication on (synchronous_standby_names = '*', set on the
primary after the base backup, so the promoted standby does not wait for a standby
it will never have), and a Redis of its own (the daemon rebuilds Redis from this
database, which must not disturb the session's). The primary is killed as in a crash
(pg_ctl -m immediate) mid-load, then the standby promoted.
"""

import subprocess
import time

import pytest

from conftest import FEEDS, PGTMP, SANITIZER_MARKS, Daemon, Db, PgServer, RedisServer, run
from routing_helpers import wait_until

RECORDS_PER_CONN = 1500
RATE = 300  # records/s over both connections: about 10 s of load


@pytest.fixture
def pg_pair(tmp_path, binaries):
    primary = PgServer(tmp_path / "primary")
    primary.start()
    standby_dir = tmp_path / "standby"
    try:
        r = run([binaries.hotlinectl, "--dsn", primary.conninfo, "migrate"])
        assert r.returncode == 0, r.stderr
        r = run([PGTMP, "pg-standby", standby_dir, primary.dir])
        assert r.returncode == 0, f"pgtmp pg-standby failed:\n{r.stderr}"
        standby = PgServer(standby_dir)
        standby.conninfo = r.stdout.strip().splitlines()[-1]
        pdb = Db(primary.conninfo)
        pdb.query("ALTER SYSTEM SET synchronous_standby_names = '*'")
        pdb.query("SELECT pg_reload_conf()")
        wait_until(lambda: pdb.query("SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'"), 15,
                   message="the standby replicating synchronously")
        pdb.close()
        yield primary, standby
    finally:
        primary.destroy()
        run([PGTMP, "pg-destroy", standby_dir])


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.destroy()


def multi_host(primary, standby):
    """One conninfo naming both servers: libpq tries them in order and, with
    target_session_attrs=read-write, keeps only the one that accepts writes."""
    def part(conninfo, key):
        return dict(kv.split("=", 1) for kv in conninfo.split())[key]

    hosts = ",".join(part(s.conninfo, "host") for s in (primary, standby))
    ports = ",".join(part(s.conninfo, "port") for s in (primary, standby))
    return (f"host={hosts} port={ports} user={part(primary.conninfo, 'user')} "
            f"dbname={part(primary.conninfo, 'dbname')} target_session_attrs=read-write")


def test_standby_promoted_during_load_keeps_every_ack(binaries, pg_pair, own_redis, tmp_path):
    primary, standby = pg_pair
    conninfo = multi_host(primary, standby)
    daemon = Daemon(binaries, tmp_path / "hotlined", conninfo, own_redis.address,
                    {"postgres": {"reconnect_min_ms": 50, "reconnect_max_ms": 500}})
    daemon.start()
    acked_file = tmp_path / "acked.tsv"
    try:
        load = subprocess.Popen(
            [str(binaries.build / "tools" / "hotline-loadgen"), "--port", str(daemon.binary_port),
             "--feeds", f"water:{FEEDS['water']}", "--connections", "2",
             "--records", str(RECORDS_PER_CONN), "--rate", str(RATE), "--prefix", "pgfo",
             "--acked-file", str(acked_file), "--timeout", "40", "--json-summary"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3.0)
        assert load.poll() is None, load.communicate()
        run([PGTMP, "pg-kill", primary.dir])
        killed = time.monotonic()
        time.sleep(0.5)  # the standby is all there is: writes wait for the promotion
        r = run([PGTMP, "pg-promote", standby.dir])
        assert r.returncode == 0, r.stderr
        promoted = time.monotonic()
        out, err = load.communicate(timeout=90)
        assert load.returncode == 0, f"loadgen exited {load.returncode}:\n{out}\n{err[-2000:]}"
        print(f"loadgen: {out.strip()}; primary killed, standby promoted "
              f"{promoted - killed:.1f} s later")

        # Every acknowledged record is in the new primary, once, under its ack's number.
        acks = {}
        for line in acked_file.read_text().splitlines():
            feed, external_id, ticket_no, _dup = line.split("\t")
            assert acks.setdefault((feed, external_id), ticket_no) == ticket_no
        assert len(acks) == 2 * RECORDS_PER_CONN
        new_primary = Db(standby.conninfo)
        rows = new_primary.query(
            "SELECT feed_code, external_id, ticket_no FROM tickets"
            " WHERE feed_code = 'water' AND starts_with(external_id, 'pgfo-')")
        stored = {}
        for row in rows:
            key = (row["feed_code"], row["external_id"])
            assert key not in stored, f"{key} stored twice"
            stored[key] = row["ticket_no"]
        missing = [k for k in acks if k not in stored]
        wrong = [k for k in acks if k in stored and stored[k] != acks[k]]
        assert (missing[:5], wrong[:5]) == ([], []), f"{len(missing)} missing, {len(wrong)} renumbered"

        # hotlined is on the new primary now, with all of its connections.
        log = daemon.log_text()
        assert "connection 0 to PostgreSQL lost" in log
        assert log.count("to PostgreSQL ready") >= 4, log[-3000:]
        sessions = new_primary.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'hotlined'")
        assert sessions[0]["n"] >= int(daemon.setting("postgres", "connections"))
        with daemon.feed("water") as c:
            c.send_intake(external_id=f"pgfo-after-{time.time_ns()}", content="promoted: 新主库")
            kind, msg = c.read_reply(15)
            assert kind == "ack", msg
        assert new_primary.query("SELECT 1 FROM tickets WHERE ticket_no = %s", (msg.ticket_no,))
        new_primary.close()
    finally:
        rc = daemon.stop()
        text = daemon.log_text()
        assert rc == 0, daemon.log_tail()
        assert not [m for m in SANITIZER_MARKS if m in text], daemon.log_tail()
