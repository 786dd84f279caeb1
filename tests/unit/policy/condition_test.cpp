// Conditions: IAM's operators as AWS IoT policies use them, including missing keys,
// ...IfExists, Null and the ForAnyValue/ForAllValues set qualifiers.

#include <string>

#include <boost/test/unit_test.hpp>

#include "policy_harness.hpp"

using namespace policy_test;

namespace {

// Allow iot:Connect on anything when the condition holds.
Policy connect_if(const std::string& condition) {
    return must_parse(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":)" +
                      condition + "}}");
}

bool connects(const Policy& policy, const RequestContext& context) {
    return allows(policy, actions::connect, client_arn(scope, "c"), context);
}

iotsim::WallTime at_unix_seconds(std::int64_t s) {
    return iotsim::WallTime{std::chrono::seconds(s)};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(policy_conditions)

BOOST_AUTO_TEST_CASE(string_equals_needs_one_of_the_values) {
    const Policy policy = connect_if(R"({"StringEquals":{"iot:ClientId":["a","b"]}})");
    BOOST_TEST(connects(policy, client("a")));
    BOOST_TEST(connects(policy, client("b")));
    BOOST_TEST(!connects(policy, client("A")));
    BOOST_TEST(!connects(policy, RequestContext{}));  // missing key: false
}

BOOST_AUTO_TEST_CASE(string_not_equals_holds_for_other_values_and_a_missing_key) {
    const Policy policy = connect_if(R"({"StringNotEquals":{"iot:ClientId":["a","b"]}})");
    BOOST_TEST(connects(policy, client("c")));
    BOOST_TEST(!connects(policy, client("a")));
    BOOST_TEST(connects(policy, RequestContext{}));  // IAM: a negated operator holds
}

BOOST_AUTO_TEST_CASE(ignore_case_variants_fold_ascii_case) {
    BOOST_TEST(connects(connect_if(R"({"StringEqualsIgnoreCase":{"iot:ClientId":"ABC"}})"), client("abc")));
    BOOST_TEST(!connects(connect_if(R"({"StringNotEqualsIgnoreCase":{"iot:ClientId":"ABC"}})"), client("abc")));
}

BOOST_AUTO_TEST_CASE(string_like_takes_wildcards_and_string_equals_does_not) {
    BOOST_TEST(connects(connect_if(R"({"StringLike":{"iot:ClientId":"sdk-nodejs-*"}})"), client("sdk-nodejs-42")));
    BOOST_TEST(!connects(connect_if(R"({"StringEquals":{"iot:ClientId":"sdk-nodejs-*"}})"), client("sdk-nodejs-42")));
    BOOST_TEST(connects(connect_if(R"({"StringEquals":{"iot:ClientId":"sdk-nodejs-*"}})"), client("sdk-nodejs-*")));
    BOOST_TEST(!connects(connect_if(R"({"StringNotLike":{"iot:ClientId":"sdk-*"}})"), client("sdk-x")));
}

BOOST_AUTO_TEST_CASE(string_like_takes_literal_wildcards_through_special_variables) {
    const Policy policy = connect_if(R"({"StringLike":{"iot:ClientId":"dev${*}*"}})");
    BOOST_TEST(connects(policy, client("dev*1")));
    BOOST_TEST(!connects(policy, client("dev1")));
}

BOOST_AUTO_TEST_CASE(all_operators_and_keys_must_hold) {
    RequestContext context = thing_client("bulb");
    context.thing->type_name = "Thing_Type_Name";
    context.thing->attributes["attributeName"] = "attributeValue";
    const Policy policy = connect_if(R"({"StringEquals":{"iot:Connection.Thing.Attributes[attributeName]":"attributeValue",
        "iot:Connection.Thing.ThingTypeName":"Thing_Type_Name"},"Bool":{"iot:Connection.Thing.IsAttached":"true"}})");
    BOOST_TEST(connects(policy, context));
    context.thing->type_name = "Other";
    BOOST_TEST(!connects(policy, context));
}

BOOST_AUTO_TEST_CASE(condition_values_take_policy_variables) {
    const Policy policy = connect_if(R"({"StringEquals":{"iot:ClientId":"${iot:Connection.Thing.ThingName}"}})");
    BOOST_TEST(connects(policy, thing_client("lamp")));
    RequestContext mismatch = thing_client("lamp");
    mismatch.client_id = "other";
    BOOST_TEST(!connects(policy, mismatch));
    // A variable without a value in a condition makes the statement not apply, negated or not.
    const Policy negated = connect_if(R"({"StringNotEquals":{"iot:ClientId":"${iot:Connection.Thing.ThingName}"}})");
    const Decision decision = decide({negated}, actions::connect, client_arn(scope, "c"), client("c"));
    BOOST_TEST(!decision.allowed());
    BOOST_TEST(decision.missing_context_values.at(0) == "iot:Connection.Thing.ThingName");
}

