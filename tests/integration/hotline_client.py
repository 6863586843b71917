"""Blocking test clients for hotlined's feed protocols (binary frames and JSON lines).

Owns: speaking the wire contract of proto/hotline.proto from the outside, with the
Python protobuf runtime (independent of the daemon's protobuf-c), plus helpers to
send bytes the normal encoders refuse to make (invalid UTF-8, cut frames, garbage).
Never: imports anything from the daemon's build. Callers: conftest.py and tests.

The generated module hotline_pb2 is produced at session start by conftest.py
(protoc --python_out) and handed to load_proto(); `pb` is that module.
"""

import json
import socket
import struct
import time

pb = None  # hotline_pb2, set by load_proto()

HEADER = struct.Struct(">I")


def load_proto(module):
    global pb
    pb = module


# --------------------------------------------------------------------------
# the daemons' clock


def clock_start_ms(clock):
    """Unix ms of an RFC 3339 instant (or of unix ms given as digits)."""
    import datetime

    if str(clock).isdigit():
        return int(clock)
    return int(datetime.datetime.fromisoformat(str(clock).replace("Z", "+00:00")).timestamp() * 1000)


_suite_offset = None


def suite_clock_offset_ms():
    """How far the suite's daemons' clocks are from the system clock: 0, or, with
    HOTLINE_TEST_CLOCK set, that instant minus the moment this was first asked
    (once per session, so every daemon of the run shares one offset)."""
    global _suite_offset
    if _suite_offset is None:
        import os

        clock = os.environ.get("HOTLINE_TEST_CLOCK")
        _suite_offset = clock_start_ms(clock) - int(time.time() * 1000) if clock else 0
    return _suite_offset


def now_ms():
    """The suite's clock (what daemons started without clock= read), unix ms."""
    return int(time.time() * 1000) + suite_clock_offset_ms()


class Closed(Exception):
    """The peer closed the connection (EOF or reset) before a whole reply arrived."""


class Timeout(Exception):
    """No whole reply arrived within the timeout."""


# --------------------------------------------------------------------------
# raw protobuf encoding, for bytes the protobuf runtime will not produce


def pb_varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pb_len_field(field_number, data):
    """A length-delimited field (wire type 2): tag, length, raw bytes."""
    return pb_varint(field_number << 3 | 2) + pb_varint(len(data)) + bytes(data)


def frame_bytes(body):
    """4-byte big-endian length prefix + body."""
    return HEADER.pack(len(body)) + bytes(body)


def encode_frame(frame):
    return frame_bytes(frame.SerializeToString())


def intake_frame(**fields):
    """A whole Frame{intake} on the wire, from Intake's field names."""
    return encode_frame(pb.Frame(intake=pb.Intake(**fields)))


def intake_frame_raw_content(content_bytes, **fields):
    """Frame{intake} whose content (field 7) is content_bytes verbatim, e.g. invalid UTF-8."""
    intake = pb.Intake(**fields).SerializeToString() + pb_len_field(7, content_bytes)
    return frame_bytes(pb_len_field(4, intake))


def error_name(code):
    return pb.ErrorCode.Name(code)


# --------------------------------------------------------------------------


class _Conn:
    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False

    def close(self):
        """Closes the socket; shutdown() first wakes a thread blocked sending on it."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        """Reads more bytes into buf; raises Timeout, or Closed on EOF/reset."""
        if self.eof:
            raise Closed("connection closed by peer")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout("no reply in time")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Timeout("no reply in time") from None
        except OSError as e:  # reset, or closed under us by another thread
            self.eof = True
            raise Closed(f"connection lost: {e}") from None
        if not data:
            self.eof = True
            raise Closed("connection closed by peer")
        self.buf += data

    def wait_closed(self, timeout=5.0):
        """True when the peer closes within timeout (bytes read meanwhile are kept in buf)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
        except Closed:
            return True
        except Timeout:
            return False


class BinaryClient(_Conn):
    """One binary-protocol connection: 4-byte big-endian length + hotline.v1.Frame."""

    def send_frame(self, frame):
        self.send_raw(encode_frame(frame))

    def send_intake(self, **fields):
        self.send_raw(intake_frame(**fields))

    def read_frame(self, timeout=10.0):
        """The next Frame; raises Timeout, or Closed if the peer closed first."""
        deadline = time.monotonic() + timeout
        while len(self.buf) < 4:
            self._fill(deadline)
        (length,) = HEADER.unpack_from(self.buf)
        while len(self.buf) < 4 + length:
            self._fill(deadline)
        body = bytes(self.buf[4 : 4 + length])
        del self.buf[: 4 + length]
        return pb.Frame.FromString(body)

    def hello(self, feed, token, role=None, version=1, timeout=10.0):
        """Sends Hello and returns the reply Frame (welcome or error)."""
        if role is None:
            role = pb.ROLE_FEED
        self.send_frame(pb.Frame(hello=pb.Hello(role=role, id=feed, token=token, version=version)))
        return self.read_frame(timeout)

    def read_reply(self, timeout=10.0):
        """('ack', IntakeAck) or ('error', Error) or (other kind, message)."""
        frame = self.read_frame(timeout)
        kind = frame.WhichOneof("msg")
        if kind == "intake_ack":
            return "ack", frame.intake_ack
        return kind, getattr(frame, kind) if kind else None


class JsonClient(_Conn):
    """One JSON-lines connection: one JSON object per '\\n'-terminated line."""

    def send_line(self, obj):
        if isinstance(obj, (bytes, bytearray)):
            data = bytes(obj)
        elif isinstance(obj, str):
            data = obj.encode()
        else:
            data = json.dumps(obj, ensure_ascii=False).encode()
        if not data.endswith(b"\n"):
            data += b"\n"
        self.send_raw(data)

    def read_line(self, timeout=10.0):
        """The next line parsed as JSON; raises Timeout or Closed."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            self._fill(deadline)
        idx = self.buf.index(b"\n")
        line = bytes(self.buf[:idx])
        del self.buf[: idx + 1]
        return json.loads(line)

    def hello(self, feed, token, role="feed", version=1, timeout=10.0):
        self.send_line({"role": role, "id": feed, "token": token, "version": version})
        return self.read_line(timeout)

    def send_intake(self, **fields):
        self.send_line(fields)
