// packet_type(), packet_type_name() and reason_name(): the names logs and reason strings use.

#include <set>
#include <string>
#include <string_view>

#include <boost/test/unit_test.hpp>

#include "codec_test_util.hpp"
#include "iotsim/mqtt/packet.hpp"
#include "iotsim/mqtt/reason_code.hpp"

namespace iotsim::mqtt {
namespace {

BOOST_AUTO_TEST_SUITE(mqtt_packet_names)

BOOST_AUTO_TEST_CASE(packet_type_follows_the_variant_alternative) {
    BOOST_TEST(packet_type(Connect{}) == PacketType::connect);
    BOOST_TEST(packet_type(Connack{}) == PacketType::connack);
    BOOST_TEST(packet_type(Publish{}) == PacketType::publish);
    BOOST_TEST(packet_type(Subscribe{}) == PacketType::subscribe);
    BOOST_TEST(packet_type(Suback{}) == PacketType::suback);
    BOOST_TEST(packet_type(Unsubscribe{}) == PacketType::unsubscribe);
    BOOST_TEST(packet_type(Unsuback{}) == PacketType::unsuback);
    BOOST_TEST(packet_type(Pingreq{}) == PacketType::pingreq);
    BOOST_TEST(packet_type(Pingresp{}) == PacketType::pingresp);
    BOOST_TEST(packet_type(Disconnect{}) == PacketType::disconnect);
    BOOST_TEST(packet_type(Auth{}) == PacketType::auth);
}

BOOST_AUTO_TEST_CASE(ack_packet_type_is_its_own_type_field) {
    for (const PacketType type :
         {PacketType::puback, PacketType::pubrec, PacketType::pubrel, PacketType::pubcomp}) {
        BOOST_TEST(packet_type(Ack{type, 1, ReasonCode::success, {}}) == type);
    }
}

BOOST_AUTO_TEST_CASE(packet_type_names_are_the_spec_names) {
    BOOST_TEST(packet_type_name(PacketType::connect) == "CONNECT");
    BOOST_TEST(packet_type_name(PacketType::pubrel) == "PUBREL");
    BOOST_TEST(packet_type_name(PacketType::unsuback) == "UNSUBACK");
    BOOST_TEST(packet_type_name(PacketType::auth) == "AUTH");
    std::set<std::string_view> names;
    for (int type = 1; type <= 15; ++type) {
        names.insert(packet_type_name(static_cast<PacketType>(type)));
    }
    BOOST_TEST(names.size() == 15U);
    BOOST_TEST(names.count("RESERVED") == 0U);
}

BOOST_AUTO_TEST_CASE(reserved_packet_type_has_a_printable_name) {
    BOOST_TEST(packet_type_name(static_cast<PacketType>(0)) == "RESERVED");
}

BOOST_AUTO_TEST_CASE(reason_names_are_the_spec_names) {
    // MQTT 5 §2.4.
    BOOST_TEST(reason_name(ReasonCode::session_taken_over) == "Session taken over");
    BOOST_TEST(reason_name(ReasonCode::malformed_packet) == "Malformed Packet");
    BOOST_TEST(reason_name(ReasonCode::protocol_error) == "Protocol Error");
    BOOST_TEST(reason_name(ReasonCode::topic_name_invalid) == "Topic Name invalid");
    BOOST_TEST(reason_name(ReasonCode::qos_not_supported) == "QoS not supported");
    BOOST_TEST(reason_name(ReasonCode::re_authenticate) == "Re-authenticate");
    BOOST_TEST(reason_name(ReasonCode::wildcard_subscriptions_not_supported) ==
               "Wildcard Subscriptions not supported");
}

BOOST_AUTO_TEST_CASE(every_defined_reason_code_has_a_distinct_name) {
    std::set<std::string_view> names;
    int defined = 0;
    for (int value = 0; value <= 0xFF; ++value) {
        const std::string_view name = reason_name(static_cast<ReasonCode>(value));
        BOOST_TEST(!name.empty());
        if (name != "Unknown reason code") {
            ++defined;
            names.insert(name);
        }
    }
    BOOST_TEST(defined == 43);  // the 43 enumerators of ReasonCode
    BOOST_TEST(names.size() == 43U);
    BOOST_TEST(reason_name(static_cast<ReasonCode>(0x03)) == "Unknown reason code");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace iotsim::mqtt
