#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "iotsim/client/backoff.hpp"
#include "iotsim/common/time.hpp"
#include "iotsim/mqtt/packet.hpp"

namespace iotsim::client {

/// How a Client connects and behaves. Defaults follow the AWS IoT Device SDKs and AWS IoT Core's
/// limits (../shared/reference/aws-iot-core.md §1.4, §1.5). Pass with designated initializers.
struct ClientOptions {
    /// Client identifier; empty asks an MQTT 5 server to assign one (adopted for reconnects).
    std::string client_id{};
    mqtt::Version version = mqtt::Version::v311;
    /// CONNECT Clean Start (MQTT 5) / Clean Session (3.1.1). false resumes a persistent session.
    bool clean_start = true;
    /// Seconds; 0 disables keep-alive. An MQTT 5 CONNACK Server Keep Alive replaces it.
    std::uint16_t keep_alive_s = 60;
    /// MQTT 5 Session Expiry Interval in seconds (0: the session ends with the connection).
    std::uint32_t session_expiry_s = 0;
    std::optional<mqtt::Will> will{};
    std::optional<std::string> username{};
    std::optional<std::string> password{};
    /// Further MQTT 5 CONNECT properties (user properties, request problem information, ...).
    /// Session Expiry Interval and Maximum Packet Size come from the fields above and win.
    mqtt::Properties connect_properties{};

    /// Bound on each phase of a connection attempt: OpenTransport until transport_up(), and
    /// CONNECT until the CONNACK. On expiry the transport is closed and the client backs off.
    Duration connect_timeout = seconds(10);
    /// How long a PINGREQ may wait for its PINGRESP before the connection is considered
    /// half-open and closed. Zero means half the effective keep-alive.
    Duration ping_timeout = Duration::zero();
    /// How long the oldest unacknowledged QoS 1 PUBLISH, SUBSCRIBE or UNSUBSCRIBE may wait for
    /// its acknowledgement before the connection is considered dead. MQTT 5 §4.4 forbids resending
    /// on a live connection (3.1.1 §4.4 requires it only on reconnect), so the only retry is a new
    /// connection: the client closes the transport, reconnects and resends with DUP=1.
    /// Zero disables the check (then only keep-alive detects a dead connection).
    Duration ack_timeout = seconds(20);

    /// Reconnect after any loss or refusal, with `backoff`. false: the client goes idle and
    /// waits for start().
    bool auto_reconnect = true;
    Backoff backoff{};

    /// Most QoS 1 PUBLISHes unacknowledged at once; the MQTT 5 CONNACK Receive Maximum lowers it
    /// for the connection. AWS IoT Core accepts 100 in flight per client (§1.4).
    std::uint16_t inflight_max = 100;
    /// Most QoS 1 publishes waiting to be sent (offline, or beyond the in-flight window); a
    /// publish beyond it completes at once with quota_exceeded and `dropped`.
    std::size_t offline_queue_max = 1000;
    /// After a CONNACK with Session Present 0, SUBSCRIBE again to every remembered filter.
    bool resubscribe = true;
    /// Largest packet accepted from the server, in bytes (MQTT 5 Maximum Packet Size, advertised
    /// in CONNECT). A larger packet is a protocol error that closes the transport. 0: no limit
    /// beyond MQTT's own, and nothing advertised.
    std::uint32_t packet_bytes_max = 0;
};

}  // namespace iotsim::client
