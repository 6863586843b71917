"""Redis Sentinel: hotlined finds the primary through three sentinels, follows a
failover when the primary is killed during a load, notices that the promoted replica
lacks what the old primary acknowledged last (its hotline:epoch names the old
server's run_id), rebuilds from PostgreSQL, and every committed ticket reaches its
department.

Servers of the test's own, on loopback ports, from Debian's redis-server: a primary
and a replica (requirepass and masterauth), and three sentinels (`redis-server
--sentinel`, requirepass of their own, quorum 2). Every secret differs, and every
file holding one is mode 0600. A database of its own in the session's PostgreSQL
(its bus_epoch must not be shared with the session's Redis).

Losing acknowledged writes on purpose: replication is asynchronous, and on loopback
a replica keeps up within microseconds, so the test makes it lag: the replica is
stopped (SIGSTOP) for well under the sentinels' down-after time, a 48 MB value is
written to the primary (more than the kernel's socket buffers hold, so what follows
it waits in the primary's own output buffer), the relay goes on publishing tickets
for half a second, and then the primary is killed (SIGKILL) and the replica resumed.
The promoted replica never gets the value, nor the publishes after it.
"""

import json
import os
import signal
import subprocess
import time
import uuid

import psycopg
import pytest
import redis

from conftest import SANITIZER_MARKS, Daemon, Db, RedisServer, free_ports, run, write_private
from routing_helpers import FeedClient, new_code, routing_overrides, wait_until

MASTER = "hotline-ha"
REDIS_PASSWORD = "redis-data-" + uuid.uuid4().hex[:12]
SENTINEL_PASSWORD = "redis-sentinel-" + uuid.uuid4().hex[:12]
DOWN_AFTER_MS = 1500
JUNK_BYTES = 48 << 20


class RedisProc:
    """One redis-server (or sentinel) process from a config file of its own."""

    def __init__(self, directory, port, conf, sentinel=False, password=None):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.conf = self.dir / ("sentinel.conf" if sentinel else "redis.conf")
        write_private(self.conf, conf)
        cmd = ["redis-server", str(self.conf)] + (["--sentinel"] if sentinel else [])
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=5)
        wait_until(self.pings, 10, message=f"redis-server on port {port}")

    def pings(self):
        try:
            return self.client.ping()
        except redis.exceptions.RedisError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.client.close()


def data_conf(directory, port, replica_of=None):
    lines = [f"port {port}", "bind 127.0.0.1", f"dir {directory}", "save \"\"", "appendonly no",
             f"requirepass {REDIS_PASSWORD}", f"masterauth {REDIS_PASSWORD}",
             f"logfile {directory}/redis.log", "lazyfree-lazy-expire yes"]
    if replica_of:
        lines.append(f"replicaof 127.0.0.1 {replica_of}")
    return "\n".join(lines) + "\n"


def sentinel_conf(directory, port, primary_port):
    return "\n".join([
        f"port {port}", "bind 127.0.0.1", f"dir {directory}", f"logfile {directory}/sentinel.log",
        f"requirepass {SENTINEL_PASSWORD}",
        f"sentinel monitor {MASTER} 127.0.0.1 {primary_port} 2",
        f"sentinel auth-pass {MASTER} {REDIS_PASSWORD}",
        f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}",
        f"sentinel failover-timeout {MASTER} 10000",
        f"sentinel parallel-syncs {MASTER} 1",
    ]) + "\n"


