// read_frame: incremental framing of a TCP byte stream, split or coalesced, and the limits it
// enforces before the caller buffers anything.

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "codec_test_util.hpp"
#include "iotsim/mqtt/codec.hpp"
#include "iotsim/mqtt/packet.hpp"

namespace iotsim::mqtt {
namespace {

using test::bytes;
using test::encoded;

/// A mixed conversation: sizes 2 bytes to several hundred, with 1-, 2- and 3-byte lengths.
std::vector<Packet> conversation() {
    Publish small{false, QoS::at_least_once, false, "a/b", 1, "hi", {}};
    Publish large{false, QoS::at_most_once, true, "big", 0, std::string(20'000, 'x'), {}};
    large.properties.user_properties = {{"k", "v"}};
    return {
        small,
        Pingreq{},
        Ack{PacketType::puback, 1, ReasonCode::success, {}},
        large,
        Subscribe{2, {{"a/#", {QoS::at_least_once, false, false, 0}}}, {}},
        Disconnect{ReasonCode::success, {}},
    };
}

/// Pops every complete frame off the front of `buffer`, decoding it.
void drain(std::string& buffer, std::vector<Packet>& out) {
    while (true) {
        const Frame frame = read_frame(buffer, remaining_length_max);
        BOOST_REQUIRE(frame.status != FrameStatus::malformed);
        BOOST_REQUIRE(frame.status != FrameStatus::too_large);
        if (frame.status == FrameStatus::incomplete) {
            return;
        }
        const std::string_view body =
            std::string_view(buffer).substr(frame.header_bytes, frame.remaining_length);
        Result<Packet, DecodeError> packet = decode(Version::v5, frame.first_byte, body);
        BOOST_REQUIRE_MESSAGE(packet.ok(), test::error_message(packet));
        out.push_back(std::move(packet).value());
        buffer.erase(0, frame.total_bytes());
    }
}

std::string wire_of(const std::vector<Packet>& packets) {
    std::string wire;
    for (const Packet& packet : packets) {
        encode(packet, Version::v5, wire);
    }
    return wire;
}

BOOST_AUTO_TEST_SUITE(mqtt_framing)

BOOST_AUTO_TEST_CASE(empty_stream_is_incomplete) {
    const Frame frame = read_frame("", remaining_length_max);
    BOOST_TEST(frame.status == FrameStatus::incomplete);
}

BOOST_AUTO_TEST_CASE(stream_split_byte_by_byte_yields_every_packet_once) {
    const std::vector<Packet> packets = conversation();
    const std::string wire = wire_of(packets);
    std::string buffer;
    std::vector<Packet> received;
    for (const char byte : wire) {
        buffer.push_back(byte);
        drain(buffer, received);
    }
    BOOST_TEST(buffer.empty());
    BOOST_REQUIRE_EQUAL(received.size(), packets.size());
    for (std::size_t i = 0; i < packets.size(); ++i) {
        BOOST_TEST(received[i] == packets[i]);
    }
}

BOOST_AUTO_TEST_CASE(coalesced_stream_yields_every_packet_in_order) {
    const std::vector<Packet> packets = conversation();
    std::string buffer = wire_of(packets);
    std::vector<Packet> received;
    drain(buffer, received);
    BOOST_TEST(buffer.empty());
    BOOST_REQUIRE_EQUAL(received.size(), packets.size());
    for (std::size_t i = 0; i < packets.size(); ++i) {
        BOOST_TEST(received[i] == packets[i]);
    }
}

BOOST_AUTO_TEST_CASE(frame_reports_header_and_body_sizes) {
    const std::string wire = encoded(Publish{false, QoS::at_most_once, false, "t", 0,
                                             std::string(200, 'p'), {}},
                                     Version::v311);
    const Frame frame = read_frame(wire + "trailing next packet", remaining_length_max);
    BOOST_TEST(frame.status == FrameStatus::complete);
    BOOST_TEST(frame.first_byte == 0x30);
    BOOST_TEST(frame.header_bytes == 3U);  // 203 needs two length bytes
    BOOST_TEST(frame.remaining_length == 203U);
    BOOST_TEST(frame.total_bytes() == wire.size());
}

BOOST_AUTO_TEST_CASE(partial_remaining_length_is_incomplete) {
    BOOST_TEST(read_frame(bytes({0x30}), remaining_length_max).status == FrameStatus::incomplete);
    BOOST_TEST(read_frame(bytes({0x30, 0x80}), remaining_length_max).status ==
               FrameStatus::incomplete);
    BOOST_TEST(read_frame(bytes({0x30, 0xFF, 0xFF, 0xFF}), remaining_length_max).status ==
               FrameStatus::incomplete);
}

BOOST_AUTO_TEST_CASE(largest_four_byte_remaining_length_waits_for_the_body) {
    // MQTT §1.5.5: 0xFF 0xFF 0xFF 0x7F = 268,435,455, the maximum.
    const Frame frame = read_frame(bytes({0x30, 0xFF, 0xFF, 0xFF, 0x7F}), remaining_length_max);
    BOOST_TEST(frame.status == FrameStatus::incomplete);
    BOOST_TEST(frame.remaining_length == remaining_length_max);
    BOOST_TEST(frame.header_bytes == 5U);
}

BOOST_AUTO_TEST_CASE(remaining_length_with_five_bytes_is_malformed) {
    // The fourth byte may not have the continuation bit: known without the fifth byte.
    BOOST_TEST(read_frame(bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF}), remaining_length_max).status ==
               FrameStatus::malformed);
    BOOST_TEST(read_frame(bytes({0x30, 0x80, 0x80, 0x80, 0x80, 0x01}), remaining_length_max)
                   .status == FrameStatus::malformed);
}

BOOST_AUTO_TEST_CASE(remaining_length_not_minimally_encoded_is_malformed) {
    // [MQTT-1.5.5-1]: 0x80 0x00 is a padded zero.
    BOOST_TEST(read_frame(bytes({0xC0, 0x80, 0x00}), remaining_length_max).status ==
               FrameStatus::malformed);
    BOOST_TEST(read_frame(bytes({0x30, 0x85, 0x80, 0x00}), remaining_length_max).status ==
               FrameStatus::malformed);
}

BOOST_AUTO_TEST_CASE(remaining_length_over_the_limit_is_too_large_before_the_body_arrives) {
    // Only the header is present: the caller must not wait for (or buffer) 2 MB.
    const Frame frame = read_frame(bytes({0x30, 0x80, 0x80, 0x80, 0x01}), 128 * 1024);
    BOOST_TEST(frame.status == FrameStatus::too_large);
    BOOST_TEST(frame.remaining_length == 2'097'152U);

    BOOST_TEST(read_frame(bytes({0x30, 0x81, 0x01}), 128).status == FrameStatus::too_large);
    BOOST_TEST(read_frame(bytes({0x30, 0x80, 0x01}), 128).status == FrameStatus::incomplete);
}

BOOST_AUTO_TEST_CASE(zero_length_packet_is_complete_with_the_header_alone) {
    const Frame frame = read_frame(bytes({0xC0, 0x00, 0xD0}), 0);
    BOOST_TEST(frame.status == FrameStatus::complete);
    BOOST_TEST(frame.total_bytes() == 2U);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace iotsim::mqtt
