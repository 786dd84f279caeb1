// ListRetainedMessages and GetRetainedMessage (reference §1.8; botocore iot-data model).
#include <memory>
#include <string>

#include "http_harness.hpp"
#include "iotsim/http/base64.hpp"

using namespace iotsim::http;
using namespace iotsim::http::test;

namespace {

void retain(Fixture& f, const std::string& topic, const std::string& payload, int qos = 1,
            std::vector<iotsim::mqtt::UserProperty> user = {}) {
    iotsim::broker::Message m;
    m.topic = topic;
    m.payload = payload;
    m.qos = static_cast<iotsim::mqtt::QoS>(qos);
    m.retain = true;
    m.properties.user_properties = std::move(user);
    f.plane.retained[topic] = iotsim::broker::RetainedMessage{
        std::make_shared<const iotsim::broker::Message>(std::move(m)),
        iotsim::WallTime{iotsim::milliseconds(t0_s * 1000 + 250)}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_router_retained)

BOOST_AUTO_TEST_CASE(list_retained_messages_returns_topic_size_qos_and_epoch_ms) {
    Fixture f;
    retain(f, "a/b", "hello", 1);
    retain(f, "c", "", 0);
    const Parsed r = f.call("GET", "/retainedMessage");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.header("Content-Type") == "application/json");
    BOOST_TEST(r.body ==
               R"({"retainedTopics":[{"lastModifiedTime":1767225600250,"payloadSize":5,"qos":1,"topic":"a/b"},)"
               R"({"lastModifiedTime":1767225600250,"payloadSize":0,"qos":0,"topic":"c"}]})");
    BOOST_TEST(f.plane.last_max_results == 50);
}

BOOST_AUTO_TEST_CASE(list_retained_messages_pages_with_max_results_and_next_token) {
    Fixture f;
    for (const char* t : {"t1", "t2", "t3"}) {
        retain(f, t, "x");
    }
    const json page1 = f.call("GET", "/retainedMessage?maxResults=2").body_json();
    BOOST_TEST(page1["retainedTopics"].size() == 2U);
    BOOST_TEST(page1["nextToken"] == "t2");
    const json page2 = f.call("GET", "/retainedMessage?maxResults=2&nextToken=t2").body_json();
    BOOST_TEST(page2["retainedTopics"].size() == 1U);
    BOOST_TEST(page2["retainedTopics"][0]["topic"] == "t3");
    BOOST_TEST(!page2.contains("nextToken"));
}

BOOST_AUTO_TEST_CASE(max_results_outside_1_to_200_is_400_and_a_bad_token_is_the_data_planes_400) {
    Fixture f;
    for (const char* q : {"maxResults=0", "maxResults=201", "maxResults=ten"}) {
        BOOST_TEST_CONTEXT(q) {
            check_error(f.call("GET", std::string("/retainedMessage?") + q), 400, "InvalidRequestException",
                        "Invalid maxResults: must be 1 to 200");
        }
    }
    BOOST_TEST(f.call("GET", "/retainedMessage?maxResults=200").status == 200);
    check_error(f.call("GET", "/retainedMessage?nextToken=nope"), 400, "InvalidRequestException", "Invalid nextToken");
}

BOOST_AUTO_TEST_CASE(get_retained_message_returns_base64_payload_and_user_properties) {
    Fixture f;
    retain(f, "sensors/room 1/temp", std::string("\x00\xff{}", 4), 1, {{"deviceName", "alpha"}, {"deviceCnt", "45"}});
    const Parsed r = f.call("GET", "/retainedMessage/sensors%2Froom%201%2Ftemp");
    BOOST_TEST(r.status == 200);
    const json body = r.body_json();
    BOOST_TEST(body["topic"] == "sensors/room 1/temp");
    BOOST_TEST(body["payload"] == base64_encode(std::string("\x00\xff{}", 4)));
    BOOST_TEST(body["qos"] == 1);
    BOOST_TEST(body["lastModifiedTime"] == 1767225600250LL);
    BOOST_TEST(base64_decode(body["userProperties"].get<std::string>()).value() ==
               R"([{"deviceName":"alpha"},{"deviceCnt":"45"}])");
}

BOOST_AUTO_TEST_CASE(get_retained_message_without_user_properties_omits_the_field) {
    Fixture f;
    retain(f, "a", "hi", 0);
    BOOST_TEST(f.call("GET", "/retainedMessage/a").body ==
               R"({"lastModifiedTime":1767225600250,"payload":"aGk=","qos":0,"topic":"a"})");
}

BOOST_AUTO_TEST_CASE(get_retained_message_of_an_unknown_or_expired_topic_is_404) {
    Fixture f;
    check_error(f.call("GET", "/retainedMessage/none"), 404, "ResourceNotFoundException",
                "No retained message exists for topic: 'none'");
    retain(f, "old", "x");
    auto copy = *f.plane.retained["old"].message;
    copy.expires_at = iotsim::WallTime{iotsim::seconds(t0_s)};
    f.plane.retained["old"].message = std::make_shared<const iotsim::broker::Message>(copy);
    check_error(f.call("GET", "/retainedMessage/old"), 404, "ResourceNotFoundException",
                "No retained message exists for topic: 'old'");
}

BOOST_AUTO_TEST_CASE(a_publish_with_retain_is_then_listed_and_readable) {
    Fixture f;
    BOOST_REQUIRE(f.call("POST", "/topics/home%2Flamp?qos=1&retain=true", "on").status == 200);
    const json listed = f.call("GET", "/retainedMessage").body_json();
    BOOST_TEST(listed["retainedTopics"][0]["topic"] == "home/lamp");
    BOOST_TEST(f.call("GET", "/retainedMessage/home/lamp").body_json()["payload"] == "b24=");
    // An empty retained payload deletes it.
    BOOST_REQUIRE(f.call("POST", "/topics/home%2Flamp?retain=true").status == 200);
    BOOST_TEST(f.call("GET", "/retainedMessage/home%2Flamp").status == 404);
}

BOOST_AUTO_TEST_CASE(get_retained_message_with_a_wildcard_topic_is_400) {
    Fixture f;
    check_error(f.call("GET", "/retainedMessage/a%2F%23"), 400, "InvalidRequestException", "Invalid topic name");
    check_error(f.call("DELETE", "/retainedMessage/a"), 405, "MethodNotAllowedException", "Method Not Allowed");
    check_error(f.call("POST", "/retainedMessage"), 405, "MethodNotAllowedException", "Method Not Allowed");
}

BOOST_AUTO_TEST_SUITE_END()
