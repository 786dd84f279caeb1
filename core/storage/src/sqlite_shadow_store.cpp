#include "iotsim/storage/sqlite_shadow_store.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "iotsim/shadow/document.hpp"
#include "sqlite_db.hpp"

namespace iotsim::storage {
namespace {

using detail::Statement;

// The shared `meta` table has the same definition as SqliteStore's; each store keeps its own
// version key in it, so either may be created first and each migrates on its own.
constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('shadow_schema_version', '1');
CREATE TABLE IF NOT EXISTS shadows(
    thing_name TEXT NOT NULL, shadow_name TEXT NOT NULL, state TEXT NOT NULL,
    metadata TEXT NOT NULL, version INTEGER NOT NULL, updated_at_ns INTEGER NOT NULL,
    deleted INTEGER NOT NULL, PRIMARY KEY (thing_name, shadow_name)) WITHOUT ROWID;
)sql";

std::string key_text(const shadow::ShadowKey& key) {
    return key.classic() ? key.thing_name : key.thing_name + "/" + key.shadow_name;
}

}  // namespace

struct SqliteShadowStore::Statements {
    Statements(sqlite3* db, const std::string& where)
        : put(db,
              "INSERT OR REPLACE INTO shadows(thing_name, shadow_name, state, metadata, version, "
              "updated_at_ns, deleted) VALUES (?,?,?,?,?,?,?)",
              where),
          erase(db, "DELETE FROM shadows WHERE thing_name = ? AND shadow_name = ?", where) {}
    Statement put;
    Statement erase;
};

SqliteShadowStore::SqliteShadowStore(const std::filesystem::path& path,
                                     SqliteShadowStoreOptions options)
    : path_(path.string()) {
    db_ = detail::open_database(path_, "iotsim.shadow_store", options.busy_timeout);
    const std::string where = "iotsim.shadow_store: " + path_;
    try {
        detail::create_schema(db_, schema, "shadow", schema_version, where);
        st_ = std::make_unique<Statements>(db_, where);
    } catch (...) {
        st_.reset();
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

SqliteShadowStore::~SqliteShadowStore() {
    st_.reset();
    sqlite3_close(db_);
}

void SqliteShadowStore::fail(const std::string& what) {
    throw StoreError("iotsim.shadow_store: " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

void SqliteShadowStore::put(const shadow::ShadowRecord& record) {
    put_serialized(record, shadow::to_payload(record.state), shadow::to_payload(record.metadata));
}

void SqliteShadowStore::put_serialized(const shadow::ShadowRecord& record,
                                       std::string_view state_json,
                                       std::string_view metadata_json) {
    Statement& s = st_->put;
    s.text(1, record.key.thing_name)
        .text(2, record.key.shadow_name)
        .text(3, state_json)
        .text(4, metadata_json)
        .integer(5, record.version)
        .integer(6, record.updated_at.since_unix_epoch.count())
        .integer(7, record.deleted ? 1 : 0);
    // Autocommit: SQLITE_DONE means the transaction is in the WAL.
    const int rc = s.step();
    if (rc != SQLITE_DONE) {
        const std::string message = sqlite3_errmsg(db_);
        s.reset();
        throw StoreError("iotsim.shadow_store: " + path_ + ": put " + key_text(record.key) + ": " +
                         message);
    }
    s.reset();
}

void SqliteShadowStore::erase(const shadow::ShadowKey& key) {
    Statement& s = st_->erase;
    s.text(1, key.thing_name).text(2, key.shadow_name);
    const int rc = s.step();
    if (rc != SQLITE_DONE) {
        const std::string message = sqlite3_errmsg(db_);
        s.reset();
        throw StoreError("iotsim.shadow_store: " + path_ + ": erase " + key_text(key) + ": " +
                         message);
    }
    s.reset();
}

std::vector<shadow::ShadowRecord> SqliteShadowStore::load() {
    std::vector<shadow::ShadowRecord> records;
    Statement s(db_,
                "SELECT thing_name, shadow_name, state, metadata, version, updated_at_ns, deleted "
                "FROM shadows ORDER BY thing_name, shadow_name",
                "iotsim.shadow_store: " + path_);
    int rc = SQLITE_ROW;
    while ((rc = s.step()) == SQLITE_ROW) {
        shadow::ShadowRecord record;
        record.key.thing_name = s.column_text(0);
        record.key.shadow_name = s.column_text(1);
        const auto corrupt = [&](std::string_view what) {
            return StoreError("iotsim.shadow_store: " + path_ + ": corrupt " + std::string(what) +
                              " of shadow " + key_text(record.key));
        };
        if (s.column_type(4) != SQLITE_INTEGER || s.column_type(5) != SQLITE_INTEGER ||
            s.column_type(6) != SQLITE_INTEGER || s.column_int(4) < 0) {
            throw corrupt("version, time or deleted flag");
        }
        record.state = nlohmann::json::parse(s.column_text(2), nullptr, false);
        if (record.state.is_discarded() || !record.state.is_object()) {
            throw corrupt("state");
        }
        record.metadata = nlohmann::json::parse(s.column_text(3), nullptr, false);
        if (record.metadata.is_discarded() || !record.metadata.is_object()) {
            throw corrupt("metadata");
        }
        record.version = s.column_int(4);
        record.updated_at = WallTime{Duration(s.column_int(5))};
        record.deleted = s.column_int(6) != 0;
        records.push_back(std::move(record));
    }
    if (rc != SQLITE_DONE) {
        fail("load shadows");
    }
    // SQLite's BINARY collation is memcmp order, which is ShadowKey's; sorting again costs little
    // and keeps the contract independent of the table's collation.
    std::sort(
        records.begin(), records.end(),
        [](const shadow::ShadowRecord& a, const shadow::ShadowRecord& b) { return a.key < b.key; });
    return records;
}

}  // namespace iotsim::storage
