#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/client/effects.hpp"
#include "iotsim/client/options.hpp"
#include "iotsim/common/rng.hpp"
#include "iotsim/common/spare_strings.hpp"
#include "iotsim/common/time.hpp"
#include "iotsim/mqtt/packet.hpp"

namespace iotsim::client {

/// Counters for observability, tests and the simulator's traces; never reset.
struct ClientStats {
    std::uint64_t connect_attempts = 0;    // OpenTransport effects
    std::uint64_t connects = 0;            // accepted CONNACKs
    std::uint64_t reconnects = 0;          // accepted CONNACKs after the first
    std::uint64_t connects_refused = 0;    // CONNACKs with a failure code
    std::uint64_t connect_timeouts = 0;    // attempts that hit connect_timeout
    std::uint64_t transport_failures = 0;  // transport_failed() calls
    std::uint64_t connection_losses = 0;   // accepted connections that ended, except disconnect()
    std::uint64_t server_disconnects = 0;  // MQTT 5 DISCONNECTs from the server
    std::uint64_t publishes_sent = 0;      // PUBLISHes written for the first time (QoS 0 and 1)
    std::uint64_t publishes_resent = 0;    // QoS 1 PUBLISHes written again (DUP=1) after reconnect
    std::uint64_t publishes_acked = 0;     // PUBACKs with a success reason
    std::uint64_t publishes_failed = 0;    // PUBACKs with a reason >= 0x80
    std::uint64_t publishes_rejected = 0;  // refused locally: bad topic, QoS 2, too large
    std::uint64_t qos0_dropped_offline = 0;     // QoS 0 publish() while not connected
    std::uint64_t qos1_dropped_queue_full = 0;  // QoS 1 publish() beyond offline_queue_max
    std::uint64_t messages_received = 0;        // MessageReceived effects
    std::uint64_t duplicates_received = 0;      // of which redeliveries (DUP=1)
    std::uint64_t pings_sent = 0;
    std::uint64_t ping_timeouts = 0;       // half-open connections detected by keep-alive
    std::uint64_t ack_timeouts = 0;        // connections dropped for a missing acknowledgement
    std::uint64_t protocol_errors = 0;     // malformed or unexpected input from the server
    std::uint64_t resubscribes = 0;        // SUBSCRIBEs sent to restore remembered filters
    std::uint64_t subscriptions_lost = 0;  // remembered filters the server refused on resubscribe
    std::uint64_t unexpected_acks = 0;     // PUBACK/SUBACK/UNSUBACK for no outstanding packet id
};

/// An MQTT 3.1.1 / 5 client (a device's side of AWS IoT Core) as a Sans-I/O state machine: it
/// performs no I/O, reads no clock and draws randomness only from the Rng it owns (the reconnect
/// jitter). Every input carries `now`; every action comes back as a ClientEffect for the host to
/// carry out, in order. Every byte is encoded and decoded by core/mqtt's codec.
///
/// Delivery: QoS 0 at most once; QoS 1 at least once, across reconnects (unacknowledged
/// PUBLISHes are sent again with DUP=1 after reconnecting, in their original order, before newer
/// ones). QoS 2 is not supported (AWS IoT Core has none). Inbound QoS 1 is acknowledged at once.
///
/// Cost: per message, one allocation for a stored QoS 1 packet and none for QoS 0 beyond the
/// caller's strings; one SendBytes per input; no timer operation per packet.
///
/// Thread safety: not synchronised; one host thread drives one Client.
class Client {
public:
    Client(ClientOptions options, Rng rng);
    ~Client();
    Client(Client&&) noexcept;
    Client& operator=(Client&&) noexcept;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Begins connecting (OpenTransport), from idle or stopped; ignored in any other state.
    [[nodiscard]] ClientEffects start(Now now);
    /// The transport asked for by OpenTransport is up: writes CONNECT, awaits the CONNACK.
    [[nodiscard]] ClientEffects transport_up(Now now);
    /// The transport could not be opened (refused, unreachable): Disconnected, then back off.
    [[nodiscard]] ClientEffects transport_failed(Now now);
    /// Bytes from the broker, any split. Malformed or unexpected input is a protocol error: MQTT 5
    /// writes DISCONNECT with the reason, then the transport is closed and the client backs off.
    [[nodiscard]] ClientEffects receive(std::string_view bytes, Now now);
    /// The same, appending to `out` (a host that reuses one vector allocates none per input).
    void receive(std::string_view bytes, Now now, ClientEffects& out);
    /// The transport closed under the client (EOF, reset): Disconnected, then back off.
    [[nodiscard]] ClientEffects transport_closed(Now now);
    /// The wake-up asked for by the last ArmTimer is due: connect timeout, keep-alive PINGREQ
    /// (after keep-alive without sending, or without receiving, as paho does, so a publishing
    /// device still detects a half-open connection), PINGRESP and acknowledgement timeouts, end
    /// of a back-off.
    [[nodiscard]] ClientEffects timer_fired(Now now);
    /// The same, appending to `out`.
    void timer_fired(Now now, ClientEffects& out);
    /// Optional: the host has carried out `spent` (this client's effects); the written byte
    /// strings in it are kept (a couple at most) to write the next packets into, and the strings
    /// of the received messages (whatever the host left in them) to decode the next ones into.
    void recycle(ClientEffects& spent);
    /// Optional, for a host that drives many clients on one thread: the byte strings this client
    /// writes into (and keeps through recycle() and PUBACKs) come from `pool`, shared with the
    /// other clients, instead of a couple of its own. A buffer another client used a moment ago
    /// is still in the CPU's cache; one this client last used a second ago is not. nullptr: its
    /// own again. The pool must outlive the client, or the next call.
    void share_spare_bytes(SpareStrings* pool);

