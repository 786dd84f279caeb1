// Routing, request ids, authorization seam and HttpConnection end to end: pipelining, 100
// Continue, close, codec errors in AWS's shape.
#include <string>

#include "http_harness.hpp"

using namespace iotsim::http;
using namespace iotsim::http::test;

BOOST_AUTO_TEST_SUITE(http_routing)

BOOST_AUTO_TEST_CASE(an_unknown_path_is_404_resource_not_found_in_aws_error_shape) {
    Fixture f;
    for (const char* target : {"/", "/things/lamp", "/things/lamp/shadow/", "/things/a/b/shadow",
                               "/retainedMessages", "/api/things/shadow/ListNamedShadowsForThing/a/b",
                               "/connections/c1"}) {
        BOOST_TEST_CONTEXT(target) {
            const Parsed r = f.call("GET", target);
            BOOST_TEST(r.status_line == "HTTP/1.1 404 Not Found");
            check_error(r, 404, "ResourceNotFoundException", "Not Found");
        }
    }
}

BOOST_AUTO_TEST_CASE(a_bad_escape_in_the_path_or_query_is_400) {
    Fixture f;
    check_error(f.call("GET", "/things/la%zzmp/shadow"), 400, "InvalidRequestException",
                "Invalid percent-encoding in the request path");
    check_error(f.call("GET", "/things/lamp/shadow?name=%z"), 400, "InvalidRequestException",
                "Invalid percent-encoding in the query string");
}

BOOST_AUTO_TEST_CASE(methods_are_case_sensitive) {
    Fixture f;
    check_error(f.call("get", "/things/lamp/shadow"), 405, "MethodNotAllowedException", "Method Not Allowed");
}

BOOST_AUTO_TEST_CASE(request_ids_are_uuids_from_the_injected_rng_and_reproducible) {
    Fixture a;
    Fixture b;
    const Parsed ra = a.call("GET", "/retainedMessage");
    const Parsed rb = b.call("GET", "/retainedMessage");
    BOOST_TEST(ra.header("x-amzn-RequestId") == rb.header("x-amzn-RequestId"));
    BOOST_TEST(ra.header("x-amzn-RequestId")[14] == '4');
    BOOST_TEST(a.call("GET", "/retainedMessage").header("x-amzn-RequestId") != ra.header("x-amzn-RequestId"));
}

BOOST_AUTO_TEST_CASE(the_authorize_hook_sees_operation_and_resource_and_its_error_is_sent) {
    Fixture f;
    std::vector<std::string> seen;
    f.router.set_authorize([&seen](const AuthorizeRequest& r) -> std::optional<ApiError> {
        seen.push_back(std::string(operation_name(r.operation)) + " " + r.resource + " " + r.shadow_name +
                       (r.retain ? " retain" : ""));
        const std::string* auth = r.request->header("authorization");
        if (auth == nullptr) {
            return api_error(401, "Missing Authentication Token");
        }
        if (r.resource == "secret") {
            return api_error(403, "Forbidden");
        }
        return std::nullopt;
    });
    check_error(f.call("GET", "/things/lamp/shadow?name=cfg"), 401, "UnauthorizedException",
                "Missing Authentication Token");
    check_error(f.call("POST", "/topics/secret?retain=true", "x", "Authorization: AWS4-HMAC-SHA256 x\r\n"), 403,
                "ForbiddenException", "Forbidden");
    BOOST_TEST(f.call("POST", "/topics/a%2Fb", "x", "Authorization: AWS4-HMAC-SHA256 x\r\n").status == 200);
    BOOST_TEST(f.call("GET", "/retainedMessage", "", "Authorization: x\r\n").status == 200);
    BOOST_TEST(seen == (std::vector<std::string>{"GetThingShadow lamp cfg", "Publish secret  retain",
                                                 "Publish a/b ", "ListRetainedMessages  "}));
    BOOST_TEST(f.plane.published.size() == 1U);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(http_connection)

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order_on_one_connection) {
    Fixture f;
    bool closed = true;
    const auto responses = f.exchange(
        "POST /things/t/shadow HTTP/1.1\r\nHost: h\r\nContent-Length: 29\r\n\r\n{\"state\":{\"desired\":{\"a\":1}}}"
        "GET /things/t/shadow HTTP/1.1\r\nHost: h\r\n\r\n"
        "GET /nowhere HTTP/1.1\r\nHost: h\r\n\r\n",
        &closed);
    BOOST_REQUIRE_EQUAL(responses.size(), 3U);
    BOOST_TEST(responses[0].status == 200);
    BOOST_TEST(responses[1].body_json()["state"]["desired"]["a"] == 1);
    BOOST_TEST(responses[2].status == 404);
    BOOST_TEST(!closed);
    for (const auto& r : responses) {
        BOOST_TEST(r.header("Connection") == "keep-alive");
    }
}

