// Policy variables: substitution, literal-character variables, and the rule for a variable
// without a value (reference §4.4 "Policy variables", AWS `thing-policy-examples.html`).

#include <string>

#include <boost/test/unit_test.hpp>

#include "policy_harness.hpp"

using namespace policy_test;

BOOST_AUTO_TEST_SUITE(policy_variables)

BOOST_AUTO_TEST_CASE(client_id_is_substituted) {
    const Policy policy = must_parse(allow("iot:Connect", "arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"));
    BOOST_TEST(allows(policy, actions::connect, client_arn(scope, "dev-1"), client("dev-1")));
    BOOST_TEST(!allows(policy, actions::connect, client_arn(scope, "dev-2"), client("dev-1")));
}

BOOST_AUTO_TEST_CASE(substituted_values_are_literal_not_wildcards) {
    // A client id `*` must not turn `topic/${iot:ClientId}` into `topic/*`.
    const Policy policy = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}"));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "victim"), client("*")));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "*"), client("*")));
}

BOOST_AUTO_TEST_CASE(client_id_plus_can_subscribe_to_the_literal_plus_filter) {
    // The guide's caveat: client id `+` with `topicfilter/my/${iot:ClientId}/topic` may
    // subscribe to `my/+/topic`, which is why iot:Connect should be restricted.
    const Policy policy = must_parse(allow("iot:Subscribe", "arn:aws:iot:us-east-1:123456789012:topicfilter/my/${iot:ClientId}/topic"));
    BOOST_TEST(allows(policy, actions::subscribe, topicfilter_arn(scope, "my/+/topic"), client("+")));
    BOOST_TEST(!allows(policy, actions::subscribe, topicfilter_arn(scope, "my/+/topic"), client("c1")));
}

