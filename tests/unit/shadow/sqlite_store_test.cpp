// SqliteShadowStore: the server's shadow persistence in DATA_DIR/iotsim.db, next to SqliteStore.
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "iotsim/storage/sqlite_shadow_store.hpp"
#include "iotsim/storage/sqlite_store.hpp"
#include "shadow_harness.hpp"

using namespace iotsim::shadow;
using namespace iotsim::shadow::test;
using iotsim::storage::SqliteShadowStore;
using iotsim::storage::SqliteShadowStoreOptions;
using iotsim::storage::StoreError;

namespace {

namespace fs = std::filesystem;

/// A fresh directory per test case, removed afterwards.
struct TempDir {
    TempDir() {
        static int counter = 0;
        path = fs::temp_directory_path() / ("iotsim-shadow-store-" + std::to_string(::getpid()) +
                                            "-" + std::to_string(counter++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] fs::path db() const { return path / "iotsim.db"; }
    fs::path path;
};

/// Runs SQL on its own connection (to damage or lock the file as another process would).
struct RawDb {
    explicit RawDb(const fs::path& path) {
        BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    }
    ~RawDb() { sqlite3_close(db); }
    RawDb(const RawDb&) = delete;
    RawDb& operator=(const RawDb&) = delete;
    void exec(const char* sql) const {
        char* error = nullptr;
        const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
        BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, (error != nullptr ? error : "?"));
        sqlite3_free(error);
    }
    sqlite3* db = nullptr;
};

ShadowRecord record(ShadowKey key, const char* state, const char* metadata, std::int64_t version,
                    iotsim::WallTime at, bool deleted = false) {
    ShadowRecord r;
    r.key = std::move(key);
    r.state = json::parse(state);
    r.metadata = json::parse(metadata);
    r.version = version;
    r.updated_at = at;
    r.deleted = deleted;
    return r;
}

void check_same(const ShadowRecord& got, const ShadowRecord& want) {
    BOOST_TEST(got.key == want.key);
    BOOST_TEST(got.state == want.state);
    BOOST_TEST(got.metadata == want.metadata);
    BOOST_TEST(got.version == want.version);
    BOOST_TEST(got.updated_at.since_unix_epoch.count() == want.updated_at.since_unix_epoch.count());
    BOOST_TEST(got.deleted == want.deleted);
}

bool mentions(const StoreError& e, const std::string& text) {
    return std::string(e.what()).find(text) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shadow_sqlite_store)

BOOST_AUTO_TEST_CASE(live_shadows_and_tombstones_round_trip_in_key_order) {
    TempDir dir;
    const iotsim::WallTime t{iotsim::seconds(t0_s) + iotsim::Duration(123'456'789)};
    const ShadowRecord lamp = record(
        classic("lamp"),
        R"({"desired":{"color":{"r":255,"g":0},"on":true},)"
        R"("reported":{"name":"L\u00e4mpe \u2603","list":[1,2.5,"x"]}})",
        R"({"desired":{"color":{"r":{"timestamp":1},"g":{"timestamp":2}},"on":{"timestamp":3}},)"
        R"("reported":{"name":{"timestamp":4},)"
        R"("list":[{"timestamp":5},{"timestamp":5},{"timestamp":5}]}})",
        17, t);
    const ShadowRecord named_live = record(named("lamp", "$package"), R"({"reported":{"v":"1.0"}})",
                                           R"({"reported":{"v":{"timestamp":9}}})", 3, t);
    const ShadowRecord cleared = record(named("lamp", "cleared"), "{}", "{}", 8, t);
    const ShadowRecord tombstone = record(classic("door"), "{}", "{}", 42, t, /*deleted=*/true);
    {
        SqliteShadowStore store(dir.db());
        // Out of key order on purpose; one record written twice.
        store.put(named_live);
        store.put(tombstone);
        store.put(cleared);
        store.put(record(classic("lamp"), R"({"reported":{"old":1}})", "{}", 16, t));
        store.put(lamp);
    }
    SqliteShadowStore reopened(dir.db());
    const std::vector<ShadowRecord> loaded = reopened.load();
    BOOST_REQUIRE(loaded.size() == 4U);
    check_same(loaded[0], tombstone);   // (door, "")
    check_same(loaded[1], lamp);        // (lamp, "")
    check_same(loaded[2], named_live);  // (lamp, "$package")
    check_same(loaded[3], cleared);     // (lamp, "cleared")
}

BOOST_AUTO_TEST_CASE(erase_removes_one_record_and_ignores_absent_keys) {
    TempDir dir;
    SqliteShadowStore store(dir.db());
    store.put(record(classic("a"), "{}", "{}", 1, at_s(t0_s)));
    store.put(record(named("a", "x"), "{}", "{}", 1, at_s(t0_s)));
    store.erase(classic("a"));
    store.erase(classic("never"));
    const auto loaded = store.load();
    BOOST_REQUIRE(loaded.size() == 1U);
    BOOST_TEST(loaded[0].key == named("a", "x"));
}

BOOST_AUTO_TEST_CASE(a_service_recovers_after_restart_and_versions_continue) {
    TempDir dir;
    const ShadowKey lamp = classic("lamp");
    const ShadowKey gone = named("lamp", "gone");
    const iotsim::WallTime t = at_s(t0_s);
    {
        SqliteShadowStore disk(dir.db());
        ShadowService before(disk);
        BOOST_REQUIRE(before
                          .update(lamp, R"({"state":{"reported":{"a":1,"b":{"c":[1,2]}}}})", t,
                                  RequestOrigin::mqtt)
                          .accepted());
        BOOST_REQUIRE(before
                          .update(lamp, R"({"state":{"desired":{"a":2}}})", at_s(t0_s + 5),
                                  RequestOrigin::mqtt)
                          .accepted());
        for (int i = 0; i < 5; ++i) {
            BOOST_REQUIRE(
                before.update(gone, R"({"state":{"reported":{"x":1}}})", t, RequestOrigin::mqtt)
                    .accepted());
        }
        BOOST_REQUIRE(before.delete_shadow(gone, "", t, RequestOrigin::mqtt).accepted());
    }  // the service and its connection are gone, as after kill -9

    SqliteShadowStore disk(dir.db());
    ShadowService after(disk);
    const iotsim::WallTime later = at_s(t0_s + 3600);
    after.recover(later);
    const auto got = after.get(lamp, "", later, RequestOrigin::rest);
    BOOST_REQUIRE(got.accepted());
    BOOST_TEST(got.document["version"] == 2);
    BOOST_TEST(got.document["state"]["delta"] == json::parse(R"({"a":2})"));
    BOOST_TEST(got.document["state"]["reported"]["b"] == json::parse(R"({"c":[1,2]})"));
    BOOST_TEST(got.document["metadata"]["reported"]["a"] == ts(t0_s));
    BOOST_TEST(got.document["metadata"]["desired"]["a"] == ts(t0_s + 5));
    BOOST_TEST(after.update(lamp, R"({"state":{"reported":{"a":2}}})", later, RequestOrigin::rest)
                   .document["version"] == 3);
    // A tombstone within 48 h continues its version...
    BOOST_TEST(after.find(gone) == nullptr);
    BOOST_TEST(
        after.update(gone, R"({"state":{}})", later, RequestOrigin::rest).document["version"] == 6);
    // ...and every change above is on disk for the next restart.
    SqliteShadowStore again(dir.db());
    const auto loaded = again.load();
    BOOST_REQUIRE(loaded.size() == 2U);
    BOOST_TEST(loaded[0].key == lamp);
    BOOST_TEST(loaded[0].version == 3);
    BOOST_TEST(loaded[1].key == gone);
    BOOST_TEST(loaded[1].version == 6);
    BOOST_TEST(!loaded[1].deleted);
}

BOOST_AUTO_TEST_CASE(recovery_after_the_retention_forgets_the_tombstone_on_disk) {
    TempDir dir;
    const ShadowKey lamp = classic("lamp");
    const iotsim::WallTime t = at_s(t0_s);
    {
        SqliteShadowStore disk(dir.db());
        ShadowService before(disk);
        for (int i = 0; i < 3; ++i) {
            BOOST_REQUIRE(
                before.update(lamp, R"({"state":{}})", t, RequestOrigin::mqtt).accepted());
        }
        BOOST_REQUIRE(before.delete_shadow(lamp, "", t, RequestOrigin::mqtt).accepted());
    }
    SqliteShadowStore disk(dir.db());
    BOOST_TEST(disk.load().size() == 1U);
    ShadowService after(disk);
    const iotsim::WallTime late{t.since_unix_epoch + hours(48)};
    after.recover(late);
    BOOST_TEST(disk.load().empty());
    BOOST_TEST(
        after.update(lamp, R"({"state":{}})", late, RequestOrigin::rest).document["version"] == 1);
}

BOOST_AUTO_TEST_CASE(shares_the_database_file_with_the_broker_store) {
    TempDir dir;
    {
        iotsim::storage::SqliteStore broker_store(dir.db());
        SqliteShadowStore shadow_store(dir.db());
        iotsim::broker::SessionRecord session;
        session.client_id = "device-1";
        broker_store.put_session(session);
        broker_store.commit();
        shadow_store.put(record(classic("lamp"), R"({"reported":{"a":1}})",
                                R"({"reported":{"a":{"timestamp":1}}})", 1, at_s(t0_s)));
    }
    iotsim::storage::SqliteStore broker_store(dir.db());
    SqliteShadowStore shadow_store(dir.db());
    BOOST_TEST(broker_store.load().sessions.size() == 1U);
    BOOST_TEST(shadow_store.load().size() == 1U);
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_database_throws_with_the_path) {
    TempDir dir;
    {
        std::ofstream out(dir.db(), std::ios::binary);
        out << std::string(8192, 'x');
    }
    try {
        SqliteShadowStore store(dir.db());
        BOOST_FAIL("opened a corrupt database");
    } catch (const StoreError& e) {
        BOOST_TEST(mentions(e, dir.db().string()));
        BOOST_TEST(mentions(e, "not a database"));
    }
}

BOOST_AUTO_TEST_CASE(an_unwritable_location_throws) {
    TempDir dir;
    BOOST_CHECK_THROW(SqliteShadowStore(dir.path / "missing" / "iotsim.db"), StoreError);
    // A directory where the file should be.
    fs::create_directories(dir.db());
    BOOST_CHECK_THROW(SqliteShadowStore(dir.db()), StoreError);
}

BOOST_AUTO_TEST_CASE(a_corrupt_row_throws_on_load) {
    TempDir dir;
    { SqliteShadowStore store(dir.db()); }
    {
        RawDb raw(dir.db());
        raw.exec("INSERT INTO shadows VALUES ('lamp', '', '{\"desired\":', '{}', 1, 0, 0)");
    }
    SqliteShadowStore store(dir.db());
    try {
        (void)store.load();
        BOOST_FAIL("loaded a corrupt row");
    } catch (const StoreError& e) {
        BOOST_TEST(mentions(e, "corrupt state of shadow lamp"));
    }
    // The service does not swallow it: a failure at start is the host's to report.
    ShadowService service(store);
    BOOST_CHECK_THROW(service.recover(at_s(t0_s)), StoreError);
}

BOOST_AUTO_TEST_CASE(an_unknown_schema_version_is_refused) {
    TempDir dir;
    { SqliteShadowStore store(dir.db()); }
    {
        RawDb raw(dir.db());
        raw.exec("UPDATE meta SET value = '2' WHERE key = 'shadow_schema_version'");
    }
    try {
        SqliteShadowStore store(dir.db());
        BOOST_FAIL("opened an unknown schema");
    } catch (const StoreError& e) {
        BOOST_TEST(mentions(e, "shadow schema version 2 is not supported"));
    }
}

BOOST_AUTO_TEST_CASE(a_write_blocked_by_another_writer_throws_and_the_service_answers_500) {
    TempDir dir;
    SqliteShadowStore store(
        dir.db(), SqliteShadowStoreOptions{.busy_timeout = std::chrono::milliseconds(20)});
    ShadowService service(store);
    const ShadowKey lamp = classic("lamp");
    BOOST_REQUIRE(
        service.update(lamp, R"({"state":{"reported":{"a":1}}})", at_s(t0_s), RequestOrigin::mqtt)
            .accepted());
    {
        RawDb other(dir.db());
        other.exec("BEGIN IMMEDIATE");  // another writer holds the lock
        BOOST_CHECK_THROW(store.put(record(lamp, "{}", "{}", 9, at_s(t0_s))), StoreError);
        check_error(service.update(lamp, R"({"state":{"reported":{"a":2}}})", at_s(t0_s),
                                   RequestOrigin::mqtt),
                    500, "Internal service failure");
        other.exec("ROLLBACK");
    }
    BOOST_TEST(service.find(lamp)->version == 1);
    BOOST_TEST(
        service.update(lamp, R"({"state":{"reported":{"a":3}}})", at_s(t0_s), RequestOrigin::mqtt)
            .document["version"] == 2);
    BOOST_TEST(store.load().at(0).version == 2);
}

BOOST_AUTO_TEST_SUITE_END()
