"""09 flow: a subscriber that stops reading.

The broker's output to a connection is bounded (ARCHITECTURE.md, "Output is bounded per
connection"); the network host writes what the socket takes and waits for the peer to read the
rest. These tests fill a subscriber's socket well past what the kernel buffers (megabytes of QoS 1
messages into a 4 KB receive window), so the host's writes come back partial and then would-block,
and show that nothing is lost or reordered once the subscriber reads again, and that nobody else
waits meanwhile.
"""

import struct
import time

import rawmqtt
from clients import PahoClient, unique
from rawmqtt import PUBLISH, RawClient

PAYLOAD_BYTES = 100 * 1024  # under AWS's 128 KB
MESSAGES = 150              # 15 MB: more than the in-flight window of 100 and any socket buffer


def payload(seq: int) -> bytes:
    return struct.pack("!I", seq) + bytes([seq % 251]) * (PAYLOAD_BYTES - 4)


def test_a_subscriber_that_stops_reading_gets_every_qos1_message_in_order_once_it_reads_again(srv):
    topic = unique("flow/")
    slow = RawClient(srv.host, srv.mqtt_port, receive_buffer=4096, timeout=10.0)
    pub = RawClient(srv.host, srv.mqtt_port, timeout=10.0)
    other = PahoClient(srv, unique("other-"))
    try:
        slow.connect(unique("slow-"))
        assert slow.subscribe([(topic, 1)]) == [1]
        pub.connect(unique("pub-"))
        other.connect()
        other.subscribe(topic + "/ping", 0)

        # The subscriber reads nothing while every message is published and acknowledged.
        for seq in range(MESSAGES):
            ack = pub.publish_qos1(topic, payload(seq), packet_id=seq + 1)
            assert ack.packet_id == seq + 1
        # Everyone else is still served while the subscriber's output waits.
        other.publish(topic + "/ping", b"still here", qos=1)
        assert other.expect_message(topic + "/ping").payload == b"still here"

        # Now it reads: every message, in order, each acknowledged as it arrives (the broker
        # sends more as the in-flight window frees up).
        received = []
        deadline = time.monotonic() + 60
        while len(received) < MESSAGES and time.monotonic() < deadline:
            pkt = slow.expect_publish(timeout=10.0)
            assert pkt.type == PUBLISH and pkt.qos == 1, pkt
            assert len(pkt.payload) == PAYLOAD_BYTES
            seq = struct.unpack("!I", pkt.payload[:4])[0]
            assert pkt.payload == payload(seq), f"message {seq} damaged"
            received.append(seq)
            slow.send(rawmqtt.puback(pkt.packet_id))
        assert received == list(range(MESSAGES))
    finally:
        slow.close()
        pub.close()
        other.close()
