// PUBLISH/SUBSCRIBE with AWS IoT Core's rules (../shared/reference/aws-iot-core.md §1.4, §1.7-§1.10).
#include "harness.hpp"

using namespace iotsim;
using namespace iotsim::test;

BOOST_AUTO_TEST_SUITE(broker_publish_subscribe)

BOOST_AUTO_TEST_CASE(qos0_publish_reaches_a_subscriber) {
    Harness h;
    const auto sub = h.connect("sub");
    h.subscribe(sub, "sdk/test/python", QoS::at_most_once);
    const auto pub = h.connect("pub");
    h.publish(pub, "sdk/test/python", "\"Hello World! [1]\"");
    auto got = h.received(sub);
    BOOST_REQUIRE_EQUAL(got.size(), 1U);
    BOOST_TEST(got[0].topic == "sdk/test/python");
    BOOST_TEST(got[0].payload == "\"Hello World! [1]\"");
    BOOST_TEST(!got[0].retain);
}

BOOST_AUTO_TEST_CASE(connections_numbered_anyhow_are_found_on_both_sides_of_the_dense_ids) {
    // Hosts number connections 1, 2, 3...; the broker indexes ids below 2^20 directly and hashes
    // the rest. Connections on both sides, and one far above, exchange messages; a closed one is
    // gone from both.
    Harness h;
    h.next_connection = (std::uint64_t{1} << 20) - 1;
    const auto below = h.connect("below");
    const auto above = h.connect("above");
    h.next_connection = std::uint64_t{1} << 40;
    const auto far = h.connect("far");
    BOOST_TEST(below.value == (std::uint64_t{1} << 20) - 1);
    BOOST_TEST(above.value == std::uint64_t{1} << 20);
    for (const auto id : {below, above, far}) {
        h.subscribe(id, "t", QoS::at_most_once);
    }
    h.publish(far, "t", "1");
    h.publish(below, "t", "2");
    for (const auto id : {below, above, far}) {
        const auto got = h.received(id);
        BOOST_REQUIRE_EQUAL(got.size(), 2U);
        BOOST_TEST(got[0].payload == "1");
        BOOST_TEST(got[1].payload == "2");
    }
    h.disconnect(below);
    h.disconnect(above);
    BOOST_TEST(h.broker->connection_count() == 1U);
    h.publish(far, "t", "3");
    BOOST_TEST(h.received(far).size() == 1U);
    h.send_raw(below, "\x30\x05\x00\x01t" "4");  // bytes for a closed connection: ignored
    BOOST_TEST(h.broker->connection_count() == 1U);
}

BOOST_AUTO_TEST_CASE(delivery_qos_is_the_minimum_of_publish_and_subscription) {
    Harness h;
    const auto s0 = h.connect("s0");
    h.subscribe(s0, "t", QoS::at_most_once);
    const auto s1 = h.connect("s1");
    h.subscribe(s1, "t", QoS::at_least_once);
    const auto pub = h.connect("pub");
    h.publish(pub, "t", "a", QoS::at_least_once);
    h.publish(pub, "t", "b", QoS::at_most_once);
    auto r0 = h.received(s0);
    auto r1 = h.received(s1);
    BOOST_REQUIRE_EQUAL(r0.size(), 2U);
    BOOST_REQUIRE_EQUAL(r1.size(), 2U);
    BOOST_TEST(static_cast<int>(r0[0].qos) == 0);
    BOOST_TEST(static_cast<int>(r1[0].qos) == 1);
    BOOST_TEST(static_cast<int>(r1[1].qos) == 0);
    auto acks = h.take_all<Ack>(pub);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);  // PUBACK for the QoS 1 publish only
}

BOOST_AUTO_TEST_CASE(hash_wildcard_does_not_match_the_parent_level) {
    Harness h;
    const auto sub = h.connect("sub");
    h.subscribe(sub, "sensor/#");
    const auto pub = h.connect("pub");
    h.publish(pub, "sensor", "parent");
    h.publish(pub, "sensor/", "empty-level");
    h.publish(pub, "sensor/temperature/room1", "deep");
    auto got = h.received(sub);
    BOOST_REQUIRE_EQUAL(got.size(), 2U);
    BOOST_TEST(got[0].payload == "empty-level");
    BOOST_TEST(got[1].payload == "deep");
}

