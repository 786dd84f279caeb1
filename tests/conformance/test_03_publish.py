"""03 publish: delivery QoS, QoS 2 refusal, cross-version delivery, topic and payload limits."""

import pytest

import rawmqtt
from clients import MQTTV311, MQTTV5, MosquittoSub, PahoClient, mosquitto_pub, raw, unique
from rawmqtt import MQTT5, MQTT311

MAX_PAYLOAD = 131072


@pytest.fixture
def pub(srv):
    c = PahoClient(srv, unique("pub-"))
    c.connect()
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def sub(srv):
    c = PahoClient(srv, unique("sub-"))
    c.connect()
    try:
        yield c
    finally:
        c.close()


@pytest.mark.parametrize("pub_qos,sub_qos,expected", [(0, 0, 0), (0, 1, 0), (1, 0, 0), (1, 1, 1)])
def test_delivery_qos_is_minimum_of_publish_and_subscription_qos(srv, pub, sub, pub_qos, sub_qos, expected):
    t = unique("qos/")
    sub.subscribe(t, sub_qos)
    pub.publish(t, b"payload", qos=pub_qos)
    m = sub.expect_message(t)
    assert m.payload == b"payload"
    assert m.qos == expected


def test_qos1_publish_is_acknowledged_with_its_packet_id(srv):
    with raw(srv) as c:
        c.connect(unique("ack-"))
        ack = c.publish_qos1(unique("ack/"), b"x", packet_id=4242)
        assert ack.packet_id == 4242


def test_qos1_publish_without_subscribers_is_acknowledged_with_success_on_mqtt5(srv):
    with raw(srv, MQTT5) as c:
        c.connect(unique("nosub-"))
        ack = c.publish_qos1(unique("nobody/"), b"x", packet_id=7)
        assert ack.reason == 0x00, f"PUBACK reason 0x{ack.reason:02x}"


def test_qos1_delivery_to_raw_subscriber_carries_packet_id_and_waits_for_puback(srv, pub):
    t = unique("raw-sub/")
    with raw(srv) as c:
        c.connect(unique("rawsub-"))
        assert c.subscribe([(t, 1)]) == [1]
        pub.publish(t, b"one", qos=1)
        p = c.expect_publish()
        assert p.topic == t.encode() and p.payload == b"one" and p.qos == 1 and not p.retain
        assert p.packet_id and p.packet_id > 0
        c.send(rawmqtt.puback(p.packet_id))
        assert c.is_open()


def test_client_receives_its_own_publish(srv, sub):
    t = unique("self/")
    sub.subscribe(t, 1)
    sub.publish(t, b"echo", qos=1)
    assert sub.expect_message(t).payload == b"echo"


def test_mqtt311_publisher_reaches_mqtt5_subscriber_and_back(srv):
    t1, t2 = unique("x311/"), unique("x5/")
    with PahoClient(srv, version=MQTTV311) as a, PahoClient(srv, version=MQTTV5) as b:
        a.connect()
        b.connect()
        a.subscribe(t2, 1)
        b.subscribe(t1, 1)
        a.publish(t1, b"from 3.1.1", qos=1)
        b.publish(t2, b"from 5", qos=1)
        assert b.expect_message(t1).payload == b"from 3.1.1"
        assert a.expect_message(t2).payload == b"from 5"


def test_messages_from_one_publisher_on_one_topic_arrive_complete(srv, pub, sub):
    t = unique("many/")
    sub.subscribe(t, 1)
    for i in range(50):
        pub.publish(t, str(i).encode(), qos=1, wait=False)
    for _ in range(50):
        sub.expect_message(t)
    got = sorted(int(m.payload) for m in sub.messages_on(t))
    assert got == list(range(50))


def test_empty_payload_is_delivered(srv, pub, sub):
    t = unique("empty/")
    sub.subscribe(t, 1)
    pub.publish(t, b"", qos=1)
    assert sub.expect_message(t).payload == b""


