"""Transitions are group-committed: many concurrent moves, one transaction, each
answered only after that transaction committed, each applied and counted once.

daemon/transition.c sends the writes of concurrent department actions and callback
results together (ticket_write.sql each, then ticket_write_stats.sql for the
rollup) before one Sync. hotlined reaches PostgreSQL here through pg_proxy.PgProxy,
which holds back every batch of writes (the statement that closes it,
ticket_write_stats, is in the bytes held) for HOLD seconds: while it is held nothing
of it has committed, so no answer may arrive. A write whose ticket moved since it
was read (its version) matches no row: that job alone reads and decides again, the
rest of its batch is done.
"""

import threading
import time
import uuid

import hotline_client as hc
import test_callbacks as tc
from routing_helpers import DeptClient, FeedClient, new_code, new_phone
# the daemon behind the proxy, with a sub-centre feed and its department of the
# test's own, and no other test's callbacks in the queue
from test_lost_confirmation import sub_centre  # noqa: F401  (a fixture)

HOLD = 1.5  # seconds every batch of writes is held back before PostgreSQL sees it
WRITES = b"ticket_write_stats\x00"  # in the Bind of the statement that ends a batch


def pb():
    return hc.pb


def take_tickets(daemon, feed, dept, n):
    """n new tickets of the sub-centre, received and acknowledged by its department."""
    f, d = FeedClient(daemon, feed), DeptClient(daemon, dept)
    tickets = []
    for _ in range(n):
        tickets.append(f.intake(f"gc-{uuid.uuid4().hex[:16]}", category="complaint",
                                content=f"路灯不亮 {uuid.uuid4().hex[:8]}", caller_phone=new_phone()))
    for ticket_no in tickets:
        d.ticket(ticket_no)
        d.ack(ticket_no)
    f.close()
    d.close()
    return tickets


def send_all_then_answers(clients, sends):
    """sends: [(client, ticket_no, frame)]. Sends every frame first (so the moves are
    concurrent), then reads each one's answer on its own connection; returns
    {(index, ticket_no): (answer frame, seconds after the first send)}."""
    t0 = time.monotonic()
    for client, _ticket_no, frame in sends:
        client.send_frame(frame)
    answers = {}
    lock = threading.Lock()

    def read(i, client, mine):
        for ticket_no in mine:
            frame = client.next_frame(
                lambda f: (f.WhichOneof("msg") == "action_ack" and f.action_ack.ticket_no == ticket_no)
                or (f.WhichOneof("msg") == "error" and f.error.ticket_no == ticket_no),
                30.0, f"the answer for {ticket_no}")
            with lock:
                answers[(i, ticket_no)] = (frame, time.monotonic() - t0)

    threads = []
    for i, client in enumerate(clients):
        mine = [t for c, t, _ in sends if c is client]
        threads.append(threading.Thread(target=read, args=(i, client, mine)))
        threads[-1].start()
    for t in threads:
        t.join()
    return answers


def kinds_by_ticket(db, tickets, kind):
    rows = db.query("SELECT t.ticket_no, e.xmin::text AS xact FROM ticket_events e"
                    " JOIN tickets t USING (ticket_id)"
                    " WHERE t.ticket_no = ANY(%s) AND e.kind = %s", (tickets, kind))
    out = {}
    for r in rows:
        out.setdefault(r["ticket_no"], []).append(r["xact"])
    return out


def rollup(db, dept, column):
    [row] = db.query(f"SELECT COALESCE(sum({column}), 0)::int AS n FROM stats_daily"
                     " WHERE dim = '' AND dept_code = %s", (dept,))
    return row["n"]


def accept_frame(ticket_no):
    return pb().Frame(dept_action=pb().DeptAction(ticket_no=ticket_no, accept=pb().DeptAction.Accept()))


def test_concurrent_accepts_share_a_commit_and_are_answered_after_it(sub_centre, proxy, db):
    daemon, feed, dept = sub_centre
    tickets = take_tickets(daemon, feed, dept, 24)
    # a department's actions apply one at a time per connection: eight connections
    conns = [DeptClient(daemon, dept) for _ in range(8)]
    proxy.delay_statements({WRITES: HOLD})
    sends = [(conns[i % len(conns)], t, accept_frame(t)) for i, t in enumerate(tickets)]
    answers = send_all_then_answers(conns, sends)
    proxy.delay_statements({})
    for (_, ticket_no), (frame, after) in answers.items():
        assert frame.WhichOneof("msg") == "action_ack", frame
        assert (frame.action_ack.ok, frame.action_ack.state) == (True, pb().TICKET_STATE_ACCEPTED)
        # its batch was held HOLD seconds before PostgreSQL saw it: no answer before
        assert after >= HOLD, f"{ticket_no} answered {after:.2f} s after the accepts were sent"
    accepts = kinds_by_ticket(db, tickets, "ACCEPT")
    assert sorted(accepts) == sorted(tickets)
    assert all(len(x) == 1 for x in accepts.values()), accepts  # each applied once
    transactions = {x[0] for x in accepts.values()}
    assert len(transactions) <= len(tickets) // 3, f"{len(tickets)} accepts in {len(transactions)} commits"
    assert rollup(db, dept, "accepted") == len(tickets)  # and counted once
    rows = db.query("SELECT count(*) AS n FROM tickets WHERE ticket_no = ANY(%s) AND state = 'ACCEPTED'",
                    (tickets,))
    assert rows[0]["n"] == len(tickets)
    for c in conns:
        c.close()


