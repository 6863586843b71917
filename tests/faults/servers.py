"""servers.py - what the fault suite runs and breaks: PostgreSQL and Redis (through
deploy/pgtmp), and hotlined.

Owns: one throwaway PostgreSQL cluster and one Redis in the run's work directory (the
daemons reach PostgreSQL through tests/integration/pg_proxy.py's PgProxy, so that a
connection can be cut right after a commit, before its confirmation reaches the
daemon, or held back); Slot, one hotlined (its config, ports and log survive
restarts, so clients reconnect to the same place); Daemons, the slots together with a
monitor that samples each process's memory and descriptors and notices any exit the
suite did not cause.
Never: signals a process it did not start (Redis is frozen through the pid in its
pidfile, as pgtmp stops it; daemons through their Popen), or touches a server
outside the work directory.
Callers: suite.py, injector.py, clients.py (Daemons.live_ports).
"""

import configparser
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from pg_proxy import PgProxy  # tests/integration/pg_proxy.py

REPO = Path(__file__).resolve().parents[2]
PGTMP = REPO / "deploy" / "pgtmp"
EXAMPLE_CONF = REPO / "deploy" / "hotlined.conf.example"
FAULT_EXIT = 86  # daemon/fault.h FAULT_EXIT_STATUS
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def run(cmd, timeout=120, check=True):
    """Runs a command; returns its stdout. Raises RuntimeError with its stderr on failure."""
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(str(c) for c in cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def free_ports(n):
    """n distinct free loopback ports (all bound at once, so none is handed out twice)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


# ------------------------------------------------------------------ PostgreSQL, Redis


class PgServer:
    """The run's PostgreSQL cluster (fsync=off: no fault here crashes the machine, so
    committed data survives every one of them anyway)."""

    def __init__(self, directory, port=5434):
        self.dir = Path(directory)
        self.port = port
        self.conninfo = None

    def start(self):
        out = run([PGTMP, "pg-start", self.dir, "--fsync", "off", "--port", self.port])
        self.conninfo = out.strip().splitlines()[-1]

    def restart_after_kill(self):
        run([PGTMP, "pg-start", self.dir])

    def kill(self):
        """pg_ctl stop -m immediate: every backend dies at once, as in a crash."""
        run([PGTMP, "pg-kill", self.dir])

    def running(self):
        return subprocess.run([str(PGTMP), "pg-status", str(self.dir)], capture_output=True).returncode == 0

    def socket_path(self):
        parts = dict(kv.split("=", 1) for kv in self.conninfo.split())
        return f"{parts['host']}/.s.PGSQL.{parts['port']}"

    def user(self):
        return dict(kv.split("=", 1) for kv in self.conninfo.split())["user"]

    def destroy(self):
        run([PGTMP, "pg-destroy", self.dir], check=False)


class RedisServer:
    """The run's Redis: no persistence, so a restart loses everything."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.address = None
        self.frozen = False

    def start(self):
        self.address = run([PGTMP, "redis-start", self.dir]).strip().splitlines()[-1]

    def stop(self):
        self.thaw()
        run([PGTMP, "redis-stop", self.dir])

    def restart(self):
        self.thaw()
        run([PGTMP, "redis-restart", self.dir])

    def pid(self):
        try:
            return int((self.dir / "redis.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def freeze(self):
        """SIGSTOP: Redis keeps its connections open and answers nothing."""
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGSTOP)
            self.frozen = True

    def thaw(self):
        pid = self.pid()
        if self.frozen and pid:
            os.kill(pid, signal.SIGCONT)
        self.frozen = False

    def destroy(self):
        self.thaw()
        run([PGTMP, "redis-destroy", self.dir], check=False)


# ------------------------------------------------------------------ hotlined


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class Slot:
    """One hotlined place: its ports, config and log stay across restarts."""

    def __init__(self, index, hotlined, workdir, config_text_fn):
        self.index = index
        self.hotlined = hotlined
        self.binary_port, self.json_port, self.http_port, self.ops_port = free_ports(4)
        self.conf_path = Path(workdir) / f"hotlined{index}.conf"
        self.log_path = Path(workdir) / f"hotlined{index}.log"
        write_private(self.conf_path, config_text_fn(self))
        self.proc = None  # its .expect_exit: None (any exit is a crash) or the codes we caused
        self.starts = 0
        self.max_rss_kb = 0
        self.max_fds = 0
        self.lock = threading.Lock()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, fault=None, clock_start_ms=None):
        """Starts the daemon (fault: a HOTLINED_FAULT crash point for this run;
        clock_start_ms: HOTLINED_CLOCK_START, where its clock starts)."""
        with self.lock:
            assert not self.running(), f"slot {self.index} already runs"
            env = dict(os.environ)
            env.pop("HOTLINED_FAULT", None)
            env.pop("HOTLINED_CLOCK_START", None)
            if fault:
                env["HOTLINED_FAULT"] = fault
            if clock_start_ms is not None:
                env["HOTLINED_CLOCK_START"] = str(clock_start_ms)
            log = open(self.log_path, "ab")
            log.write(f"==== fault suite: start #{self.starts + 1}"
                      f"{' with HOTLINED_FAULT=' + fault if fault else ''}\n".encode())
            log.flush()
            self.proc = subprocess.Popen([str(self.hotlined), "-c", str(self.conf_path)], env=env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            log.close()
            self.proc.expect_exit = {FAULT_EXIT} if fault else None
            self.starts += 1
            return self.proc.pid

    def handles_signals(self):
        """True once this run logged "started (pid N ...)": its signal handlers are in
        place. Before that a SIGHUP can arrive before main() even runs (a sanitizer
        build spends tens of ms loading) and kill it, which no supervisor does:
        systemd holds a reload until the daemon said READY."""
        if not self.running():
            return False
        try:
            text = self.log_path.read_bytes()[-4_000_000:].decode(errors="replace")
        except FileNotFoundError:
            return False
        return f"started (pid {self.proc.pid}," in text

    def kill9(self):
        """kill -9 and reap; returns the pid killed, or None when it was not running."""
        with self.lock:
            if not self.running():
                return None
            self.proc.expect_exit = {-signal.SIGKILL}
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            return self.proc.pid

    def terminate(self, timeout=40):
        """SIGTERM (graceful stop); returns the exit code (None: killed after the timeout)."""
        with self.lock:
            if self.proc is None:
                return 0
            if self.proc.poll() is not None:
                return self.proc.returncode
            self.proc.expect_exit = {0}
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.expect_exit = {-signal.SIGKILL}
                self.proc.kill()
                self.proc.wait()
                return None

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_tail(self, lines=40):
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def proc_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


class Daemons:
    """The slots, and a monitor thread: every interval it samples each running daemon's
    VmRSS and open descriptors, and records every exit the suite did not cause (a
    crash) with the end of that daemon's log."""

    def __init__(self, hotlined, workdir, nslots, config_text_fn, log):
        self.slots = [Slot(i, hotlined, workdir, config_text_fn) for i in range(nslots)]
        self.log = log
        self.crashes = []
        self.samples = []  # (monotonic, slot, pid, rss_kb, fds)
        self.stopping = False
        self.thread = threading.Thread(target=self._monitor, name="daemon-monitor", daemon=True)

    def start_monitor(self):
        self.thread.start()

    def _monitor(self):
        seen_exit = {}
        while not self.stopping:
            for slot in self.slots:
                proc = slot.proc
                if proc is None:
                    continue
                rc = proc.poll()
                if rc is None:
                    rss, fds = proc_rss_kb(proc.pid), proc_fds(proc.pid)
                    slot.max_rss_kb = max(slot.max_rss_kb, rss)
                    slot.max_fds = max(slot.max_fds, fds)
                    self.samples.append((time.monotonic(), slot.index, proc.pid, rss, fds))
                elif seen_exit.get(slot.index) != proc.pid:
                    seen_exit[slot.index] = proc.pid
                    expected = proc.expect_exit  # set before the suite signals it
                    if expected is None or rc not in expected:
                        self.crashes.append((slot.index, proc.pid, rc, slot.log_tail(60)))
                        self.log(f"CRASH: hotlined slot {slot.index} pid {proc.pid} exited with {rc}"
                                 " (not caused by the suite)")
            time.sleep(0.5)

    def running(self):
        return [s for s in self.slots if s.running()]

    def live_ports(self, kind="binary", slots=None):
        chosen = [s for s in self.running() if slots is None or s.index in slots]
        attr = {"binary": "binary_port", "json": "json_port", "http": "http_port"}[kind]
        return [getattr(s, attr) for s in chosen]

    def random_port(self, rng, kind="binary", slots=None):
        ports = self.live_ports(kind, slots)
        return rng.choice(ports) if ports else None

    def stop_monitor(self):
        self.stopping = True
        self.thread.join(5)

    def sanitizer_reports(self):
        found = []
        for slot in self.slots:
            try:
                text = slot.log_path.read_text(errors="replace")
            except FileNotFoundError:
                continue
            found += [(slot.index, mark) for mark in SANITIZER_MARKS if mark in text]
        return found


def daemon_config(slot, pg_conninfo, redis_address, feeds, depts, overrides):
    """The example config with the suite's ports, servers, feeds and departments.
    feeds: {code: (token, mode, dept or None)}; depts: {code: token}."""
    cfg = configparser.ConfigParser(interpolation=None, comment_prefixes=(";", "#"))
    cfg.read(EXAMPLE_CONF)
    for section in [s for s in cfg.sections() if s.startswith(("feed.", "dept."))]:
        cfg.remove_section(section)
    cfg["hotlined"]["listen_binary"] = f"127.0.0.1:{slot.binary_port}"
    cfg["hotlined"]["listen_json"] = f"127.0.0.1:{slot.json_port}"
    cfg["http"]["listen"] = f"127.0.0.1:{slot.http_port}"
    cfg["http"]["ops_listen"] = f"127.0.0.1:{slot.ops_port}"
    cfg["postgres"]["conninfo"] = pg_conninfo
    cfg["redis"]["address"] = redis_address
    cfg["calendar"]["dir"] = str(REPO / "deploy" / "calendar")
    for code, (token, mode, dept) in feeds.items():
        cfg[f"feed.{code}"] = {"name": f"fault suite feed {code}", "token": token, "mode": mode}
        if dept:
            cfg[f"feed.{code}"]["dept"] = dept
    for code, token in depts.items():
        cfg[f"dept.{code}"] = {"name": f"fault suite department {code}", "token": token}
    for section, values in overrides.items():
        if not cfg.has_section(section):
            cfg.add_section(section)
        for key, value in values.items():
            cfg[section][key] = str(value)
    from io import StringIO
    out = StringIO()
    cfg.write(out)
    return out.getvalue()


__all__ = ["Daemons", "FAULT_EXIT", "PgProxy", "PgServer", "RedisServer", "Slot", "daemon_config", "free_ports"]
