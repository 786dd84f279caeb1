// AWS's documented policies, evaluated as AWS describes them: the quick-connect kit's policy
// (reference §6.2) and the examples of §4.4 and the guide's policy example pages.

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "policy_harness.hpp"

using namespace policy_test;

namespace {

// The policy the console generates for the "Connect one device" kit (<thing>-Policy).
constexpr const char* quick_connect_policy = R"({
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
      "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/sdk/test/java",
                   "arn:aws:iot:us-east-1:123456789012:topic/sdk/test/python",
                   "arn:aws:iot:us-east-1:123456789012:topic/sdk/test/js"] },
    { "Effect": "Allow", "Action": "iot:Subscribe",
      "Resource": ["arn:aws:iot:us-east-1:123456789012:topicfilter/sdk/test/java",
                   "arn:aws:iot:us-east-1:123456789012:topicfilter/sdk/test/python",
                   "arn:aws:iot:us-east-1:123456789012:topicfilter/sdk/test/js"] },
    { "Effect": "Allow", "Action": "iot:Connect",
      "Resource": ["arn:aws:iot:us-east-1:123456789012:client/sdk-java",
                   "arn:aws:iot:us-east-1:123456789012:client/basicPubSub",
                   "arn:aws:iot:us-east-1:123456789012:client/sdk-nodejs-*"] }
  ]
})";

}  // namespace

BOOST_AUTO_TEST_SUITE(policy_aws_examples)

BOOST_AUTO_TEST_CASE(quick_connect_policy_lets_the_python_sample_run) {
    // pubsub.py --client_id basicPubSub --topic sdk/test/python: connect, subscribe to the
    // exact filter, publish, and receive its own messages.
    const Policy policy = must_parse(quick_connect_policy, "TutorialTestThing-Policy");
    const RequestContext context = client("basicPubSub");
    BOOST_TEST(allows(policy, actions::connect, client_arn(scope, "basicPubSub"), context));
    BOOST_TEST(allows(policy, actions::subscribe, topicfilter_arn(scope, "sdk/test/python"), context));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "sdk/test/python"), context));
    BOOST_TEST(allows(policy, actions::receive, topic_arn(scope, "sdk/test/python"), context));
    BOOST_TEST(allows(policy, actions::connect, client_arn(scope, "sdk-nodejs-1234"), client("sdk-nodejs-1234")));
}

BOOST_AUTO_TEST_CASE(quick_connect_policy_rejects_every_other_client_and_topic) {
    const Policy policy = must_parse(quick_connect_policy);
    const RequestContext context = client("basicPubSub");
    // The sample's default client id test-<uuid> and topic test/topic are not covered.
    BOOST_TEST(!allows(policy, actions::connect, client_arn(scope, "test-5a3f"), client("test-5a3f")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "test/topic"), context));
    // Older kits' capital P is a different topic.
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "sdk/test/Python"), context));
    // A wildcard subscription is a different filter string, not a subset.
    BOOST_TEST(!allows(policy, actions::subscribe, topicfilter_arn(scope, "sdk/test/#"), context));
    BOOST_TEST(!allows(policy, actions::subscribe, topicfilter_arn(scope, "#"), context));
    // Retained publishes need iot:RetainPublish, which this kit's policy lacks.
    BOOST_TEST(!allows(policy, actions::retain_publish, topic_arn(scope, "sdk/test/python"), context));
}

BOOST_AUTO_TEST_CASE(connect_policy_denies_client1_and_allows_the_thing_name) {
    // connect-policy.html: Deny client/client1 + Allow client/${iot:Connection.Thing.ThingName}.
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":[
        {"Effect":"Deny","Action":["iot:Connect"],"Resource":["arn:aws:iot:us-east-1:123456789012:client/client1"]},
        {"Effect":"Allow","Action":["iot:Connect"],"Resource":["arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"]}]})");
    BOOST_TEST(allows(policy, actions::connect, client_arn(scope, "thing7"), thing_client("thing7")));
    const Decision denied = decide({policy}, actions::connect, client_arn(scope, "client1"), thing_client("client1"));
    BOOST_TEST((denied.outcome == Outcome::explicit_deny));
    BOOST_TEST(denied.decided_by->statement_index == 0U);
    BOOST_TEST(!allows(policy, actions::connect, client_arn(scope, "thing7"), client("thing7")));
}

BOOST_AUTO_TEST_CASE(connect_and_publish_example_for_registered_devices) {
    // connect-and-pub.html: client id = thing name, publish only to topic/<thing name>.
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["iot:Publish"],"Resource":["arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}"]},
        {"Effect":"Allow","Action":["iot:Connect"],"Resource":["arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"]}]})");
    const RequestContext device = thing_client("device1");
    BOOST_TEST(allows(policy, actions::connect, client_arn(scope, "device1"), device));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "device1"), device));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "device2"), device));
}

