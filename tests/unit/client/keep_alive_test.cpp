// Keep-alive: PINGREQ timing, and detecting a half-open connection (a network partition) by a
// missing PINGRESP.
#include "client_harness.hpp"

using namespace iotsim;
using namespace iotsim::client_test;

BOOST_AUTO_TEST_SUITE(client_keep_alive)

BOOST_AUTO_TEST_CASE(pingreq_after_keep_alive_seconds_without_sending) {
    // 3.1.1 [MQTT-3.1.2-23]: the client sends something at least every keep-alive.
    ClientHost h({.client_id = "d", .keep_alive_s = 60});
    h.establish();
    h.advance(seconds(59));
    BOOST_TEST(h.take().empty());
    h.advance(seconds(1));
    const auto pings = h.take_all<Pingreq>();
    BOOST_TEST(pings.size() == 1U);
    BOOST_TEST(h.client.stats().pings_sent == 1U);
}

BOOST_AUTO_TEST_CASE(traffic_both_ways_postpones_the_pingreq) {
    ClientHost h({.client_id = "d", .keep_alive_s = 60});
    h.establish();
    h.advance(seconds(40));
    h.publish("t", "x", QoS::at_least_once);
    h.puback(h.take_all<Publish>().at(0).packet_id);
    h.advance(seconds(59));
    BOOST_TEST(h.take().empty());
    h.advance(seconds(1));  // 60 s after the last packet each way
    BOOST_TEST(h.take_all<Pingreq>().size() == 1U);
}

BOOST_AUTO_TEST_CASE(the_puback_for_a_received_qos1_message_counts_as_sending_for_the_keep_alive) {
    // A subscriber that only receives QoS 1 sends a PUBACK per message: traffic both ways, so no
    // PINGREQ falls due until keep-alive seconds after that exchange.
    ClientHost h({.client_id = "d", .keep_alive_s = 60});
    h.establish();
    h.advance(seconds(50));
    h.send(Publish{false, QoS::at_least_once, false, "cmd/d", 9, "x", {}});
    BOOST_TEST(h.take_all<Ack>().size() == 1U);  // its PUBACK
    h.advance(seconds(59));
    BOOST_TEST(h.take_all<Pingreq>().empty());
    h.advance(seconds(1));  // 60 s after the PUBLISH and its PUBACK
    BOOST_TEST(h.take_all<Pingreq>().size() == 1U);
}

BOOST_AUTO_TEST_CASE(pingreq_goes_out_when_nothing_was_received_even_while_publishing) {
    // A device that only publishes QoS 0 would otherwise never notice a half-open connection.
    ClientHost h({.client_id = "d", .keep_alive_s = 60});
    h.establish();
    for (int i = 0; i < 5; ++i) {
        h.advance(seconds(10));
        h.publish("t", "x", QoS::at_most_once);
    }
    BOOST_TEST(h.take_all<Pingreq>().empty());
    h.advance(seconds(10));  // 60 s since the CONNACK, the last packet received
    BOOST_TEST(h.take_all<Pingreq>().size() == 1U);
}

BOOST_AUTO_TEST_CASE(missing_pingresp_closes_the_transport_and_reconnects) {
    ClientHost h({.client_id = "d", .keep_alive_s = 60});
    h.establish();
    h.advance(seconds(60));
    BOOST_TEST(h.take_all<Pingreq>().size() == 1U);
    h.advance(seconds(29));
    BOOST_TEST(h.closes == 0U);
    h.advance(seconds(1));  // half the keep-alive without PINGRESP
    BOOST_TEST(h.closes == 1U);
    BOOST_REQUIRE_EQUAL(h.disconnected.size(), 1U);
    BOOST_TEST(h.disconnected[0].cause == DisconnectCause::keep_alive_timeout);
    BOOST_TEST(h.disconnected[0].reason == "keep-alive: no PINGRESP within 30s");
    BOOST_TEST(h.disconnected[0].was_connected);
    BOOST_TEST(h.client.stats().ping_timeouts == 1U);
    BOOST_TEST(h.client.stats().connection_losses == 1U);
    h.advance_until_open();
    h.up();
    h.take_connect();
    h.connack();
    BOOST_TEST(h.client.stats().reconnects == 1U);
}

BOOST_AUTO_TEST_CASE(pingresp_in_time_keeps_the_connection_and_pings_recur_every_keep_alive) {
    ClientHost h({.client_id = "d", .keep_alive_s = 60});
    h.establish();
    Instant previous = h.now.monotonic;
    for (int round = 0; round < 10; ++round) {
        while (h.take_all<Pingreq>().empty()) {
            BOOST_REQUIRE((h.now.monotonic - previous) <= seconds(61));
            h.advance(seconds(1));
        }
        BOOST_TEST(ns(h.now.monotonic - previous) == ns(seconds(60)));
        previous = h.now.monotonic;
        h.advance(seconds(5));
        h.send(Pingresp{});
    }
    BOOST_TEST(h.closes == 0U);
    BOOST_TEST(h.client.state() == ClientState::connected);
    BOOST_TEST(h.client.stats().pings_sent == 10U);
}

BOOST_AUTO_TEST_CASE(ping_timeout_option_overrides_half_the_keep_alive) {
    ClientHost h({.client_id = "d", .keep_alive_s = 60, .ping_timeout = seconds(3)});
    h.establish();
    h.advance(seconds(60));
    h.advance(seconds(3));
    BOOST_TEST(h.closes == 1U);
    BOOST_TEST(h.disconnected.at(0).reason == "keep-alive: no PINGRESP within 3s");
}

BOOST_AUTO_TEST_CASE(keep_alive_zero_sends_no_pingreq) {
    ClientHost h({.client_id = "d", .keep_alive_s = 0});
    h.establish();
    h.advance(hours(2));
    BOOST_TEST(h.take().empty());
    BOOST_TEST(h.client.state() == ClientState::connected);
}

BOOST_AUTO_TEST_CASE(packets_cost_no_timer_operations) {
    // The timer is armed for the earliest deadline only; traffic moves deadlines later, which
    // the pending wake-up discovers when it fires.
    ClientHost h({.client_id = "d", .keep_alive_s = 60});
    h.establish();
    const std::size_t arms = h.timer_arms;
    for (int i = 0; i < 100; ++i) {
        h.publish("t", "x", QoS::at_most_once);
        h.send(Publish{false, QoS::at_most_once, false, "in", 0, "y", {}});
    }
    BOOST_TEST(h.timer_arms == arms);
}

BOOST_AUTO_TEST_SUITE_END()
