// Versions, optimistic locking, delete and re-creation (../shared/reference/aws-iot-core.md §2.3,
// §2.7).
#include "shadow_harness.hpp"

using namespace iotsim::shadow;
using namespace iotsim::shadow::test;

namespace {

const ShadowKey lamp = classic("lamp");

json reported(int value) { return json{{"state", {{"reported", {{"v", value}}}}}}; }

json reported_at_version(int value, std::int64_t version) {
    json body = reported(value);
    body["version"] = version;
    return body;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shadow_versioning)

BOOST_AUTO_TEST_CASE(every_accepted_update_increments_the_version_by_one) {
    Fixture f;
    for (int i = 1; i <= 5; ++i) {
        const auto r = f.update(lamp, reported(i));
        BOOST_TEST(r.document["version"] == i);
        BOOST_TEST(payload(r, "update/documents")["current"]["version"] == i);
    }
}

BOOST_AUTO_TEST_CASE(a_matching_version_is_accepted_and_any_other_is_a_version_conflict) {
    // device-shadow-data-flow.html: stored 10, request 9 -> 409; request 10 -> accepted, 11.
    ShadowOptions options;
    options.limits.requests_per_second_per_thing = 0;
    Fixture f(options);
    for (int i = 1; i <= 10; ++i) {
        BOOST_REQUIRE(f.update(lamp, reported(i)).accepted());
    }
    json stale = reported_at_version(99, 9);
    stale["clientToken"] = "old";
    const auto conflict = f.update(lamp, stale);
    check_error(conflict, 409, "Version conflict");
    BOOST_TEST(conflict.document["clientToken"] == "old");
    BOOST_TEST(suffixes(conflict) == std::vector<std::string>{"update/rejected"});
    check_error(f.update(lamp, reported_at_version(99, 11)), 409, "Version conflict");
    const auto ok = f.update(lamp, reported_at_version(11, 10));
    BOOST_REQUIRE(ok.accepted());
    BOOST_TEST(ok.document["version"] == 11);
}

BOOST_AUTO_TEST_CASE(a_version_conflict_leaves_the_shadow_unchanged) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, reported(1)).accepted());
    const auto writes = f.store.writes();
    BOOST_TEST(f.update(lamp, reported_at_version(2, 5)).status == 409);
    BOOST_TEST(f.service.find(lamp)->state["reported"]["v"] == 1);
    BOOST_TEST(f.service.find(lamp)->version == 1);
    BOOST_TEST(f.store.writes() == writes);
}

BOOST_AUTO_TEST_CASE(a_new_shadow_is_at_version_0_for_optimistic_locking) {
    Fixture f;
    check_error(f.update(lamp, reported_at_version(1, 1)), 409, "Version conflict");
    const auto r = f.update(lamp, reported_at_version(1, 0));
    BOOST_REQUIRE(r.accepted());
    BOOST_TEST(r.document["version"] == 1);
}

BOOST_AUTO_TEST_CASE(delete_answers_with_the_deleted_version_and_publishes_delete_accepted) {
    Fixture f;
    for (int i = 1; i <= 4; ++i) {
        BOOST_REQUIRE(f.update(lamp, reported(i)).accepted());
    }
    f.advance(seconds(7));
    const auto r = f.remove(lamp, R"({"clientToken":"bye"})");
    BOOST_REQUIRE(r.accepted());
    BOOST_TEST(r.document ==
               json({{"version", 4}, {"timestamp", t0_s + 7}, {"clientToken", "bye"}}));
    BOOST_TEST(suffixes(r) == std::vector<std::string>{"delete/accepted"});
    BOOST_TEST(payload(r, "delete/accepted") == r.document);
    BOOST_TEST(f.service.find(lamp) == nullptr);
    BOOST_TEST(f.service.size() == 0U);
}

