// The host-side ActionRunner: local stand-ins in the data directory, errorAction on failure with
// AWS's message format, S3 keys that cannot leave their bucket folder, lambda with a timeout.

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "iotsim/actions/action_runner.hpp"

namespace iotsim::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/iotsim-actions-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

ruleset::RuleActionRequest request(std::vector<ruleset::RenderedAction> actions,
                                   std::optional<ruleset::RenderedAction> error_action = std::nullopt) {
    ruleset::RuleActionRequest r;
    r.rule_name = "rule1";
    r.topic = "in/topic";
    r.client_id = "dev";
    r.trace_id = "00000000-0000-4000-8000-000000000000";
    r.original_payload = R"({"temp":3})";
    r.payload = R"({"temp":3})";
    r.actions = std::move(actions);
    r.error_action = std::move(error_action);
    return r;
}

ruleset::RenderedAction action(int index, std::string type, json config) {
    return ruleset::RenderedAction{index, std::move(type), std::move(config)};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(action_runner)

BOOST_AUTO_TEST_CASE(local_stand_ins_write_s3_objects_and_json_lines_under_the_data_directory) {
    TempDir dir;
    actions::FileActionRunner runner(dir.path);
    auto out = runner.run(request({action(0, "s3", {{"bucketName", "b1"}, {"key", "a/b.json"}}),
                                   action(1, "sqs", {{"queueUrl", "https://sqs.us-east-1.amazonaws.com/1/q1"}}),
                                   action(2, "sns", {{"targetArn", "arn:aws:sns:us-east-1:1:t1"}}),
                                   action(3, "dynamoDBv2", {{"putItem", {{"tableName", "tab"}}}}),
                                   action(4, "kinesis", {{"streamName", "s"}, {"partitionKey", "p"}}),
                                   action(5, "firehose", {{"deliveryStreamName", "f"}}),
                                   action(6, "cloudwatchLogs", {{"logGroupName", "/iot/g"}}),
                                   action(7, "cloudwatchMetric", {{"metricNamespace", "n"}, {"metricName", "m"}, {"metricValue", "1"}, {"metricUnit", "Count"}})}));
    BOOST_TEST(out.empty());
    BOOST_TEST(read(dir.path / "s3/b1/a/b.json") == R"({"temp":3})");
    BOOST_TEST(json::parse(read(dir.path / "sqs/q1.jsonl"))["body"] == R"({"temp":3})");
    BOOST_TEST(json::parse(read(dir.path / "sns/t1.jsonl"))["message"] == R"({"temp":3})");
    BOOST_TEST(json::parse(read(dir.path / "dynamodb/tab.jsonl"))["temp"] == 3);
    BOOST_TEST(json::parse(read(dir.path / "kinesis/s.jsonl"))["partitionKey"] == "p");
    BOOST_TEST(fs::exists(dir.path / "firehose/f.jsonl"));
    BOOST_TEST(fs::exists(dir.path / "cloudwatch/logs/_iot_g.jsonl"));
    BOOST_TEST(json::parse(read(dir.path / "cloudwatch/metrics.jsonl"))["name"] == "m");
    BOOST_TEST(runner.stats().run == 8U);
    BOOST_TEST(runner.stats().failed == 0U);
}

BOOST_AUTO_TEST_CASE(an_s3_key_that_would_escape_the_bucket_fails_and_goes_to_the_error_action) {
    TempDir dir;
    actions::FileActionRunner runner(dir.path);
    auto out = runner.run(request({action(0, "s3", {{"bucketName", "b1"}, {"key", "../../etc/x"}})},
                                  action(-1, "republish", {{"topic", "errors"}})));
    BOOST_TEST(!fs::exists(dir.path / "etc"));
    BOOST_REQUIRE_EQUAL(out.size(), 1U);
    BOOST_TEST(out[0].topic == "errors");
    const auto e = json::parse(out[0].payload);
    BOOST_TEST(e["ruleName"] == "rule1");
    BOOST_TEST(e["clientId"] == "dev");
    BOOST_TEST(e["base64OriginalPayload"] == "eyJ0ZW1wIjozfQ==");
    BOOST_TEST(e["failures"][0]["failedAction"] == "S3Action");
    BOOST_TEST(e["failures"][0]["failedResource"] == "b1");
    BOOST_TEST(e["failures"][0]["errorMessage"].get<std::string>().starts_with("Failed to put S3 object."));
    BOOST_TEST(runner.stats().failed == 1U);
    BOOST_TEST(runner.stats().error_actions == 1U);
    BOOST_TEST(!actions::safe_key("a/./b"));
    BOOST_TEST(!actions::safe_key("/abs"));
    BOOST_TEST(!actions::safe_key("a//b"));
    BOOST_TEST(actions::safe_key("a/b.c").has_value());
    BOOST_TEST(!actions::safe_component(".."));
}

BOOST_AUTO_TEST_CASE(a_failure_without_error_action_is_counted_as_dropped) {
    TempDir dir;
    actions::FileActionRunner runner(dir.path);
    auto out = runner.run(request({action(0, "salesforce", {{"url", "u"}, {"token", "t"}})}));
    BOOST_TEST(out.empty());
    BOOST_TEST(runner.stats().dropped == 1U);
}

BOOST_AUTO_TEST_CASE(a_lambda_stand_in_gets_the_event_on_stdin_and_is_killed_after_its_timeout) {
    TempDir dir;
    fs::create_directories(dir.path / "lambda");
    {
        std::ofstream f(dir.path / "lambda/echo");
        f << "#!/bin/sh\ncat\n";
        std::ofstream g(dir.path / "lambda/hang");
        g << "#!/bin/sh\nexec cat /dev/zero > /dev/null\n";
        std::ofstream h(dir.path / "lambda/fail");
        h << "#!/bin/sh\nexit 3\n";
    }
    for (const char* n : {"echo", "hang", "fail"}) {
        fs::permissions(dir.path / "lambda" / n, fs::perms::owner_all);
    }
    actions::FileActionRunner runner(dir.path, std::chrono::milliseconds(300));
    (void)runner.run(request({action(0, "lambda", {{"functionArn", "arn:aws:lambda:us-east-1:1:function:echo"}})}));
    BOOST_TEST(read(dir.path / "lambda/echo.log") == R"({"temp":3})");
    BOOST_TEST(runner.stats().failed == 0U);
    (void)runner.run(request({action(0, "lambda", {{"functionArn", "arn:aws:lambda:us-east-1:1:function:hang"}})}));
    (void)runner.run(request({action(0, "lambda", {{"functionArn", "arn:aws:lambda:us-east-1:1:function:fail"}})}));
    (void)runner.run(request({action(0, "lambda", {{"functionArn", "arn:aws:lambda:us-east-1:1:function:none"}})}));
    BOOST_TEST(runner.stats().failed == 3U);
    BOOST_REQUIRE_EQUAL(runner.records().size(), 4U);
    BOOST_TEST(runner.records()[1].error->find("timed out") != std::string::npos);
    BOOST_TEST(runner.records()[2].error->find("status 3") != std::string::npos);
    // Every event is kept for `iotsim outputs lambda`.
    BOOST_TEST(read(dir.path / "lambda/echo.events.jsonl") == "{\"event_base64\":\"eyJ0ZW1wIjozfQ==\"}\n");
    // invoke() (IoT SQL's aws_lambda): stdout is the answer; the same failures as the action.
    auto answer = runner.invoke("arn:aws:lambda:us-east-1:1:function:echo", R"({"x":[1,2]})");
    BOOST_REQUIRE(answer.ok());
    BOOST_TEST(answer.value() == R"({"x":[1,2]})");
    BOOST_TEST(read(dir.path / "lambda/echo.log") == R"({"temp":3})");  // stdout not in the log
    BOOST_TEST(runner.invoke("arn:aws:lambda:us-east-1:1:function:hang", "{}").error().message.find("timed out") !=
               std::string::npos);
    BOOST_TEST(runner.invoke("fail", "{}").error().message.find("status 3") != std::string::npos);
    BOOST_TEST(runner.invoke("arn:aws:lambda:us-east-1:1:function:none", "{}").error().message.find("not found") !=
               std::string::npos);
    BOOST_TEST(!runner.invoke("arn:aws:lambda:us-east-1:1:function:../x", "{}").ok());
}

BOOST_AUTO_TEST_CASE(the_memory_runner_records_outcomes_and_injected_failures) {
    actions::MemoryActionRunner runner;
    runner.fail_resources = {"q-down"};
    (void)runner.run(request({action(0, "sqs", {{"queueUrl", "q-up"}}), action(1, "sqs", {{"queueUrl", "q-down"}})},
                             action(-1, "sns", {{"targetArn", "alerts"}})));
    BOOST_REQUIRE_EQUAL(runner.records().size(), 3U);
    BOOST_TEST(!runner.records()[0].error.has_value());
    BOOST_TEST(runner.records()[1].error.has_value());
    BOOST_TEST(runner.records()[2].index == -1);
    BOOST_TEST(json::parse(runner.records()[2].payload)["failures"][0]["failedAction"] == "SQSAction");
}

BOOST_AUTO_TEST_CASE(the_memory_runner_keeps_exactly_what_the_file_runner_writes) {
    // Same actions through both runners: each memory record's entry is the line the file
    // stand-in appended, so read_outputs (server) and action_outputs (simulator) agree.
    const std::vector<ruleset::RenderedAction> actions{
        action(0, "sqs", {{"queueUrl", "https://sqs.us-east-1.amazonaws.com/1/q1"}, {"useBase64", true}}),
        action(1, "dynamoDB", {{"tableName", "t"}, {"hashKeyField", "id"}, {"hashKeyValue", "7"},
                               {"rangeKeyField", "ts"}, {"rangeKeyValue", "9"}}),
        action(2, "kinesis", {{"streamName", "s"}, {"partitionKey", "p"}}),
        action(3, "cloudwatchLogs", {{"logGroupName", "/iot/g"}}),
        action(4, "s3", {{"bucketName", "b1"}, {"key", "a/b.json"}})};
    TempDir dir;
    actions::FileActionRunner disk(dir.path);
    actions::MemoryActionRunner memory;
    BOOST_TEST(disk.run(request(actions)).empty());
    BOOST_TEST(memory.run(request(actions)).empty());
    BOOST_REQUIRE_EQUAL(memory.records().size(), actions.size());
    const fs::path files[] = {"sqs/q1.jsonl", "dynamodb/t.jsonl", "kinesis/s.jsonl", "cloudwatch/logs/_iot_g.jsonl"};
    for (std::size_t i = 0; i < 4; ++i) {
        BOOST_TEST_CONTEXT(files[i]) {
            BOOST_TEST(memory.records()[i].entry == json::parse(read(dir.path / files[i])));
            BOOST_TEST(disk.records()[i].entry == memory.records()[i].entry);
            BOOST_TEST(memory.records()[i].stand_in == files[i].generic_string());
            BOOST_TEST(disk.records()[i].stand_in == memory.records()[i].stand_in);
        }
    }
    BOOST_TEST(memory.records()[1].entry == json::parse(R"({"id":"7","ts":"9","payload":{"temp":3}})"));
    BOOST_TEST(memory.records()[4].entry == json::parse(R"({"object":"b1/a/b.json"})"));
    BOOST_TEST(memory.records()[4].stand_in == "s3/b1/a/b.json");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace iotsim::test
