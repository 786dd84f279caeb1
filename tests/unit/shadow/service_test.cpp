// Get and update through the service: response documents and the notifications an accepted
// update produces (../shared/reference/aws-iot-core.md §2.2, §2.5).
#include "shadow_harness.hpp"

using namespace iotsim::shadow;
using namespace iotsim::shadow::test;

namespace {

const ShadowKey lamp = classic("lamp");

}  // namespace

BOOST_AUTO_TEST_SUITE(shadow_service)

BOOST_AUTO_TEST_CASE(the_first_accepted_update_creates_the_shadow_at_version_1) {
    Fixture f;
    const auto r = f.update(lamp, json::parse(R"({"state":{"reported":{"on":true}}})"));
    BOOST_REQUIRE(r.accepted());
    BOOST_TEST(r.document["version"] == 1);
    BOOST_TEST(f.service.find(lamp)->version == 1);
    BOOST_TEST(f.service.size() == 1U);
}

BOOST_AUTO_TEST_CASE(get_of_a_missing_classic_shadow_is_404_quoting_the_thing_name) {
    Fixture f;
    const auto r = f.get(lamp);
    check_error(r, 404, "No shadow exists with name: 'lamp'");
    BOOST_TEST(suffixes(r) == std::vector<std::string>{"get/rejected"});
}

BOOST_AUTO_TEST_CASE(get_returns_state_with_delta_metadata_version_timestamp_and_client_token) {
    Fixture f;
    BOOST_REQUIRE(
        f.update(lamp, json::parse(R"({"state":{"desired":{"color":"RED","state":"STOP"},)"
                                   R"("reported":{"color":"GREEN","engine":"ON"}}})"))
            .accepted());
    f.advance(seconds(30));
    const auto r = f.get(lamp, R"({"clientToken":"g"})");
    BOOST_REQUIRE(r.accepted());
    const std::int64_t t = t0_s;
    BOOST_TEST(r.document == json({{"state",
                                    {{"desired", {{"color", "RED"}, {"state", "STOP"}}},
                                     {"reported", {{"color", "GREEN"}, {"engine", "ON"}}},
                                     {"delta", {{"color", "RED"}, {"state", "STOP"}}}}},
                                   {"metadata",
                                    {{"desired", {{"color", ts(t)}, {"state", ts(t)}}},
                                     {"reported", {{"color", ts(t)}, {"engine", ts(t)}}}}},
                                   {"version", 1},
                                   {"timestamp", t0_s + 30},
                                   {"clientToken", "g"}}));
    BOOST_TEST(suffixes(r) == std::vector<std::string>{"get/accepted"});
    BOOST_TEST(payload(r, "get/accepted") == r.document);
}

BOOST_AUTO_TEST_CASE(rest_get_publishes_nothing) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, json::parse(R"({"state":{"reported":{"a":1}}})")).accepted());
    const auto r = f.get(lamp, "", RequestOrigin::rest);
    BOOST_REQUIRE(r.accepted());
    BOOST_TEST(r.notifications.empty());
}

BOOST_AUTO_TEST_CASE(update_accepted_echoes_the_request_state_with_metadata_for_written_fields) {
    Fixture f;
    BOOST_REQUIRE(
        f.update(lamp, json::parse(R"({"state":{"reported":{"a":1,"b":{"c":2}}}})")).accepted());
    f.advance(seconds(5));
    const auto r = f.update(
        lamp,
        json::parse(
            R"({"state":{"reported":{"b":{"d":[1,2]}}},"clientToken":"u2","metadata":{"x":1}})"));
    BOOST_REQUIRE(r.accepted());
    const std::int64_t t = t0_s + 5;
    BOOST_TEST(r.document == json({{"state", {{"reported", {{"b", {{"d", {1, 2}}}}}}}},
                                   {"metadata", {{"reported", {{"b", {{"d", {ts(t), ts(t)}}}}}}}},
                                   {"version", 2},
                                   {"timestamp", t},
                                   {"clientToken", "u2"}}));
    BOOST_TEST(payload(r, "update/accepted") == r.document);
    // The stored metadata keeps the first timestamps for what this update did not write.
    BOOST_TEST(
        f.service.find(lamp)->metadata ==
        json({{"reported", {{"a", ts(t0_s)}, {"b", {{"c", ts(t0_s)}, {"d", {ts(t), ts(t)}}}}}}}));
}

