"""checker.py - proves the promise from the clients' own records and PostgreSQL.

Owns: reading records/ (clients.py says what each file holds) and the tables after
the run, and judging:
  intake      every acknowledged (feed, external_id) is stored exactly once, with the
              ticket number it was acknowledged with (every ack of it named the same
              one) and the content sent; no record cut mid-frame is stored;
  delivery    every dispatch (ROUTE_MATCHED, and each reopen CALLBACK_UNSATISFIED) was
              received by a consumer of its department, with that reopen count;
  updates     every TicketUpdate a transition wrote (ticket-life.md says which) was
              received by its feed or is still in feed_updates: none deleted undelivered;
  callbacks   no ticket is left REPLIED (agents call every one back while the run drains);
  audit       each ticket's ticket_events chain starts with INTAKE, each from_state is the
              previous to_state, each move is one the state machine allows, the last
              to_state is the ticket's state; every LINKED ticket's parent is still open;
  once        each due-soon and overdue mark at most once per ticket per deadline; no
              department action or callback result applied more often than it was sent;
  outbox      empty at the end;
  rollup      the statistics' rollup (stats_rollup: stats_daily and intake's slots)
              equals its recomputation from the audit trail, every day, department,
              dimension and count (`hotline-stats check`): no move counted twice or
              lost, whatever the faults did.
Never: changes the database.
Callers: suite.py (run and soak), with a drained run whose daemons have stopped.
"""

import collections
import glob
import json
import os
import subprocess

import psycopg

# (kind, from_state, to_state) the state machine allows (docs/ticket-life.md); None
# in from_state: the first row of a ticket.
OPEN = ("DISPATCHED", "ACCEPTED")
ALLOWED = {
    ("INTAKE", None, "RECEIVED"),
    ("ROUTE_MATCHED", "RECEIVED", "DISPATCHED"),
    ("ROUTE_NONE", "RECEIVED", "PENDING_DISPATCH"),
    ("DIRECT_CLOSE", "RECEIVED", "CLOSED"),
    ("LINK", "RECEIVED", "LINKED"),
    ("ACCEPT", "DISPATCHED", "ACCEPTED"),
    ("REPLY", "ACCEPTED", "REPLIED"),
    ("CALLBACK_SATISFIED", "REPLIED", "CLOSED"),
    ("CALLBACK_BASICALLY_SATISFIED", "REPLIED", "CLOSED"),
    ("CALLBACK_UNSATISFIED", "REPLIED", "DISPATCHED"),
    ("CALLBACK_UNREACHABLE", "REPLIED", "REPLIED"),
    ("CALLBACK_UNREACHABLE", "REPLIED", "CLOSED"),
    ("PARENT_REPLIED", "LINKED", "LINKED"),
    ("PARENT_CLOSED", "LINKED", "CLOSED"),
} | {("RETURN", s, t) for s in OPEN for t in ("PENDING_DISPATCH", "ESCALATED")} | {
    (k, s, s) for k in ("EXTEND", "DUE_SOON", "OVERDUE") for s in OPEN}

# events whose transition writes a TicketUpdate for the ticket's feed (state = to_state)
UPDATE_KINDS = {"ACCEPT", "RETURN", "REPLY", "CALLBACK_SATISFIED", "CALLBACK_BASICALLY_SATISFIED",
                "CALLBACK_UNSATISFIED", "PARENT_REPLIED", "PARENT_CLOSED"}


def read_tsv(directory, pattern):
    for path in sorted(glob.glob(os.path.join(directory, pattern))):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) > 1:
                    yield parts


class Result:
    def __init__(self):
        self.counts = collections.OrderedDict()
        self.failures = []  # (what, count, examples)

    def fail(self, what, items):
        items = list(items)
        if items:
            self.failures.append((what, len(items), items[:5]))

    def ok(self):
        return not self.failures


