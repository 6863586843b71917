"""A Redis that requires a password ([redis] password, AUTH on every connection):
the daemon and hotlinectl authenticate and routing works; a wrong password is
logged, and the daemon keeps running and keeps retrying."""

import subprocess
import time
import types
import uuid

import pytest
import redis

from routing_helpers import load_rules, new_code, new_keyword, new_phone, routing_overrides, wait_until

PASSWORD = "s3cret-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def locked_redis(tmp_path_factory):
    """A private redis-server with requirepass, on a Unix socket only."""
    d = tmp_path_factory.mktemp("locked-redis")
    sock = str(d / "redis.sock")
    proc = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock,
                             "--unixsocketperm", "700", "--requirepass", PASSWORD, "--save", "",
                             "--appendonly", "no", "--dir", str(d)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(unix_socket_path=sock, password=PASSWORD)
    try:
        wait_until(lambda: _pings(client), 10, message="the password-protected redis-server")
        yield types.SimpleNamespace(address=sock, client=client)
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


def _pings(client):
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


def overrides(locked, dept, password):
    out = routing_overrides(depts=[dept])
    out["redis"] = {"address": locked.address, "password": password}
    return out


def test_daemon_and_hotlinectl_authenticate(start_hotlined, binaries, db, locked_redis, tmp_path,
                                            monkeypatch):
    dept, keyword = new_code("auth"), new_keyword()
    # hotlinectl without a config takes the password from the environment
    monkeypatch.setenv("HOTLINE_REDIS_PASSWORD", PASSWORD)
    load_rules(binaries, locked_redis, db, locked_redis.client, tmp_path / "auth.rules",
               f"rule auth -> {dept}\n  keywords {keyword}\n")
    daemon = start_hotlined(overrides(locked_redis, dept, PASSWORD))
    with daemon.feed("water") as c:
        c.send_intake(external_id=f"auth-{uuid.uuid4().hex[:12]}", content=f"井盖缺失 {keyword}",
                      caller_phone=new_phone())
        while True:
            kind, msg = c.read_reply(15)
            if kind != "ticket_update":
                break
        assert kind == "ack", msg
    stream = f"hotline:dept:{dept}"
    wait_until(lambda: locked_redis.client.xlen(stream) == 1, 10,
               message="the ticket in its department's stream")
    [(_, fields)] = locked_redis.client.xrange(stream)
    assert fields[b"ticket_no"].decode() == msg.ticket_no
    assert "refused AUTH" not in daemon.log_text()


def test_hotlinectl_wrong_password_is_a_clear_error(binaries, locked_redis, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_REDIS_PASSWORD", "not-the-password")
    r = subprocess.run([str(binaries.hotlinectl), "--redis", locked_redis.address, "route", "show"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "refused AUTH" in r.stderr


def test_daemon_with_wrong_password_logs_and_keeps_trying(start_hotlined, locked_redis):
    dept = new_code("auth")
    daemon = start_hotlined(overrides(locked_redis, dept, "not-the-password"), wait_redis=False)
    wait_until(lambda: daemon.log_text().count("refused AUTH") >= 2, 15,
               message="AUTH refused, then refused again on the retry")
    assert daemon.proc.poll() is None, "hotlined exited because Redis refused it"
    assert "not-the-password" not in daemon.log_text(), "a password in the log"
    time.sleep(0.5)
    assert daemon.proc.poll() is None
