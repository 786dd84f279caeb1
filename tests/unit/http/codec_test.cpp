// ServerCodec: HTTP/1.1 framing (RFC 9112) of requests as botocore, the AWS CLI and curl send
// them, split anywhere and pipelined, and every class of malformed input.
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "http_harness.hpp"

using namespace iotsim::http;
using namespace iotsim::http::test;
using namespace std::string_view_literals;

namespace {

// What boto3 1.43 sends for update_thing_shadow(thingName="lamp", shadowName="cfg", ...),
// captured from the wire (Authorization shortened).
const std::string botocore_update =
    "POST /things/lamp/shadow?name=cfg HTTP/1.1\r\n"
    "Host: 127.0.0.1:36989\r\n"
    "Accept-Encoding: identity\r\n"
    "User-Agent: Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 os/linux lang/python#3.11.7\r\n"
    "X-Amz-Date: 20261126T155516Z\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/iotdata/"
    "aws4_request, SignedHeaders=host;x-amz-date, Signature=32075e74\r\n"
    "amz-sdk-invocation-id: 7996dfce-941b-4de4-b08d-5994e44f0425\r\n"
    "amz-sdk-request: attempt=1\r\n"
    "Content-Length: 37\r\n"
    "\r\n"
    R"({"state":{"desired":{"color":"red"}}})";

const std::string simple_get = "GET /things/lamp/shadow HTTP/1.1\r\nHost: h\r\n\r\n";

std::vector<Request> requests_of(const std::vector<CodecEvent>& events) {
    std::vector<Request> out;
    for (const auto& e : events) {
        if (const auto* r = std::get_if<Request>(&e)) {
            out.push_back(*r);
        }
    }
    return out;
}

/// The single Malformed event expected in `events`.
ApiError malformed_of(const std::vector<CodecEvent>& events) {
    BOOST_REQUIRE(!events.empty());
    const auto* m = std::get_if<Malformed>(&events.back());
    BOOST_REQUIRE_MESSAGE(m != nullptr, "last event is not Malformed");
    return m->error;
}

ApiError reject(std::string_view wire, CodecLimits limits = {}) {
    ServerCodec codec(limits);
    auto events = codec.receive(wire);
    BOOST_TEST(codec.done());
    return malformed_of(events);
}

/// Feeds `wire` in pieces of `step` bytes and collects every event.
std::vector<CodecEvent> feed(ServerCodec& codec, std::string_view wire, std::size_t step) {
    std::vector<CodecEvent> all;
    for (std::size_t i = 0; i < wire.size(); i += step) {
        for (auto& e : codec.receive(wire.substr(i, step))) {
            all.push_back(std::move(e));
        }
    }
    return all;
}

void check_same_request(const Request& a, const Request& b) {
    BOOST_TEST(a.method == b.method);
    BOOST_TEST(a.target == b.target);
    BOOST_TEST(a.path == b.path);
    BOOST_TEST(a.query == b.query);
    BOOST_TEST(a.body == b.body);
    BOOST_TEST(a.keep_alive == b.keep_alive);
    BOOST_TEST(a.headers == b.headers);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_codec)

BOOST_AUTO_TEST_CASE(a_botocore_request_is_framed_with_method_path_query_headers_and_body) {
    ServerCodec codec;
    const auto requests = requests_of(codec.receive(botocore_update));
    BOOST_REQUIRE_EQUAL(requests.size(), 1U);
    const Request& r = requests.front();
    BOOST_TEST(r.method == "POST");
    BOOST_TEST(r.target == "/things/lamp/shadow?name=cfg");
    BOOST_TEST(r.path == "/things/lamp/shadow");
    BOOST_TEST(r.query == "name=cfg");
    BOOST_TEST(r.version_minor == 1);
    BOOST_TEST(r.keep_alive);
    BOOST_TEST(r.body == R"({"state":{"desired":{"color":"red"}}})");
    BOOST_TEST(r.headers.size() == 8U);
    BOOST_TEST(!codec.done());
}

BOOST_AUTO_TEST_CASE(header_names_match_case_insensitively_and_values_lose_surrounding_whitespace) {
    ServerCodec codec;
    const auto requests =
        requests_of(codec.receive("GET / HTTP/1.1\r\nHOST: h\r\nX-Amz-Date: \t 2026 \t\r\n\r\n"));
    BOOST_REQUIRE_EQUAL(requests.size(), 1U);
    BOOST_REQUIRE(requests[0].header("x-amz-date") != nullptr);
    BOOST_TEST(*requests[0].header("x-amz-date") == "2026");
    BOOST_TEST(*requests[0].header("host") == "h");
    BOOST_TEST(requests[0].header("content-length") == nullptr);
}

BOOST_AUTO_TEST_CASE(a_request_split_at_every_byte_frames_exactly_as_in_one_piece) {
    ServerCodec whole;
    const auto expected = requests_of(whole.receive(botocore_update));
    BOOST_REQUIRE_EQUAL(expected.size(), 1U);
    for (std::size_t cut = 1; cut < botocore_update.size(); ++cut) {
        BOOST_TEST_CONTEXT("cut at " << cut) {
            ServerCodec codec;
            auto first = codec.receive(std::string_view(botocore_update).substr(0, cut));
            BOOST_TEST(first.empty());
            const auto requests =
                requests_of(codec.receive(std::string_view(botocore_update).substr(cut)));
            BOOST_REQUIRE_EQUAL(requests.size(), 1U);
            check_same_request(requests[0], expected[0]);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_request_fed_one_byte_at_a_time_frames_once_at_its_last_byte) {
    ServerCodec codec;
    const auto events = feed(codec, botocore_update, 1);
    const auto requests = requests_of(events);
    BOOST_REQUIRE_EQUAL(requests.size(), 1U);
    BOOST_TEST(requests[0].body == R"({"state":{"desired":{"color":"red"}}})");
}

BOOST_AUTO_TEST_CASE(pipelined_requests_in_one_read_come_out_in_order) {
    ServerCodec codec;
    const std::string wire = simple_get + botocore_update + "DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n";
    const auto requests = requests_of(codec.receive(wire));
    BOOST_REQUIRE_EQUAL(requests.size(), 3U);
    BOOST_TEST(requests[0].method == "GET");
    BOOST_TEST(requests[1].method == "POST");
    BOOST_TEST(requests[1].body.size() == 37U);
    BOOST_TEST(requests[2].method == "DELETE");
}

BOOST_AUTO_TEST_CASE(pipelined_requests_split_at_every_byte_frame_identically) {
    const std::string wire = simple_get + botocore_update + simple_get;
    for (std::size_t step = 1; step <= 7; ++step) {
        ServerCodec codec;
        const auto requests = requests_of(feed(codec, wire, step));
        BOOST_TEST_CONTEXT("step " << step) {
            BOOST_REQUIRE_EQUAL(requests.size(), 3U);
            BOOST_TEST(requests[1].body.size() == 37U);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_chunked_body_is_reassembled_and_extensions_and_trailers_ignored) {
    ServerCodec codec;
    const auto requests = requests_of(codec.receive(
        "POST /topics/t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;name=value\r\nhello\r\nA\r\n, chunked!\r\n0\r\nX-Checksum: 1\r\n\r\n"));
    BOOST_REQUIRE_EQUAL(requests.size(), 1U);
    BOOST_TEST(requests[0].body == "hello, chunked!");
    BOOST_TEST(requests[0].header("x-checksum") == nullptr);
}

BOOST_AUTO_TEST_CASE(a_chunked_body_split_at_every_byte_is_reassembled) {
    const std::string wire =
        "POST /topics/t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n1f\r\n0123456789abcdefghijklmnopqrstu\r\n0\r\n\r\n" +
        simple_get;
    for (std::size_t cut = 1; cut < wire.size(); ++cut) {
        ServerCodec codec;
        auto events = codec.receive(std::string_view(wire).substr(0, cut));
        for (auto& e : codec.receive(std::string_view(wire).substr(cut))) {
            events.push_back(std::move(e));
        }
        const auto requests = requests_of(events);
        BOOST_TEST_CONTEXT("cut at " << cut) {
            BOOST_REQUIRE_EQUAL(requests.size(), 2U);
            BOOST_TEST(requests[0].body == "abc0123456789abcdefghijklmnopqrstu");
        }
    }
}

BOOST_AUTO_TEST_CASE(expect_100_continue_yields_an_interim_response_before_the_body) {
    ServerCodec codec;
    auto events = codec.receive(
        "POST /topics/t HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    BOOST_REQUIRE_EQUAL(events.size(), 1U);
    const auto* interim = std::get_if<Interim>(&events[0]);
    BOOST_REQUIRE(interim != nullptr);
    BOOST_TEST(interim->bytes == "HTTP/1.1 100 Continue\r\n\r\n");
    const auto requests = requests_of(codec.receive("hello"));
    BOOST_REQUIRE_EQUAL(requests.size(), 1U);
    BOOST_TEST(requests[0].body == "hello");
}

BOOST_AUTO_TEST_CASE(expect_100_continue_without_a_body_or_over_http_1_0_sends_no_interim) {
    ServerCodec a;
    auto events = a.receive("POST /t HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n");
    BOOST_REQUIRE_EQUAL(events.size(), 1U);
    BOOST_TEST(std::holds_alternative<Request>(events[0]));
    ServerCodec b;
    events = b.receive("POST /t HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx");
    BOOST_REQUIRE_EQUAL(events.size(), 1U);
    BOOST_TEST(std::holds_alternative<Request>(events[0]));
}

BOOST_AUTO_TEST_CASE(expect_100_continue_with_a_too_large_body_is_refused_without_continue) {
    ServerCodec codec;
    const auto events = codec.receive(
        "POST /t HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 999999\r\n\r\n");
    BOOST_REQUIRE_EQUAL(events.size(), 1U);
    BOOST_TEST(malformed_of(events).status == 413);
}

BOOST_AUTO_TEST_CASE(an_unknown_expectation_is_417) {
    BOOST_TEST(reject("POST /t HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n").status == 417);
}

BOOST_AUTO_TEST_CASE(connection_close_ends_the_stream_after_that_request) {
    ServerCodec codec;
    const auto events = codec.receive(
        "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" + simple_get);
    const auto requests = requests_of(events);
    BOOST_REQUIRE_EQUAL(events.size(), 1U);
    BOOST_TEST(!requests[0].keep_alive);
    BOOST_TEST(codec.done());
    BOOST_TEST(codec.receive(simple_get).empty());
}

BOOST_AUTO_TEST_CASE(http_1_0_closes_unless_keep_alive_is_asked_and_needs_no_host) {
    ServerCodec a;
    auto requests = requests_of(a.receive("GET / HTTP/1.0\r\n\r\n"));
    BOOST_REQUIRE_EQUAL(requests.size(), 1U);
    BOOST_TEST(requests[0].version_minor == 0);
    BOOST_TEST(!requests[0].keep_alive);
    BOOST_TEST(a.done());
    ServerCodec b;
    requests = requests_of(b.receive("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    BOOST_REQUIRE_EQUAL(requests.size(), 1U);
    BOOST_TEST(requests[0].keep_alive);
    BOOST_TEST(!b.done());
}

BOOST_AUTO_TEST_CASE(empty_lines_before_a_request_line_and_bare_lf_line_ends_are_tolerated) {
    ServerCodec codec;
    const auto requests = requests_of(codec.receive("\r\n\nGET /x HTTP/1.1\nHost: h\n\n"));
    BOOST_REQUIRE_EQUAL(requests.size(), 1U);
    BOOST_TEST(requests[0].path == "/x");
}

BOOST_AUTO_TEST_CASE(an_absolute_form_target_keeps_only_path_and_query) {
    ServerCodec codec;
    const auto requests =
        requests_of(codec.receive("GET http://example.com:8443/retainedMessage?maxResults=1 HTTP/1.1\r\nHost: h\r\n\r\n"));
    BOOST_REQUIRE_EQUAL(requests.size(), 1U);
    BOOST_TEST(requests[0].path == "/retainedMessage");
    BOOST_TEST(requests[0].query == "maxResults=1");
}

BOOST_AUTO_TEST_CASE(a_post_without_length_or_chunking_has_an_empty_body) {
    ServerCodec codec;
    const auto requests = requests_of(codec.receive("POST /topics/t HTTP/1.1\r\nHost: h\r\n\r\n" + simple_get));
    BOOST_REQUIRE_EQUAL(requests.size(), 2U);
    BOOST_TEST(requests[0].body.empty());
}

// ---- malformed input, by class: always one Malformed event, then nothing more is read.

BOOST_AUTO_TEST_CASE(garbage_and_broken_request_lines_are_400) {
    for (const std::string_view wire : std::initializer_list<std::string_view>{
          "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n"sv, "GET\r\n"sv, "GET /\r\n",
          "GET  / HTTP/1.1\r\n", "G(T / HTTP/1.1\r\n", "GET relative HTTP/1.1\r\n",
          "GET /a b HTTP/1.1\r\n", "GET /a#frag HTTP/1.1\r\n", "GET / HTTX/1.1\r\n",
          "GET / HTTP/1.1 \r\n", "GET /\x01 HTTP/1.1\r\n", "GET /\r HTTP/1.1\r\n"}) {
        BOOST_TEST_CONTEXT(wire) {
            const ApiError e = reject(wire);
            BOOST_TEST(e.status == 400);
            BOOST_TEST(e.type == "InvalidRequestException");
        }
    }
}

BOOST_AUTO_TEST_CASE(an_unsupported_http_version_is_505) {
    BOOST_TEST(reject("GET / HTTP/2.0\r\n\r\n").status == 505);
    BOOST_TEST(reject("GET / HTTP/1.2\r\n\r\n").status == 505);
}

BOOST_AUTO_TEST_CASE(a_request_line_beyond_its_limit_is_414_before_it_is_buffered) {
    CodecLimits limits;
    limits.request_line_bytes_max = 64;
    ServerCodec codec(limits);
    // 65 bytes without a newline: refused as soon as the limit is passed.
    const auto events = codec.receive("GET /" + std::string(60, 'a'));
    BOOST_REQUIRE_EQUAL(events.size(), 1U);
    BOOST_TEST(malformed_of(events).status == 414);
}

BOOST_AUTO_TEST_CASE(a_header_section_beyond_its_byte_or_field_limit_is_431) {
    CodecLimits bytes;
    bytes.header_bytes_max = 64;
    BOOST_TEST(reject("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(60, 'v') + "\r\n\r\n", bytes).status == 431);
    CodecLimits count;
    count.header_count_max = 3;
    BOOST_TEST(reject("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", count).status == 431);
    // Exactly at the limits is fine.
    ServerCodec ok(count);
    BOOST_TEST(requests_of(ok.receive("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n")).size() == 1U);
}

BOOST_AUTO_TEST_CASE(a_content_length_beyond_the_body_limit_is_413_before_any_body_arrives) {
    const ApiError e = reject("POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 147457\r\n\r\n");
    BOOST_TEST(e.status == 413);
    BOOST_TEST(e.type == "RequestEntityTooLargeException");
    BOOST_TEST(reject("POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n").status == 400);
}

BOOST_AUTO_TEST_CASE(a_body_exactly_at_the_limit_is_accepted) {
    CodecLimits limits;
    limits.body_bytes_max = 10;
    ServerCodec codec(limits);
    const auto requests =
        requests_of(codec.receive("POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789"));
    BOOST_REQUIRE_EQUAL(requests.size(), 1U);
}

BOOST_AUTO_TEST_CASE(chunks_adding_up_beyond_the_body_limit_are_413) {
    CodecLimits limits;
    limits.body_bytes_max = 10;
    BOOST_TEST(reject("POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n", limits).status == 413);
    BOOST_TEST(reject("POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\n", limits).status == 413);
}

BOOST_AUTO_TEST_CASE(malformed_chunked_framing_is_400) {
    const std::string head = "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (const std::string_view tail : {"\r\n", "x\r\n", "5 junk\r\n", "3\r\nabcX\r\n", "3\r\nabc\r\n0\r\nbad trailer\r\n"}) {
        BOOST_TEST_CONTEXT(tail) { BOOST_TEST(reject(head + std::string(tail)).status == 400); }
    }
}

BOOST_AUTO_TEST_CASE(conflicting_or_invalid_framing_headers_are_400) {
    for (const std::string_view headers :
         {"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n", "Content-Length: 1\r\nContent-Length: 2\r\n",
          "Content-Length: -1\r\n", "Content-Length: 1x\r\n", "Content-Length: \r\n", "Content-Length: 1, 2\r\n",
          "Transfer-Encoding: chunked, gzip\r\n", "Transfer-Encoding: chunked, chunked\r\n"}) {
        BOOST_TEST_CONTEXT(headers) {
            BOOST_TEST(reject("POST /t HTTP/1.1\r\nHost: h\r\n" + std::string(headers) + "\r\n").status == 400);
        }
    }
    // The same length twice is one length.
    ServerCodec codec;
    BOOST_TEST(requests_of(codec.receive("POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\nx")).size() == 1U);
}

BOOST_AUTO_TEST_CASE(a_transfer_coding_other_than_chunked_is_501) {
    BOOST_TEST(reject("POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").status == 501);
}

BOOST_AUTO_TEST_CASE(transfer_encoding_over_http_1_0_is_400) {
    BOOST_TEST(reject("POST /t HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n").status == 400);
}

BOOST_AUTO_TEST_CASE(an_http_1_1_request_without_exactly_one_host_is_400) {
    BOOST_TEST(reject("GET / HTTP/1.1\r\n\r\n").status == 400);
    BOOST_TEST(reject("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status == 400);
}

BOOST_AUTO_TEST_CASE(malformed_header_lines_are_400) {
    for (const std::string_view line :
         {"NoColon\r\n", "Bad Name: v\r\n", "Name : v\r\n", ": v\r\n", " folded: v\r\n",
          "X: a\x01z\r\n", "X: a\x7fz\r\n", "X: a\rb\r\n"}) {
        BOOST_TEST_CONTEXT(line) {
            BOOST_TEST(reject("GET / HTTP/1.1\r\nHost: h\r\n" + std::string(line) + "\r\n").status == 400);
        }
    }
}

BOOST_AUTO_TEST_CASE(requests_before_a_malformed_one_are_still_delivered) {
    ServerCodec codec;
    const auto events = codec.receive(simple_get + "BROKEN\r\n" + simple_get);
    BOOST_REQUIRE_EQUAL(events.size(), 2U);
    BOOST_TEST(std::holds_alternative<Request>(events[0]));
    BOOST_TEST(std::holds_alternative<Malformed>(events[1]));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(http_encode)

BOOST_AUTO_TEST_CASE(a_response_is_encoded_with_length_and_connection_byte_for_byte) {
    Response r;
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}, {"x-amzn-RequestId", "id-1"}};
    r.body = R"({"message":"OK"})";
    BOOST_TEST(encode_response(r, false) ==
               "HTTP/1.1 200 OK\r\n"
               "Content-Type: application/json\r\n"
               "x-amzn-RequestId: id-1\r\n"
               "Content-Length: 16\r\n"
               "Connection: keep-alive\r\n"
               "\r\n"
               R"({"message":"OK"})");
    BOOST_TEST(encode_response(r, true).find("Connection: close\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(framing_headers_given_by_the_caller_are_replaced_by_the_encoder) {
    Response r;
    r.status = 404;
    r.headers = {{"Content-Length", "999"}, {"Connection", "upgrade"}};
    r.body = "ab";
    BOOST_TEST(encode_response(r, true) ==
               "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab");
}

BOOST_AUTO_TEST_CASE(a_head_response_has_the_length_but_no_body) {
    Response r;
    r.body = "12345";
    EncodeOptions head;
    head.head = true;
    BOOST_TEST(encode_response(r, false, head) ==
               "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(the_date_header_is_the_given_wall_time_as_an_imf_fixdate) {
    BOOST_TEST(http_date(iotsim::WallTime{iotsim::seconds(t0_s)}) == "Thu, 01 Jan 2026 00:00:00 GMT");
    BOOST_TEST(http_date(iotsim::WallTime{iotsim::seconds(0)}) == "Thu, 01 Jan 1970 00:00:00 GMT");
    BOOST_TEST(http_date(iotsim::WallTime{iotsim::seconds(951782400 + 86399)}) == "Tue, 29 Feb 2000 23:59:59 GMT");
    Response r;
    EncodeOptions dated;
    dated.date = iotsim::WallTime{iotsim::seconds(t0_s + 61)};
    const std::string wire = encode_response(r, false, dated);
    BOOST_TEST(wire.find("Date: Thu, 01 Jan 2026 00:01:01 GMT\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