BOOST_AUTO_TEST_CASE(plus_matches_exactly_one_level) {
    Harness h;
    const auto sub = h.connect("sub");
    h.subscribe(sub, "a/+/c");
    const auto pub = h.connect("pub");
    h.publish(pub, "a/b/c", "1");
    h.publish(pub, "a/b/x/c", "2");
    h.publish(pub, "a/c", "3");
    auto got = h.received(sub);
    BOOST_REQUIRE_EQUAL(got.size(), 1U);
    BOOST_TEST(got[0].payload == "1");
}

BOOST_AUTO_TEST_CASE(dollar_topics_are_not_matched_by_a_leading_wildcard) {
    Harness h;
    const auto all = h.connect("all");
    h.subscribe(all, "#");
    const auto events = h.connect("events");
    h.subscribe(events, "$aws/events/presence/connected/+");
    h.connect("someone");
    BOOST_TEST(h.received(all).empty());  // [MQTT-4.7.2-1]
    BOOST_TEST(h.received(events).size() == 1U);
}

BOOST_AUTO_TEST_CASE(overlapping_subscriptions_deliver_one_copy_at_the_highest_qos) {
    Harness h;
    const auto sub = h.connect("sub");
    h.subscribe(sub, "a/#", QoS::at_most_once, 1);
    h.subscribe(sub, "a/+", QoS::at_least_once, 2);
    const auto pub = h.connect("pub");
    h.publish(pub, "a/b", "x", QoS::at_least_once);
    auto got = h.received(sub);
    BOOST_REQUIRE_EQUAL(got.size(), 1U);
    BOOST_TEST(static_cast<int>(got[0].qos) == 1);
}

BOOST_AUTO_TEST_CASE(qos2_publish_in_mqtt311_closes_the_connection) {
    Harness h;
    const auto c = h.connect("q2");
    h.publish(c, "t", "x", QoS::exactly_once);
    BOOST_TEST(h.take(c).empty());  // no PUBACK, no PUBREC
    BOOST_TEST(h.closed(c));
}

BOOST_AUTO_TEST_CASE(qos2_publish_in_mqtt5_gets_disconnect_0x9b) {
    Harness h;
    const auto c = h.connect("q2", Version::v5);
    h.publish(c, "t", "x", QoS::exactly_once);
    auto d = h.take_all<Disconnect>(c);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(static_cast<int>(d[0].reason) == 0x9B);
    BOOST_TEST(h.closed(c));
}

BOOST_AUTO_TEST_CASE(qos2_subscription_is_granted_qos1) {
    Harness h;
    for (Version v : {Version::v311, Version::v5}) {
        const auto c = h.connect(v == Version::v5 ? "five" : "three", v);
        Subscribe s{1, {{"t", SubscribeOptions{QoS::exactly_once, false, false, 0}}}, {}};
        h.send(c, s);
        auto acks = h.take_all<Suback>(c);
        BOOST_REQUIRE_EQUAL(acks.size(), 1U);
        BOOST_TEST(acks[0].reasons == std::vector<std::uint8_t>{1});
    }
}

BOOST_AUTO_TEST_CASE(wildcard_in_a_publish_topic_closes_mqtt311_and_disconnects_mqtt5_with_0x90) {
    Harness h;
    const auto three = h.connect("three");
    h.send_raw(three, std::string("\x30\x05\x00\x03" "a/+", 7));
    BOOST_TEST(h.closed(three));
    const auto five = h.connect("five", Version::v5);
    h.send_raw(five, std::string("\x30\x06\x00\x03" "a/+" "\x00", 8));
    auto d = h.take_all<Disconnect>(five);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(static_cast<int>(d[0].reason) == 0x90);
}

BOOST_AUTO_TEST_CASE(topic_longer_than_256_bytes_is_refused) {
    Harness h;
    const auto sub = h.connect("sub");
    h.subscribe(sub, "#");
    const auto five = h.connect("five", Version::v5);
    h.publish(five, std::string(257, 't'), "x", QoS::at_least_once, false, 7);
    auto acks = h.take_all<Ack>(five);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(static_cast<int>(acks[0].reason) == 0x90);
    BOOST_TEST(h.received(sub).empty());
    const auto three = h.connect("three");
    h.publish(three, std::string(257, 't'), "x");
    BOOST_TEST(h.closed(three));
    const auto ok = h.connect("ok");
    h.publish(ok, std::string(256, 't'), "x");
    BOOST_TEST(h.received(sub).size() == 1U);
}

