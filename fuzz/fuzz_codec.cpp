// libFuzzer target for the MQTT codec.
//
// The input is a byte stream as a broker would receive it: read_frame cuts it into packets, the
// first one is decoded as the connection's CONNECT, and every packet is then decoded with the
// CONNECT's version and with the other version too. Each packet that decodes is re-encoded, and
// the re-encoding must frame, match encoded_size() and decode back to an equal packet; any
// mismatch aborts so libFuzzer keeps the input. ASan and UBSan catch out-of-bounds reads.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "iotsim/mqtt/codec.hpp"
#include "iotsim/mqtt/packet.hpp"

namespace {

using iotsim::Result;
using iotsim::mqtt::Connect;
using iotsim::mqtt::DecodeError;
using iotsim::mqtt::Frame;
using iotsim::mqtt::FrameStatus;
using iotsim::mqtt::Packet;
using iotsim::mqtt::Version;

// Small enough that one input holds many frames, large enough for every packet shape.
constexpr std::uint32_t remaining_length_limit = 64 * 1024;

[[noreturn]] void fail(const char* what, std::string_view detail, std::string_view wire) {
    std::fprintf(stderr, "fuzz_codec: %s: %.*s\n  wire:", what, static_cast<int>(detail.size()),
                 detail.data());
    for (const char c : wire) {
        std::fprintf(stderr, " %02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
    }
    std::fprintf(stderr, "\n");
    std::abort();
}

void check_error(const DecodeError& error, std::string_view wire) {
    if (!error.message.starts_with("mqtt.decode: ")) {
        fail("error message without the mqtt.decode prefix", error.message, wire);
    }
}

/// decode(encode(p)) == p, with encoded_size() exact and the bytes framing as one packet.
void check_roundtrip(const Packet& packet, Version version) {
    // A CONNECT is always encoded in the version it announces.
    if (const auto* connect = std::get_if<Connect>(&packet)) {
        version = connect->version;
    }
    std::string wire;
    iotsim::mqtt::encode(packet, version, wire);
    if (iotsim::mqtt::encoded_size(packet, version) != wire.size()) {
        fail("encoded_size differs from encode", "", wire);
    }
    const Frame frame = iotsim::mqtt::read_frame(wire, iotsim::mqtt::remaining_length_max);
    if (frame.status != FrameStatus::complete || frame.total_bytes() != wire.size()) {
        fail("re-encoded packet does not frame as one packet", "", wire);
    }
    const std::string_view body = std::string_view(wire).substr(frame.header_bytes);
    const Result<Packet, DecodeError> decoded =
        iotsim::mqtt::decode(version, frame.first_byte, body);
    if (!decoded.ok()) {
        fail("re-encoded packet does not decode", decoded.error().message, wire);
    }
    if (!(decoded.value() == packet)) {
        fail("decode(encode(p)) != p", "", wire);
    }
}

void decode_and_check(Version version, std::uint8_t first_byte, std::string_view body,
                      std::string_view wire) {
    const Result<Packet, DecodeError> result = iotsim::mqtt::decode(version, first_byte, body);
    if (result.ok()) {
        check_roundtrip(result.value(), version);
    } else {
        check_error(result.error(), wire);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view stream(reinterpret_cast<const char*>(data), size);
    std::optional<Version> version;
    bool first_packet = true;
    while (!stream.empty()) {
        const Frame frame = iotsim::mqtt::read_frame(stream, remaining_length_limit);
        if (frame.status != FrameStatus::complete) {
            break;
        }
        if (frame.total_bytes() > stream.size()) {
            fail("complete frame longer than the stream", "", stream.substr(0, 8));
        }
        const std::string_view wire = stream.substr(0, frame.total_bytes());
        // An exact-size heap copy, so that ASan flags a read past this packet's body even when
        // the next packet follows it in the stream.
        const std::vector<char> copy(wire.begin() + static_cast<std::ptrdiff_t>(frame.header_bytes),
                                     wire.end());
        const std::string_view body(copy.data(), copy.size());

        if (first_packet) {
            first_packet = false;
            const Result<Connect, DecodeError> connect =
                iotsim::mqtt::decode_connect(frame.first_byte, body);
            if (connect.ok()) {
                version = connect.value().version;
                check_roundtrip(connect.value(), *version);
            } else {
                check_error(connect.error(), wire);
            }
        }
        // The connection's version first, then the other one: a bug may hide in either.
        const Version primary = version.value_or(Version::v5);
        const Version secondary = primary == Version::v5 ? Version::v311 : Version::v5;
        decode_and_check(primary, frame.first_byte, body, wire);
        decode_and_check(secondary, frame.first_byte, body, wire);

        stream.remove_prefix(frame.total_bytes());
    }
    return 0;
}
