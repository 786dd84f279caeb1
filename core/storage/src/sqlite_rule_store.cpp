#include "iotsim/storage/sqlite_rule_store.hpp"

#include <utility>

#include <nlohmann/json.hpp>

#include "sqlite_db.hpp"

namespace iotsim::storage {
namespace {

using detail::Statement;

// The shared `meta` table has the same definition as the other stores'.
constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('rule_schema_version', '1');
CREATE TABLE IF NOT EXISTS topic_rules(
    name TEXT PRIMARY KEY, payload TEXT NOT NULL, created_at_ms INTEGER NOT NULL) WITHOUT ROWID;
)sql";

}  // namespace

struct SqliteRuleStore::Statements {
    Statements(sqlite3* db, const std::string& where)
        : put(db, "INSERT OR REPLACE INTO topic_rules(name, payload, created_at_ms) VALUES (?,?,?)",
              where),
          erase(db, "DELETE FROM topic_rules WHERE name = ?", where) {}
    Statement put;
    Statement erase;
};

SqliteRuleStore::SqliteRuleStore(const std::filesystem::path& path, SqliteRuleStoreOptions options)
    : path_(path.string()) {
    db_ = detail::open_database(path_, "iotsim.rule_store", options.busy_timeout);
    const std::string where = "iotsim.rule_store: " + path_;
    try {
        detail::create_schema(db_, schema, "rule", schema_version, where);
        st_ = std::make_unique<Statements>(db_, where);
    } catch (...) {
        st_.reset();
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

SqliteRuleStore::~SqliteRuleStore() {
    st_.reset();
    sqlite3_close(db_);
}

void SqliteRuleStore::put(const ruleset::StoredRule& rule) {
    Statement& s = st_->put;
    s.text(1, rule.name).text(2, rule.payload_json).integer(3, rule.created_at_ms);
    // Autocommit: SQLITE_DONE means the transaction is in the WAL.
    const int rc = s.step();
    if (rc != SQLITE_DONE) {
        const std::string message = sqlite3_errmsg(db_);
        s.reset();
        throw StoreError("iotsim.rule_store: " + path_ + ": put rule " + rule.name + ": " + message);
    }
    s.reset();
}

void SqliteRuleStore::erase(std::string_view name) {
    Statement& s = st_->erase;
    s.text(1, name);
    const int rc = s.step();
    if (rc != SQLITE_DONE) {
        const std::string message = sqlite3_errmsg(db_);
        s.reset();
        throw StoreError("iotsim.rule_store: " + path_ + ": erase rule " + std::string(name) + ": " +
                         message);
    }
    s.reset();
}

std::vector<ruleset::StoredRule> SqliteRuleStore::load_all() {
    std::vector<ruleset::StoredRule> rules;
    // BINARY collation is memcmp order: the name order of MemoryRuleStore's std::map.
    Statement s(db_, "SELECT name, payload, created_at_ms FROM topic_rules ORDER BY name",
                "iotsim.rule_store: " + path_);
    int rc = SQLITE_ROW;
    while ((rc = s.step()) == SQLITE_ROW) {
        ruleset::StoredRule rule;
        rule.name = s.column_text(0);
        const auto corrupt = [&](std::string_view what) {
            return StoreError("iotsim.rule_store: " + path_ + ": corrupt " + std::string(what) +
                              " of rule " + rule.name);
        };
        if (s.column_type(2) != SQLITE_INTEGER) {
            throw corrupt("creation time");
        }
        rule.payload_json = s.column_text(1);
        const nlohmann::json payload = nlohmann::json::parse(rule.payload_json, nullptr, false);
        if (payload.is_discarded() || !payload.is_object()) {
            throw corrupt("payload (not a JSON object)");
        }
        rule.created_at_ms = s.column_int(2);
        rules.push_back(std::move(rule));
    }
    if (rc != SQLITE_DONE) {
        throw StoreError("iotsim.rule_store: " + path_ + ": load rules: " + sqlite3_errmsg(db_));
    }
    return rules;
}

}  // namespace iotsim::storage
