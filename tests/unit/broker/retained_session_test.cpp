// Retained messages and sessions with AWS IoT Core's rules (../shared/reference/aws-iot-core.md §1.6, §1.8).
#include "harness.hpp"

using namespace iotsim;
using namespace iotsim::test;

BOOST_AUTO_TEST_SUITE(broker_retained)

BOOST_AUTO_TEST_CASE(retained_message_is_delivered_on_subscribe_only_to_an_exact_filter) {
    Harness h;
    const auto pub = h.connect("pub");
    h.publish(pub, "home/lamp/state", "on", QoS::at_least_once, true);
    const auto exact = h.connect("exact");
    h.subscribe(exact, "home/lamp/state");
    const auto wild = h.connect("wild");
    h.subscribe(wild, "home/+/state");
    auto got = h.received(exact);
    BOOST_REQUIRE_EQUAL(got.size(), 1U);
    BOOST_TEST(got[0].retain);
    BOOST_TEST(got[0].payload == "on");
    BOOST_TEST(h.received(wild).empty());
    // Later live publishes reach both, with RETAIN clear.
    h.publish(pub, "home/lamp/state", "off", QoS::at_most_once, true);
    auto e = h.received(exact);
    auto w = h.received(wild);
    BOOST_REQUIRE_EQUAL(e.size(), 1U);
    BOOST_REQUIRE_EQUAL(w.size(), 1U);
    BOOST_TEST(!e[0].retain);
    BOOST_TEST(!w[0].retain);
}

BOOST_AUTO_TEST_CASE(empty_retained_payload_deletes_the_retained_message) {
    Harness h;
    const auto pub = h.connect("pub");
    h.publish(pub, "t", "v", QoS::at_most_once, true);
    BOOST_TEST(h.broker->retained_topics().size() == 1U);
    h.publish(pub, "t", "", QoS::at_most_once, true);
    BOOST_TEST(h.broker->retained_topics().empty());
    const auto sub = h.connect("sub");
    h.subscribe(sub, "t");
    BOOST_TEST(h.received(sub).empty());
}

BOOST_AUTO_TEST_CASE(publish_without_retain_leaves_the_retained_message) {
    Harness h;
    const auto pub = h.connect("pub");
    h.publish(pub, "t", "kept", QoS::at_most_once, true);
    h.publish(pub, "t", "live", QoS::at_most_once, false);
    BOOST_TEST(h.broker->retained("t")->message->payload == "kept");
}

BOOST_AUTO_TEST_CASE(retained_publish_to_a_reserved_topic_is_refused) {
    Harness h;
    const auto five = h.connect("five", Version::v5);
    h.publish(five, "$aws/things/lamp/shadow/update", "{}", QoS::at_least_once, true, 3);
    auto acks = h.take_all<Ack>(five);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(static_cast<int>(acks[0].reason) >= 0x80);
    BOOST_TEST(h.broker->retained_topics().empty());
}

BOOST_AUTO_TEST_CASE(retained_messages_survive_a_broker_crash) {
    Harness h;
    const auto pub = h.connect("pub");
    h.publish(pub, "a", "1", QoS::at_least_once, true);
    h.publish(pub, "b", "2", QoS::at_least_once, true);
    h.crash_and_restart();
    BOOST_TEST(h.broker->retained_topics() == (std::vector<std::string>{"a", "b"}));
    const auto sub = h.connect("sub");
    h.subscribe(sub, "b");
    auto got = h.received(sub);
    BOOST_REQUIRE_EQUAL(got.size(), 1U);
    BOOST_TEST(got[0].payload == "2");
}

BOOST_AUTO_TEST_CASE(expired_retained_message_is_not_delivered) {
    Harness h;
    const auto pub = h.connect("pub", Version::v5);
    Properties p;
    p.message_expiry_interval = 10;
    h.publish(pub, "t", "short-lived", QoS::at_most_once, true, 0, p);
    h.advance(seconds(11));
    const auto sub = h.connect("sub");
    h.subscribe(sub, "t");
    BOOST_TEST(h.received(sub).empty());
}

