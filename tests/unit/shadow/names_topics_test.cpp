// Thing and shadow names and the shadow topics (../shared/reference/aws-iot-core.md §2.1, §2.2).
#include "shadow_harness.hpp"

#include "iotsim/shadow/topics.hpp"

using namespace iotsim::shadow;
using namespace iotsim::shadow::test;

BOOST_AUTO_TEST_SUITE(shadow_names_topics)

BOOST_AUTO_TEST_CASE(thing_names_allow_letters_digits_colon_underscore_and_dash) {
    BOOST_TEST(is_valid_thing_name("mySimulatedThing"));
    BOOST_TEST(is_valid_thing_name("a:b_c-D9"));
    BOOST_TEST(is_valid_thing_name(std::string(128, 'x')));
}

BOOST_AUTO_TEST_CASE(thing_names_outside_the_pattern_or_length_are_invalid) {
    BOOST_TEST(!is_valid_thing_name(""));
    BOOST_TEST(!is_valid_thing_name(std::string(129, 'x')));
    for (const char* bad : {"a b", "a.b", "a/b", "a+b", "a#b", "$thing", "\xc3\xa9t\xc3\xa9"}) {
        BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!is_valid_thing_name(bad)); }
    }
}

BOOST_AUTO_TEST_CASE(shadow_names_also_allow_dollar_up_to_64_bytes) {
    BOOST_TEST(is_valid_shadow_name("simShadow1"));
    BOOST_TEST(is_valid_shadow_name("$package"));
    BOOST_TEST(is_valid_shadow_name(std::string(64, 's')));
    BOOST_TEST(!is_valid_shadow_name(std::string(65, 's')));
    BOOST_TEST(!is_valid_shadow_name(""));
    BOOST_TEST(!is_valid_shadow_name("a/b"));
    BOOST_TEST(!is_valid_shadow_name("a b"));
}

BOOST_AUTO_TEST_CASE(classic_and_named_topic_prefixes_follow_aws) {
    BOOST_TEST(shadow_topic_prefix(classic("T")) == "$aws/things/T/shadow");
    BOOST_TEST(shadow_topic_prefix(named("T", "S")) == "$aws/things/T/shadow/name/S");
    BOOST_TEST(shadow_topic(classic("T"), "update/delta") == "$aws/things/T/shadow/update/delta");
    BOOST_TEST(shadow_topic(named("T", "S"), "get/accepted") ==
               "$aws/things/T/shadow/name/S/get/accepted");
}

BOOST_AUTO_TEST_CASE(request_topics_of_classic_shadows_are_recognised) {
    const auto get = parse_request_topic("$aws/things/lamp/shadow/get");
    BOOST_REQUIRE(get);
    BOOST_TEST(get->key == classic("lamp"));
    BOOST_TEST(get->operation == ShadowOperation::get);
    BOOST_TEST(parse_request_topic("$aws/things/lamp/shadow/update")->operation ==
               ShadowOperation::update);
    BOOST_TEST(parse_request_topic("$aws/things/lamp/shadow/delete")->operation ==
               ShadowOperation::delete_shadow);
}

BOOST_AUTO_TEST_CASE(request_topics_of_named_shadows_are_recognised) {
    const auto request = parse_request_topic("$aws/things/lamp/shadow/name/$package/update");
    BOOST_REQUIRE(request);
    BOOST_TEST(request->key == named("lamp", "$package"));
    BOOST_TEST(request->operation == ShadowOperation::update);
    // A thing called "name" is still a classic request: levels decide, not words.
    const auto odd = parse_request_topic("$aws/things/name/shadow/get");
    BOOST_REQUIRE(odd);
    BOOST_TEST(odd->key == classic("name"));
}

BOOST_AUTO_TEST_CASE(response_topics_and_unknown_operations_are_not_requests) {
    for (const char* topic :
         {"$aws/things/T/shadow/get/accepted", "$aws/things/T/shadow/update/delta",
          "$aws/things/T/shadow/name/S/update/documents", "$aws/things/T/shadow/list",
          "$aws/things/T/shadow/GET", "$aws/things/T/shadow/name/S/patch"}) {
        BOOST_TEST_CONTEXT(topic) { BOOST_TEST(!parse_request_topic(topic)); }
    }
}

BOOST_AUTO_TEST_CASE(malformed_request_topics_are_rejected) {
    for (const char* topic :
         {"", "$aws/things", "$aws/things/", "$aws/things//shadow/get", "$aws/things/T/shadow",
          "$aws/things/T/shadow/", "$aws/things/T/shadow/get/", "$aws/things/T/shadows/get",
          "$aws/things/T/shadow/name/get", "$aws/things/T/shadow/name//get",
          "$aws/things/T/shadow/names/S/get", "aws/things/T/shadow/get", "$AWS/things/T/shadow/get",
          "$aws/thing/T/shadow/get", "$aws/things/bad.name/shadow/get",
          "$aws/things/T/shadow/name/bad name/get", "$aws/things/T/shadow/name/S/x/get"}) {
        BOOST_TEST_CONTEXT(topic) { BOOST_TEST(!parse_request_topic(topic)); }
    }
    BOOST_TEST(!parse_request_topic("$aws/things/" + std::string(129, 't') + "/shadow/get"));
    BOOST_TEST(!parse_request_topic("$aws/things/T/shadow/name/" + std::string(65, 's') + "/get"));
}

BOOST_AUTO_TEST_SUITE_END()
