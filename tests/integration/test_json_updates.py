""""One way out" for JSON-lines feeds: department actions reach the feed as
{"type":"update",...} lines, acknowledged with {"ack_update":N}; unacknowledged
updates are sent again after the feed reconnects, acknowledged ones are not.
"""

import time
import uuid

import pytest

import hotline_client as hc

from routing_helpers import FrameInbox, load_rules, new_code, new_keyword, new_phone, routing_overrides
from test_repeats import frame_ack, frame_action


pytestmark = pytest.mark.usefixtures("neutral_rules_afterwards")


def json_lines_until(client, predicate, limit=50):
    """Reads lines until one satisfies predicate; returns it."""
    for _ in range(limit):
        line = client.read_line(10)
        if predicate(line):
            return line
    raise AssertionError("no matching line")


def test_json_feed_gets_updates_and_acks_them(start_hotlined, binaries, redis_server, db, rds, tmp_path):
    dept, feed, keyword = new_code("jd"), new_code("jf"), new_keyword()
    load_rules(binaries, redis_server, db, rds, tmp_path / "j.rules", f"rule j -> {dept}\n  keywords {keyword}\n")
    daemon = start_hotlined(routing_overrides(depts=[dept], feeds=[feed]))
    ext = f"j-{uuid.uuid4().hex[:10]}"

    c = daemon.json()
    assert c.hello(feed, f"{feed}-feed-secret")["type"] == "welcome"
    c.send_intake(external_id=ext, content=f"井盖缺失 {keyword}", category="complaint",
                  caller_phone=new_phone())
    ack = json_lines_until(c, lambda l: l.get("type") == "ack")
    ticket_no = ack["ticket_no"]

    d = FrameInbox("127.0.0.1", daemon.binary_port)
    assert d.hello(dept, f"{dept}-dept-secret", role=2).WhichOneof("msg") == "welcome"
    d.next_frame(lambda f: f.WhichOneof("msg") == "ticket" and f.ticket.ticket_no == ticket_no)
    d.send_frame(frame_ack(ticket_no))
    d.send_frame(frame_action(ticket_no, "accept"))
    assert d.next_frame(lambda f: f.WhichOneof("msg") == "action_ack").action_ack.ok

    up = json_lines_until(c, lambda l: l.get("type") == "update")
    assert (up["ticket_no"], up["external_id"], up["state"]) == (ticket_no, ext, "ACCEPTED")
    assert up["update_id"] > 0 and up["at"] > 0
    # not acknowledged: sent again on the next connection
    c.close()
    c = daemon.json()
    assert c.hello(feed, f"{feed}-feed-secret")["type"] == "welcome"
    again = json_lines_until(c, lambda l: l.get("type") == "update")
    assert again["update_id"] == up["update_id"]
    c.send_line({"ack_update": again["update_id"]})
    bad = {"ack_update": 0}
    c.send_line(bad)
    err = json_lines_until(c, lambda l: l.get("type") == "error")
    assert (err["code"], err["message"]) == ("invalid", "ack_update must be the only key, a positive integer")

    d.send_frame(frame_action(ticket_no, "reply", "已补装井盖 fixed"))
    assert d.next_frame(lambda f: f.WhichOneof("msg") == "action_ack").action_ack.ok
    replied = json_lines_until(c, lambda l: l.get("type") == "update" and l["state"] == "REPLIED")
    assert replied["reply"] == "已补装井盖 fixed"
    c.send_line({"ack_update": replied["update_id"]})
    c.close()
    d.close()

    # both acknowledged: nothing is sent again, and the rows are gone
    def remaining():
        return db.query("SELECT count(*) AS n FROM feed_updates WHERE feed_code = %s", (feed,))[0]["n"]
    deadline = time.monotonic() + 10
    while remaining() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert remaining() == 0
    c = daemon.json()
    assert c.hello(feed, f"{feed}-feed-secret")["type"] == "welcome"
    with pytest.raises(hc.Timeout):
        c.read_line(2)
    c.close()
