// Reconnecting: exponential back-off with full jitter drawn from the client's own Rng
// (deterministic per seed), reset by an accepted CONNACK.
#include "client_harness.hpp"

#include <algorithm>
#include <limits>

using namespace iotsim;
using namespace iotsim::client_test;

namespace {

/// The waits (ns) of `n` consecutive refused attempts (transport_failed) of a client with `seed`.
std::vector<Duration::rep> refused_waits(std::uint64_t seed, int n) {
    ClientHost h({.client_id = "d"}, seed);
    h.start();
    std::vector<Duration::rep> waits;
    for (int i = 0; i < n; ++i) {
        h.fail_open();
        waits.push_back(ns(h.advance_until_open()));
    }
    return waits;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(client_reconnect)

BOOST_AUTO_TEST_CASE(backoff_delay_is_full_jitter_under_a_doubling_cap) {
    const Backoff b{seconds(1), seconds(60)};
    Rng rng(1);
    for (std::uint32_t attempt = 0; attempt < 10; ++attempt) {
        const Duration cap = std::min<Duration>(seconds(1) * (1LL << attempt), seconds(60));
        Duration lowest = cap;
        Duration highest = Duration::zero();
        for (int i = 0; i < 500; ++i) {
            const Duration d = backoff_delay(b, attempt, rng);
            BOOST_REQUIRE(d >= Duration::zero());
            BOOST_REQUIRE(d <= cap);
            lowest = std::min(lowest, d);
            highest = std::max(highest, d);
        }
        BOOST_TEST_CONTEXT("attempt " << attempt) {
            // Full jitter spreads over the whole [0, cap] range.
            BOOST_TEST(lowest.count() < cap.count() / 10);
            BOOST_TEST(highest.count() > cap.count() / 10 * 9);
        }
    }
}

BOOST_AUTO_TEST_CASE(backoff_delay_stays_capped_for_any_attempt_count) {
    Rng rng(3);
    const Backoff b{seconds(1), seconds(60)};
    BOOST_TEST(ns(backoff_delay(b, 1'000'000, rng)) <= ns(seconds(60)));
    BOOST_TEST(ns(backoff_delay(b, std::numeric_limits<std::uint32_t>::max(), rng)) <=
               ns(seconds(60)));
    BOOST_TEST(ns(backoff_delay(Backoff{Duration::zero(), seconds(60)}, 5, rng)) == 0);
}

BOOST_AUTO_TEST_CASE(reconnect_waits_are_the_backoff_draws_and_reset_after_connack) {
    const Backoff b{seconds(2), seconds(30)};
    ClientHost h({.client_id = "d", .connect_timeout = seconds(10), .backoff = b}, 42);
    Rng mirror = Rng::derive(42, "client");  // the client draws from nothing else
    h.start();
    for (std::uint32_t attempt = 0; attempt < 8; ++attempt) {
        h.fail_open();
        BOOST_TEST_CONTEXT("attempt " << attempt) {
            BOOST_TEST(ns(h.advance_until_open()) == ns(backoff_delay(b, attempt, mirror)));
        }
    }
    BOOST_TEST(h.client.stats().transport_failures == 8U);
    h.up();
    h.take_connect();
    h.connack();
    h.drop();
    // Attempt 0 again: the cap is back to `initial`.
    BOOST_TEST(ns(h.advance_until_open()) == ns(backoff_delay(b, 0, mirror)));
}

BOOST_AUTO_TEST_CASE(reconnect_waits_are_deterministic_for_a_seed) {
    BOOST_TEST(refused_waits(7, 6) == refused_waits(7, 6));
}

BOOST_AUTO_TEST_CASE(clients_with_different_rng_streams_reconnect_at_different_times) {
    // A fleet knocked offline together must not come back in lock-step.
    const auto a = refused_waits(1, 6);
    const auto b = refused_waits(2, 6);
    std::size_t same = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        same += a[i] == b[i] ? 1U : 0U;
    }
    BOOST_TEST(same == 0U);
}

BOOST_AUTO_TEST_CASE(refused_transport_reports_disconnected_and_backs_off) {
    ClientHost h({.client_id = "d"});
    h.start();
    h.fail_open();
    BOOST_REQUIRE_EQUAL(h.disconnected.size(), 1U);
    BOOST_TEST(h.disconnected[0].cause == DisconnectCause::transport_failed);
    BOOST_TEST(!h.disconnected[0].was_connected);
    BOOST_TEST(h.closes == 0U);  // nothing was open
    BOOST_TEST(h.client.state() == ClientState::backing_off);
    h.advance_until_open();
    BOOST_TEST(h.client.state() == ClientState::connecting);
    BOOST_TEST(h.client.stats().connect_attempts == 2U);
}

BOOST_AUTO_TEST_CASE(transport_closed_reports_disconnected_and_reconnects) {
    ClientHost h({.client_id = "d"});
    h.establish();
    h.drop();
    BOOST_REQUIRE_EQUAL(h.disconnected.size(), 1U);
    BOOST_TEST(h.disconnected[0].cause == DisconnectCause::transport_closed);
    BOOST_TEST(h.disconnected[0].reason == "transport closed");
    BOOST_TEST(h.disconnected[0].was_connected);
    BOOST_TEST(h.client.stats().connection_losses == 1U);
    h.establish();
    BOOST_TEST(h.client.stats().connects == 2U);
    BOOST_TEST(h.client.stats().reconnects == 1U);
}

BOOST_AUTO_TEST_CASE(without_auto_reconnect_a_lost_connection_goes_idle_until_started) {
    ClientHost h({.client_id = "d", .auto_reconnect = false});
    h.establish();
    h.drop();
    BOOST_TEST(h.client.state() == ClientState::idle);
    h.advance(hours(1));
    BOOST_TEST(h.opens == 1U);
    h.start();
    BOOST_TEST(h.opens == 2U);
}

BOOST_AUTO_TEST_CASE(disconnect_while_backing_off_stops_the_retries) {
    ClientHost h({.client_id = "d"});
    h.start();
    h.fail_open();
    h.disconnect();
    BOOST_TEST(h.client.state() == ClientState::stopped);
    h.advance(hours(1));
    BOOST_TEST(h.opens == 1U);
}

BOOST_AUTO_TEST_SUITE_END()
