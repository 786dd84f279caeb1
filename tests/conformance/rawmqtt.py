"""Hand-written MQTT 3.1.1 / 5.0 packets over a raw socket.

The conformance tests that feed a broker hostile or unusual input cannot use a
real client library (it would refuse to encode the packet), so they build the
bytes here and read the broker's answer packet by packet.

Only what the tests need is implemented: CONNECT, PUBLISH, PUBACK, SUBSCRIBE,
UNSUBSCRIBE, PINGREQ and DISCONNECT on the way out; every packet type is split
on the way in, and CONNACK, PUBLISH, PUBACK, SUBACK, UNSUBACK and DISCONNECT
are decoded (MQTT 5 properties included).
"""

from __future__ import annotations

import dataclasses
import select
import socket
import ssl
import struct
import time
from typing import Iterable, Optional, Sequence, Union

Bytes = Union[bytes, str]

MQTT311 = 4
MQTT5 = 5

# Control packet types (high nibble of the first byte).
CONNECT = 1
CONNACK = 2
PUBLISH = 3
PUBACK = 4
PUBREC = 5
PUBREL = 6
PUBCOMP = 7
SUBSCRIBE = 8
SUBACK = 9
UNSUBSCRIBE = 10
UNSUBACK = 11
PINGREQ = 12
PINGRESP = 13
DISCONNECT = 14
AUTH = 15

PACKET_NAMES = {
    CONNECT: "CONNECT", CONNACK: "CONNACK", PUBLISH: "PUBLISH", PUBACK: "PUBACK",
    PUBREC: "PUBREC", PUBREL: "PUBREL", PUBCOMP: "PUBCOMP", SUBSCRIBE: "SUBSCRIBE",
    SUBACK: "SUBACK", UNSUBSCRIBE: "UNSUBSCRIBE", UNSUBACK: "UNSUBACK",
    PINGREQ: "PINGREQ", PINGRESP: "PINGRESP", DISCONNECT: "DISCONNECT", AUTH: "AUTH",
}

# MQTT 5 property identifiers used by the tests.
PROP_PAYLOAD_FORMAT_INDICATOR = 0x01
PROP_MESSAGE_EXPIRY_INTERVAL = 0x02
PROP_SESSION_EXPIRY_INTERVAL = 0x11
PROP_ASSIGNED_CLIENT_IDENTIFIER = 0x12
PROP_SERVER_KEEP_ALIVE = 0x13
PROP_REASON_STRING = 0x1F
PROP_RECEIVE_MAXIMUM = 0x21
PROP_TOPIC_ALIAS_MAXIMUM = 0x22
PROP_MAXIMUM_QOS = 0x24
PROP_RETAIN_AVAILABLE = 0x25
PROP_USER_PROPERTY = 0x26
PROP_MAXIMUM_PACKET_SIZE = 0x27
PROP_WILDCARD_SUBSCRIPTION_AVAILABLE = 0x28
PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE = 0x29
PROP_SHARED_SUBSCRIPTION_AVAILABLE = 0x2A

_BYTE_PROPS = {0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A}
_TWO_BYTE_PROPS = {0x13, 0x21, 0x22, 0x23}
_FOUR_BYTE_PROPS = {0x02, 0x11, 0x18, 0x27}
_VARINT_PROPS = {0x0B}
_STRING_PROPS = {0x03, 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F}
_BINARY_PROPS = {0x09, 0x16}
_PAIR_PROPS = {0x26}


class ProtocolViolation(AssertionError):
    """The broker sent bytes that are not a well-formed MQTT packet."""


# --------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------