BOOST_AUTO_TEST_CASE(update_accepted_echoes_null_keys_with_a_timestamp) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, json::parse(R"({"state":{"desired":{"a":1,"b":2}}})")).accepted());
    const auto r =
        f.update(lamp, json::parse(R"({"state":{"desired":{"a":null},"reported":null}})"));
    BOOST_REQUIRE(r.accepted());
    BOOST_TEST(r.document["state"] == json::parse(R"({"desired":{"a":null},"reported":null})"));
    BOOST_TEST(r.document["metadata"] ==
               json({{"desired", {{"a", ts(t0_s)}}}, {"reported", ts(t0_s)}}));
    BOOST_TEST(f.service.find(lamp)->state == json::parse(R"({"desired":{"b":2}})"));
}

BOOST_AUTO_TEST_CASE(mqtt_update_publishes_accepted_then_documents_then_delta) {
    Fixture f;
    const auto r = f.update(lamp, json::parse(R"({"state":{"desired":{"on":true}}})"));
    BOOST_TEST(suffixes(r) ==
               (std::vector<std::string>{"update/accepted", "update/documents", "update/delta"}));
}

BOOST_AUTO_TEST_CASE(delta_is_published_only_when_the_shadow_has_a_delta) {
    Fixture f;
    const auto reported = f.update(lamp, json::parse(R"({"state":{"reported":{"on":true}}})"));
    BOOST_TEST(!published(reported, "update/delta"));
    const auto same = f.update(lamp, json::parse(R"({"state":{"desired":{"on":true}}})"));
    BOOST_TEST(!published(same, "update/delta"));
    const auto differs =
        f.update(lamp, json::parse(R"({"state":{"desired":{"on":false}},"clientToken":"d"})"));
    BOOST_TEST(payload(differs, "update/delta") == json({{"version", 3},
                                                         {"timestamp", t0_s},
                                                         {"state", {{"on", false}}},
                                                         {"metadata", {{"on", ts(t0_s)}}},
                                                         {"clientToken", "d"}}));
}

BOOST_AUTO_TEST_CASE(delta_is_published_after_a_reported_only_update_that_leaves_it_unresolved) {
    // AMBIG §7.6: iotsim publishes /update/delta after every accepted update whose shadow has a
    // non-empty delta, with all of it, and the desired timestamps.
    Fixture f;
    BOOST_REQUIRE(
        f.update(lamp, json::parse(R"({"state":{"desired":{"mode":"eco","fan":2}}})")).accepted());
    f.advance(seconds(16));
    const auto r = f.update(lamp, json::parse(R"({"state":{"reported":{"fan":2,"temp":21}}})"));
    BOOST_TEST(payload(r, "update/delta") == json({{"version", 2},
                                                   {"timestamp", t0_s + 16},
                                                   {"state", {{"mode", "eco"}}},
                                                   {"metadata", {{"mode", ts(t0_s)}}}}));
}

BOOST_AUTO_TEST_CASE(documents_carry_previous_and_current_without_delta) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, json::parse(R"({"state":{"desired":{"a":1}}})")).accepted());
    f.advance(seconds(2));
    const auto r =
        f.update(lamp, json::parse(R"({"state":{"reported":{"a":0}},"clientToken":"c"})"));
    const std::int64_t t = t0_s + 2;
    BOOST_TEST(payload(r, "update/documents") ==
               json({{"previous",
                      {{"state", {{"desired", {{"a", 1}}}}},
                       {"metadata", {{"desired", {{"a", ts(t0_s)}}}}},
                       {"version", 1}}},
                     {"current",
                      {{"state", {{"desired", {{"a", 1}}}, {"reported", {{"a", 0}}}}},
                       {"metadata", {{"desired", {{"a", ts(t0_s)}}}, {"reported", {{"a", ts(t)}}}}},
                       {"version", 2}}},
                     {"timestamp", t},
                     {"clientToken", "c"}}));
}

BOOST_AUTO_TEST_CASE(the_first_documents_of_a_new_shadow_has_an_empty_previous_at_version_0) {
    Fixture f;
    const auto r = f.update(lamp, json::parse(R"({"state":{"reported":{"a":1}}})"));
    BOOST_TEST(payload(r, "update/documents")["previous"] ==
               json({{"state", json::object()}, {"metadata", json::object()}, {"version", 0}}));

    ShadowOptions options;
    options.documents_previous_for_new_shadow = false;
    Fixture g(options);
    const auto omitted = g.update(lamp, json::parse(R"({"state":{"reported":{"a":1}}})"));
    BOOST_TEST(!payload(omitted, "update/documents").contains("previous"));
    BOOST_TEST(payload(omitted, "update/documents")["current"]["version"] == 1);
}