BOOST_AUTO_TEST_CASE(bytes_split_anywhere_give_the_same_output_as_one_read) {
    const std::string wire =
        "POST /topics/a?qos=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
        "2\r\nhi\r\n0\r\n\r\nGET /retainedMessage HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    Fixture whole;
    HttpConnection c1(whole.router);
    const ConnectionOutput expected = c1.receive(wire, whole.now);
    BOOST_TEST(expected.close);
    for (std::size_t cut = 1; cut < wire.size(); ++cut) {
        Fixture f;
        HttpConnection c(f.router);
        ConnectionOutput a = c.receive(std::string_view(wire).substr(0, cut), f.now);
        const ConnectionOutput b = c.receive(std::string_view(wire).substr(cut), f.now);
        BOOST_TEST_CONTEXT("cut at " << cut) {
            BOOST_TEST(a.bytes + b.bytes == expected.bytes);
            BOOST_TEST(b.close);
        }
    }
}

BOOST_AUTO_TEST_CASE(expect_100_continue_is_answered_before_the_final_response) {
    Fixture f;
    HttpConnection c(f.router);
    ConnectionOutput out = c.receive(
        "POST /topics/a HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", f.now);
    BOOST_TEST(out.bytes == "HTTP/1.1 100 Continue\r\n\r\n");
    out = c.receive("hi", f.now);
    const auto responses = parse_responses(out.bytes);
    BOOST_REQUIRE_EQUAL(responses.size(), 1U);
    BOOST_TEST(responses[0].status == 200);
    BOOST_TEST(f.plane.published.at(0).payload == "hi");
}

BOOST_AUTO_TEST_CASE(connection_close_is_honoured_and_later_bytes_are_ignored) {
    Fixture f;
    HttpConnection c(f.router);
    const ConnectionOutput out =
        c.receive("GET /retainedMessage HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n", f.now);
    const auto responses = parse_responses(out.bytes);
    BOOST_REQUIRE_EQUAL(responses.size(), 1U);
    BOOST_TEST(responses[0].header("Connection") == "close");
    BOOST_TEST(out.close);
    BOOST_TEST(c.done());
    const ConnectionOutput later = c.receive("GET / HTTP/1.1\r\nHost: h\r\n\r\n", f.now);
    BOOST_TEST(later.bytes.empty());
    BOOST_TEST(later.close);
}

BOOST_AUTO_TEST_CASE(an_http_1_0_request_is_answered_and_closed) {
    Fixture f;
    bool closed = false;
    const auto responses = f.exchange("GET /retainedMessage HTTP/1.0\r\n\r\n", &closed);
    BOOST_REQUIRE_EQUAL(responses.size(), 1U);
    BOOST_TEST(responses[0].status_line == "HTTP/1.1 200 OK");
    BOOST_TEST(responses[0].header("Connection") == "close");
    BOOST_TEST(closed);
}

BOOST_AUTO_TEST_CASE(malformed_input_gets_an_aws_shaped_error_with_a_request_id_then_close) {
    Fixture f;
    bool closed = false;
    const auto responses = f.exchange("GET /retainedMessage HTTP/1.1\r\nHost: h\r\n\r\nHELLO\r\n", &closed);
    BOOST_REQUIRE_EQUAL(responses.size(), 2U);
    BOOST_TEST(responses[0].status == 200);
    const Parsed& r = responses[1];
    BOOST_TEST(r.status_line == "HTTP/1.1 400 Bad Request");
    check_error(r, 400, "InvalidRequestException", "Malformed request line");
    BOOST_TEST(r.header("Connection") == "close");
    BOOST_TEST(closed);
}

BOOST_AUTO_TEST_CASE(an_oversized_header_section_is_431_and_closes) {
    Fixture f;
    bool closed = false;
    const auto responses =
        f.exchange("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(20000, 'b') + "\r\n\r\n", &closed);
    BOOST_REQUIRE_EQUAL(responses.size(), 1U);
    BOOST_TEST(responses[0].status_line == "HTTP/1.1 431 Request Header Fields Too Large");
    BOOST_TEST(closed);
}

BOOST_AUTO_TEST_CASE(a_head_request_gets_headers_only) {
    Fixture f;
    HttpConnection c(f.router);
    const ConnectionOutput out = c.receive("HEAD /retainedMessage HTTP/1.1\r\nHost: h\r\n\r\n", f.now);
    BOOST_TEST(out.bytes.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
    BOOST_TEST(out.bytes.ends_with("\r\n\r\n"));
    BOOST_TEST(out.bytes.find("Content-Length: 0") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_date_header_uses_the_inputs_wall_time_when_enabled) {
    Fixture f;
    HttpConnectionOptions options;
    options.date_header = true;
    HttpConnection c(f.router, options);
    const ConnectionOutput out = c.receive("GET /retainedMessage HTTP/1.1\r\nHost: h\r\n\r\n", f.now);
    BOOST_TEST(parse_responses(out.bytes).at(0).header("Date") == "Thu, 01 Jan 2026 00:00:00 GMT");
}

BOOST_AUTO_TEST_SUITE_END()
