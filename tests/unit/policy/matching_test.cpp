// Action and Resource matching: IAM's `*` and `?`, MQTT's `+` and `#` as plain characters
// (reference §4.4 "Wildcards").

#include <boost/test/unit_test.hpp>

#include "policy_harness.hpp"

using namespace policy_test;

BOOST_AUTO_TEST_SUITE(policy_matching)

BOOST_AUTO_TEST_CASE(star_matches_any_sequence_across_topic_levels) {
    const Policy policy = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/sensors/*"));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "sensors/t1")));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "sensors/a/b/c")));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "sensors/")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "sensors")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "other/sensors/t1")));
}

BOOST_AUTO_TEST_CASE(star_in_the_middle_matches_with_backtracking) {
    const Policy policy = must_parse(allow("iot:Publish", "arn:aws:iot:*:123456789012:topic/a*b*c"));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "abc")));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "a/x/b/y/c")));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "abcbc")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "abcx")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "acb")));
}

BOOST_AUTO_TEST_CASE(question_mark_matches_exactly_one_character) {
    const Policy policy = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/room?/temp"));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "room1/temp")));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "room\xC3\xA9/temp")));  // é
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "room/temp")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "room12/temp")));
}

BOOST_AUTO_TEST_CASE(plus_in_a_topicfilter_resource_is_a_literal_character) {
    // `topicfilter/some/+/topic` only matches a subscription to exactly `some/+/topic`.
    const Policy policy = must_parse(allow("iot:Subscribe", "arn:aws:iot:us-east-1:123456789012:topicfilter/some/+/topic"));
    BOOST_TEST(allows(policy, actions::subscribe, topicfilter_arn(scope, "some/+/topic")));
    BOOST_TEST(!allows(policy, actions::subscribe, topicfilter_arn(scope, "some/x/topic")));
    BOOST_TEST(!allows(policy, actions::subscribe, topicfilter_arn(scope, "some/#")));
}

BOOST_AUTO_TEST_CASE(hash_in_a_resource_is_a_literal_character) {
    const Policy policy = must_parse(allow("iot:Subscribe", "arn:aws:iot:us-east-1:123456789012:topicfilter/a/#"));
    BOOST_TEST(allows(policy, actions::subscribe, topicfilter_arn(scope, "a/#")));
    BOOST_TEST(!allows(policy, actions::subscribe, topicfilter_arn(scope, "a/b")));
    BOOST_TEST(!allows(policy, actions::subscribe, topicfilter_arn(scope, "a/b/#")));
    // And a `topic/a/#` resource allows no real publish at all: no topic contains `#`.
    const Policy publish = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/a/#"));
    BOOST_TEST(!allows(publish, actions::publish, topic_arn(scope, "a/b")));
}

BOOST_AUTO_TEST_CASE(star_filter_resource_covers_wildcard_subscriptions) {
    const Policy policy = must_parse(allow("iot:Subscribe", "arn:aws:iot:us-east-1:123456789012:topicfilter/a/*"));
    BOOST_TEST(allows(policy, actions::subscribe, topicfilter_arn(scope, "a/#")));
    BOOST_TEST(allows(policy, actions::subscribe, topicfilter_arn(scope, "a/+/c")));
}

BOOST_AUTO_TEST_CASE(resource_star_matches_every_resource) {
    const Policy policy = must_parse(allow("iot:*", "*"));
    BOOST_TEST(allows(policy, actions::connect, client_arn(scope, "anything")));
    BOOST_TEST(allows(policy, actions::list_retained_messages, "*"));
}

BOOST_AUTO_TEST_CASE(resources_are_case_sensitive) {
    const Policy policy = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/sdk/test/python"));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "sdk/test/python")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "sdk/test/Python")));
}

BOOST_AUTO_TEST_CASE(action_wildcards_match_action_names) {
    const Policy all = must_parse(allow("iot:*", "*"));
    const Policy pub = must_parse(allow("iot:Pub*", "*"));
    const Policy shadow = must_parse(allow("iot:*ThingShadow", "*"));
    const Policy any = must_parse(allow("*", "*"));
    BOOST_TEST(allows(all, actions::receive, topic_arn(scope, "t")));
    BOOST_TEST(allows(pub, actions::publish, topic_arn(scope, "t")));
    BOOST_TEST(!allows(pub, actions::retain_publish, topic_arn(scope, "t")));
    BOOST_TEST(allows(shadow, actions::update_thing_shadow, thing_arn(scope, "t")));
    BOOST_TEST(!allows(shadow, actions::list_named_shadows_for_thing, thing_arn(scope, "t")));
    BOOST_TEST(allows(any, actions::connect, client_arn(scope, "c")));
}

BOOST_AUTO_TEST_CASE(actions_match_case_insensitively) {
    const Policy policy = must_parse(allow("IOT:publish", "*"));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "t")));
    BOOST_TEST(allows(policy, "iot:PUBLISH", topic_arn(scope, "t")));
}

BOOST_AUTO_TEST_CASE(other_services_actions_do_not_match_iot_requests) {
    const Policy policy = must_parse(allow("greengrass:*", "*"));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "t")));
}

BOOST_AUTO_TEST_CASE(other_regions_and_accounts_do_not_match) {
    const Policy policy = must_parse(allow("iot:Connect", "arn:aws:iot:us-east-1:123456789012:client/c1"));
    const ArnScope other_region{.region = "eu-west-1", .account = "123456789012"};
    const ArnScope other_account{.region = "us-east-1", .account = "210987654321"};
    BOOST_TEST(allows(policy, actions::connect, client_arn(scope, "c1")));
    BOOST_TEST(!allows(policy, actions::connect, client_arn(other_region, "c1")));
    BOOST_TEST(!allows(policy, actions::connect, client_arn(other_account, "c1")));
}

BOOST_AUTO_TEST_CASE(arn_builders_follow_the_documented_formats) {
    BOOST_TEST(arn_prefix(scope) == "arn:aws:iot:us-east-1:123456789012:");
    BOOST_TEST(client_arn(scope, "c") == "arn:aws:iot:us-east-1:123456789012:client/c");
    BOOST_TEST(topic_arn(scope, "a/b") == "arn:aws:iot:us-east-1:123456789012:topic/a/b");
    BOOST_TEST(topicfilter_arn(scope, "a/+/#") == "arn:aws:iot:us-east-1:123456789012:topicfilter/a/+/#");
    BOOST_TEST(thing_arn(scope, "t") == "arn:aws:iot:us-east-1:123456789012:thing/t");
    BOOST_TEST(thing_arn(scope, "t", "cfg") == "arn:aws:iot:us-east-1:123456789012:thing/t/cfg");
    BOOST_TEST(policy_arn(scope, "p") == "arn:aws:iot:us-east-1:123456789012:policy/p");
    const ArnScope china{.region = "cn-north-1", .account = "123456789012", .partition = "aws-cn"};
    BOOST_TEST(client_arn(china, "c") == "arn:aws-cn:iot:cn-north-1:123456789012:client/c");
}

BOOST_AUTO_TEST_SUITE_END()
