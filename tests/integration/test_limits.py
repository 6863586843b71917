"""Every limit is hit, and hitting it is back-pressure or a clear refusal, never a spin,
a flood of log lines or a reset connection.

- a frame over max_frame gets Error{FRAME_TOO_LARGE} even when more bytes follow
  (the daemon shuts its side and drains before closing, so no RST eats the Error);
- an HTTP request or a TLS hello on the binary port gets BAD_FRAME;
- connections refused at max_connections are logged once per burst;
- a descriptor limit too low for max_connections refuses to start; a soft limit
  below it is raised;
- accept() failing with EMFILE pauses the listeners instead of spinning.
"""

import os
import socket
import struct
import subprocess
import time

import pytest

import hotline_client as hc
from routing_helpers import wait_until


def pb():
    return hc.pb


def read_all(sock, timeout=10.0):
    """Everything the peer sends until it closes; raises ConnectionResetError on RST."""
    sock.settimeout(timeout)
    data = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(data)
        data += chunk


def frames_of(data):
    out = []
    while len(data) >= 4:
        (n,) = struct.unpack_from(">I", data)
        if len(data) < 4 + n:
            break
        out.append(pb().Frame.FromString(bytes(data[4 : 4 + n])))
        data = data[4 + n :]
    return out


def test_frame_too_large_arrives_even_with_more_bytes_behind_it(hotlined):
    """The client sends an oversize length and keeps writing; it must read
    Error{FRAME_TOO_LARGE}, then EOF, not ECONNRESET (20 tries)."""
    max_frame = int(hotlined.setting("hotlined", "max_frame"))
    for attempt in range(20):
        s = socket.create_connection(("127.0.0.1", hotlined.binary_port), timeout=10)
        s.sendall(hc.HEADER.pack(max_frame + 1) + os.urandom(64 * 1024 + attempt * 997))
        try:
            data = read_all(s)
        except ConnectionResetError:
            pytest.fail(f"attempt {attempt}: the connection was reset before the Error was read")
        finally:
            s.close()
        [frame] = frames_of(data)
        assert frame.WhichOneof("msg") == "error"
        assert hc.error_name(frame.error.code) == "ERROR_FRAME_TOO_LARGE"
    assert hotlined.alive()


@pytest.mark.parametrize("first_bytes,word", [
    (b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "HTTP"),
    (b"POST /api HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", "HTTP"),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 32, "TLS"),
], ids=["get", "post", "tls"])
def test_http_or_tls_on_the_binary_port_is_a_bad_frame(hotlined, first_bytes, word):
    s = socket.create_connection(("127.0.0.1", hotlined.binary_port), timeout=10)
    s.sendall(first_bytes)
    data = read_all(s)
    s.close()
    [frame] = frames_of(data)
    assert hc.error_name(frame.error.code) == "ERROR_BAD_FRAME", frame
    assert word in frame.error.message


def test_refused_connections_are_logged_once_per_burst(start_hotlined):
    daemon = start_hotlined({"hotlined": {"max_connections": 4, "max_unauthenticated": 4,
                                          "max_unauthenticated_per_address": 4}})
    held = [daemon.feed() for _ in range(4)]
    refused = 0
    for _ in range(300):
        s = socket.create_connection(("127.0.0.1", daemon.binary_port), timeout=5)
        s.settimeout(5)
        try:
            if s.recv(1) == b"":
                refused += 1
        except ConnectionResetError:
            refused += 1
        s.close()
    assert refused == 300
    time.sleep(0.3)
    lines = [l for l in daemon.log_text().splitlines() if "refusing connections" in l]
    assert 1 <= len(lines) <= 3, lines
    for c in held:
        c.close()


