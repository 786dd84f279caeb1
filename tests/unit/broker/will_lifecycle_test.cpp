// Last will and lifecycle events (../shared/reference/aws-iot-core.md §1.8, §1.12) and MQTT 5
// features (§1.11).
#include <nlohmann/json.hpp>

#include "harness.hpp"

using namespace iotsim;
using namespace iotsim::test;

namespace {
Will make_will() { return Will{"wills/dev", "dev died", QoS::at_least_once, false, {}}; }
}  // namespace

BOOST_AUTO_TEST_SUITE(broker_will)

BOOST_AUTO_TEST_CASE(will_is_published_when_the_connection_is_lost) {
    Harness h;
    const auto watcher = h.connect("watcher");
    h.subscribe(watcher, "wills/dev");
    const auto dev = h.connect("dev", Version::v311, true, make_will());
    h.apply(h.broker->closed(dev, h.now));
    auto got = h.received(watcher);
    BOOST_REQUIRE_EQUAL(got.size(), 1U);
    BOOST_TEST(got[0].payload == "dev died");
}

BOOST_AUTO_TEST_CASE(will_is_not_published_after_a_client_disconnect) {
    Harness h;
    const auto watcher = h.connect("watcher");
    h.subscribe(watcher, "wills/dev");
    const auto dev = h.connect("dev", Version::v311, true, make_will());
    h.disconnect(dev);
    BOOST_TEST(h.received(watcher).empty());
}

BOOST_AUTO_TEST_CASE(will_is_published_on_keep_alive_timeout) {
    Harness h;
    const auto watcher = h.connect("watcher", Version::v311, true, std::nullopt, {}, 1200);
    h.subscribe(watcher, "wills/dev");
    h.connect("dev", Version::v311, true, make_will(), {}, 30);
    h.advance(seconds(46));
    BOOST_TEST(h.received(watcher).size() == 1U);
}

BOOST_AUTO_TEST_CASE(will_is_published_after_a_protocol_violation) {
    Harness h;
    const auto watcher = h.connect("watcher");
    h.subscribe(watcher, "wills/dev");
    const auto dev = h.connect("dev", Version::v311, true, make_will());
    h.send_raw(dev, std::string("\x30\x05\x00\x03" "a/#", 7));
    BOOST_TEST(h.closed(dev));
    BOOST_TEST(h.received(watcher).size() == 1U);
}

