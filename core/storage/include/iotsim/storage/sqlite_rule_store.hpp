#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/ruleset/store.hpp"
#include "iotsim/storage/store_error.hpp"

struct sqlite3;

namespace iotsim::storage {

/// Options of SqliteRuleStore.
struct SqliteRuleStoreOptions {
    /// How long a write waits for another connection's write lock before it fails.
    std::chrono::milliseconds busy_timeout{2000};
};

/// The server's persistence of topic rules: the same database file as SqliteStore,
/// SqliteShadowStore and SqliteRegistryStore (DATA_DIR/iotsim.db), through its own connection, in
/// its own table `topic_rules` (schema version `rule_schema_version` in the shared `meta` table).
/// A rule is kept as its TopicRulePayload JSON text exactly as given to put() (ruleDisabled is a
/// member of it, so enabling and disabling persist through put as well), with its name and its
/// creation time in milliseconds since the Unix epoch.
///
/// WAL mode, synchronous=NORMAL: every put/erase is its own transaction, written to the WAL
/// before it returns, so a rule change the control plane acknowledged survives kill -9.
///
/// Errors: every failure (cannot open, not a database, unknown schema version, a failed write,
/// a corrupt row: a payload that is not a JSON object, a creation time that is not an integer)
/// throws StoreError with the path and SQLite's message or the rule's name. The RulesEngine then
/// leaves its memory unchanged and the router answers 500; at start the server reports it and
/// exits. A payload that is a JSON object but no longer compiles is the engine's business (it
/// skips that rule and keeps it stored).
///
/// Thread safety: none; used from the thread that drives the RulesEngine. Shares the file with
/// SqliteStore, whose transaction is open until the broker's commit: drive the rules engine's
/// control plane after the broker committed (as the network host does).
class SqliteRuleStore final : public ruleset::RuleStore {
public:
    /// Opens or creates the database and the table. Throws StoreError.
    explicit SqliteRuleStore(const std::filesystem::path& path, SqliteRuleStoreOptions options = {});
    ~SqliteRuleStore() override;
    SqliteRuleStore(const SqliteRuleStore&) = delete;
    SqliteRuleStore& operator=(const SqliteRuleStore&) = delete;

    /// Inserts or replaces the rule `rule.name`, durably. Throws StoreError.
    void put(const ruleset::StoredRule& rule) override;
    /// Removes the rule `name` (no-op when absent), durably. Throws StoreError.
    void erase(std::string_view name) override;
    /// Every stored rule, ordered by name. Throws StoreError, also for a corrupt row.
    [[nodiscard]] std::vector<ruleset::StoredRule> load_all() override;

    /// The schema version this code writes and accepts.
    static constexpr int schema_version = 1;

private:
    struct Statements;

    sqlite3* db_ = nullptr;
    std::unique_ptr<Statements> st_;
    std::string path_;
};

}  // namespace iotsim::storage
