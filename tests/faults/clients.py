"""clients.py - the peers of the fault suite: feeds, departments, agents, hostile peers.

Owns: client threads that keep talking to whichever daemons run, reconnecting after
every loss, and record what they were told in tab-separated files under the run's
records/ directory (what the checker later holds PostgreSQL to):
  acks-*.tsv      feed, external_id, ticket_no, duplicate    every IntakeAck (feeds, agents,
                                                             the HTTP desk's 200/201)
  sent-*.tsv      feed, external_id                          every record first sent
  updates-*.tsv   feed, update_id, ticket_no, state          every TicketUpdate received
  recv-*.tsv      dept, consumer, ticket_no, reopen_count     every Ticket a department took
  actions-*.tsv   who, ticket_no, kind                       every action or callback result sent
  half-*.tsv      feed, external_id                          records cut mid-frame (never stored)
Feeds resend every record not acknowledged after each reconnect, as the protocol
says; departments record a Ticket before they acknowledge it; agents claim callbacks
and record results; HttpDesk is a supervisor on the HTTP API; HotlineDept runs the reference hotline-dept binary (--reconnect).
Never: imports anything from the daemon's build; decides what counts as a loss (the
checker does).
Callers: suite.py, injector.py (the hostile peers).
"""

import collections
import http.client
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import threading
import time

import hotline_client as hc

HEADER = struct.Struct(">I")


def pb():
    return hc.pb


def now_ms():
    return int(time.time() * 1000)


class Closed(Exception):
    pass


