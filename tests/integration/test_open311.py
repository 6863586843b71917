"""Open311 GeoReport v2 (docs/http-api.md "Open311") against a real hotlined, PostgreSQL and Redis:
the services and a service's definition (from [service.CODE]); a form-encoded POST that
becomes a ticket of the client's feed, answered after it committed, and every refusal
(api_key 403, unknown service 404, bad fields 400), each storing nothing; GET requests
with each filter of the spec (service_request_id, service_code, start_date, end_date,
status), its 90-day window and its 1000 limit; one request, or 404; a request's life
seen from outside (open, agency_responsible and expected_datetime once dispatched,
status_notes once replied, closed); no caller's phone or name in any answer; XML;
/metrics; PostgreSQL down; durability (a POST is answered only after its commit; one
sent again with its Idempotency-Key is the same request, even after a timeout); hostile
input (NUL bytes, bad encodings, too many names, oversized bodies and headers).

Every test has a client (a [feed.CODE] with an open311_key) and services of its own
(fresh codes and categories), so the requests of one test never show in another's
lists. Times that matter are pinned: daemons started with a clock of their own
(HOTLINED_CLOCK_START) at dates no other test uses. Rules: an empty set is in force for
the module, so requests wait on the desk until a supervisor dispatches them.
"""

import http.client
import json
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from http_helpers import Api, add_user, new_user
from routing_helpers import DeptClient, FeedClient, new_code, new_phone, routing_overrides, wait_until

SPEC_FIELDS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
    "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url",
]
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
CHINA = timezone(timedelta(hours=8))


pytestmark = pytest.mark.usefixtures("empty_rules")


