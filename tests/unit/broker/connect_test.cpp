// CONNECT handling with AWS IoT Core's rules (../shared/reference/aws-iot-core.md §1.5).
#include "harness.hpp"

using namespace iotsim;
using namespace iotsim::test;

BOOST_AUTO_TEST_SUITE(broker_connect)

BOOST_AUTO_TEST_CASE(connack_v5_advertises_aws_limits) {
    Harness h;
    h.connect("c1", Version::v5);
    const Properties& p = h.last_connack.properties;
    BOOST_TEST(p.maximum_qos.value() == 1);
    BOOST_TEST(p.receive_maximum.value() == 100);
    BOOST_TEST(p.topic_alias_maximum.value() == 8);
    BOOST_TEST(p.subscription_identifier_available.value() == 0);
    BOOST_TEST(p.retain_available.value() == 1);
    BOOST_TEST(p.wildcard_subscription_available.value() == 1);
    BOOST_TEST(p.server_keep_alive.value() == 60);
}

BOOST_AUTO_TEST_CASE(keep_alive_below_30_seconds_is_raised_to_30) {
    Harness h;
    h.connect("c1", Version::v5, true, std::nullopt, {}, 5);
    BOOST_TEST(h.last_connack.properties.server_keep_alive.value() == 30);
}

BOOST_AUTO_TEST_CASE(keep_alive_zero_or_above_1200_becomes_1200) {
    Harness h;
    h.connect("c1", Version::v5, true, std::nullopt, {}, 0);
    BOOST_TEST(h.last_connack.properties.server_keep_alive.value() == 1200);
    h.connect("c2", Version::v5, true, std::nullopt, {}, 5000);
    BOOST_TEST(h.last_connack.properties.server_keep_alive.value() == 1200);
}

BOOST_AUTO_TEST_CASE(connection_closes_at_one_and_a_half_keep_alive_without_traffic) {
    Harness h;
    const auto c = h.connect("sleepy", Version::v5, true, std::nullopt, {}, 10);  // clamped to 30 s
    h.advance(seconds(44));
    BOOST_TEST(!h.closed(c));
    h.advance(seconds(1));
    BOOST_TEST(h.closed(c));
    auto d = h.take_all<Disconnect>(c);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(static_cast<int>(d[0].reason) == 0x8D);
}

BOOST_AUTO_TEST_CASE(pingreq_keeps_the_connection_alive) {
    Harness h;
    const auto c = h.connect("pinger", Version::v311, true, std::nullopt, {}, 30);
    for (int i = 0; i < 10; ++i) {
        h.advance(seconds(40));
        h.send(c, Pingreq{});
        BOOST_TEST(h.take_all<Pingresp>(c).size() == 1U);
    }
    BOOST_TEST(!h.closed(c));
}

BOOST_AUTO_TEST_CASE(client_id_longer_than_128_bytes_is_rejected) {
    Harness h;
    for (Version v : {Version::v311, Version::v5}) {
        const auto c = h.open();
        h.peers[c.value].version = v;
        Connect connect;
        connect.version = v;
        connect.client_id = std::string(129, 'x');
        h.send(c, connect);
        auto acks = h.take_all<Connack>(c);
        BOOST_REQUIRE_EQUAL(acks.size(), 1U);
        BOOST_TEST(acks[0].reason == (v == Version::v5 ? 0x85 : 0x02));
        BOOST_TEST(h.closed(c));
    }
}

BOOST_AUTO_TEST_CASE(client_id_of_exactly_128_bytes_is_accepted) {
    Harness h;
    h.connect(std::string(128, 'x'));
}

BOOST_AUTO_TEST_CASE(client_id_starting_with_dollar_is_reserved) {
    Harness h;
    const auto c = h.open();
    Connect connect;
    connect.client_id = "$me";
    h.send(c, connect);
    auto acks = h.take_all<Connack>(c);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(acks[0].reason == 0x02);
}

BOOST_AUTO_TEST_CASE(empty_client_id_in_mqtt5_gets_an_assigned_identifier) {
    Harness h;
    h.connect("", Version::v5);
    const auto& assigned = h.last_connack.properties.assigned_client_identifier;
    BOOST_REQUIRE(assigned.has_value());
    BOOST_TEST(!assigned->empty());
    BOOST_TEST(h.broker->session(*assigned).has_value());
}

BOOST_AUTO_TEST_CASE(empty_client_id_in_mqtt311_needs_a_clean_session) {
    Harness h;
    h.connect("", Version::v311, true);
    const auto c = h.open();
    Connect connect;
    connect.clean_start = false;
    h.send(c, connect);
    auto acks = h.take_all<Connack>(c);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(acks[0].reason == 0x02);  // [MQTT-3.1.3-8]
}

BOOST_AUTO_TEST_CASE(second_connection_with_same_client_id_takes_over) {
    Harness h;
    Will will{"wills/dev", "gone", QoS::at_most_once, false, {}};
    const auto watcher = h.connect("watcher");
    h.subscribe(watcher, "wills/dev");
    const auto first = h.connect("dev", Version::v5, true, will);
    const auto second = h.connect("dev", Version::v5);
    BOOST_TEST(h.closed(first));
    BOOST_TEST(!h.closed(second));
    auto d = h.take_all<Disconnect>(first);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(static_cast<int>(d[0].reason) == 0x8E);  // Session taken over
    // AWS: the old connection's will IS published on DUPLICATE_CLIENTID.
    auto got = h.received(watcher);
    BOOST_REQUIRE_EQUAL(got.size(), 1U);
    BOOST_TEST(got[0].payload == "gone");
}

