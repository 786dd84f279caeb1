"""05 session: persistent sessions keep subscriptions and queue QoS 1 (published at QoS 1) while offline."""

import pytest

import rawmqtt
from clients import MQTTV311, MQTTV5, MosquittoSub, PahoClient, mosquitto_pub, raw, unique


@pytest.fixture
def pub(srv):
    c = PahoClient(srv, unique("spub-"))
    c.connect()
    try:
        yield c
    finally:
        c.close()


def persistent(srv, cid, version=MQTTV311, **kw):
    return PahoClient(srv, cid, version, clean=False, **kw)


@pytest.mark.parametrize("version", [MQTTV311, MQTTV5], ids=["v311", "v5"])
def test_persistent_session_keeps_subscriptions_and_delivers_offline_qos1_messages(srv, pub, version):
    cid, t = unique("persist-"), unique("sess/")
    with persistent(srv, cid, version) as c:
        assert c.connect()["session_present"] is False
        c.subscribe(t, 1)
        c.disconnect()
    for i in range(3):
        pub.publish(t, f"offline {i}".encode(), qos=1)
    with persistent(srv, cid, version) as c:
        assert c.connect()["session_present"] is True
        got = sorted(c.expect_message(t).payload for _ in range(3))
        assert got == [b"offline 0", b"offline 1", b"offline 2"]
        assert all(m.qos == 1 for m in c.messages_on(t))
        pub.publish(t, b"live", qos=1)  # the subscription itself survived: no SUBSCRIBE was sent
        assert c.expect_message(t).payload == b"live"


def test_session_present_is_0_for_a_new_persistent_session(srv):
    with persistent(srv, unique("new-")) as c:
        assert c.connect()["session_present"] is False


def test_persistent_session_survives_a_dropped_connection(srv, pub):
    cid, t = unique("dropped-"), unique("sess/")
    with persistent(srv, cid) as c:
        c.connect()
        c.subscribe(t, 1)
        c.drop()
    pub.publish(t, b"while gone", qos=1)
    with persistent(srv, cid) as c:
        assert c.connect()["session_present"] is True
        assert c.expect_message(t).payload == b"while gone"


def test_offline_qos0_publish_is_not_queued(srv, pub):
    cid, t = unique("q0-"), unique("sess/")
    with persistent(srv, cid) as c:
        c.connect()
        c.subscribe(t, 1)
        c.disconnect()
    pub.publish(t, b"qos0 lost", qos=0)
    pub.publish(t, b"qos1 kept", qos=1)
    with persistent(srv, cid) as c:
        assert c.connect()["session_present"] is True
        assert c.expect_message(t).payload == b"qos1 kept"
        c.barrier()
        assert [m.payload for m in c.messages_on(t)] == [b"qos1 kept"]


def test_qos1_publish_to_qos0_subscription_is_not_queued(srv, pub):
    cid, t0, t1 = unique("s0-"), unique("sess/"), unique("sess/")
    with persistent(srv, cid) as c:
        c.connect()
        c.subscribe(t0, 0)
        c.subscribe(t1, 1)
        c.disconnect()
    pub.publish(t0, b"to qos0 subscription", qos=1)
    pub.publish(t1, b"to qos1 subscription", qos=1)
    with persistent(srv, cid) as c:
        c.connect()
        assert c.expect_message(t1).payload == b"to qos1 subscription"
        c.barrier()
        assert c.messages_on(t0) == []


def test_clean_session_connect_discards_the_persistent_session(srv, pub):
    cid, t = unique("wipe-"), unique("sess/")
    with persistent(srv, cid) as c:
        c.connect()
        c.subscribe(t, 1)
        c.disconnect()
    with PahoClient(srv, cid, clean=True) as c:
        assert c.connect()["session_present"] is False
        c.disconnect()
    pub.publish(t, b"nobody wants this", qos=1)
    with persistent(srv, cid) as c:
        assert c.connect()["session_present"] is False
        c.barrier()
        assert c.messages_on(t) == []


def test_mqtt5_session_expiry_0_ends_the_session_at_disconnect(srv, pub):
    cid, t = unique("sei0-"), unique("sess/")
    with PahoClient(srv, cid, MQTTV5, clean=False, session_expiry=0) as c:
        c.connect()
        c.subscribe(t, 1)
        c.disconnect()
    pub.publish(t, b"x", qos=1)
    with PahoClient(srv, cid, MQTTV5, clean=False, session_expiry=3600) as c:
        assert c.connect()["session_present"] is False
        c.barrier()
        assert c.messages_on(t) == []


def test_mqtt5_clean_start_1_discards_the_existing_session(srv, pub):
    cid, t = unique("cs1-"), unique("sess/")
    with PahoClient(srv, cid, MQTTV5, clean=False, session_expiry=3600) as c:
        c.connect()
        c.subscribe(t, 1)
        c.disconnect()
    with PahoClient(srv, cid, MQTTV5, clean=True, session_expiry=3600) as c:
        assert c.connect()["session_present"] is False
        pub.publish(t, b"x", qos=1)
        c.barrier()
        assert c.messages_on(t) == []


def test_unacknowledged_qos1_delivery_is_redelivered_after_reconnect(srv, pub):
    cid, t = unique("unacked-"), unique("sess/")
    with raw(srv) as c:
        c.connect(cid, clean=False)
        assert c.subscribe([(t, 1)]) == [1]
        pub.publish(t, b"ack me", qos=1)
        first = c.expect_publish()
        assert first.payload == b"ack me"
        c.abort()  # no PUBACK, no DISCONNECT
    with raw(srv) as c:
        ack = c.connect(cid, clean=False)
        assert ack.session_present
        again = c.expect_publish()
        assert (again.topic, again.payload, again.qos) == (t.encode(), b"ack me", 1)
        c.send(rawmqtt.puback(again.packet_id))
        c.send(rawmqtt.disconnect())
    with raw(srv) as c:
        c.connect(cid, clean=False)
        with pytest.raises(AssertionError, match="no packet"):
            c.expect_any(0.5)  # acknowledged: not delivered a third time


def test_persistent_session_and_its_queue_survive_a_graceful_restart(server):
    cid, t = unique("restart-"), unique("sess/")
    with persistent(server, cid) as c:
        c.connect()
        c.subscribe(t, 1)
        c.disconnect()
    with PahoClient(server) as p:
        p.connect()
        p.publish(t, b"queued before restart", qos=1)
        p.disconnect()
    assert server.stop() == 0
    server.start()
    with persistent(server, cid) as c:
        assert c.connect()["session_present"] is True
        assert c.expect_message(t).payload == b"queued before restart"
        with PahoClient(server) as p:
            p.connect()
            p.publish(t, b"after restart", qos=1)
        assert c.expect_message(t).payload == b"after restart"


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_sub_with_persistent_session_gets_messages_published_while_it_was_away(srv, version):
    cid, t = unique("msess-"), unique("sess/")
    extra = ["-c", "-x", "3600"] if version == "mqttv5" else ["-c"]
    with MosquittoSub(srv, [t], *extra, "-E", version=version, client_id=cid) as s:
        s.wait_subscribed()
        assert s.proc.wait(5) == 0  # -E: disconnect cleanly once subscribed
    for i in range(2):
        r = mosquitto_pub(srv, t, f"away {i}", version=version, qos=1)
        assert r.returncode == 0, r.stderr
    with MosquittoSub(srv, [t], *extra, "-C", "2", version=version, client_id=cid) as s:
        msgs = s.wait_messages(2)
    assert sorted(p for _, _, _, p in msgs) == ["away 0", "away 1"]
