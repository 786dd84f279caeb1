#include "iotsim/storage/sqlite_registry_store.hpp"

#include <cstdint>
#include <utility>

#include <nlohmann/json.hpp>

#include "sqlite_db.hpp"

namespace iotsim::storage {
namespace {

using detail::Statement;

// The shared `meta` table has the same definition as the other stores'.
constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('registry_schema_version', '1');
CREATE TABLE IF NOT EXISTS registry_records(
    kind TEXT NOT NULL, key TEXT NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (kind, key)) WITHOUT ROWID;
)sql";

constexpr std::string_view thing_kind = "thing";
constexpr std::string_view thing_type_kind = "thing_type";
constexpr std::string_view thing_group_kind = "thing_group";
constexpr std::string_view certificate_kind = "certificate";
constexpr std::string_view ca_certificate_kind = "ca_certificate";
constexpr std::string_view policy_kind = "policy";
constexpr std::string_view authorizer_kind = "authorizer";
constexpr std::string_view settings_kind = "settings";

}  // namespace

struct SqliteRegistryStore::Statements {
    Statements(sqlite3* db, const std::string& where)
        : put(db, "INSERT OR REPLACE INTO registry_records(kind, key, record) VALUES (?,?,?)", where),
          erase(db, "DELETE FROM registry_records WHERE kind = ? AND key = ?", where) {}
    Statement put;
    Statement erase;
};

SqliteRegistryStore::SqliteRegistryStore(const std::filesystem::path& path,
                                         SqliteRegistryStoreOptions options)
    : path_(path.string()) {
    db_ = detail::open_database(path_, "iotsim.registry_store", options.busy_timeout);
    const std::string where = "iotsim.registry_store: " + path_;
    try {
        detail::create_schema(db_, schema, "registry", schema_version, where);
        st_ = std::make_unique<Statements>(db_, where);
    } catch (...) {
        st_.reset();
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

SqliteRegistryStore::~SqliteRegistryStore() {
    st_.reset();
    sqlite3_close(db_);
}

void SqliteRegistryStore::put(std::string_view kind, std::string_view key,
                              const std::string& json) {
    Statement& s = st_->put;
    s.text(1, kind).text(2, key).text(3, json);
    // Autocommit: SQLITE_DONE means the transaction is in the WAL.
    const int rc = s.step();
    s.reset();
    if (rc != SQLITE_DONE) {
        throw StoreError("iotsim.registry_store: " + path_ + ": put " + std::string(kind) + " " +
                         std::string(key) + ": " + sqlite3_errmsg(db_));
    }
}

void SqliteRegistryStore::erase(std::string_view kind, std::string_view key) {
    Statement& s = st_->erase;
    s.text(1, kind).text(2, key);
    const int rc = s.step();
    s.reset();
    if (rc != SQLITE_DONE) {
        throw StoreError("iotsim.registry_store: " + path_ + ": erase " + std::string(kind) + " " +
                         std::string(key) + ": " + sqlite3_errmsg(db_));
    }
}

void SqliteRegistryStore::put_thing(const registry::ThingRecord& r) {
    put(thing_kind, r.name, nlohmann::json(r).dump());
}
void SqliteRegistryStore::erase_thing(std::string_view name) { erase(thing_kind, name); }
void SqliteRegistryStore::put_thing_type(const registry::ThingTypeRecord& r) {
    put(thing_type_kind, r.name, nlohmann::json(r).dump());
}
void SqliteRegistryStore::erase_thing_type(std::string_view name) { erase(thing_type_kind, name); }
void SqliteRegistryStore::put_thing_group(const registry::ThingGroupRecord& r) {
    put(thing_group_kind, r.name, nlohmann::json(r).dump());
}
void SqliteRegistryStore::erase_thing_group(std::string_view name) {
    erase(thing_group_kind, name);
}
void SqliteRegistryStore::put_certificate(const registry::CertificateRecord& r) {
    put(certificate_kind, r.id, nlohmann::json(r).dump());
}
void SqliteRegistryStore::erase_certificate(std::string_view id) { erase(certificate_kind, id); }
void SqliteRegistryStore::put_ca_certificate(const registry::CaCertificateRecord& r) {
    put(ca_certificate_kind, r.id, nlohmann::json(r).dump());
}
void SqliteRegistryStore::erase_ca_certificate(std::string_view id) {
    erase(ca_certificate_kind, id);
}
void SqliteRegistryStore::put_policy(const registry::PolicyRecord& r) {
    put(policy_kind, r.name, nlohmann::json(r).dump());
}
void SqliteRegistryStore::erase_policy(std::string_view name) { erase(policy_kind, name); }
void SqliteRegistryStore::put_authorizer(const registry::AuthorizerRecord& r) {
    put(authorizer_kind, r.name, nlohmann::json(r).dump());
}
void SqliteRegistryStore::erase_authorizer(std::string_view name) { erase(authorizer_kind, name); }
void SqliteRegistryStore::put_settings(const registry::RegistrySettings& settings) {
    put(settings_kind, settings_kind, nlohmann::json(settings).dump());
}

registry::RegistrySnapshot SqliteRegistryStore::load() {
    registry::RegistrySnapshot snapshot;
    // BINARY collation is memcmp order: the key order of MemoryRegistryStore's std::map.
    Statement s(db_, "SELECT kind, key, record FROM registry_records ORDER BY kind, key",
                "iotsim.registry_store: " + path_);
    int rc = SQLITE_ROW;
    while ((rc = s.step()) == SQLITE_ROW) {
        const std::string kind = s.column_text(0);
        const std::string key = s.column_text(1);
        const nlohmann::json j = nlohmann::json::parse(s.column_text(2), nullptr, false);
        const auto corrupt = [&](const std::string& why) {
            return StoreError("iotsim.registry_store: " + path_ + ": corrupt " + kind + " " + key +
                              (why.empty() ? std::string{} : ": " + why));
        };
        if (j.is_discarded() || !j.is_object()) {
            throw corrupt("not a JSON object");
        }
        try {
            if (kind == thing_kind) {
                snapshot.things.push_back(j.get<registry::ThingRecord>());
            } else if (kind == thing_type_kind) {
                snapshot.thing_types.push_back(j.get<registry::ThingTypeRecord>());
            } else if (kind == thing_group_kind) {
                snapshot.thing_groups.push_back(j.get<registry::ThingGroupRecord>());
            } else if (kind == certificate_kind) {
                snapshot.certificates.push_back(j.get<registry::CertificateRecord>());
            } else if (kind == ca_certificate_kind) {
                snapshot.ca_certificates.push_back(j.get<registry::CaCertificateRecord>());
            } else if (kind == policy_kind) {
                snapshot.policies.push_back(j.get<registry::PolicyRecord>());
            } else if (kind == authorizer_kind) {
                snapshot.authorizers.push_back(j.get<registry::AuthorizerRecord>());
            } else if (kind == settings_kind) {
                snapshot.settings = j.get<registry::RegistrySettings>();
            } else {
                throw corrupt("unknown record kind");
            }
        } catch (const nlohmann::json::exception& e) {
            throw corrupt(e.what());
        }
    }
    if (rc != SQLITE_DONE) {
        throw StoreError("iotsim.registry_store: " + path_ + ": load: " + sqlite3_errmsg(db_));
    }
    return snapshot;
}

}  // namespace iotsim::storage
