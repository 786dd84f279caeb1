// is_valid_mqtt_utf8: well-formed UTF-8 (Unicode Table 3-7), no U+0000 [MQTT-1.5.4-2], no
// surrogates [MQTT-1.5.4-1], no overlong forms, nothing above U+10FFFF.

#include <string>

#include <boost/test/unit_test.hpp>

#include "codec_test_util.hpp"
#include "iotsim/mqtt/codec.hpp"

namespace iotsim::mqtt {
namespace {

using test::bytes;

BOOST_AUTO_TEST_SUITE(mqtt_utf8)

BOOST_AUTO_TEST_CASE(ascii_and_multibyte_text_is_valid) {
    BOOST_TEST(is_valid_mqtt_utf8(""));
    BOOST_TEST(is_valid_mqtt_utf8("sensors/thing-1/temperature"));
    BOOST_TEST(is_valid_mqtt_utf8("\xC3\xA9t\xC3\xA9"));               // été
    BOOST_TEST(is_valid_mqtt_utf8("\xE2\x82\xAC 100"));                 // €
    BOOST_TEST(is_valid_mqtt_utf8("\xF0\x9F\x98\x80 emoji"));           // U+1F600
    BOOST_TEST(is_valid_mqtt_utf8(bytes({0xC2, 0x80})));                // U+0080
    BOOST_TEST(is_valid_mqtt_utf8(bytes({0xEF, 0xBF, 0xBF})));          // U+FFFF
    BOOST_TEST(is_valid_mqtt_utf8(bytes({0xED, 0x9F, 0xBF})));          // U+D7FF
    BOOST_TEST(is_valid_mqtt_utf8(bytes({0xEE, 0x80, 0x80})));          // U+E000
    BOOST_TEST(is_valid_mqtt_utf8(bytes({0xF4, 0x8F, 0xBF, 0xBF})));    // U+10FFFF
}

BOOST_AUTO_TEST_CASE(null_character_is_invalid_at_every_position) {
    // The eight-byte ASCII fast path must not skip a zero in any lane.
    const std::string text(40, 'a');
    for (std::size_t i = 0; i < text.size(); ++i) {
        std::string s = text;
        s[i] = '\0';
        BOOST_TEST_CONTEXT("position " << i) {
            BOOST_TEST(!is_valid_mqtt_utf8(s));
        }
    }
}

BOOST_AUTO_TEST_CASE(high_byte_is_checked_at_every_position) {
    const std::string text(40, 'a');
    for (std::size_t i = 0; i < text.size(); ++i) {
        std::string s = text;
        s[i] = static_cast<char>(0xFF);
        BOOST_TEST_CONTEXT("position " << i) {
            BOOST_TEST(!is_valid_mqtt_utf8(s));
        }
    }
}

BOOST_AUTO_TEST_CASE(every_length_and_position_is_checked_including_the_last_eight_bytes) {
    // The fast path checks the last eight bytes of a string at once when fewer than eight are
    // left: a zero, a stray high byte, a truncated or a valid multibyte sequence must be told
    // apart at every position of every length, whatever the window overlaps.
    for (std::size_t length = 1; length <= 24; ++length) {
        const std::string text(length, 'a');
        for (std::size_t i = 0; i < length; ++i) {
            BOOST_TEST_CONTEXT("length " << length << ", position " << i) {
                std::string zero = text;
                zero[i] = '\0';
                BOOST_TEST(!is_valid_mqtt_utf8(zero));
                std::string high = text;
                high[i] = static_cast<char>(0xFF);
                BOOST_TEST(!is_valid_mqtt_utf8(high));
                std::string lead = text;
                lead[i] = static_cast<char>(0xC3);  // a lead byte followed by 'a' or nothing
                BOOST_TEST(!is_valid_mqtt_utf8(lead));
                std::string euro = text;
                euro.replace(i, 1, "\xE2\x82\xAC");  // a valid three-byte sequence here
                BOOST_TEST(is_valid_mqtt_utf8(euro));
                BOOST_TEST(!is_valid_mqtt_utf8(euro + "\xE2\x82"));  // and a truncated one at the end
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(surrogates_are_invalid) {
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xED, 0xA0, 0x80})));  // U+D800
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xED, 0xBF, 0xBF})));  // U+DFFF
    // A CESU-8 pair for U+1F600.
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80})));
}

BOOST_AUTO_TEST_CASE(overlong_forms_are_invalid) {
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xC0, 0x80})));              // U+0000 ("modified UTF-8")
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xC1, 0xBF})));
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xE0, 0x9F, 0xBF})));
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xF0, 0x8F, 0xBF, 0xBF})));
}

BOOST_AUTO_TEST_CASE(code_points_above_u10ffff_are_invalid) {
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xF4, 0x90, 0x80, 0x80})));
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xF5, 0x80, 0x80, 0x80})));
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xFF})));
}

BOOST_AUTO_TEST_CASE(truncated_and_stray_sequences_are_invalid) {
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0x80})));                    // lone continuation
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({'a', 0xC3})));               // cut after the lead
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xE2, 0x82})));
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xF0, 0x9F, 0x98})));
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xE2, 0x28, 0xA1})));        // bad second byte
    BOOST_TEST(!is_valid_mqtt_utf8(bytes({0xF0, 0x9F, 0x28, 0x80})));  // bad third byte
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace iotsim::mqtt
