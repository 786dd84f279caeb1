#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "iotsim/mqtt/reason_code.hpp"

namespace iotsim::mqtt {

/// Protocol level byte of CONNECT: 4 = MQTT 3.1.1, 5 = MQTT 5.0.
enum class Version : std::uint8_t { v311 = 4, v5 = 5 };

enum class PacketType : std::uint8_t {
    connect = 1,
    connack = 2,
    publish = 3,
    puback = 4,
    pubrec = 5,
    pubrel = 6,
    pubcomp = 7,
    subscribe = 8,
    suback = 9,
    unsubscribe = 10,
    unsuback = 11,
    pingreq = 12,
    pingresp = 13,
    disconnect = 14,
    auth = 15,
};

enum class QoS : std::uint8_t { at_most_once = 0, at_least_once = 1, exactly_once = 2 };

struct UserProperty {
    std::string key;
    std::string value;
    friend bool operator==(const UserProperty&, const UserProperty&) = default;
};

/// MQTT 5 properties (MQTT 5 §2.2.2.2). One struct for every packet: the codec checks which
/// identifiers each packet may carry and rejects the others as a malformed packet. Absent
/// properties are nullopt; MQTT 3.1.1 packets always have an empty Properties.
struct Properties {
    std::optional<std::uint8_t> payload_format_indicator;          // 0x01
    std::optional<std::uint32_t> message_expiry_interval;          // 0x02, seconds
    std::optional<std::string> content_type;                       // 0x03
    std::optional<std::string> response_topic;                     // 0x08
    std::optional<std::string> correlation_data;                   // 0x09, binary
    std::vector<std::uint32_t> subscription_identifiers;           // 0x0B, may repeat in PUBLISH
    std::optional<std::uint32_t> session_expiry_interval;          // 0x11, seconds
    std::optional<std::string> assigned_client_identifier;         // 0x12
    std::optional<std::uint16_t> server_keep_alive;                // 0x13, seconds
    std::optional<std::string> authentication_method;              // 0x15
    std::optional<std::string> authentication_data;                // 0x16, binary
    std::optional<std::uint8_t> request_problem_information;       // 0x17
    std::optional<std::uint32_t> will_delay_interval;              // 0x18, seconds
    std::optional<std::uint8_t> request_response_information;      // 0x19
    std::optional<std::string> response_information;               // 0x1A
    std::optional<std::string> server_reference;                   // 0x1C
    std::optional<std::string> reason_string;                      // 0x1F
    std::optional<std::uint16_t> receive_maximum;                  // 0x21
    std::optional<std::uint16_t> topic_alias_maximum;              // 0x22
    std::optional<std::uint16_t> topic_alias;                      // 0x23
    std::optional<std::uint8_t> maximum_qos;                       // 0x24
    std::optional<std::uint8_t> retain_available;                  // 0x25
    std::vector<UserProperty> user_properties;                     // 0x26, order preserved
    std::optional<std::uint32_t> maximum_packet_size;              // 0x27, bytes
    std::optional<std::uint8_t> wildcard_subscription_available;   // 0x28
    std::optional<std::uint8_t> subscription_identifier_available; // 0x29
    std::optional<std::uint8_t> shared_subscription_available;     // 0x2A

    friend bool operator==(const Properties&, const Properties&) = default;
};

struct Will {
    std::string topic;
    std::string payload;
    QoS qos = QoS::at_most_once;
    bool retain = false;
    Properties properties;  // will properties (MQTT 5 only)
    friend bool operator==(const Will&, const Will&) = default;
};

struct Connect {
    Version version = Version::v311;
    bool clean_start = true;  // "clean session" in MQTT 3.1.1
    std::uint16_t keep_alive = 0;  // seconds
    std::string client_id;
    std::optional<Will> will;
    std::optional<std::string> username;
    std::optional<std::string> password;  // binary
    Properties properties;
    friend bool operator==(const Connect&, const Connect&) = default;
};

struct Connack {
    bool session_present = false;
    /// MQTT 5 reason code, or the MQTT 3.1.1 return code's value.
    std::uint8_t reason = 0;
    Properties properties;
    friend bool operator==(const Connack&, const Connack&) = default;
};

struct Publish {
    bool dup = false;
    QoS qos = QoS::at_most_once;
    bool retain = false;
    std::string topic;  // may be empty in MQTT 5 when a topic alias is used
    std::uint16_t packet_id = 0;  // QoS > 0 only
    std::string payload;
    Properties properties;
    friend bool operator==(const Publish&, const Publish&) = default;
};

/// PUBACK, PUBREC, PUBREL and PUBCOMP share one shape.
struct Ack {
    PacketType type = PacketType::puback;
    std::uint16_t packet_id = 0;
    ReasonCode reason = ReasonCode::success;
    Properties properties;
    friend bool operator==(const Ack&, const Ack&) = default;
};

struct SubscribeOptions {
    QoS qos = QoS::at_most_once;
    bool no_local = false;            // MQTT 5
    bool retain_as_published = false; // MQTT 5
    std::uint8_t retain_handling = 0; // MQTT 5: 0, 1 or 2
    friend bool operator==(const SubscribeOptions&, const SubscribeOptions&) = default;
};

struct SubscribeEntry {
    std::string filter;
    SubscribeOptions options;
    friend bool operator==(const SubscribeEntry&, const SubscribeEntry&) = default;
};

struct Subscribe {
    std::uint16_t packet_id = 0;
    std::vector<SubscribeEntry> entries;
    Properties properties;
    friend bool operator==(const Subscribe&, const Subscribe&) = default;
};

struct Suback {
    std::uint16_t packet_id = 0;
    std::vector<std::uint8_t> reasons;  // granted QoS or failure code, one per filter
    Properties properties;
    friend bool operator==(const Suback&, const Suback&) = default;
};

struct Unsubscribe {
    std::uint16_t packet_id = 0;
    std::vector<std::string> filters;
    Properties properties;
    friend bool operator==(const Unsubscribe&, const Unsubscribe&) = default;
};

struct Unsuback {
    std::uint16_t packet_id = 0;
    std::vector<std::uint8_t> reasons;  // MQTT 5 only; empty for MQTT 3.1.1
    Properties properties;
    friend bool operator==(const Unsuback&, const Unsuback&) = default;
};

struct Pingreq {
    friend bool operator==(const Pingreq&, const Pingreq&) = default;
};
struct Pingresp {
    friend bool operator==(const Pingresp&, const Pingresp&) = default;
};

struct Disconnect {
    ReasonCode reason = ReasonCode::success;
    Properties properties;
    friend bool operator==(const Disconnect&, const Disconnect&) = default;
};

struct Auth {
    ReasonCode reason = ReasonCode::success;
    Properties properties;
    friend bool operator==(const Auth&, const Auth&) = default;
};

using Packet = std::variant<Connect, Connack, Publish, Ack, Subscribe, Suback, Unsubscribe, Unsuback,
                            Pingreq, Pingresp, Disconnect, Auth>;

[[nodiscard]] PacketType packet_type(const Packet& packet);
[[nodiscard]] std::string_view packet_type_name(PacketType type);

}  // namespace iotsim::mqtt