BOOST_AUTO_TEST_CASE(bool_compares_true_and_false_case_insensitively) {
    const Policy policy = connect_if(R"({"Bool":{"iot:Connection.Thing.IsAttached":["TRUE"]}})");
    BOOST_TEST(connects(policy, thing_client("t")));
    BOOST_TEST(!connects(policy, client("t")));
}

BOOST_AUTO_TEST_CASE(numeric_operators_compare_numbers) {
    RequestContext context;
    context.current_time = at_unix_seconds(1767225600);  // 2026-01-01T00:00:00Z
    BOOST_TEST(connects(connect_if(R"({"NumericLessThan":{"aws:EpochTime":1767225601}})"), context));
    BOOST_TEST(!connects(connect_if(R"({"NumericLessThan":{"aws:EpochTime":"1767225600"}})"), context));
    BOOST_TEST(connects(connect_if(R"({"NumericLessThanEquals":{"aws:EpochTime":"1767225600"}})"), context));
    BOOST_TEST(connects(connect_if(R"({"NumericGreaterThan":{"aws:EpochTime":"1.5e9"}})"), context));
    BOOST_TEST(connects(connect_if(R"({"NumericGreaterThanEquals":{"aws:EpochTime":"1767225600"}})"), context));
    BOOST_TEST(connects(connect_if(R"({"NumericEquals":{"aws:EpochTime":"1767225600.0"}})"), context));
    BOOST_TEST(!connects(connect_if(R"({"NumericNotEquals":{"aws:EpochTime":"1767225600"}})"), context));
}

BOOST_AUTO_TEST_CASE(date_operators_compare_iso_times_and_epoch_seconds) {
    RequestContext context;
    context.current_time = at_unix_seconds(1767225600);  // 2026-01-01T00:00:00Z
    BOOST_TEST(connects(connect_if(R"({"DateLessThan":{"aws:CurrentTime":"2026-06-30T00:00:00Z"}})"), context));
    BOOST_TEST(!connects(connect_if(R"({"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}})"), context));
    BOOST_TEST(connects(connect_if(R"({"DateGreaterThanEquals":{"aws:CurrentTime":"2026-01-01"}})"), context));
    BOOST_TEST(connects(connect_if(R"({"DateEquals":{"aws:CurrentTime":"2026-01-01T01:00:00+01:00"}})"), context));
    BOOST_TEST(connects(connect_if(R"({"DateLessThanEquals":{"aws:CurrentTime":"1767225600"}})"), context));
    BOOST_TEST(connects(connect_if(R"({"DateNotEquals":{"aws:CurrentTime":"2025-12-31T23:59:59.999Z"}})"), context));
    BOOST_TEST(connects(connect_if(R"({"DateGreaterThan":{"aws:EpochTime":"2025-12-31T23:59:59Z"}})"), context));
    // Without a clock the key is missing and the condition fails.
    BOOST_TEST(!connects(connect_if(R"({"DateLessThan":{"aws:CurrentTime":"2100-01-01T00:00:00Z"}})"), RequestContext{}));
}

BOOST_AUTO_TEST_CASE(ip_address_checks_cidr_ranges_for_ipv4_and_ipv6) {
    const Policy policy = connect_if(R"({"IpAddress":{"aws:SourceIp":["192.0.2.0/24","2001:db8::/32","203.0.113.7"]}})");
    RequestContext context;
    context.source_ip = "192.0.2.55";
    BOOST_TEST(connects(policy, context));
    context.source_ip = "192.0.3.1";
    BOOST_TEST(!connects(policy, context));
    context.source_ip = "203.0.113.7";
    BOOST_TEST(connects(policy, context));
    context.source_ip = "2001:db8:1::5";
    BOOST_TEST(connects(policy, context));
    context.source_ip = "2001:db9::1";
    BOOST_TEST(!connects(policy, context));
    context.source_ip = "not an address";
    BOOST_TEST(!connects(policy, context));
    const Policy outside = connect_if(R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}})");
    context.source_ip = "10.1.2.3";
    BOOST_TEST(!connects(outside, context));
    context.source_ip = "11.1.2.3";
    BOOST_TEST(connects(outside, context));
}

