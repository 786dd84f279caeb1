#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "iotsim/common/time.hpp"
#include "iotsim/mqtt/packet.hpp"
#include "iotsim/mqtt/reason_code.hpp"

namespace iotsim::client {

/// Where a Client is in its connection life cycle.
enum class ClientState : std::uint8_t {
    idle,              // not started, or gave up (auto_reconnect off); start() connects
    connecting,        // OpenTransport asked for, waiting for transport_up()/transport_failed()
    awaiting_connack,  // CONNECT written, waiting for the CONNACK
    connected,         // CONNACK accepted
    backing_off,       // waiting out a reconnect delay
    stopped,           // disconnect() was called; start() connects again
};

[[nodiscard]] std::string_view client_state_name(ClientState state);

/// Open a transport connection to the broker, then call transport_up() or transport_failed().
/// A CloseTransport that follows before either answer cancels the attempt (no answer is due).
struct OpenTransport {};

/// Write `bytes` on the open transport, after every earlier SendBytes. A Client produces at most
/// one SendBytes per input (its writes are batched), and it comes before the input's other
/// effects: a MessageReceived after its PUBACK, a QoS 0 PublishCompleted after the PUBLISH, and a
/// host that reacts to an effect by calling the client again (publishing on Connected) cannot
/// overtake what the client already wrote. Application calls that share one effects vector
/// share its SendBytes.
struct SendBytes {
    std::string bytes;
};

/// Close the transport once the earlier SendBytes are written. No transport_closed() is due.
struct CloseTransport {};

/// Call timer_fired() at or after `deadline` (monotonic). Replaces any earlier request: the
/// client asks for one wake-up at a time, and only when it needs an earlier one, so traffic
/// costs no timer operations. A wake-up that finds nothing due is harmless.
struct ArmTimer {
    Instant deadline;
};

/// An application message from the broker. A QoS 1 PUBACK is already in an earlier SendBytes.
/// Duplicates (DUP=1, redeliveries) are reported too, and counted in ClientStats.
struct MessageReceived {
    mqtt::Publish publish;
};

/// The broker accepted the connection.
struct Connected {
    bool session_present = false;
    mqtt::Connack connack;
};

/// Why a connection (or a connection attempt) ended.
enum class DisconnectCause : std::uint8_t {
    transport_failed,    // transport_failed(): refused or unreachable
    transport_closed,    // transport_closed(): EOF or reset under the client
    connect_timeout,     // no transport_up() or no CONNACK within connect_timeout
    connack_refused,     // CONNACK with a failure code
    server_disconnect,   // MQTT 5 DISCONNECT from the server
    keep_alive_timeout,  // no PINGRESP within ping_timeout: half-open connection
    ack_timeout,         // no PUBACK/SUBACK/UNSUBACK within ack_timeout
    protocol_error,      // malformed or unexpected input from the server
    client_disconnect,   // disconnect()
};

[[nodiscard]] std::string_view disconnect_cause_name(DisconnectCause cause);

/// The connection or the attempt ended. The client backs off and reconnects unless
/// auto_reconnect is off or the cause is client_disconnect.
struct Disconnected {
    DisconnectCause cause = DisconnectCause::transport_closed;
    /// The CONNACK code, the server's DISCONNECT reason, or (protocol_error) the reason the
    /// client found; 0 for the other causes.
    std::uint8_t code = 0;
    /// For people and traces, e.g. "server DISCONNECT 0x8E Session taken over",
    /// "CONNACK 0x05 Not authorized", "keep-alive: no PINGRESP within 30s", "transport closed".
    std::string reason;
    /// True when the connection had been accepted (a CONNACK), false for a failed attempt.
    bool was_connected = false;
};

/// A publish()'s outcome; every token completes exactly once. QoS 1: the PUBACK's reason (a
/// reason >= 0x80 is final, not retried). QoS 0: success once written. `dropped`: the message
/// never reached the broker and `reason` says why: unspecified_error (QoS 0 while offline),
/// quota_exceeded (offline queue full), topic_name_invalid, qos_not_supported (QoS 2),
/// packet_too_large (beyond the server's Maximum Packet Size or MQTT's limit).
struct PublishCompleted {
    std::uint64_t token = 0;
    mqtt::ReasonCode reason = mqtt::ReasonCode::success;
    bool dropped = false;
};

/// A subscribe()'s SUBACK: one granted QoS or failure code per filter, in order.
struct SubscribeCompleted {
    std::uint64_t token = 0;
    std::vector<std::uint8_t> reasons;
};

/// An unsubscribe()'s UNSUBACK: MQTT 5 reason codes per filter; empty for MQTT 3.1.1.
struct UnsubscribeCompleted {
    std::uint64_t token = 0;
    std::vector<std::uint8_t> reasons;
};

using ClientEffect =
    std::variant<OpenTransport, SendBytes, CloseTransport, ArmTimer, MessageReceived, Connected,
                 Disconnected, PublishCompleted, SubscribeCompleted, UnsubscribeCompleted>;
using ClientEffects = std::vector<ClientEffect>;

}  // namespace iotsim::client
