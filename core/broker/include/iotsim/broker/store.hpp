#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/broker/message.hpp"
#include "iotsim/mqtt/packet.hpp"

namespace iotsim::broker {

/// A persistent session as stored: enough to reinstate it after a restart.
struct SessionRecord {
    std::string client_id;
    mqtt::Version version = mqtt::Version::v311;
    std::uint32_t expiry_interval_s = 0;
    /// Wall-clock time at which the session expires if the client stays away; 0 while connected.
    std::int64_t expires_at_unix_ms = 0;
    std::string session_identifier;
    std::vector<mqtt::SubscribeEntry> subscriptions;  // sorted by filter
};

/// A QoS 1 message owed to a persistent session, in delivery order (`sequence`).
struct QueuedRecord {
    std::string client_id;
    std::uint64_t sequence = 0;
    MessagePtr message;
};

/// Everything a broker reloads at start.
struct StoreSnapshot {
    std::vector<RetainedMessage> retained;
    std::vector<SessionRecord> sessions;
    std::vector<QueuedRecord> queued;  // ordered by (client_id, sequence)
};

/// Persistence for what the broker has acknowledged: retained messages and persistent sessions
/// with their queued QoS 1 messages. The broker calls the mutators while it handles one input
/// and then `commit()` before any acknowledgement of that input leaves as an effect, so that an
/// acknowledged message survives a crash of the process (kill -9) from then on.
///
/// Implementations: MemoryStore (simulator; outlives a simulated broker crash) and SqliteStore
/// (server; DATA_DIR/iotsim.db). Mutators must not fail on valid input; a storage failure is an
/// environment failure that the implementation reports by throwing StoreError from commit().
class Store {
public:
    virtual ~Store() = default;
    virtual void put_retained(const RetainedMessage& retained) = 0;
    virtual void erase_retained(std::string_view topic) = 0;
    virtual void put_session(const SessionRecord& session) = 0;
    virtual void erase_session(std::string_view client_id) = 0;  // also erases its queue
    virtual void put_queued(const QueuedRecord& queued) = 0;
    virtual void erase_queued(std::string_view client_id, std::uint64_t sequence) = 0;
    virtual void commit() = 0;
    [[nodiscard]] virtual StoreSnapshot load() = 0;
};

/// In-memory store. Its content survives the destruction of a Broker that used it, which is how
/// the simulator models "the broker crashed; its disk did not".
class MemoryStore final : public Store {
public:
    void put_retained(const RetainedMessage& retained) override;
    void erase_retained(std::string_view topic) override;
    void put_session(const SessionRecord& session) override;
    void erase_session(std::string_view client_id) override;
    void put_queued(const QueuedRecord& queued) override;
    void erase_queued(std::string_view client_id, std::uint64_t sequence) override;
    void commit() override {}
    [[nodiscard]] StoreSnapshot load() override;

private:
    std::map<std::string, RetainedMessage, std::less<>> retained_;
    std::map<std::string, SessionRecord, std::less<>> sessions_;
    std::map<std::pair<std::string, std::uint64_t>, MessagePtr, std::less<>> queued_;
};

/// A NullStore keeps nothing (a broker without persistence).
class NullStore final : public Store {
public:
    void put_retained(const RetainedMessage&) override {}
    void erase_retained(std::string_view) override {}
    void put_session(const SessionRecord&) override {}
    void erase_session(std::string_view) override {}
    void put_queued(const QueuedRecord&) override {}
    void erase_queued(std::string_view, std::uint64_t) override {}
    void commit() override {}
    [[nodiscard]] StoreSnapshot load() override { return {}; }
};

}  // namespace iotsim::broker