BOOST_AUTO_TEST_CASE(arn_operators_match_arns_with_wildcards) {
    RequestContext context;
    context.extra["aws:SourceArn"] = {"arn:aws:iot:us-east-1:123456789012:rule/my_rule"};
    BOOST_TEST(connects(connect_if(R"({"ArnLike":{"aws:SourceArn":"arn:aws:iot:*:123456789012:rule/*"}})"), context));
    BOOST_TEST(connects(connect_if(R"({"ArnEquals":{"aws:SourceArn":"arn:aws:iot:us-east-1:123456789012:rule/my_rule"}})"), context));
    BOOST_TEST(!connects(connect_if(R"({"ArnNotLike":{"aws:SourceArn":"arn:aws:iot:*"}})"), context));
    BOOST_TEST(connects(connect_if(R"({"ArnNotEquals":{"aws:SourceArn":"arn:aws:iot:us-east-1:123456789012:rule/other"}})"), context));
}

BOOST_AUTO_TEST_CASE(if_exists_holds_when_the_key_is_missing) {
    const Policy policy = connect_if(R"({"StringEqualsIfExists":{"iot:LastWillTopic":"will/${iot:ClientId}"}})");
    BOOST_TEST(connects(policy, client("c")));
    RequestContext with_will = client("c");
    with_will.last_will_topic = "will/c";
    BOOST_TEST(connects(policy, with_will));
    with_will.last_will_topic = "will/other";
    BOOST_TEST(!connects(policy, with_will));
}

BOOST_AUTO_TEST_CASE(null_checks_whether_a_key_is_absent) {
    const Policy absent = connect_if(R"({"Null":{"iot:Connection.Thing.ThingName":"true"}})");
    const Policy present = connect_if(R"({"Null":{"iot:Connection.Thing.ThingName":"false"}})");
    BOOST_TEST(connects(absent, client("c")));
    BOOST_TEST(!connects(absent, thing_client("c")));
    BOOST_TEST(connects(present, thing_client("c")));
}

BOOST_AUTO_TEST_CASE(connect_attributes_for_all_values_allows_only_the_listed_ones) {
    // connect-policy.html: persistent sessions allowed, last will not.
    const Policy policy = connect_if(R"({"ForAllValues:StringEquals":{"iot:ConnectAttributes":["PersistentConnect"]}})");
    RequestContext context = client("c");
    context.connect_attributes = std::vector<std::string>{"PersistentConnect"};
    BOOST_TEST(connects(policy, context));
    context.connect_attributes = std::vector<std::string>{};
    BOOST_TEST(connects(policy, context));  // clean session, no will: vacuously true
    context.connect_attributes = std::vector<std::string>{"PersistentConnect", "LastWill"};
    BOOST_TEST(!connects(policy, context));
}

BOOST_AUTO_TEST_CASE(for_any_value_needs_one_matching_value) {
    const Policy policy = connect_if(R"({"ForAnyValue:StringEquals":{"iot:ConnectAttributes":"LastWill"}})");
    RequestContext context = client("c");
    context.connect_attributes = std::vector<std::string>{"PersistentConnect", "LastWill"};
    BOOST_TEST(connects(policy, context));
    context.connect_attributes = std::vector<std::string>{"PersistentConnect"};
    BOOST_TEST(!connects(policy, context));
    context.connect_attributes = std::nullopt;
    BOOST_TEST(!connects(policy, context));
    const Policy not_any = connect_if(R"({"ForAnyValue:StringNotEquals":{"iot:ConnectAttributes":"LastWill"}})");
    context.connect_attributes = std::vector<std::string>{"LastWill", "PersistentConnect"};
    BOOST_TEST(connects(not_any, context));
    context.connect_attributes = std::vector<std::string>{"LastWill"};
    BOOST_TEST(!connects(not_any, context));
}

BOOST_AUTO_TEST_CASE(certificate_list_variables_feed_set_conditions) {
    RequestContext context = client("c");
    context.certificate["Subject.AlternativeName.DNSName"] = {"a.example.com", "b.example.com"};
    const Policy all = connect_if(R"({"ForAllValues:StringLike":{"iot:Certificate.Subject.AlternativeName.DNSName.List":"*.example.com"}})");
    BOOST_TEST(connects(all, context));
    context.certificate["Subject.AlternativeName.DNSName"].push_back("evil.test");
    BOOST_TEST(!connects(all, context));
}

BOOST_AUTO_TEST_CASE(deny_with_a_condition_denies_only_when_it_holds) {
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iot:Connect","Resource":"*"},
        {"Effect":"Deny","Action":"iot:Connect","Resource":"*","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"false"}}}]})");
    BOOST_TEST(connects(policy, thing_client("t")));
    const Decision decision = decide({policy}, actions::connect, client_arn(scope, "t"), client("t"));
    BOOST_TEST((decision.outcome == Outcome::explicit_deny));
}

BOOST_AUTO_TEST_SUITE_END()