BOOST_AUTO_TEST_CASE(certificate_id_example_publishes_to_its_own_certificate_topic) {
    // certificate-policy-examples.html: topic/${iot:CertificateId}.
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["iot:Publish"],"Resource":["arn:aws:iot:us-east-1:123456789012:topic/${iot:CertificateId}"]},
        {"Effect":"Allow","Action":["iot:Connect"],"Resource":["arn:aws:iot:us-east-1:123456789012:client/client1",
            "arn:aws:iot:us-east-1:123456789012:client/client2","arn:aws:iot:us-east-1:123456789012:client/client3"]}]})");
    RequestContext context = client("client2");
    const std::string id(64, 'a');
    context.certificate_id = id;
    BOOST_TEST(allows(policy, actions::connect, client_arn(scope, "client2"), context));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, id), context));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "client2"), context));
}

BOOST_AUTO_TEST_CASE(thing_policy_examples_require_an_attached_thing) {
    // thing-policy-examples.html: Connect only when IsAttached; publish with type + attribute.
    const Policy attached = must_parse(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect"],
        "Resource":["*"],"Condition":{"Bool":{"iot:Connection.Thing.IsAttached":["true"]}}}]})");
    BOOST_TEST(allows(attached, actions::connect, client_arn(scope, "t"), thing_client("t")));
    BOOST_TEST(!allows(attached, actions::connect, client_arn(scope, "t"), client("t")));

    const Policy typed = must_parse(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Publish"],
        "Resource":"arn:aws:iot:us-east-1:123456789012:topic/device/stats",
        "Condition":{"StringEquals":{"iot:Connection.Thing.Attributes[attributeName]":"attributeValue",
                                     "iot:Connection.Thing.ThingTypeName":"Thing_Type_Name"},
                     "Bool":{"iot:Connection.Thing.IsAttached":"true"}}}]})");
    RequestContext context = thing_client("t");
    context.thing->type_name = "Thing_Type_Name";
    context.thing->attributes["attributeName"] = "attributeValue";
    BOOST_TEST(allows(typed, actions::publish, topic_arn(scope, "device/stats"), context));
    context.thing->attributes["attributeName"] = "other";
    BOOST_TEST(!allows(typed, actions::publish, topic_arn(scope, "device/stats"), context));
}

BOOST_AUTO_TEST_CASE(shadow_topics_with_a_literal_dollar_are_matched) {
    // `$aws` in a resource is a plain `$` (only `${` starts a variable).
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iot:Subscribe",
         "Resource":"arn:aws:iot:us-east-1:123456789012:topicfilter/$aws/things/${iot:Connection.Thing.ThingName}/shadow/#"},
        {"Effect":"Allow","Action":["iot:Publish","iot:Receive"],
         "Resource":"arn:aws:iot:us-east-1:123456789012:topic/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"}]})");
    const RequestContext lamp = thing_client("lamp");
    BOOST_TEST(allows(policy, actions::subscribe, topicfilter_arn(scope, "$aws/things/lamp/shadow/#"), lamp));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "$aws/things/lamp/shadow/update"), lamp));
    BOOST_TEST(allows(policy, actions::receive, topic_arn(scope, "$aws/things/lamp/shadow/update/delta"), lamp));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "$aws/things/fan/shadow/update"), lamp));
}

BOOST_AUTO_TEST_CASE(deny_receive_on_subtopics_still_allows_the_parent) {
    // pub-sub-policy.html "deny receiving messages from subtopics": allow topic/a*, deny topic/a/*.
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["iot:Subscribe"],"Resource":"arn:aws:iot:us-east-1:123456789012:topicfilter/topic_1/*"},
        {"Effect":"Allow","Action":["iot:Receive"],"Resource":"arn:aws:iot:us-east-1:123456789012:topic/topic_1/*"},
        {"Effect":"Deny","Action":["iot:Receive"],"Resource":"arn:aws:iot:us-east-1:123456789012:topic/topic_1/restricted"}]})");
    BOOST_TEST(allows(policy, actions::subscribe, topicfilter_arn(scope, "topic_1/#")));
    BOOST_TEST(allows(policy, actions::receive, topic_arn(scope, "topic_1/open")));
    BOOST_TEST(!allows(policy, actions::receive, topic_arn(scope, "topic_1/restricted")));
}

BOOST_AUTO_TEST_SUITE_END()
