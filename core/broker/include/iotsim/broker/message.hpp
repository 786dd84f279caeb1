#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "iotsim/common/time.hpp"
#include "iotsim/mqtt/packet.hpp"

namespace iotsim::broker {

/// An application message as the broker routes it: immutable once created and shared by every
/// subscriber, queue and store that holds it (one allocation per PUBLISH, however wide the
/// fan-out).
struct Message {
    std::string topic;
    std::string payload;
    mqtt::QoS qos = mqtt::QoS::at_most_once;  // QoS it was published with (0 or 1)
    bool retain = false;                      // RETAIN flag as published
    /// MQTT 5 properties forwarded to receivers: payload format, content type, response topic,
    /// correlation data, user properties. Message expiry is kept in `expires_at`.
    mqtt::Properties properties;
    /// Wall-clock instant after which the message must not be delivered (MQTT 5 Message Expiry
    /// Interval); nullopt when it never expires.
    std::optional<WallTime> expires_at;
    /// Client id of the publisher ("" for internal publishers); used for No Local.
    std::string publisher;
    /// Whether the publisher was an MQTT 5 client (AWS: expiry is decided by the inbound version).
    bool from_v5 = false;
};

using MessagePtr = std::shared_ptr<const Message>;

/// A retained message as stored (one per topic).
struct RetainedMessage {
    MessagePtr message;
    WallTime stored_at;  // lastModifiedTime of ListRetainedMessages
};

}  // namespace iotsim::broker
