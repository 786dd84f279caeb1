// API properties of the rules engine that the .test files cannot express.

#include <boost/test/unit_test.hpp>

#include <string>

#include "iotsim/common/rng.hpp"
#include "iotsim/rules/evaluate.hpp"
#include "iotsim/rules/statement.hpp"
#include "iotsim/rules/template.hpp"
#include "iotsim/rules/value.hpp"

using namespace iotsim;
using namespace iotsim::rules;

BOOST_AUTO_TEST_SUITE(rules_api)

BOOST_AUTO_TEST_CASE(a_parse_error_reports_line_and_column_of_the_offending_token) {
    auto r = parse("SELECT temp\n  FRM 'a/b'");
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().line == 2);
    BOOST_TEST(r.error().column == 3);
    BOOST_TEST(r.error().message == "Expected FROM but found 'FRM'");
    BOOST_TEST(r.error().to_string() == "[rules.parse] Line 2:3: Expected FROM but found 'FRM'");
}

BOOST_AUTO_TEST_CASE(an_unknown_function_is_a_parse_error_at_its_name) {
    auto r = parse("SELECT nosuch(1) AS x FROM 'a'");
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().column == 8);
    BOOST_TEST(r.error().message == "Unknown function 'nosuch'");
}

BOOST_AUTO_TEST_CASE(from_filter_is_the_unquoted_topic_filter) {
    auto r = parse("SELECT * FROM 'sensors/+/data' WHERE temp > 30", SqlVersion::v2016_03_23);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r.value().from_filter() == "sensors/+/data");
    BOOST_TEST((r.value().version() == SqlVersion::v2016_03_23));
    BOOST_TEST(!r.value().select_value());
}

BOOST_AUTO_TEST_CASE(newuuid_is_a_pure_function_of_the_rng_seed) {
    auto st = parse("SELECT newuuid() AS a, newuuid() AS b FROM 't'").value();
    const auto run = [&](std::uint64_t seed) {
        Rng rng(seed);
        EvalContext ctx{rng};
        return evaluate(st, Message{"t", "{}"}, ctx).payload;
    };
    BOOST_TEST(run(7) == run(7));
    BOOST_TEST(run(7) != run(8));
    Rng rng(7);
    const std::string a = rng.uuid4();
    const std::string b = rng.uuid4();
    BOOST_TEST(run(7) == "{\"a\":\"" + a + "\",\"b\":\"" + b + "\"}");
}

BOOST_AUTO_TEST_CASE(timestamp_is_the_injected_wall_time_in_milliseconds) {
    auto st = parse("SELECT VALUE timestamp() FROM 't'").value();
    Rng rng(1);
    EvalContext ctx{rng};
    ctx.now = WallTime{std::chrono::nanoseconds(1'767'225'600'123'456'789)};
    BOOST_TEST(evaluate(st, Message{"t", "{}"}, ctx).payload == "1767225600123");
}

BOOST_AUTO_TEST_CASE(the_header_usage_example_evaluates_a_matching_message) {
    Rng rng(1);
    const Now now{Instant{}, WallTime{std::chrono::milliseconds(5)}};
    auto statement = rules::parse("SELECT temp, clientid() AS c FROM 'sensors/+/data' WHERE temp > 30",
                                  rules::SqlVersion::v2016_03_23);
    rules::EvalContext ctx{.rng = rng, .now = now.wall, .client_id = "dev1"};
    const std::string topic = "sensors/a/data";
    const std::string payload = R"({"temp":31.0})";
    BOOST_REQUIRE(rules::topic_matches(statement.value().from_filter(), topic));
    auto out = rules::evaluate(statement.value(), {topic, payload}, ctx);
    BOOST_TEST(out.matched());
    BOOST_TEST(out.payload == R"({"temp":31,"c":"dev1"})");
}

BOOST_AUTO_TEST_CASE(evaluate_reuses_the_outcome_and_resets_it) {
    auto st = parse("SELECT temp FROM 't' WHERE temp > 30").value();
    Rng rng(1);
    EvalContext ctx{rng};
    EvalOutcome out;
    evaluate(st, Message{"t", R"({"temp":35})"}, ctx, out);
    BOOST_TEST(out.matched());
    BOOST_TEST(out.payload == R"({"temp":35})");
    evaluate(st, Message{"t", R"({"temp":25})"}, ctx, out);
    BOOST_TEST(!out.matched());
    BOOST_TEST(out.payload.empty());
}

BOOST_AUTO_TEST_CASE(select_star_on_a_binary_payload_returns_its_bytes_unchanged) {
    auto st = parse("SELECT * FROM 't'").value();
    Rng rng(1);
    EvalContext ctx{rng};
    const std::string bytes("\x00\x01\xff\x7b", 4);
    const auto out = evaluate(st, Message{"t", bytes}, ctx);
    BOOST_TEST(out.matched());
    BOOST_TEST((out.format == PayloadFormat::Binary));
    BOOST_TEST(out.payload == bytes);
}

