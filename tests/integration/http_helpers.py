"""Helpers for the HTTP API's tests: accounts made with hotlinectl, and a small
keep-alive JSON client (http.client from the standard library).

Api(daemon, token).get(path) / .post(path, body) return (status, decoded JSON or
None); .raw(method, path, body_bytes, headers) sends anything at all.
"""

import http.client
import json
import subprocess
import uuid


def new_user(prefix="u"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def add_user(binaries, conninfo, name, role):
    """`hotlinectl user add NAME --role ROLE`; returns the token it printed."""
    out = subprocess.run(
        [str(binaries.hotlinectl), "--dsn", conninfo, "user", "add", name, "--role", role],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token.startswith("hl1."), out.stdout
    return token


def hotlinectl_user(binaries, conninfo, *args):
    return subprocess.run(
        [str(binaries.hotlinectl), "--dsn", conninfo, "user", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


class Api:
    """One keep-alive connection to a daemon's HTTP API, as one account."""

    def __init__(self, daemon, token=None, timeout=15.0):
        self.port = daemon.http_port
        self.token = token
        self.timeout = timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def close(self):
        self.conn.close()

    def raw(self, method, path, body=None, headers=None):
        """Sends exactly this; returns (status, headers dict, body bytes)."""
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            resp = self.conn.getresponse()
        except (http.client.HTTPException, ConnectionError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            raise
        data = resp.read()
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def _headers(self, token, extra=None):
        h = {}
        token = self.token if token is None else token
        if token:
            h["Authorization"] = f"Bearer {token}"
        h.update(extra or {})
        return h

    def get(self, path, token=None):
        status, _, data = self.raw("GET", path, headers=self._headers(token))
        return status, (json.loads(data) if data else None)

    def post(self, path, body=None, token=None):
        payload = json.dumps(body if body is not None else {}, ensure_ascii=False).encode()
        status, _, data = self.raw(
            "POST", path, body=payload, headers=self._headers(token, {"Content-Type": "application/json"})
        )
        return status, (json.loads(data) if data else None)


def error_code(body):
    assert isinstance(body, dict) and "error" in body, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"], body
    return body["error"]["code"]