@pytest.fixture
def sentinel_redis(tmp_path):
    """A primary, a replica and three sentinels that know each other."""
    ports = free_ports(5)
    servers = []
    try:
        primary = RedisProc(tmp_path / "primary", ports[0], data_conf(tmp_path / "primary", ports[0]),
                            password=REDIS_PASSWORD)
        servers.append(primary)
        replica = RedisProc(tmp_path / "replica", ports[1],
                            data_conf(tmp_path / "replica", ports[1], replica_of=ports[0]),
                            password=REDIS_PASSWORD)
        servers.append(replica)
        wait_until(lambda: replica.client.info("replication").get("master_link_status") == "up", 15,
                   message="the replica in sync")
        sentinels = []
        for i, port in enumerate(ports[2:]):
            d = tmp_path / f"sentinel{i}"
            d.mkdir()
            s = RedisProc(d, port, sentinel_conf(d, port, ports[0]), sentinel=True,
                          password=SENTINEL_PASSWORD)
            servers.append(s)
            sentinels.append(s)

        def all_known():
            for s in sentinels:
                m = s.client.execute_command("SENTINEL", "MASTER", MASTER)
                fields = dict(zip(m[::2], m[1::2]))
                if int(fields[b"num-other-sentinels"]) < 2 or int(fields[b"num-slaves"]) < 1:
                    return False
            return True

        wait_until(all_known, 20, interval=0.2, message="the sentinels knowing each other and the replica")
        yield primary, replica, sentinels
    finally:
        for s in reversed(servers):
            s.stop()


