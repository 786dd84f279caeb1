// Publish over HTTPS (reference §1.14; botocore iot-data model `POST /topics/{topic}`): query
// parameters, MQTT 5 headers, AWS's topic and payload limits.
#include <string>

#include "http_harness.hpp"
#include "iotsim/http/base64.hpp"

using namespace iotsim::http;
using namespace iotsim::http::test;

namespace {

// What boto3 1.43 sends for publish(topic="sensors/room 1/temp", qos=1, retain=True,
// payload=b'{"t":21.5}', contentType="application/json", responseTopic="reply/to",
// messageExpiry=60, userProperties='[{"deviceName":"alpha"},{"deviceCnt":"45"}]',
// payloadFormatIndicator="UTF8_DATA", correlationData="Y29ycg=="), captured from the wire.
const std::string botocore_publish =
    "POST /topics/sensors%2Froom%201%2Ftemp?qos=1&retain=true&contentType=application%2Fjson"
    "&responseTopic=reply%2Fto&messageExpiry=60 HTTP/1.1\r\n"
    "Host: 127.0.0.1:36989\r\n"
    "Accept-Encoding: identity\r\n"
    "x-amz-mqtt5-user-properties: "
    "Ilt7XCJkZXZpY2VOYW1lXCI6XCJhbHBoYVwifSx7XCJkZXZpY2VDbnRcIjpcIjQ1XCJ9XSI=\r\n"
    "x-amz-mqtt5-payload-format-indicator: UTF8_DATA\r\n"
    "x-amz-mqtt5-correlation-data: Y29ycg==\r\n"
    "User-Agent: Boto3/1.43.11 md/Botocore#1.43.11\r\n"
    "X-Amz-Date: 20261126T155516Z\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/iotdata/"
    "aws4_request, SignedHeaders=host;x-amz-date, Signature=4c394591\r\n"
    "amz-sdk-invocation-id: d67f5a31-2a0b-4679-8782-c3637fe1167e\r\n"
    "amz-sdk-request: attempt=1\r\n"
    "Content-Length: 10\r\n"
    "\r\n"
    R"({"t":21.5})";

}  // namespace

BOOST_AUTO_TEST_SUITE(http_router_publish)

BOOST_AUTO_TEST_CASE(a_botocore_publish_becomes_one_message_with_every_mqtt5_property) {
    Fixture f;
    const Parsed r = f.one(botocore_publish);
    BOOST_TEST(r.status_line == "HTTP/1.1 200 OK");
    BOOST_TEST(r.body == R"({"message":"OK","traceId":")" + r.header("x-amzn-RequestId") + "\"}");
    BOOST_REQUIRE_EQUAL(f.plane.published.size(), 1U);
    const iotsim::broker::Message& m = f.plane.published[0];
    BOOST_TEST(m.topic == "sensors/room 1/temp");
    BOOST_TEST(m.payload == R"({"t":21.5})");
    BOOST_TEST(static_cast<int>(m.qos) == 1);
    BOOST_TEST(m.retain);
    BOOST_TEST(m.publisher.empty());
    BOOST_TEST(m.from_v5);
    BOOST_TEST(m.properties.content_type.value() == "application/json");
    BOOST_TEST(m.properties.response_topic.value() == "reply/to");
    BOOST_TEST(m.properties.payload_format_indicator.value() == 1);
    BOOST_TEST(m.properties.correlation_data.value() == "corr");
    BOOST_REQUIRE_EQUAL(m.properties.user_properties.size(), 2U);
    BOOST_TEST(m.properties.user_properties[0].key == "deviceName");
    BOOST_TEST(m.properties.user_properties[0].value == "alpha");
    BOOST_TEST(m.properties.user_properties[1].key == "deviceCnt");
    BOOST_TEST(m.properties.user_properties[1].value == "45");
    BOOST_REQUIRE(m.expires_at.has_value());
    BOOST_TEST(m.expires_at->unix_s() == t0_s + 60);
}

BOOST_AUTO_TEST_CASE(defaults_are_qos_0_no_retain_no_expiry_and_no_properties) {
    Fixture f;
    BOOST_TEST(f.call("POST", "/topics/a", "x").status == 200);
    BOOST_REQUIRE_EQUAL(f.plane.published.size(), 1U);
    const auto& m = f.plane.published[0];
    BOOST_TEST(static_cast<int>(m.qos) == 0);
    BOOST_TEST(!m.retain);
    BOOST_TEST(!m.expires_at.has_value());
    BOOST_TEST((m.properties == iotsim::mqtt::Properties{}));
}

