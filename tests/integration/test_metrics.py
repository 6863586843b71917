"""The operations listener ([http] ops_listen): /metrics in the Prometheus text
format, /healthz and /readyz, against a real hotlined, PostgreSQL and Redis.

The page is parsed by a small reader of the text format written here from the
format's description (every sample's family has HELP and TYPE; histograms have
cumulative buckets ending at +Inf equal to _count), and the numbers are checked
against what the test did: records acknowledged per feed, the desk, a department's
stream, HTTP requests by route and status.
"""

import http.client
import json
import re
import signal
import time
import uuid

import pytest

from http_helpers import Api, add_user, new_user
from routing_helpers import FeedClient, new_code, new_phone, routing_overrides, wait_until

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


pytestmark = pytest.mark.usefixtures("empty_rules")


def get(daemon, path):
    conn = http.client.HTTPConnection("127.0.0.1", daemon.ops_port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read().decode()
    finally:
        conn.close()


def parse(text):
    """{(name, frozenset(labels.items())): value}, after checking the format."""
    families = {}
    samples = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            families.setdefault(name, {})["help"] = True
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram"), line
            families.setdefault(name, {})["type"] = kind
        else:
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            name, labels = m.group(1), dict(LABEL.findall(m.group(3) or ""))
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            family = name if name in families else base
            assert family in families, f"{name} has no HELP/TYPE"
            assert families[family].get("help") and families[family].get("type"), family
            value = float(m.group(4))
            samples[(name, frozenset(labels.items()))] = value
    return families, samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def check_histogram(samples, name, **labels):
    buckets = sorted(
        (float("inf") if dict(k[1])["le"] == "+Inf" else float(dict(k[1])["le"]), v)
        for k, v in samples.items()
        if k[0] == name + "_bucket" and {x: y for x, y in k[1] if x != "le"} == labels
    )
    assert buckets and buckets[-1][0] == float("inf"), name
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), f"{name}: buckets not cumulative"
    assert counts[-1] == value(samples, name + "_count", **labels)
    return counts[-1]