BOOST_AUTO_TEST_CASE(retained_will_is_stored_as_the_retained_message) {
    Harness h;
    Will w = make_will();
    w.retain = true;
    const auto dev = h.connect("dev", Version::v311, true, w);
    h.apply(h.broker->closed(dev, h.now));
    BOOST_TEST(h.broker->retained("wills/dev")->message->payload == "dev died");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(broker_lifecycle)

BOOST_AUTO_TEST_CASE(connected_and_disconnected_events_carry_aws_fields) {
    Harness h;
    const auto monitor = h.connect("monitor");
    h.subscribe(monitor, "$aws/events/presence/+/+");
    const auto dev = h.connect("dev");
    h.disconnect(dev);
    auto got = h.received(monitor);
    BOOST_REQUIRE_EQUAL(got.size(), 2U);
    BOOST_TEST(got[0].topic == "$aws/events/presence/connected/dev");
    const auto connected = nlohmann::json::parse(got[0].payload);
    BOOST_TEST(connected["clientId"] == "dev");
    BOOST_TEST(connected["eventType"] == "connected");
    BOOST_TEST(connected["ipAddress"] == "192.0.2.1");
    BOOST_TEST(connected["principalIdentifier"] == "test-principal");
    BOOST_TEST(connected["timestamp"].get<std::int64_t>() == h.now.wall.unix_ms());
    BOOST_TEST(connected["sessionIdentifier"].get<std::string>().size() == 36U);
    BOOST_TEST(got[1].topic == "$aws/events/presence/disconnected/dev");
    const auto disconnected = nlohmann::json::parse(got[1].payload);
    BOOST_TEST(disconnected["clientInitiatedDisconnect"] == true);
    BOOST_TEST(disconnected["disconnectReason"] == "CLIENT_INITIATED_DISCONNECT");
    BOOST_TEST(disconnected["versionNumber"] == connected["versionNumber"]);
    BOOST_TEST(disconnected["sessionIdentifier"] == connected["sessionIdentifier"]);
    BOOST_TEST(!disconnected.contains("ipAddress"));
}

BOOST_AUTO_TEST_CASE(disconnect_reasons_follow_aws_names) {
    Harness h;
    const auto monitor = h.connect("monitor", Version::v311, true, std::nullopt, {}, 1200);
    h.subscribe(monitor, "$aws/events/presence/disconnected/+");
    const auto lost = h.connect("lost");
    h.apply(h.broker->closed(lost, h.now));
    const auto bad = h.connect("bad");
    h.publish(bad, "t", "x", QoS::exactly_once);
    h.connect("dup");
    h.connect("dup");
    h.connect("idle", Version::v311, true, std::nullopt, {}, 30);
    h.advance(seconds(46));
    std::vector<std::string> reasons;
    for (const auto& p : h.received(monitor)) {
        reasons.push_back(nlohmann::json::parse(p.payload)["disconnectReason"]);
    }
    BOOST_TEST(reasons == (std::vector<std::string>{"CONNECTION_LOST", "CLIENT_ERROR", "DUPLICATE_CLIENTID",
                                                    "MQTT_KEEP_ALIVE_TIMEOUT"}));
}

BOOST_AUTO_TEST_CASE(a_revoked_connection_gets_disconnect_0x87_its_will_and_an_auth_error_event) {
    Harness h;
    const auto monitor = h.connect("monitor");
    h.subscribe(monitor, "$aws/events/presence/disconnected/+");
    h.subscribe(monitor, "wills/dev");
    Will will{"wills/dev", "revoked", QoS::at_most_once, false, {}};
    const auto dev = h.connect("dev", Version::v5, true, will);
    const auto other = h.connect("other", Version::v311);
    h.apply(h.broker->revoke(dev, h.now));
    BOOST_TEST(h.closed(dev));
    BOOST_TEST(!h.closed(other));
    auto d = h.take_all<Disconnect>(dev);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(static_cast<int>(d[0].reason) == 0x87);  // Not authorized
    std::vector<std::string> seen;
    for (const auto& p : h.received(monitor)) {
        seen.push_back(p.topic == "wills/dev" ? "will " + p.payload
                                              : nlohmann::json::parse(p.payload)["disconnectReason"].get<std::string>());
    }
    BOOST_TEST(seen == (std::vector<std::string>{"will revoked", "AUTH_ERROR"}), boost::test_tools::per_element());
    // An MQTT 3.1.1 connection has no DISCONNECT to receive: it is closed.
    h.apply(h.broker->revoke(other, h.now));
    BOOST_TEST(h.closed(other));
    BOOST_TEST(h.take_all<Disconnect>(other).empty());
}

namespace {
/// A connection a custom authorizer authenticated with the given disconnectAfterInSeconds.
ConnectionId custom_connect(Harness& h, const std::string& client_id, std::uint32_t disconnect_after_s,
                            std::optional<Will> will = std::nullopt) {
    auto credentials = std::make_shared<broker::CustomCredentials>();
    credentials->authenticated = true;
    credentials->authorizer = "my-authorizer";
    credentials->principal_id = "device42";
    credentials->disconnect_after_s = disconnect_after_s;
    credentials->refresh_after_s = 300;
    PeerIdentity peer;
    peer.transport = broker::Transport::tls;
    peer.address = "192.0.2.9";
    peer.custom = std::move(credentials);
    const ConnectionId id = h.open(std::move(peer));
    h.peers[id.value].version = Version::v5;
    Connect c;
    c.version = Version::v5;
    c.client_id = client_id;
    c.keep_alive = 1200;  // the keep-alive must not end it first
    c.will = std::move(will);
    h.send(id, c);
    auto packets = h.take(id);
    BOOST_REQUIRE(!packets.empty() && std::holds_alternative<Connack>(packets.front()));
    BOOST_REQUIRE_EQUAL(std::get<Connack>(packets.front()).reason, 0);
    return id;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_custom_authorizer_connection_ends_after_disconnect_after_in_seconds_with_its_will) {
    Harness h;
    const auto monitor = h.connect("monitor", Version::v311, true, std::nullopt, {}, 1200);
    h.subscribe(monitor, "$aws/events/presence/disconnected/+");
    h.subscribe(monitor, "wills/dev");
    const auto dev = custom_connect(h, "dev", 300, Will{"wills/dev", "ttl", QoS::at_most_once, false, {}});
    h.advance(seconds(299));
    BOOST_TEST(!h.closed(dev));
    h.advance(seconds(2));
    BOOST_TEST(h.closed(dev));
    auto d = h.take_all<Disconnect>(dev);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(static_cast<int>(d[0].reason) == 0xA0);  // Maximum connect time
    std::vector<std::string> seen;
    for (const auto& p : h.received(monitor)) {
        seen.push_back(p.topic == "wills/dev" ? "will " + p.payload
                                              : nlohmann::json::parse(p.payload)["disconnectReason"].get<std::string>());
    }
    BOOST_TEST(seen == (std::vector<std::string>{"will ttl", "CUSTOMAUTH_TTL_EXPIRATION"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(each_connection_gets_its_own_time_limit_counted_from_its_accept) {
    Harness h;
    const auto first = custom_connect(h, "dev", 300);
    h.advance(seconds(200));
    h.disconnect(first);
    const auto second = custom_connect(h, "dev", 300);  // accepted at 200 s: ends at 500 s
    h.advance(seconds(150));                            // 350 s: past the first one's limit
    BOOST_TEST(!h.closed(second));
    h.advance(seconds(151));
    BOOST_TEST(h.closed(second));
    auto d = h.take_all<Disconnect>(second);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(static_cast<int>(d[0].reason) == 0xA0);
}

BOOST_AUTO_TEST_CASE(a_refreshed_answer_that_no_longer_authenticates_disconnects_with_auth_error) {
    Harness h;
    const auto monitor = h.connect("monitor");
    h.subscribe(monitor, "$aws/events/presence/disconnected/+");
    const auto dev = custom_connect(h, "dev", 86400);
    auto refused = std::make_shared<broker::CustomCredentials>();
    refused->refusal = "token expired";
    h.apply(h.broker->set_credentials(dev, refused, h.now));
    BOOST_TEST(h.closed(dev));
    auto d = h.take_all<Disconnect>(dev);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(static_cast<int>(d[0].reason) == 0x87);
    auto got = h.received(monitor);
    BOOST_REQUIRE_EQUAL(got.size(), 1U);
    BOOST_TEST(nlohmann::json::parse(got[0].payload)["disconnectReason"] == "AUTH_ERROR");
}

BOOST_AUTO_TEST_CASE(a_refreshed_answer_with_another_time_limit_rearms_it) {
    Harness h;
    const auto dev = custom_connect(h, "dev", 600);
    auto renewed = std::make_shared<broker::CustomCredentials>();
    renewed->authenticated = true;
    renewed->principal_id = "device42";
    renewed->disconnect_after_s = 1500;  // ends before the keep-alive's 1800 s could
    h.apply(h.broker->set_credentials(dev, renewed, h.now));
    h.advance(seconds(700));  // past the first answer's 600 s
    BOOST_TEST(!h.closed(dev));
    h.advance(seconds(801));
    BOOST_TEST(h.closed(dev));
    auto d = h.take_all<Disconnect>(dev);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(static_cast<int>(d[0].reason) == 0xA0);  // the time limit, not the keep-alive
}

BOOST_AUTO_TEST_CASE(version_number_increases_per_connection_of_a_client_id) {
    Harness h;
    const auto monitor = h.connect("monitor");
    h.subscribe(monitor, "$aws/events/presence/connected/+");
    h.disconnect(h.connect("dev"));
    h.disconnect(h.connect("dev"));
    auto got = h.received(monitor);
    BOOST_REQUIRE_EQUAL(got.size(), 2U);
    BOOST_TEST(nlohmann::json::parse(got[1].payload)["versionNumber"].get<int>() >
               nlohmann::json::parse(got[0].payload)["versionNumber"].get<int>());
}

BOOST_AUTO_TEST_CASE(subscribe_and_unsubscribe_events_list_the_filters) {
    Harness h;
    const auto monitor = h.connect("monitor");
    h.subscribe(monitor, "$aws/events/subscriptions/+/+");
    const auto dev = h.connect("dev");
    h.send(dev, Subscribe{1, {{"a/b", {}}, {"c/#", {}}}, {}});
    h.send(dev, Unsubscribe{2, {"a/b"}, {}});
    auto got = h.received(monitor);
    // The monitor's own subscription produced the first event.
    BOOST_REQUIRE_EQUAL(got.size(), 3U);
    BOOST_TEST(got[0].topic == "$aws/events/subscriptions/subscribed/monitor");
    got.erase(got.begin());
    BOOST_REQUIRE_EQUAL(got.size(), 2U);
    BOOST_TEST(got[0].topic == "$aws/events/subscriptions/subscribed/dev");
    BOOST_TEST(nlohmann::json::parse(got[0].payload)["topics"] == nlohmann::json({"a/b", "c/#"}));
    BOOST_TEST(got[1].topic == "$aws/events/subscriptions/unsubscribed/dev");
}

BOOST_AUTO_TEST_CASE(client_ids_with_wildcard_characters_get_no_lifecycle_events) {
    Harness h;
    const auto monitor = h.connect("monitor");
    h.subscribe(monitor, "$aws/events/presence/connected/+");
    h.connect("odd+id");
    BOOST_TEST(h.received(monitor).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(broker_mqtt5)

BOOST_AUTO_TEST_CASE(topic_alias_from_the_client_maps_to_its_topic) {
    Harness h;
    const auto sub = h.connect("sub");
    h.subscribe(sub, "long/topic/name");
    const auto pub = h.connect("pub", Version::v5);
    Properties with_alias;
    with_alias.topic_alias = 3;
    h.publish(pub, "long/topic/name", "first", QoS::at_most_once, false, 0, with_alias);
    h.publish(pub, "", "second", QoS::at_most_once, false, 0, with_alias);
    auto got = h.received(sub);
    BOOST_REQUIRE_EQUAL(got.size(), 2U);
    BOOST_TEST(got[1].topic == "long/topic/name");
}

BOOST_AUTO_TEST_CASE(topic_alias_above_the_maximum_disconnects_with_0x94) {
    Harness h;
    const auto pub = h.connect("pub", Version::v5);
    Properties p;
    p.topic_alias = 9;
    h.publish(pub, "t", "x", QoS::at_most_once, false, 0, p);
    auto d = h.take_all<Disconnect>(pub);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(static_cast<int>(d[0].reason) == 0x94);
}

BOOST_AUTO_TEST_CASE(user_properties_and_request_response_fields_are_forwarded_in_order) {
    Harness h;
    const auto sub = h.connect("sub", Version::v5);
    h.subscribe(sub, "req");
    const auto pub = h.connect("pub", Version::v5);
    Properties p;
    p.user_properties = {{"b", "2"}, {"a", "1"}, {"b", "3"}};
    p.response_topic = "resp/pub";
    p.correlation_data = std::string("\x00\x01", 2);
    p.content_type = "application/json";
    p.payload_format_indicator = 1;
    h.publish(pub, "req", "{}", QoS::at_most_once, false, 0, p);
    auto got = h.received(sub);
    BOOST_REQUIRE_EQUAL(got.size(), 1U);
    BOOST_TEST(got[0].properties.user_properties == p.user_properties);
    BOOST_TEST(got[0].properties.response_topic.value() == "resp/pub");
    BOOST_TEST(got[0].properties.correlation_data.value() == std::string("\x00\x01", 2));
    BOOST_TEST(got[0].properties.content_type.value() == "application/json");
}

BOOST_AUTO_TEST_CASE(user_properties_are_dropped_for_mqtt311_receivers) {
    Harness h;
    const auto sub = h.connect("sub");
    h.subscribe(sub, "t");
    const auto pub = h.connect("pub", Version::v5);
    Properties p;
    p.user_properties = {{"k", "v"}};
    h.publish(pub, "t", "x", QoS::at_most_once, false, 0, p);
    BOOST_TEST(h.received(sub).size() == 1U);
}

BOOST_AUTO_TEST_CASE(no_local_subscription_does_not_receive_its_own_messages) {
    Harness h;
    const auto c = h.connect("me", Version::v5);
    h.send(c, Subscribe{1, {{"chat", SubscribeOptions{QoS::at_most_once, true, false, 0}}}, {}});
    h.take(c);
    h.publish(c, "chat", "mine");
    BOOST_TEST(h.received(c).empty());
    const auto other = h.connect("other", Version::v5);
    h.publish(other, "chat", "theirs");
    BOOST_TEST(h.received(c).size() == 1U);
}

BOOST_AUTO_TEST_CASE(subscription_identifier_disconnects_with_0xa1) {
    Harness h;
    const auto c = h.connect("c", Version::v5);
    Subscribe s{1, {{"t", {}}}, {}};
    s.properties.subscription_identifiers.push_back(5);
    h.send(c, s);
    auto d = h.take_all<Disconnect>(c);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(static_cast<int>(d[0].reason) == 0xA1);
}

BOOST_AUTO_TEST_CASE(message_expiry_is_clamped_and_counts_down_for_receivers) {
    Harness h;
    auto sub = h.connect("sub", Version::v5, false, std::nullopt, [] { Properties p; p.session_expiry_interval = 3600; return p; }());
    h.subscribe(sub, "t");
    h.disconnect(sub);
    const auto pub = h.connect("pub", Version::v5);
    Properties p;
    p.message_expiry_interval = 100;
    h.publish(pub, "t", "x", QoS::at_least_once, false, 0, p);
    h.advance(seconds(40));
    Properties sp;
    sp.session_expiry_interval = 3600;
    sub = h.connect("sub", Version::v5, false, std::nullopt, sp);
    auto got = h.received(sub);
    BOOST_REQUIRE_EQUAL(got.size(), 1U);
    BOOST_TEST(got[0].properties.message_expiry_interval.value() == 60U);
}

BOOST_AUTO_TEST_CASE(queued_message_past_its_expiry_is_not_delivered) {
    Harness h;
    Properties sp;
    sp.session_expiry_interval = 3600;
    auto sub = h.connect("sub", Version::v5, false, std::nullopt, sp);
    h.subscribe(sub, "t");
    h.disconnect(sub);
    const auto pub = h.connect("pub", Version::v5);
    Properties p;
    p.message_expiry_interval = 10;
    h.publish(pub, "t", "x", QoS::at_least_once, false, 0, p);
    h.advance(seconds(11));
    sub = h.connect("sub", Version::v5, false, std::nullopt, sp);
    BOOST_TEST(h.received(sub).empty());
}

BOOST_AUTO_TEST_SUITE_END()
