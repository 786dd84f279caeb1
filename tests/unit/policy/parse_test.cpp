// Parsing and validation: what CreatePolicy accepts, and the MalformedPolicyException it
// answers otherwise (reference §4.4, §4.7).

#include <string>

#include <boost/test/unit_test.hpp>

#include "policy_harness.hpp"

using namespace policy_test;

BOOST_AUTO_TEST_SUITE(policy_parse)

BOOST_AUTO_TEST_CASE(statement_may_be_a_single_object_or_an_array) {
    const Policy one = must_parse(
        R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*"}})");
    const Policy many = must_parse(R"({"Version":"2012-10-17","Statement":[
        {"Sid":"A","Effect":"Allow","Action":"iot:Connect","Resource":"*"},
        {"Sid":"B","Effect":"Deny","Action":["iot:Publish"],"Resource":["*"]}]})");
    BOOST_TEST(one.statement_count() == 1U);
    BOOST_TEST(many.statement_count() == 2U);
    BOOST_TEST(many.statement_sid(1) == "B");
    BOOST_TEST((many.statement_effect(1) == Effect::deny));
    BOOST_TEST((one.version() == LanguageVersion::v2012_10_17));
}

BOOST_AUTO_TEST_CASE(version_2008_and_a_missing_version_are_accepted_as_2008) {
    const Policy old = must_parse(
        R"({"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*"}})");
    const Policy none = must_parse(R"({"Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*"}})");
    BOOST_TEST((old.version() == LanguageVersion::v2008_10_17));
    BOOST_TEST((none.version() == LanguageVersion::v2008_10_17));
}

BOOST_AUTO_TEST_CASE(other_versions_are_malformed) {
    const PolicyError error = must_fail(
        R"({"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*"}})");
    BOOST_TEST(error.message == "Policy document is Malformed: Invalid policy syntax.");
    BOOST_TEST(error.path == "/Version");
}

BOOST_AUTO_TEST_CASE(invalid_json_is_malformed_with_line_and_column) {
    // AWS answers a document that is not JSON with exactly this text (the CLI's "file://"
    // mistake sends the file name as the document).
    const PolicyError error = must_fail("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [,]\n}");
    BOOST_TEST(error.message == "Policy document is Malformed");
    BOOST_TEST(error.line == 3U);
    BOOST_TEST(error.column == 17U);
    BOOST_TEST(!error.detail.empty());
    const PolicyError file_name = must_fail("./policy.json");
    BOOST_TEST(file_name.message == "Policy document is Malformed");
    BOOST_TEST(file_name.line == 1U);
}

BOOST_AUTO_TEST_CASE(document_must_be_an_object_with_statement) {
    BOOST_TEST(must_fail("[]").message == "Policy document is Malformed: Invalid policy syntax.");
    BOOST_TEST(must_fail(R"({"Version":"2012-10-17"})").detail == "a policy needs Statement");
    BOOST_TEST(must_fail(R"({"Version":"2012-10-17","Statement":"x"})").path == "/Statement");
    BOOST_TEST(must_fail(R"({"Version":"2012-10-17","Statement":[],"Extra":1})").path == "/Extra");
}

BOOST_AUTO_TEST_CASE(effect_must_be_allow_or_deny_exactly) {
    const PolicyError error = must_fail(
        R"({"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"iot:*","Resource":"*"}]})");
    BOOST_TEST(error.message == "Policy document is Malformed: Invalid policy syntax.");
    BOOST_TEST(error.path == "/Statement/0/Effect");
    BOOST_TEST(must_fail(R"({"Statement":{"Action":"iot:*","Resource":"*"}})").path == "/Statement");
}

