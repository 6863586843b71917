"""queries/stream_trim.lua against the session's Redis, with no daemon: what a
department consumer runs after its acks instead of an XDEL per acknowledged entry.
Its promise: it removes only entries every consumer group has read and
acknowledged; an entry not yet delivered, or pending under any consumer (a live
connection's, "orphans", a dead daemon's), is never removed, however far behind it
the acknowledged ones go; and acknowledged entries held back by one old pending
entry are deleted one by one once more than keep_max of them pile up.

Each test uses a stream of its own (a fresh key), so nothing mixes with other tests.
The daemon's side (acks then a trim; a department coming back after a long absence)
is in test_routing.py.
"""

import pathlib
import uuid

import pytest

SCRIPT = (pathlib.Path(__file__).resolve().parents[2] / "queries" / "stream_trim.lua").read_text()
GROUP = "hotline"


@pytest.fixture
def stream(rds):
    key = f"hotline:dept:trim{uuid.uuid4().hex[:10]}"
    yield key
    rds.delete(key)


def trim(rds, key, keep_max=1000):
    """-> [trimmed, deleted one by one]"""
    return rds.eval(SCRIPT, 1, key, GROUP, keep_max)


def add(rds, key, n):
    return [rds.xadd(key, {"ticket_no": f"t{i}", "ticket": b"\x0a\x02t0"}).decode() for i in range(n)]


def read(rds, key, consumer, count):
    got = rds.xreadgroup(GROUP, consumer, {key: ">"}, count=count)
    return [e[0].decode() for e in got[0][1]] if got else []


def ids_in(rds, key):
    return [e[0].decode() for e in rds.xrange(key)]


def test_no_stream_or_no_group_is_left_alone(rds, stream):
    assert trim(rds, stream) == [0, 0]
    ids = add(rds, stream, 3)
    assert trim(rds, stream) == [0, 0]  # nobody read them: no group yet
    assert ids_in(rds, stream) == ids


def test_undelivered_entries_are_never_trimmed(rds, stream):
    ids = add(rds, stream, 6)
    rds.xgroup_create(stream, GROUP, "0")
    assert trim(rds, stream) == [0, 0]
    assert read(rds, stream, "c1", 2) == ids[:2]
    rds.xack(stream, GROUP, *ids[:2])
    assert trim(rds, stream) == [2, 0]
    assert ids_in(rds, stream) == ids[2:]  # read and acknowledged: gone; the rest stays
    # a group re-created at 0 (Redis lost it) has read nothing
    rds.xgroup_destroy(stream, GROUP)
    rds.xgroup_create(stream, GROUP, "0")
    assert trim(rds, stream) == [0, 0]
    assert ids_in(rds, stream) == ids[2:]


def test_pending_entries_hold_the_floor_whoever_holds_them(rds, stream):
    ids = add(rds, stream, 8)
    rds.xgroup_create(stream, GROUP, "0")
    assert read(rds, stream, "conn-1", 3) == ids[:3]
    assert read(rds, stream, "conn-2", 3) == ids[3:6]
    # conn-1's oldest goes to orphans (its connection closed), conn-2 holds its own
    rds.xclaim(stream, GROUP, "orphans", 0, [ids[0]], justid=True)
    rds.xack(stream, GROUP, ids[1], ids[2], ids[4])
    assert trim(rds, stream) == [0, 0]  # ids[0] is pending: nothing below it is trimmed
    assert ids_in(rds, stream) == ids
    rds.xack(stream, GROUP, ids[0])
    assert trim(rds, stream) == [3, 0]  # up to conn-2's oldest, ids[3]
    assert ids_in(rds, stream) == ids[3:]
    rds.xack(stream, GROUP, ids[3], ids[5])
    assert trim(rds, stream) == [3, 0]
    assert ids_in(rds, stream) == ids[6:]  # never delivered: kept
    assert read(rds, stream, "conn-3", 10) == ids[6:]
    rds.xack(stream, GROUP, *ids[6:])
    assert trim(rds, stream) == [2, 0]
    assert rds.xlen(stream) == 0


def test_another_group_keeps_what_it_has_not_read(rds, stream):
    ids = add(rds, stream, 4)
    rds.xgroup_create(stream, GROUP, "0")
    rds.xgroup_create(stream, "audit", "0")
    read(rds, stream, "c1", 4)
    rds.xack(stream, GROUP, *ids)
    assert trim(rds, stream) == [0, 0]
    read_other = rds.xreadgroup("audit", "a1", {stream: ">"}, count=2)
    rds.xack(stream, "audit", *[e[0] for e in read_other[0][1]])
    assert trim(rds, stream) == [2, 0]
    assert ids_in(rds, stream) == ids[2:]


def test_acknowledged_entries_behind_a_stuck_one_are_deleted_past_keep_max(rds, stream):
    ids = add(rds, stream, 12)
    rds.xgroup_create(stream, GROUP, "0")
    read(rds, stream, "c1", 10)
    rds.xack(stream, GROUP, *ids[1:8])  # ids[0] never acknowledged; 8, 9 held; 10, 11 unread
    assert trim(rds, stream, keep_max=10) == [0, 0]  # 7 acknowledged kept: under the bound
    # one look at keep_max + pending (3 + 3) entries from the floor: 5 of them go
    assert trim(rds, stream, keep_max=3) == [0, 5]
    assert ids_in(rds, stream) == [ids[0], *ids[6:]]
    assert trim(rds, stream, keep_max=3) == [0, 0]  # 2 acknowledged kept: under the bound
    assert trim(rds, stream, keep_max=1) == [0, 2]
    assert ids_in(rds, stream) == [ids[0], *ids[8:]]
    # the pending and the undelivered are still delivered
    pending = rds.xpending_range(stream, GROUP, "-", "+", 10)
    assert sorted(p["message_id"].decode() for p in pending) == [ids[0], ids[8], ids[9]]
    assert read(rds, stream, "c2", 10) == ids[10:]
    rds.xack(stream, GROUP, *ids)
    assert trim(rds, stream, keep_max=3) == [5, 0]
    assert rds.xlen(stream) == 0


def test_sequence_numbers_carry(rds, stream):
    for entry_id in ("5-9", "5-99", "6-0"):
        rds.xadd(stream, {"ticket_no": "t"}, id=entry_id)
    rds.xgroup_create(stream, GROUP, "0")
    read(rds, stream, "c1", 2)
    rds.xack(stream, GROUP, "5-9", "5-99")
    assert trim(rds, stream) == [2, 0]  # the floor is 5-100, not 5-910 or 5-10
    assert ids_in(rds, stream) == ["6-0"]