BOOST_AUTO_TEST_CASE(a_literal_slash_and_an_encoded_slash_name_the_same_topic) {
    Fixture f;
    BOOST_TEST(f.call("POST", "/topics/device/message?qos=1", "1").status == 200);
    BOOST_TEST(f.call("POST", "/topics/device%2Fmessage?qos=1", "2").status == 200);
    BOOST_REQUIRE_EQUAL(f.plane.published.size(), 2U);
    BOOST_TEST(f.plane.published[0].topic == "device/message");
    BOOST_TEST(f.plane.published[1].topic == "device/message");
}

BOOST_AUTO_TEST_CASE(an_empty_body_is_an_empty_payload) {
    Fixture f;
    BOOST_TEST(f.call("POST", "/topics/a").status == 200);
    BOOST_REQUIRE_EQUAL(f.plane.published.size(), 1U);
    BOOST_TEST(f.plane.published[0].payload.empty());
}

BOOST_AUTO_TEST_CASE(user_properties_sent_as_a_plain_json_array_are_accepted_as_the_cli_sends_them) {
    Fixture f;
    const std::string header = "x-amz-mqtt5-user-properties: " + base64_encode(R"([{"deviceName":"alpha"}])") + "\r\n";
    BOOST_TEST(f.call("POST", "/topics/a%2Fb?qos=1", "hello", header).status == 200);
    BOOST_REQUIRE_EQUAL(f.plane.published.size(), 1U);
    BOOST_REQUIRE_EQUAL(f.plane.published[0].properties.user_properties.size(), 1U);
    BOOST_TEST(f.plane.published[0].properties.user_properties[0].value == "alpha");
}

BOOST_AUTO_TEST_CASE(a_qos_other_than_0_or_1_is_400) {
    Fixture f;
    for (const char* qos : {"2", "-1", "01", "x", ""}) {
        BOOST_TEST_CONTEXT(qos) {
            check_error(f.call("POST", std::string("/topics/a?qos=") + qos, "x"), 400, "InvalidRequestException",
                        "Invalid qos: must be 0 or 1");
        }
    }
    BOOST_TEST(f.plane.published.empty());
}

BOOST_AUTO_TEST_CASE(retain_must_be_a_boolean) {
    Fixture f;
    check_error(f.call("POST", "/topics/a?retain=yes", "x"), 400, "InvalidRequestException",
                "Invalid retain: must be true or false");
    BOOST_TEST(f.call("POST", "/topics/a?retain=FALSE", "x").status == 200);
}

BOOST_AUTO_TEST_CASE(message_expiry_is_clamped_to_1_second_through_7_days) {
    Fixture f;
    BOOST_TEST(f.call("POST", "/topics/a?messageExpiry=0", "x").status == 200);
    BOOST_TEST(f.call("POST", "/topics/a?messageExpiry=99999999", "x").status == 200);
    BOOST_REQUIRE_EQUAL(f.plane.published.size(), 2U);
    BOOST_TEST(f.plane.published[0].expires_at->unix_s() == t0_s + 1);
    BOOST_TEST(f.plane.published[1].expires_at->unix_s() == t0_s + 604800);
    check_error(f.call("POST", "/topics/a?messageExpiry=-5", "x"), 400, "InvalidRequestException",
                "Invalid messageExpiry");
    check_error(f.call("POST", "/topics/a?messageExpiry=1e3", "x"), 400, "InvalidRequestException",
                "Invalid messageExpiry");
}

BOOST_AUTO_TEST_CASE(wildcards_empty_and_non_utf8_topics_are_400) {
    Fixture f;
    for (const char* target : {"/topics/a%2F%2B%2Fb", "/topics/a%2F%23", "/topics/a%23", "/topics/",
                               "/topics/%FF", "/topics/a%00b"}) {
        BOOST_TEST_CONTEXT(target) {
            check_error(f.call("POST", target, "x"), 400, "InvalidRequestException", "Invalid topic name");
        }
    }
    BOOST_TEST(f.plane.published.empty());
}