def test_metrics_page(start_hotlined, binaries, schema, db):
    feed = new_code("mf")
    dept = new_code("md")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed, (new_code("ms"), "subcenter", dept)]))
    f = FeedClient(daemon, feed)
    for _ in range(3):
        f.intake(f"m-{uuid.uuid4().hex[:10]}", caller_phone=new_phone(), content="路灯不亮")
    f.send_intake(external_id="", content="")  # invalid
    api = Api(daemon, add_user(binaries, schema, new_user("mu"), "agent"))
    assert api.get("/api/v1/me")[0] == 200
    assert api.get("/api/v1/tickets/20990101-00000001")[0] == 404
    assert Api(daemon).get("/api/v1/me")[0] == 401

    def page_ready():
        status, _, text = get(daemon, "/metrics")
        return status == 200 and "hotline_desk_tickets" in text and "hotline_stream_length" in text

    wait_until(page_ready, 15, message="the backlogs counted")
    status, ctype, text = get(daemon, "/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    families, samples = parse(text)
    assert value(samples, "hotline_intake_acked_total", feed=feed) == 3
    assert value(samples, "hotline_intake_records_total", feed=feed) == 3
    assert value(samples, "hotline_intake_duplicates_total", feed=feed) == 0
    wait_until(lambda: value(parse(get(daemon, "/metrics")[2])[1], "hotline_intake_invalid_total", feed=feed) == 1, 5)
    assert value(samples, "hotline_postgres_up") == 1 and value(samples, "hotline_redis_up") == 1
    assert value(samples, "hotline_connections", role="feed") >= 1
    # the three tickets wait on the desk (no rule matches); the count is at most 5 s old
    def desk_counted():
        pending = db.query("SELECT count(*) AS n FROM tickets WHERE state = 'PENDING_DISPATCH'")[0]["n"]
        shown = value(parse(get(daemon, "/metrics")[2])[1], "hotline_desk_tickets", state="PENDING_DISPATCH")
        return pending >= 3 and shown == pending

    wait_until(desk_counted, 15, message="the desk counted")
    assert value(samples, "hotline_stream_length", dept=dept) == 0
    assert value(samples, "hotline_callbacks_queued") is not None
    assert check_histogram(samples, "hotline_intake_commit_seconds") >= 3
    assert check_histogram(samples, "hotline_intake_batch_records") >= 1
    check_histogram(samples, "hotline_publish_seconds")
    check_histogram(samples, "hotline_delivery_seconds")
    assert value(samples, "hotline_http_requests_total", route="/api/v1/me", code="200") == 1
    assert value(samples, "hotline_http_requests_total", route="/api/v1/me", code="401") == 1
    assert value(samples, "hotline_http_requests_total", route="/api/v1/tickets/{ticket_no}", code="404") == 1
    assert families["hotline_intake_commit_seconds"]["type"] == "histogram"
    assert 0 <= value(samples, "hotline_loop_lag_seconds") < 5
    # nothing personal on the page
    assert "1380" not in text and "路灯" not in text
    f.close()


def test_health_and_readiness(start_hotlined, pg):
    daemon = start_hotlined()
    status, ctype, body = get(daemon, "/healthz")
    assert status == 200 and ctype.startswith("application/json")
    assert json.loads(body)["status"] == "ok"
    status, _, body = get(daemon, "/readyz")
    assert (status, json.loads(body)["rules"]) == (200, True)
    assert get(daemon, "/nosuch")[0] == 404
    pg.stop()
    try:
        wait_until(lambda: get(daemon, "/healthz")[0] == 503, 20, message="healthz 503 without PostgreSQL")
        body = json.loads(get(daemon, "/healthz")[2])
        assert body["postgres"] is False and body["redis"] is True
        assert get(daemon, "/readyz")[0] == 503
    finally:
        pg.start()
    wait_until(lambda: get(daemon, "/healthz")[0] == 200, 30, message="healthz back")


def test_readyz_says_no_while_stopping(start_hotlined, pg):
    daemon = start_hotlined()
    feed = FeedClient(daemon, "water")
    assert get(daemon, "/readyz")[0] == 200
    # A record PostgreSQL cannot commit yet keeps the stop waiting for it (an idle
    # connection alone would be closed at once and the daemon gone before we ask).
    external_id = f"stop-{uuid.uuid4().hex[:10]}"
    pg.stop()
    try:
        feed.send_intake(external_id=external_id, caller_phone=new_phone(), content="路灯不亮")
        time.sleep(0.3)
        daemon.signal(signal.SIGTERM)
        wait_until(lambda: get(daemon, "/readyz")[0] == 503, 10, message="readyz 503 while stopping")
        assert json.loads(get(daemon, "/readyz")[2])["stopping"] is True
    finally:
        pg.start()
    ack = feed.next_frame(lambda f: f.WhichOneof("msg") == "intake_ack", 20, "the record committed")
    assert ack.intake_ack.external_id == external_id
    feed.close()
    assert daemon.wait(15) == 0


def test_alert_rules_name_only_metrics_the_page_has(start_hotlined):
    """deploy/prometheus/alerts.yml may only use metric families /metrics exposes."""
    from pathlib import Path

    daemon = start_hotlined()
    wait_until(
        lambda: all(f in get(daemon, "/metrics")[2] for f in ("hotline_desk_tickets", "hotline_stream_pending")),
        15,
        message="the backlogs counted",
    )
    families, _ = parse(get(daemon, "/metrics")[2])
    rules = (Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml").read_text()
    used = set(re.findall(r"\b(hotline_[a-z_]+)", rules))
    assert used, "no hotline_ metric in the rules"
    missing = {name for name in used if name not in families}
    assert not missing, f"alerts.yml uses metrics /metrics does not have: {missing}"
