// The simulator's agenda against a reference ordering: (time, sequence) with FIFO among equal times.
#include <boost/test/unit_test.hpp>

#include <set>
#include <tuple>
#include <vector>

#include "iotsim/common/rng.hpp"
#include "iotsim/sim/event_queue.hpp"

using namespace iotsim;
using namespace iotsim::sim;

BOOST_AUTO_TEST_SUITE(event_queue)

BOOST_AUTO_TEST_CASE(events_come_out_by_time_and_equal_times_in_scheduling_order) {
    // Goal: the radix heap gives exactly the (time, sequence) order of a sorted reference.
    // Method: a random hold model with many ties (times drawn from a small range), interleaving
    // pushes and pops, with peeks before pops as the simulator's run loop does.
    Rng rng(42);
    EventQueue q;
    std::set<std::tuple<std::int64_t, std::uint64_t, std::uint32_t>> reference;  // (time, seq, tag)
    std::int64_t now = 0;
    std::uint32_t tag = 0;
    std::vector<std::uint32_t> popped;
    std::vector<std::uint32_t> expected;
    for (int step = 0; step < 200'000; ++step) {
        const bool push = q.empty() || rng.uniform(100) < 52;
        if (push) {
            const std::int64_t at = now + static_cast<std::int64_t>(rng.uniform(rng.chance(0.3) ? 4 : 1'000'000));
            q.push(Instant{Duration(at)}, EventKind::noop, tag);
            reference.emplace(at, q.scheduled() - 1, tag);
            ++tag;
        } else {
            const Event& peek = q.top();
            const Event e = q.pop();
            BOOST_REQUIRE_EQUAL(peek.a, e.a);
            BOOST_REQUIRE_GE(e.at.since_epoch.count(), now);
            now = e.at.since_epoch.count();
            popped.push_back(e.a);
            expected.push_back(std::get<2>(*reference.begin()));
            reference.erase(reference.begin());
        }
        if (step % 50'000 == 0) {
            BOOST_REQUIRE(popped == expected);
        }
    }
    BOOST_TEST(popped == expected, boost::test_tools::per_element());
    BOOST_TEST(q.size() == reference.size());
}

BOOST_AUTO_TEST_CASE(events_nanoseconds_to_weeks_apart_come_out_in_order_through_every_digit_of_the_time) {
    // Goal: every level of the heap's 4-bit digits (times differing from a nanosecond to 2^62 ns
    // from the current one) keeps the reference order, across all four words of its bitmap.
    Rng rng(7);
    EventQueue q;
    std::set<std::tuple<std::int64_t, std::uint64_t, std::uint32_t>> reference;
    std::int64_t now = 0;
    std::uint32_t tag = 0;
    std::vector<std::uint32_t> popped;
    std::vector<std::uint32_t> expected;
    for (int step = 0; step < 100'000; ++step) {
        const bool push = q.empty() || rng.uniform(100) < 50;
        if (push) {
            const unsigned bits = static_cast<unsigned>(rng.uniform(50));  // spans up to 2^49 ns each
            const std::int64_t at = now + static_cast<std::int64_t>(rng.uniform(std::uint64_t{1} << bits));
            q.push(Instant{Duration(at)}, EventKind::noop, tag);
            reference.emplace(at, q.scheduled() - 1, tag);
            ++tag;
        } else {
            const Event e = q.pop();
            now = e.at.since_epoch.count();
            popped.push_back(e.a);
            expected.push_back(std::get<2>(*reference.begin()));
            reference.erase(reference.begin());
        }
    }
    while (!q.empty()) {
        const Event e = q.pop();
        now = e.at.since_epoch.count();
        popped.push_back(e.a);
        expected.push_back(std::get<2>(*reference.begin()));
        reference.erase(reference.begin());
    }
    BOOST_TEST(popped == expected);
    BOOST_TEST(now > (std::int64_t{1} << 48));  // the run did reach the high digits
}