BOOST_AUTO_TEST_CASE(topics_beyond_256_bytes_or_7_slashes_are_400_but_basic_ingest_prefixes_do_not_count) {
    Fixture f;
    const std::string msg = "Topic exceeds 256 bytes or 7 forward slashes";
    check_error(f.call("POST", "/topics/" + std::string(257, 'a'), "x"), 400, "InvalidRequestException", msg);
    check_error(f.call("POST", "/topics/1/2/3/4/5/6/7/8/9", "x"), 400, "InvalidRequestException", msg);
    BOOST_TEST(f.call("POST", "/topics/" + std::string(256, 'a'), "x").status == 200);
    BOOST_TEST(f.call("POST", "/topics/1/2/3/4/5/6/7/8", "x").status == 200);
    BOOST_TEST(f.call("POST", "/topics/$aws/rules/r/1/2/3/4/5/6/7/8", "x").status == 200);
}

BOOST_AUTO_TEST_CASE(reserved_topics_other_than_shadow_and_basic_ingest_are_400) {
    Fixture f;
    check_error(f.call("POST", "/topics/%24aws%2Fevents%2Fpresence%2Fconnected%2Fx", "x"), 400,
                "InvalidRequestException", "Publish to a reserved topic is not allowed");
    check_error(f.call("POST", "/topics/$SYS/x", "x"), 400, "InvalidRequestException",
                "Publish to a reserved topic is not allowed");
    check_error(f.call("POST", "/topics/$aws/rules/", "x"), 400, "InvalidRequestException",
                "Publish to a reserved topic is not allowed");
    BOOST_TEST(f.call("POST", "/topics/%24aws%2Fthings%2Flamp%2Fshadow%2Fupdate", "{}").status == 200);
    BOOST_TEST(f.call("POST", "/topics/$aws/rules/myRule", "{}").status == 200);
}

BOOST_AUTO_TEST_CASE(a_retained_publish_to_a_reserved_topic_is_400) {
    Fixture f;
    check_error(f.call("POST", "/topics/$aws/things/lamp/shadow/update?retain=true", "{}"), 400,
                "InvalidRequestException", "Retained publish to a reserved topic is not allowed");
}

BOOST_AUTO_TEST_CASE(a_payload_beyond_128_kb_is_413_and_exactly_128_kb_is_accepted) {
    Fixture f;
    BOOST_TEST(f.call("POST", "/topics/a", std::string(131072, 'p')).status == 200);
    check_error(f.call("POST", "/topics/a", std::string(131073, 'p')), 413, "RequestEntityTooLargeException",
                "The payload exceeds the maximum size allowed");
    BOOST_TEST(f.plane.published.size() == 1U);
}

BOOST_AUTO_TEST_CASE(invalid_mqtt5_headers_and_response_topics_are_400) {
    Fixture f;
    check_error(f.call("POST", "/topics/a", "x", "x-amz-mqtt5-payload-format-indicator: TEXT\r\n"), 400,
                "InvalidRequestException", "Invalid payloadFormatIndicator");
    check_error(f.call("POST", "/topics/a", "x", "x-amz-mqtt5-correlation-data: not base64!\r\n"), 400,
                "InvalidRequestException", "Invalid correlationData: must be base64");
    for (const std::string json_text : {R"({"k":"v"})", R"([{"k":1}])", R"(["k"])", "not json", R"([[[[[[{"k":"v"}]]]]]])"}) {
        BOOST_TEST_CONTEXT(json_text) {
            check_error(f.call("POST", "/topics/a", "x", "x-amz-mqtt5-user-properties: " + base64_encode(json_text) + "\r\n"),
                        400, "InvalidRequestException", "Invalid userProperties");
        }
    }
    check_error(f.call("POST", "/topics/a?responseTopic=r%2F%2B", "x"), 400, "InvalidRequestException",
                "Invalid responseTopic");
    BOOST_TEST(f.plane.published.empty());
}

BOOST_AUTO_TEST_CASE(a_data_plane_error_is_answered_as_is) {
    Fixture f;
    f.plane.publish_error = api_error(429, "Rate exceeded");
    check_error(f.call("POST", "/topics/a", "x"), 429, "ThrottlingException", "Rate exceeded");
}

BOOST_AUTO_TEST_CASE(get_on_a_topic_path_is_405) {
    Fixture f;
    check_error(f.call("GET", "/topics/a"), 405, "MethodNotAllowedException", "Method Not Allowed");
}

BOOST_AUTO_TEST_SUITE_END()
