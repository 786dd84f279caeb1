"""02 subscribe: SUBACK codes, QoS 2 downgrade, AWS wildcard rules, limits, subscription lifecycle events."""

import pytest

import rawmqtt
from clients import MosquittoSub, PahoClient, mosquitto_pub, raw, unique
from rawmqtt import MQTT5, MQTT311


@pytest.fixture
def client(srv):
    c = PahoClient(srv)
    c.connect()
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def publisher(srv):
    c = PahoClient(srv, unique("pub-"))
    c.connect()
    try:
        yield c
    finally:
        c.close()


# ---------------------------------------------------------------- SUBACK

@pytest.mark.parametrize("version", [MQTT311, MQTT5], ids=["v311", "v5"])
def test_suback_grants_requested_qos_0_and_1(srv, version):
    with raw(srv, version) as c:
        c.connect(unique("sub-"))
        base = unique("s/")
        assert c.subscribe([(f"{base}/zero", 0), (f"{base}/one", 1)]) == [0, 1]


def test_mqtt311_subscribe_with_qos_2_is_granted_qos_1(srv):
    with raw(srv, MQTT311) as c:
        c.connect(unique("q2-"))
        assert c.subscribe([(f"q2/{unique()}", 2)]) == [0x01]
        assert c.is_open()


def test_mqtt5_subscribe_with_qos_2_is_granted_qos_1(srv):
    with raw(srv, MQTT5) as c:
        c.connect(unique("q2v5-"))
        assert c.subscribe([(f"q2/{unique()}", 2)]) == [0x01]
        assert c.is_open()


def test_qos_2_subscription_delivers_qos_1_publishes_at_qos_1(srv, publisher):
    t = f"q2/{unique()}"
    with PahoClient(srv) as sub:
        sub.connect()
        assert sub.subscribe(t, 2) == [1]
        publisher.publish(t, b"x", qos=1)
        assert sub.expect_message(t).qos == 1


def test_subscribe_with_eight_filters_is_granted_for_each(srv):
    with raw(srv) as c:
        c.connect(unique("eight-"))
        base = unique("eight/")
        assert c.subscribe([(f"{base}/{i}", 1) for i in range(8)]) == [1] * 8


def test_filter_with_seven_slashes_is_granted_and_eight_slashes_is_refused_with_0x80(srv):
    with raw(srv) as c:
        c.connect(unique("slash-"))
        ok = unique("s") + "/a/b/c/d/e/f/g"          # 7 slashes, 8 levels
        too_deep = unique("s") + "/a/b/c/d/e/f/g/h"  # 8 slashes
        assert ok.count("/") == 7 and too_deep.count("/") == 8
        assert c.subscribe([(ok, 1)], packet_id=1) == [1]
        assert c.subscribe([(too_deep, 1)], packet_id=2) == [0x80]
        assert c.is_open()


def test_mqtt5_filter_with_eight_slashes_is_refused_with_topic_filter_invalid(srv):
    with raw(srv, MQTT5) as c:
        c.connect(unique("slash5-"))
        assert c.subscribe([(unique("s") + "/a/b/c/d/e/f/g/h", 1)]) == [0x8F]


@pytest.mark.parametrize("bad", ["a/#/b", "a/b#", "a+/b"])
def test_malformed_wildcard_filter_is_not_granted(srv, bad):
    """[MQTT-4.7.1-2/3] A malformed filter is never granted: SUBACK 0x80 (AWS) or, per spec, a close."""
    with raw(srv) as c:
        c.connect(unique("badf-"))
        c.send(rawmqtt.subscribe(1, [(f"{unique()}/{bad}", 1)]))
        try:
            pkt = c.read_packet(3)
        except rawmqtt.Closed:
            return
        assert pkt.type == rawmqtt.SUBACK and pkt.reason_codes == [0x80], pkt


# ---------------------------------------------------------------- matching (AWS rules)

def test_multi_level_wildcard_does_not_match_the_parent_topic(srv, client, publisher):
    base = unique("parent")
    assert client.subscribe(f"{base}/#", 1) == [1]
    publisher.publish(base, b"parent", qos=1)
    publisher.publish(f"{base}/child", b"child", qos=1)
    assert client.expect_message(f"{base}/child").payload == b"child"
    client.barrier()
    assert client.messages_on(base) == [], "AWS: a/# must not match a"


def test_multi_level_wildcard_matches_empty_level_child_and_grandchild(srv, client, publisher):
    base = unique("hash")
    client.subscribe(f"{base}/#", 1)
    for t in (f"{base}/", f"{base}/b", f"{base}/b/c"):
        publisher.publish(t, t.encode(), qos=1)
        assert client.expect_message(t).payload == t.encode()


def test_single_level_wildcard_matches_exactly_one_level(srv, client, publisher):
    base = unique("plus")
    client.subscribe(f"{base}/+/x", 1)
    publisher.publish(f"{base}/a/x", b"one", qos=1)
    publisher.publish(f"{base}/a/b/x", b"two levels", qos=1)
    publisher.publish(f"{base}/x", b"zero levels", qos=1)
    assert client.expect_message(f"{base}/a/x").payload == b"one"
    client.barrier()
    assert [m.topic for m in client.received if m.topic.startswith(base)] == [f"{base}/a/x"]