class Open311:
    """One keep-alive connection to a daemon's Open311 API."""

    def __init__(self, daemon, timeout=15.0):
        self.port = daemon.http_port
        self.timeout = timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def raw(self, method, path, body=None, headers=None):
        """(status, headers, body bytes) of exactly this request."""
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            resp = self.conn.getresponse()
            data = resp.read()
        except (http.client.HTTPException, ConnectionError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            raise
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def get(self, path, **params):
        """GET /open311/v2/PATH?params: (status, decoded JSON)."""
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        status, headers, data = self.raw("GET", f"/open311/v2/{path}{query}")
        if path.endswith(".json"):
            assert headers["content-type"] == "application/json; charset=utf-8", headers
        return status, json.loads(data)

    def post(self, fields, path="requests.json", content_type="application/x-www-form-urlencoded", headers=None):
        """POST a form: fields is a dict, a list of pairs, or the encoded text."""
        body = fields if isinstance(fields, (str, bytes)) else urllib.parse.urlencode(fields)
        status, _, data = self.raw(
            "POST", f"/open311/v2/{path}", body=body.encode() if isinstance(body, str) else body,
            headers={"Content-Type": content_type, **(headers or {})},
        )
        return status, (json.loads(data) if path.endswith(".json") else data)


def error_of(body, code=None):
    """The description of the spec's error array [{"code", "description"}]."""
    assert isinstance(body, list) and len(body) == 1, body
    assert set(body[0]) == {"code", "description"}, body
    assert isinstance(body[0]["code"], int) and body[0]["description"], body
    if code is not None:
        assert body[0]["code"] == code, body
    return body[0]["description"]


class City:
    """A daemon with an Open311 client and two services of this test's own, a
    department to dispatch to, and (on demand) a supervisor and an agent."""

    def __init__(self, start_hotlined, binaries, schema, clock=None, overrides=None, share=None, client_keys=None):
        if share:
            self.client, self.key, self.services, self.dept = share.client, share.key, share.services, share.dept
        else:
            self.client = new_code("o311")
            self.key = f"key-{uuid.uuid4().hex}"
            tag = uuid.uuid4().hex[:8]
            self.services = {
                f"lamp-{tag}": {"name": f"路灯不亮 {tag}", "category": f"cat-lamp-{tag}",
                                "notice": "路灯三个工作日内修复", "group": "streets",
                                "keywords": "lamp, 路灯", "description": "A street light is out"},
                f"road-{tag}": {"name": f"道路破损 {tag}", "category": f"cat-road-{tag}"},
            }
            self.dept = new_code("o311d")
        self.lamp, self.road = list(self.services)
        config = routing_overrides(depts=[self.dept], routing={"relay_interval_ms": 200})
        config[f"feed.{self.client}"] = {"name": f"test app {self.client}", "open311_key": self.key,
                                         **(client_keys or {})}
        for code, section in self.services.items():
            config[f"service.{code}"] = dict(section)
        config[f"dept.{self.dept}"]["name"] = f"市政管理处 {self.dept}"
        for section, values in (overrides or {}).items():
            config.setdefault(section, {}).update(values)
        self.daemon = start_hotlined(config, clock=clock)
        self.api = Open311(self.daemon)
        self.binaries, self.schema = binaries, schema

    def form(self, **fields):
        form = {"api_key": self.key, "service_code": self.lamp, "lat": "32.0315", "long": "120.8583",
                "description": f"南大街路灯不亮 {uuid.uuid4().hex[:6]}"}
        form.update({k: v for k, v in fields.items() if v is not None})
        for k in [k for k, v in fields.items() if v is None]:
            form.pop(k, None)
        return form

    def create(self, **fields):
        """POSTs a request; returns its service_request_id (asserts the answer)."""
        status, body = self.api.post(self.form(**fields))
        assert status == 200, body
        assert isinstance(body, list) and len(body) == 1 and set(body[0]) == {
            "service_request_id", "service_notice", "account_id"}, body
        return body[0]["service_request_id"]

    def supervisor(self):
        return Api(self.daemon, add_user(self.binaries, self.schema, new_user("o311s"), "supervisor"))

    def agent(self):
        return Api(self.daemon, add_user(self.binaries, self.schema, new_user("o311a"), "agent"))


@pytest.fixture
def city(start_hotlined, binaries, schema):
    return lambda **kw: City(start_hotlined, binaries, schema, **kw)


def tickets_of(db, client):
    return db.query("SELECT * FROM tickets WHERE feed_code = %s ORDER BY ticket_id", (client,))


def w3c(dt):
    """A stored timestamptz as the API writes it: +08:00 (the example's city), whole seconds."""
    return dt.astimezone(CHINA).replace(microsecond=0).isoformat()


# ------------------------------------------------------------------ services


def test_services_list_and_definition(city):
    c = city()
    status, services = c.api.get("services.json")
    assert status == 200
    by_code = {s["service_code"]: s for s in services}
    # the example's services first, in file order, then this test's
    assert [s["service_code"] for s in services][:3] == ["streetlight", "pothole", "garbage"]
    for s in services:
        assert list(s) == SERVICE_FIELDS, s
        assert s["metadata"] is False and s["type"] == "realtime"
    assert by_code[c.lamp] == {
        "service_code": c.lamp, "service_name": c.services[c.lamp]["name"],
        "description": "A street light is out", "metadata": False, "type": "realtime",
        "keywords": "lamp, 路灯", "group": "streets"}
    # what is not configured is empty text
    assert (by_code[c.road]["description"], by_code[c.road]["keywords"], by_code[c.road]["group"]) == ("", "", "")
    assert c.api.get(f"services/{c.lamp}.json") == (200, {"service_code": c.lamp, "attributes": []})
    status, body = c.api.get("services/no-such-service.json")
    assert status == 404 and "service_code 'no-such-service' was not found" in error_of(body, 404)
    # jurisdiction_id is optional (one city), api_key is not needed but harmless
    assert c.api.get("services.json", jurisdiction_id="anything.gov", api_key="x")[0] == 200
    # anything else is refused, naming it
    status, body = c.api.get("services.json", status="open")
    assert status == 400 and error_of(body, 400) == "unknown parameter 'status'"
    # a resource names its format; other paths are not found
    for path in ("services", "services.txt", "services.JSON", "nothing.json", "services/a/b.json", ""):
        status, _, data = c.api.raw("GET", f"/open311/v2/{path}")
        assert status == 404, path
        error_of(json.loads(data), 404)


def test_services_in_xml(city):
    c = city()
    status, headers, data = c.api.raw("GET", "/open311/v2/services.xml")
    assert status == 200 and headers["content-type"] == "text/xml; charset=utf-8"
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(data)
    assert root.tag == "services" and all(s.tag == "service" for s in root)
    lamp = [s for s in root if s.findtext("service_code") == c.lamp][0]
    assert [e.tag for e in lamp] == SERVICE_FIELDS
    assert lamp.findtext("service_name") == c.services[c.lamp]["name"]
    assert lamp.findtext("metadata") == "false"
    status, _, data = c.api.raw("GET", f"/open311/v2/services/{c.road}.xml")
    root = ET.fromstring(data)
    assert status == 200 and root.tag == "service_definition"
    assert root.findtext("service_code") == c.road and list(root.find("attributes")) == []
    # errors come in the format asked for
    status, headers, data = c.api.raw("GET", "/open311/v2/services/nope.xml")
    root = ET.fromstring(data)
    assert status == 404 and headers["content-type"].startswith("text/xml")
    assert root.tag == "errors" and root.find("error").findtext("code") == "404"
    assert "was not found" in root.find("error").findtext("description")


def test_jurisdiction_id_when_configured(city):
    c = city(overrides={"open311": {"jurisdiction_id": "nantong.gov.cn"}})
    assert c.api.get("services.json")[0] == 200
    assert c.api.get("services.json", jurisdiction_id="nantong.gov.cn")[0] == 200
    status, body = c.api.get("services.json", jurisdiction_id="sfgov.org")
    assert status == 404 and "jurisdiction_id 'sfgov.org' was not found" in error_of(body, 404)
    status, body = c.api.get("requests.json", jurisdiction_id="sfgov.org")
    assert status == 404
    status, body = c.api.post(c.form(jurisdiction_id="sfgov.org"))
    assert status == 404 and "jurisdiction_id" in error_of(body, 404)
    assert c.create(jurisdiction_id="nantong.gov.cn")


def test_services_follow_a_reload(city, db):
    import signal

    c = city()
    extra = f"extra-{uuid.uuid4().hex[:6]}"
    c.daemon.config[f"service.{extra}"] = {"name": "新服务"}
    from conftest import write_private

    write_private(c.daemon.conf_path, c.daemon.config)
    c.daemon.signal(signal.SIGHUP)
    wait_until(lambda: extra in [s["service_code"] for s in c.api.get("services.json")[1]], 10,
               message="the reloaded service")
    assert c.api.get(f"services/{extra}.json")[0] == 200


# ------------------------------------------------------------------ POST requests


def test_post_creates_a_ticket_of_the_clients_feed(city, db):
    c = city()
    phone = new_phone()
    form = c.form(service_code=c.lamp, lat="32.0315", long="120.8583",
                  address_string="崇川区南大街 1 号", address_id="addr-545483", email="li@example.com",
                  device_id="dev-tt222111", account_id="acct-7f3e9c", first_name="小明", last_name="李",
                  phone=phone, description="南大街路灯不亮\n已经三天了",
                  media_url="https://img.example.com/a.jpg", jurisdiction_id="")
    status, body = c.api.post(form)
    assert status == 200, body
    [answer] = body
    assert answer == {"service_request_id": answer["service_request_id"],
                      "service_notice": "路灯三个工作日内修复", "account_id": None}
    no = answer["service_request_id"]
    # answered after the commit: the row is there at once
    [row] = db.query("SELECT * FROM tickets WHERE ticket_no = %s", (no,), retry_seconds=0)
    assert row["feed_code"] == c.client
    assert row["external_id"].startswith("open311-") and len(row["external_id"]) == len("open311-") + 16
    assert row["channel"] == "open311"
    assert row["category"] == c.services[c.lamp]["category"]
    assert row["content"] == "南大街路灯不亮\n已经三天了\n\nhttps://img.example.com/a.jpg"
    assert (row["caller_phone"], row["caller_name"]) == (phone, "小明 李")
    assert row["address"] == "崇川区南大街 1 号"
    assert (row["lat"], row["lon"]) == (32.0315, 120.8583)
    assert row["state"] == "PENDING_DISPATCH"  # no rule: the desk
    [event] = db.query("SELECT actor FROM ticket_events WHERE ticket_id = %s AND kind = 'INTAKE'",
                       (row["ticket_id"],))
    assert event["actor"] == f"feed:{c.client}"
    # email, device_id, account_id and address_id are stored nowhere
    text = json.dumps(row, default=str)
    for unstored in ("li@example.com", "dev-tt222111", "acct-7f3e9c", "addr-545483"):
        assert unstored not in text


def test_post_fallbacks_key_in_query_and_xml(city, db):
    c = city()
    # no description: the service's name says what it is; an address alone locates it;
    # a service without a notice answers null
    no = c.create(service_code=c.road, description=None, lat=None, long=None, address_string="人民路口")
    row = db.ticket(no)
    assert row["content"] == c.services[c.road]["name"]
    [r] = db.query("SELECT lat, lon, address, caller_phone, caller_name FROM tickets WHERE ticket_no = %s", (no,))
    assert (r["lat"], r["lon"], r["address"], r["caller_phone"], r["caller_name"]) == (None, None, "人民路口", None, None)
    status, body = c.api.post(c.form(service_code=c.road))
    assert status == 200 and body[0]["service_notice"] is None
    # the api_key may come in the query string (some clients send it there)
    form = c.form()
    key = form.pop("api_key")
    status, _, data = c.api.raw("POST", f"/open311/v2/requests.json?api_key={urllib.parse.quote(key)}",
                                body=urllib.parse.urlencode(form).encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert status == 200, data
    # ... but not twice, differently
    status, _, data = c.api.raw("POST", "/open311/v2/requests.json?api_key=other",
                                body=urllib.parse.urlencode(c.form()).encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and "api_key is given twice" in error_of(json.loads(data), 400)
    # XML
    before = len(tickets_of(db, c.client))
    status, data = c.api.post(c.form(), path="requests.xml")
    root = ET.fromstring(data)
    assert status == 200 and root.tag == "service_requests"
    request = root.find("request")
    assert [e.tag for e in request] == ["service_request_id", "service_notice", "account_id"]
    assert db.ticket(request.findtext("service_request_id"))["feed_code"] == c.client
    assert request.find("account_id").text is None
    assert len(tickets_of(db, c.client)) == before + 1


def test_api_key_refused_and_nothing_stored(city, db):
    c = city()
    cases = [
        ({"api_key": None}, "api_key is required"),
        ({"api_key": ""}, "api_key is required"),
        ({"api_key": "wrong"}, "invalid api_key"),
        ({"api_key": c.key + "x"}, "invalid api_key"),
        ({"api_key": "water-feed-secret"}, "invalid api_key"),  # a feed's token opens nothing here
        ({"api_key": "city-app-open311-key"[:-1]}, "invalid api_key"),
    ]
    for fields, why in cases:
        status, body = c.api.post(c.form(**fields))
        assert status == 403, (fields, body)
        assert why in error_of(body, 403), fields
    # the key is checked before anything else: a bad form with a wrong key is a 403
    status, body = c.api.post({"api_key": "wrong", "colour": "red"})
    assert status == 403
    assert tickets_of(db, c.client) == []
    # the client's key does not open the binary port as its feed
    with pytest.raises(AssertionError):
        FeedClient(c.daemon, c.client, token=c.key)


def test_invalid_requests_are_refused_and_store_nothing(city, db):
    c = city(overrides={"hotlined": {"max_content": 64}})
    refusals = [
        ({"service_code": None}, 400, "service_code is required"),
        ({"service_code": "no-such"}, 404, "service_code 'no-such' was not found"),
        ({"lat": None, "long": None}, 400, "a location is required"),
        ({"lat": None, "long": None, "address_id": "545483"}, 400, "address_id alone is not a location"),
        ({"long": None}, 400, "lat and long are sent together"),
        ({"lat": "91"}, 400, "lat must be a decimal number in [-90, 90]"),
        ({"long": "east"}, 400, "long must be a decimal number"),
        ({"lat": "0", "long": "0"}, 400, "lat=0 and long=0 is not a location"),
        ({"attribute[WHISPAWN]": "1"}, 400, "no service here has attributes"),
        ({"descripton": "typo"}, 400, "unknown parameter 'descripton'"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url must be an http:// or https:// URL"),
        ({"phone": "call me"}, 400, "phone may contain only digits"),
        ({"description": "长" * 30}, 400, "description (with media_url) is longer than 64 bytes"),
        ({"first_name": "名" * 50}, 400, "first_name and last_name together is longer than 128 bytes"),
        ({"email": "e" * 300}, 400, "email is longer than 254 bytes"),
    ]
    for fields, status_want, why in refusals:
        status, body = c.api.post(c.form(**fields))
        assert status == status_want, (fields, body)
        assert why in error_of(body, status_want), (fields, body)
    # the form itself
    key = urllib.parse.quote(c.key)
    for text, why in (
        (f"api_key={key}&service_code={c.lamp}&service_code={c.road}&address_string=x", "'service_code' is given twice"),
        (f"api_key={key}&service_code={c.lamp}&address_string=%E5%8D", "the value of 'address_string' is not valid UTF-8"),
        (f"api_key={key}&service_code={c.lamp}&address_string=%zz", "without two hex digits"),
        (f"api_key={key}&service_code={c.lamp}&address_string=a%00b", "holds a NUL byte"),
    ):
        status, body = c.api.post(text)
        assert status == 400 and why in error_of(body, 400), text
    # the media type: a form, not JSON (the precise code in the body, 400 on the wire)
    status, body = c.api.post(json.dumps(c.form()), content_type="application/json")
    assert status == 400 and "application/x-www-form-urlencoded" in error_of(body, 415)
    # too large
    max_body = int(c.daemon.setting("http", "max_body"))
    status, body = c.api.post(c.form(description="x" * (max_body + 10)))
    assert status == 400 and "max_body" in error_of(body, 413)
    # another method
    status, _, data = c.api.raw("DELETE", "/open311/v2/requests.json")
    assert status == 400 and "does not take that method" in error_of(json.loads(data), 405)
    assert tickets_of(db, c.client) == []
    # and a good one still goes through
    assert c.create()


# ------------------------------------------------------------------ durability


class TicketsLocked:
    """SHARE on tickets from a connection of its own: reads go on, every intake's
    transaction waits before it can commit, until release()."""

    def __init__(self, conninfo):
        self.conn = psycopg.connect(conninfo)
        self.conn.execute("LOCK TABLE tickets IN SHARE MODE")

    def release(self):
        if not self.conn.closed:
            self.conn.commit()
            self.conn.close()


def post_in_thread(daemon, form, headers=None):
    """POSTs form from a thread; returns (thread, answers), answers filled when it comes."""
    answers = []
    thread = threading.Thread(target=lambda: answers.append(Open311(daemon).post(form, headers=headers)))
    thread.start()
    return thread, answers


def test_post_answered_only_after_commit(city, db, schema):
    """While the intake transaction cannot commit, the POST gets no answer; once it
    commits, the answer names the ticket that is there."""
    c = city()
    lock = TicketsLocked(schema)
    try:
        thread, answers = post_in_thread(c.daemon, c.form())
        thread.join(2.5)
        assert thread.is_alive() and answers == [], "answered before the commit"
        assert tickets_of(db, c.client) == []
    finally:
        lock.release()
    thread.join(15)
    [(status, body)] = answers
    assert status == 200, body
    [row] = db.query("SELECT ticket_no FROM tickets WHERE feed_code = %s", (c.client,), retry_seconds=0)
    assert row["ticket_no"] == body[0]["service_request_id"]


def test_idempotency_key_makes_a_retry_the_same_request(city, db):
    other_key = f"key-{uuid.uuid4().hex}"
    other = new_code("o311b")
    c = city(overrides={f"feed.{other}": {"open311_key": other_key}})
    key = f"app-{uuid.uuid4().hex[:12]}"
    first = c.form(description="同一个请求")
    status, body = c.api.post(first, headers={"Idempotency-Key": key})
    assert status == 200, body
    no = body[0]["service_request_id"]
    # sent again: the same request, answered as the first was; stored once
    assert c.api.post(first, headers={"Idempotency-Key": key}) == (200, body)
    # the key names the request: another body with it is still that request
    status, again = c.api.post(c.form(description="另一个"), headers={"Idempotency-Key": key})
    assert status == 200 and again[0]["service_request_id"] == no
    [row] = db.query("SELECT ticket_no, external_id, content FROM tickets WHERE feed_code = %s", (c.client,))
    assert (row["ticket_no"], row["external_id"], row["content"]) == (no, f"open311-key-{key}", "同一个请求")
    # another key, or none, is another request; keys are the client's own
    assert c.create() != c.create()
    status, body = c.api.post(c.form(), headers={"Idempotency-Key": key + "-2"})
    assert status == 200 and body[0]["service_request_id"] != no
    status, body = c.api.post(c.form(api_key=other_key), headers={"Idempotency-Key": key})
    assert status == 200 and body[0]["service_request_id"] != no
    assert db.query("SELECT feed_code FROM tickets WHERE ticket_no = %s", (body[0]["service_request_id"],)) == [
        {"feed_code": other}]
    assert len(tickets_of(db, c.client)) == 4
    # keys that cannot be one
    for bad, why in ((" ", "1-100 bytes"), ("k" * 101, "1-100 bytes"), ("a b", "only visible ASCII"),
                     ("路灯".encode().decode("latin-1"), "only visible ASCII")):
        status, body = c.api.post(c.form(), headers={"Idempotency-Key": bad})
        assert status == 400 and why in error_of(body, 400), repr(bad)
    conn = http.client.HTTPConnection("127.0.0.1", c.daemon.http_port, timeout=10)
    text = urllib.parse.urlencode(c.form()).encode()
    conn.putrequest("POST", "/open311/v2/requests.json")
    for name, value in (("Idempotency-Key", "a"), ("Idempotency-Key", "b"),
                        ("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", str(len(text)))):
        conn.putheader(name, value)
    conn.endheaders(text)
    resp = conn.getresponse()
    assert resp.status == 400 and "Idempotency-Key is given twice" in error_of(json.loads(resp.read()), 400)
    conn.close()
    assert len(tickets_of(db, c.client)) == 4


def test_timed_out_post_sent_again_with_its_key(city, db, schema):
    """No answer within request_timeout_ms: 503, and the request may still be stored.
    Sent again with its Idempotency-Key it is answered with the one stored."""
    c = city(overrides={"http": {"request_timeout_ms": "1000"}})
    key = f"retry-{uuid.uuid4().hex[:12]}"
    form = c.form()
    lock = TicketsLocked(schema)
    try:
        status, body = c.api.post(form, headers={"Idempotency-Key": key})
        assert status == 503 and "no answer within request_timeout_ms" in error_of(body, 503)
    finally:
        lock.release()
    stored = wait_until(lambda: tickets_of(db, c.client), 15, message="the timed-out request committed")
    status, body = c.api.post(form, headers={"Idempotency-Key": key})
    assert status == 200, body
    assert [r["ticket_no"] for r in tickets_of(db, c.client)] == [stored[0]["ticket_no"]]
    assert body[0]["service_request_id"] == stored[0]["ticket_no"]


# ------------------------------------------------------------------ hostile input


def test_hostile_input_is_refused_and_stores_nothing(city, db):
    c = city()
    key = urllib.parse.quote(c.key)
    good = f"api_key={key}&service_code={c.lamp}&address_string=x"
    bodies = [
        (f"{good}&description=a\x00b".encode(), "the value of 'description' holds a NUL byte"),
        (f"{good}&description=a%00b".encode(), "holds a NUL byte"),
        (f"{good}&na%00me=1".encode(), "the name of 'na%00me' holds a NUL byte"),
        (f"{good}&description=caf%E9".encode(), "the value of 'description' is not valid UTF-8"),
        (f"{good}&description=".encode() + "café".encode("latin-1"), "is not valid UTF-8"),
        (f"{good}&description=%E5%8D%97%E5".encode(), "is not valid UTF-8"),
        (f"{good}&description=%".encode(), "without two hex digits"),
        (f"{good}&description=%4".encode(), "without two hex digits"),
        (f"{good}&=x".encode(), "a pair has no name"),
        (("&".join(f"n{i}=v" for i in range(65))).encode(), "more than 64 names"),
    ]
    for body, why in bodies:
        status, answer = c.api.post(body)
        assert status == 400 and why in error_of(answer, 400), (body[:80], answer)
    # the query string of a POST and of a GET is read the same way
    for query, why in (("api_key=%00", "holds a NUL byte"), ("api_key=%FF", "not valid UTF-8"),
                       ("api_key=a&api_key=b", "given twice")):
        status, _, data = c.api.raw("POST", f"/open311/v2/requests.json?{query}", body=good.encode(),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 400 and why in error_of(json.loads(data), 400), query
        status, _, data = c.api.raw("GET", f"/open311/v2/requests.json?{query.replace('api_key', 'status')}")
        assert status == 400 and why in error_of(json.loads(data), 400), query
    for query, why in (("service_request_id=" + ",".join(f"2035-{i}" for i in range(201)), "more than 200 entries"),
                       ("service_request_id=a'b", "is not a service_request_id"),
                       ("service_request_id=" + "9" * 32, "is not a service_request_id"),
                       ("service_code=" + "x" * 65, "is not a service_code"),
                       ("start_date=2035-13-01T00:00:00Z", "W3C"),
                       ("start_date=2035-01-01T00:00:00Z%00", "NUL"),
                       ("end_date=" + "9" * 40, "W3C")):
        status, _, data = c.api.raw("GET", f"/open311/v2/requests.json?{query}")
        assert status == 400 and why in error_of(json.loads(data), 400), query
    # paths that decode to nothing of ours
    for path in ("requests/%00.json", "services/%FF.json", "requests/a%2Fb.json", "services/..%2F..%2Fetc.json",
                 "requests/" + "9" * 40 + ".json", "services.json%00"):
        status, _, data = c.api.raw("GET", f"/open311/v2/{path}")
        assert status == 404, path
        error_of(json.loads(data), 404)
    # far past max_body: the HTTP parser refuses it unread (not JSON), closing the connection
    max_body = int(c.daemon.setting("http", "max_body"))
    try:
        status, _, _ = c.api.raw("POST", "/open311/v2/requests.json", body=b"a" * (5 * max_body),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 413
    except (ConnectionError, OSError):
        pass  # the server may close while the client still sends
    # headers past max_headers: refused by the parser
    max_headers = int(c.daemon.setting("http", "max_headers"))
    status, _, _ = c.api.raw("GET", "/open311/v2/services.json", headers={"X-Filler": "f" * max_headers})
    assert status in (400, 413, 431)
    assert c.api.get("services.json")[0] == 200
    assert tickets_of(db, c.client) == []
    # what XML cannot carry, and markup, stored as sent and written safely in both formats
    said = "灯<b>&amp;\x01\x7f ]]> 不亮"
    no = c.create(description=said)
    assert db.ticket(no)["content"] == said
    assert c.api.get(f"requests/{no}.json")[1][0]["description"] == said
    status, _, data = c.api.raw("GET", f"/open311/v2/requests/{no}.xml")
    assert status == 200
    assert ET.fromstring(data).find("request").findtext("description") == said.replace("\x01", "\ufffd")


# ------------------------------------------------------------------ GET requests


def test_requests_filters_window_and_status(city, db):
    """Requests made on three days (three daemons, each with its clock), read back with
    each of the spec's filters, from the last day."""
    days = ["2035-03-01T09:00:00+08:00", "2035-05-15T09:00:00+08:00", "2035-06-20T09:00:00+08:00"]
    first = city(clock=days[0])
    made = {}  # day index -> [(no, service)]
    made[0] = [(first.create(service_code=first.lamp), first.lamp)]
    second = city(clock=days[1], share=first)
    made[1] = [(second.create(service_code=second.lamp), second.lamp),
               (second.create(service_code=second.road), second.road)]
    third = city(clock=days[2], share=first)
    made[2] = [(third.create(service_code=third.road), third.road)]
    api = third.api
    a0, = [n for n, _ in made[0]]
    b_lamp, b_road = [n for n, _ in made[1]]
    c_road, = [n for n, _ in made[2]]

    def ids(status_body):
        status, body = status_body
        assert status == 200, body
        for r in body:
            assert list(r) == SPEC_FIELDS, r
        return [r["service_request_id"] for r in body]

    # the default window: the 90 days up to now (the third day), newest first
    assert ids(api.get("requests.json")) == [c_road, b_road, b_lamp]
    # a service, a list of services
    assert ids(api.get("requests.json", service_code=first.lamp)) == [b_lamp]
    assert ids(api.get("requests.json", service_code=f"{first.lamp},{first.road}")) == [c_road, b_road, b_lamp]
    status, body = api.get("requests.json", service_code="no-such")
    assert status == 404 and "service_code 'no-such' was not found" in error_of(body, 404)
    # dates: start only (90 days from it), both, end only; with the zone written either way
    assert ids(api.get("requests.json", start_date="2035-02-28T00:00:00Z")) == [b_road, b_lamp, a0]
    assert ids(api.get("requests.json", start_date="2035-05-15T00:00:00+08:00",
                       end_date="2035-06-20T08:59:59+08:00")) == [b_road, b_lamp]
    assert ids(api.get("requests.json", end_date="2035-05-14T00:00:00Z")) == [a0]
    status, _, data = api.raw("GET", "/open311/v2/requests.json?end_date=2035-03-01T10:00:00+08:00")
    assert status == 200 and [r["service_request_id"] for r in json.loads(data)] == [a0]
    status, body = api.get("requests.json", start_date="2035-01-01T00:00:00Z", end_date="2035-06-01T00:00:00Z")
    assert status == 400 and "may not span more than 90 days" in error_of(body, 400)
    status, body = api.get("requests.json", start_date="2035-03-01")
    assert status == 400 and "W3C" in error_of(body, 400)
    # ids: a list, which overrides every other filter; unknown ones are left out
    assert ids(api.get("requests.json", service_request_id=f"{a0},{c_road},20350101-99999999",
                       service_code=first.lamp, status="closed")) == [c_road, a0]
    # status: close one from the desk
    sup = third.supervisor()
    status, body = sup.post(f"/api/v1/tickets/{b_road}/close", {"reason": "已由养护队修复"})
    assert status == 200, body
    assert ids(api.get("requests.json", status="closed")) == [b_road]
    assert ids(api.get("requests.json", status="open")) == [c_road, b_lamp]
    assert ids(api.get("requests.json", status="open,closed")) == [c_road, b_road, b_lamp]
    status, body = api.get("requests.json", status="pending")
    assert status == 400 and "open or closed" in error_of(body, 400)
    # what each says
    [closed] = api.get(f"requests/{b_road}.json")[1]
    row = db.query("SELECT * FROM tickets WHERE ticket_no = %s", (b_road,))[0]
    assert closed["status"] == "closed" and closed["status_notes"] == "已由养护队修复"
    assert closed["requested_datetime"] == w3c(row["created_at"])
    assert closed["requested_datetime"].startswith("2035-05-15T09:0")
    assert closed["requested_datetime"].endswith("+08:00")
    assert closed["updated_datetime"] == w3c(row["closed_at"])
    assert closed["updated_datetime"].startswith("2035-06-20T09:")
    assert closed["service_code"] == first.road and closed["service_name"] == first.services[first.road]["name"]
    [opened] = api.get(f"requests/{a0}.json")[1]
    assert opened["status"] == "open" and opened["status_notes"] is None
    assert opened["service_notice"] == "路灯三个工作日内修复"
    assert (opened["lat"], opened["long"]) == (32.0315, 120.8583)
    assert (opened["address_id"], opened["zipcode"], opened["media_url"]) == (None, None, None)
    assert opened["description"] == db.ticket(a0)["content"]


def test_request_by_id_and_only_open311_tickets(city, db):
    c = city()
    no = c.create()
    status, body = c.api.get(f"requests/{no}.json")
    assert status == 200 and [r["service_request_id"] for r in body] == [no]
    status, body = c.api.get("requests/20990101-00000001.json")
    assert status == 404 and "service_request_id '20990101-00000001' was not found" in error_of(body, 404)
    # a ticket that came in on a phone line is not public, even one whose feed calls
    # its channel "open311": only the Open311 clients' feeds are
    feed = FeedClient(c.daemon, "water")
    phone_ticket = feed.intake(f"w-{uuid.uuid4().hex[:10]}", content="停水了", caller_phone=new_phone())
    posing = feed.intake(f"w-{uuid.uuid4().hex[:10]}", content="停水了", channel="open311",
                         category=c.services[c.lamp]["category"])
    feed.close()
    for other in (phone_ticket, posing):
        assert c.api.get(f"requests/{other}.json")[0] == 404
        assert c.api.get("requests.json", service_request_id=other) == (200, [])
    assert [r["service_request_id"] for r in c.api.get("requests.json", service_code=c.lamp)[1]] == [no]
    status, _, data = c.api.raw("GET", f"/open311/v2/requests/{no}.xml")
    root = ET.fromstring(data)
    assert status == 200 and root.tag == "service_requests"
    [request] = list(root)
    assert request.tag == "request" and [e.tag for e in request] == SPEC_FIELDS
    assert request.findtext("service_request_id") == no and request.findtext("status") == "open"
    assert request.find("zipcode").text is None
    status, body = c.api.get(f"requests/{no}.json", status="open")
    assert status == 400 and "unknown parameter 'status'" in error_of(body, 400)


def test_at_most_1000_requests_newest_first(city, db):
    c = city(clock="2036-01-10T09:00:00+08:00")
    total = 1003
    made = []
    lock = threading.Lock()

    def post_some(n):
        api = Open311(c.daemon)
        for _ in range(n):
            status, body = api.post(c.form(description="批量"))
            assert status == 200, body
            with lock:
                made.append(body[0]["service_request_id"])

    threads = [threading.Thread(target=post_some, args=(n,)) for n in (251, 251, 251, 250)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == total
    order = [r["ticket_no"] for r in db.query(
        "SELECT ticket_no FROM tickets WHERE feed_code = %s ORDER BY created_at DESC, ticket_id DESC",
        (c.client,))]
    status, body = c.api.get("requests.json", service_code=c.lamp)
    assert status == 200
    assert [r["service_request_id"] for r in body] == order[:1000]
    status, body = c.api.get("requests.json", service_code=c.lamp, status="closed")
    assert (status, body) == (200, [])


def test_a_requests_life_seen_from_outside(city, db, rds):
    """open on the desk; dispatched: agency_responsible and expected_datetime; replied:
    status_notes; called back satisfied: closed. The client's feed is owed no
    TicketUpdates, and no answer shows the caller's phone or name."""
    db.query("DELETE FROM outbox WHERE kind = 'callback'")
    rds.delete("hotline:callbacks")
    c = city()
    phone = new_phone()
    no = c.create(phone=phone, first_name="秀英", last_name="王")
    dept = DeptClient(c.daemon, c.dept)
    sup, agent = c.supervisor(), c.agent()
    texts = []

    def request():
        status, body = c.api.get(f"requests/{no}.json")
        assert status == 200
        status, _, xml = c.api.raw("GET", f"/open311/v2/requests/{no}.xml")
        assert status == 200
        texts.append(json.dumps(body, ensure_ascii=False))
        texts.append(xml.decode())
        return body[0]

    r = request()
    assert (r["status"], r["agency_responsible"], r["expected_datetime"], r["status_notes"]) == ("open", None, None, None)
    status, body = sup.post(f"/api/v1/tickets/{no}/dispatch", {"dept_code": c.dept})
    assert status == 200, body
    r = request()
    deadline = db.query("SELECT deadline_at FROM tickets WHERE ticket_no = %s", (no,))[0]["deadline_at"]
    assert r["status"] == "open" and r["agency_responsible"] == f"市政管理处 {c.dept}"
    assert r["expected_datetime"] == w3c(deadline)
    dept.ticket(no)
    assert dept.accept(no).action_ack.ok
    assert dept.reply(no, "已更换灯泡").action_ack.ok
    r = request()
    assert (r["status"], r["status_notes"]) == ("open", "已更换灯泡")
    deadline_at = time.monotonic() + 20
    while True:
        status, task = agent.post("/api/v1/callbacks/claim")
        if status == 200 and task["ticket_no"] == no:
            break
        assert status in (200, 204), (status, task)
        assert time.monotonic() < deadline_at, "no callback handed out"
        time.sleep(0.3)
    status, body = agent.post(f"/api/v1/callbacks/{no}/result", {"outcome": "satisfied"})
    assert (status, body) == (200, {"ticket_no": no, "state": "CLOSED"})
    r = request()
    closed_at = db.query("SELECT closed_at FROM tickets WHERE ticket_no = %s", (no,))[0]["closed_at"]
    assert (r["status"], r["status_notes"], r["updated_datetime"]) == ("closed", "已更换灯泡", w3c(closed_at))
    # the lists say the same
    [listed] = c.api.get("requests.json", service_request_id=no)[1]
    assert listed == r
    texts.append(json.dumps(c.api.get("requests.json")[1], ensure_ascii=False))
    # the caller stays private; the client's feed was owed nothing
    for text in texts:
        assert phone not in text and phone[-8:] not in text
        assert "秀英" not in text and "王" not in text
    assert db.query("SELECT count(*) AS n FROM feed_updates WHERE feed_code = %s", (c.client,))[0]["n"] == 0
    dept.close()


def metrics_text(daemon):
    conn = http.client.HTTPConnection("127.0.0.1", daemon.ops_port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    return text.splitlines()


def test_metrics_count_open311_routes_and_the_clients_intake(city):
    c = city()
    c.api.get("services.json")
    key = f"m-{uuid.uuid4().hex[:8]}"
    c.create()
    c.api.post(c.form(), headers={"Idempotency-Key": key})
    c.api.post(c.form(), headers={"Idempotency-Key": key})
    c.api.get("requests.json")
    c.api.post(c.form(api_key="wrong"))
    c.api.post(c.form(service_code="no-such"))
    c.api.post(c.form(phone="call me"))
    lines = metrics_text(c.daemon)
    feed = f'feed="{c.client}"'
    for line in (
        'hotline_http_requests_total{route="/open311/v2/services.{format}",code="200"} 1',
        'hotline_http_requests_total{route="POST /open311/v2/requests.{format}",code="200"} 3',
        'hotline_http_requests_total{route="POST /open311/v2/requests.{format}",code="403"} 1',
        'hotline_http_requests_total{route="POST /open311/v2/requests.{format}",code="400"} 1',
        'hotline_http_requests_total{route="POST /open311/v2/requests.{format}",code="404"} 1',
        'hotline_http_requests_total{route="GET /open311/v2/requests.{format}",code="200"} 1',
        # the client is a feed: its intake is counted as its connections' would be
        f"hotline_intake_records_total{{{feed}}} 3",
        f"hotline_intake_acked_total{{{feed}}} 3",
        f"hotline_intake_duplicates_total{{{feed}}} 1",
        f"hotline_intake_invalid_total{{{feed}}} 2",
        f"hotline_intake_failed_total{{{feed}}} 0",
    ):
        assert line in lines, (line, [l for l in lines if "open311" in l or c.client in l])


def test_a_clients_max_rate(city, db):
    """[feed.CODE] max_rate holds an Open311 client as it holds a feed: over it a POST
    is refused with 503 ("try again later"), nothing stored, and counted."""
    c = city(client_keys={"max_rate": "1", "burst": "3"})
    answers = [c.api.post(c.form()) for _ in range(8)]
    taken = [body[0]["service_request_id"] for status, body in answers if status == 200]
    refused = [body for status, body in answers if status == 503]
    assert len(taken) + len(refused) == 8 and 3 <= len(taken) <= 4, answers
    for body in refused:
        assert "over its rate limit ([feed." in error_of(body, 503) and "max_rate 1 requests/s" in error_of(body, 503)
    assert sorted(r["ticket_no"] for r in tickets_of(db, c.client)) == sorted(taken)
    assert f'hotline_intake_rate_limited_total{{feed="{c.client}"}} {len(refused)}' in metrics_text(c.daemon)
    assert c.daemon.log_text().count("over its max_rate") == 1
    # a second later the bucket has room again
    time.sleep(1.1)
    assert c.create()


def test_postgres_down(city, pg, db):
    c = city()
    pg.stop()
    try:
        def refused():
            try:
                status, body = Open311(c.daemon).get("requests.json")
            except (ConnectionError, OSError):
                return None
            return body if status == 503 and "PostgreSQL is unreachable" in error_of(body, 503) else None

        wait_until(refused, 20, message="requests refused while PostgreSQL is down")
        # a POST now is refused at once: nothing was taken, nothing is stored later
        status, body = Open311(c.daemon).post(c.form())
        assert status == 503 and "PostgreSQL is unreachable; try again later" == error_of(body, 503)
        # the services come from the configuration: still served
        status, services = Open311(c.daemon).get("services.json")
        assert status == 200 and c.lamp in [s["service_code"] for s in services]
    finally:
        pg.start()
    wait_until(lambda: Open311(c.daemon).get("requests.json")[0] == 200, 30, message="PostgreSQL back")
    assert tickets_of(db, c.client) == []
    assert c.create()
