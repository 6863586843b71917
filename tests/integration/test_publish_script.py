"""queries/publish.lua against the session's Redis, with no daemon: its reply, one
status character per ticket ('+' appended, '=' published before, '!' refused) and the
first refusal's error, which daemon/bus_publish.c reads; and the markers it leaves.
Each test uses streams and tickets of its own. The daemon's side (the relay, the
outbox, republishing) is in test_routing.py and test_rebuild.py.
"""

import pathlib
import uuid

import pytest
import redis

SCRIPT = (pathlib.Path(__file__).resolve().parents[2] / "queries" / "publish.lua").read_text()


@pytest.fixture
def names(rds):
    tag = uuid.uuid4().hex[:10]
    made = []

    def name(kind):
        key = f"hotline:dept:pub{tag}{kind}"
        made.append(key)
        return key

    yield tag, name
    rds.delete(*made)


def publish(rds, tickets):
    """tickets: [(stream, mark, ticket_no, bytes)] -> the script's reply."""
    args = [t[1] for t in tickets]
    for t in tickets:
        args += [t[2], t[3]]
    return rds.eval(SCRIPT, len(tickets), *[t[0] for t in tickets], *args)


def marker_hash(rds):
    return f"hotline:published:{int(rds.time()[0]) // 3600}"


def test_status_per_ticket_and_markers(rds, names):
    tag, name = names
    water, broken = name("water"), name("broken")
    rds.set(broken, "not a stream")
    first, again, refused = (f"T{tag}{i}" for i in range(3))
    tickets = [
        (water, f"pub:{first}:0.0", first, b"\x0a\x01a"),
        (water, f"pub:{first}:0.0", first, b"\x0a\x01a"),  # the same dispatch twice in one call
        (broken, f"pub:{refused}:0.0", refused, b"\x0a\x01c"),
        (water, f"pub:{again}:1.0", again, b"\x0a\x01b"),
    ]
    status, first_error = publish(rds, tickets)
    assert status == b"+=!+"
    assert isinstance(first_error, redis.ResponseError) and "WRONGTYPE" in str(first_error)
    entries = rds.xrange(water)
    assert [e[1][b"ticket_no"].decode() for e in entries] == [first, again]
    marks = rds.hmget(marker_hash(rds), f"pub:{first}:0.0", f"pub:{again}:1.0", f"pub:{refused}:0.0")
    assert marks == [b"1", b"1", None]  # a refused ticket leaves no marker
    assert 0 < rds.ttl(marker_hash(rds)) <= 7200

    # published before: a no-op; the refused one goes once its stream is usable
    rds.delete(broken)
    status, first_error = publish(rds, tickets[:1] + tickets[2:])
    assert (status, first_error) == (b"=+=", None)
    assert [e[1][b"ticket_no"].decode() for e in rds.xrange(broken)] == [refused]
    assert len(rds.xrange(water)) == 2


def test_previous_hours_markers_count(rds, names):
    tag, name = names
    water = name("water")
    ticket_no = f"T{tag}"
    previous = f"hotline:published:{int(rds.time()[0]) // 3600 - 1}"
    rds.hset(previous, f"pub:{ticket_no}:0.0", "1")
    rds.expire(previous, 60)
    try:
        status, _ = publish(rds, [(water, f"pub:{ticket_no}:0.0", ticket_no, b"\x0a\x01a")])
        assert status == b"="
        assert rds.exists(water) == 0
    finally:
        rds.hdel(previous, f"pub:{ticket_no}:0.0")
