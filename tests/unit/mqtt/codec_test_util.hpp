#pragma once

// Helpers shared by the MQTT codec tests: wire bytes from annotated arrays, hex dumps for readable
// failures, and Boost.Test printers for the codec's enums and packets.

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>

#include <boost/test/unit_test.hpp>

#include "iotsim/mqtt/codec.hpp"
#include "iotsim/mqtt/packet.hpp"
#include "iotsim/mqtt/reason_code.hpp"

namespace iotsim::mqtt::test {

/// Wire bytes from an annotated array: `bytes({0x10, 0x21, 'M', 'Q'})`.
inline std::string bytes(std::initializer_list<int> values) {
    std::string out;
    out.reserve(values.size());
    for (const int value : values) {
        BOOST_REQUIRE(value >= 0 && value <= 0xFF);
        out.push_back(static_cast<char>(value));
    }
    return out;
}

/// "10 21 00 04" for comparing wire bytes with a readable diff.
inline std::string hex(std::string_view data) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const char c : data) {
        const auto byte = static_cast<unsigned char>(c);
        if (!out.empty()) {
            out.push_back(' ');
        }
        out.push_back(digits[byte >> 4U]);
        out.push_back(digits[byte & 0x0FU]);
    }
    return out;
}

inline std::string_view version_name(Version version) {
    return version == Version::v5 ? "MQTT 5" : "MQTT 3.1.1";
}

/// The error message of a failed result, or "" (Boost evaluates a check's message even when the
/// check passes, and error() asserts on success).
template <class T>
std::string_view error_message(const Result<T, DecodeError>& result) {
    return result.ok() ? std::string_view{} : result.error().message;
}

inline std::string encoded(const Packet& packet, Version version) {
    std::string out;
    encode(packet, version, out);
    return out;
}

/// Splits one whole packet into its fixed header and body and decodes it.
inline Result<Packet, DecodeError> decode_packet(Version version, std::string_view wire) {
    const Frame frame = read_frame(wire, remaining_length_max);
    BOOST_REQUIRE(frame.status == FrameStatus::complete);
    BOOST_REQUIRE_EQUAL(frame.total_bytes(), wire.size());
    return decode(version, frame.first_byte, wire.substr(frame.header_bytes));
}

inline Result<Connect, DecodeError> decode_connect_packet(std::string_view wire) {
    const Frame frame = read_frame(wire, remaining_length_max);
    BOOST_REQUIRE(frame.status == FrameStatus::complete);
    BOOST_REQUIRE_EQUAL(frame.total_bytes(), wire.size());
    return decode_connect(frame.first_byte, wire.substr(frame.header_bytes));
}

/// The error a malformed packet decodes to; fails the test if it decodes.
inline DecodeError decode_error(Version version, std::string_view wire) {
    const Result<Packet, DecodeError> result = decode_packet(version, wire);
    BOOST_REQUIRE_MESSAGE(!result.ok(), "expected a decode error for " << hex(wire));
    BOOST_TEST(result.error().message.starts_with("mqtt.decode: "));
    return result.error();
}

inline DecodeError connect_error(std::string_view wire) {
    const Result<Connect, DecodeError> result = decode_connect_packet(wire);
    BOOST_REQUIRE_MESSAGE(!result.ok(), "expected a decode error for " << hex(wire));
    BOOST_TEST(result.error().message.starts_with("mqtt.decode: "));
    return result.error();
}

}  // namespace iotsim::mqtt::test

// Boost.Test finds these printers by argument-dependent lookup.
namespace iotsim::mqtt {

inline std::ostream& boost_test_print_type(std::ostream& os, ReasonCode code) {
    return os << reason_name(code) << " (0x" << std::hex << static_cast<int>(code) << std::dec
              << ")";
}

inline std::ostream& boost_test_print_type(std::ostream& os, PacketType type) {
    return os << packet_type_name(type);
}

inline std::ostream& boost_test_print_type(std::ostream& os, FrameStatus status) {
    switch (status) {
    case FrameStatus::complete:
        return os << "complete";
    case FrameStatus::incomplete:
        return os << "incomplete";
    case FrameStatus::malformed:
        return os << "malformed";
    case FrameStatus::too_large:
        return os << "too_large";
    }
    return os << "FrameStatus(" << static_cast<int>(status) << ")";
}

inline std::ostream& boost_test_print_type(std::ostream& os, Version version) {
    return os << (version == Version::v5 ? "MQTT 5" : "MQTT 3.1.1");
}

inline std::ostream& boost_test_print_type(std::ostream& os, QoS qos) {
    return os << "QoS " << static_cast<int>(qos);
}

/// A packet prints as its type and its wire bytes (MQTT 5 unless it is a CONNECT of another
/// version), which show every field.
inline std::ostream& boost_test_print_type(std::ostream& os, const Packet& packet) {
    const auto* connect = std::get_if<Connect>(&packet);
    const Version version = connect != nullptr ? connect->version : Version::v5;
    return os << packet_type_name(packet_type(packet)) << " ["
              << test::hex(test::encoded(packet, version)) << "]";
}

}  // namespace iotsim::mqtt
