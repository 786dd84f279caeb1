#include "sqlite_db.hpp"

namespace iotsim::storage::detail {

Statement::Statement(sqlite3* db, const char* sql, std::string_view where) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
        throw StoreError(std::string(where) + ": cannot prepare statement: " + sqlite3_errmsg(db));
    }
}

std::string Statement::column_text(int i) const {
    const unsigned char* p = sqlite3_column_text(stmt_, i);
    const int n = sqlite3_column_bytes(stmt_, i);
    return p == nullptr ? std::string{}
                        : std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::string Statement::column_blob(int i) const {
    const void* p = sqlite3_column_blob(stmt_, i);
    const int n = sqlite3_column_bytes(stmt_, i);
    return p == nullptr ? std::string{}
                        : std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}

sqlite3* open_database(const std::string& path, std::string_view component,
                       std::chrono::milliseconds busy_timeout) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
        const std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        throw StoreError(std::string(component) + ": cannot open " + path + ": " + message);
    }
    try {
        sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
        const std::string where = std::string(component) + ": " + path;
        exec(db, "PRAGMA journal_mode=WAL", where);
        exec(db, "PRAGMA synchronous=NORMAL", where);
    } catch (...) {
        sqlite3_close(db);
        throw;
    }
    return db;
}

void exec(sqlite3* db, const char* sql, std::string_view where) {
    char* error = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
        const std::string message = error != nullptr ? error : sqlite3_errmsg(db);
        sqlite3_free(error);
        throw StoreError(std::string(where) + ": " + message);
    }
}

void create_schema(sqlite3* db, const char* schema, std::string_view name, int version,
                   std::string_view where) {
    exec(db, "BEGIN IMMEDIATE", where);
    try {
        exec(db, schema, where);
        exec(db, "COMMIT", where);
    } catch (const StoreError&) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    Statement s(db, "SELECT value FROM meta WHERE key = ?", where);
    s.text(1, std::string(name) + "_schema_version");
    const std::string found = s.step() == SQLITE_ROW ? s.column_text(0) : std::string("(none)");
    if (found != std::to_string(version)) {
        throw StoreError(std::string(where) + ": " + std::string(name) + " schema version " + found +
                         " is not supported (expected " + std::to_string(version) + ")");
    }
}

}  // namespace iotsim::storage::detail