BOOST_AUTO_TEST_CASE(the_prefetch_peeks_name_the_events_that_pop_returns_next) {
    // The run loop prefetches the memory of peek_next() (and of peek_soon(k) when many events
    // share a time). A hint only, but a wrong one costs a cache miss: peek_next() must be the very
    // next event, and peek_soon(k) the (k+1)-th, whenever no push comes in between.
    Rng rng(9);
    EventQueue q;
    std::int64_t now = 0;
    std::uint32_t tag = 0;
    std::size_t checked_soon = 0;
    for (int step = 0; step < 100'000; ++step) {
        const bool push = q.empty() || rng.uniform(100) < 50;
        if (push) {
            const int bursts = rng.chance(0.1) ? 20 : 1;  // sometimes many at one time
            const std::int64_t at = now + static_cast<std::int64_t>(rng.uniform(rng.chance(0.5) ? 3 : 2'000'000'000));
            for (int i = 0; i < bursts; ++i) {
                q.push(Instant{Duration(at)}, EventKind::noop, tag++);
            }
            continue;
        }
        const Event* next = q.peek_next();
        BOOST_REQUIRE(next != nullptr);
        const std::uint32_t peeked = next->a;
        const Event* soon = q.peek_soon(2);
        const std::uint32_t soon_tag = soon != nullptr ? soon->a : 0;
        const Event e = q.pop();
        BOOST_REQUIRE_EQUAL(e.a, peeked);
        now = e.at.since_epoch.count();
        if (soon != nullptr && q.size() >= 2) {
            q.pop();
            BOOST_REQUIRE_EQUAL(q.pop().a, soon_tag);
            ++checked_soon;
        }
    }
    BOOST_TEST(checked_soon > 100U);
}

BOOST_AUTO_TEST_CASE(a_peek_does_not_stop_events_being_scheduled_before_the_peeked_one) {
    EventQueue q;
    q.push(Instant{seconds(10)}, EventKind::noop, 1);
    q.push(Instant{seconds(20)}, EventKind::noop, 2);
    (void)q.pop();                                      // now = 10 s
    BOOST_TEST(q.top().a == 2U);                        // the run loop peeks at 20 s and stops at 15 s
    q.push(Instant{seconds(15)}, EventKind::noop, 3);   // the host schedules at its now (15 s)
    q.push(Instant{seconds(15)}, EventKind::noop, 4);
    BOOST_TEST(q.pop().a == 3U);
    BOOST_TEST(q.pop().a == 4U);
    BOOST_TEST(q.pop().a == 2U);
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(pop_due_gives_the_reference_order_and_moves_nothing_when_the_next_event_is_later) {
    // Goal: the run loop's pop_due(until) pops exactly what top()/pop() would, and a refusal
    // (next event after `until`) leaves the queue able to take events at `until`.
    // Method: the hold model above, popping with a random horizon; after each refusal an event
    // is pushed at the horizon, where the simulator's clock then stands.
    Rng rng(7);
    EventQueue q;
    std::set<std::tuple<std::int64_t, std::uint64_t, std::uint32_t>> reference;
    std::int64_t now = 0;
    std::uint32_t tag = 0;
    std::size_t refusals = 0;
    const auto push_at = [&](std::int64_t at) {
        q.push(Instant{Duration(at)}, EventKind::noop, tag);
        reference.emplace(at, q.scheduled() - 1, tag);
        ++tag;
    };
    for (int step = 0; step < 200'000; ++step) {
        if (q.empty() || rng.uniform(100) < 52) {
            push_at(now + static_cast<std::int64_t>(rng.uniform(rng.chance(0.3) ? 4 : 1'000'000)));
            continue;
        }
        const std::int64_t until = now + static_cast<std::int64_t>(rng.uniform(600'000));
        Event e;
        const bool due = std::get<0>(*reference.begin()) <= until;
        BOOST_REQUIRE_EQUAL(q.pop_due(Instant{Duration(until)}, e), due);
        if (!due) {
            ++refusals;
            now = until;
            push_at(now);  // allowed: nothing moved past `until`
            continue;
        }
        BOOST_REQUIRE_EQUAL(e.a, std::get<2>(*reference.begin()));
        reference.erase(reference.begin());
        now = e.at.since_epoch.count();
    }
    BOOST_TEST(refusals > 20U);  // (44 with this seed)
    Event e;
    while (q.pop_due(Instant{Duration(std::int64_t{1} << 62)}, e)) {
        BOOST_REQUIRE_EQUAL(e.a, std::get<2>(*reference.begin()));
        reference.erase(reference.begin());
    }
    BOOST_TEST(reference.empty());
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_SUITE_END()