BOOST_AUTO_TEST_CASE(action_and_not_action_are_exclusive_and_one_is_required) {
    BOOST_TEST(must_fail(R"({"Statement":{"Effect":"Allow","Resource":"*"}})").detail ==
               "a statement needs Action or NotAction");
    BOOST_TEST(
        must_fail(R"({"Statement":{"Effect":"Allow","Action":"iot:*","NotAction":"iot:Connect","Resource":"*"}})")
            .message == "Policy document is Malformed: Invalid policy syntax.");
    BOOST_TEST(must_fail(R"({"Statement":{"Effect":"Allow","Action":"iot:*"}})").detail ==
               "a statement needs Resource or NotResource");
    BOOST_TEST(
        must_fail(R"({"Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*","NotResource":"*"}})")
            .path == "/Statement/Resource");
}

BOOST_AUTO_TEST_CASE(action_lists_must_be_non_empty_arrays_of_strings) {
    BOOST_TEST(must_fail(R"({"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}})").path ==
               "/Statement/Action");
    BOOST_TEST(must_fail(R"({"Statement":{"Effect":"Allow","Action":["iot:Connect",3],"Resource":"*"}})")
                   .path == "/Statement/Action/1");
    BOOST_TEST(must_fail(R"({"Statement":{"Effect":"Allow","Action":"iot:*","Resource":{}}})").path ==
               "/Statement/Resource");
}

BOOST_AUTO_TEST_CASE(action_names_need_a_service_prefix) {
    const PolicyError error =
        must_fail(R"({"Statement":[{"Effect":"Allow","Action":["iot:Connect","Publish"],"Resource":"*"}]})");
    BOOST_TEST(error.path == "/Statement/0/Action/1");
    BOOST_TEST(error.detail.find("Publish") != std::string::npos);
    BOOST_TEST(must_fail(R"({"Statement":{"Effect":"Allow","Action":"io*:Publish","Resource":"*"}})")
                   .message == "Policy document is Malformed: Invalid policy syntax.");
    // Other services' actions (Greengrass cores use greengrass:*) are valid, they just never
    // match an iot: request.
    must_parse(R"({"Statement":{"Effect":"Allow","Action":"greengrass:*","Resource":"*"}})");
}

BOOST_AUTO_TEST_CASE(resources_that_are_not_arns_are_listed_in_the_message) {
    const PolicyError error = must_fail(R"({"Statement":{"Effect":"Allow","Action":"iot:*",
        "Resource":["arn:aws:iot:us-east-1:123456789012:topic/a","\\","topic/b"]}})");
    BOOST_TEST(error.message ==
               "Policy document is Malformed: The following resources are invalid : \\, topic/b");
    BOOST_TEST(error.path == "/Statement/Resource");
}

BOOST_AUTO_TEST_CASE(principal_is_not_an_iot_policy_element) {
    const PolicyError error = must_fail(
        R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"iot:*","Resource":"*"}})");
    BOOST_TEST(error.path == "/Statement/Principal");
}

BOOST_AUTO_TEST_CASE(size_limit_counts_characters_without_whitespace) {
    // A document of exactly 2048 non-whitespace characters passes however much whitespace it
    // holds; one more character is refused.
    const std::string head =
        R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/)";
    const std::string tail = R"("}})";
    const std::size_t fill = 2048 - head.size() - tail.size();
    const std::string exact = head + std::string(fill, 'a') + tail;
    BOOST_REQUIRE_EQUAL(exact.size(), 2048U);
    std::string spaced = exact;
    spaced.insert(1, std::string(5000, ' '));
    spaced.insert(spaced.size() - 2, "\n\t\r\n");
    must_parse(exact);
    must_parse(spaced);
    const PolicyError error = must_fail(head + std::string(fill + 1, 'a') + tail);
    BOOST_TEST(error.message.starts_with("Policy document is Malformed: Policy document is too large"));
    BOOST_TEST(error.message.find("2049") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(size_limit_counts_utf8_characters_not_bytes) {
    const std::string head =
        R"({"Statement":{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/)";
    const std::string tail = R"("}})";
    std::string document = head;
    for (std::size_t i = head.size() + tail.size(); i < 2048; ++i) {
        document += "\xC3\xA9";  // é: two bytes, one character
    }
    document += tail;
    BOOST_TEST(document.size() > 2048U);
    must_parse(document);
}

