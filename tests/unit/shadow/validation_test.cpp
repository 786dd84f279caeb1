// Request validation and AWS's error documents (../shared/reference/aws-iot-core.md §2.3).
#include "shadow_harness.hpp"

using namespace iotsim::shadow;
using namespace iotsim::shadow::test;

namespace {

const ShadowKey lamp = classic("lamp");

}  // namespace

BOOST_AUTO_TEST_SUITE(shadow_validation)

BOOST_AUTO_TEST_CASE(malformed_json_empty_bodies_and_non_objects_are_invalid_json) {
    Fixture f;
    for (const char* body : {"", "{", "{\"state\":}", "not json", "[]", "42", "\"state\"", "null",
                             "{\"state\":{\"desired\":{\"a\":1}}} trailing",
                             "{\"state\":{\"reported\":{\"a\":1e400}}}"}) {
        BOOST_TEST_CONTEXT(body) {
            const auto r = f.update_raw(lamp, body);
            check_error(r, 400, "Invalid JSON");
            BOOST_TEST(!r.document.contains("clientToken"));
        }
    }
    BOOST_TEST(f.service.find(lamp) == nullptr);
}

BOOST_AUTO_TEST_CASE(update_without_state_is_missing_required_node) {
    Fixture f;
    check_error(f.update(lamp, json::parse(R"({"desired":{"a":1}})")), 400,
                "Missing required node: state");
    check_error(f.update(lamp, json::object()), 400, "Missing required node: state");
}

BOOST_AUTO_TEST_CASE(state_must_be_an_object) {
    Fixture f;
    for (const char* state : {"1", "\"x\"", "[]", "true"}) {
        BOOST_TEST_CONTEXT(state) {
            check_error(f.update_raw(lamp, std::string("{\"state\":") + state + "}"), 400,
                        "State node must be an object");
        }
    }
}

BOOST_AUTO_TEST_CASE(state_with_other_nodes_than_desired_and_reported_is_invalid) {
    Fixture f;
    for (const char* state : {R"({"delta":{"a":1}})", R"({"desired":{"a":1},"metadata":{}})",
                              R"({"Desired":{"a":1}})"}) {
        BOOST_TEST_CONTEXT(state) {
            check_error(f.update_raw(lamp, std::string("{\"state\":") + state + "}"), 400,
                        "State contains an invalid node");
        }
    }
}

BOOST_AUTO_TEST_CASE(desired_and_reported_must_be_objects_or_null) {
    Fixture f;
    check_error(f.update(lamp, json::parse(R"({"state":{"desired":5}})")), 400,
                "Desired node must be an object");
    check_error(f.update(lamp, json::parse(R"({"state":{"desired":[1]}})")), 400,
                "Desired node must be an object");
    check_error(f.update(lamp, json::parse(R"({"state":{"reported":"on"}})")), 400,
                "Reported node must be an object");
    check_error(f.update(lamp, json::parse(R"({"state":{"desired":{},"reported":true}})")), 400,
                "Reported node must be an object");
    BOOST_TEST(
        f.update(lamp, json::parse(R"({"state":{"desired":null,"reported":null}})")).accepted());
}

BOOST_AUTO_TEST_CASE(client_token_of_64_bytes_is_echoed_and_65_bytes_is_invalid) {
    Fixture f;
    const std::string ok(64, 'k');
    const auto accepted =
        f.update(lamp, json{{"state", {{"reported", {{"a", 1}}}}}, {"clientToken", ok}});
    BOOST_REQUIRE(accepted.accepted());
    BOOST_TEST(accepted.document["clientToken"] == ok);
    const auto rejected = f.update(
        lamp, json{{"state", {{"reported", {{"a", 2}}}}}, {"clientToken", std::string(65, 'k')}});
    check_error(rejected, 400, "Invalid clientToken");
    BOOST_TEST(!rejected.document.contains("clientToken"));
    BOOST_TEST(f.service.find(lamp)->state["reported"]["a"] == 1);
}

BOOST_AUTO_TEST_CASE(client_token_must_be_a_string) {
    Fixture f;
    for (const char* token : {"5", "null", "{}", "[\"t\"]"}) {
        BOOST_TEST_CONTEXT(token) {
            check_error(
                f.update_raw(lamp, std::string(R"({"state":{},"clientToken":)") + token + "}"), 400,
                "Invalid clientToken");
        }
    }
}

