"""07 will: published on every disconnect except a clean client DISCONNECT."""

import socket

import pytest

import rawmqtt
from clients import MQTTV311, MQTTV5, MosquittoSub, PahoClient, raw, unique
from rawmqtt import MQTT5


@pytest.fixture
def watcher(srv):
    c = PahoClient(srv, unique("watch-"))
    c.connect()
    try:
        yield c
    finally:
        c.close()


def _will_client(srv, version, topic, payload=b"gone", retain=False, cid=None):
    c = PahoClient(srv, cid or unique("willer-"), version, will=(topic, payload, 1, retain))
    c.connect()
    return c


@pytest.mark.parametrize("version", [MQTTV311, MQTTV5], ids=["v311", "v5"])
def test_will_is_published_when_socket_closes_without_disconnect(srv, watcher, version):
    t = unique("will/")
    watcher.subscribe(t, 1)
    c = _will_client(srv, version, t, b"lost power")
    try:
        c.drop()
        m = watcher.expect_message(t)
        assert (m.payload, m.retain) == (b"lost power", False)
    finally:
        c.close()


@pytest.mark.parametrize("version", [MQTTV311, MQTTV5], ids=["v311", "v5"])
def test_will_is_not_published_after_clean_disconnect(srv, watcher, version):
    t = unique("will/")
    watcher.subscribe(t, 1)
    with _will_client(srv, version, t) as c:
        c.disconnect()
    watcher.barrier()
    assert watcher.messages_on(t) == []


def test_will_of_the_connection_that_was_taken_over_is_published(srv, watcher):
    t, cid = unique("will/"), unique("dupwill-")
    watcher.subscribe(t, 1)
    old = _will_client(srv, MQTTV311, t, b"old connection's will", cid=cid)
    try:
        with PahoClient(srv, cid) as new:
            new.connect()
            assert watcher.expect_message(t).payload == b"old connection's will"
            old.wait_closed_by_server()
            new.disconnect()
    finally:
        old.close()


def test_will_is_published_when_broker_closes_connection_for_a_protocol_error(srv, watcher):
    t = unique("will/")
    watcher.subscribe(t, 1)
    with raw(srv) as c:
        c.connect(unique("badwill-"), will=(t, b"client error", 1, False))
        c.send(rawmqtt.connect(unique("again-")))  # a second CONNECT is a protocol error
        c.collect_until_closed(3)
    assert watcher.expect_message(t).payload == b"client error"


def test_will_with_retain_is_stored_as_retained_message(srv, watcher):
    t = unique("will/")
    watcher.subscribe(t, 1)
    c = _will_client(srv, MQTTV311, t, b"retained will", retain=True)
    try:
        c.drop()
        assert watcher.expect_message(t).payload == b"retained will"
    finally:
        c.close()
    with PahoClient(srv) as late:
        late.connect()
        late.subscribe(t, 1)
        m = late.expect_message(t)
        assert (m.payload, m.retain) == (b"retained will", True)


def test_will_qos_0_is_delivered_at_qos_0(srv, watcher):
    t = unique("will/")
    watcher.subscribe(t, 1)
    c = PahoClient(srv, unique("w0-"), will=(t, b"q0", 0, False))
    try:
        c.connect()
        c.drop()
        m = watcher.expect_message(t)
        assert (m.payload, m.qos) == (b"q0", 0)
    finally:
        c.close()


def test_will_is_published_by_raw_mqtt5_client_closing_without_disconnect(srv, watcher):
    t = unique("will/")
    watcher.subscribe(t, 1)
    with raw(srv, MQTT5) as c:
        c.connect(unique("raw5will-"), will=(t, b"v5 will", 1, False))
        c.abort()
    assert watcher.expect_message(t).payload == b"v5 will"


def test_mqtt5_disconnect_with_will_message_reason_publishes_the_will(srv, watcher):
    """[MQTT-3.14.2] DISCONNECT reason 0x04 "Disconnect with Will Message" asks for the will."""
    t = unique("will/")
    watcher.subscribe(t, 1)
    with raw(srv, MQTT5) as c:
        c.connect(unique("dw-"), will=(t, b"asked for", 1, False))
        c.send(rawmqtt.disconnect(MQTT5, reason=0x04))
        c.collect_until_closed(3)
    assert watcher.expect_message(t).payload == b"asked for"


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_sub_killed_with_sigkill_publishes_its_will(srv, watcher, version):
    t = unique("will/")
    watcher.subscribe(t, 1)
    with MosquittoSub(srv, [unique("x/")], "--will-topic", t, "--will-payload", "mosquitto_sub died",
                      "--will-qos", "1", version=version) as s:
        s.wait_subscribed()
        s.kill()  # SIGKILL: no DISCONNECT
    assert watcher.expect_message(t).payload == b"mosquitto_sub died"


def test_will_is_published_at_once_when_a_client_closes_right_behind_its_last_packet(srv, watcher):
    """The end of the stream arrives with the last bytes, in one readiness event, and nothing is
    written back that could fail: the broker must still see the close at once (its keep-alive
    would notice only after 45 s)."""
    t = unique("will/")
    watcher.subscribe(t, 1)
    half_closed = []
    try:
        for i in range(10):
            c = raw(srv)
            half_closed.append(c)
            c.connect(unique("abrupt-"), keepalive=30, will=(t, f"gone {i}".encode(), 1, False))
            # A QoS 0 PUBLISH (no answer) and the FIN in one go: both are queued before the
            # server reads either. The socket stays open for reading, so no reset follows.
            c.sock.sendall(rawmqtt.publish(unique("abrupt/"), b"last words"))
            c.sock.shutdown(socket.SHUT_WR)
        got = sorted(watcher.expect_message(t, timeout=5).payload for _ in half_closed)
        assert got == sorted(f"gone {i}".encode() for i in range(len(half_closed)))
    finally:
        for c in half_closed:
            c.close()
