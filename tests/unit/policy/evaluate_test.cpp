// Evaluation order: explicit deny, then allow, then implicit deny; which statement decided.

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "policy_harness.hpp"

using namespace policy_test;

BOOST_AUTO_TEST_SUITE(policy_evaluate)

BOOST_AUTO_TEST_CASE(no_policies_is_an_implicit_deny) {
    const Decision decision = decide({}, actions::connect, client_arn(scope, "c"));
    BOOST_TEST((decision.outcome == Outcome::implicit_deny));
    BOOST_TEST(!decision.decided_by.has_value());
}

BOOST_AUTO_TEST_CASE(no_matching_allow_is_an_implicit_deny) {
    const Policy policy = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/a"));
    const Decision decision = decide({policy}, actions::subscribe, topicfilter_arn(scope, "a"));
    BOOST_TEST((decision.outcome == Outcome::implicit_deny));
}

BOOST_AUTO_TEST_CASE(explicit_deny_wins_over_an_allow_in_the_same_policy) {
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":[
        {"Sid":"AllowAll","Effect":"Allow","Action":"iot:*","Resource":"*"},
        {"Sid":"NoAdmin","Effect":"Deny","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/admin/*"}]})");
    const Decision decision = decide({policy}, actions::publish, topic_arn(scope, "admin/reset"));
    BOOST_TEST((decision.outcome == Outcome::explicit_deny));
    BOOST_REQUIRE(decision.decided_by.has_value());
    BOOST_TEST(decision.decided_by->statement_index == 1U);
    BOOST_TEST(policy.statement_sid(decision.decided_by->statement_index) == "NoAdmin");
    BOOST_TEST(decide({policy}, actions::publish, topic_arn(scope, "user/x")).allowed());
}

BOOST_AUTO_TEST_CASE(explicit_deny_in_one_policy_wins_over_an_allow_in_another) {
    const Policy allow_all = must_parse(allow("iot:*", "*"), "AllowAll");
    const Policy deny = must_parse(R"({"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iot:Connect",
        "Resource":"arn:aws:iot:us-east-1:123456789012:client/client1"}})", "DenyClient1");
    const std::vector<Policy> policies{allow_all, deny};
    const Decision decision = decide(policies, actions::connect, client_arn(scope, "client1"));
    BOOST_TEST((decision.outcome == Outcome::explicit_deny));
    BOOST_TEST(decision.decided_by->policy_index == 1U);
    BOOST_TEST(explain(decision, policies,
                       Request{.action = actions::connect, .resource = client_arn(scope, "client1"),
                               .context = RequestContext{}}) ==
               "denied: iot:Connect on arn:aws:iot:us-east-1:123456789012:client/client1 by the "
               "explicit Deny in policy 'DenyClient1' statement 1");
}

BOOST_AUTO_TEST_CASE(allow_names_the_first_allowing_statement) {
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iot:Connect","Resource":"*"},
        {"Sid":"Pub","Effect":"Allow","Action":"iot:Publish","Resource":"*"},
        {"Sid":"PubAgain","Effect":"Allow","Action":"iot:Publish","Resource":"*"}]})");
    const std::vector<Policy> policies{policy};
    const RequestContext context;
    // Request holds views: the ARN must outlive it.
    const std::string resource = topic_arn(scope, "t");
    const Request request{.action = actions::publish, .resource = resource, .context = context};
    const Decision decision = evaluate(policies, request);
    BOOST_TEST(decision.allowed());
    BOOST_TEST((*decision.decided_by == StatementRef{.policy_index = 0, .statement_index = 1}));
    BOOST_TEST(explain(decision, policies, request) ==
               "allowed: iot:Publish on arn:aws:iot:us-east-1:123456789012:topic/t by the Allow in "
               "policy 'TestPolicy' statement 2 (Sid 'Pub')");
}

BOOST_AUTO_TEST_CASE(implicit_deny_is_explained_with_the_missing_values) {
    const Policy policy = must_parse(allow("iot:Connect", "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"));
    const std::vector<Policy> policies{policy};
    const RequestContext context;
    const std::string resource = client_arn(scope, "c");
    const Request request{.action = actions::connect, .resource = resource, .context = context};
    BOOST_TEST(explain(evaluate(policies, request), policies, request) ==
               "denied: no statement allows iot:Connect on "
               "arn:aws:iot:us-east-1:123456789012:client/c (implicit deny); no value for "
               "iot:Connection.Thing.ThingName");
}

BOOST_AUTO_TEST_CASE(not_action_applies_to_every_other_action) {
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","NotAction":["iot:Publish","iot:Retain*"],"Resource":"*"}]})");
    BOOST_TEST(allows(policy, actions::subscribe, topicfilter_arn(scope, "a")));
    BOOST_TEST(allows(policy, actions::connect, client_arn(scope, "c")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "a")));
    BOOST_TEST(!allows(policy, actions::retain_publish, topic_arn(scope, "a")));
}

BOOST_AUTO_TEST_CASE(not_resource_applies_to_every_other_resource) {
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iot:Publish","Resource":"*"},
        {"Effect":"Deny","Action":"iot:Publish","NotResource":"arn:aws:iot:us-east-1:123456789012:topic/public/*"}]})");
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "public/a")));
    const Decision decision = decide({policy}, actions::publish, topic_arn(scope, "private/a"));
    BOOST_TEST((decision.outcome == Outcome::explicit_deny));
}

BOOST_AUTO_TEST_CASE(deny_with_not_action_denies_everything_else) {
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iot:*","Resource":"*"},
        {"Effect":"Deny","NotAction":"iot:Connect","Resource":"*"}]})");
    BOOST_TEST(allows(policy, actions::connect, client_arn(scope, "c")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "t")));
}

BOOST_AUTO_TEST_CASE(retain_publish_needs_its_own_allow) {
    // A retained publish is checked twice by the broker: iot:Publish and iot:RetainPublish.
    const Policy policy = must_parse(allow("iot:Publish", "*"));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "t")));
    BOOST_TEST(!allows(policy, actions::retain_publish, topic_arn(scope, "t")));
}

BOOST_AUTO_TEST_CASE(shadow_actions_use_thing_resources) {
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
        "Action":["iot:GetThingShadow","iot:UpdateThingShadow","iot:DeleteThingShadow"],
        "Resource":["arn:aws:iot:us-east-1:123456789012:thing/${iot:Connection.Thing.ThingName}",
                    "arn:aws:iot:us-east-1:123456789012:thing/${iot:Connection.Thing.ThingName}/*"]}})");
    const RequestContext lamp = thing_client("lamp");
    BOOST_TEST(allows(policy, actions::get_thing_shadow, thing_arn(scope, "lamp"), lamp));
    BOOST_TEST(allows(policy, actions::update_thing_shadow, thing_arn(scope, "lamp", "config"), lamp));
    BOOST_TEST(!allows(policy, actions::delete_thing_shadow, thing_arn(scope, "fan"), lamp));
    BOOST_TEST(!allows(policy, actions::list_named_shadows_for_thing, thing_arn(scope, "lamp"), lamp));
}

BOOST_AUTO_TEST_CASE(copies_of_a_policy_evaluate_alike) {
    const Policy original = must_parse(allow("iot:Connect", "*"));
    const Policy copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
    BOOST_TEST(allows(copy, actions::connect, client_arn(scope, "c")));
    BOOST_TEST(copy.name() == original.name());
}

BOOST_AUTO_TEST_SUITE_END()
