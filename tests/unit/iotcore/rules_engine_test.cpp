// The rules engine inside IotCore: rules are validated at create time, each enabled rule listens
// in the broker on its FROM filter, fires for every source (clients, IotCore::publish, the
// shadow service, lifecycle events, other rules), republishes in core and hands every other
// action to the host; the control plane over HTTP (TopicRuleRouter).

#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "iotsim/ruleset/router.hpp"

namespace iotsim::test {
namespace {

using CoreHarness = BasicHarness<iotcore::IotCore>;
using nlohmann::json;

void create_rule(CoreHarness& h, const std::string& name, const json& payload) {
    h.broker->rules().create(name, payload.dump(), h.now.wall);
}

json republish_to(const std::string& topic, int qos = 0) {
    return json{{"republish", {{"topic", topic}, {"roleArn", "arn:aws:iam::123456789012:role/r"}, {"qos", qos}}}};
}

std::string refusal(CoreHarness& h, const std::string& name, const std::string& payload) {
    try {
        h.broker->rules().create(name, payload, h.now.wall);
    } catch (const ruleset::RuleError& e) {
        return e.error().type + ": " + e.error().message;
    }
    return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(iotcore_rules_engine)

BOOST_AUTO_TEST_CASE(a_rule_fires_only_for_messages_whose_where_clause_is_true) {
    CoreHarness h;
    create_rule(h, "hot", {{"sql", "SELECT temp FROM 'sensors/+/data' WHERE temp > 30"},
                           {"actions", json::array({republish_to("alerts")})}});
    const auto app = h.connect("app");
    const auto dev = h.connect("dev");
    h.subscribe(app, "alerts");
    h.publish(dev, "sensors/a/data", R"({"temp":20})");
    BOOST_TEST(h.received(app).empty());
    h.publish(dev, "sensors/a/data", R"({"temp":35,"hum":2})");
    auto pubs = h.received(app);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(json::parse(pubs[0].payload) == json::parse(R"({"temp":35})"));
    BOOST_TEST(h.broker->rules().stats().evaluations == 2U);
    BOOST_TEST(h.broker->rules().stats().matches == 1U);
}

BOOST_AUTO_TEST_CASE(functions_in_the_projection_and_the_topic_template_are_evaluated_per_message) {
    CoreHarness h;
    create_rule(h, "fn", {{"sql", "SELECT upper(name) AS n, topic(2) AS dev, clientid() AS c FROM 'things/#'"},
                          {"awsIotSqlVersion", "2016-03-23"},
                          {"actions", json::array({republish_to("out/${topic(2)}")})}});
    const auto app = h.connect("app");
    const auto dev = h.connect("dev7");
    h.subscribe(app, "out/#");
    h.publish(dev, "things/d1/x", R"({"name":"lamp"})");
    auto pubs = h.received(app);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(pubs[0].topic == "out/d1");
    BOOST_TEST(json::parse(pubs[0].payload) == json::parse(R"({"n":"LAMP","dev":"d1","c":"dev7"})"));
}

BOOST_AUTO_TEST_CASE(a_republish_to_a_double_dollar_shadow_topic_reaches_the_shadow_service) {
    CoreHarness h;
    create_rule(h, "motion", {{"sql", "SELECT {'state': {'desired': {'on': true}}} AS doc FROM 'home/motion' WHERE motion = true"},
                              {"awsIotSqlVersion", "2016-03-23"},
                              {"actions", json::array({republish_to("$$aws/things/lamp/shadow/update", 1)})}});
    // SELECT VALUE would be the natural form; the object alias shows nested literals too.
    h.broker->rules().replace("motion",
                              json{{"sql", "SELECT VALUE {'state': {'desired': {'on': true}}} FROM 'home/motion' WHERE motion = true"},
                                   {"awsIotSqlVersion", "2016-03-23"},
                                   {"actions", json::array({republish_to("$$aws/things/lamp/shadow/update", 1)})}}
                                  .dump(),
                              h.now.wall);
    const auto lamp = h.connect("lamp");
    const auto sensor = h.connect("sensor");
    h.subscribe(lamp, "$aws/things/lamp/shadow/update/delta");
    h.publish(sensor, "home/motion", R"({"motion":false})");
    BOOST_TEST(h.received(lamp).empty());
    h.publish(sensor, "home/motion", R"({"motion":true})");
    auto pubs = h.received(lamp);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(json::parse(pubs[0].payload)["state"] == json::parse(R"({"on":true})"));
    BOOST_TEST(h.broker->stats().shadow_requests == 1U);
}

BOOST_AUTO_TEST_CASE(shadow_service_publications_trigger_rules) {
    CoreHarness h;
    create_rule(h, "audit", {{"sql", "SELECT topic(3) AS thing, version FROM '$aws/things/+/shadow/update/accepted'"},
                             {"actions", json::array({republish_to("audit")})}});
    const auto app = h.connect("app");
    h.subscribe(app, "audit");
    auto r = h.broker->shadow_update(shadow::ShadowKey{"lamp", ""}, R"({"state":{"reported":{"on":true}}})", h.now);
    h.apply(std::move(r.effects));
    auto pubs = h.received(app);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(json::parse(pubs[0].payload) == json::parse(R"({"thing":"lamp","version":1})"));
}

BOOST_AUTO_TEST_CASE(lifecycle_events_trigger_rules) {
    CoreHarness h;
    create_rule(h, "presence", {{"sql", "SELECT clientId, eventType FROM '$aws/events/presence/+/+'"},
                                {"actions", json::array({republish_to("presence")})}});
    const auto app = h.connect("app");
    h.subscribe(app, "presence");
    const auto dev = h.connect("dev1");
    auto pubs = h.received(app);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(json::parse(pubs[0].payload) == json::parse(R"({"clientId":"dev1","eventType":"connected"})"));
    h.disconnect(dev);
    pubs = h.received(app);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(json::parse(pubs[0].payload)["eventType"] == "disconnected");
}

BOOST_AUTO_TEST_CASE(an_http_publish_triggers_rules) {
    CoreHarness h;
    create_rule(h, "r", {{"sql", "SELECT * FROM 'in'"}, {"actions", json::array({republish_to("out")})}});
    const auto app = h.connect("app");
    h.subscribe(app, "out");
    broker::Message m;
    m.topic = "in";
    m.payload = R"({"a":1})";
    h.apply(h.broker->publish(std::move(m), h.now));
    BOOST_REQUIRE_EQUAL(h.received(app).size(), 1U);
}

BOOST_AUTO_TEST_CASE(basic_ingest_reaches_only_the_named_rule_which_sees_the_topic_without_prefix) {
    CoreHarness h;
    create_rule(h, "ingest", {{"sql", "SELECT topic() AS t, v FROM 'data/#'"}, {"actions", json::array({republish_to("ingested")})}});
    create_rule(h, "other", {{"sql", "SELECT * FROM 'data/#'"}, {"actions", json::array({republish_to("other")})}});
    const auto app = h.connect("app");
    const auto dev = h.connect("dev");
    h.subscribe(app, "ingested");
    h.subscribe(app, "other", QoS::at_least_once, 2);
    h.subscribe(app, "data/#", QoS::at_least_once, 3);
    h.publish(dev, "$aws/rules/ingest/data/room1", R"({"v":3})");
    auto pubs = h.received(app);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(pubs[0].topic == "ingested");
    BOOST_TEST(json::parse(pubs[0].payload) == json::parse(R"({"t":"data/room1","v":3})"));
    // A Basic Ingest message to a rule that does not exist is dropped.
    h.publish(dev, "$aws/rules/nosuch/data/room1", R"({"v":3})");
    BOOST_TEST(h.received(app).empty());
}

BOOST_AUTO_TEST_CASE(disabled_rules_do_not_fire_and_fire_again_once_enabled) {
    CoreHarness h;
    create_rule(h, "r", {{"sql", "SELECT * FROM 'in'"}, {"ruleDisabled", true}, {"actions", json::array({republish_to("out")})}});
    const auto app = h.connect("app");
    h.subscribe(app, "out");
    h.publish(app, "in", "{}");
    BOOST_TEST(h.received(app).empty());
    BOOST_TEST(h.broker->rules().stats().evaluations == 0U);
    h.broker->rules().set_enabled("r", true);
    h.publish(app, "in", "{}");
    BOOST_TEST(h.received(app).size() == 1U);
    h.broker->rules().set_enabled("r", false);
    h.publish(app, "in", "{}");
    BOOST_TEST(h.received(app).empty());
    h.broker->rules().remove("r");
    BOOST_TEST(h.broker->rules().size() == 0U);
}

BOOST_AUTO_TEST_CASE(a_failing_republish_is_routed_to_the_error_action_with_aws_error_message) {
    CoreHarness h;
    create_rule(h, "bad", {{"sql", "SELECT * FROM 'in'"},
                           {"actions", json::array({republish_to("out/${dest}")})},
                           {"errorAction", republish_to("errors")}});
    const auto app = h.connect("app");
    const auto dev = h.connect("dev");
    h.subscribe(app, "errors");
    h.publish(dev, "in", R"({"dest":"+"})");
    auto pubs = h.received(app);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    const auto e = json::parse(pubs[0].payload);
    BOOST_TEST(e["ruleName"] == "bad");
    BOOST_TEST(e["topic"] == "in");
    BOOST_TEST(e["clientId"] == "dev");
    BOOST_TEST(e["base64OriginalPayload"] == "eyJkZXN0IjoiKyJ9");
    BOOST_TEST(e["cloudwatchTraceId"].get<std::string>().size() == 36U);
    BOOST_REQUIRE_EQUAL(e["failures"].size(), 1U);
    BOOST_TEST(e["failures"][0]["failedAction"] == "RepublishAction");
    BOOST_TEST(e["failures"][0]["failedResource"] == "out/+");
}

BOOST_AUTO_TEST_CASE(get_thing_shadow_reads_the_local_shadow_service_and_a_missing_shadow_fails_the_rule) {
    CoreHarness h;
    h.apply(h.broker->shadow_update({"lamp", ""}, R"({"state":{"reported":{"on":true}}})", h.now).effects);
    h.apply(h.broker->shadow_update({"lamp", "battery"}, R"({"state":{"reported":{"pct":41}}})", h.now).effects);
    create_rule(h, "lookup", {{"sql", "SELECT get_thing_shadow(thing, 'arn:aws:iam::123456789012:role/r').state.reported.on AS on, "
                                      "get_thing_shadow(thing, 'battery', 'arn:aws:iam::123456789012:role/r').state.reported.pct AS pct, "
                                      "get_thing_shadow(thing, 'arn:aws:iam::123456789012:role/r').version AS v FROM 'check'"},
                              {"awsIotSqlVersion", "2016-03-23"},
                              {"actions", json::array({republish_to("answers")})},
                              {"errorAction", json{{"sqs", {{"roleArn", "r"}, {"queueUrl", "errors"}}}}}});
    const auto app = h.connect("app");
    const auto dev = h.connect("dev");
    h.subscribe(app, "answers");
    h.publish(dev, "check", R"({"thing":"lamp"})");
    auto pubs = h.received(app);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(json::parse(pubs[0].payload) == json::parse(R"({"on":true,"pct":41,"v":1})"));
    BOOST_TEST(h.broker->take_rule_actions().empty());
    // No such shadow: the evaluation fails and the errorAction gets GetThingShadow's message.
    h.publish(dev, "check", R"({"thing":"ghost"})");
    BOOST_TEST(h.received(app).empty());
    auto reqs = h.broker->take_rule_actions();
    BOOST_REQUIRE_EQUAL(reqs.size(), 1U);
    BOOST_REQUIRE_EQUAL(reqs[0].failures.size(), 1U);
    BOOST_TEST(reqs[0].failures[0].error_message.find("No shadow exists with name: 'ghost'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(host_actions_are_handed_over_rendered_with_their_error_action) {
    CoreHarness h;
    create_rule(h, "store", {{"sql", "SELECT temp FROM 'sensors/+'"},
                             {"actions", json::array({json{{"s3", {{"roleArn", "r"}, {"bucketName", "b"}, {"key", "${topic(2)}/k"}}}},
                                                      json{{"sqs", {{"roleArn", "r"}, {"queueUrl", "q"}}}}})},
                             {"errorAction", json{{"sns", {{"roleArn", "r"}, {"targetArn", "t"}}}}}});
    const auto dev = h.connect("dev");
    h.publish(dev, "sensors/s1", R"({"temp":3})");
    auto reqs = h.broker->take_rule_actions();
    BOOST_REQUIRE_EQUAL(reqs.size(), 1U);
    BOOST_TEST(reqs[0].rule_name == "store");
    BOOST_TEST(reqs[0].payload == R"({"temp":3})");
    BOOST_REQUIRE_EQUAL(reqs[0].actions.size(), 2U);
    BOOST_TEST(reqs[0].actions[0].config["key"] == "s1/k");
    BOOST_TEST(reqs[0].actions[1].index == 1);
    BOOST_REQUIRE(reqs[0].error_action.has_value());
    BOOST_TEST(reqs[0].error_action->type == "sns");
    BOOST_TEST(h.broker->take_rule_actions().empty());
}

BOOST_AUTO_TEST_CASE(templates_nested_in_an_action_configuration_are_rendered_too) {
    // AWS renders substitution templates in http headers' values and timestream dimensions,
    // not only in top-level fields; literal nested strings stay as they are.
    CoreHarness h;
    create_rule(h, "nested", {{"sql", "SELECT temp, site FROM 'sensors/+'"},
                              {"actions", json::array({json{{"http", {{"url", "http://127.0.0.1:9/${topic(2)}"},
                                                                      {"headers", json::array({{{"key", "x-site"}, {"value", "${site}"}},
                                                                                               {{"key", "x-fixed"}, {"value", "plain"}}})}}}},
                                                       json{{"timestream", {{"roleArn", "r"}, {"databaseName", "db"}, {"tableName", "t"},
                                                                            {"dimensions", json::array({{{"name", "dev"}, {"value", "${topic(2)}"}}})}}}}})}});
    const auto dev = h.connect("dev");
    h.publish(dev, "sensors/s1", R"({"temp":3,"site":"north"})");
    auto reqs = h.broker->take_rule_actions();
    BOOST_REQUIRE_EQUAL(reqs.size(), 1U);
    const json& http = reqs[0].actions[0].config;
    BOOST_TEST(http["url"] == "http://127.0.0.1:9/s1");
    BOOST_TEST(http["headers"][0]["value"] == "north");
    BOOST_TEST(http["headers"][1]["value"] == "plain");
    BOOST_TEST(reqs[0].actions[1].config["dimensions"][0]["value"] == "s1");
    // A bad nested template is refused at create time, naming where it is.
    const auto error = refusal(h, "bad_nested", json{{"sql", "SELECT * FROM 'a'"},
                                                     {"actions", json::array({json{{"http", {{"url", "http://h/"},
                                                                                             {"headers", json::array({{{"key", "k"}, {"value", "${"}}})}}}}})}}.dump());
    BOOST_TEST(error.find("InvalidRequestException") == 0U);
    BOOST_TEST(error.find("headers.0.value") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_thousand_non_matching_rules_are_not_evaluated_for_a_message) {
    CoreHarness h;
    for (int i = 0; i < 1000; ++i) {
        create_rule(h, "r" + std::to_string(i), {{"sql", "SELECT * FROM 'other/" + std::to_string(i) + "/#'"},
                                                 {"actions", json::array({republish_to("x")})}});
    }
    create_rule(h, "match", {{"sql", "SELECT * FROM 'in'"}, {"actions", json::array({republish_to("out")})}});
    const auto app = h.connect("app");
    h.subscribe(app, "out");
    h.publish(app, "in", "{}");
    BOOST_TEST(h.received(app).size() == 1U);
    BOOST_TEST(h.broker->rules().stats().evaluations == 1U);
}

BOOST_AUTO_TEST_CASE(a_republish_loop_is_cut_by_the_dispatch_bound) {
    CoreHarness h;
    create_rule(h, "loop", {{"sql", "SELECT * FROM 'loop'"}, {"actions", json::array({republish_to("loop")})}});
    const auto dev = h.connect("dev");
    h.publish(dev, "loop", "{}");
    BOOST_TEST(h.broker->stats().dispatch_loops_cut >= 1U);
}

BOOST_AUTO_TEST_CASE(rules_survive_a_restart_through_their_store) {
    CoreHarness h;
    ruleset::MemoryRuleStore store;
    Rng rng{1};
    {
        iotcore::IotCore core({}, iotcore::IotCoreServices{h.auth, h.store, h.shadow_store, rng}, store);
        core.rules().create("keep", R"({"sql":"SELECT * FROM 'a'","actions":[]})", h.now.wall);
    }
    iotcore::IotCore core({}, iotcore::IotCoreServices{h.auth, h.store, h.shadow_store, rng}, store);
    (void)core.recover(h.now);
    BOOST_TEST(core.rules().get("keep").sql == "SELECT * FROM 'a'");
    BOOST_TEST(core.rules().get("keep").version_text == "2015-10-08");
}

BOOST_AUTO_TEST_CASE(invalid_rules_are_refused_at_create_time_with_aws_messages) {
    CoreHarness h;
    const std::string ok_actions = R"("actions":[])";
    BOOST_TEST(refusal(h, "my-rule", R"({"sql":"SELECT * FROM 'a'",)" + ok_actions + "}").starts_with(
        "InvalidRequestException: 1 validation error detected: Value 'my-rule' at 'ruleName'"));
    BOOST_TEST(refusal(h, std::string(129, 'a'), R"({"sql":"SELECT * FROM 'a'",)" + ok_actions + "}").starts_with(
        "InvalidRequestException"));
    BOOST_TEST(refusal(h, "r", R"({"sql":"SELECT * FORM 'a'",)" + ok_actions + "}").starts_with("SqlParseException: "));
    BOOST_TEST(refusal(h, "r", R"({"actions":[]})") ==
               "InvalidRequestException: 1 validation error detected: Value null at 'topicRulePayload.sql' failed to satisfy constraint: Member must not be null");
    BOOST_TEST(refusal(h, "r", R"({"sql":"SELECT * FROM 'a'","actions":[{"republish":{"topic":"x"}}]})") ==
               "InvalidRequestException: 1 validation error detected: Value null at 'topicRulePayload.actions.1.member.republish.roleArn' failed to satisfy constraint: Member must not be null");
    BOOST_TEST(refusal(h, "r", R"({"sql":"SELECT * FROM 'a'","actions":[{"republish":{"topic":"x","roleArn":"r","colour":1}}]})") ==
               "InvalidRequestException: Unknown field 'colour' in topicRulePayload.actions.1.member.republish");
    BOOST_TEST(refusal(h, "r", R"({"sql":"SELECT * FROM 'a'","actions":[{"teleport":{}}]})").starts_with(
        "InvalidRequestException: Unknown action type 'teleport'"));
    BOOST_TEST(refusal(h, "r", R"({"sql":"SELECT * FROM 'a'","actions":[{"republish":{"topic":"x/${nosuchfn()}","roleArn":"r"}}]})").starts_with(
        "InvalidRequestException: Invalid substitution template in topicRulePayload.actions.1.member.republish.topic"));
    BOOST_TEST(refusal(h, "r", R"({"sql":"SELECT * FROM 'a'","awsIotSqlVersion":"2099-01-01",)" + ok_actions + "}").starts_with(
        "InvalidRequestException"));
    BOOST_TEST(refusal(h, "r", R"({"sql":"SELECT * FROM '$share/g/a'",)" + ok_actions + "}").starts_with("SqlParseException"));
    BOOST_TEST(refusal(h, "r", R"({"sql":"SELECT * FROM 'a'",)" + ok_actions + "}").empty());
    BOOST_TEST(refusal(h, "r", R"({"sql":"SELECT * FROM 'a'",)" + ok_actions + "}").starts_with("ResourceAlreadyExistsException"));
    BOOST_TEST(h.broker->rules().get("r").version_text == "2015-10-08");
}

BOOST_AUTO_TEST_CASE(the_control_plane_router_serves_botocore_paths_and_shapes) {
    CoreHarness h;
    Rng rng{7};
    ruleset::TopicRuleRouter router(h.broker->rules(), rng);
    const auto call = [&](std::string method, std::string path, std::string body = "", std::string query = "") {
        http::Request r;
        r.method = std::move(method);
        r.path = std::move(path);
        r.target = r.path;
        r.body = std::move(body);
        r.query = std::move(query);
        return router.handle(r, h.now);
    };
    auto r = call("POST", "/rules/lamp_on", R"({"sql":"SELECT * FROM 'home/motion'","actions":[{"republish":{"topic":"x","roleArn":"r"}}]})");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.header("x-amzn-RequestId") != nullptr);
    r = call("GET", "/rules/lamp_on");
    BOOST_TEST(r.status == 200);
    auto j = json::parse(r.body);
    BOOST_TEST(j["ruleArn"] == "arn:aws:iot:us-east-1:123456789012:rule/lamp_on");
    BOOST_TEST(j["rule"]["awsIotSqlVersion"] == "2015-10-08");
    BOOST_TEST(j["rule"]["ruleDisabled"] == false);
    r = call("POST", "/rules/lamp_on/disable");
    BOOST_TEST(r.status == 200);
    r = call("GET", "/rules", "", "ruleDisabled=true");
    j = json::parse(r.body);
    BOOST_REQUIRE_EQUAL(j["rules"].size(), 1U);
    BOOST_TEST(j["rules"][0]["topicPattern"] == "home/motion");
    r = call("POST", "/rules/bad", R"({"sql":"SELEC","actions":[]})");
    BOOST_TEST(r.status == 400);
    BOOST_TEST(*r.header("x-amzn-ErrorType") == "SqlParseException");
    r = call("PUT", "/rules/lamp_on");
    BOOST_TEST(r.status == 405);
    http::Request enable;
    enable.method = "POST";
    enable.path = "/rules/x/enable";
    BOOST_TEST(ruleset::TopicRuleRouter::operation_for(enable) == "EnableTopicRule");
    r = call("DELETE", "/rules/lamp_on");
    BOOST_TEST(r.status == 200);
    r = call("GET", "/rules/lamp_on");
    BOOST_TEST(r.status == 401);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace iotsim::test
