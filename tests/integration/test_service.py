"""hotlined as a systemd service: notifications, the watchdog, journal logging.

Owns: what hotlined tells systemd (READY=1 once listening, WATCHDOG=1 pings while
WATCHDOG_USEC asks for them, RELOADING=1 with MONOTONIC_USEC and READY=1 around a
SIGHUP reload that works or fails, STOPPING=1 at SIGTERM), read from a Unix datagram
socket standing in for systemd's NOTIFY_SOCKET; and the log format when stderr is the
journal (JOURNAL_STREAM naming stderr's device and inode: "<N>level: message").
Never: needs systemd running (this machine has no service manager; the unit itself
is checked by test_install.py with systemd-analyze).
"""

import os
import re
import signal
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import write_private

WATCHDOG_USEC = 1_000_000  # pings every 0.5 s (the janitor ticks every 0.2 s)


class NotifySocket:
    """systemd's side of sd_notify(3): each datagram a dict of its KEY=VALUE lines,
    with the time.monotonic() of its arrival (Python's CLOCK_MONOTONIC, the clock of
    MONOTONIC_USEC)."""

    def __init__(self):
        # A short path of its own: sun_path holds 108 bytes, pytest's tmp_path may not fit.
        self.dir = tempfile.mkdtemp(prefix="hl-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def receive(self, timeout):
        """(arrival, message) of the next datagram; fails after timeout seconds."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            pytest.fail(f"no notification within {timeout} s")
        fields = dict(line.split("=", 1) for line in data.decode().split("\n") if line)
        return time.monotonic(), fields

    def until(self, key, timeout=10.0):
        """The messages up to and including the first that has key, WATCHDOG=1 pings
        left out."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            _, message = self.receive(max(0.01, deadline - time.monotonic()))
            if message == {"WATCHDOG": "1"}:
                continue
            seen.append(message)
            if key in message:
                return seen

    def drain(self):
        """The datagrams already waiting, without waiting for more."""
        got = []
        self.sock.setblocking(False)
        try:
            while True:
                got.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return got
        finally:
            self.sock.setblocking(True)

    def collect(self, seconds):
        """Every (arrival, message) during the next seconds."""
        end = time.monotonic() + seconds
        got = []
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return got
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return got
            got.append((time.monotonic(), data.decode()))

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def notify():
    n = NotifySocket()
    yield n
    n.close()


def test_ready_watchdog_reload_stop(start_hotlined, notify):
    d = start_hotlined(env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)})

    # READY=1 first: start_hotlined returned once the ports accepted, so it was sent.
    _, first = notify.receive(5)
    assert first.get("READY") == "1", f"first notification: {first}"
    assert first.get("STATUS") == "running"
    assert "systemd: watchdog every 1000 ms" in d.log_text()

    # WATCHDOG=1 every half interval: never two in one janitor tick, never a gap the
    # watchdog would kill the daemon for. The pings sent while the daemon started
    # waited in the socket: their arrival times say nothing.
    queued = notify.drain()
    assert queued and all(text == "WATCHDOG=1" for text in queued), queued
    pings = notify.collect(3.0)
    assert pings and all(text == "WATCHDOG=1" for _, text in pings), pings
    times = [at for at, _ in pings]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(pings) >= 4, f"{len(pings)} pings in 3 s: {gaps}"
    assert min(gaps) >= 0.4, f"pings closer than half the watchdog interval: {gaps}"
    assert max(gaps) < WATCHDOG_USEC / 1e6, f"a gap the watchdog would have fired on: {gaps}"

    # SIGHUP: RELOADING=1 stamped with CLOCK_MONOTONIC, then READY=1.
    before = time.monotonic()
    d.signal(signal.SIGHUP)
    reloading, ready = notify.until("READY")
    after = time.monotonic()
    assert reloading.get("RELOADING") == "1", reloading
    assert before * 1e6 <= int(reloading["MONOTONIC_USEC"]) <= after * 1e6
    assert ready.get("READY") == "1" and ready.get("STATUS") == "running; configuration reloaded"

    # A reload that fails keeps the running config, and the daemon is ready again.
    d.conf_path.write_text("[hotlined]\nno_such_option = 1\n")
    d.signal(signal.SIGHUP)
    reloading, ready = notify.until("READY")
    assert reloading.get("RELOADING") == "1"
    assert ready.get("READY") == "1" and "the last reload failed" in ready["STATUS"], ready
    write_private(d.conf_path, d.config)

    # SIGTERM: STOPPING=1, then the graceful stop.
    d.signal(signal.SIGTERM)
    (stopping,) = notify.until("STOPPING")
    assert stopping.get("STOPPING") == "1" and stopping["STATUS"].startswith("stopping")
    assert d.wait(30) == 0, d.log_tail()