BOOST_AUTO_TEST_CASE(thing_name_resolves_only_for_a_bound_thing) {
    const Policy policy = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/things/${iot:Connection.Thing.ThingName}/*"));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "things/lamp/state"), thing_client("lamp")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "things/other/state"), thing_client("lamp")));
    // Not attached: "this variable won't be resolved and will result in an access denied error".
    const Decision decision = decide({policy}, actions::publish, topic_arn(scope, "things/lamp/state"), client("lamp"));
    BOOST_TEST((decision.outcome == Outcome::implicit_deny));
    BOOST_REQUIRE_EQUAL(decision.missing_context_values.size(), 1U);
    BOOST_TEST(decision.missing_context_values[0] == "iot:Connection.Thing.ThingName");
}

BOOST_AUTO_TEST_CASE(unresolved_variable_never_matches_its_literal_text) {
    // AMBIG: the guide says unsubstituted certificate variables "leave the ${...} text". iotsim
    // makes such a pattern match nothing, so a topic that spells the variable gains nothing.
    const Policy policy = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}"));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "${iot:Connection.Thing.ThingName}")));
}

BOOST_AUTO_TEST_CASE(unresolved_variable_in_one_resource_leaves_the_others_in_force) {
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:Publish",
        "Resource":["arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}/*",
                    "arn:aws:iot:us-east-1:123456789012:topic/public/*"]}})");
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "public/x"), client("c")));
}

BOOST_AUTO_TEST_CASE(unresolved_variable_in_a_deny_does_not_deny) {
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iot:Publish","Resource":"*"},
        {"Effect":"Deny","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}/*"}]})");
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "lamp/x"), client("lamp")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "lamp/x"), thing_client("lamp")));
}

BOOST_AUTO_TEST_CASE(unresolved_variable_in_not_resource_makes_the_statement_not_apply) {
    // Allow everything except our own topics would otherwise allow everything.
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:Publish",
        "NotResource":"arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}/*"}})");
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "x/y"), thing_client("lamp")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "lamp/y"), thing_client("lamp")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "x/y"), client("lamp")));
}

BOOST_AUTO_TEST_CASE(thing_type_and_attributes_are_substituted) {
    RequestContext context = thing_client("bulb-7");
    context.thing->type_name = "LightBulb";
    context.thing->attributes["floor"] = "3";
    const Policy policy = must_parse(allow("iot:Publish",
        "arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingTypeName}/${iot:Connection.Thing.Attributes[floor]}/*"));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "LightBulb/3/on"), context));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "LightBulb/4/on"), context));
    // Attribute names are case-sensitive; a missing attribute does not resolve.
    const Policy wrong_case = must_parse(allow("iot:Publish",
        "arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.Attributes[Floor]}/*"));
    BOOST_TEST(!allows(wrong_case, actions::publish, topic_arn(scope, "3/on"), context));
}

BOOST_AUTO_TEST_CASE(is_attached_is_true_or_false_and_always_resolves) {
    const Policy policy = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/attached/${iot:Connection.Thing.IsAttached}"));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "attached/true"), thing_client("t")));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "attached/false"), client("t")));
}

BOOST_AUTO_TEST_CASE(certificate_fields_are_substituted) {
    RequestContext context = client("c");
    context.certificate["Subject.CommonName"] = {"LightBulb Device Cert"};
    context.certificate["Subject.AlternativeName.DNSName"] = {"a.example.com", "b.example.com"};
    context.certificate["SerialNumber"] = {"921285cbb7a5e086"};
    const auto publish_to = [&](const std::string& variable, const std::string& topic) {
        const Policy policy = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/" + variable));
        return allows(policy, actions::publish, topic_arn(scope, topic), context);
    };
    BOOST_TEST(publish_to("${iot:Certificate.Subject.CommonName}", "LightBulb Device Cert"));
    // Field names are case-insensitive.
    BOOST_TEST(publish_to("${iot:Certificate.subject.commonname}", "LightBulb Device Cert"));
    BOOST_TEST(publish_to("${iot:Certificate.SerialNumber}", "921285cbb7a5e086"));
    // Multi-valued: the first value; `.1` the one after it.
    BOOST_TEST(publish_to("${iot:Certificate.Subject.AlternativeName.DNSName}", "a.example.com"));
    BOOST_TEST(publish_to("${iot:Certificate.Subject.AlternativeName.DNSName.1}", "b.example.com"));
    BOOST_TEST(!publish_to("${iot:Certificate.Subject.AlternativeName.DNSName.2}", ""));
    // Fields the certificate lacks do not resolve.
    BOOST_TEST(!publish_to("${iot:Certificate.Issuer.Organization}", ""));
}

BOOST_AUTO_TEST_CASE(certificate_values_with_wildcard_characters_are_not_substituted) {
    RequestContext context = client("c");
    context.certificate["Subject.CommonName"] = {"dev+1"};
    context.certificate["Subject.Organization"] = {std::string(1025, 'o')};
    const Policy cn = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/${iot:Certificate.Subject.CommonName}"));
    const Policy org = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/${iot:Certificate.Subject.Organization}"));
    BOOST_TEST(!allows(cn, actions::publish, topic_arn(scope, "dev+1"), context));
    BOOST_TEST(!allows(org, actions::publish, topic_arn(scope, std::string(1025, 'o')), context));
}

BOOST_AUTO_TEST_CASE(special_character_variables_stand_for_themselves) {
    const Policy policy = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/literal/${*}/${?}/${$}"));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "literal/*/?/$")));
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "literal/x/y/$")));
}

BOOST_AUTO_TEST_CASE(version_2008_leaves_variables_as_text) {
    const Policy policy = must_parse(R"({"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"iot:Connect",
        "Resource":"arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"}})");
    BOOST_TEST(!allows(policy, actions::connect, client_arn(scope, "c1"), client("c1")));
    BOOST_TEST(allows(policy, actions::connect, client_arn(scope, "${iot:ClientId}"), client("c1")));
}

BOOST_AUTO_TEST_CASE(variable_names_are_case_insensitive) {
    const Policy policy = must_parse(allow("iot:Connect", "arn:aws:iot:us-east-1:123456789012:client/${IOT:clientid}"));
    BOOST_TEST(allows(policy, actions::connect, client_arn(scope, "c1"), client("c1")));
}

BOOST_AUTO_TEST_CASE(unknown_variables_resolve_only_from_extra_values) {
    const Policy policy = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/${custom:Tenant}/*"));
    RequestContext context;
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "acme/x"), context));
    context.extra["custom:tenant"] = {"acme"};
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "acme/x"), context));
    context.extra["custom:tenant"] = {"acme", "other"};  // multi-valued: not substitutable
    BOOST_TEST(!allows(policy, actions::publish, topic_arn(scope, "acme/x"), context));
}

BOOST_AUTO_TEST_CASE(unterminated_variable_is_literal_text) {
    const Policy policy = must_parse(allow("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/a${iot:ClientId"));
    BOOST_TEST(allows(policy, actions::publish, topic_arn(scope, "a${iot:ClientId"), client("c")));
}

BOOST_AUTO_TEST_SUITE_END()