def check(conninfo, records_dir, rule_depts, agents_feed, received, python_depts, result=None,
          stats_tool=None):
    """Judges a finished run. received: {dept: {(ticket_no, reopen_count)}};
    rule_depts: {route_rule or 'subcenter:FEED': dept}; python_depts: departments whose
    every action was sent by a recording client; stats_tool: hotline-stats, for the
    rollup's check (None: not checked). Returns a Result."""
    r = result or Result()
    with psycopg.connect(conninfo, autocommit=True) as db:
        tickets = {}
        for row in db.execute("SELECT ticket_id, ticket_no, feed_code, external_id, state, content,"
                              " parent_ticket_id FROM tickets"):
            tickets[row[0]] = row
        events = collections.defaultdict(list)
        for row in db.execute("SELECT ticket_id, kind, from_state, to_state, actor, detail"
                              " FROM ticket_events ORDER BY ticket_id, event_id"):
            events[row[0]].append(row[1:])
        owed = collections.Counter((row[0], row[1]) for row in db.execute(
            "SELECT ticket_no, state FROM feed_updates"))
        outbox = db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    by_key = {(t[2], t[3]): t for t in tickets.values()}
    by_no = {t[1]: t for t in tickets.values()}

    # ---- intake
    acks = collections.defaultdict(set)
    for feed, ext, ticket_no, _dup in read_tsv(records_dir, "acks-*.tsv"):
        acks[(feed, ext)].add(ticket_no)
    lost, wrong, twice, garbled = [], [], [], []
    for key, numbers in acks.items():
        if len(numbers) > 1:
            twice.append(f"{key}: acknowledged as {sorted(numbers)}")
        stored = by_key.get(key)
        if stored is None:
            lost.append(f"{key} acknowledged as {sorted(numbers)}, not in tickets")
        elif stored[1] not in numbers:
            wrong.append(f"{key} acknowledged as {sorted(numbers)}, stored as {stored[1]}")
        elif f"[{key[1]}]" not in stored[5]:
            garbled.append(f"{key} stored with content {stored[5][:80]!r}")
    half = [tuple(p[:2]) for p in read_tsv(records_dir, "half-*.tsv")]
    half_stored = [f"{k} was cut mid-frame but is stored as {by_key[k][1]}" for k in half if k in by_key]
    sent = {(p[0], p[1]) for p in read_tsv(records_dir, "sent-*.tsv")}
    r.counts["records sent"] = len(sent)
    r.counts["acknowledged"] = len(acks)
    r.counts["stored (of those)"] = len(acks) - len(lost)
    r.counts["lost"] = len(lost)
    r.counts["duplicated"] = len(twice) + len(wrong)
    r.counts["sent, never acknowledged"] = len(sent - set(acks))
    r.counts["cut mid-frame (not stored)"] = len(half) - len(half_stored)
    r.fail("acknowledged records not stored (LOST)", lost)
    r.fail("acknowledged records stored under another ticket number", wrong)
    r.fail("records acknowledged with two ticket numbers (stored twice?)", twice)
    r.fail("acknowledged records stored with other content", garbled)
    r.fail("records cut mid-frame that were stored", half_stored)

    # ---- audit chains, deliveries owed, updates owed
    bad_chain, required, written = [], {}, collections.Counter()
    marks = collections.Counter()
    applied = collections.Counter()
    for ticket_id, t in tickets.items():
        chain = events.get(ticket_id, [])
        prev, dept, reopen = None, None, 0
        for kind, frm, to, actor, detail in chain:
            if (kind, frm, to) not in ALLOWED or frm != prev:
                bad_chain.append(f"{t[1]}: {kind} {frm}->{to} after {prev} ({[e[0] for e in chain]})")
                break
            prev = to
            if kind == "ROUTE_MATCHED":
                dept = rule_depts.get(detail)
                required[(t[1], reopen)] = dept
            elif kind == "CALLBACK_UNSATISFIED":
                reopen += 1
                required[(t[1], reopen)] = dept
            elif kind == "RETURN":
                dept = None
            if kind in UPDATE_KINDS or (kind == "CALLBACK_UNREACHABLE" and to == "CLOSED"):
                if t[2] != agents_feed:
                    written[(t[1], to)] += 1
            if kind in ("DUE_SOON", "OVERDUE"):
                marks[(t[1], kind, detail)] += 1
            applied[(t[1], kind, actor.split(":")[0])] += 1
        else:
            if chain and prev != t[4]:
                bad_chain.append(f"{t[1]}: state {t[4]}, but its audit trail ends in {prev}")
            elif not chain:
                bad_chain.append(f"{t[1]}: no audit rows")
    orphans = [f"{t[1]} LINKED to {by_id_no(tickets, t[6])}, which is CLOSED"
               for t in tickets.values()
               if t[4] == "LINKED" and t[6] in tickets and tickets[t[6]][4] == "CLOSED"]
    r.fail("tickets whose state their audit trail does not explain", bad_chain)
    r.fail("repeat complaints LINKED to a CLOSED parent (never closed, feed never told)", orphans)

    undelivered = []
    for (ticket_no, reopen), dept in required.items():
        if dept is None:
            undelivered.append(f"{ticket_no} reopen {reopen}: dispatched by an unknown rule")
        elif (ticket_no, reopen) not in received.get(dept, ()):
            undelivered.append(f"{ticket_no} (reopen {reopen}) never reached department {dept}")
    r.counts["dispatches owed to departments"] = len(required)
    r.counts["undelivered"] = len(undelivered)
    r.fail("dispatched tickets that never reached their department", undelivered)

    got = collections.defaultdict(set)
    for _feed, update_id, ticket_no, state in read_tsv(records_dir, "updates-*.tsv"):
        got[(ticket_no, state)].add(update_id)
    missing_updates = []
    for key, n in written.items():
        have = len(got.get(key, ())) + owed.get(key, 0)
        if have < n:
            missing_updates.append(f"{key}: {n} written, {len(got.get(key, ()))} received, "
                                   f"{owed.get(key, 0)} still owed")
    r.counts["TicketUpdates written"] = sum(written.values())
    r.counts["TicketUpdates still owed"] = sum(owed.values())
    r.fail("TicketUpdates deleted without delivery", missing_updates)

    replied = [t[1] for t in tickets.values() if t[4] == "REPLIED"]
    r.counts["left REPLIED (callback owed)"] = len(replied)
    r.fail("replied tickets never called back", replied)

    # ---- at most once
    r.fail("due-soon or overdue marks made twice for one deadline",
           [f"{k}: {n} times" for k, n in marks.items() if n > 1])
    r.counts["overdue marks"] = sum(n for (_, kind, _), n in marks.items() if kind == "OVERDUE")
    sends = collections.Counter()
    for parts in read_tsv(records_dir, "actions-*.tsv"):
        if parts[0] == "sent":
            who, ticket_no, what = parts[1], parts[2], parts[3]
            if who == "agent":
                sends[(ticket_no, "CALLBACK_" + what, "agent")] += 1
            elif who in python_depts:
                sends[(ticket_no, what.upper(), "dept")] += 1
    twice_applied = []
    for (ticket_no, kind, actor), n in applied.items():
        if actor == "agent" or (actor == "dept" and
                                dept_of(events[by_no[ticket_no][0]], rule_depts) in python_depts):
            if kind.startswith("CALLBACK_") or kind in ("ACCEPT", "REPLY", "RETURN", "EXTEND"):
                if n > sends.get((ticket_no, kind, actor), 0):
                    twice_applied.append(f"{ticket_no}: {kind} applied {n} times, sent "
                                         f"{sends.get((ticket_no, kind, actor), 0)}")
    r.fail("actions or callback results applied more often than sent", twice_applied)

    r.counts["outbox rows left"] = outbox
    r.fail("outbox rows never published", [f"{outbox} rows"] if outbox else [])

    if stats_tool:
        rollup(r, stats_tool, conninfo)
    return r