def test_single_level_wildcard_matches_an_empty_level(srv, client, publisher):
    base = unique("plusempty")
    client.subscribe(f"{base}/+/x", 1)
    publisher.publish(f"{base}//x", b"empty", qos=1)
    assert client.expect_message(f"{base}//x").payload == b"empty"


def test_overlapping_subscriptions_deliver_a_message_at_least_once(srv, client, publisher):
    base = unique("overlap")
    client.subscribe([f"{base}/#", f"{base}/+", f"{base}/a"], 1)
    publisher.publish(f"{base}/a", b"x", qos=1)
    assert client.expect_message(f"{base}/a").payload == b"x"


def test_topics_are_case_sensitive(srv, client, publisher):
    base = unique("case")
    client.subscribe(f"{base}/Room", 1)
    publisher.publish(f"{base}/room", b"lower", qos=1)
    publisher.publish(f"{base}/Room", b"upper", qos=1)
    assert client.expect_message().payload == b"upper"


def test_hash_subscriber_does_not_receive_dollar_aws_topics(srv, client):
    assert client.subscribe("#", 0) == [0]
    watched = unique("lifecycle-")
    c = PahoClient(srv, watched)
    c.connect()
    c.subscribe(f"dollar/{unique()}", 1)
    c.disconnect()
    client.barrier()
    leaked = [m.topic for m in client.received if m.topic.startswith("$")]
    assert leaked == [], f"'#' matched $-topics: {leaked}"


def test_plus_first_level_subscriber_does_not_receive_dollar_aws_topics(srv, client):
    client.subscribe("+/events/presence/connected/+", 0)
    c = PahoClient(srv, unique("lifecycle-"))
    c.connect()
    c.disconnect()
    client.barrier()
    assert [m.topic for m in client.received if m.topic.startswith("$")] == []


# ---------------------------------------------------------------- unsubscribe

def test_unsubscribe_stops_delivery(srv, client, publisher):
    t = unique("unsub/")
    client.subscribe(t, 1)
    publisher.publish(t, b"before", qos=1)
    assert client.expect_message(t).payload == b"before"
    client.unsubscribe(t)
    publisher.publish(t, b"after", qos=1)
    client.barrier()
    assert [m.payload for m in client.messages_on(t)] == [b"before"]


def test_resubscribe_replaces_qos_of_existing_subscription(srv, client, publisher):
    t = unique("resub/")
    client.subscribe(t, 1)
    client.subscribe(t, 0)
    publisher.publish(t, b"x", qos=1)
    assert client.expect_message(t).qos == 0
    client.barrier()
    assert len(client.messages_on(t)) == 1, "one subscription per filter, not two"


# ---------------------------------------------------------------- real clients

@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_sub_receives_wildcard_and_exact_publishes(srv, version):
    base = unique("msub")
    with MosquittoSub(srv, [f"{base}/+", f"{base}/x/exact"], version=version) as sub:
        sub.wait_subscribed()
        for t, m in ((f"{base}/one", "1"), (f"{base}/x/exact", "2")):
            r = mosquitto_pub(srv, t, m, version=version)
            assert r.returncode == 0, r.stderr
        msgs = sub.wait_messages(2)
    assert sorted((t, p) for t, _, _, p in msgs) == [(f"{base}/one", "1"), (f"{base}/x/exact", "2")]


# ---------------------------------------------------------------- lifecycle: subscribed event

def test_subscribed_event_lists_the_filters_of_the_subscribe(srv, client):
    cid = unique("subev-")
    assert client.subscribe(f"$aws/events/subscriptions/subscribed/{cid}", 1) == [1]
    filters = [f"{cid}/a", f"{cid}/+/b", f"{cid}/#"]
    with PahoClient(srv, cid) as c:
        c.connect()
        c.subscribe(filters, 1)
        doc = client.expect_message(f"$aws/events/subscriptions/subscribed/{cid}").json()
        c.disconnect()
    assert doc["clientId"] == cid
    assert doc["eventType"] == "subscribed"
    assert sorted(doc["topics"]) == sorted(filters)
    assert isinstance(doc["timestamp"], int)
    assert "sessionIdentifier" in doc and "principalIdentifier" in doc


def test_unsubscribed_event_lists_the_filters_of_the_unsubscribe(srv, client):
    cid = unique("unsubev-")
    client.subscribe(f"$aws/events/subscriptions/unsubscribed/{cid}", 1)
    with PahoClient(srv, cid) as c:
        c.connect()
        c.subscribe(f"{cid}/a", 1)
        c.unsubscribe(f"{cid}/a")
        doc = client.expect_message(f"$aws/events/subscriptions/unsubscribed/{cid}").json()
        c.disconnect()
    assert doc["eventType"] == "unsubscribed"
    assert doc["topics"] == [f"{cid}/a"]
