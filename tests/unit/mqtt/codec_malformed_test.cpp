// Hostile and malformed input, one class per case: decoding returns a DecodeError with the reason
// an MQTT 5 server would send, and never crashes, throws or reads out of bounds.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include <boost/test/unit_test.hpp>

#include "codec_test_util.hpp"
#include "iotsim/mqtt/codec.hpp"
#include "iotsim/mqtt/packet.hpp"

namespace iotsim::mqtt {
namespace {

using test::bytes;
using test::connect_error;
using test::decode_error;
using test::decode_packet;

/// A packet with a one-byte remaining length around `body`.
std::string packet(int first_byte, const std::string& body) {
    BOOST_REQUIRE(body.size() < 128);
    return bytes({first_byte, static_cast<int>(body.size())}) + body;
}

/// CONNECT variable header up to and including the flags byte.
std::string connect_header(int level, int flags) {
    return bytes({0x00, 0x04, 'M', 'Q', 'T', 'T', level, flags, 0x00, 0x3C});
}

const std::string client_c = bytes({0x00, 0x01, 'c'});  // client id "c"
const std::string no_properties = bytes({0x00});        // property length 0

/// A v5 PUBLISH QoS 0 to topic "a" with the given property section (length included).
std::string publish_v5(const std::string& properties, const std::string& payload = "") {
    return packet(0x30, bytes({0x00, 0x01, 'a'}) + properties + payload);
}

void check_error(const DecodeError& error, ReasonCode reason) {
    BOOST_TEST(error.reason == reason);
    BOOST_TEST_MESSAGE(error.message);
}

BOOST_AUTO_TEST_SUITE(mqtt_codec_malformed)

// --- fixed header -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(first_packet_other_than_connect_is_a_protocol_error) {
    // [MQTT-3.1.0-1]
    check_error(connect_error(bytes({0xC0, 0x00})), ReasonCode::protocol_error);
    check_error(connect_error(packet(0x30, bytes({0x00, 0x01, 'a'}))), ReasonCode::protocol_error);
}

BOOST_AUTO_TEST_CASE(reserved_packet_type_0_is_malformed) {
    check_error(decode_error(Version::v5, bytes({0x00, 0x00})), ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(auth_in_v311_is_malformed) {
    // Type 15 is reserved in MQTT 3.1.1 §2.2.1.
    check_error(decode_error(Version::v311, bytes({0xF0, 0x00})), ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(bad_fixed_header_flags_are_malformed) {
    // [MQTT-2.2.2-2]; PUBREL, SUBSCRIBE, UNSUBSCRIBE need 0b0010 [MQTT-3.6.1-1], [MQTT-3.8.1-1],
    // [MQTT-3.10.1-1], every other type except PUBLISH needs 0.
    for (const int type : {2, 4, 5, 7, 9, 11, 12, 13, 14, 15}) {
        for (const int flags : {0x01, 0x02, 0x08}) {
            BOOST_TEST_CONTEXT("type " << type << " flags " << flags) {
                const DecodeError error =
                    decode_error(Version::v5, bytes({(type << 4) | flags, 0x00}));
                check_error(error, ReasonCode::malformed_packet);
                BOOST_TEST(error.message == "mqtt.decode: invalid fixed header flags");
            }
        }
    }
    for (const int type : {6, 8, 10}) {
        for (const int flags : {0x00, 0x03, 0x0A}) {
            BOOST_TEST_CONTEXT("type " << type << " flags " << flags) {
                const std::string wire = packet((type << 4) | flags, bytes({0x00, 0x01}));
                check_error(decode_error(Version::v311, wire), ReasonCode::malformed_packet);
            }
        }
    }
    const std::string body = connect_header(4, 0x02) + client_c;
    check_error(connect_error(packet(0x11, body)), ReasonCode::malformed_packet);
}

// --- CONNECT ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(connect_with_bad_protocol_name_is_rejected) {
    // [MQTT-3.1.2-1]: not MQTT at all.
    const std::string body =
        bytes({0x00, 0x04, 'M', 'Q', 'T', 't', 0x04, 0x02, 0x00, 0x3C}) + client_c;
    check_error(connect_error(packet(0x10, body)), ReasonCode::protocol_error);
}

BOOST_AUTO_TEST_CASE(mqtt_3_1_connect_is_unsupported_protocol_version) {
    // "MQIsdp" level 3 is MQTT 3.1, which AWS IoT Core does not speak.
    const std::string body =
        bytes({0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03, 0x02, 0x00, 0x3C}) + client_c;
    check_error(connect_error(packet(0x10, body)), ReasonCode::unsupported_protocol_version);
}

BOOST_AUTO_TEST_CASE(connect_protocol_level_3_is_unsupported_protocol_version) {
    // [MQTT-3.1.2-2]
    for (const int level : {0, 3, 6, 0x84}) {
        BOOST_TEST_CONTEXT("level " << level) {
            const std::string wire = packet(0x10, connect_header(level, 0x02) + client_c);
            check_error(connect_error(wire), ReasonCode::unsupported_protocol_version);
        }
    }
}

BOOST_AUTO_TEST_CASE(connect_reserved_flag_is_malformed) {
    // [MQTT-3.1.2-3]
    check_error(connect_error(packet(0x10, connect_header(4, 0x03) + client_c)),
                ReasonCode::malformed_packet);
    check_error(connect_error(packet(0x10, connect_header(5, 0x03) + no_properties + client_c)),
                ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(will_qos_or_retain_without_will_flag_is_malformed) {
    // 3.1.1 [MQTT-3.1.2-13], [MQTT-3.1.2-15]; 5 [MQTT-3.1.2-11], [MQTT-3.1.2-13]
    for (const int flags : {0x0A, 0x12, 0x22}) {
        check_error(connect_error(packet(0x10, connect_header(4, flags) + client_c)),
                    ReasonCode::malformed_packet);
    }
}

BOOST_AUTO_TEST_CASE(will_qos_3_is_malformed) {
    // 3.1.1 [MQTT-3.1.2-14]
    const std::string will = bytes({0x00, 0x01, 'w', 0x00, 0x00});
    check_error(connect_error(packet(0x10, connect_header(4, 0x1E) + client_c + will)),
                ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(will_topic_with_wildcard_or_empty_is_topic_name_invalid) {
    for (const std::string& topic : {bytes({0x00, 0x01, '#'}), bytes({0x00, 0x03, 'a', '/', '+'}),
                                     bytes({0x00, 0x00})}) {
        const std::string will = topic + bytes({0x00, 0x00});
        check_error(connect_error(packet(0x10, connect_header(4, 0x06) + client_c + will)),
                    ReasonCode::topic_name_invalid);
    }
}

BOOST_AUTO_TEST_CASE(password_without_user_name_is_malformed_in_v311_only) {
    // [MQTT-3.1.2-22] in 3.1.1; MQTT 5 §3.1.2.9 allows it.
    const std::string password = bytes({0x00, 0x02, 'p', 'w'});
    check_error(connect_error(packet(0x10, connect_header(4, 0x42) + client_c + password)),
                ReasonCode::malformed_packet);
    const Result<Connect, DecodeError> v5 = test::decode_connect_packet(
        packet(0x10, connect_header(5, 0x42) + no_properties + client_c + password));
    BOOST_REQUIRE_MESSAGE(v5.ok(), test::error_message(v5));
    BOOST_TEST(!v5.value().username.has_value());
    BOOST_TEST((v5.value().password == std::optional<std::string>("pw")));
}

BOOST_AUTO_TEST_CASE(truncated_connect_is_malformed_at_every_length) {
    const std::string body = connect_header(5, 0xEE) + bytes({0x03, 0x21, 0x00, 0x0A}) +
                             client_c + bytes({0x02, 0x01, 0x01}) +  // will properties
                             bytes({0x00, 0x01, 'w', 0x00, 0x01, 'x'}) +
                             bytes({0x00, 0x01, 'u', 0x00, 0x01, 'p'});
    BOOST_REQUIRE(test::decode_connect_packet(packet(0x10, body)).ok());
    for (std::size_t length = 0; length < body.size(); ++length) {
        BOOST_TEST_CONTEXT("body truncated to " << length) {
            check_error(connect_error(packet(0x10, body.substr(0, length))),
                        ReasonCode::malformed_packet);
        }
    }
}

BOOST_AUTO_TEST_CASE(string_length_beyond_the_packet_is_malformed_without_allocating) {
    // A 65,535-byte client id announced in a 12-byte body.
    const std::string wire = packet(0x10, connect_header(4, 0x02) + bytes({0xFF, 0xFF}));
    const DecodeError error = connect_error(wire);
    check_error(error, ReasonCode::malformed_packet);
    BOOST_TEST(error.message == "mqtt.decode: truncated packet");
}

// --- UTF-8 --------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(invalid_utf8_in_client_id_is_malformed) {
    // [MQTT-1.5.4-1]: 0xC3 0x28 is a lead byte followed by ASCII.
    const std::string wire =
        packet(0x10, connect_header(4, 0x02) + bytes({0x00, 0x02, 0xC3, 0x28}));
    const DecodeError error = connect_error(wire);
    check_error(error, ReasonCode::malformed_packet);
    BOOST_TEST(error.message == "mqtt.decode: invalid UTF-8 string");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_topic_is_malformed) {
    for (const Version version : {Version::v311, Version::v5}) {
        const std::string wire = packet(0x30, bytes({0x00, 0x02, 'a', 0xFF, 0x00}));
        check_error(decode_error(version, wire), ReasonCode::malformed_packet);
    }
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_user_property_is_malformed) {
    // User Property key, then value, each a UTF-8 string (MQTT 5 §3.3.2.3.7).
    const std::string bad_key = bytes({0x07, 0x26, 0x00, 0x01, 0x80, 0x00, 0x01, 'v'});
    const std::string bad_value = bytes({0x07, 0x26, 0x00, 0x01, 'k', 0x00, 0x01, 0xC0});
    check_error(decode_error(Version::v5, publish_v5(bad_key)), ReasonCode::malformed_packet);
    check_error(decode_error(Version::v5, publish_v5(bad_value)), ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(null_character_in_a_string_is_malformed) {
    // [MQTT-1.5.4-2]: U+0000 in client id, topic and topic filter.
    check_error(connect_error(packet(0x10, connect_header(4, 0x02) +
                                               bytes({0x00, 0x03, 'a', 0x00, 'b'}))),
                ReasonCode::malformed_packet);
    check_error(decode_error(Version::v311, packet(0x30, bytes({0x00, 0x02, 'a', 0x00}))),
                ReasonCode::malformed_packet);
    check_error(decode_error(Version::v311,
                             packet(0x82, bytes({0x00, 0x01, 0x00, 0x01, 0x00, 0x00}))),
                ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(surrogate_code_point_in_a_string_is_malformed) {
    // [MQTT-1.5.4-1]: U+D800 encoded as ED A0 80.
    check_error(decode_error(Version::v5, packet(0x30, bytes({0x00, 0x03, 0xED, 0xA0, 0x80,
                                                              0x00}))),
                ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(overlong_utf8_in_a_string_is_malformed) {
    // '/' encoded in two bytes (C0 AF) would sneak a level separator past naive checks.
    check_error(decode_error(Version::v311, packet(0x30, bytes({0x00, 0x02, 0xC0, 0xAF}))),
                ReasonCode::malformed_packet);
    check_error(decode_error(Version::v311, packet(0x30, bytes({0x00, 0x03, 0xE0, 0x80, 0xAF}))),
                ReasonCode::malformed_packet);
}

// --- PUBLISH ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(wildcard_in_publish_topic_is_topic_name_invalid) {
    // [MQTT-3.3.2-2]
    for (const Version version : {Version::v311, Version::v5}) {
        for (const std::string& topic :
             {bytes({0x00, 0x03, 'a', '/', '+'}), bytes({0x00, 0x01, '#'}),
              bytes({0x00, 0x03, 'a', '#', 'b'})}) {
            const std::string properties = version == Version::v5 ? no_properties : "";
            const DecodeError error = decode_error(version, packet(0x30, topic + properties));
            check_error(error, ReasonCode::topic_name_invalid);
        }
    }
}

BOOST_AUTO_TEST_CASE(empty_publish_topic_without_topic_alias_is_rejected) {
    // 3.1.1: topic names are at least one character [MQTT-4.7.3-1]. 5: allowed only with a
    // Topic Alias, else a Protocol Error (MQTT 5 §3.3.2.1).
    check_error(decode_error(Version::v311, packet(0x30, bytes({0x00, 0x00, 'x'}))),
                ReasonCode::topic_name_invalid);
    check_error(decode_error(Version::v5, packet(0x30, bytes({0x00, 0x00, 0x00, 'x'}))),
                ReasonCode::protocol_error);
    BOOST_TEST(
        decode_packet(Version::v5, packet(0x30, bytes({0x00, 0x00, 0x03, 0x23, 0x00, 0x01})))
            .ok());
}

BOOST_AUTO_TEST_CASE(publish_qos_3_is_malformed) {
    // [MQTT-3.3.1-4]
    check_error(decode_error(Version::v311, packet(0x36, bytes({0x00, 0x01, 'a', 0x00, 0x01}))),
                ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(dup_flag_on_qos_0_publish_is_malformed) {
    // [MQTT-3.3.1-2]
    check_error(decode_error(Version::v311, packet(0x38, bytes({0x00, 0x01, 'a'}))),
                ReasonCode::malformed_packet);
}

// --- packet identifiers -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(packet_id_0_is_a_protocol_error) {
    // 3.1.1 [MQTT-2.3.1-1], 5 [MQTT-2.2.1-3]
    for (const Version version : {Version::v311, Version::v5}) {
        const std::string props = version == Version::v5 ? no_properties : "";
        BOOST_TEST_CONTEXT(test::version_name(version)) {
            check_error(decode_error(version,
                                     packet(0x32, bytes({0x00, 0x01, 'a', 0x00, 0x00}) + props)),
                        ReasonCode::protocol_error);
            check_error(decode_error(version, packet(0x82, bytes({0x00, 0x00}) + props +
                                                               bytes({0x00, 0x01, 'a', 0x00}))),
                        ReasonCode::protocol_error);
            check_error(decode_error(version, packet(0xA2, bytes({0x00, 0x00}) + props +
                                                               bytes({0x00, 0x01, 'a'}))),
                        ReasonCode::protocol_error);
            check_error(decode_error(version, bytes({0x40, 0x02, 0x00, 0x00})),
                        ReasonCode::protocol_error);
        }
    }
}

// --- SUBSCRIBE / UNSUBSCRIBE --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(empty_subscribe_is_a_protocol_error) {
    // 3.1.1 [MQTT-3.8.3-3], 5 [MQTT-3.8.3-2]
    check_error(decode_error(Version::v311, bytes({0x82, 0x02, 0x00, 0x01})),
                ReasonCode::protocol_error);
    check_error(decode_error(Version::v5, bytes({0x82, 0x03, 0x00, 0x01, 0x00})),
                ReasonCode::protocol_error);
}

BOOST_AUTO_TEST_CASE(empty_unsubscribe_is_a_protocol_error) {
    // [MQTT-3.10.3-2]
    check_error(decode_error(Version::v311, bytes({0xA2, 0x02, 0x00, 0x01})),
                ReasonCode::protocol_error);
    check_error(decode_error(Version::v5, bytes({0xA2, 0x03, 0x00, 0x01, 0x00})),
                ReasonCode::protocol_error);
}

BOOST_AUTO_TEST_CASE(subscription_options_reserved_bits_are_malformed) {
    // 3.1.1 [MQTT-3-8.3-4]: bits 7-2 of the requested QoS byte; 5 [MQTT-3.8.3-5]: bits 7-6.
    const std::string filter = bytes({0x00, 0x01, 'a'});
    check_error(decode_error(Version::v311,
                             packet(0x82, bytes({0x00, 0x01}) + filter + bytes({0x04}))),
                ReasonCode::malformed_packet);
    check_error(decode_error(Version::v5, packet(0x82, bytes({0x00, 0x01, 0x00}) + filter +
                                                           bytes({0x40}))),
                ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(subscription_qos_3_is_malformed) {
    const std::string filter = bytes({0x00, 0x01, 'a'});
    check_error(decode_error(Version::v311,
                             packet(0x82, bytes({0x00, 0x01}) + filter + bytes({0x03}))),
                ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(retain_handling_3_is_a_protocol_error) {
    // MQTT 5 §3.8.3.1: "It is a Protocol Error to send a Retain Handling value of 3."
    const std::string filter = bytes({0x00, 0x01, 'a'});
    check_error(decode_error(Version::v5, packet(0x82, bytes({0x00, 0x01, 0x00}) + filter +
                                                           bytes({0x30}))),
                ReasonCode::protocol_error);
}

// --- properties ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(property_not_allowed_in_the_packet_is_malformed) {
    // MQTT 5 §2.2.2.2: Topic Alias in CONNECT, Reason String in PUBLISH, Session Expiry in the
    // will properties.
    const std::string topic_alias = bytes({0x03, 0x23, 0x00, 0x01});
    const DecodeError error =
        connect_error(packet(0x10, connect_header(5, 0x02) + topic_alias + client_c));
    check_error(error, ReasonCode::malformed_packet);
    BOOST_TEST(error.message == "mqtt.decode: property not allowed in this packet");

    check_error(decode_error(Version::v5, publish_v5(bytes({0x04, 0x1F, 0x00, 0x01, 'r'}))),
                ReasonCode::malformed_packet);

    const std::string will = bytes({0x05, 0x11, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'w', 0x00,
                                    0x00});
    check_error(connect_error(packet(0x10, connect_header(5, 0x06) + no_properties + client_c +
                                               will)),
                ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(unknown_property_identifier_is_malformed) {
    check_error(decode_error(Version::v5, publish_v5(bytes({0x02, 0x04, 0x00}))),
                ReasonCode::malformed_packet);
    // A two-byte variable byte integer identifier: none is defined.
    check_error(decode_error(Version::v5, publish_v5(bytes({0x03, 0x80, 0x01, 0x00}))),
                ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(duplicated_property_is_a_protocol_error) {
    const std::string two_content_types =
        bytes({0x08, 0x03, 0x00, 0x01, 'a', 0x03, 0x00, 0x01, 'b'});
    const DecodeError error = decode_error(Version::v5, publish_v5(two_content_types));
    check_error(error, ReasonCode::protocol_error);
    BOOST_TEST(error.message == "mqtt.decode: property included more than once");

    // SUBSCRIBE carries at most one Subscription Identifier (MQTT 5 §3.8.2.1.2).
    check_error(decode_error(Version::v5,
                             packet(0x82, bytes({0x00, 0x01, 0x04, 0x0B, 0x01, 0x0B, 0x02, 0x00,
                                                 0x01, 'a', 0x00}))),
                ReasonCode::protocol_error);
}

BOOST_AUTO_TEST_CASE(user_properties_and_publish_subscription_identifiers_may_repeat) {
    const std::string properties = bytes({
        0x16,                                 // property length 22
        0x0B, 0x01,                           //   Subscription Identifier 1
        0x0B, 0x02,                           //   Subscription Identifier 2
        0x26, 0x00, 0x01, 'k', 0x00, 0x00,    //   User Property k=""
        0x26, 0x00, 0x01, 'k', 0x00, 0x00,    //   User Property k=""
        0x26, 0x00, 0x01, 'k', 0x00, 0x00,    //   User Property k=""
    });
    const Result<Packet, DecodeError> result = decode_packet(Version::v5, publish_v5(properties));
    BOOST_REQUIRE_MESSAGE(result.ok(), test::error_message(result));
    const auto& publish = std::get<Publish>(result.value());
    BOOST_TEST(publish.properties.subscription_identifiers.size() == 2U);
    BOOST_TEST(publish.properties.user_properties.size() == 3U);
}

BOOST_AUTO_TEST_CASE(property_length_overrunning_the_packet_is_malformed) {
    const DecodeError error = decode_error(Version::v5, publish_v5(bytes({0x10, 0x01, 0x01})));
    check_error(error, ReasonCode::malformed_packet);
    BOOST_TEST(error.message == "mqtt.decode: property length exceeds the packet");
}

BOOST_AUTO_TEST_CASE(property_value_overrunning_the_property_length_is_malformed) {
    // Property length 3, but Message Expiry Interval needs 1 + 4 bytes; the payload follows.
    const std::string wire = publish_v5(bytes({0x03, 0x02, 0x00, 0x00}), "payload");
    const DecodeError error = decode_error(Version::v5, wire);
    check_error(error, ReasonCode::malformed_packet);
    BOOST_TEST(error.message == "mqtt.decode: property overruns property length");
}

BOOST_AUTO_TEST_CASE(property_length_over_four_bytes_is_malformed) {
    check_error(decode_error(Version::v5, publish_v5(bytes({0x80, 0x80, 0x80, 0x80, 0x01}))),
                ReasonCode::malformed_packet);
    check_error(decode_error(Version::v5, publish_v5(bytes({0x80, 0x00}))),  // [MQTT-1.5.5-1]
                ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(property_value_out_of_range_is_rejected) {
    // Receive Maximum 0 (§3.1.2.11.3), Maximum Packet Size 0 (§3.1.2.11.4), Request Problem
    // Information 2 (§3.1.2.11.7).
    for (const std::string& properties :
         {bytes({0x03, 0x21, 0x00, 0x00}), bytes({0x05, 0x27, 0x00, 0x00, 0x00, 0x00}),
          bytes({0x02, 0x17, 0x02})}) {
        check_error(connect_error(packet(0x10, connect_header(5, 0x02) + properties + client_c)),
                    ReasonCode::protocol_error);
    }
    // Maximum QoS 2 in CONNACK (§3.2.2.3.4).
    check_error(decode_error(Version::v5, bytes({0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x02})),
                ReasonCode::protocol_error);
    // Subscription Identifier 0 (§3.3.2.3.8) and Payload Format Indicator 2.
    check_error(decode_error(Version::v5, publish_v5(bytes({0x02, 0x0B, 0x00}))),
                ReasonCode::protocol_error);
    check_error(decode_error(Version::v5, publish_v5(bytes({0x02, 0x01, 0x02}))),
                ReasonCode::protocol_error);
    // Topic Alias 0 [MQTT-3.3.2-8].
    check_error(decode_error(Version::v5, publish_v5(bytes({0x03, 0x23, 0x00, 0x00}))),
                ReasonCode::topic_alias_invalid);
}

BOOST_AUTO_TEST_CASE(response_topic_with_wildcard_is_a_protocol_error) {
    // [MQTT-3.3.2-14]
    check_error(decode_error(Version::v5, publish_v5(bytes({0x04, 0x08, 0x00, 0x01, '#'}))),
                ReasonCode::protocol_error);
}

BOOST_AUTO_TEST_CASE(authentication_data_without_method_is_a_protocol_error) {
    // MQTT 5 §3.1.2.11.10
    const std::string properties = bytes({0x04, 0x16, 0x00, 0x01, 'x'});
    check_error(connect_error(packet(0x10, connect_header(5, 0x02) + properties + client_c)),
                ReasonCode::protocol_error);
}

// --- reason codes and acknowledgements ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(reason_code_not_defined_for_the_packet_is_a_protocol_error) {
    // PUBACK cannot carry 0x92, PUBREL cannot carry 0x10, DISCONNECT cannot carry 0x01.
    check_error(decode_error(Version::v5, bytes({0x40, 0x03, 0x00, 0x01, 0x92})),
                ReasonCode::protocol_error);
    check_error(decode_error(Version::v5, bytes({0x62, 0x03, 0x00, 0x01, 0x10})),
                ReasonCode::protocol_error);
    check_error(decode_error(Version::v5, bytes({0xE0, 0x01, 0x01})), ReasonCode::protocol_error);
    check_error(decode_error(Version::v311, bytes({0x20, 0x02, 0x00, 0x06})),
                ReasonCode::protocol_error);
    check_error(decode_error(Version::v311, bytes({0x90, 0x03, 0x00, 0x01, 0x03})),
                ReasonCode::protocol_error);
    check_error(decode_error(Version::v5, bytes({0xF0, 0x02, 0x01, 0x00})),
                ReasonCode::protocol_error);
}

BOOST_AUTO_TEST_CASE(connack_reserved_flags_are_malformed) {
    check_error(decode_error(Version::v311, bytes({0x20, 0x02, 0x02, 0x00})),
                ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(connack_with_session_present_on_refusal_is_a_protocol_error) {
    // 3.1.1 [MQTT-3.2.2-4], 5 [MQTT-3.2.2-6]
    check_error(decode_error(Version::v311, bytes({0x20, 0x02, 0x01, 0x05})),
                ReasonCode::protocol_error);
    check_error(decode_error(Version::v5, bytes({0x20, 0x03, 0x01, 0x87, 0x00})),
                ReasonCode::protocol_error);
}

BOOST_AUTO_TEST_CASE(acknowledgement_without_reason_codes_is_a_protocol_error) {
    check_error(decode_error(Version::v311, bytes({0x90, 0x02, 0x00, 0x01})),
                ReasonCode::protocol_error);
    check_error(decode_error(Version::v5, bytes({0xB0, 0x03, 0x00, 0x01, 0x00})),
                ReasonCode::protocol_error);
}

BOOST_AUTO_TEST_CASE(auth_with_reason_but_no_property_length_is_malformed) {
    // MQTT 5 §3.15.2.1 has no one-byte form.
    check_error(decode_error(Version::v5, bytes({0xF0, 0x01, 0x18})),
                ReasonCode::malformed_packet);
}

// --- length mismatches --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(trailing_bytes_after_a_packet_are_malformed) {
    const std::string connect = connect_header(4, 0x02) + client_c;
    const DecodeError error = connect_error(packet(0x10, connect + "!"));
    check_error(error, ReasonCode::malformed_packet);
    BOOST_TEST(error.message == "mqtt.decode: trailing bytes after packet");

    check_error(decode_error(Version::v311, bytes({0xC0, 0x01, 0x00})),
                ReasonCode::malformed_packet);
    check_error(decode_error(Version::v311, bytes({0x40, 0x03, 0x00, 0x01, 0x00})),
                ReasonCode::malformed_packet);
    check_error(decode_error(Version::v311, bytes({0x20, 0x03, 0x00, 0x00, 0x00})),
                ReasonCode::malformed_packet);
    check_error(decode_error(Version::v311, bytes({0xE0, 0x01, 0x00})),
                ReasonCode::malformed_packet);
    check_error(decode_error(Version::v5, bytes({0xE0, 0x03, 0x00, 0x00, 0x00})),
                ReasonCode::malformed_packet);
    check_error(decode_error(Version::v5, bytes({0x40, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00})),
                ReasonCode::malformed_packet);
}

BOOST_AUTO_TEST_CASE(truncated_packet_is_malformed) {
    check_error(decode_error(Version::v311, bytes({0x40, 0x01, 0x00})),
                ReasonCode::malformed_packet);
    check_error(decode_error(Version::v5, bytes({0x20, 0x02, 0x00, 0x00})),  // no prop length
                ReasonCode::malformed_packet);
    check_error(decode_error(Version::v311, bytes({0x30, 0x01, 0x00})),
                ReasonCode::malformed_packet);
    check_error(decode_error(Version::v311, bytes({0x82, 0x05, 0x00, 0x01, 0x00, 0x01, 'a'})),
                ReasonCode::malformed_packet);  // filter without its options byte
}

BOOST_AUTO_TEST_CASE(every_prefix_of_every_packet_decodes_or_fails_cleanly) {
    // Decoding must never read past the body it is given (ASan checks the reads).
    Publish publish{false, QoS::at_least_once, false, "a/b", 7, "payload", {}};
    publish.properties.user_properties = {{"k", "v"}};
    publish.properties.subscription_identifiers = {300};
    const std::string wire = test::encoded(publish, Version::v5) +
                             test::encoded(Subscribe{1, {{"f", {}}}, {}}, Version::v5) +
                             test::encoded(Suback{1, {0x00}, {}}, Version::v5);
    constexpr std::array<std::uint8_t, 18> valid_first_bytes{
        0x10, 0x20, 0x30, 0x32, 0x34, 0x3B, 0x40, 0x50, 0x62,
        0x70, 0x82, 0x90, 0xA2, 0xB0, 0xC0, 0xD0, 0xE0, 0xF0};
    for (std::size_t length = 0; length <= wire.size(); ++length) {
        // A copy per prefix puts the end of the buffer where ASan sees an overrun.
        const std::string prefix = wire.substr(0, length);
        for (const std::uint8_t first : valid_first_bytes) {
            for (const Version version : {Version::v311, Version::v5}) {
                const Result<Packet, DecodeError> result = decode(version, first, prefix);
                if (!result.ok()) {
                    BOOST_CHECK(result.error().message.starts_with("mqtt.decode: "));
                }
            }
            (void)decode_connect(first, prefix);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace iotsim::mqtt