def _b(value: Bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def varint(n: int) -> bytes:
    """Variable Byte Integer [MQTT-1.5.5]."""
    assert 0 <= n <= 268_435_455, n
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def string(value: Bytes) -> bytes:
    """UTF-8 Encoded String / Binary Data: 2-byte length then the bytes (no validation)."""
    raw = _b(value)
    return struct.pack("!H", len(raw)) + raw


def properties(*props: tuple) -> bytes:
    """Encode MQTT 5 properties given as (identifier, value) pairs, length prefix included."""
    body = bytearray()
    for ident, value in props:
        body += varint(ident)
        if ident in _BYTE_PROPS:
            body += struct.pack("!B", value)
        elif ident in _TWO_BYTE_PROPS:
            body += struct.pack("!H", value)
        elif ident in _FOUR_BYTE_PROPS:
            body += struct.pack("!I", value)
        elif ident in _VARINT_PROPS:
            body += varint(value)
        elif ident in _STRING_PROPS or ident in _BINARY_PROPS:
            body += string(value)
        elif ident in _PAIR_PROPS:
            body += string(value[0]) + string(value[1])
        else:
            raise ValueError(f"unknown property 0x{ident:02x}")
    return varint(len(body)) + bytes(body)


def packet(ptype: int, flags: int, body: bytes) -> bytes:
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + body


def connect(client_id: Bytes, version: int = MQTT311, clean: bool = True, keepalive: int = 60,
            will: Optional[tuple] = None, props: Sequence[tuple] = (),
            will_props: Sequence[tuple] = (), username: Optional[Bytes] = None,
            password: Optional[Bytes] = None) -> bytes:
    """CONNECT. will = (topic, payload, qos, retain)."""
    flags = 0x02 if clean else 0
    payload = string(client_id)
    if will is not None:
        w_topic, w_payload, w_qos, w_retain = will
        flags |= 0x04 | (w_qos << 3) | (0x20 if w_retain else 0)
        if version == MQTT5:
            payload += properties(*will_props)
        payload += string(w_topic) + string(w_payload)
    if username is not None:
        flags |= 0x80
        payload += string(username)
    if password is not None:
        flags |= 0x40
        payload += string(password)
    variable = string("MQTT") + bytes([version, flags]) + struct.pack("!H", keepalive)
    if version == MQTT5:
        variable += properties(*props)
    return packet(CONNECT, 0, variable + payload)


def publish(topic: Bytes, payload: Bytes = b"", qos: int = 0, retain: bool = False,
            packet_id: Optional[int] = None, version: int = MQTT311, dup: bool = False,
            props: Sequence[tuple] = ()) -> bytes:
    flags = (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = string(topic)
    if qos > 0:
        body += struct.pack("!H", packet_id if packet_id is not None else 1)
    if version == MQTT5:
        body += properties(*props)
    return packet(PUBLISH, flags, body + _b(payload))


def puback(packet_id: int, version: int = MQTT311, reason: int = 0) -> bytes:
    body = struct.pack("!H", packet_id)
    if version == MQTT5 and reason:
        body += bytes([reason])
    return packet(PUBACK, 0, body)


def subscribe(packet_id: int, filters: Iterable[tuple], version: int = MQTT311) -> bytes:
    """SUBSCRIBE; filters = [(filter, qos_or_options_byte), ...]."""
    body = struct.pack("!H", packet_id)
    if version == MQTT5:
        body += properties()
    for flt, options in filters:
        body += string(flt) + bytes([options])
    return packet(SUBSCRIBE, 0x02, body)


def unsubscribe(packet_id: int, filters: Iterable[Bytes], version: int = MQTT311) -> bytes:
    body = struct.pack("!H", packet_id)
    if version == MQTT5:
        body += properties()
    for flt in filters:
        body += string(flt)
    return packet(UNSUBSCRIBE, 0x02, body)


def pingreq() -> bytes:
    return b"\xc0\x00"


def disconnect(version: int = MQTT311, reason: int = 0) -> bytes:
    if version == MQTT5 and reason:
        return packet(DISCONNECT, 0, bytes([reason]) + properties())
    return b"\xe0\x00"


# --------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------

def decode_varint(data: bytes, pos: int) -> tuple:
    value, shift = 0, 0
    for i in range(4):
        if pos + i >= len(data):
            raise ProtocolViolation("truncated variable byte integer")
        byte = data[pos + i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos + i + 1
        shift += 7
    raise ProtocolViolation("variable byte integer longer than 4 bytes")


def decode_properties(data: bytes, pos: int) -> tuple:
    """Return ({identifier: value or [values]}, position after the properties)."""
    length, pos = decode_varint(data, pos)
    end = pos + length
    if end > len(data):
        raise ProtocolViolation("properties longer than the packet")
    props: dict = {}
    while pos < end:
        ident, pos = decode_varint(data, pos)
        if ident in _BYTE_PROPS:
            value, pos = data[pos], pos + 1
        elif ident in _TWO_BYTE_PROPS:
            value, pos = struct.unpack_from("!H", data, pos)[0], pos + 2
        elif ident in _FOUR_BYTE_PROPS:
            value, pos = struct.unpack_from("!I", data, pos)[0], pos + 4
        elif ident in _VARINT_PROPS:
            value, pos = decode_varint(data, pos)
        elif ident in _STRING_PROPS or ident in _BINARY_PROPS:
            n = struct.unpack_from("!H", data, pos)[0]
            raw = data[pos + 2:pos + 2 + n]
            value, pos = (raw.decode("utf-8") if ident in _STRING_PROPS else raw), pos + 2 + n
        elif ident in _PAIR_PROPS:
            n = struct.unpack_from("!H", data, pos)[0]
            key = data[pos + 2:pos + 2 + n].decode("utf-8")
            pos += 2 + n
            n = struct.unpack_from("!H", data, pos)[0]
            val = data[pos + 2:pos + 2 + n].decode("utf-8")
            pos += 2 + n
            value = (key, val)
        else:
            raise ProtocolViolation(f"unknown property identifier 0x{ident:02x}")
        if ident in _PAIR_PROPS or ident == 0x0B:
            props.setdefault(ident, []).append(value)
        else:
            if ident in props:
                raise ProtocolViolation(f"property 0x{ident:02x} sent twice")
            props[ident] = value
    if pos != end:
        raise ProtocolViolation("property overruns its length")
    return props, end


@dataclasses.dataclass
class Packet:
    type: int
    flags: int
    body: bytes
    version: int = MQTT311

    @property
    def name(self) -> str:
        return PACKET_NAMES.get(self.type, f"type{self.type}")

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 48 else self.body[:48] + b"..."
        return f"<{self.name} flags=0x{self.flags:x} len={len(self.body)} {body!r}>"

    # CONNACK ---------------------------------------------------------------
    @property
    def session_present(self) -> bool:
        assert self.type == CONNACK, self
        return bool(self.body[0] & 0x01)

    @property
    def return_code(self) -> int:
        """CONNACK return code (3.1.1) or reason code (5)."""
        assert self.type == CONNACK, self
        return self.body[1]

    # PUBLISH ---------------------------------------------------------------
    @property
    def qos(self) -> int:
        return (self.flags >> 1) & 0x03

    @property
    def retain(self) -> bool:
        return bool(self.flags & 0x01)

    @property
    def dup(self) -> bool:
        return bool(self.flags & 0x08)

    def _publish_parts(self) -> tuple:
        assert self.type == PUBLISH, self
        n = struct.unpack_from("!H", self.body, 0)[0]
        topic = self.body[2:2 + n]
        pos = 2 + n
        pid = None
        if self.qos:
            pid = struct.unpack_from("!H", self.body, pos)[0]
            pos += 2
        props: dict = {}
        if self.version == MQTT5:
            props, pos = decode_properties(self.body, pos)
        return topic, pid, props, self.body[pos:]

    @property
    def topic(self) -> bytes:
        return self._publish_parts()[0]

    @property
    def payload(self) -> bytes:
        if self.type == PUBLISH:
            return self._publish_parts()[3]
        return self.body

    # Every packet with a packet identifier --------------------------------
    @property
    def packet_id(self) -> Optional[int]:
        if self.type == PUBLISH:
            return self._publish_parts()[1]
        return struct.unpack_from("!H", self.body, 0)[0]

    # SUBACK / UNSUBACK ------------------------------------------------------
    @property
    def reason_codes(self) -> list:
        assert self.type in (SUBACK, UNSUBACK), self
        pos = 2
        if self.version == MQTT5:
            _, pos = decode_properties(self.body, pos)
        return list(self.body[pos:])

    # PUBACK / DISCONNECT reason code (MQTT 5) ------------------------------
    @property
    def reason(self) -> int:
        if self.type == DISCONNECT:
            return self.body[0] if self.body else 0x00
        if self.type in (PUBACK, PUBREC, PUBREL, PUBCOMP):
            return self.body[2] if len(self.body) > 2 else 0x00
        if self.type == CONNACK:
            return self.body[1]
        raise AssertionError(f"{self} has no reason code")

    @property
    def properties(self) -> dict:
        if self.version != MQTT5:
            return {}
        if self.type == CONNACK:
            return decode_properties(self.body, 2)[0]
        if self.type == PUBLISH:
            return self._publish_parts()[2]
        if self.type == DISCONNECT:
            return decode_properties(self.body, 1)[0] if len(self.body) > 1 else {}
        if self.type in (SUBACK, UNSUBACK):
            return decode_properties(self.body, 2)[0]
        if self.type == PUBACK:
            return decode_properties(self.body, 3)[0] if len(self.body) > 3 else {}
        return {}


def parse_packets(data: bytes, version: int = MQTT311) -> list:
    """Split a byte string into complete packets (trailing partial packet ignored)."""
    out, pos = [], 0
    while pos + 2 <= len(data):
        try:
            length, body_at = decode_varint(data, pos + 1)
        except ProtocolViolation:
            break
        if body_at + length > len(data):
            break
        out.append(Packet(data[pos] >> 4, data[pos] & 0x0F, data[body_at:body_at + length], version))
        pos = body_at + length
    return out


# --------------------------------------------------------------------------
# A raw connection
# --------------------------------------------------------------------------

class Closed(Exception):
    """The peer closed the connection (EOF or reset)."""


class RawClient:
    """One TCP (optionally TLS) connection speaking hand-built MQTT.

    `version` is only used to decode what the broker sends back (MQTT 5 packets
    carry properties); the bytes written are whatever the caller builds.
    """

    def __init__(self, host: str, port: int, version: int = MQTT311, timeout: float = 5.0,
                 ssl_context: Optional[ssl.SSLContext] = None, server_hostname: Optional[str] = None,
                 receive_buffer: Optional[int] = None):
        self.version = version
        self.timeout = timeout
        if receive_buffer is None:
            sock = socket.create_connection((host, port), timeout=timeout)
        else:
            # A small receive window, set before connecting so that TCP advertises it: a client
            # that stops reading then fills the broker's socket quickly.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.settimeout(timeout)
            sock.connect((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl_context is not None:
            sock = ssl_context.wrap_socket(sock, server_hostname=server_hostname or host)
        self.sock = sock
        self._buf = b""
        self.closed = False
        self.send_failed = False
        self.pending: list = []  # PUBLISHes read while waiting for an ack

    # -- plumbing ----------------------------------------------------------
    def send(self, data: bytes) -> bool:
        """Write bytes. Returns False if the broker had already closed the socket."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.send_failed = True
            return False

    def _fill(self, deadline: float) -> None:
        """Read more bytes into the buffer; raise Closed on EOF, TimeoutError at deadline."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no data from broker")
            if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
                pass
            else:
                ready, _, _ = select.select([self.sock], [], [], remaining)
                if not ready:
                    continue
            try:
                self.sock.settimeout(max(remaining, 0.01))
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ssl.SSLWantReadError:
                continue
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError) as err:
                self.closed = True
                raise Closed(repr(err)) from err
            if not chunk:
                self.closed = True
                raise Closed("EOF")
            self._buf += chunk
            return

    def read_packet(self, timeout: Optional[float] = None) -> Packet:
        """Next packet; raises Closed if the connection ends, TimeoutError if nothing comes."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            if len(self._buf) >= 2:
                try:
                    length, body_at = decode_varint(self._buf, 1)
                except ProtocolViolation as err:
                    if "truncated" not in str(err):
                        raise
                else:
                    if len(self._buf) >= body_at + length:
                        pkt = Packet(self._buf[0] >> 4, self._buf[0] & 0x0F,
                                     self._buf[body_at:body_at + length], self.version)
                        self._buf = self._buf[body_at + length:]
                        return pkt
            self._fill(deadline)

    def expect(self, ptype: int, timeout: Optional[float] = None) -> Packet:
        """Read the next packet and require its type."""
        try:
            pkt = self.read_packet(timeout)
        except Closed as err:
            raise AssertionError(f"broker closed the connection ({err}) while a "
                                 f"{PACKET_NAMES[ptype]} was expected") from None
        except TimeoutError:
            raise AssertionError(f"no {PACKET_NAMES[ptype]} from the broker") from None
        assert pkt.type == ptype, f"expected {PACKET_NAMES[ptype]}, got {pkt!r}"
        return pkt

    def expect_publish(self, timeout: Optional[float] = None, skip_types: Sequence[int] = ()) -> Packet:
        while True:
            pkt = self.expect_any(timeout)
            if pkt.type in skip_types:
                continue
            assert pkt.type == PUBLISH, f"expected PUBLISH, got {pkt!r}"
            return pkt

    def expect_any(self, timeout: Optional[float] = None) -> Packet:
        try:
            return self.read_packet(timeout)
        except Closed as err:
            raise AssertionError(f"broker closed the connection ({err})") from None
        except TimeoutError:
            raise AssertionError("no packet from the broker") from None

    def collect_until_closed(self, timeout: float = 5.0) -> list:
        """Read until the broker closes the connection; return every packet it sent first.

        Fails the test if the connection is still open after `timeout` seconds.
        """
        packets = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                packets.append(self.read_packet(max(deadline - time.monotonic(), 0.001)))
            except Closed:
                return packets
            except TimeoutError:
                raise AssertionError(
                    f"broker kept the connection open for {timeout} s; it sent {packets!r}") from None

    def is_open(self, timeout: float = 0.3) -> bool:
        """True if a PINGREQ is answered with PINGRESP (skipping other packets)."""
        if not self.send(pingreq()):
            return False
        deadline = time.monotonic() + timeout
        try:
            while True:
                pkt = self.read_packet(max(deadline - time.monotonic(), 0.001))
                if pkt.type == PINGRESP:
                    return True
        except (Closed, TimeoutError):
            return False

    # -- conveniences ------------------------------------------------------
    def connect(self, client_id: Bytes, clean: bool = True, keepalive: int = 60, **kw) -> Packet:
        """Send CONNECT for self.version and require a successful CONNACK."""
        self.send(connect(client_id, version=self.version, clean=clean, keepalive=keepalive, **kw))
        ack = self.expect(CONNACK)
        assert ack.return_code == 0, f"CONNACK refused: {ack!r}"
        return ack

    def subscribe(self, filters: Sequence[tuple], packet_id: int = 1) -> list:
        """SUBSCRIBE and return the SUBACK return/reason codes (skips PUBLISHes that arrive first)."""
        self.send(subscribe(packet_id, filters, version=self.version))
        while True:
            pkt = self.expect_any()
            if pkt.type == SUBACK:
                assert pkt.packet_id == packet_id, pkt
                return pkt.reason_codes
            assert pkt.type == PUBLISH, f"expected SUBACK, got {pkt!r}"
            self.pending.append(pkt)

    def publish_qos1(self, topic: Bytes, payload: Bytes, packet_id: int = 1, retain: bool = False) -> Packet:
        self.send(publish(topic, payload, qos=1, retain=retain, packet_id=packet_id, version=self.version))
        while True:
            pkt = self.expect_any()
            if pkt.type == PUBACK and pkt.packet_id == packet_id:
                return pkt
            assert pkt.type == PUBLISH, f"expected PUBACK, got {pkt!r}"
            self.pending.append(pkt)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def abort(self) -> None:
        """Close the TCP connection without an MQTT DISCONNECT (no TLS close_notify either)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
