// Every packet type survives encode -> read_frame -> decode unchanged, in both protocol versions,
// and encoded_size() predicts exactly the bytes encode() appends.

#include <array>
#include <string>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "codec_test_util.hpp"
#include "iotsim/mqtt/codec.hpp"
#include "iotsim/mqtt/packet.hpp"

namespace iotsim::mqtt {
namespace {

using test::encoded;
using test::hex;
using test::version_name;

constexpr std::array versions{Version::v311, Version::v5};

/// Encodes, checks the size and framing, decodes, and returns the decoded packet.
Packet roundtrip(const Packet& packet, Version version) {
    std::string wire = "prefix";  // encode appends: existing bytes stay untouched
    encode(packet, version, wire);
    BOOST_REQUIRE(wire.starts_with("prefix"));
    wire.erase(0, 6);
    BOOST_TEST(encoded_size(packet, version) == wire.size());

    const Frame frame = read_frame(wire, remaining_length_max);
    BOOST_REQUIRE(frame.status == FrameStatus::complete);
    BOOST_TEST(frame.total_bytes() == wire.size());
    const std::string_view body = std::string_view(wire).substr(frame.header_bytes);

    if (const auto* connect = std::get_if<Connect>(&packet)) {
        const Result<Connect, DecodeError> first = decode_connect(frame.first_byte, body);
        BOOST_REQUIRE_MESSAGE(first.ok(), test::error_message(first) << " in " << hex(wire));
        BOOST_TEST((first.value() == *connect));
    }
    const Result<Packet, DecodeError> decoded = decode(version, frame.first_byte, body);
    BOOST_REQUIRE_MESSAGE(decoded.ok(), test::error_message(decoded) << " in " << hex(wire));
    BOOST_TEST(packet_type(decoded.value()) == packet_type(packet));
    return decoded.value();
}

void check_roundtrip(const Packet& packet, Version version) {
    BOOST_TEST_CONTEXT(test::hex(encoded(packet, version))) {
        BOOST_TEST(roundtrip(packet, version) == packet);
    }
}

UserProperty user(std::string key, std::string value) {
    return UserProperty{std::move(key), std::move(value)};
}

std::vector<UserProperty> rich_user_properties() {
    // Repeated keys are legal and their order is significant (MQTT 5 §3.3.2.3.7).
    return {user("region", "eu-west-1"), user("region", "us-east-1"),
            user("emoji", "\xF0\x9F\x98\x80"), user("", "")};
}

Properties rich_publish_properties() {
    Properties p;
    p.payload_format_indicator = 1;
    p.message_expiry_interval = 3600;
    p.content_type = "application/json";
    p.response_topic = "devices/thing-1/reply";
    p.correlation_data = std::string("\x00\x01\xFE\xFF", 4);
    p.subscription_identifiers = {1, 127, 128, 16'383, 16'384, remaining_length_max};
    p.topic_alias = 7;
    p.user_properties = rich_user_properties();
    return p;
}

Connect rich_connect(Version version) {
    Connect c;
    c.version = version;
    c.clean_start = false;
    c.keep_alive = 1200;
    c.client_id = "thing-\xC3\xA9t\xC3\xA9";  // "thing-été"
    Will& will = c.will.emplace();
    will.topic = "devices/thing-1/status";
    will.payload = std::string("offline\x00\xFF", 9);
    will.qos = QoS::at_least_once;
    will.retain = true;
    c.username = "alice";
    c.password = std::string("p\x00ss", 4);  // binary data
    if (version == Version::v5) {
        c.properties.session_expiry_interval = 0xFFFF'FFFF;
        c.properties.receive_maximum = 100;
        c.properties.maximum_packet_size = 149'504;
        c.properties.topic_alias_maximum = 8;
        c.properties.request_response_information = 1;
        c.properties.request_problem_information = 0;
        c.properties.user_properties = rich_user_properties();
        c.properties.authentication_method = "SCRAM-SHA-256";
        c.properties.authentication_data = std::string("\x00nonce", 6);
        will.properties.will_delay_interval = 30;
        will.properties.payload_format_indicator = 0;
        will.properties.message_expiry_interval = 60;
        will.properties.content_type = "text/plain";
        will.properties.response_topic = "devices/thing-1/will-reply";
        will.properties.correlation_data = "corr";
        will.properties.user_properties = {user("why", "lost")};
    }
    return c;
}

BOOST_AUTO_TEST_SUITE(mqtt_codec_roundtrip)

BOOST_AUTO_TEST_CASE(connect_with_will_credentials_and_properties_round_trips) {
    for (const Version version : versions) {
        BOOST_TEST_CONTEXT(version_name(version)) {
            check_roundtrip(rich_connect(version), version);
        }
    }
}

BOOST_AUTO_TEST_CASE(minimal_connect_round_trips) {
    for (const Version version : versions) {
        Connect c;
        c.version = version;  // empty client id, no will, no credentials
        check_roundtrip(c, version);
    }
}

BOOST_AUTO_TEST_CASE(v5_connect_with_password_but_no_user_name_round_trips) {
    // MQTT 5 §3.1.2.9 dropped 3.1.1's [MQTT-3.1.2-22].
    Connect c;
    c.version = Version::v5;
    c.client_id = "c";
    c.password = "secret";
    check_roundtrip(c, Version::v5);
}

BOOST_AUTO_TEST_CASE(connect_with_each_will_qos_round_trips) {
    for (const Version version : versions) {
        for (const QoS qos : {QoS::at_most_once, QoS::at_least_once, QoS::exactly_once}) {
            Connect c = rich_connect(version);
            c.will->qos = qos;
            c.will->retain = false;
            check_roundtrip(c, version);
        }
    }
}

BOOST_AUTO_TEST_CASE(connack_round_trips) {
    Connack v311{true, 0, {}};
    check_roundtrip(v311, Version::v311);
    check_roundtrip(Connack{false, 0x05, {}}, Version::v311);  // not authorized

    Connack v5;
    v5.session_present = true;
    v5.properties.session_expiry_interval = 3600;
    v5.properties.assigned_client_identifier = "auto-7f3a";
    v5.properties.server_keep_alive = 1200;
    v5.properties.authentication_method = "SCRAM-SHA-256";
    v5.properties.authentication_data = "server-final";
    v5.properties.response_information = "responses/";
    v5.properties.server_reference = "other.example.com";
    v5.properties.reason_string = "welcome";
    v5.properties.receive_maximum = 100;
    v5.properties.topic_alias_maximum = 8;
    v5.properties.maximum_qos = 1;
    v5.properties.retain_available = 1;
    v5.properties.user_properties = rich_user_properties();
    v5.properties.maximum_packet_size = 149'504;
    v5.properties.wildcard_subscription_available = 1;
    v5.properties.subscription_identifier_available = 0;
    v5.properties.shared_subscription_available = 1;
    check_roundtrip(v5, Version::v5);
    check_roundtrip(Connack{false, 0x87, {}}, Version::v5);  // not authorized
}

BOOST_AUTO_TEST_CASE(publish_of_each_qos_round_trips) {
    for (const Version version : versions) {
        for (const QoS qos : {QoS::at_most_once, QoS::at_least_once, QoS::exactly_once}) {
            const int qos_value = static_cast<int>(qos);
            BOOST_TEST_CONTEXT(version_name(version) << " QoS " << qos_value) {
                Publish p;
                p.qos = qos;
                p.dup = qos != QoS::at_most_once;
                p.retain = true;
                p.topic = "sensors/thing-1/temperature";
                p.packet_id = qos == QoS::at_most_once ? 0 : 0xFFFF;
                p.payload = std::string("{\"t\":21.5}\x00\xFF", 12);
                if (version == Version::v5) {
                    p.properties = rich_publish_properties();
                }
                check_roundtrip(p, version);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(publish_with_empty_payload_round_trips) {
    for (const Version version : versions) {
        Publish p;
        p.topic = "a";
        check_roundtrip(p, version);
    }
}

BOOST_AUTO_TEST_CASE(v5_publish_with_topic_alias_and_empty_topic_round_trips) {
    // MQTT 5 §3.3.2.1: a zero-length Topic Name is allowed when a Topic Alias is present.
    Publish p;
    p.qos = QoS::at_least_once;
    p.packet_id = 1;
    p.topic = "";
    p.properties.topic_alias = 3;
    p.payload = "x";
    check_roundtrip(p, Version::v5);
}

BOOST_AUTO_TEST_CASE(publish_with_large_payload_uses_three_and_four_byte_remaining_length) {
    for (const std::size_t size : {std::size_t{200}, std::size_t{20'000}, std::size_t{2'200'000}}) {
        Publish p;
        p.topic = "big";
        p.payload.assign(size, 'z');
        const std::string wire = encoded(p, Version::v5);
        const Frame frame = read_frame(wire, remaining_length_max);
        BOOST_TEST(frame.header_bytes == (size < 16'000 ? 3U : size < 2'000'000 ? 4U : 5U));
        check_roundtrip(p, Version::v311);
        check_roundtrip(p, Version::v5);
    }
}

BOOST_AUTO_TEST_CASE(publish_with_long_property_section_uses_two_byte_property_length) {
    Publish p;
    p.topic = "t";
    p.properties.content_type = std::string(300, 'c');
    check_roundtrip(p, Version::v5);
}

BOOST_AUTO_TEST_CASE(acks_round_trip) {
    for (const PacketType type :
         {PacketType::puback, PacketType::pubrec, PacketType::pubrel, PacketType::pubcomp}) {
        BOOST_TEST_CONTEXT(packet_type_name(type)) {
            check_roundtrip(Ack{type, 42, ReasonCode::success, {}}, Version::v311);
            check_roundtrip(Ack{type, 42, ReasonCode::success, {}}, Version::v5);

            const bool pubrel_family = type == PacketType::pubrel || type == PacketType::pubcomp;
            const ReasonCode failure = pubrel_family ? ReasonCode::packet_identifier_not_found
                                                     : ReasonCode::quota_exceeded;
            check_roundtrip(Ack{type, 1, failure, {}}, Version::v5);

            Ack rich{type, 0xFFFF, failure, {}};
            rich.properties.reason_string = "because";
            rich.properties.user_properties = rich_user_properties();
            check_roundtrip(rich, Version::v5);

            Ack props_only{type, 7, ReasonCode::success, {}};
            props_only.properties.reason_string = "fine";
            check_roundtrip(props_only, Version::v5);
        }
    }
}

BOOST_AUTO_TEST_CASE(subscribe_round_trips) {
    Subscribe v311;
    v311.packet_id = 10;
    v311.entries = {{"a/+/c", {QoS::at_most_once, false, false, 0}},
                    {"a/#", {QoS::at_least_once, false, false, 0}},
                    {"$share/group/x", {QoS::exactly_once, false, false, 0}}};
    check_roundtrip(v311, Version::v311);

    Subscribe v5 = v311;
    v5.entries[0].options.no_local = true;
    v5.entries[1].options.retain_as_published = true;
    v5.entries[1].options.retain_handling = 1;
    v5.entries[2].options.retain_handling = 2;
    // Filter syntax is the broker's call (a bad filter fails only its SUBACK entry).
    v5.entries.push_back({"", SubscribeOptions{}});
    v5.properties.subscription_identifiers = {268'435'455};
    v5.properties.user_properties = rich_user_properties();
    check_roundtrip(v5, Version::v5);
}

BOOST_AUTO_TEST_CASE(suback_round_trips) {
    check_roundtrip(Suback{5, {0x00, 0x01, 0x02, 0x80}, {}}, Version::v311);
    Suback v5{5, {0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2}, {}};
    v5.properties.reason_string = "partly";
    v5.properties.user_properties = rich_user_properties();
    check_roundtrip(v5, Version::v5);
}

BOOST_AUTO_TEST_CASE(unsubscribe_round_trips) {
    Unsubscribe u{9, {"a/b", "c/#", "\xE2\x82\xAC"}, {}};
    check_roundtrip(u, Version::v311);
    u.properties.user_properties = rich_user_properties();
    check_roundtrip(u, Version::v5);
}

BOOST_AUTO_TEST_CASE(unsuback_round_trips) {
    check_roundtrip(Unsuback{9, {}, {}}, Version::v311);
    Unsuback v5{9, {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91}, {}};
    v5.properties.reason_string = "some";
    v5.properties.user_properties = rich_user_properties();
    check_roundtrip(v5, Version::v5);
}

BOOST_AUTO_TEST_CASE(pings_round_trip) {
    for (const Version version : versions) {
        check_roundtrip(Pingreq{}, version);
        check_roundtrip(Pingresp{}, version);
    }
}

BOOST_AUTO_TEST_CASE(disconnect_round_trips) {
    check_roundtrip(Disconnect{}, Version::v311);
    check_roundtrip(Disconnect{}, Version::v5);
    check_roundtrip(Disconnect{ReasonCode::session_taken_over, {}}, Version::v5);
    Disconnect rich{ReasonCode::server_moved, {}};
    rich.properties.session_expiry_interval = 0;
    rich.properties.server_reference = "elsewhere";
    rich.properties.reason_string = "maintenance";
    rich.properties.user_properties = rich_user_properties();
    check_roundtrip(rich, Version::v5);
    Disconnect props_only;
    props_only.properties.reason_string = "bye";
    check_roundtrip(props_only, Version::v5);
}

BOOST_AUTO_TEST_CASE(auth_round_trips) {
    check_roundtrip(Auth{}, Version::v5);
    Auth rich{ReasonCode::continue_authentication, {}};
    rich.properties.authentication_method = "SCRAM-SHA-256";
    rich.properties.authentication_data = std::string("\x00\x01", 2);
    rich.properties.reason_string = "step 2";
    rich.properties.user_properties = rich_user_properties();
    check_roundtrip(rich, Version::v5);
    check_roundtrip(Auth{ReasonCode::re_authenticate, {}}, Version::v5);
}

BOOST_AUTO_TEST_CASE(v311_encoding_drops_mqtt5_only_fields) {
    // 3.1.1 has no properties, no ack reasons and no UNSUBACK payload.
    Publish publish;
    publish.topic = "t";
    publish.properties = rich_publish_properties();
    Publish stripped = publish;
    stripped.properties = {};
    BOOST_TEST(roundtrip(publish, Version::v311) == Packet{stripped});

    const Ack ack{PacketType::puback, 3, ReasonCode::quota_exceeded, {}};
    const Ack success{PacketType::puback, 3, ReasonCode::success, {}};
    BOOST_TEST(roundtrip(ack, Version::v311) == Packet{success});

    const Unsuback unsuback{4, {0x11}, {}};
    const Unsuback no_reasons{4, {}, {}};
    BOOST_TEST(roundtrip(unsuback, Version::v311) == Packet{no_reasons});

    Subscribe subscribe{5, {{"f", {QoS::at_least_once, true, true, 2}}}, {}};
    const Subscribe qos_only{5, {{"f", {QoS::at_least_once, false, false, 0}}}, {}};
    BOOST_TEST(roundtrip(subscribe, Version::v311) == Packet{qos_only});
}

BOOST_AUTO_TEST_CASE(encoded_size_equals_bytes_appended_by_encode) {
    Publish big;
    big.topic = "big";
    big.payload.assign(70'000, 'p');
    big.properties = rich_publish_properties();
    const std::vector<Packet> packets{
        rich_connect(Version::v5),
        Connack{},
        big,
        Ack{PacketType::pubrel, 1, ReasonCode::packet_identifier_not_found, {}},
        Subscribe{1, {{"x", SubscribeOptions{}}}, {}},
        Suback{1, {0}, {}},
        Unsubscribe{1, {"x"}, {}},
        Unsuback{1, {0}, {}},
        Pingreq{},
        Pingresp{},
        Disconnect{ReasonCode::keep_alive_timeout, {}},
        Auth{ReasonCode::continue_authentication, {}},
    };
    for (const Packet& packet : packets) {
        for (const Version version : versions) {
            if (std::holds_alternative<Auth>(packet) && version == Version::v311) {
                continue;  // AUTH does not exist in 3.1.1
            }
            Packet p = packet;
            if (auto* connect = std::get_if<Connect>(&p)) {
                *connect = rich_connect(version);
            }
            BOOST_TEST_CONTEXT(packet_type_name(packet_type(p)) << " " << version_name(version)) {
                std::string out(3, 'x');
                encode(p, version, out);
                BOOST_TEST(out.size() - 3 == encoded_size(p, version));
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace iotsim::mqtt
