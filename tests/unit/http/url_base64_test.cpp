// Percent-decoding (RFC 3986 §2.1) of paths and query strings as botocore encodes them, and the
// base64 of blobs and MQTT 5 headers (RFC 4648 §4).
#include <optional>
#include <string>

#include "http_harness.hpp"
#include "iotsim/http/base64.hpp"
#include "iotsim/http/url.hpp"

using namespace iotsim::http;

BOOST_AUTO_TEST_SUITE(http_url)

BOOST_AUTO_TEST_CASE(percent_escapes_decode_in_either_case_and_plus_stays_literal) {
    BOOST_TEST(percent_decode("sensors%2Froom%201%2ftemp").value() == "sensors/room 1/temp");
    BOOST_TEST(percent_decode("a+b").value() == "a+b");
    BOOST_TEST(percent_decode("%24aws%2Fthings").value() == "$aws/things");
    BOOST_TEST(percent_decode("%E2%82%AC").value() == "\xE2\x82\xAC");
    BOOST_TEST(percent_decode("").value().empty());
}

BOOST_AUTO_TEST_CASE(truncated_or_non_hex_escapes_are_refused) {
    for (const char* text : {"%", "%2", "a%2", "%zz", "%2g", "%%41"}) {
        BOOST_TEST_CONTEXT(text) { BOOST_TEST(!percent_decode(text).has_value()); }
    }
}

BOOST_AUTO_TEST_CASE(a_query_splits_into_decoded_pairs_in_order) {
    const auto params = parse_query("qos=1&retain=true&contentType=application%2Fjson&flag&&x=");
    BOOST_REQUIRE(params.has_value());
    BOOST_REQUIRE_EQUAL(params->size(), 5U);
    BOOST_TEST((*params)[2].name == "contentType");
    BOOST_TEST((*params)[2].value == "application/json");
    BOOST_TEST((*params)[3].name == "flag");
    BOOST_TEST((*params)[3].value.empty());
    BOOST_TEST(*find_param(*params, "qos") == "1");
    BOOST_TEST(find_param(*params, "QOS") == nullptr);
    BOOST_TEST(!parse_query("a=%zz").has_value());
}

BOOST_AUTO_TEST_CASE(the_first_of_repeated_parameters_wins) {
    const auto params = parse_query("qos=0&qos=1");
    BOOST_REQUIRE(params.has_value());
    BOOST_TEST(*find_param(*params, "qos") == "0");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(http_base64)

BOOST_AUTO_TEST_CASE(encoding_matches_rfc_4648_test_vectors) {
    BOOST_TEST(base64_encode("") == "");
    BOOST_TEST(base64_encode("f") == "Zg==");
    BOOST_TEST(base64_encode("fo") == "Zm8=");
    BOOST_TEST(base64_encode("foo") == "Zm9v");
    BOOST_TEST(base64_encode("foob") == "Zm9vYg==");
    BOOST_TEST(base64_encode("fooba") == "Zm9vYmE=");
    BOOST_TEST(base64_encode("foobar") == "Zm9vYmFy");
    BOOST_TEST(base64_encode(std::string("\xff\xfe\x00", 3)) == "//4A");
}

BOOST_AUTO_TEST_CASE(decoding_inverts_encoding_with_or_without_padding) {
    BOOST_TEST(base64_decode("Zm9vYmE=").value() == "fooba");
    BOOST_TEST(base64_decode("Zm9vYmE").value() == "fooba");
    BOOST_TEST(base64_decode("Zg==").value() == "f");
    BOOST_TEST(base64_decode("//4A").value() == std::string("\xff\xfe\x00", 3));
    BOOST_TEST(base64_decode("").value().empty());
    // The header boto3 sends for userProperties='[{"k":"v"}]' given as a list.
    BOOST_TEST(base64_decode("W3siayI6InYifV0=").value() == R"([{"k":"v"}])");
}

BOOST_AUTO_TEST_CASE(invalid_base64_is_refused) {
    for (const char* text : {"Z", "Zm9v!", "Zm 9v", "Zg=", "Zg===", "=Zg=", "Zh==", "-_8A"}) {
        BOOST_TEST_CONTEXT(text) { BOOST_TEST(!base64_decode(text).has_value()); }
    }
}

BOOST_AUTO_TEST_SUITE_END()
