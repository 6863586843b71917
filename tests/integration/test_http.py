"""The HTTP API (docs/http-api.md) against a real hotlined, PostgreSQL and Redis:
accounts and their refusals, the agent's calls (a ticket taken on the phone, a
ticket with its trail, a caller's history), malformed and oversized requests,
and the limits of the listener. The desk and callbacks: test_http_desk.py.

Every refusal is checked to change nothing. Accounts are made with
`hotlinectl user add` (names unique per test); helpers: http_helpers.py.
"""

import json
import socket
import time
import uuid

import pytest

from http_helpers import Api, add_user, error_code, hotlinectl_user, new_user
from routing_helpers import new_phone

AGENTS_FEED = "agents"


@pytest.fixture
def people(binaries, schema):
    """An agent's and a supervisor's token, fresh for the test."""

    class People:
        agent_name = new_user("agent")
        supervisor_name = new_user("sup")
        agent = add_user(binaries, schema, agent_name, "agent")
        supervisor = add_user(binaries, schema, supervisor_name, "supervisor")

    return People


def intake_body(**fields):
    body = {
        "external_id": f"call-{uuid.uuid4().hex[:12]}",
        "channel": "phone",
        "caller_phone": new_phone(),
        "caller_name": "王女士",
        "category": f"cat-{uuid.uuid4().hex[:6]}",
        "content": "小区垃圾清运不及时，已经三天没人收了",
        "district": "崇川区",
    }
    body.update(fields)
    return body


def events_count(db, ticket_no):
    return db.query(
        "SELECT count(*) AS n FROM ticket_events e JOIN tickets t USING (ticket_id)"
        " WHERE t.ticket_no = %s",
        (ticket_no,),
    )[0]["n"]


# ------------------------------------------------------------------ accounts


def test_me_for_each_role(hotlined, people):
    api = Api(hotlined)
    assert api.get("/api/v1/me", people.agent) == (200, {"name": people.agent_name, "role": "agent"})
    assert api.get("/api/v1/me", people.supervisor) == (
        200,
        {"name": people.supervisor_name, "role": "supervisor"},
    )


def test_refused_without_a_valid_token(hotlined, people):
    api = Api(hotlined)
    status, headers, data = api.raw("GET", "/api/v1/me")
    assert status == 401 and headers.get("www-authenticate") == "Bearer"
    assert error_code(json.loads(data)) == "unauthenticated"
    user_id, secret = people.agent[len("hl1.") :].split(".", 1)
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for bad in (
        "hl1.999999.nosuchsecret",  # no such account
        f"hl1.{user_id}.{flipped}",  # the account's id, a wrong secret
        f"hl1.{user_id}",  # no secret
        f"hl2.{user_id}.{secret}",  # another scheme
        f"hl1.0{user_id}.{secret}",  # a leading zero
        f"hl1.{user_id}.{secret}\x01",  # a byte outside base64url
        "",
    ):
        status, body = api.get("/api/v1/me", bad or "x")
        assert (status, error_code(body)) == (401, "unauthenticated"), bad
    status, _, _ = api.raw("GET", "/api/v1/me", headers={"Authorization": f"Basic {people.agent}"})
    assert status == 401


def test_disable_takes_effect_on_the_next_request(hotlined, people, binaries, schema, db):
    api = Api(hotlined, people.agent)
    assert api.get("/api/v1/me")[0] == 200
    r = hotlinectl_user(binaries, schema, "disable", people.agent_name)
    assert r.returncode == 0 and "disabled" in r.stdout, r.stderr
    status, body = api.get("/api/v1/me")
    assert (status, error_code(body)) == (401, "unauthenticated")
    assert "disabled" in body["error"]["message"]
    before = db.query("SELECT count(*) AS n FROM tickets WHERE feed_code = %s", (AGENTS_FEED,))[0]["n"]
    status, body = api.post("/api/v1/tickets", intake_body())
    assert status == 401
    after = db.query("SELECT count(*) AS n FROM tickets WHERE feed_code = %s", (AGENTS_FEED,))[0]["n"]
    assert after == before
    # disabling again says so and changes nothing
    r = hotlinectl_user(binaries, schema, "disable", people.agent_name)
    assert r.returncode == 0 and "already" in r.stdout


