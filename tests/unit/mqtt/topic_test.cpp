// Topic syntax: the wildcard scan every PUBLISH's topic goes through, against a byte-by-byte
// reference at every length and offset (it reads eight bytes at a time).

#include <algorithm>
#include <string>

#include <boost/test/unit_test.hpp>

#include "iotsim/mqtt/topic.hpp"

namespace iotsim::mqtt {
namespace {

bool reference_contains_wildcard(std::string_view text) {
    for (const char c : text) {
        if (c == '+' || c == '#') {
            return true;
        }
    }
    return false;
}

BOOST_AUTO_TEST_SUITE(mqtt_topic)

BOOST_AUTO_TEST_CASE(a_wildcard_is_found_at_every_offset_and_its_neighbours_are_not_wildcards) {
    // The bytes next to '+' (0x2B) and '#' (0x23), and the same with the top bit set, which a
    // word-at-a-time compare could confuse with them.
    const std::string fillers = std::string("*,\"$a/") + '\xAB' + '\xA3' + '\x2A' + '\x22' +
                                '\x00' + '\xFF' + '\x80' + '\x7F';
    for (std::size_t length = 0; length <= 24; ++length) {
        for (const char filler : fillers) {
            const std::string plain(length, filler);
            BOOST_TEST(!contains_wildcard(plain));
            BOOST_TEST(is_valid_topic_name(plain) == !plain.empty());
            for (std::size_t at = 0; at < length; ++at) {
                for (const char wildcard : {'+', '#'}) {
                    std::string text = plain;
                    text[at] = wildcard;
                    BOOST_TEST_CONTEXT("length " << length << " at " << at << " filler "
                                                 << static_cast<int>(filler)) {
                        BOOST_TEST(contains_wildcard(text) == reference_contains_wildcard(text));
                        BOOST_TEST(contains_wildcard(text));
                        BOOST_TEST(!is_valid_topic_name(text));
                    }
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(slashes_are_counted_at_every_offset_and_their_neighbours_are_not_slashes) {
    // '/' is 0x2F: its neighbours, the same with the top bit set, and a byte that borrows in a
    // word-at-a-time compare (0x00 next to a match) must not be counted.
    const std::string fillers = std::string("a.0") + '\x2E' + '\x30' + '\xAF' + '\x00' + '\xFF' + '\x80' + '\x7F';
    for (std::size_t length = 0; length <= 24; ++length) {
        for (const char filler : fillers) {
            std::string text(length, filler);
            BOOST_TEST(count_slashes(text) == 0U);
            for (std::size_t at = 0; at < length; at += 1 + at % 3) {
                text[at] = '/';  // slashes accumulate: 1, 2, 3... of them at irregular offsets
                BOOST_TEST_CONTEXT("length " << length << " up to " << at << " filler " << static_cast<int>(filler)) {
                    BOOST_TEST(count_slashes(text) == static_cast<std::size_t>(std::count(text.begin(), text.end(), '/')));
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(topic_names_and_filters_keep_their_wildcard_rules) {
    BOOST_TEST(is_valid_topic_name("sensors/thing-1/temperature/and/more/levels"));
    BOOST_TEST(!is_valid_topic_name("sensors/thing-1/temperature/and/more/levels/#"));
    BOOST_TEST(!is_valid_topic_name("sensors/+/temperature"));
    BOOST_TEST(is_valid_topic_filter("sensors/+/temperature/#"));
    BOOST_TEST(!is_valid_topic_filter("sensors/a+/temperature"));
    BOOST_TEST(!is_valid_topic_filter("sensors/#/temperature"));
    const auto shared = parse_shared_filter("$share/group+1/sensors/#");
    BOOST_REQUIRE(shared.has_value());
    BOOST_TEST(!shared->valid);
    const auto good = parse_shared_filter("$share/group-1/sensors/#");
    BOOST_REQUIRE(good.has_value());
    BOOST_TEST(good->valid);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace iotsim::mqtt
