#pragma once

// What the SQLite stores share (internal to core/storage): opening DATA_DIR/iotsim.db with the
// same flags and pragmas, running SQL, prepared statements, and each store's schema version in
// the shared `meta` table. Every failure throws StoreError; `where` is the message's prefix
// ("iotsim.shadow_store: <path>").

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "iotsim/storage/store_error.hpp"

namespace iotsim::storage::detail {

/// A prepared statement that finalizes itself. Binding copies the bytes (SQLITE_TRANSIENT), so
/// arguments need not outlive the call.
class Statement {
public:
    Statement() = default;
    /// Throws StoreError "<where>: cannot prepare statement: <SQLite's message>".
    Statement(sqlite3* db, const char* sql, std::string_view where);
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement(Statement&& o) noexcept : stmt_(o.stmt_) { o.stmt_ = nullptr; }
    Statement& operator=(Statement&& o) noexcept {
        std::swap(stmt_, o.stmt_);
        return *this;
    }

    Statement& text(int i, std::string_view s) {
        sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Statement& blob(int i, std::string_view s) {
        sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Statement& integer(int i, std::int64_t v) {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    Statement& null(int i) {
        sqlite3_bind_null(stmt_, i);
        return *this;
    }
    int step() { return sqlite3_step(stmt_); }
    void reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    [[nodiscard]] std::string column_text(int i) const;
    [[nodiscard]] std::string column_blob(int i) const;
    [[nodiscard]] std::int64_t column_int(int i) const { return sqlite3_column_int64(stmt_, i); }
    [[nodiscard]] int column_type(int i) const { return sqlite3_column_type(stmt_, i); }
    [[nodiscard]] bool column_null(int i) const { return column_type(i) == SQLITE_NULL; }

private:
    sqlite3_stmt* stmt_ = nullptr;
};

/// Opens or creates `path` (read-write, no mutex: one thread per connection), sets the busy
/// timeout, WAL mode and synchronous=NORMAL. SQLite opens lazily, so the pragmas are where a file
/// that is not a database, or cannot be written, is found out. Throws StoreError
/// "<component>: cannot open <path>: ..." or "<component>: <path>: ..."; nothing stays open then.
[[nodiscard]] sqlite3* open_database(const std::string& path, std::string_view component,
                                     std::chrono::milliseconds busy_timeout);

/// Runs `sql` (one or more statements). Throws StoreError "<where>: <SQLite's message>".
void exec(sqlite3* db, const char* sql, std::string_view where);

/// Runs `schema` in one BEGIN IMMEDIATE transaction (rolled back when it fails), then checks the
/// store's version in the shared `meta` table: `<name>_schema_version` must be `version`.
/// Throws StoreError, "<where>: <name> schema version <found> is not supported (expected <v>)"
/// for another version.
void create_schema(sqlite3* db, const char* schema, std::string_view name, int version,
                   std::string_view where);

}  // namespace iotsim::storage::detail