class Records:
    """The run's record files: one per writer, opened for appending, flushed on demand."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.files = []
        self.lock = threading.Lock()

    def open(self, name):
        f = open(os.path.join(self.dir, name), "a", encoding="utf-8")
        with self.lock:
            self.files.append(f)
        return f

    def flush(self):
        with self.lock:
            for f in self.files:
                if not f.closed:
                    f.flush()

    def close(self):
        with self.lock:
            for f in self.files:
                f.close()


def state_name(value):
    """'ACCEPTED' for TICKET_STATE_ACCEPTED (what the JSON protocol and the tables say)."""
    return pb().TicketState.Name(value)[len("TICKET_STATE_"):]


# ------------------------------------------------------------------ one connection


class Link:
    """A non-blocking connection: binary frames (4-byte length + Frame) or JSON lines."""

    def __init__(self, port, json_lines=False, timeout=3.0):
        self.json = json_lines
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self._early = []

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, msg):
        """Queues a Frame (binary) or a dict (JSON)."""
        if self.json:
            self.outbuf += json.dumps(msg, ensure_ascii=False).encode() + b"\n"
        else:
            body = msg.SerializeToString()
            self.outbuf += HEADER.pack(len(body)) + body

    def queued(self):
        return len(self.outbuf)

    def pump(self, timeout):
        """Writes what it can, waits up to timeout for input; returns whole messages read.
        Raises Closed when the peer closed or reset the connection."""
        try:
            r, w, _ = select.select([self.sock], [self.sock] if self.outbuf else [], [], timeout)
            if w:
                n = self.sock.send(self.outbuf)
                del self.outbuf[:n]
            if r:
                data = self.sock.recv(262144)
                if not data:
                    raise Closed("closed by peer")
                self.inbuf += data
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as e:
            raise Closed(str(e)) from None
        out = []
        if self.json:
            while b"\n" in self.inbuf:
                i = self.inbuf.index(b"\n")
                line = bytes(self.inbuf[:i])
                del self.inbuf[:i + 1]
                if line.strip():
                    out.append(json.loads(line))
        else:
            while len(self.inbuf) >= 4:
                (n,) = HEADER.unpack_from(self.inbuf)
                if len(self.inbuf) < 4 + n:
                    break
                out.append(pb().Frame.FromString(bytes(self.inbuf[4:4 + n])))
                del self.inbuf[:4 + n]
        return out

    def hello(self, role, ident, token, timeout=5.0):
        """Says Hello; returns the first reply (Welcome, or an Error) or raises Closed."""
        if self.json:
            self.send({"role": "feed", "id": ident, "token": token, "version": 1})
        else:
            self.send(pb().Frame(hello=pb().Hello(role=role, id=ident, token=token, version=1)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = self.pump(0.1)
            if msgs:
                self._early = msgs[1:]  # what came with it: take_early() hands it on
                return msgs[0]
        raise Closed("no answer to Hello")

    def take_early(self):
        rest, self._early = self._early, []
        return rest


def connect(ctx, rng, role, ident, token, json_lines=False, slots=None):
    """A Link to a random running daemon past its Welcome, or None (nothing runs, or it
    refused us, or died meanwhile)."""
    port = ctx.daemons.random_port(rng, "json" if json_lines else "binary", slots)
    if port is None:
        return None
    try:
        link = Link(port, json_lines)
    except OSError:
        return None
    try:
        reply = link.hello(role, ident, token)
    except Closed:
        link.close()
        return None
    ok = reply.get("type") == "welcome" if json_lines else reply.WhichOneof("msg") == "welcome"
    if not ok:
        ctx.log(f"{ident}: Hello refused: {reply}")
        link.close()
        return None
    link.welcome = reply if json_lines else reply.welcome
    return link


class Client(threading.Thread):
    """A client thread: an exception in it (bytes that do not parse, say) is a problem
    the run reports, never a thread that silently stops."""

    def run(self):
        try:
            self.loop()
        except Exception as e:
            import traceback
            self.ctx.problem(f"client {self.name} stopped: {e!r}\n{traceback.format_exc()}")


# ------------------------------------------------------------------ what feeds send

TOPICS = [  # (weight, content) ; the suite's rules route by these keywords
    (35, "小区水管漏水，楼道积水"),
    (20, "夜间施工噪音扰民"),
    (15, "路灯不亮，晚上很黑"),
    (10, "井盖缺失，有安全隐患"),
    (12, "咨询社保卡办理流程"),  # no rule: PENDING_DISPATCH (a sub-centre feed keeps it)
    (8, "停水两天了，没人管"),
]
REPEAT_PHONES = [f"1390000{i:04d}" for i in range(40)]


def make_record(rng, external_id, feed_mode):
    """Intake fields for one record; the content carries its external_id (checked)."""
    weights = [w for w, _ in TOPICS]
    content = rng.choices([t for _, t in TOPICS], weights)[0]
    if rng.random() < 0.08:  # a repeat complaint of a caller with an open ticket
        phone, category = rng.choice(REPEAT_PHONES), "complaint"
    else:
        phone = "13" + "".join(rng.choice("0123456789") for _ in range(9))
        category = rng.choice(["complaint", "request", "consultation"])
    fields = {
        "external_id": external_id,
        "content": f"{content} [{external_id}]",
        "category": category,
        "caller_phone": phone,
        "caller_name": "王女士",
        "district": "崇川区",
        "channel": "phone",
        # urgent: a 2-hour deadline, which falls due during the run for the tickets the
        # late-clock daemon dispatches (suite.py)
        "priority": pb().PRIORITY_URGENT if rng.random() < 0.2 else pb().PRIORITY_NORMAL,
    }
    if feed_mode == "parallel":
        fields["origin_number"] = "95598"
    return fields


def json_record(fields):
    out = dict(fields)
    out["priority"] = {pb().PRIORITY_URGENT: "urgent"}.get(fields["priority"], "normal")
    return out


# ------------------------------------------------------------------ feeds


class Feed(Client):
    """A legacy feed: sends records at `rate`/s (plus bursts), keeps every record until
    its IntakeAck, resends all of them after each reconnect, and acknowledges every
    TicketUpdate it is sent."""

    def __init__(self, ctx, code, token, mode, rate, seed, json_lines=False):
        super().__init__(name=f"feed-{code}", daemon=True)
        self.ctx, self.code, self.token, self.mode = ctx, code, token, mode
        self.rate = rate
        self.json = json_lines
        self.rng = random.Random(seed)
        self.pending = collections.OrderedDict()  # external_id -> (fields, first sent, monotonic)
        self.to_send = collections.deque()
        self.inflight = set()
        self.retry = []  # (monotonic due, external_id) after Error{INTERNAL}
        self.generating = True
        self.burst_n = 0
        self.seq = 0
        self.link = None
        self.window = 1000
        self.acks = ctx.records.open(f"acks-{code}.tsv")
        self.sent = ctx.records.open(f"sent-{code}.tsv")
        self.updates = ctx.records.open(f"updates-{code}.tsv")
        self.lock = threading.Lock()
        self.latencies = []  # ack latency (s) since the last take_latencies()
        self.stats = collections.Counter()

    # the suite's controls
    def burst(self, n):
        self.burst_n += n

    def stop_generating(self):
        self.generating = False

    def unacked(self):
        return len(self.pending)

    def take_latencies(self):
        with self.lock:
            out, self.latencies = self.latencies, []
        return out

    def _new_record(self):
        self.seq += 1
        ext = f"{self.ctx.tag}-{self.code}-{self.seq}"
        self.pending[ext] = (make_record(self.rng, ext, self.mode), time.monotonic())
        self.to_send.append(ext)
        self.sent.write(f"{self.code}\t{ext}\n")

    def loop(self):
        next_at = time.monotonic()
        while not self.ctx.stopping:
            now = time.monotonic()
            if self.generating:
                while now >= next_at:
                    self._new_record()
                    next_at += 1.0 / self.rate
                if next_at < now - 1.0:
                    next_at = now
                while self.burst_n > 0:
                    self.burst_n -= 1
                    self._new_record()
            if self.retry and self.retry[0][0] <= now:
                self.to_send.append(self.retry.pop(0)[1])
            if self.link is None and not self._connect():
                time.sleep(0.1)
                continue
            self._send_some()
            try:
                msgs = self.link.pump(0.05)
            except Closed:
                self._lost()
                continue
            for m in msgs:
                self._handle(m)

    def _connect(self):
        role = pb().ROLE_FEED
        self.link = connect(self.ctx, self.rng, role, self.code, self.token, self.json)
        if self.link is None:
            return False
        self.window = max(1, (self.link.welcome["window"] if self.json else self.link.welcome.window))
        self.inflight.clear()
        self.to_send = collections.deque(self.pending.keys())  # everything not acknowledged
        self.stats["connects"] += 1
        for m in self.link.take_early():
            self._handle(m)
        return True

    def _lost(self):
        self.link.close()
        self.link = None
        self.stats["lost"] += 1

    def _send_some(self):
        while self.to_send and len(self.inflight) < self.window and self.link.queued() < 262144:
            ext = self.to_send.popleft()
            if ext not in self.pending or ext in self.inflight:
                continue
            fields = self.pending[ext][0]
            if self.json:
                self.link.send(json_record(fields))
            else:
                self.link.send(pb().Frame(intake=pb().Intake(**fields)))
            self.inflight.add(ext)
            self.stats["frames"] += 1

    def _acked(self, ext, ticket_no, duplicate):
        self.acks.write(f"{self.code}\t{ext}\t{ticket_no}\t{int(duplicate)}\n")
        self.inflight.discard(ext)
        entry = self.pending.pop(ext, None)
        self.stats["acks"] += 1
        if duplicate:
            self.stats["duplicate_acks"] += 1
        if entry is not None:
            with self.lock:
                self.latencies.append(time.monotonic() - entry[1])

    def _refused(self, ext, code, message):
        self.inflight.discard(ext)
        if code in ("INTERNAL", "ERROR_INTERNAL") and ext in self.pending:
            self.retry.append((time.monotonic() + 0.5, ext))
            self.stats["internal_errors"] += 1
        elif ext in self.pending:
            self.ctx.log(f"feed {self.code}: record {ext} refused {code}: {message}")
            self.pending.pop(ext, None)
            self.stats["refused"] += 1

    def _update(self, update_id, ticket_no, state):
        self.updates.write(f"{self.code}\t{update_id}\t{ticket_no}\t{state}\n")
        self.stats["updates"] += 1
        if self.json:
            self.link.send({"ack_update": update_id})
        else:
            self.link.send(pb().Frame(ack=pb().Ack(update_id=update_id)))

    def _handle(self, m):
        if self.json:
            kind = m.get("type")
            if kind == "ack":
                self._acked(m["external_id"], m["ticket_no"], m.get("duplicate", False))
            elif kind == "error" and m.get("external_id"):
                self._refused(m["external_id"], m.get("code", "").upper(), m.get("message"))
            elif kind == "update":
                self._update(m["update_id"], m["ticket_no"], m["state"])
            elif kind == "error":
                self.stats["errors"] += 1
            return
        kind = m.WhichOneof("msg")
        if kind == "intake_ack":
            a = m.intake_ack
            self._acked(a.external_id, a.ticket_no, a.duplicate)
        elif kind == "error" and m.error.external_id:
            self._refused(m.error.external_id, pb().ErrorCode.Name(m.error.code), m.error.message)
        elif kind == "ticket_update":
            u = m.ticket_update
            self._update(u.update_id, u.ticket_no, state_name(u.state))
        elif kind == "error":
            self.stats["errors"] += 1


# ------------------------------------------------------------------ departments


class Plans:
    """What a department does with each dispatch (ticket_no, reopen_count), decided once
    whichever of its connections gets it first."""

    def __init__(self):
        self.lock = threading.Lock()
        self.plans = {}

    def claim(self, key, make):
        with self.lock:
            if key in self.plans:
                return None
            self.plans[key] = make()
            return self.plans[key]


class DeptConsumer(Client):
    """A department system: records each Ticket, then acknowledges it; then accepts it
    and, by plan, replies, returns it, or extends its deadline to just past the present
    one (so that the deadline falls due again: an overdue mark per deadline). Actions
    not answered when a connection drops are sent again on the next."""

    def __init__(self, ctx, dept, token, name, plans, seed, slots=None):
        super().__init__(name=f"dept-{name}", daemon=True)
        self.ctx, self.dept, self.token, self.cname = ctx, dept, token, name
        self.plans = plans
        self.rng = random.Random(seed)
        self.slots = slots
        self.away = False
        self.acting = True  # False: takes and acks tickets, starts no new action
        self.link = None
        self.action_window = 100
        self.unanswered = {}  # ticket_no -> (kind, payload dict, plan)
        self.scheduled = []  # (monotonic due, ticket_no, plan)
        self.recv = ctx.records.open(f"recv-{name}.tsv")
        self.actions = ctx.records.open(f"actions-{name}.tsv")
        self.received = set()  # (ticket_no, reopen_count)
        self.stats = collections.Counter()

    def loop(self):
        while not self.ctx.stopping:
            if self.away:
                if self.link:
                    self.link.close()
                    self.link = None
                time.sleep(0.1)
                continue
            if self.link is None:
                self.link = connect(self.ctx, self.rng, pb().ROLE_DEPARTMENT, self.dept, self.token,
                                    slots=self.slots)
                if self.link is None:
                    time.sleep(0.1)
                    continue
                self.action_window = self.link.welcome.action_window or 100
                self.stats["connects"] += 1
                for ticket_no, (kind, payload, plan) in list(self.unanswered.items()):
                    self._send(ticket_no, kind, payload, plan, resend=True)
                for m in self.link.take_early():
                    self._handle(m)
            now = time.monotonic()
            while (self.acting and self.scheduled and self.scheduled[0][0] <= now
                   and len(self.unanswered) < self.action_window):
                _, ticket_no, plan = self.scheduled.pop(0)
                self._next_step(ticket_no, plan)
            try:
                msgs = self.link.pump(0.05)
            except Closed:
                self.link.close()
                self.link = None
                self.stats["lost"] += 1
                continue
            for m in msgs:
                self._handle(m)

    def _schedule(self, delay, ticket_no, plan):
        self.scheduled.append((time.monotonic() + delay, ticket_no, plan))
        self.scheduled.sort(key=lambda s: s[0])

    def _make_plan(self):
        r = self.rng.random()
        if r < 0.06:
            steps = ["return"]
        elif r < 0.16:
            steps = ["accept"]
        elif r < 0.28:
            steps = ["accept", "extend"] + (["extend"] if self.rng.random() < 0.4 else [])
        else:
            steps = ["accept", "reply"]
        return {"steps": steps, "at": 0, "deadline": 0}

    def _handle(self, m):
        kind = m.WhichOneof("msg")
        if kind == "ticket":
            t = m.ticket
            self.recv.write(f"{self.dept}\t{self.cname}\t{t.ticket_no}\t{t.reopen_count}\n")
            self.recv.flush()
            self.link.send(pb().Frame(ack=pb().Ack(ticket_no=t.ticket_no)))
            self.received.add((t.ticket_no, t.reopen_count))
            self.stats["tickets"] += 1
            if t.state == pb().TICKET_STATE_DISPATCHED:
                plan = self.plans.claim((t.ticket_no, t.reopen_count), self._make_plan)
                if plan is not None:
                    plan["deadline"] = t.deadline_at
                    self._schedule(self.rng.uniform(0.0, 0.5), t.ticket_no, plan)
        elif kind == "action_ack":
            a = m.action_ack
            entry = self.unanswered.pop(a.ticket_no, None)
            if entry is None:
                return
            self.actions.write(f"answer\t{self.cname}\t{a.ticket_no}\t{entry[0]}\t{int(a.ok)}\t"
                               f"{state_name(a.state)}\n")
            plan = entry[2]
            done = a.ok or (entry[0] == "accept" and a.state in (pb().TICKET_STATE_ACCEPTED,))
            if done:
                plan["at"] += 1
                if plan["at"] < len(plan["steps"]):
                    self._schedule(self.rng.uniform(0.2, 2.0), a.ticket_no, plan)
        elif kind == "error" and m.error.ticket_no and m.error.ticket_no in self.unanswered:
            code = pb().ErrorCode.Name(m.error.code)
            if code == "ERROR_PROTOCOL":
                return  # an Ack of a ticket this connection no longer holds
            kind_sent, _, plan = self.unanswered.pop(m.error.ticket_no)
            self.actions.write(f"answer\t{self.cname}\t{m.error.ticket_no}\t{kind_sent}\t0\t{code}\n")
            if code in ("ERROR_UNAVAILABLE", "ERROR_INTERNAL"):
                self._schedule(0.5, m.error.ticket_no, plan)

    def _next_step(self, ticket_no, plan):
        step = plan["steps"][plan["at"]]
        payload = {}
        if step == "reply":
            payload = {"reply": pb().DeptAction.Reply(content=f"已处理完毕 {ticket_no}")}
        elif step == "return":
            payload = {"return_ticket": pb().DeptAction.Return(reason="不属于本单位职责")}
        elif step == "accept":
            payload = {"accept": pb().DeptAction.Accept()}
        elif step == "extend":
            until = max(plan["deadline"], now_ms()) + self.rng.randint(2000, 6000)
            plan["deadline"] = until
            payload = {"extend": pb().DeptAction.Extend(until=until, reason="需要协调")}
        self._send(ticket_no, step, payload, plan)

    def _send(self, ticket_no, kind, payload, plan, resend=False):
        self.unanswered[ticket_no] = (kind, payload, plan)
        self.actions.write(f"sent\t{self.dept}\t{ticket_no}\t{kind}\n")
        self.stats["actions_resent" if resend else "actions"] += 1
        if self.link is not None:
            self.link.send(pb().Frame(dept_action=pb().DeptAction(ticket_no=ticket_no, **payload)))


class HotlineDept:
    """The reference client, tools/hotline-dept --reconnect --auto ACTION, pointed at
    one slot; its stdout (one JSON object per event) is the record of what it took."""

    def __init__(self, ctx, binary, dept, token, slot, auto, name):
        self.ctx, self.binary, self.dept, self.token = ctx, binary, dept, token
        self.slot, self.auto, self.name = slot, auto, name
        self.proc = None
        self.stopping = False  # True from a stop until the next start
        self.lock = threading.Lock()
        self.runs = 0
        self.outputs = []
        self.stderr_path = os.path.join(ctx.workdir, f"hotline-dept-{name}.log")

    def start(self):
        """Starts a run. The faults thread (departments back) and the monitor (a client
        that exited by itself) may both call this: under the lock, only the first
        starts one, and `stopping` is cleared only once the new process is in place."""
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                return
            self._start()

    def exited_by_itself(self):
        """The process ended and nobody stopped it (read under the lock with start)."""
        with self.lock:
            return self.proc is not None and self.proc.poll() is not None and not self.stopping

    def _start(self):
        self.runs += 1
        out_path = os.path.join(self.ctx.records.dir, f"hotline-dept-{self.name}-{self.runs}.jsonl")
        self.outputs.append(out_path)
        env = dict(os.environ, HOTLINE_DEPT_TOKEN=self.token)
        cmd = [str(self.binary), "--dept", self.dept, "--port", str(self.slot.binary_port),
               "--reconnect", "--auto", self.auto]
        if self.auto == "reply":
            cmd += ["--reply-text", "已按规定处理"]
        with open(out_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        self.stopping = False

    def signal_stop(self):
        """SIGTERM (it finishes its actions, up to 10 s); stop() waits for it."""
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self):
        self.stopping = True
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def received(self):
        """{(ticket_no, reopen_count)} from every run's stdout."""
        got = set()
        for path in self.outputs:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        if '"event":"ticket"' not in line:
                            continue
                        try:
                            e = json.loads(line)
                        except ValueError:
                            continue  # a line cut by a kill
                        got.add((e["ticket_no"], e.get("reopen_count", 0)))
            except FileNotFoundError:
                pass
        return got


