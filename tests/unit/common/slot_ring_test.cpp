#include <boost/test/unit_test.hpp>

#include <deque>
#include <string>

#include "iotsim/common/rng.hpp"
#include "iotsim/common/slot_ring.hpp"

using iotsim::Rng;
using iotsim::SlotRing;

namespace {

struct Item {
    std::uint64_t value = 0;
    std::string text;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(slot_ring)

BOOST_AUTO_TEST_CASE(random_pushes_pops_and_erases_keep_the_order_of_a_deque) {
    // A reference model: every operation on both, compared after each step. The ring grows past
    // its inline slots, wraps, and shrinks back once it drains after holding more than 16.
    SlotRing<Item, 2, 16> ring;
    std::deque<std::uint64_t> model;
    Rng rng(7);
    std::uint64_t next = 0;
    for (int step = 0; step < 200'000; ++step) {
        const std::uint64_t op = rng.uniform(100);
        // Bursts: long runs of pushes, then long runs of removals.
        const bool pushing = (step / 500) % 2 == 0;
        if ((pushing && op < 70) || (!pushing && op < 20) || model.empty()) {
            Item& slot = ring.push_back();
            slot.value = next;
            slot.text = std::to_string(next);
            model.push_back(next++);
        } else if (op < 90) {
            ring.pop_front();
            model.pop_front();
        } else {
            const auto i = static_cast<std::uint32_t>(rng.uniform(model.size()));
            ring.erase(i);
            model.erase(model.begin() + i);
        }
        BOOST_REQUIRE_EQUAL(ring.size(), model.size());
        BOOST_REQUIRE_EQUAL(ring.empty(), model.empty());
        if (!model.empty()) {
            BOOST_REQUIRE_EQUAL(ring.front().value, model.front());
            const auto last = static_cast<std::uint32_t>(model.size() - 1);
            BOOST_REQUIRE_EQUAL(ring[last].value, model.back());
            BOOST_REQUIRE_EQUAL(ring[last].text, std::to_string(model.back()));
        }
        if (step % 997 == 0) {
            for (std::uint32_t i = 0; i < ring.size(); ++i) {
                BOOST_REQUIRE_EQUAL(ring[i].value, model[i]);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(a_slot_hands_its_buffer_to_the_next_element_pushed_there) {
    SlotRing<Item, 2> ring;
    Item& a = ring.push_back();
    a.text.assign(100, 'a');
    const char* buffer = a.text.data();
    ring.pop_front();
    ring.push_back();
    Item& again = ring.push_back();  // the third push lands on the first slot again
    BOOST_TEST(static_cast<const void*>(again.text.data()) == static_cast<const void*>(buffer));
    BOOST_TEST(again.text.capacity() >= 100U);
}

BOOST_AUTO_TEST_CASE(an_erased_element_leaves_its_slot_to_be_reused) {
    SlotRing<Item, 4> ring;
    for (int i = 0; i < 3; ++i) {
        Item& slot = ring.push_back();
        slot.value = static_cast<std::uint64_t>(i);
        slot.text.assign(50, static_cast<char>('a' + i));
    }
    ring.erase(1);
    BOOST_REQUIRE_EQUAL(ring.size(), 2U);
    BOOST_TEST(ring[0].value == 0U);
    BOOST_TEST(ring[1].value == 2U);
    // The erased element's string went to the slot just before the front: its buffer is kept.
    ring.push_back();
    ring.push_back();
    BOOST_TEST(ring.size() == 4U);
    BOOST_TEST(ring[3].text == std::string(50, 'b'));
}

BOOST_AUTO_TEST_CASE(vacant_slots_can_be_released_and_a_drained_ring_goes_back_inline) {
    SlotRing<Item, 2> ring;
    for (int i = 0; i < 8; ++i) {
        ring.push_back().text.assign(40, 'x');
    }
    for (int i = 0; i < 8; ++i) {
        ring.pop_front();
    }
    std::size_t kept = 0;
    ring.for_each_vacant([&](Item& s) { kept += s.text.capacity() >= 40 ? 1 : 0; });
    BOOST_TEST(kept == 8U);  // eight slots on the heap, each with its buffer
    ring.shrink_if_empty();
    std::size_t slots = 0;
    ring.for_each_vacant([&](Item&) { ++slots; });
    BOOST_TEST(slots == 2U);  // inline again
    BOOST_TEST(ring.empty());
}

BOOST_AUTO_TEST_CASE(a_moved_ring_keeps_its_elements_and_the_source_is_empty_and_usable) {
    SlotRing<Item, 2> a;
    for (std::uint64_t i = 0; i < 5; ++i) {
        a.push_back().value = i;  // on the heap: five do not fit inline
    }
    a.pop_front();
    SlotRing<Item, 2> b(std::move(a));
    BOOST_REQUIRE_EQUAL(b.size(), 4U);
    for (std::uint32_t i = 0; i < 4; ++i) {
        BOOST_TEST(b[i].value == i + 1);
    }
    BOOST_TEST(a.empty());  // NOLINT(bugprone-use-after-move): the state after a move is specified
    a.push_back().value = 9;
    a.push_back().value = 10;
    a.push_back().value = 11;
    BOOST_TEST(a.size() == 3U);
    BOOST_TEST(a[2].value == 11U);
    SlotRing<Item, 2> c;
    c = std::move(b);
    BOOST_TEST(c.size() == 4U);
    BOOST_TEST(c.front().value == 1U);
    BOOST_TEST(b.empty());  // NOLINT(bugprone-use-after-move)
}

BOOST_AUTO_TEST_SUITE_END()