def rollup(r, stats_tool, conninfo):
    """`hotline-stats check` over every day: the rollup against the audit trail."""
    out = subprocess.run([str(stats_tool), "--dsn", conninfo, "--format", "json", "check"],
                         capture_output=True, text=True, timeout=600)
    try:
        found = json.loads(out.stdout)
    except ValueError:
        r.fail("hotline-stats check did not answer", [f"exit {out.returncode}: {out.stderr.strip()[:300]}"])
        return
    r.counts["rollup counts differing from the audit trail"] = found["differences_count"]
    r.fail("rollup counts that differ from the audit trail (counted twice or lost)",
           [f"{d['day']} dept={d['dept_code']} {d['dim'] or 'total'}{'=' + d['value'] if d['dim'] else ''}:"
            f" {d['column']} rollup {d['rollup']}, audit trail {d['audit_trail']}"
            for d in found["differences"]])


def deliveries_owed(db, rule_depts):
    """{(ticket_no, reopen_count): dept} of every dispatch so far (what the drain waits for)."""
    owed, dept, reopen, last = {}, None, 0, None
    for ticket_id, ticket_no, kind, detail in db.execute(
            "SELECT e.ticket_id, t.ticket_no, e.kind, e.detail FROM ticket_events e"
            " JOIN tickets t USING (ticket_id)"
            " WHERE e.kind IN ('ROUTE_MATCHED', 'CALLBACK_UNSATISFIED', 'RETURN')"
            " ORDER BY e.ticket_id, e.event_id"):
        if ticket_id != last:
            last, dept, reopen = ticket_id, None, 0
        if kind == "ROUTE_MATCHED":
            dept = rule_depts.get(detail)
            owed[(ticket_no, reopen)] = dept
        elif kind == "CALLBACK_UNSATISFIED":
            reopen += 1
            owed[(ticket_no, reopen)] = dept
        else:
            dept = None
    return owed


def by_id_no(tickets, ticket_id):
    t = tickets.get(ticket_id)
    return t[1] if t else f"id {ticket_id}"


def dept_of(chain, rule_depts):
    """The department a ticket was first routed to (the one whose actions we count)."""
    for kind, _frm, _to, _actor, detail in chain:
        if kind == "ROUTE_MATCHED":
            return rule_depts.get(detail)
    return None
