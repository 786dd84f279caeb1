// Who may call (reference §5): with SigV4 secrets configured, an unsigned request is refused
// unless the transport authenticated a client certificate (HTTPS, AWS's port 8443); such a
// request reaches only the iot-data routes, and the Authorize hook sees its certificate.

#include "http_harness.hpp"

namespace iotsim::http::test {
namespace {

struct CallerFixture {
    CallerFixture() : rng(7), router(plane, rng, options()) {
        router.set_front([this](const Request& request, Now) -> std::optional<Response> {
            if (request.path != "/control") {
                return std::nullopt;
            }
            ++front_calls;
            Response answered;
            answered.body = "front";
            return answered;
        });
        router.set_authorize([this](const AuthorizeRequest& request) -> std::optional<ApiError> {
            seen.push_back(request.certificate_id);
            seen_address = request.address;
            if (request.certificate_id == "denied") {
                return ApiError{403, "ForbiddenException", "Forbidden"};
            }
            return std::nullopt;
        });
    }

    static RouterOptions options() {
        RouterOptions o;
        o.sigv4.secrets = {{"AKIDLOCAL", "secret"}};
        return o;
    }

    Response get(std::string path, Caller caller, bool with_authorization = false) {
        Request r;
        r.method = "GET";
        r.path = std::move(path);
        r.target = r.path;
        r.headers = {{"Host", "localhost"}};
        if (with_authorization) {
            r.headers.push_back({"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20260101/us-east-1/iotdata/"
                                                  "aws4_request, SignedHeaders=host, Signature=00"});
        }
        return router.handle(r, now_at_s(t0_s), caller);
    }