# ------------------------------------------------------------------ agents


OUTCOMES = ["SATISFIED", "BASICALLY_SATISFIED", "UNSATISFIED", "UNREACHABLE"]


class Agent(Client):
    """A call-centre terminal: keeps up to CLAIMS_AHEAD callback claims outstanding and
    records a result for each task (any outcome while faults run; satisfied only while
    the suite drains), and now and then takes a call itself: an Intake, some resolved
    on the call (直接办结). Claims and results are answered in the order sent. A claim
    belongs to its connection, so a result is never sent again after a reconnect;
    intake records are, like a feed's."""

    CLAIMS_AHEAD = 4

    def __init__(self, ctx, agent_id, token, feed_code, seed):
        super().__init__(name=f"agent-{agent_id}", daemon=True)
        self.ctx, self.agent_id, self.token, self.feed_code = ctx, agent_id, token, feed_code
        self.rng = random.Random(seed)
        self.link = None
        self.satisfied_only = False
        self.generating = True
        self.ops = collections.deque()  # "claim" or "result", in the order sent
        self.claims_paused_until = 0.0
        self.pending = collections.OrderedDict()  # intake: external_id -> fields
        self.seq = 0
        self.next_intake = time.monotonic() + 1
        self.acks = ctx.records.open(f"acks-{agent_id}.tsv")
        self.sent = ctx.records.open(f"sent-{agent_id}.tsv")
        self.actions = ctx.records.open(f"actions-{agent_id}.tsv")
        self.stats = collections.Counter()

    def unacked(self):
        return len(self.pending)

    def loop(self):
        while not self.ctx.stopping:
            now = time.monotonic()
            if self.generating and now >= self.next_intake:
                self.next_intake = now + self.rng.uniform(0.5, 2.0)
                self.seq += 1
                ext = f"{self.ctx.tag}-{self.agent_id}-{self.seq}"
                fields = make_record(self.rng, ext, "merged")
                if self.rng.random() < 0.5:
                    fields.update(resolved_on_call=True, answer="已在电话中解答")
                self.pending[ext] = fields
                self.sent.write(f"{self.feed_code}\t{ext}\n")
                if self.link:
                    self.link.send(pb().Frame(intake=pb().Intake(**fields)))
            if self.link is None:
                self.link = connect(self.ctx, self.rng, pb().ROLE_AGENT, self.agent_id, self.token)
                if self.link is None:
                    time.sleep(0.1)
                    continue
                self.ops.clear()
                self.stats["connects"] += 1
                for fields in self.pending.values():
                    self.link.send(pb().Frame(intake=pb().Intake(**fields)))
                for m in self.link.take_early():
                    self._handle(m)
            claims = sum(1 for op in self.ops if op == "claim")
            while claims < self.CLAIMS_AHEAD and now >= self.claims_paused_until:
                self.link.send(pb().Frame(callback_claim=pb().CallbackClaim()))
                self.ops.append("claim")
                claims += 1
            try:
                msgs = self.link.pump(0.05)
            except Closed:
                self.link.close()
                self.link = None
                self.stats["lost"] += 1
                continue
            for m in msgs:
                self._handle(m)

    def _handle(self, m):
        kind = m.WhichOneof("msg")
        if kind == "intake_ack":
            a = m.intake_ack
            self.acks.write(f"{self.feed_code}\t{a.external_id}\t{a.ticket_no}\t{int(a.duplicate)}\n")
            self.pending.pop(a.external_id, None)
            return
        if kind == "error" and m.error.external_id:
            if m.error.external_id in self.pending:
                fields = self.pending[m.error.external_id]
                if m.error.code == pb().ERROR_INTERNAL:
                    self.link.send(pb().Frame(intake=pb().Intake(**fields)))
                else:
                    self.ctx.log(f"agent {self.agent_id}: record refused: {m.error.message}")
                    self.pending.pop(m.error.external_id)
            return
        if kind not in ("callback_task", "action_ack", "error") or not self.ops:
            return
        self.ops.popleft()  # the oldest claim or result is the one answered
        if kind == "callback_task":
            task = m.callback_task
            if not task.ticket_no:
                self.claims_paused_until = time.monotonic() + 0.3
                self.stats["no_task"] += 1
                return
            self.stats["tasks"] += 1
            outcome = "SATISFIED" if self.satisfied_only else self.rng.choices(OUTCOMES, [50, 15, 15, 20])[0]
            self.actions.write(f"sent\tagent\t{task.ticket_no}\t{outcome}\n")
            self.link.send(pb().Frame(callback_result=pb().CallbackResult(
                ticket_no=task.ticket_no, outcome=pb().CallbackOutcome.Value(f"CALLBACK_OUTCOME_{outcome}"),
                note="回访")))
            self.ops.append("result")
        elif kind == "action_ack":
            self.actions.write(f"answer\t{self.agent_id}\t{m.action_ack.ticket_no}\tresult\t"
                               f"{int(m.action_ack.ok)}\t{state_name(m.action_ack.state)}\n")
        else:
            self.stats["errors"] += 1
            self.claims_paused_until = time.monotonic() + 0.3


