"""pg_proxy.py - a PostgreSQL proxy that loses commit confirmations on demand.

Owns: PgProxy, loopback TCP in front of a cluster's Unix socket, which forwards
everything and, when told, closes a connection right after a transaction committed
and before its ReadyForQuery reaches the client (the daemon then cannot know the
outcome and must send the work again: the case that has to come out stored once), or
holds back statements that contain a pattern (one slow connection).
Never: changes a byte it forwards.
Callers: tests/faults/servers.py (the fault suite), test_lost_confirmation.py.
"""

import socket
import threading
import time


class _ProxiedConn:
    def __init__(self, client, server):
        self.client = client
        self.server = server
        self.cut_armed = False
        self.closed = False
        self.lock = threading.Lock()

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class PgProxy:
    """Loopback TCP -> the cluster's Unix socket, one pair of threads per connection.

    arm_cut(fraction) marks that share of the open connections: each forwards the
    server's messages up to its next ReadyForQuery after start-up, drops that one and
    closes both sides. ReadyForQuery follows the commit of an implicit transaction
    (hotlined's pipeline ends each transaction with a Sync), so the daemon loses the
    confirmation of a transaction that did commit: the case where it must resend and
    the result must still be stored once. Clients must connect with sslmode=disable and
    gssencmode=disable, so that every server byte belongs to a typed message."""

    def __init__(self, socket_path):
        self.socket_path = socket_path
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.conns = []
        self.lock = threading.Lock()
        self.cuts = 0
        self.cut_on = {}  # byte pattern -> how many more connections sending it to cut
        self.delay_on = {}  # byte pattern -> seconds a statement holding it is held back
        self.stopping = False
        threading.Thread(target=self._accept, name="pgproxy-accept", daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.stopping:  # accepted as stop() closed the listener: PostgreSQL is "down"
                client.close()
                return
            server = socket.socket(socket.AF_UNIX)
            try:
                server.connect(self.socket_path)
            except OSError:
                server.close()
                client.close()  # PostgreSQL is down: the daemon sees the connection fail
                continue
            conn = _ProxiedConn(client, server)
            with self.lock:
                self.conns = [c for c in self.conns if not c.closed] + [conn]
            threading.Thread(target=self._upstream, args=(conn,), daemon=True).start()
            threading.Thread(target=self._downstream, args=(conn,), daemon=True).start()

    def _upstream(self, conn):
        try:
            while True:
                data = conn.client.recv(262144)
                if not data:
                    break
                for pattern, seconds in list(self.delay_on.items()):
                    if pattern in data:
                        time.sleep(seconds)
                for pattern in list(self.cut_on):
                    if pattern in data:
                        with self.lock:
                            if self.cut_on.get(pattern, 0) > 0:
                                self.cut_on[pattern] -= 1
                                conn.cut_armed = True
                conn.server.sendall(data)
        except OSError:
            pass
        conn.close()

    def _downstream(self, conn):
        buf = bytearray()
        started = False
        try:
            while True:
                data = conn.server.recv(262144)
                if not data:
                    break
                buf += data
                at = 0
                while len(buf) - at >= 5:
                    length = int.from_bytes(buf[at + 1:at + 5], "big")
                    if len(buf) - at < 1 + length:
                        break
                    if buf[at] == ord("Z"):
                        if started and conn.cut_armed:
                            conn.client.sendall(buf[:at])
                            with self.lock:
                                self.cuts += 1
                            conn.close()
                            return
                        started = True
                    at += 1 + length
                if at:
                    conn.client.sendall(buf[:at])
                    del buf[:at]
        except OSError:
            pass
        conn.close()

    def arm_cut(self, rng, fraction=0.5):
        """Arms a cut on about fraction of the open connections (at least one)."""
        with self.lock:
            live = [c for c in self.conns if not c.closed and not c.cut_armed]
        chosen = [c for c in live if rng.random() < fraction] or live[:1]
        for c in chosen:
            c.cut_armed = True
        return len(chosen)

    def cut_statements(self, budgets):
        """budgets: {pattern (bytes): n}. The next n connections that send a statement
        containing pattern are cut right after it commits (what the daemon sends again
        then goes through); {} disarms."""
        with self.lock:
            self.cut_on = dict(budgets)

    def delay_statements(self, delays):
        """delays: {pattern (bytes): seconds}. A statement containing pattern reaches
        PostgreSQL that much later (its connection alone is slow); {} ends it."""
        self.delay_on = dict(delays)

    @staticmethod
    def bind_param(text):
        """The bytes of a text parameter in a Bind message (length-prefixed): a pattern
        that matches a statement's parameter, never its SQL text."""
        data = text.encode()
        return len(data).to_bytes(4, "big") + data

    def stop(self):
        self.stopping = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            c.close()
