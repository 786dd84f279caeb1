#include "iotsim/storage/sqlite_shadow_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "iotsim/shadow/document.hpp"

namespace iotsim::storage {
namespace {

// A prepared statement that finalizes itself. Binding copies the bytes (SQLITE_TRANSIENT), so
// arguments need not outlive the call.
class Statement {
public:
    Statement(sqlite3* db, const char* sql, const std::string& path) {
        if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
            throw StoreError("iotsim.shadow_store: " + path +
                             ": cannot prepare statement: " + sqlite3_errmsg(db));
        }
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& text(int i, std::string_view s) {
        sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Statement& integer(int i, std::int64_t v) {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    int step() { return sqlite3_step(stmt_); }
    void reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    [[nodiscard]] std::string column_text(int i) const {
        const unsigned char* p = sqlite3_column_text(stmt_, i);
        const int n = sqlite3_column_bytes(stmt_, i);
        return p == nullptr
                   ? std::string{}
                   : std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
    }
    [[nodiscard]] std::int64_t column_int(int i) const { return sqlite3_column_int64(stmt_, i); }
    [[nodiscard]] int column_type(int i) const { return sqlite3_column_type(stmt_, i); }

private:
    sqlite3_stmt* stmt_ = nullptr;
};

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
    Statements(sqlite3* db, const std::string& path)
        : put(db,
              "INSERT OR REPLACE INTO shadows(thing_name, shadow_name, state, metadata, version, "
              "updated_at_ns, deleted) VALUES (?,?,?,?,?,?,?)",
              path),
          erase(db, "DELETE FROM shadows WHERE thing_name = ? AND shadow_name = ?", path) {}
    Statement put;
    Statement erase;
};

SqliteShadowStore::SqliteShadowStore(const std::filesystem::path& path,
                                     SqliteShadowStoreOptions options)
    : path_(path.string()) {
    if (sqlite3_open_v2(path_.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
        const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        throw StoreError("iotsim.shadow_store: cannot open " + path_ + ": " + message);
    }
    try {
        sqlite3_busy_timeout(db_, static_cast<int>(options.busy_timeout.count()));
        // SQLite opens lazily: the first statement is where a file that is not a database, or
        // one that cannot be written, is found out.
        exec("PRAGMA journal_mode=WAL");
        exec("PRAGMA synchronous=NORMAL");
        exec("BEGIN IMMEDIATE");
        try {
            exec(schema);
            exec("COMMIT");
        } catch (const StoreError&) {
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
        {
            Statement version(db_, "SELECT value FROM meta WHERE key = 'shadow_schema_version'",
                              path_);
            const std::string found =
                version.step() == SQLITE_ROW ? version.column_text(0) : std::string("(none)");
            if (found != std::to_string(schema_version)) {
                throw StoreError("iotsim.shadow_store: " + path_ + ": shadow schema version " +
                                 found + " is not supported (expected " +
                                 std::to_string(schema_version) + ")");
            }
        }
        st_ = std::make_unique<Statements>(db_, path_);
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

void SqliteShadowStore::exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
        const std::string message = error != nullptr ? error : sqlite3_errmsg(db_);
        sqlite3_free(error);
        throw StoreError("iotsim.shadow_store: " + path_ + ": " + message);
    }
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
                path_);
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