BOOST_AUTO_TEST_CASE(version_must_be_a_non_negative_integer) {
    Fixture f;
    for (const char* version :
         {"-1", "1.5", "1.0", "\"1\"", "true", "[1]", "18446744073709551615"}) {
        BOOST_TEST_CONTEXT(version) {
            const auto r = f.update_raw(
                lamp, std::string(R"({"state":{},"clientToken":"c","version":)") + version + "}");
            check_error(r, 400, "Invalid version");
            BOOST_TEST(r.document["clientToken"] == "c");
        }
    }
    // null counts as absent.
    BOOST_TEST(f.update_raw(lamp, R"({"state":{},"version":null})").accepted());
}

BOOST_AUTO_TEST_CASE(arrays_containing_null_are_rejected) {
    Fixture f;
    check_error(f.update(lamp, json::parse(R"({"state":{"desired":{"a":[1,null]}}})")), 400,
                "Invalid JSON");
    check_error(f.update(lamp, json::parse(R"({"state":{"reported":{"a":[{"b":null}]}}})")), 400,
                "Invalid JSON");
    BOOST_TEST(f.service.find(lamp) == nullptr);
}

BOOST_AUTO_TEST_CASE(nodes_outside_state_are_ignored) {
    Fixture f;
    const auto r = f.update(lamp, json::parse(R"({"state":{"reported":{"a":1}},
        "metadata":{"reported":{"a":{"timestamp":1}}},
        "timestamp":5,"delta":{"x":1},"extra":[1]})"));
    BOOST_REQUIRE(r.accepted());
    const ShadowRecord* stored = f.service.find(lamp);
    BOOST_TEST(stored->state == json::parse(R"({"reported":{"a":1}})"));
    BOOST_TEST(stored->metadata == json::parse(R"({"reported":{"a":{"timestamp":1767225600}}})"));
}

BOOST_AUTO_TEST_CASE(error_documents_carry_code_message_timestamp_and_the_client_token) {
    Fixture f;
    const auto r = f.update_raw(lamp, R"({"clientToken":"tok-1","state":7})");
    BOOST_TEST(r.document == json::parse(R"({"code":400,"message":"State node must be an object",
        "timestamp":1767225600,"clientToken":"tok-1"})"));
    // MQTT requests are answered on /rejected with the same document.
    BOOST_TEST(suffixes(r) == std::vector<std::string>{"update/rejected"});
    BOOST_TEST(payload(r, "update/rejected") == r.document);
}

BOOST_AUTO_TEST_CASE(rest_errors_publish_nothing) {
    Fixture f;
    const auto r = f.update_raw(lamp, "{", RequestOrigin::rest);
    check_error(r, 400, "Invalid JSON");
    BOOST_TEST(r.notifications.empty());
    const auto missing = f.get(lamp, "", RequestOrigin::rest);
    check_error(missing, 404, "No shadow exists with name: 'lamp'");
    BOOST_TEST(missing.notifications.empty());
}

BOOST_AUTO_TEST_CASE(payload_that_is_not_utf8_is_unsupported_encoding) {
    Fixture f;
    check_error(f.update_raw(lamp, "{\"state\":{\"reported\":{\"a\":\"\xff\"}}}"), 415,
                "Unsupported documented encoding; supported encoding is UTF-8");
}

BOOST_AUTO_TEST_CASE(names_that_break_the_patterns_are_rejected_on_the_rest_path) {
    Fixture f;
    const auto body = json::parse(R"({"state":{"reported":{"a":1}}})").dump();
    check_error(f.service.update(classic("bad name"), body, f.now, RequestOrigin::rest), 400,
                "Invalid thing name");
    check_error(f.service.update(classic(std::string(129, 't')), body, f.now, RequestOrigin::rest),
                400, "Invalid thing name");
    check_error(f.service.get(named("T", std::string(65, 's')), "", f.now, RequestOrigin::rest),
                400, "Invalid shadow name");
    check_error(f.service.delete_shadow(named("T", "a/b"), "", f.now, RequestOrigin::rest), 400,
                "Invalid shadow name");
    BOOST_TEST(f.service.size() == 0U);
}

