#include "iotsim/mqtt/packet.hpp"

#include <string_view>
#include <variant>

namespace iotsim::mqtt {
namespace {

// One overload per alternative of Packet, so adding a packet kind without a type is a compile
// error rather than a silent default.
constexpr PacketType type_of(const Connect& /*p*/) { return PacketType::connect; }
constexpr PacketType type_of(const Connack& /*p*/) { return PacketType::connack; }
constexpr PacketType type_of(const Publish& /*p*/) { return PacketType::publish; }
constexpr PacketType type_of(const Ack& p) { return p.type; }
constexpr PacketType type_of(const Subscribe& /*p*/) { return PacketType::subscribe; }
constexpr PacketType type_of(const Suback& /*p*/) { return PacketType::suback; }
constexpr PacketType type_of(const Unsubscribe& /*p*/) { return PacketType::unsubscribe; }
constexpr PacketType type_of(const Unsuback& /*p*/) { return PacketType::unsuback; }
constexpr PacketType type_of(const Pingreq& /*p*/) { return PacketType::pingreq; }
constexpr PacketType type_of(const Pingresp& /*p*/) { return PacketType::pingresp; }
constexpr PacketType type_of(const Disconnect& /*p*/) { return PacketType::disconnect; }
constexpr PacketType type_of(const Auth& /*p*/) { return PacketType::auth; }

}  // namespace

PacketType packet_type(const Packet& packet) {
    return std::visit([](const auto& p) { return type_of(p); }, packet);
}

std::string_view packet_type_name(PacketType type) {
    switch (type) {
    case PacketType::connect:
        return "CONNECT";
    case PacketType::connack:
        return "CONNACK";
    case PacketType::publish:
        return "PUBLISH";
    case PacketType::puback:
        return "PUBACK";
    case PacketType::pubrec:
        return "PUBREC";
    case PacketType::pubrel:
        return "PUBREL";
    case PacketType::pubcomp:
        return "PUBCOMP";
    case PacketType::subscribe:
        return "SUBSCRIBE";
    case PacketType::suback:
        return "SUBACK";
    case PacketType::unsubscribe:
        return "UNSUBSCRIBE";
    case PacketType::unsuback:
        return "UNSUBACK";
    case PacketType::pingreq:
        return "PINGREQ";
    case PacketType::pingresp:
        return "PINGRESP";
    case PacketType::disconnect:
        return "DISCONNECT";
    case PacketType::auth:
        return "AUTH";
    }
    // Type 0 is reserved; a value outside the enumerators can only come from a cast of a raw
    // first byte, which logs may still want to print.
    return "RESERVED";
}

}  // namespace iotsim::mqtt
