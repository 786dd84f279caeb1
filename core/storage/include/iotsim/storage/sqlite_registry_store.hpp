#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "iotsim/registry/store.hpp"
#include "iotsim/storage/store_error.hpp"

struct sqlite3;

namespace iotsim::storage {

/// Options of SqliteRegistryStore.
struct SqliteRegistryStoreOptions {
    /// How long a write waits for another connection's write lock before it fails.
    std::chrono::milliseconds busy_timeout{2000};
};

/// The server's persistence of the registry (things, thing types, thing groups, certificates,
/// CA certificates, policies, settings): the same database file as SqliteStore and
/// SqliteShadowStore (DATA_DIR/iotsim.db), through its own connection, in its own table
/// `registry_records` (schema version `registry_schema_version` in the shared `meta` table).
/// Each record is kept as its JSON form (records.hpp) under (kind, key); keys are names
/// (things, types, groups, policies), ids (certificates), "settings" (the settings).
///
/// WAL mode, synchronous=NORMAL: every put/erase is its own transaction, written to the WAL
/// before it returns, so a change the control plane acknowledged survives kill -9.
///
/// Errors: every failure (cannot open, not a database, unknown schema version, a failed write,
/// a corrupt row) throws StoreError with the path and SQLite's message. The Registry then
/// leaves its memory unchanged and the router answers 500.
///
/// Thread safety: none; used from the thread that drives the Registry. Shares the file with
/// SqliteStore, whose transaction is open until the broker's commit: drive the registry after
/// the broker committed (as the network host does).
class SqliteRegistryStore final : public registry::RegistryStore {
public:
    /// Opens or creates the database and the table. Throws StoreError.
    explicit SqliteRegistryStore(const std::filesystem::path& path,
                                 SqliteRegistryStoreOptions options = {});
    ~SqliteRegistryStore() override;
    SqliteRegistryStore(const SqliteRegistryStore&) = delete;
    SqliteRegistryStore& operator=(const SqliteRegistryStore&) = delete;

    void put_thing(const registry::ThingRecord& record) override;
    void erase_thing(std::string_view name) override;
    void put_thing_type(const registry::ThingTypeRecord& record) override;
    void erase_thing_type(std::string_view name) override;
    void put_thing_group(const registry::ThingGroupRecord& record) override;
    void erase_thing_group(std::string_view name) override;
    void put_certificate(const registry::CertificateRecord& record) override;
    void erase_certificate(std::string_view id) override;
    void put_ca_certificate(const registry::CaCertificateRecord& record) override;
    void erase_ca_certificate(std::string_view id) override;
    void put_policy(const registry::PolicyRecord& record) override;
    void erase_policy(std::string_view name) override;
    void put_authorizer(const registry::AuthorizerRecord& record) override;
    void erase_authorizer(std::string_view name) override;
    void put_settings(const registry::RegistrySettings& settings) override;
    /// Every stored record, each kind in key order. Throws StoreError, also for a corrupt row.
    [[nodiscard]] registry::RegistrySnapshot load() override;

    /// The schema version this code writes and accepts.
    static constexpr int schema_version = 1;

private:
    struct Statements;
    void put(std::string_view kind, std::string_view key, const std::string& json);
    void erase(std::string_view kind, std::string_view key);

    sqlite3* db_ = nullptr;
    std::unique_ptr<Statements> st_;
    std::string path_;
};

}  // namespace iotsim::storage
