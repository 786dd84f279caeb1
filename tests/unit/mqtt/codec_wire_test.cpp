// Canonical packets as annotated wire bytes: what real clients send decodes to the expected
// structs, and encoding those structs gives back the same bytes.

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "codec_test_util.hpp"
#include "iotsim/mqtt/codec.hpp"
#include "iotsim/mqtt/packet.hpp"

namespace iotsim::mqtt {
namespace {

using test::bytes;
using test::decode_packet;
using test::encoded;
using test::hex;

/// The wire decodes to `expected` and `expected` encodes to exactly the wire.
void check_wire(const std::string& wire, const Packet& expected, Version version) {
    const Result<Packet, DecodeError> decoded = decode_packet(version, wire);
    BOOST_REQUIRE_MESSAGE(decoded.ok(), test::error_message(decoded));
    BOOST_TEST(decoded.value() == expected);
    BOOST_TEST(hex(encoded(expected, version)) == hex(wire));
}

BOOST_AUTO_TEST_SUITE(mqtt_codec_wire)

BOOST_AUTO_TEST_CASE(mosquitto_pub_v311_connect_decodes_and_reencodes_identically) {
    // `mosquitto_pub -t test -m hello` (mosquitto 2.0, MQTT 3.1.1 by default).
    const std::string wire = bytes({
        0x10, 0x21,                     // CONNECT, remaining length 33
        0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
        0x04,                           // protocol level 4 = MQTT 3.1.1
        0x02,                           // connect flags: clean session
        0x00, 0x3C,                     // keep alive 60 s
        0x00, 0x15,                     // client id, 21 bytes:
        'm', 'o', 's', 'q', '-', 'X', 'e', '0', 'M', 'q', '8',
        'G', '5', 'H', 'v', '3', 's', 'O', 'u', 'B', 'V',
    });
    Connect expected;
    expected.version = Version::v311;
    expected.clean_start = true;
    expected.keep_alive = 60;
    expected.client_id = "mosq-Xe0Mq8G5Hv3sOuBV";

    const Result<Connect, DecodeError> first = test::decode_connect_packet(wire);
    BOOST_REQUIRE_MESSAGE(first.ok(), test::error_message(first));
    BOOST_TEST((first.value() == expected));
    check_wire(wire, expected, Version::v311);
}

BOOST_AUTO_TEST_CASE(mosquitto_pub_v311_publish_and_disconnect_match_the_wire) {
    const std::string publish = bytes({
        0x30, 0x0B,                     // PUBLISH, QoS 0, no retain, remaining length 11
        0x00, 0x04, 't', 'e', 's', 't', // topic "test"
        'h', 'e', 'l', 'l', 'o',        // payload (no packet id at QoS 0)
    });
    check_wire(publish, Publish{false, QoS::at_most_once, false, "test", 0, "hello", {}},
               Version::v311);
    check_wire(bytes({0xE0, 0x00}), Disconnect{}, Version::v311);  // DISCONNECT
}

BOOST_AUTO_TEST_CASE(mosquitto_sub_v311_subscribe_matches_the_wire) {
    // `mosquitto_sub -t 'a/#' -q 1`
    const std::string wire = bytes({
        0x82, 0x08,                     // SUBSCRIBE (flags 0b0010), remaining length 8
        0x00, 0x01,                     // packet id 1
        0x00, 0x03, 'a', '/', '#',      // topic filter "a/#"
        0x01,                           // requested QoS 1
    });
    check_wire(wire, Subscribe{1, {{"a/#", {QoS::at_least_once, false, false, 0}}}, {}},
               Version::v311);
    check_wire(bytes({0x90, 0x03, 0x00, 0x01, 0x01}), Suback{1, {0x01}, {}}, Version::v311);
}

BOOST_AUTO_TEST_CASE(v5_connack_with_server_capabilities_matches_the_wire) {
    // What an AWS IoT Core-like server announces to an MQTT 5 client.
    const std::string wire = bytes({
        0x20, 0x18,                     // CONNACK, remaining length 24
        0x00,                           // acknowledge flags: no session present
        0x00,                           // reason: Success
        0x15,                           // property length 21
        0x21, 0x00, 0x64,               //   Receive Maximum 100
        0x22, 0x00, 0x08,               //   Topic Alias Maximum 8
        0x24, 0x01,                     //   Maximum QoS 1
        0x25, 0x01,                     //   Retain Available
        0x27, 0x00, 0x02, 0x48, 0x00,   //   Maximum Packet Size 149504
        0x28, 0x01,                     //   Wildcard Subscription Available
        0x29, 0x00,                     //   Subscription Identifiers Available: no
        0x2A, 0x01,                     //   Shared Subscription Available
    });
    Connack expected;
    expected.properties.receive_maximum = 100;
    expected.properties.topic_alias_maximum = 8;
    expected.properties.maximum_qos = 1;
    expected.properties.retain_available = 1;
    expected.properties.maximum_packet_size = 149'504;
    expected.properties.wildcard_subscription_available = 1;
    expected.properties.subscription_identifier_available = 0;
    expected.properties.shared_subscription_available = 1;
    check_wire(wire, expected, Version::v5);
}

BOOST_AUTO_TEST_CASE(v5_connect_puts_will_properties_before_will_topic) {
    const std::string wire = bytes({
        0x10, 0x22,                     // CONNECT, remaining length 34
        0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
        0x05,                           // protocol level 5
        0x2E,                           // flags: will retain, will QoS 1, will, clean start
        0x00, 0x0A,                     // keep alive 10 s
        0x05,                           // property length 5
        0x11, 0x00, 0x00, 0x00, 0x3C,   //   Session Expiry Interval 60 s
        0x00, 0x02, 'c', '1',           // client id "c1"
        0x05,                           // will property length 5
        0x18, 0x00, 0x00, 0x00, 0x05,   //   Will Delay Interval 5 s
        0x00, 0x01, 'w',                // will topic "w"
        0x00, 0x03, 'b', 'y', 'e',      // will payload "bye"
    });
    Connect expected;
    expected.version = Version::v5;
    expected.clean_start = true;
    expected.keep_alive = 10;
    expected.client_id = "c1";
    expected.properties.session_expiry_interval = 60;
    Will& will = expected.will.emplace();
    will.topic = "w";
    will.payload = "bye";
    will.qos = QoS::at_least_once;
    will.retain = true;
    will.properties.will_delay_interval = 5;
    check_wire(wire, expected, Version::v5);
}

BOOST_AUTO_TEST_CASE(v5_puback_uses_the_shortest_form_its_reason_and_properties_allow) {
    // MQTT 5 §3.4.2.1: reason and property length may be omitted.
    check_wire(bytes({0x40, 0x02, 0x00, 0x2A}),  // PUBACK 42, Success implied
               Ack{PacketType::puback, 42, ReasonCode::success, {}}, Version::v5);
    check_wire(bytes({0x40, 0x03, 0x00, 0x2A, 0x10}),  // No matching subscribers, no properties
               Ack{PacketType::puback, 42, ReasonCode::no_matching_subscribers, {}},
               Version::v5);
    Ack with_reason_string{PacketType::puback, 42, ReasonCode::quota_exceeded, {}};
    with_reason_string.properties.reason_string = "quo";
    check_wire(bytes({
                   0x40, 0x0A,                  // PUBACK, remaining length 10
                   0x00, 0x2A,                  // packet id 42
                   0x97,                        // Quota exceeded
                   0x06,                        // property length 6
                   0x1F, 0x00, 0x03, 'q', 'u', 'o', //   Reason String "quo"
               }),
               with_reason_string, Version::v5);
}

BOOST_AUTO_TEST_CASE(a_success_ack_written_directly_is_the_bytes_of_the_ack_encoded_in_either_version) {
    for (const Version v : {Version::v311, Version::v5}) {
        for (const PacketType t : {PacketType::puback, PacketType::pubrec, PacketType::pubrel, PacketType::pubcomp}) {
            for (const std::uint16_t id : {std::uint16_t{1}, std::uint16_t{0x2A}, std::uint16_t{0x1234}, std::uint16_t{65535}}) {
                std::string direct = "x";  // appended to, not replaced
                encode_success_ack(t, id, direct);
                BOOST_TEST(hex(direct) == hex("x" + encoded(Ack{t, id, ReasonCode::success, {}}, v)));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(the_header_length_of_an_encoded_packet_is_the_one_read_frame_finds_for_every_length_size) {
    // Remaining lengths that take 1, 2, 3 and 4 bytes (127 | 128, 16383 | 16384, 2097151 | 2097152).
    for (const std::size_t payload : {std::size_t{0}, std::size_t{100}, std::size_t{200}, std::size_t{16'000},
                                      std::size_t{17'000}, std::size_t{2'097'000}, std::size_t{2'098'000}}) {
        std::string out;
        encode(PublishRef{false, QoS::at_least_once, false, "a/b", 7, std::string(payload, 'x'), nullptr}, Version::v311, out);
        const Frame f = read_frame(out, remaining_length_max);
        BOOST_TEST(encoded_header_bytes(out.data()) == f.header_bytes);
    }
}

BOOST_AUTO_TEST_CASE(v5_acks_accept_the_long_forms_too) {
    // A peer may include a Success reason and an empty property list explicitly.
    const Result<Packet, DecodeError> puback =
        decode_packet(Version::v5, bytes({0x40, 0x04, 0x00, 0x2A, 0x00, 0x00}));
    BOOST_REQUIRE(puback.ok());
    const Ack puback_success{PacketType::puback, 42, ReasonCode::success, {}};
    BOOST_TEST(puback.value() == Packet{puback_success});

    const Result<Packet, DecodeError> pubrel =
        decode_packet(Version::v5, bytes({0x62, 0x03, 0x00, 0x2A, 0x00}));
    BOOST_REQUIRE(pubrel.ok());
    const Ack pubrel_success{PacketType::pubrel, 42, ReasonCode::success, {}};
    BOOST_TEST(pubrel.value() == Packet{pubrel_success});

    const Result<Packet, DecodeError> disconnect =
        decode_packet(Version::v5, bytes({0xE0, 0x02, 0x00, 0x00}));
    BOOST_REQUIRE(disconnect.ok());
    BOOST_TEST(disconnect.value() == Packet{Disconnect{}});
}

BOOST_AUTO_TEST_CASE(v5_disconnect_uses_the_shortest_form) {
    // MQTT 5 §3.14.2.1.
    check_wire(bytes({0xE0, 0x00}), Disconnect{}, Version::v5);
    check_wire(bytes({0xE0, 0x01, 0x8E}),  // Session taken over
               Disconnect{ReasonCode::session_taken_over, {}}, Version::v5);
}

BOOST_AUTO_TEST_CASE(v5_auth_omits_reason_only_when_success_without_properties) {
    // MQTT 5 §3.15.2.1: no one-byte form; a reason is always followed by a property length.
    check_wire(bytes({0xF0, 0x00}), Auth{}, Version::v5);
    check_wire(bytes({0xF0, 0x02, 0x18, 0x00}), Auth{ReasonCode::continue_authentication, {}},
               Version::v5);
}

BOOST_AUTO_TEST_CASE(v5_publish_with_topic_alias_and_empty_topic_matches_the_wire) {
    Publish expected{false, QoS::at_least_once, false, "", 1, "", {}};
    expected.properties.topic_alias = 5;
    check_wire(bytes({
                   0x32, 0x08,                  // PUBLISH QoS 1, remaining length 8
                   0x00, 0x00,                  // topic "" (the alias stands for it)
                   0x00, 0x01,                  // packet id 1
                   0x03,                        // property length 3
                   0x23, 0x00, 0x05,            //   Topic Alias 5
               }),
               expected, Version::v5);
}

BOOST_AUTO_TEST_CASE(v5_subscribe_options_pack_into_one_byte) {
    Subscribe expected{10, {{"a/b", {QoS::at_least_once, true, true, 2}}}, {}};
    expected.properties.subscription_identifiers = {5};
    check_wire(bytes({
                   0x82, 0x0B,                  // SUBSCRIBE, remaining length 11
                   0x00, 0x0A,                  // packet id 10
                   0x02,                        // property length 2
                   0x0B, 0x05,                  //   Subscription Identifier 5
                   0x00, 0x03, 'a', '/', 'b',   // topic filter "a/b"
                   0x2D,                        // retain handling 2, RAP, no local, QoS 1
               }),
               expected, Version::v5);
}

BOOST_AUTO_TEST_CASE(pings_are_two_bytes) {
    check_wire(bytes({0xC0, 0x00}), Pingreq{}, Version::v311);
    check_wire(bytes({0xD0, 0x00}), Pingresp{}, Version::v5);
}

BOOST_AUTO_TEST_CASE(pubrel_subscribe_and_unsubscribe_carry_flags_0010) {
    // [MQTT-3.6.1-1], [MQTT-3.8.1-1], [MQTT-3.10.1-1]
    BOOST_TEST(static_cast<int>(static_cast<unsigned char>(
                   encoded(Ack{PacketType::pubrel, 1, ReasonCode::success, {}}, Version::v5)[0])) ==
               0x62);
    BOOST_TEST(static_cast<int>(static_cast<unsigned char>(
                   encoded(Unsubscribe{1, {"x"}, {}}, Version::v311)[0])) == 0xA2);
}

BOOST_AUTO_TEST_CASE(a_publish_encoded_from_views_is_the_same_bytes_as_from_a_publish) {
    // The hot paths (a client's publish, the broker's deliveries) encode from views; the bytes
    // must be those of the Publish struct in every combination of version, flags and properties.
    Properties props;
    props.content_type = "application/json";
    props.message_expiry_interval = 30;
    props.user_properties = {{"k", "v"}};
    for (const Version version : {Version::v311, Version::v5}) {
        for (const QoS qos : {QoS::at_most_once, QoS::at_least_once}) {
            for (const bool flags : {false, true}) {
                for (const bool with_props : {false, true}) {
                    Publish p;
                    p.dup = flags && qos != QoS::at_most_once;
                    p.qos = qos;
                    p.retain = flags;
                    p.topic = "tele/dev-000001";
                    p.packet_id = qos == QoS::at_most_once ? 0 : 513;
                    p.payload = std::string(200, 'x');  // a two-byte remaining length
                    if (with_props) {
                        p.properties = props;
                    }
                    const PublishRef ref{p.dup, p.qos, p.retain, p.topic, p.packet_id, p.payload,
                                         with_props ? &props : nullptr};
                    std::string from_ref = "prefix";  // appended, as into a connection's outbox
                    encode(ref, version, from_ref);
                    BOOST_TEST_CONTEXT("v5 " << (version == Version::v5) << " qos " << static_cast<int>(qos)
                                             << " flags " << flags << " properties " << with_props) {
                        BOOST_TEST(hex(from_ref) == hex("prefix" + encoded(Packet{p}, version)));
                        BOOST_TEST(encoded_size(ref, version) == encoded_size(Packet{p}, version));
                    }
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(a_publish_decoded_into_a_reused_packet_is_the_packet_decode_returns) {
    // The hot paths decode into one Publish, packet after packet: nothing of the previous packet
    // may survive (a longer payload, a packet id, MQTT 5 properties), and errors are decode()'s.
    Properties props;
    props.content_type = "application/json";
    props.message_expiry_interval = 30;
    props.user_properties = {{"k", "v"}};
    for (const Version version : {Version::v311, Version::v5}) {
        Publish reused;  // one per version, as the broker keeps them
        std::vector<std::string> wires;
        for (const QoS qos : {QoS::at_least_once, QoS::at_most_once}) {
            for (const bool flags : {true, false}) {
                for (const bool with_props : {true, false}) {
                    Publish p;
                    p.dup = flags && qos != QoS::at_most_once;
                    p.qos = qos;
                    p.retain = flags;
                    p.topic = flags ? "tele/a-much-longer-topic-name/x" : "t";
                    p.packet_id = qos == QoS::at_most_once ? 0 : 513;
                    p.payload = std::string(flags ? 300 : 3, flags ? 'x' : 'y');
                    if (with_props && version == Version::v5) {
                        p.properties = props;
                    }
                    wires.push_back(encoded(Packet{p}, version));
                }
            }
        }
        // Malformed ones in between: QoS 3, DUP on QoS 0, a wildcard in the topic, truncated.
        wires.push_back(bytes({0x36, 0x03, 0x00, 0x01, 'a'}));
        wires.push_back(bytes({0x38, 0x03, 0x00, 0x01, 'a'}));
        wires.push_back(bytes({0x30, 0x03, 0x00, 0x01, '#'}));
        wires.push_back(bytes({0x32, 0x04, 0x00, 0x05, 'a', 'b'}));
        for (const std::string& wire : wires) {
            const Frame frame = read_frame(wire, remaining_length_max);
            BOOST_REQUIRE(frame.status == FrameStatus::complete);
            const std::string_view body = std::string_view(wire).substr(frame.header_bytes);
            const auto expected = decode(version, frame.first_byte, body);
            const auto error = decode_publish_into(version, frame.first_byte, body, reused);
            BOOST_TEST_CONTEXT("v5 " << (version == Version::v5) << " wire " << hex(wire)) {
                BOOST_TEST(error.has_value() == !expected.ok());
                if (expected.ok()) {
                    BOOST_TEST((reused == std::get<Publish>(expected.value())));
                } else if (error) {
                    BOOST_TEST(error->message == expected.error().message);
                    BOOST_TEST(static_cast<int>(error->reason) == static_cast<int>(expected.error().reason));
                }
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace iotsim::mqtt