BOOST_AUTO_TEST_CASE(rejected_requests_leave_the_shadow_and_the_store_unchanged) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, json::parse(R"({"state":{"reported":{"a":1}}})")).accepted());
    const auto writes = f.store.writes();
    const json before = f.service.find(lamp)->state;
    for (const char* body : {"{", R"({"state":5})", R"({"state":{"desired":{"a":1}},"version":7})",
                             R"({"state":{"desired":{"a":[null]}}})"}) {
        BOOST_TEST_CONTEXT(body) { BOOST_TEST(!f.update_raw(lamp, body).accepted()); }
    }
    BOOST_TEST(f.service.find(lamp)->state == before);
    BOOST_TEST(f.service.find(lamp)->version == 1);
    BOOST_TEST(f.store.writes() == writes);
}

BOOST_AUTO_TEST_CASE(get_and_delete_echo_a_client_token_from_a_json_body_and_ignore_other_bodies) {
    Fixture f;
    BOOST_REQUIRE(f.update(lamp, json::parse(R"({"state":{"reported":{"a":1}}})")).accepted());
    BOOST_TEST(f.get(lamp, R"({"clientToken":"g1"})").document["clientToken"] == "g1");
    BOOST_TEST(!f.get(lamp, "anything at all").document.contains("clientToken"));
    BOOST_TEST(f.get(lamp, "anything at all").accepted());
    BOOST_TEST(f.get(lamp, "[1,2]").accepted());
    check_error(f.get(lamp, R"({"clientToken":7})"), 400, "Invalid clientToken");
    check_error(f.remove(lamp, "{\"clientToken\":\"" + std::string(65, 'x') + "\"}"), 400,
                "Invalid clientToken");
    const auto deleted = f.remove(lamp, R"({"clientToken":"d1"})");
    BOOST_REQUIRE(deleted.accepted());
    BOOST_TEST(deleted.document["clientToken"] == "d1");
    const auto missing = f.get(lamp, R"({"clientToken":"g2"})");
    check_error(missing, 404, "No shadow exists with name: 'lamp'");
    BOOST_TEST(missing.document["clientToken"] == "g2");
}

BOOST_AUTO_TEST_CASE(every_error_has_aws_code_and_message) {
    struct Expected {
        ShadowError error;
        int code;
        const char* message;
    };
    const Expected table[] = {
        {errors::invalid_json(), 400, "Invalid JSON"},
        {errors::missing_state(), 400, "Missing required node: state"},
        {errors::state_not_object(), 400, "State node must be an object"},
        {errors::desired_not_object(), 400, "Desired node must be an object"},
        {errors::reported_not_object(), 400, "Reported node must be an object"},
        {errors::invalid_version(), 400, "Invalid version"},
        {errors::invalid_client_token(), 400, "Invalid clientToken"},
        {errors::too_deep(6), 400, "JSON contains too many levels of nesting; maximum is 6"},
        {errors::invalid_state_node(), 400, "State contains an invalid node"},
        {errors::unauthorized(), 401, "Unauthorized"},
        {errors::forbidden(), 403, "Forbidden"},
        {errors::thing_not_found(), 404, "Thing not found"},
        {errors::no_such_shadow("simShadow1"), 404, "No shadow exists with name: 'simShadow1'"},
        {errors::version_conflict(), 409, "Version conflict"},
        {errors::payload_too_large(), 413, "The payload exceeds the maximum size allowed"},
        {errors::unsupported_encoding(), 415,
         "Unsupported documented encoding; supported encoding is UTF-8"},
        {errors::too_many_requests(), 429, "Too Many Requests"},
        {errors::internal_failure(), 500, "Internal service failure"},
    };
    for (const Expected& e : table) {
        BOOST_TEST_CONTEXT(e.message) {
            BOOST_TEST(e.error.code == e.code);
            BOOST_TEST(e.error.message == e.message);
            const json doc = error_document(e.error, std::nullopt, at_s(1591140517));
            BOOST_TEST(doc ==
                       json({{"code", e.code}, {"message", e.message}, {"timestamp", 1591140517}}));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
