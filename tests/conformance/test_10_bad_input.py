"""10 bad input: hand-written hostile packets on the plain port.

Each test first connects a bystander (`observer`), then misbehaves on a raw socket, checks the broker's
reaction, and finally shows that the bystander still publishes and receives and that new clients are
still accepted.
"""

import struct

import pytest

import rawmqtt
from clients import raw, unique
from rawmqtt import MQTT5, MQTT311

OVERSIZE = 131073


def _closed_silently(c, timeout=3.0):
    sent = c.collect_until_closed(timeout)
    assert sent == [], f"broker answered before closing: {sent}"


def _connected(srv, version):
    c = raw(srv, version)
    c.connect(unique("bad-"))
    return c


# ---------------------------------------------------------------- before CONNECT

def test_garbage_first_packet_is_closed_without_response(srv, observer):
    with raw(srv) as c:
        c.send(b"\xff\xff\xff\xff")
        _closed_silently(c)
    observer.assert_still_served()


def test_http_request_on_mqtt_port_is_closed_without_response(srv, observer):
    with raw(srv) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        _closed_silently(c)
    observer.assert_still_served()


def test_pingreq_as_first_packet_is_closed_without_response(srv, observer):
    with raw(srv) as c:
        c.send(rawmqtt.pingreq())
        _closed_silently(c)
    observer.assert_still_served()


def test_subscribe_as_first_packet_is_closed_without_response(srv, observer):
    with raw(srv) as c:
        c.send(rawmqtt.subscribe(1, [("a/b", 1)]))
        _closed_silently(c)
    observer.assert_still_served()


def test_publish_as_first_packet_is_closed_and_not_routed(srv, observer):
    with raw(srv) as c:
        c.send(rawmqtt.publish(observer.topic, b"sneaked in", qos=0))
        _closed_silently(c)
    observer.client.barrier()
    assert [m.payload for m in observer.client.messages_on(observer.topic)] == []
    observer.assert_still_served()


def test_remaining_length_with_fifth_continuation_byte_is_closed(srv, observer):
    with raw(srv) as c:
        c.send(b"\x10\xff\xff\xff\xff\x01")
        _closed_silently(c)
    observer.assert_still_served()


def test_connect_announcing_256_mb_remaining_length_is_closed_without_waiting_for_it(srv, observer):
    with raw(srv) as c:
        c.send(b"\x10\xff\xff\xff\x7f" + rawmqtt.string("MQTT") + b"\x04\x02\x00\x3c")
        _closed_silently(c)
    observer.assert_still_served()


def test_connect_with_wrong_protocol_name_is_refused(srv, observer):
    with raw(srv) as c:
        body = rawmqtt.string("MQTX") + b"\x04\x02\x00\x3c" + rawmqtt.string(unique("proto-"))
        c.send(rawmqtt.packet(rawmqtt.CONNECT, 0, body))
        sent = c.collect_until_closed(3)
        assert not any(p.type == rawmqtt.CONNACK and p.return_code == 0 for p in sent), sent
    observer.assert_still_served()


def test_truncated_connect_then_close_does_not_disturb_the_broker(srv, observer):
    with raw(srv) as c:
        c.send(rawmqtt.connect(unique("trunc-"))[:7])
    observer.assert_still_served()


# ---------------------------------------------------------------- MQTT 3.1.1, after CONNACK

def test_mqtt311_publish_with_invalid_utf8_topic_closes_connection(srv, observer):
    with _connected(srv, MQTT311) as c:
        c.send(rawmqtt.publish(b"a\xffb", b"x", qos=1, packet_id=1))
        sent = c.collect_until_closed(3)
        assert not any(p.type == rawmqtt.PUBACK for p in sent), sent
    observer.assert_still_served()


def test_mqtt311_publish_with_nul_character_in_topic_closes_connection(srv, observer):
    """[MQTT-1.5.3-2] A UTF-8 string must not contain U+0000."""
    with _connected(srv, MQTT311) as c:
        c.send(rawmqtt.publish(b"a\x00b", b"x", qos=1, packet_id=1))
        sent = c.collect_until_closed(3)
        assert not any(p.type == rawmqtt.PUBACK for p in sent), sent
    observer.assert_still_served()


@pytest.mark.parametrize("topic", ["a/+", "a/#", "+", "#"])
def test_mqtt311_publish_to_wildcard_topic_closes_connection(srv, observer, topic):
    with _connected(srv, MQTT311) as c:
        c.send(rawmqtt.publish(topic, b"x", qos=1, packet_id=1))
        sent = c.collect_until_closed(3)
        assert not any(p.type == rawmqtt.PUBACK for p in sent), sent
    observer.assert_still_served()


def test_mqtt311_publish_with_131073_byte_payload_closes_connection(srv, observer):
    topic = unique("big/")
    observer.client.subscribe(topic, 1)
    with _connected(srv, MQTT311) as c:
        c.send(rawmqtt.publish(topic, b"x" * OVERSIZE, qos=1, packet_id=1))
        sent = c.collect_until_closed(5)
        assert not any(p.type == rawmqtt.PUBACK for p in sent), sent
    observer.client.barrier()
    assert observer.client.messages_on(topic) == [], "the oversize message must not be routed"
    observer.assert_still_served()


def test_mqtt311_subscribe_with_nine_filters_fails_every_filter_with_0x80(srv, observer):
    with _connected(srv, MQTT311) as c:
        base = unique("nine/")
        codes = c.subscribe([(f"{base}/{i}", 1) for i in range(9)])
        assert codes == [0x80] * 9
        assert c.is_open(), "AWS answers with failed filters, it does not close the connection"
        observer.client.publish(f"{base}/0", b"not subscribed", qos=1)
        with pytest.raises(AssertionError, match="no packet"):
            c.expect_any(0.5)
    observer.assert_still_served()


