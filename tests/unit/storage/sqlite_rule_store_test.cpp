// SqliteRuleStore: the topic rules in DATA_DIR/iotsim.db, reloaded exactly and in name order, next
// to the other stores' tables; a RulesEngine over it keeps its rules (SQL, actions, disabled
// flag) across a restart and they still fire.

#include <sqlite3.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/common/rng.hpp"
#include "iotsim/ruleset/engine.hpp"
#include "iotsim/ruleset/store.hpp"
#include "iotsim/storage/sqlite_registry_store.hpp"
#include "iotsim/storage/sqlite_rule_store.hpp"
#include "iotsim/storage/sqlite_shadow_store.hpp"
#include "iotsim/storage/sqlite_store.hpp"

using iotsim::Rng;
using iotsim::WallTime;
using iotsim::ruleset::MemoryRuleStore;
using iotsim::ruleset::RulesEngine;
using iotsim::ruleset::StoredRule;
using iotsim::storage::SqliteRuleStore;
using iotsim::storage::SqliteRuleStoreOptions;
using iotsim::storage::StoreError;
using nlohmann::json;
namespace broker = iotsim::broker;
namespace ruleset = iotsim::ruleset;
namespace fs = std::filesystem;

namespace {

/// A fresh directory per test case, removed afterwards.
struct TempDir {
    TempDir() {
        static int counter = 0;
        path = fs::temp_directory_path() /
               ("iotsim-rule-store-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
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
    explicit RawDb(const fs::path& path) { BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK); }
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

/// The rule listeners an engine installs, by rule name (what IotCore does in the broker).
struct Routes final : ruleset::RuleRoutes {
    void install(broker::ListenerId listener, const std::string& from_filter, const std::string& rule_name) override {
        installed.insert_or_assign(rule_name, std::make_pair(listener, from_filter));
    }
    void uninstall(broker::ListenerId /*listener*/, const std::string& /*from_filter*/,
                   const std::string& rule_name) override {
        installed.erase(rule_name);
    }
    std::map<std::string, std::pair<broker::ListenerId, std::string>> installed;
};

constexpr std::int64_t t0_ms = 1'700'000'000'123;

WallTime at_ms(std::int64_t ms) { return WallTime{std::chrono::milliseconds(ms)}; }

bool mentions(const StoreError& e, const std::string& text) {
    return std::string(e.what()).find(text) != std::string::npos;
}

json republish_to(const std::string& topic, int qos = 0) {
    return json{{"republish", {{"topic", topic}, {"roleArn", "arn:aws:iam::123456789012:role/r"}, {"qos", qos}}}};
}

/// A rule with a republish, a host action with a template and an errorAction.
json hot_rule(const std::string& sql) {
    return json{{"sql", sql},
                {"description", "too hot"},
                {"awsIotSqlVersion", "2016-03-23"},
                {"actions", json::array({republish_to("alerts/${topic(2)}", 1),
                                         json{{"s3", {{"roleArn", "r"}, {"bucketName", "b"}, {"key", "${topic(2)}/k"}}}}})},
                {"errorAction", republish_to("errors")}};
}

/// Fires the rule `name` of `engine` (installed through `routes`) for one message.
ruleset::Firing fire(RulesEngine& engine, const Routes& routes, const std::string& name, const std::string& topic,
                     const std::string& payload) {
    ruleset::Firing out;
    auto it = routes.installed.find(name);
    BOOST_REQUIRE_MESSAGE(it != routes.installed.end(), "rule " + name + " is not installed");
    broker::Message m;
    m.topic = topic;
    m.payload = payload;
    m.publisher = "dev";
    engine.fire(it->second.first, m, at_ms(t0_ms + 10'000), out);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sqlite_rule_store)

BOOST_AUTO_TEST_CASE(rules_round_trip_exactly_in_name_order_and_erase_removes) {
    TempDir dir;
    SqliteRuleStore store(dir.db());
    BOOST_TEST(store.load_all().empty());
    // The payload is kept as given, byte for byte (spacing, key order, non-ASCII).
    const StoredRule b{"b_rule", R"({ "sql" : "SELECT * FROM 'b'", "actions":[], "description":"é ✓" })", t0_ms};
    const StoredRule a{"A_rule", R"({"sql":"SELECT * FROM 'a'","actions":[]})", 0};
    const StoredRule c{"c", R"({"ruleDisabled":true,"sql":"SELECT * FROM 'c'","actions":[]})", -5};
    store.put(b);
    store.put(c);
    store.put(a);
    BOOST_TEST((store.load_all() == std::vector<StoredRule>{a, b, c}));  // memcmp order: 'A' < 'b' < 'c'
    // put replaces (ReplaceTopicRule, enable/disable).
    const StoredRule b2{"b_rule", R"({"sql":"SELECT x FROM 'b'","actions":[],"ruleDisabled":true})", t0_ms};
    store.put(b2);
    BOOST_TEST((store.load_all() == std::vector<StoredRule>{a, b2, c}));
    store.erase("c");
    store.erase("absent");  // no-op
    BOOST_TEST((store.load_all() == std::vector<StoredRule>{a, b2}));
}

BOOST_AUTO_TEST_CASE(a_reopened_store_loads_what_a_memory_store_holds) {
    TempDir dir;
    MemoryRuleStore memory;
    {
        SqliteRuleStore sqlite(dir.db());
        for (ruleset::RuleStore* s : std::vector<ruleset::RuleStore*>{&memory, &sqlite}) {
            for (int i = 9; i >= 0; --i) {
                const std::string n = "r" + std::to_string(i);
                s->put(StoredRule{n, R"({"sql":"SELECT * FROM ')" + n + R"('","actions":[]})", t0_ms + i});
            }
            s->erase("r3");
            s->put(StoredRule{"r5", R"({"sql":"SELECT 5 FROM 'x'","actions":[]})", 55});
        }
    }
    SqliteRuleStore reopened(dir.db());
    const auto got = reopened.load_all();
    BOOST_TEST(got.size() == 9U);
    BOOST_TEST((got == memory.load_all()));
}

BOOST_AUTO_TEST_CASE(an_engine_over_the_store_keeps_sql_actions_and_disabled_flag_across_a_restart) {
    TempDir dir;
    json before;
    {
        SqliteRuleStore store(dir.db());
        Rng rng{1};
        RulesEngine engine(store, rng);
        engine.recover();
        engine.create("hot", hot_rule("SELECT temp FROM 'sensors/+' WHERE temp > 50").dump(), at_ms(t0_ms));
        engine.create("gone", R"({"sql":"SELECT * FROM 'g'","actions":[]})", at_ms(t0_ms));
        engine.create("plain", R"({"sql":"SELECT * FROM 'p'","actions":[]})", at_ms(t0_ms));
        // Replaced (new SQL, creation time kept), disabled, one removed: all on disk.
        engine.replace("hot", hot_rule("SELECT temp FROM 'sensors/+' WHERE temp > 30").dump(), at_ms(t0_ms + 5000));
        engine.set_enabled("hot", false);
        engine.remove("gone");
        before = engine.get("hot").to_topic_rule();
    }
    {
        // "Restart": a new store on the same file, a new engine.
        SqliteRuleStore store(dir.db());
        Rng rng{2};
        RulesEngine engine(store, rng);
        Routes routes;
        engine.set_routes(&routes);
        engine.recover();
        BOOST_TEST(engine.size() == 2U);
        BOOST_CHECK_THROW((void)engine.get("gone"), ruleset::RuleError);
        const ruleset::CompiledRule& hot = engine.get("hot");
        BOOST_TEST(hot.sql == "SELECT temp FROM 'sensors/+' WHERE temp > 30");
        BOOST_TEST(hot.disabled);
        BOOST_TEST(hot.version_text == "2016-03-23");
        BOOST_TEST(hot.description == "too hot");
        BOOST_TEST(hot.actions.size() == 2U);
        BOOST_TEST(hot.error_action.has_value());
        BOOST_TEST(hot.created_at.unix_ms() == t0_ms);
        BOOST_TEST(hot.to_topic_rule() == before);  // GetTopicRule answers the same
        // A disabled rule is not routed; enabled again it fires with its actions and templates.
        BOOST_TEST(routes.installed.count("hot") == 0U);
        BOOST_TEST(routes.installed.at("plain").second == "p");
        engine.set_enabled("hot", true);
        BOOST_REQUIRE(routes.installed.count("hot") == 1U);
        BOOST_TEST(routes.installed.at("hot").second == "sensors/+");
        BOOST_TEST(fire(engine, routes, "hot", "sensors/s1", R"({"temp":20})").republishes.empty());
        const ruleset::Firing f = fire(engine, routes, "hot", "sensors/s1", R"({"temp":35})");
        BOOST_REQUIRE_EQUAL(f.republishes.size(), 1U);
        BOOST_TEST(f.republishes[0].topic == "alerts/s1");
        BOOST_TEST(json::parse(f.republishes[0].payload) == json::parse(R"({"temp":35})"));
        BOOST_REQUIRE(f.request.has_value());
        BOOST_REQUIRE_EQUAL(f.request->actions.size(), 1U);
        BOOST_TEST(f.request->actions[0].config["key"] == "s1/k");
        BOOST_TEST(f.request->error_action.has_value());
    }
    // Enabling persisted too.
    SqliteRuleStore store(dir.db());
    Rng rng{3};
    RulesEngine engine(store, rng);
    engine.recover();
    BOOST_TEST(!engine.get("hot").disabled);
}

BOOST_AUTO_TEST_CASE(a_failed_write_leaves_the_engine_unchanged) {
    TempDir dir;
    SqliteRuleStore store(dir.db(), SqliteRuleStoreOptions{.busy_timeout = std::chrono::milliseconds(20)});
    Rng rng{1};
    RulesEngine engine(store, rng);
    Routes routes;
    engine.set_routes(&routes);
    engine.create("r", R"({"sql":"SELECT * FROM 'in'","actions":[]})", at_ms(t0_ms));
    {
        RawDb other(dir.db());
        other.exec("BEGIN IMMEDIATE");  // another writer holds the lock
        BOOST_CHECK_THROW(engine.create("s", R"({"sql":"SELECT * FROM 's'","actions":[]})", at_ms(t0_ms)),
                          StoreError);
        BOOST_CHECK_THROW(engine.replace("r", R"({"sql":"SELECT * FROM 'other'","actions":[]})", at_ms(t0_ms)),
                          StoreError);
        BOOST_CHECK_THROW(engine.set_enabled("r", false), StoreError);
        BOOST_CHECK_THROW(engine.remove("r"), StoreError);
        other.exec("ROLLBACK");
    }
    BOOST_TEST(engine.size() == 1U);
    BOOST_TEST(engine.get("r").sql == "SELECT * FROM 'in'");
    BOOST_TEST(!engine.get("r").disabled);
    BOOST_TEST(routes.installed.at("r").second == "in");  // still routed
    engine.set_enabled("r", false);
    BOOST_TEST(routes.installed.empty());
    BOOST_TEST(store.load_all().at(0).payload_json.find(R"("ruleDisabled":true)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(shares_the_database_with_the_other_stores) {
    TempDir dir;
    iotsim::storage::SqliteStore broker_store(dir.db());
    iotsim::storage::SqliteShadowStore shadow_store(dir.db());
    iotsim::storage::SqliteRegistryStore registry_store(dir.db());
    SqliteRuleStore store(dir.db());
    store.put(StoredRule{"r", R"({"sql":"SELECT * FROM 'a'","actions":[]})", t0_ms});
    BOOST_TEST(store.load_all().size() == 1U);
    BOOST_TEST(shadow_store.load().empty());
    BOOST_TEST(registry_store.load().things.empty());
    BOOST_TEST(broker_store.load().retained.empty());
}

BOOST_AUTO_TEST_CASE(a_corrupt_row_throws_store_error_naming_the_rule) {
    TempDir dir;
    { SqliteRuleStore store(dir.db()); }
    {
        RawDb raw(dir.db());
        raw.exec("INSERT INTO topic_rules VALUES ('broken', '{\"sql\":', 0)");
    }
    {
        SqliteRuleStore store(dir.db());
        try {
            (void)store.load_all();
            BOOST_FAIL("loaded a corrupt row");
        } catch (const StoreError& e) {
            BOOST_TEST(mentions(e, "corrupt payload"));
            BOOST_TEST(mentions(e, "of rule broken"));
            BOOST_TEST(mentions(e, dir.db().string()));
        }
        // The engine does not swallow it: a failure at start is the host's to report.
        Rng rng{1};
        RulesEngine engine(store, rng);
        BOOST_CHECK_THROW(engine.recover(), StoreError);
    }
    {
        RawDb raw(dir.db());
        raw.exec("UPDATE topic_rules SET payload = '[1]' WHERE name = 'broken'");  // JSON, not an object
    }
    {
        SqliteRuleStore store(dir.db());
        BOOST_CHECK_THROW((void)store.load_all(), StoreError);
    }
    {
        RawDb raw(dir.db());
        raw.exec("UPDATE topic_rules SET payload = '{}', created_at_ms = 'yesterday' WHERE name = 'broken'");
    }
    SqliteRuleStore store(dir.db());
    try {
        (void)store.load_all();
        BOOST_FAIL("loaded a corrupt row");
    } catch (const StoreError& e) {
        BOOST_TEST(mentions(e, "corrupt creation time of rule broken"));
    }
}

BOOST_AUTO_TEST_CASE(an_unknown_schema_version_is_refused) {
    TempDir dir;
    { SqliteRuleStore store(dir.db()); }
    {
        RawDb raw(dir.db());
        raw.exec("UPDATE meta SET value = '2' WHERE key = 'rule_schema_version'");
    }
    try {
        SqliteRuleStore store(dir.db());
        BOOST_FAIL("opened an unknown schema");
    } catch (const StoreError& e) {
        BOOST_TEST(mentions(e, "rule schema version 2 is not supported (expected 1)"));
    }
}

BOOST_AUTO_TEST_CASE(a_missing_or_unwritable_location_throws_store_error) {
    TempDir dir;
    BOOST_CHECK_THROW(SqliteRuleStore(dir.path / "missing" / "iotsim.db"), StoreError);
    // A directory where the file should be.
    fs::create_directories(dir.db());
    BOOST_CHECK_THROW(SqliteRuleStore(dir.db()), StoreError);
    // A directory that cannot be written (unless the tests run as root, which ignores modes).
    const fs::path locked = dir.path / "locked";
    fs::create_directories(locked);
    fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
    if (::geteuid() != 0) {
        BOOST_CHECK_THROW(SqliteRuleStore(locked / "iotsim.db"), StoreError);
    }
    fs::permissions(locked, fs::perms::owner_all);
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_database_throws_with_the_path) {
    TempDir dir;
    {
        std::ofstream out(dir.db(), std::ios::binary);
        out << std::string(8192, 'x');
    }
    try {
        SqliteRuleStore store(dir.db());
        BOOST_FAIL("opened a corrupt database");
    } catch (const StoreError& e) {
        BOOST_TEST(mentions(e, dir.db().string()));
        BOOST_TEST(mentions(e, "not a database"));
    }
}

BOOST_AUTO_TEST_SUITE_END()