BOOST_AUTO_TEST_CASE(denied_connect_in_mqtt311_closes_without_connack) {
    Harness h;
    h.auth.deny_connect_client_ids.push_back("intruder");
    const auto c = h.open();
    Connect connect;
    connect.client_id = "intruder";
    h.send(c, connect);
    BOOST_TEST(h.take(c).empty());
    BOOST_TEST(h.closed(c));
}

BOOST_AUTO_TEST_CASE(denied_connect_in_mqtt5_gets_connack_0x87_and_a_connect_failed_event) {
    Harness h;
    const auto monitor = h.connect("monitor");
    h.subscribe(monitor, "$aws/events/presence/connect_failed/+");
    h.auth.deny_connect_client_ids.push_back("intruder");
    const auto c = h.open();
    h.peers[c.value].version = Version::v5;
    Connect connect;
    connect.version = Version::v5;
    connect.client_id = "intruder";
    h.send(c, connect);
    auto acks = h.take_all<Connack>(c);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(acks[0].reason == 0x87);
    BOOST_TEST(h.closed(c));
    auto events = h.received(monitor);
    BOOST_REQUIRE_EQUAL(events.size(), 1U);
    BOOST_TEST(events[0].topic == "$aws/events/presence/connect_failed/intruder");
    BOOST_TEST(events[0].payload.find("\"connectFailureReason\":\"AUTHORIZATION_FAILED\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(second_connect_on_a_connection_is_a_protocol_error) {
    Harness h;
    const auto c = h.connect("twice", Version::v5);
    Connect again;
    again.version = Version::v5;
    again.client_id = "twice";
    h.send(c, again);
    auto d = h.take_all<Disconnect>(c);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(static_cast<int>(d[0].reason) == 0x82);
    BOOST_TEST(h.closed(c));
}

BOOST_AUTO_TEST_CASE(a_first_packet_other_than_connect_closes_the_connection_silently) {
    Harness h;
    const auto c = h.open();
    h.send_raw(c, std::string("\xC0\x00", 2));  // PINGREQ
    BOOST_TEST(h.take(c).empty());
    BOOST_TEST(h.closed(c));
}

BOOST_AUTO_TEST_CASE(garbage_first_bytes_close_the_connection_silently) {
    Harness h;
    const auto c = h.open();
    h.send_raw(c, std::string("\xFF\xFF\xFF\xFF", 4));
    BOOST_TEST(h.take(c).empty());
    BOOST_TEST(h.closed(c));
}

BOOST_AUTO_TEST_CASE(remaining_length_over_four_bytes_closes_the_connection) {
    Harness h;
    const auto c = h.open();
    h.send_raw(c, std::string("\x10\xFF\xFF\xFF\xFF\x01", 6));
    BOOST_TEST(h.closed(c));
}

BOOST_AUTO_TEST_CASE(protocol_level_3_gets_connack_0x01) {
    Harness h;
    const auto c = h.open();
    // CONNECT, protocol name "MQIsdp", level 3: not supported by AWS IoT Core.
    const std::string connect("\x10\x12\x00\x06MQIsdp\x03\x02\x00\x3c\x00\x04test", 20);
    h.send_raw(c, connect);
    BOOST_TEST(h.closed(c));
}

BOOST_AUTO_TEST_CASE(no_connect_within_the_connect_timeout_closes_the_connection) {
    Harness h;
    const auto c = h.open();
    h.advance(seconds(19));
    BOOST_TEST(!h.closed(c));
    h.advance(seconds(2));
    BOOST_TEST(h.closed(c));
}

BOOST_AUTO_TEST_CASE(connect_split_into_single_bytes_is_framed) {
    Harness h;
    const auto c = h.open();
    Connect connect;
    connect.client_id = "slow-writer";
    std::string bytes;
    encode(connect, Version::v311, bytes);
    for (char b : bytes) {
        h.send_raw(c, std::string(1, b));
    }
    auto acks = h.take_all<Connack>(c);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(acks[0].reason == 0);
}

BOOST_AUTO_TEST_CASE(will_with_qos_2_is_refused_in_mqtt5) {
    Harness h;
    const auto c = h.open();
    h.peers[c.value].version = Version::v5;
    Connect connect;
    connect.version = Version::v5;
    connect.client_id = "w";
    connect.will = Will{"a/b", "x", QoS::exactly_once, false, {}};
    h.send(c, connect);
    auto acks = h.take_all<Connack>(c);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(acks[0].reason == 0x9B);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(broker_connect_will)

BOOST_AUTO_TEST_CASE(mqtt5_will_topic_with_a_wildcard_gets_connack_0x90) {
    Harness h;
    const auto c = h.open();
    h.peers[c.value].version = Version::v5;
    // CONNECT v5, will flag, will topic "a/#": the codec refuses the topic, the broker answers.
    Connect connect;
    connect.version = Version::v5;
    connect.client_id = "w";
    connect.will = Will{"a/b", "x", QoS::at_most_once, false, {}};
    std::string bytes;
    encode(connect, Version::v5, bytes);
    const auto at = bytes.find("a/b");
    BOOST_REQUIRE(at != std::string::npos);
    bytes[at + 2] = '#';
    h.send_raw(c, bytes);
    auto acks = h.take_all<Connack>(c);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(acks[0].reason == 0x90);
    BOOST_TEST(h.closed(c));
}

BOOST_AUTO_TEST_SUITE_END()
