#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/common/fold_hash.hpp"
#include "iotsim/common/time.hpp"

namespace iotsim::sim {

enum class TraceKind : std::uint8_t {
    device_start,
    connect_attempt,
    connect_failed,
    connection_open,
    bytes_to_broker,    // a write by the device: its packets, decoded in the record
    bytes_to_device,    // a write by the broker
    close,              // a transport close, with who closed it
    broker_event,       // the broker's Event effects (connected, disconnected + AWS reason, ...)
    device_connected,
    device_disconnected,
    message_received,
    publish_completed,
    fault,
    timer,
    check_failed,
    rule_action,        // a rule action the host ran (ActionRunner), with its outcome
    tls_handshake_failed,  // the host refused a device's certificate (expired, not yet valid)
    certificate_revoked,   // the host closed a connection whose certificate left ACTIVE
};

[[nodiscard]] std::string_view trace_kind_name(TraceKind kind);

/// One trace record, as exported (JSON Lines) and as Python sees it.
struct TraceRecord {
    std::int64_t time_ns = 0;  // virtual time since the start of the simulation
    TraceKind kind = TraceKind::timer;
    std::string node;          // "broker" or a device name
    std::uint64_t connection = 0;
    std::string detail;
};

/// The simulation's trace: a stable 64-bit hash over a canonical encoding of every event
/// (virtual time, kind, node, connection, and the exact bytes or text of the event), plus,
/// when asked for, the records themselves with decoded packet summaries. The hash does not
/// depend on whether records are kept, so a fast run and a recorded run of the same scenario
/// and seed have the same hash.
class Trace {
public:
    explicit Trace(bool keep_records) : keep_(keep_records) {}

    // The hashing is inline (a few multiplies, several times per simulated message); keeping a
    // record is not.

    /// An event whose content is `text`.
    void note(Instant at, TraceKind kind, std::uint32_t node, std::uint64_t connection, std::string_view text) {
        header(at, kind, node, connection);
        mix_bytes(text);
        if (keep_) {
            keep_note(at, kind, node, connection, text);
        }
    }
    /// An event with two text parts and a number, hashed as they are; the record's detail
    /// ("a b") is only formatted when records are kept (the hot path: received messages).
    void pair(Instant at, TraceKind kind, std::uint32_t node, std::uint64_t connection, std::string_view a,
              std::string_view b) {
        header(at, kind, node, connection);
        mix_bytes(a);
        mix_bytes(b);
        if (keep_) {
            keep_pair(at, kind, node, connection, a, b);
        }
    }
    /// Bytes written on a connection; hashed raw, decoded into MQTT packet summaries only when
    /// records are kept. `version` tells the decoder the packets' protocol version (0 unknown).
    void bytes(Instant at, TraceKind kind, std::uint32_t node, std::uint64_t connection, std::string_view data,
               std::uint8_t version) {
        header(at, kind, node, connection);
        mix_bytes(data);
        if (keep_) {
            keep_bytes(at, kind, node, connection, data, version);
        }
    }

    [[nodiscard]] std::uint64_t hash() const { return hash_; }
    [[nodiscard]] std::string hash_hex() const;
    [[nodiscard]] std::uint64_t count() const { return count_; }
    [[nodiscard]] bool keeps_records() const { return keep_; }
    [[nodiscard]] const std::vector<TraceRecord>& records() const { return records_; }
    /// Node names for records: index -> name; broker_node is "broker".
    void set_node_names(const std::vector<std::string>* names) { names_ = names; }
    void write_jsonl(std::ostream& out) const;

    static constexpr std::uint32_t broker_node = 0xFFFF'FFFF;

private:
    void mix_bytes(std::string_view s) { hash_ = fold_hash::fold_bytes(hash_, s); }
    void header(Instant at, TraceKind kind, std::uint32_t node, std::uint64_t connection) {
        using fold_hash::fold;
        ++count_;
        const std::uint64_t h =
            fold(static_cast<std::uint64_t>(at.since_epoch.count()) ^ hash_ ^ fold_hash::k0,
                 ((static_cast<std::uint64_t>(node) << 8) | static_cast<std::uint64_t>(kind)) ^ fold_hash::k1);
        hash_ = fold(connection ^ h ^ fold_hash::k0, fold_hash::k2);
    }
    void keep_note(Instant at, TraceKind kind, std::uint32_t node, std::uint64_t connection, std::string_view text);
    void keep_pair(Instant at, TraceKind kind, std::uint32_t node, std::uint64_t connection, std::string_view a,
                   std::string_view b);
    void keep_bytes(Instant at, TraceKind kind, std::uint32_t node, std::uint64_t connection, std::string_view data,
                    std::uint8_t version);
    [[nodiscard]] std::string node_name(std::uint32_t node) const;

    bool keep_;
    std::uint64_t hash_ = 14695981039346656037ULL;
    std::uint64_t count_ = 0;
    std::vector<TraceRecord> records_;
    const std::vector<std::string>* names_ = nullptr;
};

/// A one-line summary of each MQTT packet in `data` ("PUBLISH q1 id=3 sdk/test/python 18B; ...").
[[nodiscard]] std::string summarize_packets(std::string_view data, std::uint8_t version);

}  // namespace iotsim::sim
