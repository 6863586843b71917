"""Fixtures for hotlined's integration tests: real PostgreSQL, Redis and daemon.

Owns: one throwaway PostgreSQL (fsync=off) and one Redis per session, started with
deploy/pgtmp in pytest's temporary directory; the schema, applied with
`hotlinectl migrate`; hotlined processes started from generated configs on free
loopback ports, each written with mode 0600; the Python protobuf classes, generated
from proto/hotline.proto.
Never: touches the developer's .dev/ servers or any system cluster.

Environment:
  HOTLINE_BUILD   build directory whose daemon/hotlined and tools/hotlinectl are
                  tested (default: build), relative to the repository root or absolute.
  HOTLINE_TEST_CLOCK  an RFC 3339 instant (2027-03-01T09:00:00+08:00): every daemon
                  the suite starts runs its clock from there (HOTLINED_CLOCK_START), so
                  the whole suite can be run "on" any date; tests that need the
                  daemon's "now" ask Daemon.now_ms(). Tests that pin a date of their
                  own pass clock= to start_hotlined.
Teardown of every daemon sends SIGTERM and asserts exit code 0 and a stderr free of
sanitizer reports (ASan, LSan, UBSan).

Run: /usr/bin/python3 -m pytest tests/integration   (Debian's python3 has the
python3-pytest, -psycopg, -protobuf and -redis packages; a pyenv python3 may not).
"""

import configparser
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

import hotline_client

REPO = Path(__file__).resolve().parents[2]
PGTMP = REPO / "deploy" / "pgtmp"
EXAMPLE_CONF = REPO / "deploy" / "hotlined.conf.example"

SANITIZER_MARKS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
)



def _example_feeds():
    cfg = configparser.ConfigParser(interpolation=None, comment_prefixes=(";", "#"))
    cfg.read(EXAMPLE_CONF)
    return {
        name[len("feed.") :]: cfg[name]["token"]
        for name in cfg.sections()
        if name.startswith("feed.") and "token" in cfg[name]
    }


# {feed code: token} of deploy/hotlined.conf.example, which every test config keeps
# (the tests use water and power). Tokens are distinct per role and per id:
# CODE-feed-secret, CODE-dept-secret, agent-terminal-secret. An Open311 client's feed
# has an open311_key instead of a token, and is not listed here.
FEEDS = _example_feeds()