BOOST_AUTO_TEST_CASE(raw_size_is_bounded_before_counting) {
    const std::string huge(404601, ' ');
    BOOST_TEST(must_fail(huge).message.find("404601 bytes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_condition_operators_are_malformed) {
    const PolicyError error = must_fail(R"({"Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*",
        "Condition":{"StringEqualz":{"iot:ClientId":"a"}}}})");
    BOOST_TEST(error.message == "Policy document is Malformed: Invalid policy syntax.");
    BOOST_TEST(error.path == "/Statement/Condition/StringEqualz");
}

BOOST_AUTO_TEST_CASE(valid_operators_iotsim_does_not_evaluate_are_refused_by_name) {
    const PolicyError error = must_fail(R"({"Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*",
        "Condition":{"BinaryEquals":{"aws:Key":"QmluYXJ5"}}}})");
    BOOST_TEST(error.message ==
               "Policy document is Malformed: Condition operator BinaryEquals is not supported by iotsim");
}

BOOST_AUTO_TEST_CASE(condition_values_are_checked_against_their_operator) {
    const auto with_condition = [](const std::string& condition) {
        return R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":)" +
               condition + "}}";
    };
    BOOST_TEST(must_fail(with_condition(R"({"NumericLessThan":{"aws:EpochTime":"soon"}})")).path ==
               "/Statement/Condition/NumericLessThan/aws:EpochTime");
    BOOST_TEST(must_fail(with_condition(R"({"DateLessThan":{"aws:CurrentTime":"yesterday"}})")).detail ==
               "invalid condition value 'yesterday'");
    BOOST_TEST(must_fail(with_condition(R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}})")).path ==
               "/Statement/Condition/IpAddress/aws:SourceIp");
    BOOST_TEST(must_fail(with_condition(R"({"Bool":{"iot:Connection.Thing.IsAttached":"yes"}})"))
                   .message == "Policy document is Malformed: Invalid policy syntax.");
    BOOST_TEST(must_fail(with_condition(R"({"StringEquals":{"noprefix":"a"}})")).detail ==
               "invalid condition key 'noprefix'");
    BOOST_TEST(must_fail(with_condition(R"({"StringEquals":{"iot:ClientId":[]}})")).path ==
               "/Statement/Condition/StringEquals/iot:ClientId");
    BOOST_TEST(must_fail(with_condition(R"({"StringEquals":{"iot:ClientId":{"a":1}}})")).path ==
               "/Statement/Condition/StringEquals/iot:ClientId");
    BOOST_TEST(must_fail(with_condition(R"({"NullIfExists":{"iot:ClientId":"true"}})")).path ==
               "/Statement/Condition/NullIfExists");
    BOOST_TEST(must_fail(with_condition(R"({"StringEquals":[]})")).path ==
               "/Statement/Condition/StringEquals");
    // Numbers and booleans stand for their text, as in IAM.
    must_parse(with_condition(R"({"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"aws:EpochTime":1893456000}})"));
}

BOOST_AUTO_TEST_CASE(empty_statement_list_is_accepted_and_allows_nothing) {
    // AMBIG: AWS does not say; IAM's grammar allows it. Such a policy only denies implicitly.
    const Policy policy = must_parse(R"({"Version":"2012-10-17","Statement":[]})");
    BOOST_TEST(policy.statement_count() == 0U);
    BOOST_TEST(!allows(policy, actions::connect, client_arn(scope, "c")));
}

BOOST_AUTO_TEST_CASE(id_is_accepted_and_must_be_a_string) {
    must_parse(R"({"Version":"2012-10-17","Id":"x","Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*"}})");
    BOOST_TEST(must_fail(R"({"Id":1,"Statement":[]})").path == "/Id");
}

BOOST_AUTO_TEST_CASE(policy_carries_its_name_and_arn) {
    const Policy policy = must_parse(allow("iot:*", "*"), "MyPolicy");
    BOOST_TEST(policy.name() == "MyPolicy");
    BOOST_TEST(policy.arn() == "arn:aws:iot:us-east-1:123456789012:policy/TestPolicy");
}

BOOST_AUTO_TEST_SUITE_END()