    /// Publishes an application message; returns its token, completed exactly once by a
    /// PublishCompleted. QoS 0 is written at once if connected and dropped (counted) otherwise.
    /// QoS 1 is kept until its PUBACK: sent at once when connected and the in-flight window
    /// allows, queued otherwise (up to offline_queue_max), sent again after a reconnect.
    /// `properties` (null: none) are written for MQTT 5 only; they must be ones a PUBLISH may
    /// carry. Topic, payload and properties are copied into the encoded packet: the caller's
    /// buffers may be reused at once.
    std::uint64_t publish(std::string_view topic, std::string_view payload, mqtt::QoS qos, bool retain,
                          Now now, ClientEffects& out, const mqtt::Properties* properties = nullptr);
    /// Subscribes (completed by SubscribeCompleted); sent now or after the next CONNACK. Filters
    /// the SUBACK grants are remembered for resubscribing. `entries` must not be empty.
    std::uint64_t subscribe(std::vector<mqtt::SubscribeEntry> entries, Now now, ClientEffects& out);
    /// Unsubscribes (completed by UnsubscribeCompleted) and forgets the filters at once.
    /// `filters` must not be empty.
    std::uint64_t unsubscribe(std::vector<std::string> filters, Now now, ClientEffects& out);
    /// Graceful end: DISCONNECT (normal, so no will), CloseTransport, then stopped (no
    /// reconnect). Unacknowledged QoS 1 publishes and pending (un)subscribes are kept and go out
    /// after a later start().
    [[nodiscard]] ClientEffects disconnect(Now now);

    // ---- queries (no effects) ----
    [[nodiscard]] ClientState state() const;
    [[nodiscard]] const ClientStats& stats() const;
    /// The configured client id, or the one an MQTT 5 server assigned.
    [[nodiscard]] const std::string& client_id() const;
    /// Keep-alive in force for the current connection (Server Keep Alive if one came), seconds.
    [[nodiscard]] std::uint16_t keep_alive_s() const;
    /// QoS 1 PUBLISHes sent on this connection and not yet acknowledged.
    [[nodiscard]] std::size_t inflight() const;
    /// QoS 1 publishes waiting to be sent (offline, beyond the window, or to be resent).
    [[nodiscard]] std::size_t queued() const;
    /// Filters remembered for resubscribing, in the order they were first granted.
    [[nodiscard]] const std::vector<mqtt::SubscribeEntry>& subscriptions() const;
    [[nodiscard]] const ClientOptions& options() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace iotsim::client