def test_a_write_whose_ticket_moved_retries_alone(sub_centre, proxy, db):
    """Two departments' connections accept the same ticket at once, with eight other
    tickets: both read it at one version (every write is held HOLD seconds), the
    first write moves it, the second matches no row. Only that job reads and decides
    again (and is refused: already ACCEPTED); every other accept of the batch is made
    once and answered ok."""
    daemon, feed, dept = sub_centre
    tickets = take_tickets(daemon, feed, dept, 9)
    twice = tickets[4]
    conns = [DeptClient(daemon, dept) for _ in range(len(tickets) + 1)]
    proxy.delay_statements({WRITES: HOLD})
    sends = [(conns[i], t, accept_frame(t)) for i, t in enumerate(tickets)]
    sends.append((conns[-1], twice, accept_frame(twice)))
    answers = send_all_then_answers(conns, sends)
    proxy.delay_statements({})
    on_twice = []
    for (_, ticket_no), (frame, after) in answers.items():
        assert frame.WhichOneof("msg") == "action_ack", frame
        assert frame.action_ack.state == pb().TICKET_STATE_ACCEPTED
        assert after >= HOLD
        if ticket_no == twice:
            on_twice.append(frame.action_ack.ok)
        else:
            assert frame.action_ack.ok, frame
    assert sorted(on_twice) == [False, True], "one accept made, the other refused after reading again"
    accepts = kinds_by_ticket(db, tickets, "ACCEPT")
    assert all(len(accepts.get(t, [])) == 1 for t in tickets), accepts
    assert rollup(db, dept, "accepted") == len(tickets)
    for c in conns:
        c.close()


def test_concurrent_callback_results_share_a_commit_applied_once(sub_centre, proxy, db, rds):
    daemon, feed, dept = sub_centre
    tickets = take_tickets(daemon, feed, dept, 8)
    d = DeptClient(daemon, dept)
    for t in tickets:
        assert d.accept(t).action_ack.ok
        assert d.reply(t, "已修复").action_ack.ok
    d.close()
    agents = [tc.AgentClient(daemon, new_code("gca")) for _ in tickets]
    held = [a.wait_task().ticket_no for a in agents]
    assert sorted(held) == sorted(tickets)
    proxy.delay_statements({WRITES: HOLD})
    sends = [(a, t, pb().Frame(callback_result=pb().CallbackResult(
        ticket_no=t, outcome=pb().CALLBACK_OUTCOME_SATISFIED, note="")))
        for a, t in zip(agents, held)]
    answers = send_all_then_answers(agents, sends)
    proxy.delay_statements({})
    for (_, ticket_no), (frame, after) in answers.items():
        assert frame.WhichOneof("msg") == "action_ack", frame
        assert (frame.action_ack.ok, frame.action_ack.state) == (True, pb().TICKET_STATE_CLOSED)
        assert after >= HOLD
    done = kinds_by_ticket(db, tickets, "CALLBACK_SATISFIED")
    assert all(len(done.get(t, [])) == 1 for t in tickets), done
    assert len({x[0] for x in done.values()}) < len(tickets)
    assert rollup(db, dept, "satisfied") == len(tickets)
    assert rollup(db, dept, "closed") == len(tickets)
    for a in agents:
        a.close()


def test_one_connections_actions_share_commits_in_order(sub_centre, proxy, db):
    """A department connection's actions on different tickets are applied together
    (their writes share commits), a ticket's own in the order sent (each reply waits
    for its accept), and every answer comes in the order sent."""
    daemon, feed, dept = sub_centre
    tickets = take_tickets(daemon, feed, dept, 12)
    d = DeptClient(daemon, dept)
    proxy.delay_statements({WRITES: 0.3})
    sent = []
    for t in tickets:
        d.send_frame(accept_frame(t))
        sent.append((t, pb().TICKET_STATE_ACCEPTED))
    for t in tickets[:6]:
        d.send_frame(pb().Frame(dept_action=pb().DeptAction(
            ticket_no=t, reply=pb().DeptAction.Reply(content="已处理"))))
        sent.append((t, pb().TICKET_STATE_REPLIED))
    got = [d.next_frame(lambda f: f.WhichOneof("msg") in ("action_ack", "error"), 30.0, "an answer")
           for _ in sent]
    proxy.delay_statements({})
    assert [(f.action_ack.ticket_no, f.action_ack.state, f.action_ack.ok) for f in got] == \
        [(t, state, True) for t, state in sent]
    accepts = kinds_by_ticket(db, tickets, "ACCEPT")
    assert all(len(accepts.get(t, [])) == 1 for t in tickets), accepts
    assert len({x[0] for x in accepts.values()}) < len(tickets), "the accepts shared commits"
    replies = kinds_by_ticket(db, tickets[:6], "REPLY")
    assert all(len(replies.get(t, [])) == 1 for t in tickets[:6]), replies
    d.close()
