// The Device Shadow REST API (reference §2.9; botocore iot-data model): Get/Update/
// DeleteThingShadow and ListNamedShadowsForThing over a real ShadowService.
#include <string>

#include "http_harness.hpp"

using namespace iotsim::http;
using namespace iotsim::http::test;

BOOST_AUTO_TEST_SUITE(http_router_shadow)

BOOST_AUTO_TEST_CASE(update_thing_shadow_answers_200_with_the_accepted_document) {
    Fixture f;
    const Parsed r = f.call("POST", "/things/lamp/shadow", R"({"state":{"desired":{"color":"red"}},"clientToken":"c1"})");
    BOOST_TEST(r.status_line == "HTTP/1.1 200 OK");
    BOOST_TEST(r.header("Content-Type") == "application/json");
    BOOST_TEST(r.header("x-amzn-ErrorType") == "<absent>");
    BOOST_TEST(r.header("x-amzn-RequestId").size() == 36U);
    const json expected = json::parse(
        R"({"state":{"desired":{"color":"red"}},"metadata":{"desired":{"color":{"timestamp":1767225600}}},)"
        R"("version":1,"timestamp":1767225600,"clientToken":"c1"})");
    BOOST_TEST(r.body_json() == expected);
    // The data plane published the notifications; the router only answered.
    BOOST_TEST(f.plane.notifications.size() >= 2U);
}

BOOST_AUTO_TEST_CASE(get_thing_shadow_returns_the_full_document_with_delta) {
    Fixture f;
    BOOST_REQUIRE(f.call("POST", "/things/lamp/shadow", R"({"state":{"desired":{"on":true},"reported":{"on":false}}})").status == 200);
    const Parsed r = f.call("GET", "/things/lamp/shadow");
    BOOST_TEST(r.status == 200);
    const json body = r.body_json();
    BOOST_TEST(body["state"]["delta"] == json::parse(R"({"on":true})"));
    BOOST_TEST(body["version"] == 1);
}

BOOST_AUTO_TEST_CASE(the_name_query_parameter_selects_a_named_shadow) {
    Fixture f;
    BOOST_REQUIRE(f.call("POST", "/things/lamp/shadow?name=cfg", R"({"state":{"reported":{"a":1}}})").status == 200);
    BOOST_TEST(f.call("GET", "/things/lamp/shadow?name=cfg").status == 200);
    BOOST_TEST(f.plane.shadows.find(iotsim::shadow::ShadowKey{"lamp", "cfg"}) != nullptr);
    check_error(f.call("GET", "/things/lamp/shadow"), 404, "ResourceNotFoundException",
                "No shadow exists with name: 'lamp'");
}

BOOST_AUTO_TEST_CASE(get_of_a_missing_shadow_is_404_resource_not_found_byte_for_byte) {
    Fixture f;
    const Parsed r = f.call("GET", "/things/lamp/shadow?name=simShadow1");
    BOOST_TEST(r.status_line == "HTTP/1.1 404 Not Found");
    check_error(r, 404, "ResourceNotFoundException", "No shadow exists with name: 'simShadow1'");
    BOOST_TEST(r.body == R"({"message":"No shadow exists with name: 'simShadow1'","traceId":")" +
                             r.header("x-amzn-RequestId") + "\"}");
}

BOOST_AUTO_TEST_CASE(a_version_conflict_is_409_conflict_exception) {
    Fixture f;
    BOOST_REQUIRE(f.call("POST", "/things/lamp/shadow", R"({"state":{"reported":{"a":1}}})").status == 200);
    check_error(f.call("POST", "/things/lamp/shadow", R"({"state":{"reported":{"a":2}},"version":7})"), 409,
                "ConflictException", "Version conflict");
}

BOOST_AUTO_TEST_CASE(invalid_update_documents_are_400_invalid_request_exception) {
    Fixture f;
    check_error(f.call("POST", "/things/lamp/shadow", "{not json"), 400, "InvalidRequestException", "Invalid JSON");
    check_error(f.call("POST", "/things/lamp/shadow", R"({"version":1})"), 400, "InvalidRequestException",
                "Missing required node: state");
}

BOOST_AUTO_TEST_CASE(a_non_utf8_update_is_415_unsupported_document_encoding) {
    Fixture f;
    check_error(f.call("POST", "/things/lamp/shadow", "{\"state\":{\"reported\":{\"a\":\"\xff\"}}}"), 415,
                "UnsupportedDocumentEncodingException",
                "Unsupported documented encoding; supported encoding is UTF-8");
}

BOOST_AUTO_TEST_CASE(a_state_beyond_8_kb_is_413_request_entity_too_large) {
    Fixture f;
    const std::string big = R"({"state":{"reported":{"a":")" + std::string(9000, 'x') + R"("}}})";
    check_error(f.call("POST", "/things/lamp/shadow", big), 413, "RequestEntityTooLargeException",
                "The payload exceeds the maximum size allowed");
}