# ------------------------------------------------------------------ hostile peers


def _frame_bytes(frame):
    body = frame.SerializeToString()
    return HEADER.pack(len(body)) + body


def _half(data, rng):
    """A proper prefix: within the 4-byte header, or within the body."""
    return data[:rng.randint(1, 3)] if rng.random() < 0.3 else data[:rng.randint(5, len(data) - 1)]


def _client(port, timeout=3.0):
    return hc.BinaryClient("127.0.0.1", port, timeout)


def cut_feed(ctx, rng, code, token, n):
    """A feed that sends a few whole records, records their acks, then sends half of
    another frame and closes. The half record must never be stored."""
    port = ctx.daemons.random_port(rng)
    if port is None:
        return False
    acks = ctx.records.open(f"acks-cut-{code}.tsv")
    half = ctx.records.open(f"half-{code}.tsv")
    try:
        c = _client(port)
        if c.hello(code, token).WhichOneof("msg") != "welcome":
            return False
        whole = [f"{ctx.tag}-cut{n}-{code}-{i}" for i in range(rng.randint(0, 3))]
        for ext in whole:
            c.send_frame(pb().Frame(intake=pb().Intake(**make_record(rng, ext, "merged"))))
        deadline = time.monotonic() + 2.0
        waiting = set(whole)
        while waiting and time.monotonic() < deadline:
            try:
                f = c.read_frame(max(0.01, deadline - time.monotonic()))
            except (hc.Timeout, hc.Closed):
                break
            if f.WhichOneof("msg") == "intake_ack":
                acks.write(f"{code}\t{f.intake_ack.external_id}\t{f.intake_ack.ticket_no}\t"
                           f"{int(f.intake_ack.duplicate)}\n")
                waiting.discard(f.intake_ack.external_id)
        ext = f"{ctx.tag}-half{n}-{code}"
        half.write(f"{code}\t{ext}\n")
        half.flush()
        c.send_raw(_half(_frame_bytes(pb().Frame(intake=pb().Intake(**make_record(rng, ext, "merged")))), rng))
        c.close()
        return True
    except (OSError, hc.Closed, hc.Timeout):
        return False
    finally:
        acks.close()
        half.close()