BOOST_AUTO_TEST_CASE(topic_filters_are_validated_and_matched_as_aws_does) {
    BOOST_TEST(valid_topic_filter("a/+/b"));
    BOOST_TEST(valid_topic_filter("#"));
    BOOST_TEST(valid_topic_filter("$aws/things/+/shadow/update/accepted"));
    BOOST_TEST(!valid_topic_filter("a/b#"));
    BOOST_TEST(!valid_topic_filter("a/#/b"));
    BOOST_TEST(!valid_topic_filter("a+/b"));
    BOOST_TEST(!valid_topic_filter(""));
    BOOST_TEST(topic_matches("a/+/c", "a/b/c"));
    BOOST_TEST(topic_matches("a/#", "a/b/c"));
    BOOST_TEST(!topic_matches("a/#", "a"));
    BOOST_TEST(!topic_matches("+/x", "$aws/x"));
    BOOST_TEST(!topic_matches("a/+", "a/b/c"));
    BOOST_TEST(topic_matches("a/+", "a/"));
}

BOOST_AUTO_TEST_CASE(a_template_error_points_at_the_column_inside_the_template) {
    auto t = parse_template("prefix/${topic(2) +}/x");
    BOOST_REQUIRE(!t.ok());
    BOOST_TEST(t.error().line == 1);
    BOOST_TEST(t.error().column == 20);
}

BOOST_AUTO_TEST_CASE(a_template_without_substitutions_says_so) {
    BOOST_TEST(!parse_template("plain/topic").value().has_substitutions());
    BOOST_TEST(parse_template("a/${topic()}").value().has_substitutions());
}

BOOST_AUTO_TEST_CASE(sql_versions_parse_from_their_api_strings) {
    BOOST_TEST((parse_sql_version("2015-10-08") == SqlVersion::v2015_10_08));
    BOOST_TEST((parse_sql_version("2016-03-23") == SqlVersion::v2016_03_23));
    BOOST_TEST((parse_sql_version("beta") == SqlVersion::v2016_03_23));
    BOOST_TEST(!parse_sql_version("2017-01-01").has_value());
    BOOST_TEST(to_string(SqlVersion::v2015_10_08) == "2015-10-08");
}

BOOST_AUTO_TEST_CASE(hostile_nesting_is_a_parse_error_not_a_crash) {
    std::string sql = "SELECT ";
    sql += std::string(5000, '(');
    sql += "1";
    sql += std::string(5000, ')');
    sql += " AS x FROM 't'";
    auto r = parse(sql);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().message == "Expression nested too deeply");
    const std::string deep_json = std::string(100000, '[') + std::string(100000, ']');
    BOOST_TEST(!parse_json(deep_json, SqlVersion::v2015_10_08).has_value());
}

BOOST_AUTO_TEST_CASE(sql_that_is_not_utf8_is_a_parse_error) {
    auto r = parse("SELECT '\xff' AS x FROM 't'");
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().message == "SQL statement is not valid UTF-8");
}

BOOST_AUTO_TEST_CASE(long_operator_and_member_chains_are_bounded_like_nesting) {
    const auto chain = [](std::string_view unit, std::string_view op, int n) {
        std::string text(unit);
        for (int i = 1; i < n; ++i) {
            text += op;
            text += unit;
        }
        return text;
    };
    BOOST_TEST(parse("SELECT " + chain("1", " + ", 150) + " AS x FROM 't'").ok());
    BOOST_TEST(parse("SELECT " + chain("1", "+", 100000) + " AS x FROM 't'").error().message ==
               "Expression nested too deeply");
    BOOST_TEST(parse("SELECT " + chain("a", ".", 100000) + " FROM 't'").error().message ==
               "Expression nested too deeply");
    BOOST_TEST(parse("SELECT a" + chain("[0]", "", 50000) + " AS x FROM 't'").error().message ==
               "Expression nested too deeply");
    BOOST_TEST(parse("SELECT 1 AS " + chain("a", ".", 1000) + " FROM 't'").error().message ==
               "Alias nested too deeply");
    Rng rng(1);
    EvalContext ctx{rng};
    auto st = parse("SELECT " + chain("1", " + ", 150) + " AS x FROM 't'").value();
    BOOST_TEST(evaluate(st, Message{"t", "{}"}, ctx).payload == R"({"x":150})");
}

BOOST_AUTO_TEST_CASE(json_round_trips_through_parse_and_write) {
    const std::string text = R"({"a":[1,2.5,"x\n",true,null,{"b":{}}],"c":-0.001})";
    auto v = parse_json(text, SqlVersion::v2015_10_08);
    BOOST_REQUIRE(v.has_value());
    BOOST_TEST(to_json(*v) == text);
}

BOOST_AUTO_TEST_SUITE_END()