BOOST_AUTO_TEST_CASE(shared_subscription_gets_no_retained_message_on_subscribe) {
    Harness h;
    const auto pub = h.connect("pub");
    h.publish(pub, "t", "r", QoS::at_most_once, true);
    const auto sub = h.connect("sub");
    h.subscribe(sub, "$share/g/t");
    BOOST_TEST(h.received(sub).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(broker_session)

BOOST_AUTO_TEST_CASE(persistent_session_queues_qos1_while_offline_and_delivers_on_reconnect) {
    Harness h;
    auto sub = h.connect("device", Version::v311, false);
    BOOST_TEST(!h.last_connack.session_present);
    h.subscribe(sub, "cmd", QoS::at_least_once);
    h.disconnect(sub);
    const auto pub = h.connect("app");
    h.publish(pub, "cmd", "q1-a", QoS::at_least_once);
    h.publish(pub, "cmd", "q0", QoS::at_most_once);
    h.publish(pub, "cmd", "q1-b", QoS::at_least_once);
    BOOST_TEST(h.broker->session("device")->queued == 2U);
    sub = h.connect("device", Version::v311, false);
    BOOST_TEST(h.last_connack.session_present);
    auto got = h.received(sub);
    BOOST_REQUIRE_EQUAL(got.size(), 2U);  // QoS 0 is never queued
    BOOST_TEST(got[0].payload == "q1-a");
    BOOST_TEST(got[1].payload == "q1-b");
}

BOOST_AUTO_TEST_CASE(unacknowledged_qos1_is_sent_again_after_reconnect) {
    Harness h;
    auto sub = h.connect("device", Version::v311, false);
    h.subscribe(sub, "cmd");
    const auto pub = h.connect("app");
    h.publish(pub, "cmd", "must-arrive", QoS::at_least_once);
    auto first = h.received(sub, false);  // not acknowledged
    BOOST_REQUIRE_EQUAL(first.size(), 1U);
    h.apply(h.broker->closed(sub, h.now));  // connection lost
    sub = h.connect("device", Version::v311, false);
    auto again = h.received(sub);
    BOOST_REQUIRE_EQUAL(again.size(), 1U);
    BOOST_TEST(again[0].payload == "must-arrive");
    BOOST_TEST(h.broker->session("device")->inflight == 0U);
}

BOOST_AUTO_TEST_CASE(clean_session_discards_the_previous_session) {
    Harness h;
    auto sub = h.connect("device", Version::v311, false);
    h.subscribe(sub, "cmd");
    h.disconnect(sub);
    const auto pub = h.connect("app");
    h.publish(pub, "cmd", "lost", QoS::at_least_once);
    sub = h.connect("device", Version::v311, true);
    BOOST_TEST(!h.last_connack.session_present);
    BOOST_TEST(h.received(sub).empty());
    h.publish(pub, "cmd", "not-subscribed", QoS::at_least_once);
    BOOST_TEST(h.received(sub).empty());
}

BOOST_AUTO_TEST_CASE(persistent_session_expires_after_one_hour_offline) {
    Harness h;
    auto sub = h.connect("device", Version::v311, false);
    h.subscribe(sub, "cmd");
    h.disconnect(sub);
    h.advance(minutes(59));
    BOOST_TEST(h.broker->session("device").has_value());
    h.advance(minutes(2));
    BOOST_TEST(!h.broker->session("device").has_value());
    sub = h.connect("device", Version::v311, false);
    BOOST_TEST(!h.last_connack.session_present);
}

BOOST_AUTO_TEST_CASE(mqtt5_session_expiry_is_capped_and_the_cap_returned_in_connack) {
    Harness h;
    Properties p;
    p.session_expiry_interval = 7 * 24 * 3600;
    h.connect("five", Version::v5, false, std::nullopt, p);
    BOOST_TEST(h.last_connack.properties.session_expiry_interval.value() == 3600U);
}

BOOST_AUTO_TEST_CASE(mqtt5_session_without_expiry_ends_at_disconnect) {
    Harness h;
    auto c = h.connect("five", Version::v5, false);
    h.subscribe(c, "t");
    h.disconnect(c);
    BOOST_TEST(!h.broker->session("five").has_value());
}

BOOST_AUTO_TEST_CASE(a_session_cannot_be_resumed_across_protocol_versions) {
    Harness h;
    auto c = h.connect("dev", Version::v311, false);
    h.subscribe(c, "t");
    h.disconnect(c);
    Properties p;
    p.session_expiry_interval = 600;
    h.connect("dev", Version::v5, false, std::nullopt, p);
    BOOST_TEST(!h.last_connack.session_present);
    BOOST_TEST(h.broker->session("dev")->subscriptions.empty());
}

BOOST_AUTO_TEST_CASE(queued_messages_and_subscriptions_survive_a_broker_crash) {
    Harness h;
    auto sub = h.connect("device", Version::v311, false);
    h.subscribe(sub, "cmd");
    h.disconnect(sub);
    const auto pub = h.connect("app");
    for (int i = 0; i < 5; ++i) {
        h.publish(pub, "cmd", "m" + std::to_string(i), QoS::at_least_once);
    }
    BOOST_TEST(h.take_all<Ack>(pub).size() == 5U);
    h.crash_and_restart();
    sub = h.connect("device", Version::v311, false);
    BOOST_TEST(h.last_connack.session_present);
    auto got = h.received(sub);
    BOOST_REQUIRE_EQUAL(got.size(), 5U);
    BOOST_TEST(got[4].payload == "m4");
    // Still subscribed after the restart.
    const auto pub2 = h.connect("app2");
    h.publish(pub2, "cmd", "after", QoS::at_least_once);
    BOOST_TEST(h.received(sub).size() == 1U);
}

BOOST_AUTO_TEST_CASE(acknowledged_messages_are_not_redelivered_after_a_crash) {
    Harness h;
    auto sub = h.connect("device", Version::v311, false);
    h.subscribe(sub, "cmd");
    const auto pub = h.connect("app");
    h.publish(pub, "cmd", "done", QoS::at_least_once);
    BOOST_TEST(h.received(sub).size() == 1U);  // and acknowledged
    h.crash_and_restart();
    sub = h.connect("device", Version::v311, false);
    BOOST_TEST(h.received(sub).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(broker_session_identity)

namespace {

// The sessionIdentifier of the next presence/connected event the monitor received.
std::string connected_session_identifier(Harness& h, ConnectionId monitor) {
    for (const auto& m : h.received(monitor)) {
        if (m.topic.rfind("$aws/events/presence/connected/", 0) == 0) {
            return nlohmann::json::parse(m.payload)["sessionIdentifier"].get<std::string>();
        }
    }
    BOOST_FAIL("no connected event");
    return {};
}

bool lowercase_uuid(const std::string& text) {
    if (text.size() != 36U) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? ch != '-' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
            return false;
        }
    }
    return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_persistent_session_keeps_its_session_identifier_across_reconnects_and_a_crash) {
    Harness h;
    auto monitor = h.connect("monitor");
    h.subscribe(monitor, "$aws/events/presence/connected/+");
    auto dev = h.connect("device", Version::v311, false);
    const std::string first = connected_session_identifier(h, monitor);
    BOOST_TEST(lowercase_uuid(first), first);
    h.disconnect(dev);
    dev = h.connect("device", Version::v311, false);
    BOOST_TEST(connected_session_identifier(h, monitor) == first);
    h.disconnect(dev);

    h.crash_and_restart();
    monitor = h.connect("monitor");
    h.subscribe(monitor, "$aws/events/presence/connected/+");
    h.connect("device", Version::v311, false);
    BOOST_TEST(h.last_connack.session_present);
    BOOST_TEST(connected_session_identifier(h, monitor) == first);
}

BOOST_AUTO_TEST_CASE(a_stored_session_identifier_that_is_not_a_lowercase_uuid_is_kept_as_it_is) {
    for (const std::string stored : {"SESSION-from-another-tool", "0F8FAD5B-D9CB-469F-A165-70867728950E",
                                     "00000000-0000-0000-0000-000000000000"}) {
        Harness h;
        SessionRecord record;
        record.client_id = "device";
        record.version = Version::v311;
        record.expiry_interval_s = 3600;
        record.session_identifier = stored;
        h.store.put_session(record);
        h.crash_and_restart();
        const auto monitor = h.connect("monitor");
        h.subscribe(monitor, "$aws/events/presence/connected/+");
        h.connect("device", Version::v311, false);
        BOOST_TEST(h.last_connack.session_present);
        BOOST_TEST(connected_session_identifier(h, monitor) == stored);
    }
}

BOOST_AUTO_TEST_CASE(a_session_back_online_is_not_expired_by_the_timer_of_its_earlier_absence) {
    Harness h;
    auto dev = h.connect("device", Version::v311, false, std::nullopt, {}, 1200);
    h.subscribe(dev, "cmd");
    h.disconnect(dev);  // at 0: expires at +60 min
    h.advance(minutes(50));
    dev = h.connect("device", Version::v311, false, std::nullopt, {}, 1200);
    BOOST_TEST(h.last_connack.session_present);
    h.advance(minutes(11));  // the first absence's timer fires while it is online
    BOOST_TEST(h.broker->session("device").has_value());
    h.disconnect(dev);  // at +61 min: expires at +121 min
    h.advance(minutes(58));
    BOOST_TEST(h.broker->session("device").has_value());
    h.advance(minutes(3));
    BOOST_TEST(!h.broker->session("device").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
