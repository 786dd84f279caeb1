#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/broker/authorizer.hpp"
#include "iotsim/broker/config.hpp"
#include "iotsim/broker/effects.hpp"
#include "iotsim/broker/identity.hpp"
#include "iotsim/broker/message.hpp"
#include "iotsim/broker/store.hpp"
#include "iotsim/common/rng.hpp"
#include "iotsim/common/time.hpp"

namespace iotsim::broker {

/// What the broker needs from its host, injected (never global): authorization, persistence and
/// the seeded random stream (session identifiers, assigned client ids, shared-subscription picks).
struct BrokerServices {
    Authorizer& authorizer;
    Store& store;
    Rng& rng;
};

/// Counters for observability and tests; never reset.
struct BrokerStats {
    std::uint64_t connections_accepted = 0;
    std::uint64_t connects_refused = 0;
    std::uint64_t protocol_errors = 0;
    std::uint64_t publishes_received = 0;
    std::uint64_t messages_delivered = 0;
    std::uint64_t qos0_dropped_slow_consumer = 0;
    std::uint64_t qos1_dropped_queue_full = 0;
    std::uint64_t messages_expired = 0;
    std::uint64_t receive_denied = 0;
};

/// A read-only view of one session, for tests, the simulator and the data-plane APIs.
struct SessionInfo {
    std::string client_id;
    bool connected = false;
    bool persistent = false;
    mqtt::Version version = mqtt::Version::v311;  // of the last CONNECT
    /// While connected: how and as whom (PeerIdentity::transport and ::principal).
    Transport transport = Transport::tcp;
    std::string principal;
    std::vector<mqtt::SubscribeEntry> subscriptions;  // sorted by filter
    std::size_t queued = 0;    // QoS 1 messages waiting (offline or beyond the window)
    std::size_t inflight = 0;  // sent and not yet acknowledged
};

/// AWS IoT Core's message broker and device gateway as a Sans-I/O state machine: it performs no
/// I/O, reads no clock and draws no randomness except from the injected Rng. Every input carries
/// `now`; every action comes back as an Effect for the host to carry out, in order. The network
/// host (core/net) and the simulator host (sim/) drive the same Broker with the same bytes.
///
/// Behaviour: ../shared/reference/aws-iot-core.md §1 (MQTT 3.1.1 and 5, QoS 0/1, AWS's topic,
/// client-id, keep-alive, retained, will, session and lifecycle-event rules).
///
/// Thread safety: not synchronised; one host thread drives one Broker.
class Broker {
public:
    Broker(BrokerConfig config, BrokerServices services);
    ~Broker();
    Broker(const Broker&) = delete;
    Broker& operator=(const Broker&) = delete;

    /// Reloads retained messages and persistent sessions from the store (after a restart).
    [[nodiscard]] Effects recover(Now now);

    /// A transport connection was established; CONNECT must follow within connect_timeout.
    [[nodiscard]] Effects accept(ConnectionId connection, PeerIdentity peer, Now now);
    /// Bytes arrived on the connection (any split: partial packets are buffered).
    [[nodiscard]] Effects receive(ConnectionId connection, std::string_view bytes, Now now);
    /// The host wrote `bytes` of earlier Sends to the peer (output back-pressure accounting).
    [[nodiscard]] Effects drained(ConnectionId connection, std::size_t bytes, Now now);
    /// The transport closed or failed under the broker (peer reset, EOF, TLS error).
    [[nodiscard]] Effects closed(ConnectionId connection, Now now);
    /// The host found that the connection's credentials no longer hold (its certificate left
    /// ACTIVE; AWS disconnects such devices "within minutes", iotsim at once): an MQTT 5 client
    /// gets DISCONNECT 0x87 (Not authorized), then the connection is closed, with the lifecycle
    /// reason AUTH_ERROR and the will published (AWS's table: AUTH_ERROR sends the will).
    /// Unknown connections are ignored.
    [[nodiscard]] Effects revoke(ConnectionId connection, Now now);
    /// A custom authorizer decided about the connection (PeerIdentity::custom): before its
    /// CONNECT (the host holds the bytes until the function answers) or later, when the host
    /// ran the function again after refreshAfterInSeconds. A connected client whose new answer
    /// does not authenticate it is disconnected as revoke() does (AUTH_ERROR). A changed
    /// disconnectAfterInSeconds re-arms the connection's time limit (counted from accept).
    /// Unknown connections are ignored.
    [[nodiscard]] Effects set_credentials(ConnectionId connection,
                                          std::shared_ptr<const CustomCredentials> credentials, Now now);
    /// The wake-up requested by the last ArmTimer effect is due.
    [[nodiscard]] Effects timer_fired(Now now);
    /// Optional: hands back an Effects vector the host has carried out, so that its capacity
    /// holds later output, and so do the Sends' byte strings the host left in it (a host that
    /// copies the bytes out and always recycles allocates neither per input).
    void recycle(Effects&& spent);
    /// Publishes a message from inside the service (HTTP publish, shadow service, rules), routed
    /// exactly as a client's PUBLISH. Retain is honoured.
    [[nodiscard]] Effects publish(Message message, Now now);
    /// Subscribes a service inside the process to `filter` (a valid MQTT filter, not shared):
    /// every message routed to it comes back as a Dispatch effect, once per message per listener
    /// however many of its filters match. Listeners see messages as a QoS 1 subscriber would,
    /// from every source (clients, publish(), lifecycle events), with no authorization check,
    /// no queue and no retained replay. Basic Ingest topics are never routed to them (see
    /// listen_basic_ingest).
    void listen(ListenerId listener, std::string_view filter);
    /// Removes a filter added by listen(); unknown pairs are ignored.
    void unlisten(ListenerId listener, std::string_view filter);
    /// Basic Ingest (reference §1.15): a message published to `$aws/rules/<rule_name>` or
    /// `$aws/rules/<rule_name>/...` comes back as a Dispatch to `listener` only (no subscriber,
    /// no other listener sees it). One listener per rule name; a second call replaces it.
    void listen_basic_ingest(ListenerId listener, std::string_view rule_name);
    /// Removes the Basic Ingest registration of `rule_name`; Basic Ingest messages to it are
    /// then dropped (AWS: RuleNotFound).
    void unlisten_basic_ingest(std::string_view rule_name);

    /// Graceful shutdown: every connection gets DISCONNECT 0x8B (MQTT 5) and is closed.
    [[nodiscard]] Effects shutdown(Now now);

    // ---- queries (no effects) ----
    [[nodiscard]] std::optional<SessionInfo> session(std::string_view client_id) const;
    /// Every session (connected, or persistent and offline) in byte order of client id, the
    /// first `max` of them; `total` (if given) gets how many there are.
    [[nodiscard]] std::vector<SessionInfo> sessions(std::size_t max, std::size_t* total = nullptr) const;
    [[nodiscard]] std::vector<std::string> retained_topics() const;
    [[nodiscard]] std::optional<RetainedMessage> retained(std::string_view topic) const;
    [[nodiscard]] std::size_t connection_count() const;
    [[nodiscard]] const BrokerStats& stats() const;
    [[nodiscard]] const BrokerConfig& config() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace iotsim::broker