def test_rotate_replaces_the_token(hotlined, people, binaries, schema):
    api = Api(hotlined)
    r = hotlinectl_user(binaries, schema, "rotate", people.agent_name)
    assert r.returncode == 0, r.stderr
    new_token = r.stdout.strip()
    assert new_token != people.agent
    assert api.get("/api/v1/me", people.agent)[0] == 401
    assert api.get("/api/v1/me", new_token)[0] == 200


def test_hotlinectl_user_refusals_and_list(binaries, schema, people):
    name = new_user("dup")
    add_user(binaries, schema, name, "agent")
    r = hotlinectl_user(binaries, schema, "add", name, "--role", "agent")
    assert r.returncode == 1 and "already an account" in r.stderr and r.stdout == ""
    r = hotlinectl_user(binaries, schema, "add", new_user("x"), "--role", "admin")
    assert r.returncode == 2
    r = hotlinectl_user(binaries, schema, "add", "bad name", "--role", "agent")
    assert r.returncode == 2
    r = hotlinectl_user(binaries, schema, "disable", new_user("nobody"))
    assert r.returncode == 1 and "no account" in r.stderr
    r = hotlinectl_user(binaries, schema, "list")
    assert r.returncode == 0
    assert people.agent_name in r.stdout and people.supervisor_name in r.stdout
    assert "hl1." not in r.stdout  # tokens are never shown again
    r = hotlinectl_user(binaries, schema, "--help")
    assert r.returncode == 0 and "user add" in r.stdout


def test_only_a_hash_is_stored(people, db):
    rows = db.query("SELECT token_hash FROM users WHERE name = %s", (people.agent_name,))
    secret = people.agent.split(".", 2)[2]
    assert len(rows) == 1 and len(bytes(rows[0]["token_hash"])) == 32
    assert secret.encode() not in bytes(rows[0]["token_hash"])
    import hashlib

    assert bytes(rows[0]["token_hash"]) == hashlib.sha256(secret.encode()).digest()


def test_agent_cannot_use_supervisor_actions(hotlined, people, db):
    api = Api(hotlined, people.agent)
    status, created = api.post("/api/v1/tickets", intake_body(category=f"nomatch-{uuid.uuid4().hex[:6]}"))
    assert status == 201, created
    no = created["ticket_no"]
    before = events_count(db, no)
    for path, body in (
        (f"/api/v1/tickets/{no}/dispatch", {"dept_code": "water"}),
        (f"/api/v1/tickets/{no}/ruling", {"decision": "close", "reason": "x"}),
        (f"/api/v1/tickets/{no}/close", {"reason": "junk"}),
    ):
        status, body = api.post(path, body)
        assert (status, error_code(body)) == (403, "forbidden"), path
    assert events_count(db, no) == before
    assert db.ticket(no)["state"] == created["state"]


# ------------------------------------------------------------------ tickets


def test_create_a_ticket_and_read_it_back(hotlined, people, db):
    api = Api(hotlined, people.agent)
    body = intake_body()
    status, created = api.post("/api/v1/tickets", body)
    assert status == 201, created
    assert created["duplicate"] is False and created["state"] in ("DISPATCHED", "PENDING_DISPATCH")
    no = created["ticket_no"]
    row = db.ticket(no)
    assert row["feed_code"] == AGENTS_FEED and row["external_id"] == body["external_id"]
    # the same external_id again: the same ticket, nothing stored twice
    status, again = api.post("/api/v1/tickets", body)
    assert (status, again["ticket_no"], again["duplicate"]) == (200, no, True)
    assert db.count_external_id(AGENTS_FEED, body["external_id"]) == 1

    status, t = api.get(f"/api/v1/tickets/{no}")
    assert status == 200, t
    assert t["ticket_no"] == no and t["state"] == created["state"]
    assert t["caller_phone"] == body["caller_phone"]  # agents see full numbers
    assert t["content"] == body["content"] and t["feed"] == AGENTS_FEED
    assert t["priority"] == "normal" and t["rating"] is None
    assert t["created_at"].endswith("Z") and "T" in t["created_at"]
    kinds = [e["kind"] for e in t["events"]]
    assert kinds[0] == "INTAKE" and len(kinds) == 2
    assert t["events"][0]["actor"] == f"user:{people.agent_name}"