def cut_json_feed(ctx, rng, code, token, n):
    """A JSON-lines feed that sends half a line and closes."""
    port = ctx.daemons.random_port(rng, "json")
    if port is None:
        return False
    half = ctx.records.open(f"half-{code}.tsv")
    try:
        c = hc.JsonClient("127.0.0.1", port, 3.0)
        if c.hello(code, token).get("type") != "welcome":
            return False
        ext = f"{ctx.tag}-half{n}-{code}"
        half.write(f"{code}\t{ext}\n")
        half.flush()
        line = json.dumps(json_record(make_record(rng, ext, "merged")), ensure_ascii=False).encode()
        c.send_raw(line[:rng.randint(1, len(line) - 1)])
        c.close()
        return True
    except (OSError, hc.Closed, hc.Timeout, ValueError):
        return False
    finally:
        half.close()


def cut_dept(ctx, rng, dept, token):
    """A department that takes a few Tickets, acknowledges none, sends half an Ack and
    closes: what it held must reach the department's other consumers."""
    port = ctx.daemons.random_port(rng)
    if port is None:
        return False
    try:
        c = _client(port)
        if c.hello(dept, token, role=pb().ROLE_DEPARTMENT).WhichOneof("msg") != "welcome":
            return False
        held = []
        deadline = time.monotonic() + rng.uniform(0.2, 1.5)
        while time.monotonic() < deadline:
            try:
                f = c.read_frame(max(0.01, deadline - time.monotonic()))
            except hc.Timeout:
                break
            if f.WhichOneof("msg") == "ticket":
                held.append(f.ticket.ticket_no)
        ack = _frame_bytes(pb().Frame(ack=pb().Ack(ticket_no=held[0] if held else "20260101-00000001")))
        c.send_raw(_half(ack, rng))
        c.close()
        return True
    except (OSError, hc.Closed):
        return False