BOOST_AUTO_TEST_CASE(rest_update_publishes_accepted_documents_and_delta_unless_switched_off) {
    Fixture f;
    const auto r =
        f.update(lamp, json::parse(R"({"state":{"desired":{"a":1}}})"), RequestOrigin::rest);
    BOOST_REQUIRE(r.accepted());
    BOOST_TEST(suffixes(r) ==
               (std::vector<std::string>{"update/accepted", "update/documents", "update/delta"}));

    ShadowOptions options;
    options.publish_accepted_for_rest = false;
    Fixture g(options);
    const auto quiet =
        g.update(lamp, json::parse(R"({"state":{"desired":{"a":1}}})"), RequestOrigin::rest);
    BOOST_TEST(suffixes(quiet) == (std::vector<std::string>{"update/documents", "update/delta"}));
    // MQTT requests are always answered.
    const auto mqtt = g.update(lamp, json::parse(R"({"state":{"desired":{"a":2}}})"));
    BOOST_TEST(published(mqtt, "update/accepted"));
}

BOOST_AUTO_TEST_CASE(without_the_update_response_document_the_notifications_are_the_same) {
    ShadowOptions options;
    options.update_response_document = false;
    Fixture f;
    Fixture g(options);
    const std::vector<std::string> requests = {
        R"({"state":{"desired":{"a":1,"b":{"c":2}},"reported":{"a":0}},"clientToken":"t1"})",
        R"({"state":{"reported":{"a":1,"b":{"c":3}}}})",
        R"({"state":{"desired":{"b":null}},"version":2})",
        R"({"state":{"desired":{"a":1},"reported":{"a":2}}})",
    };
    for (const std::string& request : requests) {
        const auto with = f.update_raw(lamp, request);
        const auto without = g.update_raw(lamp, request);
        BOOST_REQUIRE(with.accepted());
        BOOST_REQUIRE(without.accepted());
        BOOST_TEST(without.document.is_null());
        BOOST_TEST(suffixes(without) == suffixes(with));
        for (std::size_t i = 0; i < with.notifications.size(); ++i) {
            BOOST_TEST(without.notifications[i].payload == with.notifications[i].payload);
        }
        // The REST body, had it been built, is the /update/accepted payload.
        BOOST_TEST(json::parse(with.notifications.front().payload) == with.document);
    }
    // Rejections still carry their error document.
    const auto rejected = g.update_raw(lamp, R"({"state":{"reported":{"a":1}},"version":1})");
    check_error(rejected, 409, "Version conflict");
    BOOST_TEST(f.service.find(lamp)->state == g.service.find(lamp)->state);
    BOOST_TEST(f.service.find(lamp)->metadata == g.service.find(lamp)->metadata);
}

BOOST_AUTO_TEST_CASE(a_rest_update_gets_its_body_even_when_mqtt_updates_skip_theirs) {
    ShadowOptions options;
    options.update_response_document = false;
    Fixture g(options);
    const auto rest =
        g.update_raw(lamp, R"({"state":{"desired":{"a":1}},"clientToken":"t"})", RequestOrigin::rest);
    BOOST_REQUIRE(rest.accepted());
    BOOST_TEST(rest.document["version"] == 1);
    BOOST_TEST(rest.document["clientToken"] == "t");
    BOOST_TEST(rest.document["state"] == json::parse(R"({"desired":{"a":1}})"));
    BOOST_TEST(json::parse(rest.notifications.front().payload) == rest.document);
}

BOOST_AUTO_TEST_CASE(an_empty_state_update_is_accepted_and_increments_the_version) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, json::parse(R"({"state":{"reported":{"a":1}}})")).accepted());
    const auto r = f.update(lamp, json::parse(R"({"state":{}})"));
    BOOST_REQUIRE(r.accepted());
    BOOST_TEST(r.document["version"] == 2);
    BOOST_TEST(r.document["state"] == json::object());
    BOOST_TEST(f.service.find(lamp)->state == json::parse(R"({"reported":{"a":1}})"));
}

BOOST_AUTO_TEST_CASE(a_null_state_clears_the_shadow_without_deleting_it) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, json::parse(R"({"state":{"desired":{"a":1},"reported":{"a":2}}})"))
                      .accepted());
    const auto r = f.update(lamp, json::parse(R"({"state":null})"));
    BOOST_REQUIRE(r.accepted());
    BOOST_TEST(r.document["state"].is_null());
    BOOST_TEST(r.document["version"] == 2);
    const auto got = f.get(lamp);
    BOOST_REQUIRE(got.accepted());
    BOOST_TEST(got.document["state"] == json::object());
    BOOST_TEST(got.document["metadata"] == json::object());
    BOOST_TEST(got.document["version"] == 2);
}

BOOST_AUTO_TEST_CASE(desired_is_not_cleared_when_reported_catches_up) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, json::parse(R"({"state":{"desired":{"on":true}}})")).accepted());
    const auto r = f.update(lamp, json::parse(R"({"state":{"reported":{"on":true}}})"));
    BOOST_TEST(!published(r, "update/delta"));
    const auto got = f.get(lamp);
    BOOST_TEST(got.document["state"] ==
               json::parse(R"({"desired":{"on":true},"reported":{"on":true}})"));
}