def test_resolved_on_the_call(hotlined, people, db):
    api = Api(hotlined, people.agent)
    status, created = api.post(
        "/api/v1/tickets", intake_body(resolved_on_call=True, answer="已告知办理地点和所需材料")
    )
    assert (status, created["state"]) == (201, "CLOSED"), created
    status, t = api.get(f"/api/v1/tickets/{created['ticket_no']}")
    assert t["resolved_on_call"] is True and t["reply"] == "已告知办理地点和所需材料"
    assert [e["actor"] for e in t["events"]] == [f"user:{people.agent_name}"] * 2
    # the answer is required with it
    status, body = api.post("/api/v1/tickets", intake_body(resolved_on_call=True))
    assert (status, error_code(body)) == (400, "invalid")


def test_invalid_tickets_are_refused_and_store_nothing(hotlined, people, db):
    api = Api(hotlined, people.agent)
    cases = [
        intake_body(content=""),  # required
        intake_body(external_id=""),
        intake_body(colour="red"),  # unknown key
        intake_body(content="x" * 9000),  # past max_content
        intake_body(received_at="yesterday"),  # wrong type
        intake_body(caller_phone="138\u00000013800"),  # NUL inside a string
    ]
    for body in cases:
        status, reply = api.post("/api/v1/tickets", body)
        assert (status, error_code(reply)) == (400, "invalid"), body
        assert db.count_external_id(AGENTS_FEED, body["external_id"]) == 0
    # not JSON, not an object, duplicate keys, invalid UTF-8
    for raw in (b"{", b"[1,2]", b'{"content":"a","content":"b"}', b'{"content":"\xff"}', b"null"):
        status, _, data = api.raw(
            "POST",
            "/api/v1/tickets",
            raw,
            {"Authorization": f"Bearer {people.agent}", "Content-Type": "application/json"},
        )
        assert status == 400 and error_code(json.loads(data)) == "invalid", raw
    # not JSON at all
    status, _, data = api.raw(
        "POST",
        "/api/v1/tickets",
        b"content=x",
        {"Authorization": f"Bearer {people.agent}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 415 and error_code(json.loads(data)) == "unsupported_media_type"


def test_oversized_requests(hotlined, people, db):
    api = Api(hotlined, people.agent)
    max_body = int(hotlined.setting("http", "max_body"))
    body = intake_body(content="x" * 100)
    body["address"] = "y" * (max_body + 10)
    status, _, data = api.raw(
        "POST",
        "/api/v1/tickets",
        json.dumps(body).encode(),
        {"Authorization": f"Bearer {people.agent}", "Content-Type": "application/json"},
    )
    assert status == 413 and error_code(json.loads(data)) == "too_large"
    assert db.count_external_id(AGENTS_FEED, body["external_id"]) == 0
    # far past it: the parser refuses before reading; still nothing stored, still up
    body["address"] = "y" * (max_body * 5)
    try:
        status, _, data = Api(hotlined, people.agent).raw(
            "POST",
            "/api/v1/tickets",
            json.dumps(body).encode(),
            {"Authorization": f"Bearer {people.agent}", "Content-Type": "application/json"},
        )
        assert status == 413
    except (ConnectionError, OSError):
        pass  # the server may close while the client still sends
    assert db.count_external_id(AGENTS_FEED, body["external_id"]) == 0
    # headers past max_headers: refused by the parser, the daemon stays up
    api = Api(hotlined, people.agent)
    status, _, _ = api.raw("GET", "/api/v1/me", headers={"X-Pad": "z" * 20000})
    assert status in (400, 413, 431)
    assert Api(hotlined, people.agent).get("/api/v1/me")[0] == 200


def test_unknown_paths_and_methods(hotlined, people):
    # "/" is the screens' index now (test_ui.py)
    api = Api(hotlined, people.agent)
    for path in ("/nosuch", "/api/v2/me", "/api/v1/nosuch", "/api/v1/tickets/a/b/c", "/api/v1/me%00"):
        status, _, data = api.raw("GET", path, headers={"Authorization": f"Bearer {people.agent}"})
        assert status in (400, 404), path
        assert error_code(json.loads(data)) in ("not_found", "invalid"), path
    status, body = api.post("/api/v1/me", {})
    assert (status, error_code(body)) == (405, "method_not_allowed")
    for method in ("DELETE", "PUT", "PATCH", "OPTIONS"):
        status, _, data = api.raw(method, "/api/v1/me", headers={"Authorization": f"Bearer {people.agent}"})
        assert (status, error_code(json.loads(data))) == (405, "method_not_allowed"), method
    status, body = api.get("/api/v1/tickets/20990101-00000001")
    assert (status, error_code(body)) == (404, "not_found")


def test_caller_history_newest_first_paged_and_audited(hotlined, people, db):
    api = Api(hotlined, people.agent)
    phone = new_phone()
    made = []
    for i in range(5):
        status, created = api.post(
            "/api/v1/tickets", intake_body(caller_phone=phone, category=f"h{i}-{uuid.uuid4().hex[:4]}")
        )
        assert status == 201, created
        made.append(created["ticket_no"])
        time.sleep(0.01)
    lookups_before = db.query("SELECT count(*) AS n FROM caller_lookups WHERE caller_phone = %s", (phone,))[0]["n"]
    status, page = api.get(f"/api/v1/callers/{phone}/tickets?limit=3")
    assert status == 200, page
    assert [t["ticket_no"] for t in page["tickets"]] == made[::-1][:3]
    assert page["more"] is True and page["limit"] == 3 and page["caller_phone"] == phone
    status, page2 = api.get(f"/api/v1/callers/{phone}/tickets?limit=3&offset=3")
    assert [t["ticket_no"] for t in page2["tickets"]] == made[::-1][3:]
    assert page2["more"] is False
    rows = db.query(
        "SELECT user_name, shown FROM caller_lookups WHERE caller_phone = %s ORDER BY lookup_id", (phone,)
    )
    assert len(rows) == lookups_before + 2
    assert [(r["user_name"], r["shown"]) for r in rows[-2:]] == [(people.agent_name, 3), (people.agent_name, 2)]
    # a number with no tickets: an empty page, still audited
    status, empty = api.get(f"/api/v1/callers/{new_phone()}/tickets")
    assert status == 200 and empty["tickets"] == [] and empty["more"] is False
    for q in ("limit=0", "limit=101", "offset=-1", "limit=x"):
        status, body = api.get(f"/api/v1/callers/{phone}/tickets?{q}")
        assert (status, error_code(body)) == (400, "invalid"), q
    # the audit table refuses changes
    with pytest.raises(Exception):
        db.query("DELETE FROM caller_lookups WHERE caller_phone = %s", (phone,), retry_seconds=0)


def test_keep_alive_many_requests_one_connection(hotlined, people):
    api = Api(hotlined, people.agent)
    for _ in range(50):
        assert api.get("/api/v1/me")[0] == 200


def test_postgres_down_gets_503(start_hotlined, people, pg):
    daemon = start_hotlined()
    api = Api(daemon, people.agent)
    assert api.get("/api/v1/me")[0] == 200
    pg.stop()
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                status, body = Api(daemon, people.agent).get("/api/v1/me")
            except (ConnectionError, socket.timeout):
                status, body = None, None
            if status == 503:
                assert error_code(body) in ("unavailable", "timeout")
                break
            assert time.monotonic() < deadline, (status, body)
            time.sleep(0.2)
    finally:
        pg.start()
    deadline = time.monotonic() + 30
    while Api(daemon, people.agent).get("/api/v1/me")[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)