def cut_agent(ctx, rng, agent_id, token):
    """An agent that claims a callback, sends half its CallbackResult and closes: the
    callback must come back to the queue once its claim lapses."""
    port = ctx.daemons.random_port(rng)
    if port is None:
        return False
    try:
        c = _client(port)
        if c.hello(agent_id, token, role=pb().ROLE_AGENT).WhichOneof("msg") != "welcome":
            return False
        c.send_frame(pb().Frame(callback_claim=pb().CallbackClaim()))
        ticket_no = "20260101-00000001"
        try:
            f = c.read_frame(3.0)
            if f.WhichOneof("msg") == "callback_task" and f.callback_task.ticket_no:
                ticket_no = f.callback_task.ticket_no
        except hc.Timeout:
            pass
        result = _frame_bytes(pb().Frame(callback_result=pb().CallbackResult(
            ticket_no=ticket_no, outcome=pb().CALLBACK_OUTCOME_SATISFIED, note="断线")))
        c.send_raw(_half(result, rng))
        c.close()
        return True
    except (OSError, hc.Closed):
        return False


def garbage(ctx, rng, json_lines=False):
    """A peer that says Hello (or not) and then sends random bytes: a frame header with
    a random body, or noise; then closes. Only its own connection may suffer."""
    port = ctx.daemons.random_port(rng, "json" if json_lines else "binary")
    if port is None:
        return False
    noise = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 2048)))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3.0) as s:
            if rng.random() < 0.5 and not json_lines:
                body = noise[:rng.randint(0, len(noise))]
                s.sendall(HEADER.pack(len(body)) + body)
            else:
                s.sendall(noise + (b"\n" if json_lines else b""))
            s.settimeout(1.0)
            try:
                s.recv(4096)
            except OSError:
                pass
        return True
    except OSError:
        return False