def test_mqtt311_publish_with_qos_2_closes_connection_without_puback_or_pubrec(srv, observer):
    with _connected(srv, MQTT311) as c:
        c.send(rawmqtt.publish(unique("q2/"), b"x", qos=2, packet_id=9))
        sent = c.collect_until_closed(3)
        assert not any(p.type in (rawmqtt.PUBACK, rawmqtt.PUBREC) for p in sent), sent
    observer.assert_still_served()


def test_mqtt311_second_connect_closes_connection(srv, observer):
    with _connected(srv, MQTT311) as c:
        c.send(rawmqtt.connect(unique("again-")))
        sent = c.collect_until_closed(3)
        assert not any(p.type == rawmqtt.CONNACK for p in sent), sent
    observer.assert_still_served()


def test_mqtt311_publish_with_qos_3_closes_connection(srv, observer):
    """[MQTT-3.3.1-4] Both QoS bits set is malformed."""
    with _connected(srv, MQTT311) as c:
        c.send(rawmqtt.packet(rawmqtt.PUBLISH, 0x06, rawmqtt.string(unique("q3/")) + b"\x00\x01x"))
        sent = c.collect_until_closed(3)
        assert not any(p.type == rawmqtt.PUBACK for p in sent), sent
    observer.assert_still_served()


def test_mqtt311_subscribe_with_no_filters_closes_connection(srv, observer):
    """[MQTT-3.8.3-3] A SUBSCRIBE without a filter is a protocol violation."""
    with _connected(srv, MQTT311) as c:
        c.send(rawmqtt.packet(rawmqtt.SUBSCRIBE, 0x02, struct.pack("!H", 1)))
        sent = c.collect_until_closed(3)
        assert not any(p.type == rawmqtt.SUBACK for p in sent), sent
    observer.assert_still_served()


# ---------------------------------------------------------------- MQTT 5, after CONNACK

def _disconnect_reason(c, timeout=3.0):
    sent = c.collect_until_closed(timeout)
    assert sent, "broker closed the connection without a DISCONNECT"
    assert sent[-1].type == rawmqtt.DISCONNECT, f"last packet before close: {sent}"
    assert not any(p.type in (rawmqtt.PUBACK, rawmqtt.PUBREC) for p in sent), sent
    return sent[-1].reason


def test_mqtt5_publish_with_invalid_utf8_topic_gets_disconnect_0x81(srv, observer):
    with _connected(srv, MQTT5) as c:
        c.send(rawmqtt.publish(b"a\xffb", b"x", qos=1, packet_id=1, version=MQTT5))
        assert _disconnect_reason(c) == 0x81
    observer.assert_still_served()


@pytest.mark.parametrize("topic", ["a/+", "a/#"])
def test_mqtt5_publish_to_wildcard_topic_gets_disconnect_0x90(srv, observer, topic):
    with _connected(srv, MQTT5) as c:
        c.send(rawmqtt.publish(topic, b"x", qos=1, packet_id=1, version=MQTT5))
        assert _disconnect_reason(c) == 0x90
    observer.assert_still_served()


def test_mqtt5_publish_with_131073_byte_payload_gets_disconnect_0x97(srv, observer):
    with _connected(srv, MQTT5) as c:
        c.send(rawmqtt.publish(unique("big/"), b"x" * OVERSIZE, qos=1, packet_id=1, version=MQTT5))
        assert _disconnect_reason(c, 5) == 0x97
    observer.assert_still_served()


def test_mqtt5_publish_with_qos_2_gets_disconnect_0x9b(srv, observer):
    with _connected(srv, MQTT5) as c:
        c.send(rawmqtt.publish(unique("q2/"), b"x", qos=2, packet_id=1, version=MQTT5))
        assert _disconnect_reason(c) == 0x9B
    observer.assert_still_served()


def test_mqtt5_second_connect_gets_disconnect_0x82(srv, observer):
    with _connected(srv, MQTT5) as c:
        c.send(rawmqtt.connect(unique("again-"), version=MQTT5))
        assert _disconnect_reason(c) == 0x82
    observer.assert_still_served()


def test_mqtt5_subscribe_with_nine_filters_fails_every_filter_with_0x97(srv, observer):
    with _connected(srv, MQTT5) as c:
        base = unique("nine5/")
        assert c.subscribe([(f"{base}/{i}", 1) for i in range(9)]) == [0x97] * 9
        assert c.is_open()
    observer.assert_still_served()


def test_mqtt5_connect_with_will_qos_2_is_refused_with_connack_0x9b(srv, observer):
    """A CONNECT whose Will QoS is 2 is refused: MQTT 5 CONNACK 0x9B (AWS reason-code table)."""
    with raw(srv, MQTT5) as c:
        c.send(rawmqtt.connect(unique("will2-"), version=MQTT5, will=("w/t", b"x", 2, False)))
        sent = c.collect_until_closed(3)
        assert sent and sent[0].type == rawmqtt.CONNACK and sent[0].reason == 0x9B, sent
    observer.assert_still_served()


# ---------------------------------------------------------------- many at once

def test_broker_survives_a_burst_of_hostile_connections(srv, observer):
    payloads = [b"\xff\xff\xff\xff", b"\x10\xff\xff\xff\xff\x01", rawmqtt.pingreq(), b"\x00",
                b"\x10\x00", b"\x20\x02\x00\x00", rawmqtt.connect("x")[:-1] + b"\xff" * 3,
                rawmqtt.connect("y")[:9]]
    clients = []
    try:
        for p in payloads * 3:
            c = raw(srv)
            c.send(p)
            clients.append(c)
        observer.assert_still_served()  # while the hostile connections are still open
    finally:
        for c in clients:
            c.abort()
    observer.assert_still_served()