def test_binary_payload_is_delivered_unchanged(srv, pub, sub):
    t = unique("bin/")
    payload = bytes(range(256)) * 4
    sub.subscribe(t, 1)
    pub.publish(t, payload, qos=1)
    assert sub.expect_message(t).payload == payload


def test_payload_of_exactly_131072_bytes_is_delivered(srv, pub, sub):
    t = unique("big/")
    payload = b"p" * MAX_PAYLOAD
    sub.subscribe(t, 1)
    pub.publish(t, payload, qos=1)
    assert sub.expect_message(t).payload == payload


def test_topic_of_256_bytes_and_7_slashes_is_delivered(srv, pub, sub):
    head = unique("t") + "/a/b/c/d/e/f/"
    t = head + "x" * (256 - len(head))
    assert len(t.encode()) == 256 and t.count("/") == 7
    sub.subscribe(t, 1)
    pub.publish(t, b"edge", qos=1)
    assert sub.expect_message(t).payload == b"edge"


@pytest.mark.parametrize("version", [MQTT311, MQTT5], ids=["v311", "v5"])
def test_publish_to_topic_of_257_bytes_is_refused(srv, observer, version):
    t = unique("t") + "/" + "x" * 245
    t = t + "y" * (257 - len(t))
    assert len(t) == 257
    _assert_publish_refused(srv, version, t)
    observer.assert_still_served()


@pytest.mark.parametrize("version", [MQTT311, MQTT5], ids=["v311", "v5"])
def test_publish_to_topic_with_8_slashes_is_refused(srv, observer, version):
    _assert_publish_refused(srv, version, unique("t") + "/a/b/c/d/e/f/g/h")
    observer.assert_still_served()


def _assert_publish_refused(srv, version, topic):
    """MQTT 3.1.1: the connection is closed. MQTT 5: PUBACK 0x90 or DISCONNECT 0x90."""
    with raw(srv, version) as c:
        c.connect(unique("limit-"))
        c.send(rawmqtt.publish(topic, b"x", qos=1, packet_id=3, version=version))
        if version == MQTT311:
            sent = c.collect_until_closed(3)
            assert not any(p.type == rawmqtt.PUBACK for p in sent), sent
        else:
            pkt = c.expect_any(3)
            assert pkt.type in (rawmqtt.PUBACK, rawmqtt.DISCONNECT), pkt
            assert pkt.reason == 0x90, f"{pkt.name} reason 0x{pkt.reason:02x}, expected 0x90"


@pytest.mark.parametrize("version", [MQTTV311, MQTTV5], ids=["v311", "v5"])
def test_paho_qos2_publish_gets_no_pubrec_and_the_connection_is_closed(srv, version):
    with PahoClient(srv, version=version) as c:
        c.connect()
        info = c.publish(unique("qos2/"), b"x", qos=2, wait=False)
        c.wait_closed_by_server()
        assert not info.is_published()
        if version == MQTTV5:
            assert c.disconnect_rc == 0x9B, f"DISCONNECT reason {c.disconnect_rc}"


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_pub_qos1_reaches_mosquitto_sub(srv, version):
    t = unique("mosq/")
    with MosquittoSub(srv, [t], version=version) as s:
        s.wait_subscribed()
        r = mosquitto_pub(srv, t, "hello mosquitto", version=version, qos=1)
        assert r.returncode == 0, r.stderr
        msgs = s.wait_messages(1)
    assert msgs[0] == (t, False, 1, "hello mosquitto")


def test_mosquitto_pub_qos0_reaches_paho_subscriber(srv, sub):
    t = unique("mosq0/")
    sub.subscribe(t, 1)
    r = mosquitto_pub(srv, t, "zero", qos=0)
    assert r.returncode == 0, r.stderr
    m = sub.expect_message(t)
    assert (m.payload, m.qos) == (b"zero", 0)
