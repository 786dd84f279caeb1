#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/shadow/store.hpp"
#include "iotsim/storage/store_error.hpp"

struct sqlite3;

namespace iotsim::storage {

/// Options of SqliteShadowStore.
struct SqliteShadowStoreOptions {
    /// How long a write waits for another connection's write lock (SqliteStore's open
    /// transaction, another process) before it fails with StoreError.
    std::chrono::milliseconds busy_timeout{2000};
};

/// The server's persistence of Device Shadows: the same database file as SqliteStore
/// (DATA_DIR/iotsim.db), through its own connection, in its own table `shadows` (schema version
/// `shadow_schema_version` in the shared `meta` table). WAL mode, synchronous=NORMAL, as
/// SqliteStore: every put/erase is its own transaction, committed (written to the WAL with
/// write(2)) before it returns, so a shadow change the service acknowledged survives kill -9 of the
/// process; a power loss may lose the last transactions.
///
/// State and metadata are stored as compact JSON text, the version and the wall time of the last
/// change (nanoseconds since the Unix epoch) as integers, tombstones with `deleted = 1`.
///
/// Errors: every failure (cannot open or create the file, not a database, an unknown schema
/// version, a write that fails or waits beyond busy_timeout, a corrupt row) throws StoreError with
/// the path and SQLite's message. ShadowService answers a failed put with 500 and changes nothing.
///
/// Sharing the file with SqliteStore: SQLite admits one writer at a time. SqliteStore keeps its
/// transaction open from its first write until Store::commit(); a put made on the same thread in
/// between waits busy_timeout and then throws. The host must therefore drive the shadow service
/// after the broker has committed (the broker commits before it returns from each input).
///
/// Thread safety: none; used from the thread that drives the ShadowService.
class SqliteShadowStore final : public shadow::ShadowStore {
public:
    /// Opens or creates the database and the shadow table. Throws StoreError.
    explicit SqliteShadowStore(const std::filesystem::path& path,
                               SqliteShadowStoreOptions options = {});
    ~SqliteShadowStore() override;
    SqliteShadowStore(const SqliteShadowStore&) = delete;
    SqliteShadowStore& operator=(const SqliteShadowStore&) = delete;

    /// Inserts or replaces the record of `record.key`, durably. Throws StoreError.
    void put(const shadow::ShadowRecord& record) override;
    /// put() with the document already serialised (see ShadowStore::put_serialized).
    void put_serialized(const shadow::ShadowRecord& record, std::string_view state_json,
                        std::string_view metadata_json) override;
    /// Removes the record of `key` (no-op when absent), durably. Throws StoreError.
    void erase(const shadow::ShadowKey& key) override;
    /// Every stored record, in key order. Throws StoreError, also for a corrupt row.
    [[nodiscard]] std::vector<shadow::ShadowRecord> load() override;

    /// The schema version this code writes and accepts.
    static constexpr int schema_version = 1;

private:
    struct Statements;
    [[noreturn]] void fail(const std::string& what);

    sqlite3* db_ = nullptr;
    std::unique_ptr<Statements> st_;
    std::string path_;
};

}  // namespace iotsim::storage