BOOST_AUTO_TEST_CASE(more_than_20_requests_per_second_for_a_thing_are_429_throttling) {
    Fixture f;
    for (int i = 0; i < 20; ++i) {
        (void)f.call("GET", "/things/lamp/shadow");
    }
    check_error(f.call("GET", "/things/lamp/shadow"), 429, "ThrottlingException", "Too Many Requests");
}

BOOST_AUTO_TEST_CASE(delete_thing_shadow_returns_version_and_timestamp_then_404) {
    Fixture f;
    BOOST_REQUIRE(f.call("POST", "/things/lamp/shadow", R"({"state":{"reported":{"a":1}}})").status == 200);
    const Parsed r = f.call("DELETE", "/things/lamp/shadow");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body_json() == json::parse(R"({"version":1,"timestamp":1767225600})"));
    check_error(f.call("DELETE", "/things/lamp/shadow"), 404, "ResourceNotFoundException",
                "No shadow exists with name: 'lamp'");
}

BOOST_AUTO_TEST_CASE(invalid_thing_and_shadow_names_are_400) {
    Fixture f;
    check_error(f.call("GET", "/things/bad%20name/shadow"), 400, "InvalidRequestException", "Invalid thing name");
    check_error(f.call("GET", "/things//shadow"), 400, "InvalidRequestException", "Invalid thing name");
    check_error(f.call("GET", "/things/lamp/shadow?name="), 400, "InvalidRequestException", "Invalid shadow name");
    check_error(f.call("GET", "/things/lamp/shadow?name=a%2Fb"), 400, "InvalidRequestException", "Invalid shadow name");
}

BOOST_AUTO_TEST_CASE(percent_encoded_thing_names_are_decoded) {
    Fixture f;
    BOOST_REQUIRE(f.call("POST", "/things/my%3Athing/shadow", R"({"state":{"reported":{"a":1}}})").status == 200);
    BOOST_TEST(f.plane.shadows.find(iotsim::shadow::ShadowKey{"my:thing", ""}) != nullptr);
}

BOOST_AUTO_TEST_CASE(other_methods_on_the_shadow_path_are_405_method_not_allowed) {
    Fixture f;
    const Parsed r = f.call("PUT", "/things/lamp/shadow", "{}");
    BOOST_TEST(r.status_line == "HTTP/1.1 405 Method Not Allowed");
    check_error(r, 405, "MethodNotAllowedException", "Method Not Allowed");
}

BOOST_AUTO_TEST_CASE(list_named_shadows_pages_with_next_token_and_page_size) {
    Fixture f;
    for (const char* name : {"a", "b", "c"}) {
        BOOST_REQUIRE(f.call("POST", std::string("/things/lamp/shadow?name=") + name,
                             R"({"state":{"reported":{"x":1}}})").status == 200);
    }
    const Parsed first = f.call("GET", "/api/things/shadow/ListNamedShadowsForThing/lamp?pageSize=2");
    BOOST_TEST(first.status == 200);
    const json page1 = first.body_json();
    BOOST_TEST(page1["results"] == json::parse(R"(["a","b"])"));
    BOOST_TEST(page1["timestamp"] == t0_s);
    BOOST_REQUIRE(page1.contains("nextToken"));
    const Parsed second = f.call("GET", "/api/things/shadow/ListNamedShadowsForThing/lamp?pageSize=2&nextToken=" +
                                            page1["nextToken"].get<std::string>());
    const json page2 = second.body_json();
    BOOST_TEST(page2["results"] == json::parse(R"(["c"])"));
    BOOST_TEST(!page2.contains("nextToken"));
}

BOOST_AUTO_TEST_CASE(list_named_shadows_of_an_unknown_thing_is_an_empty_list) {
    Fixture f;
    const Parsed r = f.call("GET", "/api/things/shadow/ListNamedShadowsForThing/ghost");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body_json() == json::parse(R"({"results":[],"timestamp":1767225600})"));
}

BOOST_AUTO_TEST_CASE(list_named_shadows_refuses_bad_page_sizes_and_tokens_with_400) {
    Fixture f;
    for (const char* q : {"pageSize=0", "pageSize=101", "pageSize=abc", "pageSize=", "pageSize=-1"}) {
        BOOST_TEST_CONTEXT(q) {
            check_error(f.call("GET", std::string("/api/things/shadow/ListNamedShadowsForThing/lamp?") + q), 400,
                        "InvalidRequestException", "Invalid pageSize");
        }
    }
    check_error(f.call("GET", "/api/things/shadow/ListNamedShadowsForThing/lamp?nextToken=zz"), 400,
                "InvalidRequestException", "Invalid nextToken");
    check_error(f.call("POST", "/api/things/shadow/ListNamedShadowsForThing/lamp"), 405,
                "MethodNotAllowedException", "Method Not Allowed");
}

BOOST_AUTO_TEST_SUITE_END()
