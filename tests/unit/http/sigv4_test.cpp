// SigV4 verification (reference §5.2): AWS's published example signs to its published signature;
// a request signed with the right secret passes, and each way of getting it wrong is refused
// with AWS's error type.
#include <boost/test/unit_test.hpp>

#include "iotsim/http/sigv4.hpp"

namespace iotsim::test {
namespace {

using http::Request;

constexpr const char* example_secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// AWS's documented example: IAM ListUsers, 2015-08-30T12:36:00Z.
Request aws_example() {
    Request r;
    r.method = "GET";
    r.path = "/";
    r.query = "Action=ListUsers&Version=2010-05-08";
    r.target = "/?" + r.query;
    r.headers = {{"Host", "iam.amazonaws.com"},
                 {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                 {"X-Amz-Date", "20150830T123600Z"}};
    return r;
}

WallTime at(std::int64_t unix_s) { return WallTime{std::chrono::seconds(unix_s)}; }
constexpr std::int64_t example_time = 1440938160;  // 2015-08-30T12:36:00Z

/// A data-plane request signed for `secret` as botocore signs it.
Request signed_publish(const std::string& key_id, const std::string& secret, const std::string& amz_date,
                       const std::string& service = "iotdata") {
    Request r;
    r.method = "POST";
    r.path = "/topics/%24aws/rules/r1/a%20b";  // botocore percent-encodes the topic once
    r.query = "qos=1";
    r.target = r.path + "?" + r.query;
    r.body = R"({"temp":21})";
    r.headers = {{"Host", "127.0.0.1:8080"}, {"X-Amz-Date", amz_date}, {"User-Agent", "  boto3   test  "}};
    const std::string sig = http::sigv4_signature(r, "host;user-agent;x-amz-date", amz_date, secret, "us-east-1", service);
    r.headers.push_back({"Authorization", "AWS4-HMAC-SHA256 Credential=" + key_id + "/" + amz_date.substr(0, 8) +
                                              "/us-east-1/" + service +
                                              "/aws4_request, SignedHeaders=host;user-agent;x-amz-date, Signature=" + sig});
    return r;
}

http::SigV4Options with_key() {
    http::SigV4Options o;
    o.secrets = {{"AKIDEXAMPLE", "secret-one"}};
    return o;
}

std::string refusal(const Request& r, const http::SigV4Options& o, WallTime now) {
    auto e = http::verify_sigv4(r, o, now);
    return e ? e->type : "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sigv4)

BOOST_AUTO_TEST_CASE(the_aws_documentation_example_signs_to_its_published_signature) {
    BOOST_TEST(http::sigv4_signature(aws_example(), "content-type;host;x-amz-date", "20150830T123600Z", example_secret,
                                     "us-east-1", "iam") ==
               "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

BOOST_AUTO_TEST_CASE(a_request_signed_with_a_known_secret_is_admitted_for_each_data_and_control_plane_service) {
    for (const char* service : {"iot", "iotdata", "iotdevicegateway"}) {
        BOOST_TEST_CONTEXT(service) {
            const Request r = signed_publish("AKIDEXAMPLE", "secret-one", "20261126T120000Z", service);
            BOOST_TEST(!http::verify_sigv4(r, with_key(), at(1795694400)).has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(without_configured_secrets_every_request_is_admitted) {
    Request bare;
    bare.method = "GET";
    bare.path = "/things/lamp/shadow";
    BOOST_TEST(!http::verify_sigv4(bare, http::SigV4Options{}, at(0)).has_value());
}

BOOST_AUTO_TEST_CASE(each_way_of_getting_the_signature_wrong_is_refused_with_awss_error_type) {
    const WallTime now = at(1795694400);  // 2026-11-26T12:00:00Z
    Request unsigned_request = signed_publish("AKIDEXAMPLE", "secret-one", "20261126T120000Z");
    unsigned_request.headers.pop_back();
    BOOST_TEST(refusal(unsigned_request, with_key(), now) == "MissingAuthenticationTokenException");
    BOOST_TEST(refusal(signed_publish("AKIDOTHER", "secret-one", "20261126T120000Z"), with_key(), now) ==
               "UnrecognizedClientException");
    BOOST_TEST(refusal(signed_publish("AKIDEXAMPLE", "wrong-secret", "20261126T120000Z"), with_key(), now) ==
               "InvalidSignatureException");
    // A changed body, query or signed header after signing.
    Request tampered = signed_publish("AKIDEXAMPLE", "secret-one", "20261126T120000Z");
    tampered.body = R"({"temp":99})";
    BOOST_TEST(refusal(tampered, with_key(), now) == "InvalidSignatureException");
    // ... also when the request claims the original body's hash in X-Amz-Content-Sha256 (unsigned
    // header, as botocore sends it): the verifier hashes the body it received.
    tampered = signed_publish("AKIDEXAMPLE", "secret-one", "20261126T120000Z");
    tampered.headers.push_back({"X-Amz-Content-Sha256", "1f9dc84f6e60fad5ecf6943ec7064836acacd6f7dbe7f9348f32519aedab4972"});
    tampered.body = R"({"temp":99})";
    BOOST_TEST(refusal(tampered, with_key(), now) == "InvalidSignatureException");
    tampered = signed_publish("AKIDEXAMPLE", "secret-one", "20261126T120000Z");
    tampered.query = "qos=0";
    BOOST_TEST(refusal(tampered, with_key(), now) == "InvalidSignatureException");
    // 16 minutes of clock skew either way.
    BOOST_TEST(refusal(signed_publish("AKIDEXAMPLE", "secret-one", "20261126T114400Z"), with_key(), now) ==
               "InvalidSignatureException");
    BOOST_TEST(refusal(signed_publish("AKIDEXAMPLE", "secret-one", "20261126T121600Z"), with_key(), now) ==
               "InvalidSignatureException");
    BOOST_TEST(refusal(signed_publish("AKIDEXAMPLE", "secret-one", "20261126T121400Z"), with_key(), now) == "");
    // Another service or region in the scope.
    BOOST_TEST(refusal(signed_publish("AKIDEXAMPLE", "secret-one", "20261126T120000Z", "s3"), with_key(), now) ==
               "InvalidSignatureException");
    // Malformed headers.
    Request malformed = signed_publish("AKIDEXAMPLE", "secret-one", "20261126T120000Z");
    malformed.headers.back().value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/iotdata";
    BOOST_TEST(refusal(malformed, with_key(), now) == "IncompleteSignatureException");
    malformed.headers.back().value = "Basic dXNlcjpwYXNz";
    BOOST_TEST(refusal(malformed, with_key(), now) == "IncompleteSignatureException");
    Request no_date = signed_publish("AKIDEXAMPLE", "secret-one", "20261126T120000Z");
    no_date.headers.erase(no_date.headers.begin() + 1);
    BOOST_TEST(refusal(no_date, with_key(), now) == "IncompleteSignatureException");
    BOOST_TEST(http::verify_sigv4(no_date, with_key(), now)->status == 403);
    // A date out of any sane range (found by fuzz_http: year 1013 overflowed the clock type).
    for (const char* date : {"10130563T155516Z", "20261326T120000Z", "20261126T250000Z", "2026112XT120000Z"}) {
        BOOST_TEST_CONTEXT(date) {
            Request odd = signed_publish("AKIDEXAMPLE", "secret-one", date);
            BOOST_TEST(refusal(odd, with_key(), now) == "IncompleteSignatureException");
        }
    }
}

BOOST_AUTO_TEST_CASE(dot_segments_are_removed_and_the_path_is_encoded_again_as_botocore_does) {
    // "/a/./b/../c%20d" is signed as "/a/c%2520d": both requests carry the same signature.
    Request a;
    a.method = "GET";
    a.path = "/a/./b/../c%20d";
    a.headers = {{"host", "h"}, {"x-amz-date", "20261126T120000Z"}};
    Request b = a;
    b.path = "/a/c%20d";
    BOOST_TEST(http::sigv4_signature(a, "host;x-amz-date", "20261126T120000Z", "s", "us-east-1", "iot") ==
               http::sigv4_signature(b, "host;x-amz-date", "20261126T120000Z", "s", "us-east-1", "iot"));
    Request c = b;
    c.path = "/a/c d";
    BOOST_TEST(http::sigv4_signature(b, "host;x-amz-date", "20261126T120000Z", "s", "us-east-1", "iot") !=
               http::sigv4_signature(c, "host;x-amz-date", "20261126T120000Z", "s", "us-east-1", "iot"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace iotsim::test
