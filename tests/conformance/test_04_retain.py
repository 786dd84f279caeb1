"""04 retain: AWS delivers a retained message on SUBSCRIBE only to a filter equal to its topic."""

import pytest

import rawmqtt
from clients import MQTTV311, MQTTV5, MosquittoSub, PahoClient, mosquitto_pub, raw, unique


@pytest.fixture
def pub(srv):
    c = PahoClient(srv, unique("rpub-"))
    c.connect()
    try:
        yield c
    finally:
        c.close()


def _fresh(srv, version=MQTTV311):
    c = PahoClient(srv, unique("rsub-"), version)
    c.connect()
    return c


@pytest.mark.parametrize("version", [MQTTV311, MQTTV5], ids=["v311", "v5"])
def test_retained_message_is_delivered_on_subscribe_to_exact_filter_with_retain_1(srv, pub, version):
    t = unique("ret/") + "/state"
    pub.publish(t, b"on", qos=1, retain=True)
    with _fresh(srv, version) as c:
        c.subscribe(t, 1)
        m = c.expect_message(t)
        assert (m.payload, m.retain, m.qos) == (b"on", True, 1)


def test_retained_message_is_delivered_only_to_exact_filter(srv, pub):
    base = unique("ret")
    t = f"{base}/room/temp"
    pub.publish(t, b"21", qos=1, retain=True)
    with _fresh(srv) as c:
        assert c.subscribe([f"{base}/+/temp", f"{base}/#", f"{base}/room/+"], 1) == [1, 1, 1]
        c.barrier()
        assert c.messages_on(t) == [], "a wildcard filter must not receive the retained message on subscribe"
        c.subscribe(t, 1)
        m = c.expect_message(t)
        assert (m.payload, m.retain) == (b"21", True)


def test_wildcard_subscriber_receives_later_live_retained_publish_with_retain_0(srv, pub):
    base = unique("ret")
    with _fresh(srv) as c:
        c.subscribe(f"{base}/#", 1)
        pub.publish(f"{base}/live", b"fresh", qos=1, retain=True)
        m = c.expect_message(f"{base}/live")
        assert (m.payload, m.retain) == (b"fresh", False)


def test_live_retained_publish_to_existing_exact_subscriber_has_retain_0(srv, pub):
    t = unique("ret/")
    with _fresh(srv) as c:
        c.subscribe(t, 1)
        c.barrier()
        pub.publish(t, b"live", qos=1, retain=True)
        m = c.expect_message(t)
        assert (m.payload, m.retain) == (b"live", False)


def test_new_retained_message_replaces_previous(srv, pub):
    t = unique("ret/")
    pub.publish(t, b"old", qos=1, retain=True)
    pub.publish(t, b"new", qos=1, retain=True)
    with _fresh(srv) as c:
        c.subscribe(t, 1)
        assert c.expect_message(t).payload == b"new"
        c.barrier()
        assert [m.payload for m in c.messages_on(t)] == [b"new"]


def test_empty_retained_payload_deletes_retained_message(srv, pub):
    t = unique("ret/")
    pub.publish(t, b"doomed", qos=1, retain=True)
    pub.publish(t, b"", qos=1, retain=True)
    with _fresh(srv) as c:
        c.subscribe(t, 1)
        c.barrier()
        assert c.messages_on(t) == []


def test_empty_retained_publish_is_still_delivered_to_current_subscribers(srv, pub):
    t = unique("ret/")
    with _fresh(srv) as c:
        c.subscribe(t, 1)
        pub.publish(t, b"", qos=1, retain=True)
        m = c.expect_message(t)
        assert m.payload == b""


def test_non_retained_publish_leaves_stored_retained_message_unchanged(srv, pub):
    t = unique("ret/")
    pub.publish(t, b"kept", qos=1, retain=True)
    pub.publish(t, b"transient", qos=1, retain=False)
    with _fresh(srv) as c:
        c.subscribe(t, 1)
        assert c.expect_message(t).payload == b"kept"


def test_retained_message_is_delivered_again_on_each_new_subscribe(srv, pub):
    t = unique("ret/")
    pub.publish(t, b"again", qos=1, retain=True)
    with _fresh(srv) as a:
        a.subscribe(t, 1)
        assert a.expect_message(t).retain
    with _fresh(srv) as b:
        b.subscribe(t, 1)
        assert b.expect_message(t).retain


def test_retained_qos1_message_is_delivered_at_subscription_qos_0(srv, pub):
    t = unique("ret/")
    pub.publish(t, b"q", qos=1, retain=True)
    with _fresh(srv) as c:
        c.subscribe(t, 0)
        m = c.expect_message(t)
        assert (m.qos, m.retain) == (0, True)


def test_retained_qos0_message_is_stored_and_delivered(srv, pub):
    t = unique("ret/")
    pub.publish(t, b"zero", qos=0, retain=True)
    pub.barrier()  # the QoS 0 publish has been processed once the broker routed a later one
    with _fresh(srv) as c:
        c.subscribe(t, 1)
        m = c.expect_message(t)
        assert (m.payload, m.qos, m.retain) == (b"zero", 0, True)


def test_raw_subscriber_gets_retained_publish_with_retain_flag_after_suback(srv, pub):
    t = unique("ret/")
    pub.publish(t, b"raw", qos=1, retain=True)
    with raw(srv) as c:
        c.connect(unique("rawret-"))
        assert c.subscribe([(t, 1)]) == [1]
        p = c.pending[0] if c.pending else c.expect_publish()
        assert (p.topic, p.payload, p.retain, p.qos) == (t.encode(), b"raw", True, 1)
        c.send(rawmqtt.puback(p.packet_id))


def test_retained_messages_survive_a_graceful_restart(server):
    t = unique("persist/")
    with PahoClient(server) as c:
        c.connect()
        c.publish(t, b"durable", qos=1, retain=True)
        c.disconnect()
    assert server.stop() == 0
    server.start()
    with PahoClient(server) as c:
        c.connect()
        c.subscribe(t, 1)
        m = c.expect_message(t)
        assert (m.payload, m.retain) == (b"durable", True)


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_sub_sees_retain_flag_only_for_the_stored_message(srv, version):
    t = unique("mret/")
    r = mosquitto_pub(srv, t, "stored", "-r", version=version)
    assert r.returncode == 0, r.stderr
    with MosquittoSub(srv, [t], version=version) as s:
        s.wait_subscribed()
        s.wait_messages(1)
        r = mosquitto_pub(srv, t, "live", "-r", version=version)
        assert r.returncode == 0, r.stderr
        msgs = s.wait_messages(2)
    assert msgs[:2] == [(t, True, 1, "stored"), (t, False, 1, "live")]


def test_mosquitto_pub_null_retained_message_clears_it(srv):
    t = unique("mret/")
    assert mosquitto_pub(srv, t, "x", "-r").returncode == 0
    r = mosquitto_pub(srv, t, None, "-r")
    assert r.returncode == 0, r.stderr
    with _fresh(srv) as c:
        c.subscribe(t, 1)
        c.barrier()
        assert c.messages_on(t) == []
