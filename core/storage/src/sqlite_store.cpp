#include "iotsim/storage/sqlite_store.hpp"

#include <nlohmann/json.hpp>

#include "iotsim/mqtt/codec.hpp"
#include "sqlite_db.hpp"

namespace iotsim::storage {
namespace {

using detail::Statement;

// Prefix of every error message (prepare errors carry no path, as before the helper).
constexpr std::string_view component = "iotsim.store";

/// A message as an MQTT 5 PUBLISH (the codec is the serialisation format).
std::string encode_message(const broker::Message& m) {
    mqtt::Publish p;
    p.qos = m.qos;
    p.retain = m.retain;
    p.topic = m.topic;
    p.packet_id = m.qos == mqtt::QoS::at_most_once ? 0 : 1;
    p.payload = m.payload;
    p.properties = m.properties;
    std::string out;
    mqtt::encode(p, mqtt::Version::v5, out);
    return out;
}

broker::MessagePtr decode_message(std::string_view bytes, bool is_null_expiry, std::int64_t expires_ms,
                                  std::string publisher, bool from_v5) {
    const mqtt::Frame f = mqtt::read_frame(bytes, mqtt::remaining_length_max);
    if (f.status != mqtt::FrameStatus::complete || bytes.size() != f.total_bytes()) {
        throw StoreError("iotsim.store: corrupt stored message (bad frame)");
    }
    auto decoded = mqtt::decode(mqtt::Version::v5, f.first_byte, bytes.substr(f.header_bytes));
    if (!decoded || !std::holds_alternative<mqtt::Publish>(decoded.value())) {
        throw StoreError("iotsim.store: corrupt stored message (bad packet)");
    }
    auto& p = std::get<mqtt::Publish>(decoded.value());
    auto m = std::make_shared<broker::Message>();
    m->topic = std::move(p.topic);
    m->payload = std::move(p.payload);
    m->qos = p.qos;
    m->retain = p.retain;
    m->properties = std::move(p.properties);
    if (!is_null_expiry) {
        m->expires_at = WallTime{milliseconds(expires_ms)};
    }
    m->publisher = std::move(publisher);
    m->from_v5 = from_v5;
    return m;
}

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');
CREATE TABLE IF NOT EXISTS retained(
    topic TEXT PRIMARY KEY, packet BLOB NOT NULL, expires_at_ms INTEGER, stored_at_ms INTEGER NOT NULL,
    publisher TEXT NOT NULL, from_v5 INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions(
    client_id TEXT PRIMARY KEY, version INTEGER NOT NULL, expiry_interval_s INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL, session_identifier TEXT NOT NULL, subscriptions TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queued(
    client_id TEXT NOT NULL, seq INTEGER NOT NULL, packet BLOB NOT NULL, expires_at_ms INTEGER,
    publisher TEXT NOT NULL, from_v5 INTEGER NOT NULL, PRIMARY KEY (client_id, seq)) WITHOUT ROWID;
)sql";

}  // namespace

struct SqliteStore::Statements {
    Statement begin, commit, put_retained, erase_retained, put_session, erase_session, erase_session_queue,
        put_queued, erase_queued;
};

SqliteStore::SqliteStore(const std::filesystem::path& path) : path_(path.string()) {
    db_ = detail::open_database(path_, component, std::chrono::milliseconds(2000));
    try {
        detail::exec(db_, schema, std::string(component) + ": " + path_);
        st_ = std::make_unique<Statements>();
        st_->begin = Statement(db_, "BEGIN", component);
        st_->commit = Statement(db_, "COMMIT", component);
        st_->put_retained = Statement(db_, "INSERT OR REPLACE INTO retained(topic, packet, expires_at_ms, stored_at_ms, publisher, from_v5) VALUES (?,?,?,?,?,?)", component);
        st_->erase_retained = Statement(db_, "DELETE FROM retained WHERE topic = ?", component);
        st_->put_session = Statement(db_, "INSERT OR REPLACE INTO sessions(client_id, version, expiry_interval_s, expires_at_ms, session_identifier, subscriptions) VALUES (?,?,?,?,?,?)", component);
        st_->erase_session = Statement(db_, "DELETE FROM sessions WHERE client_id = ?", component);
        st_->erase_session_queue = Statement(db_, "DELETE FROM queued WHERE client_id = ?", component);
        st_->put_queued = Statement(db_, "INSERT OR REPLACE INTO queued(client_id, seq, packet, expires_at_ms, publisher, from_v5) VALUES (?,?,?,?,?,?)", component);
        st_->erase_queued = Statement(db_, "DELETE FROM queued WHERE client_id = ? AND seq = ?", component);
    } catch (...) {
        st_.reset();
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

SqliteStore::~SqliteStore() {
    if (in_transaction_) {
        sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    }
    st_.reset();
    sqlite3_close(db_);
}

void SqliteStore::fail(const std::string& what) {
    throw StoreError("iotsim.store: " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

void SqliteStore::begin() {
    if (in_transaction_) {
        return;
    }
    if (st_->begin.step() != SQLITE_DONE) {
        st_->begin.reset();
        fail("BEGIN");
    }
    st_->begin.reset();
    in_transaction_ = true;
}

namespace {
void run(Statement& s, SqliteStore& /*self*/, const char* what, sqlite3* db, const std::string& path) {
    const int rc = s.step();
    s.reset();
    if (rc != SQLITE_DONE) {
        throw StoreError("iotsim.store: " + path + ": " + what + ": " + sqlite3_errmsg(db));
    }
}
}  // namespace

void SqliteStore::put_retained(const broker::RetainedMessage& r) {
    begin();
    auto& s = st_->put_retained;
    s.text(1, r.message->topic).blob(2, encode_message(*r.message));
    if (r.message->expires_at) {
        s.integer(3, r.message->expires_at->unix_ms());
    } else {
        s.null(3);
    }
    s.integer(4, r.stored_at.unix_ms()).text(5, r.message->publisher).integer(6, r.message->from_v5 ? 1 : 0);
    run(s, *this, "put retained", db_, path_);
}

void SqliteStore::erase_retained(std::string_view topic) {
    begin();
    st_->erase_retained.text(1, topic);
    run(st_->erase_retained, *this, "erase retained", db_, path_);
}

void SqliteStore::put_session(const broker::SessionRecord& r) {
    begin();
    nlohmann::json subs = nlohmann::json::array();
    for (const auto& e : r.subscriptions) {
        subs.push_back({{"filter", e.filter},
                        {"qos", static_cast<int>(e.options.qos)},
                        {"nl", e.options.no_local},
                        {"rap", e.options.retain_as_published},
                        {"rh", e.options.retain_handling}});
    }
    auto& s = st_->put_session;
    s.text(1, r.client_id)
        .integer(2, static_cast<int>(r.version))
        .integer(3, r.expiry_interval_s)
        .integer(4, r.expires_at_unix_ms)
        .text(5, r.session_identifier)
        .text(6, subs.dump());
    run(s, *this, "put session", db_, path_);
}

void SqliteStore::erase_session(std::string_view client_id) {
    begin();
    st_->erase_session.text(1, client_id);
    run(st_->erase_session, *this, "erase session", db_, path_);
    st_->erase_session_queue.text(1, client_id);
    run(st_->erase_session_queue, *this, "erase session queue", db_, path_);
}

void SqliteStore::put_queued(const broker::QueuedRecord& q) {
    begin();
    auto& s = st_->put_queued;
    s.text(1, q.client_id).integer(2, static_cast<std::int64_t>(q.sequence)).blob(3, encode_message(*q.message));
    if (q.message->expires_at) {
        s.integer(4, q.message->expires_at->unix_ms());
    } else {
        s.null(4);
    }
    s.text(5, q.message->publisher).integer(6, q.message->from_v5 ? 1 : 0);
    run(s, *this, "put queued", db_, path_);
}

void SqliteStore::erase_queued(std::string_view client_id, std::uint64_t sequence) {
    begin();
    st_->erase_queued.text(1, client_id).integer(2, static_cast<std::int64_t>(sequence));
    run(st_->erase_queued, *this, "erase queued", db_, path_);
}

void SqliteStore::commit() {
    if (!in_transaction_) {
        return;
    }
    in_transaction_ = false;
    if (st_->commit.step() != SQLITE_DONE) {
        st_->commit.reset();
        fail("COMMIT");
    }
    st_->commit.reset();
}

broker::StoreSnapshot SqliteStore::load() {
    commit();
    broker::StoreSnapshot snap;
    {
        Statement s(db_, "SELECT packet, expires_at_ms, stored_at_ms, publisher, from_v5 FROM retained ORDER BY topic", component);
        while (s.step() == SQLITE_ROW) {
            broker::RetainedMessage r;
            r.message = decode_message(s.column_blob(0), s.column_null(1), s.column_int(1), s.column_text(3),
                                       s.column_int(4) != 0);
            r.stored_at = WallTime{milliseconds(s.column_int(2))};
            snap.retained.push_back(std::move(r));
        }
    }
    {
        Statement s(db_, "SELECT client_id, version, expiry_interval_s, expires_at_ms, session_identifier, subscriptions FROM sessions ORDER BY client_id", component);
        while (s.step() == SQLITE_ROW) {
            broker::SessionRecord r;
            r.client_id = s.column_text(0);
            r.version = s.column_int(1) == 5 ? mqtt::Version::v5 : mqtt::Version::v311;
            r.expiry_interval_s = static_cast<std::uint32_t>(s.column_int(2));
            r.expires_at_unix_ms = s.column_int(3);
            r.session_identifier = s.column_text(4);
            const auto subs = nlohmann::json::parse(s.column_text(5), nullptr, false);
            if (subs.is_discarded() || !subs.is_array()) {
                throw StoreError("iotsim.store: " + path_ + ": corrupt subscriptions of session " + r.client_id);
            }
            for (const auto& e : subs) {
                mqtt::SubscribeEntry entry;
                entry.filter = e.value("filter", "");
                entry.options.qos = static_cast<mqtt::QoS>(e.value("qos", 0) & 1);
                entry.options.no_local = e.value("nl", false);
                entry.options.retain_as_published = e.value("rap", false);
                entry.options.retain_handling = static_cast<std::uint8_t>(e.value("rh", 0));
                r.subscriptions.push_back(std::move(entry));
            }
            snap.sessions.push_back(std::move(r));
        }
    }
    {
        Statement s(db_, "SELECT client_id, seq, packet, expires_at_ms, publisher, from_v5 FROM queued ORDER BY client_id, seq", component);
        while (s.step() == SQLITE_ROW) {
            broker::QueuedRecord q;
            q.client_id = s.column_text(0);
            q.sequence = static_cast<std::uint64_t>(s.column_int(1));
            q.message = decode_message(s.column_blob(2), s.column_null(3), s.column_int(3), s.column_text(4),
                                       s.column_int(5) != 0);
            snap.queued.push_back(std::move(q));
        }
    }
    return snap;
}

}  // namespace iotsim::storage
