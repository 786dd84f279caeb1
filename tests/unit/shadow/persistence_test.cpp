// The persistence hook: what reaches the store, recovery after a restart, storage failures.
#include "shadow_harness.hpp"

#include <stdexcept>

using namespace iotsim::shadow;
using namespace iotsim::shadow::test;

namespace {

const ShadowKey lamp = classic("lamp");

/// A store whose writes fail on demand, as a full disk would.
class FailingStore final : public ShadowStore {
public:
    void put(const ShadowRecord& record) override {
        if (failing) {
            throw std::runtime_error("disk full");
        }
        inner.put(record);
    }
    void erase(const ShadowKey& key) override {
        if (failing) {
            throw std::runtime_error("disk full");
        }
        inner.erase(key);
    }
    std::vector<ShadowRecord> load() override { return inner.load(); }

    MemoryShadowStore inner;
    bool failing = false;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(shadow_persistence)

BOOST_AUTO_TEST_CASE(every_accepted_change_reaches_the_store_as_the_new_document) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, json::parse(R"({"state":{"desired":{"a":1}}})")).accepted());
    const ShadowRecord* stored = f.store.find(lamp);
    BOOST_REQUIRE(stored);
    BOOST_TEST(stored->version == 1);
    BOOST_TEST(stored->state == json::parse(R"({"desired":{"a":1}})"));
    BOOST_TEST(stored->metadata == json({{"desired", {{"a", ts(t0_s)}}}}));
    BOOST_TEST(!stored->deleted);
    BOOST_TEST(f.store.writes() == 1U);

    BOOST_REQUIRE(f.remove(lamp).accepted());
    BOOST_TEST(f.store.find(lamp)->deleted);
    BOOST_TEST(f.store.find(lamp)->version == 1);
    BOOST_TEST(f.store.find(lamp)->state == json::object());
    BOOST_TEST(f.store.writes() == 2U);
}

BOOST_AUTO_TEST_CASE(reads_and_rejections_do_not_touch_the_store) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, json::parse(R"({"state":{"desired":{"a":1}}})")).accepted());
    (void)f.get(lamp);
    (void)f.update_raw(lamp, "{");
    (void)f.remove(classic("other"));
    (void)f.service.list_named_shadows("lamp", "", std::nullopt, f.now);
    BOOST_TEST(f.store.writes() == 1U);
}

BOOST_AUTO_TEST_CASE(a_restarted_service_recovers_documents_and_remembered_versions) {
    MemoryShadowStore disk;
    const WallTime t = at_s(t0_s);
    {
        ShadowService before(disk);
        BOOST_REQUIRE(
            before.update(lamp, R"({"state":{"reported":{"a":1}}})", t, RequestOrigin::mqtt)
                .accepted());
        BOOST_REQUIRE(
            before.update(lamp, R"({"state":{"desired":{"a":2}}})", t, RequestOrigin::mqtt)
                .accepted());
        const ShadowKey gone = named("lamp", "gone");
        for (int i = 0; i < 5; ++i) {
            BOOST_REQUIRE(
                before.update(gone, R"({"state":{}})", t, RequestOrigin::mqtt).accepted());
        }
        BOOST_REQUIRE(before.delete_shadow(gone, "", t, RequestOrigin::mqtt).accepted());
    }
    ShadowService after(disk);
    const WallTime later = at_s(t0_s + 3600);
    after.recover(later);
    const auto got = after.get(lamp, "", later, RequestOrigin::rest);
    BOOST_REQUIRE(got.accepted());
    BOOST_TEST(got.document["version"] == 2);
    BOOST_TEST(got.document["state"]["delta"] == json::parse(R"({"a":2})"));
    BOOST_TEST(got.document["metadata"]["reported"]["a"] == ts(t0_s));
    // The deleted shadow's version survived the restart.
    const auto recreated =
        after.update(named("lamp", "gone"), R"({"state":{}})", later, RequestOrigin::rest);
    BOOST_TEST(recreated.document["version"] == 6);
}

BOOST_AUTO_TEST_CASE(recovery_forgets_tombstones_older_than_the_retention) {
    MemoryShadowStore disk;
    const WallTime t = at_s(t0_s);
    {
        ShadowService before(disk);
        BOOST_REQUIRE(before.update(lamp, R"({"state":{}})", t, RequestOrigin::mqtt).accepted());
        BOOST_REQUIRE(before.delete_shadow(lamp, "", t, RequestOrigin::mqtt).accepted());
    }
    BOOST_TEST(disk.size() == 1U);
    ShadowService after(disk);
    after.recover(WallTime{t.since_unix_epoch + hours(49)});
    BOOST_TEST(disk.size() == 0U);
    BOOST_TEST(after
                   .update(lamp, R"({"state":{}})", WallTime{t.since_unix_epoch + hours(49)},
                           RequestOrigin::rest)
                   .document["version"] == 1);
}

BOOST_AUTO_TEST_CASE(expired_tombstones_are_erased_from_the_store) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, json::parse(R"({"state":{}})")).accepted());
    BOOST_REQUIRE(f.remove(lamp).accepted());
    f.service.expire_tombstones(WallTime{f.now.since_unix_epoch + hours(47)});
    BOOST_TEST(f.store.size() == 1U);
    f.service.expire_tombstones(WallTime{f.now.since_unix_epoch + hours(48)});
    BOOST_TEST(f.store.size() == 0U);
}

BOOST_AUTO_TEST_CASE(a_storage_failure_is_500_and_changes_nothing) {
    FailingStore disk;
    ShadowService service(disk);
    const WallTime t = at_s(t0_s);
    BOOST_REQUIRE(service.update(lamp, R"({"state":{"reported":{"a":1}}})", t, RequestOrigin::mqtt)
                      .accepted());
    disk.failing = true;
    const auto update = service.update(lamp, R"({"state":{"reported":{"a":2}},"clientToken":"c"})",
                                       t, RequestOrigin::mqtt);
    check_error(update, 500, "Internal service failure");
    BOOST_TEST(update.document["clientToken"] == "c");
    BOOST_TEST(suffixes(update) == std::vector<std::string>{"update/rejected"});
    check_error(service.delete_shadow(lamp, "", t, RequestOrigin::rest), 500,
                "Internal service failure");
    BOOST_TEST(service.find(lamp)->state["reported"]["a"] == 1);
    BOOST_TEST(service.find(lamp)->version == 1);
    disk.failing = false;
    BOOST_TEST(service.update(lamp, R"({"state":{"reported":{"a":3}}})", t, RequestOrigin::mqtt)
                   .document["version"] == 2);
}

BOOST_AUTO_TEST_SUITE_END()