BOOST_AUTO_TEST_CASE(named_and_classic_shadows_of_a_thing_are_independent) {
    Fixture f;
    const ShadowKey config = named("lamp", "config");
    BOOST_REQUIRE(f.update(lamp, json::parse(R"({"state":{"reported":{"a":1}}})")).accepted());
    BOOST_REQUIRE(f.update(lamp, json::parse(R"({"state":{"reported":{"a":2}}})")).accepted());
    const auto first_named = f.update(config, json::parse(R"({"state":{"desired":{"b":1}}})"));
    BOOST_TEST(first_named.document["version"] == 1);
    check_error(f.get(named("lamp", "other")), 404, "No shadow exists with name: 'other'");
    BOOST_TEST(f.get(lamp).document["state"] == json::parse(R"({"reported":{"a":2}})"));
    BOOST_TEST(f.get(config).document["state"]["desired"] == json::parse(R"({"b":1})"));
    BOOST_REQUIRE(f.remove(config).accepted());
    BOOST_TEST(f.get(lamp).accepted());
    BOOST_TEST(f.get(lamp).document["version"] == 2);
    // Another thing's shadows are another matter again.
    check_error(f.get(classic("lamp2")), 404, "No shadow exists with name: 'lamp2'");
}

BOOST_AUTO_TEST_CASE(shadows_do_not_need_a_registered_thing) {
    Fixture f;
    BOOST_TEST(f.update(classic("never-registered"), json::parse(R"({"state":{}})")).accepted());
}

BOOST_AUTO_TEST_CASE(handle_publish_routes_request_topics_and_ignores_the_rest) {
    Fixture f;
    BOOST_TEST(!f.service.handle_publish("sensors/lamp", "{}", f.now));
    BOOST_TEST(!f.service.handle_publish("$aws/things/lamp/shadow/update/accepted", "{}", f.now));
    const auto updated = f.service.handle_publish("$aws/things/lamp/shadow/name/cfg/update",
                                                  R"({"state":{"desired":{"x":1}}})", f.now);
    BOOST_REQUIRE(updated);
    BOOST_TEST(updated->key == named("lamp", "cfg"));
    BOOST_TEST(updated->operation == ShadowOperation::update);
    BOOST_TEST(updated->accepted());
    BOOST_TEST(shadow_topic(updated->key, updated->notifications.at(0).suffix) ==
               "$aws/things/lamp/shadow/name/cfg/update/accepted");
    const auto got = f.service.handle_publish("$aws/things/lamp/shadow/name/cfg/get", "", f.now);
    BOOST_REQUIRE(got);
    BOOST_TEST(got->document["state"]["delta"] == json::parse(R"({"x":1})"));
    const auto deleted =
        f.service.handle_publish("$aws/things/lamp/shadow/name/cfg/delete", "", f.now);
    BOOST_REQUIRE(deleted);
    BOOST_TEST(suffixes(*deleted) == std::vector<std::string>{"delete/accepted"});
    const auto classic_get = f.service.handle_publish("$aws/things/lamp/shadow/get", "", f.now);
    BOOST_REQUIRE(classic_get);
    BOOST_TEST(suffixes(*classic_get) == std::vector<std::string>{"get/rejected"});
}

BOOST_AUTO_TEST_CASE(timestamps_are_epoch_seconds_of_the_now_passed_in) {
    Fixture f;
    f.now = WallTime{seconds(1591141596) + milliseconds(999)};
    const auto r = f.update(lamp, json::parse(R"({"state":{"desired":{"a":1}}})"));
    BOOST_TEST(r.document["timestamp"] == 1591141596);
    BOOST_TEST(r.document["metadata"]["desired"]["a"]["timestamp"] == 1591141596);
    BOOST_TEST(payload(r, "update/delta")["timestamp"] == 1591141596);
}

BOOST_AUTO_TEST_CASE(equal_requests_give_byte_identical_output) {
    // Determinism: the same inputs at the same `now` publish the same bytes.
    Fixture a;
    Fixture b;
    const std::string body =
        R"({"state":{"desired":{"z":1,"a":{"m":[1,2],"b":true}}},"clientToken":"x"})";
    const auto ra = a.update_raw(lamp, body);
    const auto rb = b.update_raw(lamp, body);
    BOOST_REQUIRE_EQUAL(ra.notifications.size(), rb.notifications.size());
    for (std::size_t i = 0; i < ra.notifications.size(); ++i) {
        BOOST_TEST(ra.notifications[i].payload == rb.notifications[i].payload);
    }
}

BOOST_AUTO_TEST_SUITE_END()
