// TestAuthorization's request validation and response shape (MODEL-IOT).

#include <nlohmann/json.hpp>

#include <boost/test/unit_test.hpp>

#include "iotsim/policy/test_authorization.hpp"
#include "policy_harness.hpp"

using namespace policy_test;
using nlohmann::json;

namespace {

std::vector<Policy> two_policies() {
    Policy allow_pub = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/a/*"), "AllowPub");
    Policy deny_secret = must_parse(R"({"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iot:Publish",
        "Resource":"arn:aws:iot:us-east-1:123456789012:topic/a/secret"}})", "DenySecret");
    return {allow_pub, deny_secret};
}

json run(const std::vector<Policy>& policies, const json& body, const RequestContext& context = {}) {
    auto result = test_authorization(policies, body, context);
    BOOST_REQUIRE_MESSAGE(result.ok(), "refused: " + (result.ok() ? "" : result.error().message));
    return std::move(result).value();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(policy_test_authorization)

BOOST_AUTO_TEST_CASE(allowed_item_lists_the_allowing_policy) {
    const json response = run(two_policies(), json::parse(R"({"authInfos":[
        {"actionType":"PUBLISH","resources":["arn:aws:iot:us-east-1:123456789012:topic/a/b"]}]})"));
    const json expected = json::parse(R"({"authResults":[{
        "authInfo":{"actionType":"PUBLISH","resources":["arn:aws:iot:us-east-1:123456789012:topic/a/b"]},
        "allowed":{"policies":[{"policyName":"AllowPub","policyArn":"arn:aws:iot:us-east-1:123456789012:policy/TestPolicy"}]},
        "denied":{"implicitDeny":{"policies":[{"policyName":"DenySecret","policyArn":"arn:aws:iot:us-east-1:123456789012:policy/TestPolicy"}]},
                  "explicitDeny":{"policies":[]}},
        "authDecision":"ALLOWED",
        "missingContextValues":[]}]})");
    BOOST_TEST(response == expected, response.dump());
}

BOOST_AUTO_TEST_CASE(explicit_deny_item_lists_the_denying_policy) {
    const json response = run(two_policies(), json::parse(R"({"authInfos":[
        {"actionType":"PUBLISH","resources":["arn:aws:iot:us-east-1:123456789012:topic/a/secret"]}]})"));
    const json& result = response["authResults"][0];
    BOOST_TEST(result["authDecision"] == "EXPLICIT_DENY");
    BOOST_TEST(result["denied"]["explicitDeny"]["policies"][0]["policyName"] == "DenySecret");
    // Each policy is listed by what it says on its own: AllowPub still allows the topic.
    BOOST_TEST(result["allowed"]["policies"][0]["policyName"] == "AllowPub");
}

BOOST_AUTO_TEST_CASE(one_result_per_auth_info_in_order) {
    const json response = run(two_policies(), json::parse(R"({"authInfos":[
        {"actionType":"SUBSCRIBE","resources":["arn:aws:iot:us-east-1:123456789012:topicfilter/a/#"]},
        {"actionType":"CONNECT","resources":["arn:aws:iot:us-east-1:123456789012:client/c"]},
        {"actionType":"RECEIVE","resources":["arn:aws:iot:us-east-1:123456789012:topic/a/b"]}]})"));
    BOOST_REQUIRE_EQUAL(response["authResults"].size(), 3U);
    for (const json& result : response["authResults"]) {
        BOOST_TEST(result["authDecision"] == "IMPLICIT_DENY");
        BOOST_TEST(result["denied"]["implicitDeny"]["policies"].size() == 2U);
    }
    BOOST_TEST(response["authResults"][1]["authInfo"]["actionType"] == "CONNECT");
}

BOOST_AUTO_TEST_CASE(several_resources_are_allowed_only_if_all_are) {
    const json response = run(two_policies(), json::parse(R"({"authInfos":[
        {"actionType":"PUBLISH","resources":["arn:aws:iot:us-east-1:123456789012:topic/a/1",
                                            "arn:aws:iot:us-east-1:123456789012:topic/b/1"]},
        {"actionType":"PUBLISH","resources":["arn:aws:iot:us-east-1:123456789012:topic/a/1",
                                            "arn:aws:iot:us-east-1:123456789012:topic/a/secret"]},
        {"actionType":"PUBLISH","resources":[]}]})"));
    BOOST_TEST(response["authResults"][0]["authDecision"] == "IMPLICIT_DENY");
    BOOST_TEST(response["authResults"][0]["denied"]["implicitDeny"]["policies"].size() == 2U);
    BOOST_TEST(response["authResults"][1]["authDecision"] == "EXPLICIT_DENY");
    BOOST_TEST(response["authResults"][2]["authDecision"] == "IMPLICIT_DENY");
}

BOOST_AUTO_TEST_CASE(missing_context_values_are_reported) {
    const std::vector<Policy> policies{
        must_parse(allow("iot:Connect", "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"))};
    const json response = run(policies, json::parse(R"({"authInfos":[
        {"actionType":"CONNECT","resources":["arn:aws:iot:us-east-1:123456789012:client/c"]}]})"),
                              client("c"));
    BOOST_TEST(response["authResults"][0]["missingContextValues"] == json::array({"iot:Connection.Thing.ThingName"}));
    BOOST_TEST(response["authResults"][0]["authDecision"] == "IMPLICIT_DENY");
}

BOOST_AUTO_TEST_CASE(policies_without_name_or_arn_are_listed_as_empty_objects) {
    const std::vector<Policy> policies{parse_policy(allow("iot:*", "*")).value()};
    const json response = run(policies, json::parse(R"({"authInfos":[{"actionType":"CONNECT","resources":["*"]}]})"));
    BOOST_TEST(response["authResults"][0]["allowed"]["policies"] == json::array({json::object()}));
}

BOOST_AUTO_TEST_CASE(requests_outside_the_model_are_invalid) {
    const std::vector<Policy> policies = two_policies();
    const auto refused = [&](const char* body) {
        return !test_authorization(policies, json::parse(body), RequestContext{}).ok();
    };
    BOOST_TEST(refused(R"({})"));
    BOOST_TEST(refused(R"({"authInfos":{}})"));
    BOOST_TEST(refused(R"({"authInfos":[]})"));
    BOOST_TEST(refused(R"({"authInfos":[{"resources":["*"]}]})"));
    BOOST_TEST(refused(R"({"authInfos":[{"actionType":"DELETE","resources":["*"]}]})"));
    BOOST_TEST(refused(R"({"authInfos":[{"actionType":"PUBLISH"}]})"));
    BOOST_TEST(refused(R"({"authInfos":[{"actionType":"PUBLISH","resources":[1]}]})"));
    json too_many = {{"authInfos", json::array()}};
    for (int i = 0; i < 11; ++i) {
        too_many["authInfos"].push_back({{"actionType", "PUBLISH"}, {"resources", {"*"}}});
    }
    BOOST_TEST(!test_authorization(policies, too_many, RequestContext{}).ok());
    json long_resource = {{"authInfos", {{{"actionType", "PUBLISH"}, {"resources", {std::string(2049, 'r')}}}}}};
    BOOST_TEST(!test_authorization(policies, long_resource, RequestContext{}).ok());
    const auto error = test_authorization(policies, json::parse(R"({"authInfos":[{"actionType":"DELETE","resources":["*"]}]})"),
                                          RequestContext{}).error();
    BOOST_TEST(error.message == "authInfo.actionType must be PUBLISH, SUBSCRIBE, RECEIVE or CONNECT, not DELETE");
}

BOOST_AUTO_TEST_SUITE_END()
