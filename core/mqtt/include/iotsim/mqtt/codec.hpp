#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "iotsim/common/result.hpp"
#include "iotsim/mqtt/packet.hpp"
#include "iotsim/mqtt/reason_code.hpp"

namespace iotsim::mqtt {

/// Largest remaining length the variable byte integer can express (MQTT §1.5.5).
inline constexpr std::uint32_t remaining_length_max = 268'435'455;

/// Why a packet could not be decoded. `reason` is what an MQTT 5 server sends in DISCONNECT
/// (malformed_packet, protocol_error, topic_name_invalid, packet_too_large, ...); an MQTT 3.1.1
/// server just closes. `message` is a static, human-readable explanation with a stable prefix
/// (e.g. "mqtt.decode: remaining length exceeds 4 bytes").
struct DecodeError {
    ReasonCode reason = ReasonCode::malformed_packet;
    std::string_view message;
};

enum class FrameStatus : std::uint8_t {
    complete,    // a whole packet is in the buffer
    incomplete,  // need more bytes; nothing is allocated meanwhile
    malformed,   // the remaining length is not a valid variable byte integer
    too_large,   // remaining length exceeds the caller's limit (checked before buffering it)
};

/// The fixed header of the packet at the start of a byte stream.
struct Frame {
    FrameStatus status = FrameStatus::incomplete;
    std::uint8_t first_byte = 0;        // packet type (high nibble) and flags (low nibble)
    std::size_t header_bytes = 0;       // 1 + length of the remaining-length field
    std::uint32_t remaining_length = 0;
    [[nodiscard]] std::size_t total_bytes() const { return header_bytes + remaining_length; }
};

/// Reads the fixed header at the start of `stream` (incremental framing: split and coalesced
/// packets). Checks the remaining length against `remaining_length_limit` as soon as its bytes are
/// known, so a hostile length never makes the caller buffer or allocate.
[[nodiscard]] Frame read_frame(std::string_view stream, std::uint32_t remaining_length_limit);

/// The fixed header's length (first byte and remaining length) of a packet this codec encoded,
/// which starts at `packet`: read_frame's header_bytes without its checks, for finding a field
/// in bytes just written.
[[nodiscard]] inline std::size_t encoded_header_bytes(const char* packet) {
    std::size_t n = 1;
    while ((static_cast<unsigned char>(packet[n]) & 0x80U) != 0) {
        ++n;
    }
    return n + 1;
}

/// Decodes the first packet of a connection: must be CONNECT (protocol name "MQTT", level 4 or 5).
/// Anything else is an error with reason protocol_error (not a CONNECT) or
/// unsupported_protocol_version (level other than 4/5).
/// `body` is the packet without its fixed header.
[[nodiscard]] Result<Connect, DecodeError> decode_connect(std::uint8_t first_byte, std::string_view body);

/// Decodes one packet of a connection whose version is known. Validates every normative rule the
/// codec can see: reserved flags, UTF-8 strings (well-formed, no U+0000, no surrogates), which
/// properties the packet may carry (and that none repeats unless allowed), QoS 3, packet id 0,
/// empty SUBSCRIBE/UNSUBSCRIBE, wildcards in a PUBLISH topic (topic_name_invalid), trailing bytes.
/// Topic-filter syntax is *not* rejected here: a bad filter fails only its own SUBACK entry.
[[nodiscard]] Result<Packet, DecodeError> decode(Version version, std::uint8_t first_byte,
                                                 std::string_view body);

/// decode() for a PUBLISH (`first_byte`'s type must be PUBLISH), into a Publish the caller keeps:
/// its topic and payload are assigned, so their buffers serve packet after packet without an
/// allocation (the broker's and the client's hot path). The same checks and errors as decode().
/// Under MQTT 5 the properties are cleared before they are read; a 3.1.1 PUBLISH has none and
/// leaves them as they are, so a Publish reused across versions needs one per version (asserted
/// in debug builds).
/// On error `p` holds a partial packet.
[[nodiscard]] std::optional<DecodeError> decode_publish_into(Version version, std::uint8_t first_byte,
                                                             std::string_view body, Publish& p);

/// Appends the encoding of `packet` for `version` to `out`. Properties are written only for v5.
/// Precondition (asserted): the packet is encodable (e.g. remaining length within the maximum).
void encode(const Packet& packet, Version version, std::string& out);

/// Size in bytes `encode` would append; used to honour a peer's Maximum Packet Size.
[[nodiscard]] std::size_t encoded_size(const Packet& packet, Version version);

/// A PUBLISH by reference, for encoding without copying its topic, payload and properties into
/// a Publish first (the hot paths: a client's publish, the broker's deliveries). `properties`
/// null means none; they are written for v5 only.
struct PublishRef {
    bool dup = false;
    QoS qos = QoS::at_most_once;
    bool retain = false;
    std::string_view topic;
    std::uint16_t packet_id = 0;  // QoS > 0 only
    std::string_view payload;
    const Properties* properties = nullptr;
};

/// The same bytes as encode(Packet{ack}), without building the Packet (PUBACK on the hot path).
void encode(const Ack& ack, Version version, std::string& out);

/// encode(Ack{type, packet_id, ReasonCode::success, {}}, v, out) for either version: 4 bytes (MQTT
/// 5 leaves out a success reason without properties, §3.4.2.1), with no Ack built (an Ack holds
/// a Properties of ~500 bytes to clear and destroy; a PUBACK per message is the hot path).
void encode_success_ack(PacketType type, std::uint16_t packet_id, std::string& out);

/// The same bytes as encode(Packet{Publish{...}}) for the same fields.
void encode(const PublishRef& publish, Version version, std::string& out);
[[nodiscard]] std::size_t encoded_size(const PublishRef& publish, Version version);

/// True when `s` is a well-formed MQTT UTF-8 string: valid UTF-8, no U+0000, no surrogates
/// [MQTT-1.5.4-1], [MQTT-1.5.4-2].
[[nodiscard]] bool is_valid_mqtt_utf8(std::string_view s);

}  // namespace iotsim::mqtt