BOOST_AUTO_TEST_CASE(rest_delete_publishes_delete_accepted_unless_switched_off) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, reported(1)).accepted());
    BOOST_TEST(suffixes(f.remove(lamp, "", RequestOrigin::rest)) ==
               std::vector<std::string>{"delete/accepted"});
    ShadowOptions options;
    options.publish_accepted_for_rest = false;
    Fixture g(options);
    BOOST_REQUIRE(g.update(lamp, reported(1)).accepted());
    const auto quiet = g.remove(lamp, "", RequestOrigin::rest);
    BOOST_TEST(quiet.accepted());
    BOOST_TEST(quiet.notifications.empty());
}

BOOST_AUTO_TEST_CASE(deleting_or_getting_a_missing_or_deleted_shadow_is_404) {
    Fixture f;
    const auto never = f.remove(named("lamp", "cfg"));
    check_error(never, 404, "No shadow exists with name: 'cfg'");
    BOOST_TEST(suffixes(never) == std::vector<std::string>{"delete/rejected"});
    BOOST_REQUIRE(f.update(lamp, reported(1)).accepted());
    BOOST_REQUIRE(f.remove(lamp).accepted());
    check_error(f.remove(lamp), 404, "No shadow exists with name: 'lamp'");
    check_error(f.get(lamp), 404, "No shadow exists with name: 'lamp'");
}

BOOST_AUTO_TEST_CASE(a_shadow_recreated_within_48_hours_continues_from_the_deleted_version) {
    Fixture f;
    for (int i = 1; i <= 3; ++i) {
        BOOST_REQUIRE(f.update(lamp, reported(i)).accepted());
    }
    BOOST_REQUIRE(f.remove(lamp).accepted());
    f.advance(hours(48) - seconds(1));
    const auto r = f.update(lamp, json::parse(R"({"state":{"desired":{"fresh":true}}})"));
    BOOST_REQUIRE(r.accepted());
    BOOST_TEST(r.document["version"] == 4);
    // The old content is gone: the new document holds only what was written since.
    BOOST_TEST(f.service.find(lamp)->state == json::parse(R"({"desired":{"fresh":true}})"));
    BOOST_TEST(payload(r, "update/documents")["previous"] ==
               json({{"state", json::object()}, {"metadata", json::object()}, {"version", 3}}));
}

BOOST_AUTO_TEST_CASE(a_shadow_recreated_48_hours_or_more_after_deletion_starts_at_version_1) {
    Fixture f;
    for (int i = 1; i <= 3; ++i) {
        BOOST_REQUIRE(f.update(lamp, reported(i)).accepted());
    }
    BOOST_REQUIRE(f.remove(lamp).accepted());
    f.advance(hours(48));
    const auto r = f.update(lamp, reported(1));
    BOOST_REQUIRE(r.accepted());
    BOOST_TEST(r.document["version"] == 1);
}

BOOST_AUTO_TEST_CASE(a_request_version_for_a_recently_deleted_shadow_must_match_the_old_one) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, reported(1)).accepted());
    BOOST_REQUIRE(f.update(lamp, reported(2)).accepted());
    BOOST_REQUIRE(f.remove(lamp).accepted());
    check_error(f.update(lamp, reported_at_version(3, 0)), 409, "Version conflict");
    const auto r = f.update(lamp, reported_at_version(3, 2));
    BOOST_REQUIRE(r.accepted());
    BOOST_TEST(r.document["version"] == 3);
}

BOOST_AUTO_TEST_CASE(the_retention_of_deleted_versions_is_configurable) {
    ShadowOptions options;
    options.deleted_version_retention = hours(1);
    Fixture f(options);
    BOOST_REQUIRE(f.update(lamp, reported(1)).accepted());
    BOOST_REQUIRE(f.remove(lamp).accepted());
    f.advance(hours(1));
    BOOST_TEST(f.update(lamp, reported(1)).document["version"] == 1);
}

BOOST_AUTO_TEST_SUITE_END()
