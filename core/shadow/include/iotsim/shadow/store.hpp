#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/common/time.hpp"
#include "iotsim/shadow/key.hpp"

namespace iotsim::shadow {

/// One shadow as the service keeps and persists it: a live document, or the tombstone of a
/// deleted one (AWS remembers a deleted shadow's version for 48 hours so that a re-created shadow
/// continues from it).
struct ShadowRecord {
    ShadowKey key;
    /// `{"desired": {..}, "reported": {..}}`, each section present only when non-empty; `{}` for
    /// a live shadow whose state was cleared and for a tombstone.
    nlohmann::json state = nlohmann::json::object();
    /// Mirrors `state` with `{"timestamp": epoch seconds}` per leaf (see document.hpp).
    nlohmann::json metadata = nlohmann::json::object();
    /// Version of the document; of a tombstone, the version the shadow had when it was deleted.
    std::int64_t version = 0;
    /// Wall time of the last accepted update, or of the delete for a tombstone.
    WallTime updated_at;
    bool deleted = false;
};

/// Persistence for shadows. The service calls `put` with the shadow as it now is after every
/// accepted change (update: the new document; delete: its tombstone) and before the response
/// leaves, and `erase` when a tombstone expires; `load` at start (ShadowService::recover).
///
/// Implementations: MemoryShadowStore (tests, simulator: it outlives the service, as a disk
/// would) and the server's storage::SqliteShadowStore (core/storage, DATA_DIR/iotsim.db). A storage failure is an environment failure: the
/// implementation throws (any std::exception); the service then answers 500 "Internal service
/// failure" and changes nothing.
///
/// Thread safety: called from the thread that drives the service.
class ShadowStore {
public:
    virtual ~ShadowStore() = default;
    virtual void put(const ShadowRecord& record) = 0;
    /// put(record) from a caller that has already serialised the document: `state_json` and
    /// `metadata_json` are to_payload(record.state) and to_payload(record.metadata). Stores that
    /// keep text use them instead of serialising again; the default calls put(record).
    virtual void put_serialized(const ShadowRecord& record, std::string_view state_json,
                                std::string_view metadata_json) {
        (void)state_json;
        (void)metadata_json;
        put(record);
    }
    virtual void erase(const ShadowKey& key) = 0;
    /// Every stored record, in key order.
    [[nodiscard]] virtual std::vector<ShadowRecord> load() = 0;
};

/// In-memory ShadowStore. Its content survives the destruction of the service that used it. Like
/// a disk it keeps bytes: state and metadata as compact JSON, parsed again by load() and find(), so
/// that a put costs a copy of the text rather than of every node of the document.
class MemoryShadowStore final : public ShadowStore {
public:
    void put(const ShadowRecord& record) override;
    void put_serialized(const ShadowRecord& record, std::string_view state_json,
                        std::string_view metadata_json) override;
    void erase(const ShadowKey& key) override;
    [[nodiscard]] std::vector<ShadowRecord> load() override;

    /// For tests: the stored record as of this call, or nullptr. The pointer stays valid until the
    /// record is erased; a later put shows through the next find().
    [[nodiscard]] const ShadowRecord* find(const ShadowKey& key) const;
    [[nodiscard]] std::size_t size() const { return records_.size(); }
    /// For tests: how many times put/erase were called.
    [[nodiscard]] std::uint64_t writes() const { return writes_; }

private:
    struct Stored {
        std::string state_json;
        std::string metadata_json;
        std::int64_t version = 0;
        WallTime updated_at;
        bool deleted = false;
        // The parsed record find() hands out, refreshed when stale.
        mutable ShadowRecord decoded;
        mutable bool decoded_fresh = false;
    };
    [[nodiscard]] static ShadowRecord decode(const ShadowKey& key, const Stored& stored);

    std::map<ShadowKey, Stored> records_;
    std::uint64_t writes_ = 0;
};

}  // namespace iotsim::shadow