    TestDataPlane plane;
    Rng rng;
    Router router;
    int front_calls = 0;
    std::vector<std::string> seen;
    std::string seen_address;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(router_caller)

BOOST_FIXTURE_TEST_CASE(an_unsigned_request_without_a_certificate_is_refused_before_any_route, CallerFixture) {
    const Response r = get("/things/lamp/shadow", {});
    BOOST_TEST(r.status == 403);
    BOOST_TEST(*r.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException");
    BOOST_TEST(seen.empty());
}

BOOST_FIXTURE_TEST_CASE(an_unsigned_request_with_a_certificate_reaches_iot_data_and_the_hook_sees_the_certificate,
                        CallerFixture) {
    const Response r = get("/things/lamp/shadow", {"cert-1", "192.0.2.7", nullptr});
    BOOST_TEST(r.status == 404);  // routed: the shadow does not exist
    BOOST_TEST(*r.header("x-amzn-ErrorType") == "ResourceNotFoundException");
    BOOST_REQUIRE_EQUAL(seen.size(), 1U);
    BOOST_TEST(seen[0] == "cert-1");
    BOOST_TEST(seen_address == "192.0.2.7");  // the policies' aws:SourceIp
    const Response denied = get("/things/lamp/shadow", {"denied", "192.0.2.7", nullptr});
    BOOST_TEST(denied.status == 403);
    BOOST_TEST(*denied.header("x-amzn-ErrorType") == "ForbiddenException");
}

BOOST_FIXTURE_TEST_CASE(a_certificate_never_reaches_the_front_which_takes_sigv4_only, CallerFixture) {
    const Response r = get("/control", {"cert-1", "192.0.2.7", nullptr});
    BOOST_TEST(front_calls == 0);
    BOOST_TEST(r.status == 404);
}

BOOST_FIXTURE_TEST_CASE(a_signed_request_is_verified_as_sigv4_even_with_a_certificate, CallerFixture) {
    const Response r = get("/things/lamp/shadow", {"cert-1", "192.0.2.7", nullptr}, /*with_authorization=*/true);
    BOOST_TEST(r.status == 403);  // the signature is wrong: the certificate does not rescue it
    BOOST_TEST(*r.header("x-amzn-ErrorType") != "ForbiddenException");
    BOOST_TEST(seen.empty());
}

BOOST_FIXTURE_TEST_CASE(an_unsigned_request_the_custom_authorizer_wants_waits_for_its_decision, CallerFixture) {
    router.set_custom_auth([](const Request& r) { return r.header("x-amz-customauthorizer-name") != nullptr; });
    std::vector<bool> decided;
    router.set_authorize([&](const AuthorizeRequest& request) -> std::optional<ApiError> {
        decided.push_back(request.custom != nullptr);
        if (request.custom && !*std::static_pointer_cast<const bool>(request.custom)) {
            return ApiError{401, "UnauthorizedException", "Unauthorized"};
        }
        return std::nullopt;
    });
    HttpConnection connection(router);
    const std::string named = "GET /things/lamp/shadow HTTP/1.1\r\nHost: localhost\r\n"
                              "x-amz-customauthorizer-name: my-auth\r\n\r\n";
    // The second request arrives pipelined behind the first: it waits too.
    ConnectionOutput out = connection.receive(named + named, now_at_s(t0_s));
    BOOST_TEST(out.bytes.empty());
    BOOST_REQUIRE(out.custom_auth_request.has_value());
    BOOST_TEST(out.custom_auth_request->path == "/things/lamp/shadow");
    BOOST_TEST(connection.authorizing());
    BOOST_TEST(connection.receive("", now_at_s(t0_s)).bytes.empty());  // nothing moves meanwhile
    // Allowed: the first is answered, the second now waits for its own decision.
    out = connection.resume(std::make_shared<const bool>(true), now_at_s(t0_s));
    BOOST_TEST(out.bytes.starts_with("HTTP/1.1 404"));  // the test plane has no such shadow
    BOOST_TEST(out.custom_auth_request.has_value());
    out = connection.resume(std::make_shared<const bool>(false), now_at_s(t0_s));
    BOOST_TEST(out.bytes.starts_with("HTTP/1.1 401"));
    BOOST_TEST(!connection.authorizing());
    BOOST_TEST(decided == (std::vector<bool>{true, true}), boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(requests_behind_a_deferred_one_and_an_upgrade_keep_their_order_and_own_credentials,
                        CallerFixture) {
    router.set_custom_auth([](const Request& r) { return r.header("x-amz-customauthorizer-name") != nullptr; });
    int with_grant = 0;
    router.set_authorize([&](const AuthorizeRequest& request) -> std::optional<ApiError> {
        with_grant += request.custom != nullptr ? 1 : 0;
        return std::nullopt;
    });
    HttpConnection connection(router);
    const std::string deferred = "GET /things/a/shadow HTTP/1.1\r\nHost: h\r\nx-amz-customauthorizer-name: x\r\n\r\n";
    // An unsigned upgrade (refused: no SigV4, no custom authorizer for WebSockets here), then a
    // plain unsigned request.
    const std::string upgrade = "GET /mqtt HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                                "Sec-WebSocket-Protocol: mqtt\r\n\r\n";
    const std::string trailing = "GET /things/b/shadow HTTP/1.1\r\nHost: h\r\n\r\n";
    ConnectionOutput out = connection.receive(deferred + upgrade + trailing, now_at_s(t0_s));
    BOOST_REQUIRE(out.custom_auth_request.has_value());
    out = connection.resume(std::make_shared<const bool>(true), now_at_s(t0_s));
    // Three answers, in request order: the deferred one (404 from the test plane), the refused
    // upgrade (403), the trailing one (403: it has no credentials of its own).
    std::vector<std::string> statuses;
    for (std::size_t at = out.bytes.find("HTTP/1.1 "); at != std::string::npos; at = out.bytes.find("HTTP/1.1 ", at + 1)) {
        statuses.push_back(out.bytes.substr(at + 9, 3));
    }
    BOOST_TEST(statuses == (std::vector<std::string>{"404", "403", "403"}), boost::test_tools::per_element());
    BOOST_TEST(with_grant == 1);  // only the deferred request ran with the authorizer's decision
}

BOOST_FIXTURE_TEST_CASE(a_request_the_custom_authorizer_does_not_want_still_needs_sigv4, CallerFixture) {
    router.set_custom_auth([](const Request& r) { return r.header("x-amz-customauthorizer-name") != nullptr; });
    const Response r = get("/things/lamp/shadow", {});
    BOOST_TEST(!r.custom_auth_pending);
    BOOST_TEST(*r.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace iotsim::http::test