@pytest.fixture
def own_db(schema, binaries):
    """A database of its own in the session's cluster, migrated; dropped afterwards."""
    name = "ha_" + uuid.uuid4().hex[:10]
    admin = psycopg.connect(schema, autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")
    conninfo = " ".join(kv for kv in schema.split() if not kv.startswith("dbname=")) + f" dbname={name}"
    try:
        r = run([binaries.hotlinectl, "--dsn", conninfo, "migrate"])
        assert r.returncode == 0, r.stderr
        yield conninfo
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def primary_port(sentinel):
    host, port = sentinel.client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
    return int(port)


class Department:
    """tools/hotline-dept --reconnect for one department, its JSON lines in a file."""

    def __init__(self, binaries, daemon, dept, path):
        self.path = path
        with open(path, "w") as out:
            self.proc = subprocess.Popen(
                [str(binaries.dept), "--dept", dept, "--token", f"{dept}-dept-secret",
                 "--port", str(daemon.binary_port), "--reconnect"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.DEVNULL)

    def received(self):
        """The ticket numbers it has printed (and so acknowledged) so far."""
        got = set()
        for line in self.path.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line being written
            if event.get("event") == "ticket":
                got.add(event["ticket_no"])
        return got

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def sentinel_daemon(binaries, sentinels, conninfo, workdir, dept, feed):
    """A hotlined (not started) that finds the primary through the sentinels, with
    its rule set (every ticket to dept) loaded by hotlinectl through them too."""
    overrides = routing_overrides(depts=[dept], feeds=[feed],
                                  routing={"relay_interval_ms": 200, "redeliver_after_ms": 3000})
    overrides["redis"] = {
        "sentinels": ",".join(f"127.0.0.1:{s.port}" for s in sentinels),
        "master_name": MASTER,
        "password": REDIS_PASSWORD,
        "sentinel_password": SENTINEL_PASSWORD,
        "check_interval_ms": 250,
    }
    daemon = Daemon(binaries, workdir, conninfo, "unused", overrides)
    daemon.config.remove_option("redis", "address")  # the sentinels name the primary
    write_private(daemon.conf_path, daemon.config)
    assert (os.stat(daemon.conf_path).st_mode & 0o777) == 0o600
    rules = workdir / "all.rules"
    rules.write_text(f"rule all -> {dept}\n")
    r = run([binaries.hotlinectl, "-c", daemon.conf_path, "route", "load", rules])
    assert r.returncode == 0, r.stderr
    return daemon


def started_with_department(binaries, sentinels, conninfo, tmp_path):
    """sentinel_daemon for a fresh department and feed, started, with hotline-dept
    taking the department's tickets: (daemon, department, dept, feed)."""
    dept, feed = new_code("sen"), new_code("senf")
    daemon = sentinel_daemon(binaries, sentinels, conninfo, tmp_path / "hotlined", dept, feed)
    daemon.start()
    return daemon, Department(binaries, daemon, dept, tmp_path / "dept.jsonl"), dept, feed


def stop_all(daemon, *procs):
    for proc in procs:
        if proc is not None:
            proc.stop()
    if daemon.proc is not None:
        rc = daemon.stop()
        text = daemon.log_text()
        assert rc == 0, daemon.log_tail()
        assert not [m for m in SANITIZER_MARKS if m in text], daemon.log_tail()


def wait_delivered(db, department, tickets, timeout=40):
    """Until the outbox is empty and every ticket of tickets reached the department."""
    def settled():
        if db.query("SELECT count(*) AS n FROM outbox")[0]["n"]:
            return False
        return not (set(tickets) - department.received())

    wait_until(settled, timeout, interval=0.3, message="every committed ticket delivered to its department")


class Loadgen:
    def __init__(self, binaries, daemon, feed, acked_file, records, rate):
        self.acked_file = acked_file
        self.records = records
        self.proc = subprocess.Popen(
            [str(binaries.build / "tools" / "hotline-loadgen"), "--port", str(daemon.binary_port),
             "--feeds", f"{feed}:{feed}-feed-secret", "--connections", "2", "--records", str(records),
             "--rate", str(rate), "--prefix", feed, "--acked-file", str(acked_file), "--timeout", "40",
             "--json-summary"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self):
        """Waits for the end; returns (summary line, ticket numbers acknowledged)."""
        out, err = self.proc.communicate(timeout=90)
        assert self.proc.returncode == 0, f"loadgen exited {self.proc.returncode}:\n{out}\n{err[-2000:]}"
        acked = {line.split("\t")[2] for line in self.acked_file.read_text().splitlines()}
        assert len(acked) == 2 * self.records
        return out.strip(), acked

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_primary_killed_during_load_nothing_committed_undelivered(binaries, sentinel_redis, own_db, tmp_path):
    primary, replica, sentinels = sentinel_redis
    daemon, department, dept, feed = started_with_department(binaries, sentinels, own_db, tmp_path)
    assert primary.client.get("hotline:rules") is not None  # hotlinectl found the primary
    load = None
    try:
        load = Loadgen(binaries, daemon, feed, tmp_path / "acked.tsv", 600, 200)
        time.sleep(2.5)
        assert load.proc.poll() is None, load.proc.communicate()
        assert primary.client.xlen(f"hotline:dept:{dept}") + primary.client.hlen(
            f"hotline:published:{int(primary.client.time()[0]) // 3600}") > 0, "nothing published yet"

        # The replica falls behind; the primary acknowledges writes it never gets.
        os.kill(replica.proc.pid, signal.SIGSTOP)
        try:
            primary.client.set("hotline-test:junk", b"j" * JUNK_BYTES)
            time.sleep(0.5)  # the relay publishes behind the junk meanwhile
            primary.proc.kill()
            primary.proc.wait(10)
        finally:
            os.kill(replica.proc.pid, signal.SIGCONT)
        killed = time.monotonic()

        wait_until(lambda: all(primary_port(s) == replica.port for s in sentinels), 30, interval=0.2,
                   message="the sentinels promoting the replica")
        promoted = time.monotonic()
        assert replica.client.info("replication")["role"] == "master"
        assert replica.client.exists("hotline-test:junk") == 0, "the replica got every write: no loss to recover"

        summary, acked = load.finish()
        # Nothing committed undelivered: every ticket reaches the department.
        db = Db(own_db)
        wait_delivered(db, department, acked)
        rows = db.query("SELECT ticket_no FROM tickets WHERE state = 'DISPATCHED' AND dept_code = %s", (dept,))
        assert {r["ticket_no"] for r in rows} <= department.received()
        db.close()
        print(f"loadgen: {summary}; failover took {promoted - killed:.1f} s")

        log = daemon.log_text()
        assert "the sentinels name a new primary: 127.0.0.1:%d" % replica.port in log, log[-3000:]
        assert "written by another server process" in log
        assert "rebuild announced in Redis" in log
        epoch = replica.client.get("hotline:epoch").decode()
        assert epoch.endswith("." + replica.client.info("server")["run_id"])
    finally:
        stop_all(daemon, load, department)


def test_failover_with_the_old_primary_alive(binaries, sentinel_redis, own_db, tmp_path):
    """SENTINEL FAILOVER: the old primary lives on as a replica. The daemon's
    connections to it (its department consumers' too) move to the new primary,
    whether the sentinels' +switch-master, their CLIENT KILL or a READONLY answer
    tells them first; tickets go on reaching the department."""
    primary, replica, sentinels = sentinel_redis
    daemon, department, _dept, feed = started_with_department(binaries, sentinels, own_db, tmp_path)
    load = None
    try:
        load = Loadgen(binaries, daemon, feed, tmp_path / "acked.tsv", 400, 200)
        time.sleep(1.0)
        sentinels[0].client.execute_command("SENTINEL", "FAILOVER", MASTER)
        wait_until(lambda: all(primary_port(s) == replica.port for s in sentinels), 30, interval=0.2,
                   message="the sentinels promoting the replica")
        def demoted():
            # The sentinels CLIENT KILL the old primary's clients, this test's own too:
            # a reset connection is asked again (redis-py reconnects).
            try:
                return primary.client.info("replication")["role"] == "slave"
            except redis.exceptions.ConnectionError:
                return False

        wait_until(demoted, 30, interval=0.2, message="the old primary turned into a replica")
        summary, acked = load.finish()
        db = Db(own_db)
        wait_delivered(db, department, acked)
        db.close()
        print(f"loadgen: {summary}")
        log = daemon.log_text()
        assert f"the sentinels announce a failover of '{MASTER}' to 127.0.0.1:{replica.port}" in log, log[-3000:]
        assert f"Redis ready at 127.0.0.1:{replica.port}" in log
        # every consumer is on the new primary: none is left on the old one
        try:
            clients = primary.client.client_list()
        except redis.exceptions.ConnectionError:  # killed once more by a sentinel
            clients = primary.client.client_list()
        assert not [c for c in clients if c.get("cmd", "").startswith(("xreadgroup", "evalsha"))], clients
    finally:
        stop_all(daemon, load, department)


def test_publishes_into_a_cut_off_old_primary_are_published_again(binaries, own_db, tmp_path):
    """Split brain, as when a failover leaves the old primary running, cut off from
    its replicas but not from some daemons: daemon B publishes into Redis Y (the old
    primary, its dataset) while daemon A, on Redis X (the new one), has claimed a
    rebuild in PostgreSQL. B's publishes into Y are lost once Y is demoted, so B must
    not delete their outbox rows: PostgreSQL's bus_epoch no longer names Y's
    dataset. A's sweeper publishes them into X, and A's department gets them all."""
    servers = []
    daemons = []
    department = None
    try:
        for name in ("x", "y"):
            server = RedisServer(tmp_path / f"redis-{name}")
            server.start()
            servers.append(server)
        x, y = servers
        dept, feed = new_code("split"), new_code("splitf")
        rules = tmp_path / "all.rules"
        rules.write_text(f"rule all -> {dept}\n")
        for server in servers:
            r = run([binaries.hotlinectl, "--redis", server.address, "route", "load", rules])
            assert r.returncode == 0, r.stderr
        overrides = routing_overrides(depts=[dept], feeds=[feed], routing={"relay_interval_ms": 200})
        b = Daemon(binaries, tmp_path / "b", own_db, y.address, overrides)
        daemons.append(b)
        b.start()
        a = Daemon(binaries, tmp_path / "a", own_db, x.address, overrides)
        daemons.append(a)
        a.start()  # rebuilds X: PostgreSQL's bus_epoch names X's dataset from now on
        db = Db(own_db)
        epoch = db.query("SELECT epoch FROM bus_epoch")[0]["epoch"]
        assert redis.Redis(unix_socket_path=x.address).get("hotline:epoch").decode() == epoch
        assert redis.Redis(unix_socket_path=y.address).get("hotline:epoch").decode() != epoch

        department = Department(binaries, a, dept, tmp_path / "dept.jsonl")
        f = FeedClient(b, feed)
        tickets = [f.intake(f"split-{i}-{uuid.uuid4().hex[:8]}", content=f"裂脑 {i}") for i in range(20)]
        f.close()
        yd = redis.Redis(unix_socket_path=y.address)
        wait_until(lambda: yd.xlen(f"hotline:dept:{dept}") >= len(tickets), 10,
                   message="B publishing into Y")
        wait_delivered(db, department, tickets, timeout=30)
        db.close()
    finally:
        if department is not None:
            department.stop()
        for d in daemons:
            stop_all(d)
        for server in servers:
            server.destroy()
