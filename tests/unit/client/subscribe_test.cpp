// Subscribing, unsubscribing, and restoring subscriptions when the server has no session.
#include "client_harness.hpp"

using namespace iotsim;
using namespace iotsim::client_test;

namespace {

std::vector<std::string> filters_of(const Subscribe& s) {
    std::vector<std::string> out;
    for (const auto& e : s.entries) {
        out.push_back(e.filter);
    }
    return out;
}

/// Subscribes on a connected host and grants every filter.
void subscribe_granted(ClientHost& h, std::vector<SubscribeEntry> entries) {
    h.subscribe(std::move(entries));
    const auto subs = h.take_all<Subscribe>();
    BOOST_REQUIRE_EQUAL(subs.size(), 1U);
    h.send(Suback{subs[0].packet_id, std::vector<std::uint8_t>(subs[0].entries.size(), 1), {}});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(client_subscribe)

BOOST_AUTO_TEST_CASE(subscribe_completes_with_the_suback_reasons) {
    ClientHost h({.client_id = "d"});
    h.establish();
    const std::uint64_t token = h.subscribe({entry("a/#"), entry("b", QoS::at_most_once)});
    const auto subs = h.take_all<Subscribe>();
    BOOST_REQUIRE_EQUAL(subs.size(), 1U);
    BOOST_TEST(subs[0].packet_id != 0);
    BOOST_TEST(filters_of(subs[0]) == (std::vector<std::string>{"a/#", "b"}));
    BOOST_TEST(subs[0].entries[1].options.qos == QoS::at_most_once);
    h.send(Suback{subs[0].packet_id, {0x01, 0x80}, {}});
    BOOST_REQUIRE_EQUAL(h.subscribed.size(), 1U);
    BOOST_TEST(h.subscribed[0].token == token);
    BOOST_TEST(h.subscribed[0].reasons == (std::vector<std::uint8_t>{0x01, 0x80}));
    // Only the granted filter is remembered.
    BOOST_REQUIRE_EQUAL(h.client.subscriptions().size(), 1U);
    BOOST_TEST(h.client.subscriptions()[0].filter == "a/#");
}

BOOST_AUTO_TEST_CASE(subscribe_while_offline_is_sent_after_the_connack) {
    ClientHost h({.client_id = "d"});
    const std::uint64_t token = h.subscribe({entry("a")});
    h.establish();
    const auto subs = h.take_all<Subscribe>();
    BOOST_REQUIRE_EQUAL(subs.size(), 1U);
    h.send(Suback{subs[0].packet_id, {0x01}, {}});
    BOOST_TEST(h.subscribed.at(0).token == token);
}

BOOST_AUTO_TEST_CASE(clean_session_reconnect_resubscribes_the_remembered_filters) {
    ClientHost h({.client_id = "d"});
    h.establish();
    subscribe_granted(h, {entry("a/#"), entry("b")});
    subscribe_granted(h, {entry("c")});
    h.drop();
    h.establish(/*session_present=*/false);
    const auto subs = h.take_all<Subscribe>();
    BOOST_REQUIRE_EQUAL(subs.size(), 1U);
    BOOST_TEST(filters_of(subs[0]) == (std::vector<std::string>{"a/#", "b", "c"}));
    h.send(Suback{subs[0].packet_id, {1, 1, 1}, {}});
    BOOST_TEST(h.subscribed.size() == 2U);  // the resubscribe completes no application token
    BOOST_TEST(h.client.stats().resubscribes == 1U);
    BOOST_TEST(h.client.subscriptions().size() == 3U);
}

BOOST_AUTO_TEST_CASE(present_persistent_session_is_not_resubscribed) {
    ClientHost h({.client_id = "d", .clean_start = false});
    h.establish();
    subscribe_granted(h, {entry("a")});
    h.drop();
    h.establish(/*session_present=*/true);
    BOOST_TEST(h.take_all<Subscribe>().empty());
    BOOST_TEST(h.client.stats().resubscribes == 0U);
}

BOOST_AUTO_TEST_CASE(persistent_session_the_server_lost_is_resubscribed) {
    ClientHost h({.client_id = "d", .clean_start = false});
    h.establish();
    subscribe_granted(h, {entry("a")});
    h.drop();
    h.establish(/*session_present=*/false);  // expired on the server meanwhile
    BOOST_TEST(h.take_all<Subscribe>().size() == 1U);
}

BOOST_AUTO_TEST_CASE(resubscribe_off_leaves_subscriptions_to_the_application) {
    ClientHost h({.client_id = "d", .resubscribe = false});
    h.establish();
    subscribe_granted(h, {entry("a")});
    h.drop();
    h.establish();
    BOOST_TEST(h.take_all<Subscribe>().empty());
}

BOOST_AUTO_TEST_CASE(resubscribe_carries_at_most_eight_filters_per_subscribe) {
    // AWS IoT Core fails every filter of a SUBSCRIBE with more than 8.
    ClientHost h({.client_id = "d"});
    h.establish();
    for (int i = 0; i < 10; ++i) {
        subscribe_granted(h, {entry("f/" + std::to_string(i))});
    }
    h.drop();
    h.establish();
    const auto subs = h.take_all<Subscribe>();
    BOOST_REQUIRE_EQUAL(subs.size(), 2U);
    BOOST_TEST(subs[0].entries.size() == 8U);
    BOOST_TEST(subs[1].entries.size() == 2U);
    BOOST_TEST(subs[1].entries[1].filter == "f/9");
}

BOOST_AUTO_TEST_CASE(filters_refused_on_resubscribe_are_forgotten_and_counted) {
    ClientHost h({.client_id = "d"});
    h.establish();
    subscribe_granted(h, {entry("a"), entry("b")});
    h.drop();
    h.establish();
    const auto subs = h.take_all<Subscribe>();
    h.send(Suback{subs.at(0).packet_id, {0x80, 0x01}, {}});
    BOOST_REQUIRE_EQUAL(h.client.subscriptions().size(), 1U);
    BOOST_TEST(h.client.subscriptions()[0].filter == "b");
    BOOST_TEST(h.client.stats().subscriptions_lost == 1U);
}

BOOST_AUTO_TEST_CASE(resubscribing_a_filter_replaces_its_options) {
    // [MQTT-3.8.4-3]
    ClientHost h({.client_id = "d"});
    h.establish();
    subscribe_granted(h, {entry("a", QoS::at_least_once)});
    subscribe_granted(h, {entry("a", QoS::at_most_once)});
    BOOST_REQUIRE_EQUAL(h.client.subscriptions().size(), 1U);
    BOOST_TEST(h.client.subscriptions()[0].options.qos == QoS::at_most_once);
}

BOOST_AUTO_TEST_CASE(unsubscribe_forgets_the_filters_and_completes_with_the_unsuback) {
    ClientHost h({.client_id = "d", .version = Version::v5});
    h.establish();
    subscribe_granted(h, {entry("a"), entry("b")});
    const std::uint64_t token = h.unsubscribe({"a"});
    BOOST_REQUIRE_EQUAL(h.client.subscriptions().size(), 1U);  // forgotten at once
    const auto unsubs = h.take_all<Unsubscribe>();
    BOOST_REQUIRE_EQUAL(unsubs.size(), 1U);
    BOOST_TEST(unsubs[0].filters == (std::vector<std::string>{"a"}));
    h.send(Unsuback{unsubs[0].packet_id, {0x00}, {}});
    BOOST_REQUIRE_EQUAL(h.unsubscribed.size(), 1U);
    BOOST_TEST(h.unsubscribed[0].token == token);
    BOOST_TEST(h.unsubscribed[0].reasons == (std::vector<std::uint8_t>{0x00}));
    h.drop();
    h.establish();
    const auto subs = h.take_all<Subscribe>();
    BOOST_REQUIRE_EQUAL(subs.size(), 1U);
    BOOST_TEST(filters_of(subs[0]) == (std::vector<std::string>{"b"}));
}

BOOST_AUTO_TEST_CASE(v311_unsuback_completes_with_no_reasons) {
    ClientHost h({.client_id = "d"});
    h.establish();
    const std::uint64_t token = h.unsubscribe({"a", "b"});
    h.send(Unsuback{h.take_all<Unsubscribe>().at(0).packet_id, {}, {}});
    BOOST_TEST(h.unsubscribed.at(0).token == token);
    BOOST_TEST(h.unsubscribed.at(0).reasons.empty());
}

BOOST_AUTO_TEST_CASE(subscribe_unacknowledged_at_connection_loss_is_sent_again) {
    ClientHost h({.client_id = "d"});
    h.establish();
    const std::uint64_t token = h.subscribe({entry("a")});
    h.take();
    h.drop();
    h.establish();
    const auto subs = h.take_all<Subscribe>();
    BOOST_REQUIRE_EQUAL(subs.size(), 1U);  // the request itself; nothing was granted to resubscribe
    h.send(Suback{subs[0].packet_id, {0x01}, {}});
    BOOST_TEST(h.subscribed.at(0).token == token);
}

BOOST_AUTO_TEST_CASE(missing_suback_counts_for_the_ack_timeout) {
    ClientHost h({.client_id = "d", .keep_alive_s = 300, .ack_timeout = seconds(20)});
    h.establish();
    h.subscribe({entry("a")});
    h.advance(seconds(20));
    BOOST_TEST(h.disconnected.at(0).cause == DisconnectCause::ack_timeout);
}

BOOST_AUTO_TEST_CASE(suback_with_the_wrong_number_of_reasons_is_a_protocol_error) {
    ClientHost h({.client_id = "d"});
    h.establish();
    h.subscribe({entry("a"), entry("b")});
    h.send(Suback{h.take_all<Subscribe>().at(0).packet_id, {0x01}, {}});
    BOOST_TEST(h.disconnected.at(0).cause == DisconnectCause::protocol_error);
    BOOST_TEST(h.subscribed.empty());
    // The request is still owed: sent again on the next connection.
    h.establish();
    BOOST_TEST(h.take_all<Subscribe>().size() == 1U);
}

BOOST_AUTO_TEST_SUITE_END()