BOOST_AUTO_TEST_CASE(topic_with_more_than_seven_slashes_is_refused_but_basic_ingest_prefix_is_not_counted) {
    Harness h;
    const auto five = h.connect("five", Version::v5);
    h.publish(five, "1/2/3/4/5/6/7/8/9", "x", QoS::at_least_once, false, 1);
    h.publish(five, "1/2/3/4/5/6/7/8", "x", QoS::at_least_once, false, 2);
    h.publish(five, "$aws/rules/myRule/1/2/3/4/5/6/7/8", "x", QoS::at_least_once, false, 3);
    auto acks = h.take_all<Ack>(five);
    BOOST_REQUIRE_EQUAL(acks.size(), 3U);
    BOOST_TEST(static_cast<int>(acks[0].reason) == 0x90);
    BOOST_TEST(static_cast<int>(acks[1].reason) == 0x00);
    BOOST_TEST(static_cast<int>(acks[2].reason) == 0x00);
}

BOOST_AUTO_TEST_CASE(payload_over_128_kilobytes_disconnects) {
    Harness h;
    const auto five = h.connect("five", Version::v5);
    h.publish(five, "t", std::string(131'073, 'x'));
    auto d = h.take_all<Disconnect>(five);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(static_cast<int>(d[0].reason) == 0x97);
    const auto three = h.connect("three");
    h.publish(three, "t", std::string(131'073, 'x'));
    BOOST_TEST(h.closed(three));
    const auto ok = h.connect("ok");
    h.publish(ok, "t", std::string(131'072, 'x'), QoS::at_least_once);
    BOOST_TEST(h.take_all<Ack>(ok).size() == 1U);
}

BOOST_AUTO_TEST_CASE(more_than_eight_filters_in_one_subscribe_fail_every_filter) {
    Harness h;
    for (Version v : {Version::v311, Version::v5}) {
        const auto c = h.connect(v == Version::v5 ? "five" : "three", v);
        Subscribe s;
        s.packet_id = 3;
        for (int i = 0; i < 9; ++i) {
            s.entries.push_back({"f/" + std::to_string(i), {}});
        }
        h.send(c, s);
        auto acks = h.take_all<Suback>(c);
        BOOST_REQUIRE_EQUAL(acks.size(), 1U);
        BOOST_TEST(acks[0].reasons == std::vector<std::uint8_t>(9, v == Version::v5 ? 0x97 : 0x80));
        BOOST_TEST(!h.closed(c));
        BOOST_TEST(h.broker->session(v == Version::v5 ? "five" : "three")->subscriptions.empty());
    }
}

BOOST_AUTO_TEST_CASE(the_fifty_first_subscription_exceeds_the_quota) {
    Harness h;
    const auto c = h.connect("many", Version::v5);
    for (int i = 0; i < 50; ++i) {
        h.subscribe(c, "t/" + std::to_string(i), QoS::at_most_once, static_cast<std::uint16_t>(i + 1));
    }
    Subscribe s{99, {{"t/50", {}}, {"t/0", {}}}, {}};
    h.send(c, s);
    auto acks = h.take_all<Suback>(c);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(acks[0].reasons == (std::vector<std::uint8_t>{0x97, 0x00}));  // re-subscribing t/0 is no new one
}

BOOST_AUTO_TEST_CASE(invalid_filters_fail_only_their_own_suback_entry) {
    Harness h;
    const auto c = h.connect("f", Version::v5);
    Subscribe s{1, {{"a/#/b", {}}, {"ok/+", {}}, {"x+/y", {}}, {"$aws/rules/r", {}}, {"$share/g/t", {}}}, {}};
    h.send(c, s);
    auto acks = h.take_all<Suback>(c);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(acks[0].reasons == (std::vector<std::uint8_t>{0x8F, 0x00, 0x8F, 0x8F, 0x00}));
}

BOOST_AUTO_TEST_CASE(denied_subscribe_gets_0x80_in_mqtt311_and_0x87_in_mqtt5) {
    Harness h;
    h.auth.deny_subscribe_filters.push_back("secret/#");
    for (Version v : {Version::v311, Version::v5}) {
        const auto c = h.connect(v == Version::v5 ? "five" : "three", v);
        Subscribe s{1, {{"secret/#", {}}, {"open", {}}}, {}};
        h.send(c, s);
        auto acks = h.take_all<Suback>(c);
        BOOST_REQUIRE_EQUAL(acks.size(), 1U);
        BOOST_TEST(acks[0].reasons == (std::vector<std::uint8_t>{static_cast<std::uint8_t>(v == Version::v5 ? 0x87 : 0x80), 0}));
    }
}

BOOST_AUTO_TEST_CASE(denied_publish_closes_mqtt311_and_gets_puback_0x87_in_mqtt5) {
    Harness h;
    h.auth.deny_publish_topics.push_back("forbidden");
    const auto sub = h.connect("sub");
    h.subscribe(sub, "forbidden");
    const auto three = h.connect("three");
    h.publish(three, "forbidden", "x", QoS::at_least_once);
    BOOST_TEST(h.take_all<Ack>(three).empty());
    BOOST_TEST(h.closed(three));
    const auto five = h.connect("five", Version::v5);
    h.publish(five, "forbidden", "x", QoS::at_least_once, false, 9);
    auto acks = h.take_all<Ack>(five);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(static_cast<int>(acks[0].reason) == 0x87);
    BOOST_TEST(!h.closed(five));
    BOOST_TEST(h.received(sub).empty());
}

BOOST_AUTO_TEST_CASE(a_message_the_receiver_may_not_receive_is_silently_not_delivered) {
    Harness h;
    h.auth.deny_receive_topics.push_back("private");
    const auto sub = h.connect("sub");
    h.subscribe(sub, "#");
    const auto pub = h.connect("pub");
    h.publish(pub, "private", "x");
    h.publish(pub, "public", "y");
    auto got = h.received(sub);
    BOOST_REQUIRE_EQUAL(got.size(), 1U);
    BOOST_TEST(got[0].topic == "public");
    BOOST_TEST(!h.closed(sub));
}

BOOST_AUTO_TEST_CASE(no_delivery_after_unsubscribe) {
    Harness h;
    const auto sub = h.connect("sub");
    h.subscribe(sub, "t");
    const auto pub = h.connect("pub");
    h.publish(pub, "t", "1");
    BOOST_TEST(h.received(sub).size() == 1U);
    h.send(sub, Unsubscribe{5, {"t"}, {}});
    auto unsubacks = h.take_all<Unsuback>(sub);
    BOOST_REQUIRE_EQUAL(unsubacks.size(), 1U);
    BOOST_TEST(unsubacks[0].packet_id == 5);
    h.publish(pub, "t", "2");
    BOOST_TEST(h.received(sub).empty());
}

BOOST_AUTO_TEST_CASE(publish_to_an_unknown_reserved_topic_is_refused) {
    Harness h;
    const auto five = h.connect("five", Version::v5);
    h.publish(five, "$SYS/x", "x", QoS::at_least_once, false, 4);
    auto acks = h.take_all<Ack>(five);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(static_cast<int>(acks[0].reason) >= 0x80);
}

BOOST_AUTO_TEST_CASE(coalesced_packets_in_one_read_are_all_handled) {
    Harness h;
    const auto sub = h.connect("sub");
    h.subscribe(sub, "t");
    const auto pub = h.connect("pub");
    std::string bytes;
    for (int i = 0; i < 50; ++i) {
        encode(Publish{false, QoS::at_least_once, false, "t", static_cast<std::uint16_t>(i + 1), std::to_string(i), {}},
               Version::v311, bytes);
    }
    h.send_raw(pub, bytes);
    BOOST_TEST(h.take_all<Ack>(pub).size() == 50U);
    auto got = h.received(sub);
    BOOST_REQUIRE_EQUAL(got.size(), 50U);
    for (int i = 0; i < 50; ++i) {
        BOOST_TEST(got[static_cast<std::size_t>(i)].payload == std::to_string(i));  // per-publisher order
    }
}

BOOST_AUTO_TEST_CASE(outbound_qos1_is_limited_to_an_inflight_window_of_100) {
    Harness h;
    const auto sub = h.connect("sub");
    h.subscribe(sub, "t");
    const auto pub = h.connect("pub");
    for (int i = 0; i < 150; ++i) {
        h.publish(pub, "t", std::to_string(i), QoS::at_least_once);
    }
    auto first = h.received(sub, false);
    BOOST_REQUIRE_EQUAL(first.size(), 100U);
    BOOST_TEST(h.broker->session("sub")->queued == 50U);
    for (const auto& p : first) {
        h.send(sub, Ack{PacketType::puback, p.packet_id, ReasonCode::success, {}});
    }
    auto rest = h.received(sub);
    BOOST_REQUIRE_EQUAL(rest.size(), 50U);
    BOOST_TEST(rest.back().payload == "149");
}

BOOST_AUTO_TEST_CASE(slow_consumer_loses_qos0_but_keeps_qos1_beyond_the_output_budget) {
    BrokerConfig config;
    config.output_bytes_max = 10'000;
    Harness h(config);
    const auto sub = h.connect("slow");
    h.subscribe(sub, "t");
    h.auto_drain = false;  // from now on the peer reads nothing
    const auto pub = h.connect("pub");
    for (int i = 0; i < 100; ++i) {
        h.publish(pub, "t", std::string(1000, 'a'));
    }
    BOOST_TEST(h.broker->stats().qos0_dropped_slow_consumer > 80U);
    for (int i = 0; i < 20; ++i) {
        h.publish(pub, "t", std::string(1000, 'b'), QoS::at_least_once);
    }
    BOOST_TEST(h.broker->session("slow")->queued == 20U);
    BOOST_TEST(h.broker->stats().qos1_dropped_queue_full == 0U);
}

BOOST_AUTO_TEST_CASE(shared_subscription_delivers_each_message_to_exactly_one_member) {
    Harness h;
    const auto a = h.connect("a");
    h.subscribe(a, "$share/workers/jobs/+");
    const auto b = h.connect("b");
    h.subscribe(b, "$share/workers/jobs/+");
    const auto pub = h.connect("pub");
    for (int i = 0; i < 40; ++i) {
        h.publish(pub, "jobs/" + std::to_string(i), "x");
    }
    const auto na = h.received(a).size();
    const auto nb = h.received(b).size();
    BOOST_TEST(na + nb == 40U);
    BOOST_TEST(na > 0U);
    BOOST_TEST(nb > 0U);
}

BOOST_AUTO_TEST_CASE(messages_the_broker_keeps_are_not_overwritten_by_the_publishes_that_follow) {
    // The broker reuses a message (and its buffers) once nothing holds it any more: a retained
    // message, a queued one and an MQTT 5 message's properties must not leak into later ones.
    Harness h;
    auto device = h.connect("device", Version::v311, false);
    h.subscribe(device, "cmd", QoS::at_least_once);
    h.disconnect(device);
    const auto listener = h.connect("listener", Version::v5);
    h.subscribe(listener, "noise/#", QoS::at_most_once);
    const auto pub = h.connect("pub");
    const auto pub5 = h.connect("pub5", Version::v5);
    h.publish(pub, "keep/r", "retained-payload", QoS::at_most_once, true);
    h.publish(pub, "cmd", "queued-payload", QoS::at_least_once);
    Publish typed;
    typed.topic = "noise/typed";
    typed.payload = "{}";
    typed.properties.content_type = "application/json";
    h.send(pub5, typed);
    std::vector<std::string> sent;
    for (int i = 0; i < 200; ++i) {
        sent.push_back(std::string(static_cast<std::size_t>(i % 37), static_cast<char>('a' + i % 26)) + std::to_string(i));
        h.publish(pub, "noise/" + std::to_string(i % 5), sent.back(), QoS::at_most_once);
    }
    const auto got = h.received(listener);
    BOOST_REQUIRE_EQUAL(got.size(), 201U);
    BOOST_TEST(got[0].properties.content_type.value_or("") == "application/json");
    for (std::size_t i = 1; i < got.size(); ++i) {
        BOOST_TEST(got[i].payload == sent[i - 1]);
        BOOST_TEST(got[i].topic == "noise/" + std::to_string((i - 1) % 5));
        BOOST_TEST(!got[i].properties.content_type.has_value());  // a 3.1.1 message has none
    }
    BOOST_TEST(h.broker->retained("keep/r")->message->payload == "retained-payload");
    device = h.connect("device", Version::v311, false);
    const auto queued = h.received(device);
    BOOST_REQUIRE_EQUAL(queued.size(), 1U);
    BOOST_TEST(queued[0].payload == "queued-payload");
    BOOST_TEST(queued[0].topic == "cmd");
}

BOOST_AUTO_TEST_SUITE_END()