def prlimit_available():
    return subprocess.run(["prlimit", "--version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not prlimit_available(), reason="prlimit (util-linux) is missing")
def test_descriptor_limit_too_low_for_max_connections_refuses_to_start(binaries, tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("[hotlined]\nlisten_binary =\nlisten_json =\nmax_connections = 1000\n"
                    "max_unauthenticated = 100\n")
    conf.chmod(0o600)
    r = subprocess.run(["prlimit", "--nofile=200:200", str(binaries.hotlined), "-c", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r.stderr
    assert "max_connections = 1000 needs 2066 file descriptors" in r.stderr
    assert "hard limit is 200" in r.stderr


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def soft_nofile(pid):
    for line in open(f"/proc/{pid}/limits"):
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no 'Max open files' line")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not prlimit_available(), reason="prlimit (util-linux) is missing")
def test_accept_out_of_descriptors_pauses_instead_of_spinning(hotlined):
    """With RLIMIT_NOFILE exhausted, failed accept()s used to loop at ~95% CPU and log
    hundreds of thousands of lines a second."""
    pid = hotlined.proc.pid
    raised = soft_nofile(pid)
    assert raised >= 2 * 4096 + 2 + 64  # raised at start for max_connections
    soft = open_fds(pid) + 2
    subprocess.run(["prlimit", f"--pid={pid}", f"--nofile={soft}:"], check=True)
    socks = []
    try:
        for _ in range(40):  # most wait in the listen backlog: accept() fails with EMFILE
            socks.append(socket.create_connection(("127.0.0.1", hotlined.binary_port), timeout=5))
        before = cpu_seconds(pid)
        time.sleep(3.0)
        used = cpu_seconds(pid) - before
        assert used < 0.6, f"{used:.2f} s of CPU in 3 s with accept() failing"
        lines = [l for l in hotlined.log_text().splitlines() if "accept failed" in l]
        assert 1 <= len(lines) <= 3, lines[:5]
    finally:
        for s in socks:
            s.close()
        subprocess.run(["prlimit", f"--pid={pid}", f"--nofile={raised}:"], check=True)
    # descriptors are back: a feed gets in again within the pause
    wait_until(lambda: hotlined.feed().close() or True, 10, message="a feed connection accepted again")
    assert hotlined.alive()


def silent(daemon, host):
    """A connection from host (any 127.x.y.z: loopback) that never says Hello."""
    s = socket.socket()
    s.bind((host, 0))
    s.connect(("127.0.0.1", daemon.binary_port))
    return s


def closed_by_peer(sock, timeout=0.05):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def test_silent_connections_never_lock_feeds_out(start_hotlined):
    """1,000 connections that never said Hello used to fill max_connections and reset
    every new feed. Unauthenticated connections have their own limits (in all, and per
    source address); past them the oldest silent one is closed, so a feed that says
    Hello always gets in."""
    daemon = start_hotlined({"hotlined": {"max_connections": 64, "max_unauthenticated": 16,
                                          "max_unauthenticated_per_address": 4}})
    crowd = []
    for i in range(200):  # from 50 addresses, 4 each: far past both limits
        crowd.append(silent(daemon, f"127.0.{i % 50}.{2 + i // 50}"))
    time.sleep(0.5)
    alive = [s for s in crowd if not closed_by_peer(s)]
    assert len(alive) <= 16, len(alive)
    # one address alone keeps at most 4
    same = [silent(daemon, "127.0.99.9") for _ in range(10)]
    time.sleep(0.3)
    assert sum(not closed_by_peer(s) for s in same) <= 4
    # a feed still gets in, every time, while the crowd keeps reconnecting
    for _ in range(20):
        crowd.append(silent(daemon, "127.0.98.1"))
        c = daemon.feed("water")  # asserts the Welcome
        c.close()
    log = daemon.log_text()
    assert "has not said Hello" in log
    assert len([l for l in log.splitlines() if "has not said Hello" in l]) <= 3
    for s in crowd + same:
        s.close()


def test_a_runaway_feed_is_held_to_its_rate_and_never_starves_the_others(start_hotlined, db):
    """[feed.water] max_rate = 50, burst = 50: a feed firing 600 records at once gets
    the burst plus about 50 a second acknowledged and Error{UNAVAILABLE} naming the
    limit for the rest (none of those stored); another feed sending meanwhile is
    answered as fast as ever; a refused record resent a second later is taken; the
    refusals are counted on /metrics and logged once, not 550 times."""
    import http.client
    import threading
    import uuid

    daemon = start_hotlined({"feed.water": {"max_rate": "50", "burst": "50"}})
    tag = uuid.uuid4().hex[:8]
    ids = [f"run-{tag}-{i}" for i in range(600)]
    runaway = daemon.feed("water")
    other = daemon.feed("power")

    latencies = []

    def other_feed():
        for i in range(20):
            t0 = time.monotonic()
            ext = f"calm-{tag}-{i}"
            other.send_intake(external_id=ext, content="路灯不亮", caller_phone="13800000000")
            f = other.read_frame(timeout=10)
            assert f.WhichOneof("msg") == "intake_ack" and f.intake_ack.external_id == ext, f
            latencies.append(time.monotonic() - t0)

    calm = threading.Thread(target=other_feed)
    started = time.monotonic()
    runaway.send_raw(b"".join(hc.intake_frame(external_id=e, content="水管爆裂", caller_phone="13900000000")
                              for e in ids))
    calm.start()
    acked, refused = set(), {}
    while len(acked) + len(refused) < len(ids):
        f = runaway.read_frame(timeout=20)
        kind = f.WhichOneof("msg")
        if kind == "intake_ack":
            acked.add(f.intake_ack.external_id)
        elif kind == "error":
            refused[f.error.external_id] = f.error
    elapsed = time.monotonic() - started
    calm.join(30)
    assert len(latencies) == 20, "the other feed was not answered"
    assert max(latencies) < 2.0, f"the other feed waited {max(latencies):.2f} s"

    assert 50 <= len(acked) <= 50 + 50 * elapsed + 5, (len(acked), elapsed)
    assert len(refused) >= 600 - (50 + 50 * elapsed + 5)
    for err in refused.values():
        assert hc.error_name(err.code) == "ERROR_UNAVAILABLE"
        assert "over its rate limit" in err.message and "max_rate 50" in err.message
    stored = db.query("SELECT external_id FROM tickets WHERE feed_code = 'water' AND external_id LIKE %s",
                      (f"run-{tag}-%",))
    assert {r["external_id"] for r in stored} == acked, "refused records must not be stored"

    # Resent a second later (the bucket refilled), a refused record is taken.
    time.sleep(1.2)
    again = sorted(refused)[0]
    runaway.send_intake(external_id=again, content="水管爆裂", caller_phone="13900000000")
    f = runaway.read_frame(timeout=10)
    assert f.WhichOneof("msg") == "intake_ack" and f.intake_ack.external_id == again, f

    conn = http.client.HTTPConnection("127.0.0.1", daemon.ops_port, timeout=10)
    conn.request("GET", "/metrics")
    page = conn.getresponse().read().decode()
    conn.close()
    line = [x for x in page.splitlines() if x.startswith('hotline_intake_rate_limited_total{feed="water"}')]
    assert line and float(line[0].split()[-1]) == len(refused), line
    assert daemon.log_text().count("over its max_rate") <= 2


def test_a_silent_or_half_hello_is_closed_at_hello_timeout_ms(start_hotlined):
    """A connection that says nothing, or half a Hello, is closed once
    hello_timeout_ms passes; a feed past its Hello is not (it may be idle for hours)."""
    daemon = start_hotlined({"hotlined": {"hello_timeout_ms": 400}})
    silent_conn = socket.create_connection(("127.0.0.1", daemon.binary_port), timeout=10)
    half = socket.create_connection(("127.0.0.1", daemon.binary_port), timeout=10)
    hello = hc.encode_frame(pb().Frame(hello=pb().Hello(version=1, role=pb().ROLE_FEED, id="water",
                                                        token="water-feed-secret")))
    half.sendall(hello[: len(hello) // 2])
    feed = daemon.feed("water")
    started = time.monotonic()
    for s in (silent_conn, half):
        s.settimeout(5)
        try:
            rest = s.recv(65536)
        except ConnectionResetError:
            rest = b""
        assert rest == b"", "closed without a reply"
    waited = time.monotonic() - started
    assert 0.2 <= waited < 3.0, waited
    time.sleep(0.6)  # well past the timeout: the feed that said Hello stays
    feed.send_intake(external_id=f"after-{time.time_ns()}", content="路灯不亮", caller_phone="13800000000")
    assert feed.read_frame(timeout=10).WhichOneof("msg") == "intake_ack"
    feed.close()


def test_http_request_over_request_timeout_ms_gets_503(start_hotlined, proxy, binaries, schema):
    """A request whose PostgreSQL work is held back past [http] request_timeout_ms is
    answered 503 {"error": {"code": "timeout"}} on time; the late result is dropped
    without harm and the next request is served."""
    from http_helpers import Api, add_user, new_user

    daemon = start_hotlined({"postgres": {"conninfo": proxy.conninfo},
                             "http": {"request_timeout_ms": 500}})
    name = new_user("slow")
    token = add_user(binaries, schema, name, "agent")
    api = Api(daemon, token)
    status, body = api.get("/api/v1/me")
    assert status == 200, body
    proxy.delay_on[b"ticket_show\x00"] = 3.0
    started = time.monotonic()
    status, body = api.get("/api/v1/tickets/99999999")
    took = time.monotonic() - started
    assert status == 503 and body["error"]["code"] == "timeout", (status, body)
    assert took < 2.5, took
    proxy.delay_on.clear()
    time.sleep(3.0)  # the held statement comes back to a request already answered
    api.close()  # idle past evhttp's keep-alive timeout: a new connection
    status, body = Api(daemon, token).get("/api/v1/tickets/99999999")
    assert status == 404, (status, body)


def test_one_feed_or_department_holds_at_most_max_connections_per_id(start_hotlined):
    """Past max_connections_per_id a Hello gets Error{UNAVAILABLE} naming the limit
    and is closed; other codes still get in; closing one makes room again."""
    daemon = start_hotlined({"hotlined": {"max_connections_per_id": 3}})
    held = [daemon.feed("water") for _ in range(3)]
    extra = daemon.binary()
    reply = extra.hello("water", "water-feed-secret")
    assert reply.WhichOneof("msg") == "error", reply
    assert hc.error_name(reply.error.code) == "ERROR_UNAVAILABLE"
    assert "feed water already holds 3 connections" in reply.error.message
    assert "max_connections_per_id = 3" in reply.error.message
    with pytest.raises((hc.Closed, ConnectionResetError)):
        extra.read_frame(timeout=5)
    other = daemon.feed("power")  # another feed is not counted against water
    held.pop().close()
    time.sleep(0.5)  # the daemon sees the close
    held.append(daemon.feed("water"))  # room again (asserts the Welcome)
    depts = []
    for _ in range(3):
        d = daemon.binary()
        assert d.hello("water", "water-dept-secret", role=pb().ROLE_DEPARTMENT).WhichOneof("msg") == "welcome"
        depts.append(d)
    d = daemon.binary()
    reply = d.hello("water", "water-dept-secret", role=pb().ROLE_DEPARTMENT)
    assert reply.WhichOneof("msg") == "error" and "department water" in reply.error.message
    for c in held + depts + [other]:
        c.close()
    assert "max_connections_per_id" in daemon.log_text()