def pytest_configure(config):
    """Generates hotline_pb2 with Debian's protoc into a temporary directory."""
    outdir = tempfile.mkdtemp(prefix="hotline-pb2-")
    config.add_cleanup(lambda: shutil.rmtree(outdir, ignore_errors=True))
    subprocess.run(
        ["protoc", "--proto_path=proto", f"--python_out={outdir}", "proto/hotline.proto"],
        cwd=REPO,
        check=True,
    )
    sys.path.insert(0, outdir)
    hotline_client.load_proto(importlib.import_module("hotline_pb2"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the item so fixtures can tell a failed test."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


# ------------------------------------------------------------------ helpers


def free_ports(n):
    """n distinct free loopback ports: all bound at once, so two calls in a row cannot
    hand out the same port (which the kernel may do for a port just closed)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def write_private(path, config):
    """Writes a config (a ConfigParser, str or bytes) readable by its owner only: hotlined
    refuses a file that holds tokens and that group or others may read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # os.open's mode applies only to a new file
    with os.fdopen(fd, "wb" if isinstance(config, bytes) else "w") as f:
        if isinstance(config, (str, bytes)):
            f.write(config)
        else:
            config.write(f)


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run([str(c) for c in cmd], **kw)


def build_dir():
    path = Path(os.environ.get("HOTLINE_BUILD", "build"))
    return path if path.is_absolute() else REPO / path


class Binaries:
    def __init__(self, build):
        self.build = build
        self.hotlined = build / "daemon" / "hotlined"
        self.hotlinectl = build / "tools" / "hotlinectl"
        self.dept = build / "tools" / "hotline-dept"
        self.sanitized = False
        opts = build / "meson-info" / "intro-buildoptions.json"
        if opts.exists():
            for opt in json.loads(opts.read_text()):
                if opt.get("name") == "b_sanitize" and opt.get("value") not in ("none", "", None):
                    self.sanitized = True


@pytest.fixture(scope="session")
def binaries():
    b = Binaries(build_dir())
    for exe in (b.hotlined, b.hotlinectl):
        if not os.access(exe, os.X_OK):
            pytest.fail(f"{exe} is missing: build first (meson setup {b.build} && ninja -C {b.build})")
    return b


class PgServer:
    """A pgtmp cluster: conninfo for libpq/psycopg, restart for fault tests."""

    def __init__(self, directory):
        self.dir = directory
        self.conninfo = None

    def start(self):
        r = run([PGTMP, "pg-start", self.dir, "--fsync", "off", "--port", "5433"])
        if r.returncode != 0:
            pytest.fail(f"pgtmp pg-start failed:\n{r.stderr}")
        self.conninfo = r.stdout.strip().splitlines()[-1]

    def restart(self):
        """pg_ctl restart -m fast; returns when the server accepts connections again."""
        r = run([PGTMP, "pg-restart", self.dir])
        assert r.returncode == 0, f"pgtmp pg-restart failed:\n{r.stderr}"

    def stop(self):
        run([PGTMP, "pg-stop", self.dir])

    def destroy(self):
        run([PGTMP, "pg-destroy", self.dir])


@pytest.fixture(scope="session")
def pg(tmp_path_factory):
    server = PgServer(tmp_path_factory.mktemp("pg") / "cluster")
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def proxy(pg):
    """A pg_proxy.PgProxy in front of the session's cluster (its .conninfo for the
    daemon): loses commit confirmations or holds statements back on demand."""
    from pg_proxy import PgProxy

    parts = dict(kv.split("=", 1) for kv in pg.conninfo.split())
    p = PgProxy(f"{parts['host']}/.s.PGSQL.{parts['port']}")
    p.conninfo = (f"host=127.0.0.1 port={p.port} user={parts['user']} dbname={parts['dbname']}"
                  " sslmode=disable gssencmode=disable")
    yield p
    p.stop()


@pytest.fixture
def pg_restart(pg):
    """Callable restarting PostgreSQL (pg_ctl restart -m fast)."""
    return pg.restart


class RedisServer:
    def __init__(self, directory):
        self.dir = directory
        self.address = None

    def start(self):
        r = run([PGTMP, "redis-start", self.dir])
        if r.returncode != 0:
            pytest.fail(f"pgtmp redis-start failed:\n{r.stderr}")
        self.address = r.stdout.strip().splitlines()[-1]

    def restart(self):
        r = run([PGTMP, "redis-restart", self.dir])
        assert r.returncode == 0, f"pgtmp redis-restart failed:\n{r.stderr}"

    def destroy(self):
        run([PGTMP, "redis-destroy", self.dir])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis") / "server")
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def schema(pg, binaries):
    """The database with the schema applied by hotlinectl migrate; returns the conninfo."""
    r = run([binaries.hotlinectl, "--dsn", pg.conninfo, "migrate"])
    assert r.returncode == 0, f"hotlinectl migrate failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, f"hotlinectl migrate: {mark}\n{r.stderr}"
    return pg.conninfo


class Db:
    """Queries from a connection of its own (autocommit), reconnecting after a restart."""

    def __init__(self, conninfo):
        self.conninfo = conninfo
        self.conn = None

    def _connect(self):
        self.conn = psycopg.connect(self.conninfo, autocommit=True, row_factory=dict_row)

    def query(self, sql, params=None, retry_seconds=30.0):
        deadline = time.monotonic() + retry_seconds
        while True:
            try:
                if self.conn is None or self.conn.closed:
                    self._connect()
                with self.conn.cursor() as cur:
                    cur.execute(sql, params)
                    return cur.fetchall() if cur.description else []
            except psycopg.OperationalError:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def ticket(self, ticket_no):
        rows = self.query(
            "SELECT ticket_no, feed_code, external_id, caller_phone, content, state"
            " FROM tickets WHERE ticket_no = %s",
            (ticket_no,),
        )
        assert len(rows) <= 1, f"{len(rows)} rows with ticket_no {ticket_no}"
        return rows[0] if rows else None

    def tickets_by_external_id(self, feed_code, external_id):
        return self.query(
            "SELECT ticket_no, feed_code, external_id, caller_phone, content"
            " FROM tickets WHERE feed_code = %s AND external_id = %s",
            (feed_code, external_id),
        )

    def count_external_id(self, feed_code, external_id):
        return len(self.tickets_by_external_id(feed_code, external_id))

    def tickets_with_prefix(self, feed_code, prefix):
        """{external_id: ticket_no} for the feed's records whose external_id starts with prefix."""
        rows = self.query(
            "SELECT external_id, ticket_no FROM tickets"
            " WHERE feed_code = %s AND starts_with(external_id, %s)",
            (feed_code, prefix),
        )
        return {r["external_id"]: r["ticket_no"] for r in rows}

    def close(self):
        if self.conn is not None:
            self.conn.close()


@pytest.fixture(scope="session")
def db(schema):
    d = Db(schema)
    yield d
    d.close()


# ------------------------------------------------------------------ hotlined


class Daemon:
    """One hotlined process from a generated config; stderr goes to a log file.

    clock: None (the suite's HOTLINE_TEST_CLOCK, else the system clock) or an RFC 3339
    instant the daemon's clock starts at (HOTLINED_CLOCK_START)."""

    def __init__(self, binaries, workdir, conninfo, redis_address, overrides=None, clock=None):
        self.binaries = binaries
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary_port, self.json_port, self.http_port, self.ops_port = free_ports(4)
        self.conf_path = self.workdir / "hotlined.conf"
        self.log_path = self.workdir / "hotlined.log"
        self.config = self._make_config(conninfo, redis_address, overrides or {})
        write_private(self.conf_path, self.config)
        self.proc = None
        self.returncode = None
        self.start_failed = False  # start() already failed the test; teardown stays quiet
        self.clock = clock  # None: the suite's clock (hotline_client.now_ms)
        self.clock_offset_ms = hotline_client.suite_clock_offset_ms()

    def now_ms(self):
        """The daemon's clock now (unix ms): the system clock plus its offset."""
        return int(time.time() * 1000) + self.clock_offset_ms

    def _make_config(self, conninfo, redis_address, overrides):
        cfg = configparser.ConfigParser(interpolation=None, comment_prefixes=(";", "#"))
        cfg.read(EXAMPLE_CONF)
        cfg["hotlined"]["listen_binary"] = f"127.0.0.1:{self.binary_port}"
        cfg["hotlined"]["listen_json"] = f"127.0.0.1:{self.json_port}"
        cfg["http"]["listen"] = f"127.0.0.1:{self.http_port}"
        cfg["http"]["ops_listen"] = f"127.0.0.1:{self.ops_port}"
        cfg["hotlined"]["shutdown_timeout_ms"] = "10000"
        cfg["postgres"]["conninfo"] = conninfo
        cfg["postgres"]["reconnect_max_ms"] = "1000"
        cfg["redis"]["address"] = redis_address
        for section, values in overrides.items():
            if not cfg.has_section(section):
                cfg.add_section(section)
            for key, value in values.items():
                cfg[section][key] = str(value)
        return cfg

    def setting(self, section, key):
        return self.config[section][key]

    def start(self, ready_timeout=30.0, wait_redis=True, env=None, journal_stream=False):
        """Starts the process; returns once both ports accept and (wait_redis) the
        daemon says Redis is ready (its data verified: it publishes and serves
        callbacks from then on). env: variables added to the daemon's environment
        (NOTIFY_SOCKET, WATCHDOG_USEC, ...); journal_stream: set JOURNAL_STREAM to the
        log file's device and inode, as systemd does when stderr is the journal."""
        log = open(self.log_path, "wb")
        extra_env = env or {}
        env = dict(os.environ)
        env.pop("HOTLINED_CLOCK_START", None)
        for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"):
            env.pop(name, None)  # only what the test gives: the suite may run under systemd
        env.update(extra_env)
        if journal_stream:
            st = os.fstat(log.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        if self.clock:
            env["HOTLINED_CLOCK_START"] = str(self.clock)
            self.clock_offset_ms = hotline_client.clock_start_ms(self.clock) - int(time.time() * 1000)
        elif self.clock_offset_ms:
            env["HOTLINED_CLOCK_START"] = str(hotline_client.now_ms())
        self.proc = subprocess.Popen(
            [str(self.binaries.hotlined), "-c", str(self.conf_path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + ready_timeout
        ports = [self.binary_port, self.json_port]
        if self.config["http"]["listen"]:
            ports.append(self.http_port)
        for port in ports:
            while True:
                if self.proc.poll() is not None:
                    self.start_failed = True
                    pytest.fail(f"hotlined exited with {self.proc.returncode} at start:\n{self.log_tail()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        self.start_failed = True
                        self.proc.kill()
                        self.proc.wait()
                        pytest.fail(f"hotlined does not accept on port {port}:\n{self.log_tail()}")
                    time.sleep(0.05)
        while wait_redis and "bus: Redis ready at" not in self.log_text():
            if self.proc.poll() is not None:
                self.start_failed = True
                pytest.fail(f"hotlined exited with {self.proc.returncode} at start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.start_failed = True
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"hotlined never said Redis is ready:\n{self.log_tail()}")
            time.sleep(0.05)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum):
        self.proc.send_signal(signum)

    def wait(self, timeout):
        """The exit code, or None if still running after timeout seconds."""
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self):
        """SIGTERM and wait; returns the exit code (SIGKILL after the timeout, then fails)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            timeout = int(self.setting("hotlined", "shutdown_timeout_ms")) / 1000 + 20
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"hotlined did not exit within {timeout} s of SIGTERM:\n{self.log_tail()}")
        self.returncode = self.proc.returncode
        return self.returncode

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=60):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def sanitizer_reports(self):
        text = self.log_text()
        return [mark for mark in SANITIZER_MARKS if mark in text]

    # clients

    def binary(self, timeout=10.0):
        return hotline_client.BinaryClient("127.0.0.1", self.binary_port, timeout)

    def json(self, timeout=10.0):
        return hotline_client.JsonClient("127.0.0.1", self.json_port, timeout)

    def feed(self, feed="water", timeout=10.0):
        """A binary connection past Hello, as feed (asserts the Welcome)."""
        client = self.binary(timeout)
        reply = client.hello(feed, FEEDS[feed])
        assert reply.WhichOneof("msg") == "welcome", f"hello as {feed}: {reply}"
        return client

    def json_feed(self, feed="water", timeout=10.0):
        client = self.json(timeout)
        reply = client.hello(feed, FEEDS[feed])
        assert reply.get("type") == "welcome", f"hello as {feed}: {reply}"
        return client


@pytest.fixture
def start_hotlined(request, binaries, schema, redis_server, tmp_path):
    """Factory: start_hotlined(overrides={section: {key: value}}, clock=None,
    wait_redis=True, env=None, journal_stream=False) -> a running Daemon (clock: see
    Daemon; wait_redis, env, journal_stream: see Daemon.start).

    Teardown stops every daemon it started (SIGTERM) and asserts exit code 0 and no
    sanitizer report in its stderr.
    """
    daemons = []

    def start(overrides=None, clock=None, wait_redis=True, env=None, journal_stream=False):
        d = Daemon(binaries, tmp_path / f"hotlined{len(daemons)}", schema, redis_server.address, overrides,
                   clock=clock)
        daemons.append(d)
        return d.start(wait_redis=wait_redis, env=env, journal_stream=journal_stream)

    yield start

    problems = []
    for d in daemons:
        if d.start_failed:
            continue
        rc = d.stop()
        if rc != 0:
            problems.append(f"hotlined exited with {rc} (expected 0)")
        for mark in d.sanitizer_reports():
            problems.append(f"hotlined stderr has {mark!r}")
        failed = getattr(request.node, "rep_call", None)
        if problems or (failed is not None and failed.failed):
            print(f"---- hotlined log ({d.log_path}), last lines ----\n{d.log_tail(80)}")
    assert not problems, "; ".join(problems)


@pytest.fixture
def hotlined(start_hotlined):
    """A hotlined with the example config pointed at the session's servers."""
    return start_hotlined()


# ------------------------------------------------- routing test modules' shared


@pytest.fixture(scope="module")
def rds(redis_server):
    """A redis-py client of the session's Redis."""
    from routing_helpers import redis_client
    client = redis_client(redis_server.address)
    yield client
    client.close()


@pytest.fixture(scope="module")
def empty_rules(binaries, redis_server, db, rds, tmp_path_factory):
    """An empty rule set in force for the whole module, and after it: no rule set of
    another module routes its tickets (a merged feed's wait on the desk; sub-centre
    feeds send theirs to their own department). Modules that want it:
    pytestmark = pytest.mark.usefixtures("empty_rules")."""
    from routing_helpers import load_rules
    path = tmp_path_factory.mktemp("rules") / "empty.rules"
    load_rules(binaries, redis_server, db, rds, path, "")
    yield
    load_rules(binaries, redis_server, db, rds, path, "")


@pytest.fixture(scope="module")
def neutral_rules_afterwards(binaries, redis_server, db, rds, tmp_path_factory):
    """Leaves an empty rule set in force when the module is done, so later test
    files do not route by its rules. Modules that load rules use it:
    pytestmark = pytest.mark.usefixtures("neutral_rules_afterwards")."""
    from routing_helpers import load_rules
    yield
    load_rules(binaries, redis_server, db, rds, tmp_path_factory.mktemp("rules") / "empty.rules", "")