def test_no_watchdog_without_watchdog_usec(start_hotlined, notify):
    d = start_hotlined(env={"NOTIFY_SOCKET": notify.path})
    _, first = notify.receive(5)
    assert first.get("READY") == "1"
    assert notify.collect(1.0) == [], "WATCHDOG=1 sent although systemd asked for none"
    assert "watchdog" not in d.log_text()


LINE = re.compile(r"<([0-7])>(debug|info|warn|error): ")
PRIORITY = {"debug": "7", "info": "6", "warn": "4", "error": "3"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


def wait_for_log(d, text, timeout=10.0):
    deadline = time.monotonic() + timeout
    while text not in d.log_text():
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{d.log_tail()}"
        time.sleep(0.05)


def test_journal_lines_carry_priorities(start_hotlined):
    d = start_hotlined(journal_stream=True)
    # An error (a reload of a broken file) and a warning (a restart-only change).
    d.conf_path.write_text("[hotlined]\nno_such_option = 1\n")
    d.signal(signal.SIGHUP)
    wait_for_log(d, "reload failed")
    d.config["hotlined"]["max_connections"] = "4000"
    write_private(d.conf_path, d.config)
    d.signal(signal.SIGHUP)
    wait_for_log(d, "need a restart")
    assert d.stop() == 0

    lines = d.log_text().splitlines()
    for line in lines:
        m = LINE.match(line)
        assert m, f"not a journal line: {line!r}"
        assert m.group(1) == PRIORITY[m.group(2)], line
    assert any(line.startswith("<6>info: hotlined ") and " started (pid " in line for line in lines)
    assert any(line.startswith("<3>error: reload failed, keeping the running configuration")
               for line in lines), lines
    assert any(line.startswith("<4>warn: reload: changed options that need a restart")
               for line in lines), lines
    assert any(line == "<6>info: stopped" for line in lines)


def test_journal_stream_of_another_file_changes_nothing(start_hotlined, tmp_path):
    """A child of a service inherits JOURNAL_STREAM while its stderr goes elsewhere."""
    other = tmp_path / "other"
    other.write_text("")
    st = os.stat(other)
    d = start_hotlined(env={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
    assert d.stop() == 0
    lines = d.log_text().splitlines()
    assert lines and all(TIMESTAMP.match(line) for line in lines), lines[:5]
    assert any(" info hotlined: stopped" in line for line in lines)


def test_start_up_failure_in_the_journal(binaries, tmp_path):
    """A refused config is an error line for journalctl -p err, not a bare message."""
    conf = tmp_path / "hotlined.conf"
    conf.write_text("[feed.water]\ntoken = water-feed-secret\n")
    conf.chmod(0o644)
    log_path = tmp_path / "stderr"
    for journal in (True, False):
        with open(log_path, "wb") as log:
            env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
            if journal:
                st = os.fstat(log.fileno())
                env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
            rc = subprocess.run([binaries.hotlined, "-c", conf], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, env=env, timeout=30).returncode
        text = log_path.read_text()
        assert rc == 1, text
        prefix = "<3>error: " if journal else "hotlined: "
        assert text.startswith(prefix + f"{conf}: mode 0644 lets group or others read it"), text


def _blocks_sigterm(pid):
    """True while the process holds SIGTERM blocked (hotlined's start, before its
    handlers exist); False once not, or once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigBlk:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except OSError:
        pass
    return False


def test_sigterm_while_starting_is_a_graceful_stop(start_hotlined):
    """A stop asked for while the daemon is still starting (a supervisor's SIGTERM a
    moment after a restart) ends it with status 0, as a stop, not killed by the signal
    (which a supervisor counts as a crash): the signal waits, blocked, for the handler."""
    d = start_hotlined()
    assert d.stop() == 0
    caught = 0
    for attempt in range(40):
        log_path = d.workdir / f"start-{attempt}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([str(d.binaries.hotlined), "-c", str(d.conf_path)],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 5
        while not _blocks_sigterm(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            pass  # the start's window is a few ms: look as often as possible
        in_window = _blocks_sigterm(proc.pid)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
        text = log_path.read_text(errors="replace")
        assert rc == 0, (rc, text)
        if in_window:
            caught += 1
            assert "stopping" in text and "stopped" in text, text
        if caught >= 3:
            break
    assert caught >= 3, f"the start's window was seen {caught} times in {attempt + 1}"