# ------------------------------------------------------------------ the HTTP desk


class HttpDesk(Client):
    """A supervisor's browser on the HTTP API of whichever daemon runs: now and then a
    ticket taken on the phone (POST /api/v1/tickets, idempotent by external_id: resent
    after a lost connection or a 503 until a 200/201 names its ticket, so it is checked
    like a feed's record), and reads: that ticket back (a 404 for an acknowledged
    ticket is a problem), the caller's history, the desk, /me. Records request
    latencies for the soak's minute lines."""

    def __init__(self, ctx, token, feed_code, seed):
        super().__init__(name="http-desk", daemon=True)
        self.ctx, self.token, self.feed_code = ctx, token, feed_code
        self.rng = random.Random(seed)
        self.generating = True
        self.satisfied_only = False  # set by the drain like an Agent's; nothing to do
        self.pending = collections.OrderedDict()  # external_id -> body
        self.recent = collections.deque(maxlen=200)  # (ticket_no, phone)
        self.seq = 0
        self.acks = ctx.records.open("acks-http.tsv")
        self.sent = ctx.records.open("sent-http.tsv")
        self.stats = collections.Counter()
        self.latencies = []
        self.lock = threading.Lock()

    def unacked(self):
        return len(self.pending)

    def take_latencies(self):
        with self.lock:
            out, self.latencies = self.latencies, []
        return out

    def _request(self, method, path, body=None):
        """(status, parsed JSON or None), or None when no daemon answered."""
        port = self.ctx.daemons.random_port(self.rng, "http")
        if port is None:
            return None
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            self.stats["http_lost"] += 1
            return None
        finally:
            conn.close()
        with self.lock:
            self.latencies.append(time.monotonic() - started)
        self.stats[f"http_{status}"] += 1
        try:
            return status, (json.loads(raw) if raw else None)
        except ValueError:
            self.ctx.problem(f"HTTP {method} {path}: {status} with a body that is not JSON: {raw[:200]!r}")
            return status, None

    def _create(self, ext, body):
        got = self._request("POST", "/api/v1/tickets", body)
        if got is None or got[0] == 503:
            return
        status, answer = got
        if status in (200, 201) and answer and answer.get("ticket_no"):
            self.acks.write(f"{self.feed_code}\t{ext}\t{answer['ticket_no']}\t{int(bool(answer.get('duplicate')))}\n")
            self.pending.pop(ext, None)
            self.recent.append((answer["ticket_no"], body["caller_phone"]))
            self.stats["acks"] += 1
        else:
            self.ctx.problem(f"HTTP create {ext}: {status} {answer}")
            self.pending.pop(ext, None)

    def _read(self):
        pick = self.rng.random()
        if self.recent and pick < 0.4:
            ticket_no, phone = self.rng.choice(self.recent)
            got = self._request("GET", f"/api/v1/tickets/{ticket_no}")
            if got and got[0] == 404:
                self.ctx.problem(f"HTTP: acknowledged ticket {ticket_no} answered 404")
            if self.rng.random() < 0.5:
                self._request("GET", f"/api/v1/callers/{phone}/tickets?limit=5")
        elif pick < 0.7:
            self._request("GET", "/api/v1/desk")
        else:
            self._request("GET", "/api/v1/me")

    def loop(self):
        next_create = time.monotonic() + 1
        while not self.ctx.stopping:
            now = time.monotonic()
            if self.generating and now >= next_create:
                next_create = now + self.rng.uniform(1.0, 3.0)
                self.seq += 1
                ext = f"{self.ctx.tag}-http-{self.seq}"
                body = json_record(make_record(self.rng, ext, "merged"))
                self.pending[ext] = body
                self.sent.write(f"{self.feed_code}\t{ext}\n")
            for ext, body in list(self.pending.items())[:4]:
                self._create(ext, body)
            self._read()
            time.sleep(self.rng.uniform(0.1, 0.4))
