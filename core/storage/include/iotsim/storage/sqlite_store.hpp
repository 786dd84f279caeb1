#pragma once

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "iotsim/broker/store.hpp"
#include "iotsim/storage/store_error.hpp"

struct sqlite3;

namespace iotsim::storage {

/// The server's persistence: DATA_DIR/iotsim.db, SQLite in WAL mode. A commit() writes the
/// transaction to the WAL with write(2) before returning, so everything the broker acknowledged
/// after a commit survives kill -9 of the process (synchronous=NORMAL: a power loss may lose the
/// last transactions, a process crash cannot). Messages are stored as MQTT 5 PUBLISH packets, so
/// the codec is the only serialisation format.
///
/// This is file I/O, deliberately outside core/broker: the broker sees only the Store interface.
/// Thread safety: none; used from the broker's thread.
class SqliteStore final : public broker::Store {
public:
    /// Opens or creates the database. Throws StoreError with the path and SQLite's message.
    explicit SqliteStore(const std::filesystem::path& path);
    ~SqliteStore() override;
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    void put_retained(const broker::RetainedMessage& retained) override;
    void erase_retained(std::string_view topic) override;
    void put_session(const broker::SessionRecord& session) override;
    void erase_session(std::string_view client_id) override;
    void put_queued(const broker::QueuedRecord& queued) override;
    void erase_queued(std::string_view client_id, std::uint64_t sequence) override;
    void commit() override;
    [[nodiscard]] broker::StoreSnapshot load() override;

private:
    struct Statements;
    void begin();
    [[noreturn]] void fail(const std::string& what);

    sqlite3* db_ = nullptr;
    std::unique_ptr<Statements> st_;
    std::string path_;
    bool in_transaction_ = false;
};

}  // namespace iotsim::storage
