#include "iotsim/actions/action_runner.hpp"

#include <algorithm>
#include <fstream>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "iotsim/http/base64.hpp"
#include "iotsim/mqtt/topic.hpp"

namespace iotsim::actions {

namespace {

using nlohmann::json;

std::string str(const json& config, const char* key) {
    auto it = config.find(key);
    if (it == config.end()) {
        return "";
    }
    return it->is_string() ? it->get<std::string>() : it->dump();
}

/// The last component of an ARN or URL ("arn:aws:sns:r:a:topic" -> "topic", ".../queue" -> "queue").
std::string last_component(std::string_view s, char sep) {
    const auto at = s.rfind(sep);
    return std::string(at == std::string_view::npos ? s : s.substr(at + 1));
}

/// json for a payload: parsed when it is JSON, else the text.
json payload_json(std::string_view payload) {
    json j = json::parse(payload, nullptr, false);
    return j.is_discarded() ? json(std::string(payload)) : j;
}

std::optional<std::string> append_line(const std::filesystem::path& file, const json& line) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    std::ofstream out(file, std::ios::app | std::ios::binary);
    if (!out) {
        return "cannot open " + file.string();
    }
    out << line.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
    out.flush();
    if (!out) {
        return "cannot write " + file.string();
    }
    return std::nullopt;
}

/// The function name of a Lambda ARN (arn:aws:lambda:region:account:function:name[:qualifier]).
std::string lambda_name(const std::string& arn) {
    const auto pos = arn.find(":function:");
    if (pos == std::string::npos) {
        return arn;
    }
    std::string rest = arn.substr(pos + 10);
    return rest.substr(0, rest.find(':'));
}

}  // namespace

bool safe_component(std::string_view name) {
    return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
           });
}

std::optional<std::filesystem::path> safe_key(std::string_view key) {
    if (key.empty() || key.starts_with('/') || key.find('\0') != std::string_view::npos ||
        key.find('\\') != std::string_view::npos) {
        return std::nullopt;
    }
    std::filesystem::path out;
    while (true) {
        const auto slash = key.find('/');
        const std::string_view part = key.substr(0, slash);
        if (part.empty() || part == "." || part == "..") {
            return std::nullopt;
        }
        out /= std::string(part);
        if (slash == std::string_view::npos) {
            break;
        }
        key.remove_prefix(slash + 1);
    }
    return out;
}

std::vector<broker::Message> ActionRunner::run(const ruleset::RuleActionRequest& request) {
    std::vector<broker::Message> republish;
    std::vector<ruleset::ActionFailure> failures = request.failures;
    for (const auto& action : request.actions) {
        if (auto error = run_one(request, action, request.payload, republish)) {
            failures.push_back(ruleset::ActionFailure{ruleset::failed_action_name(action.type),
                                                      ruleset::failed_resource_of(action), *error});
        }
    }
    if (failures.empty()) {
        return republish;
    }
    if (!request.error_action) {
        ++stats_.dropped;
        return republish;
    }
    ++stats_.error_actions;
    if (run_one(request, *request.error_action, ruleset::error_action_payload(request, failures), republish)) {
        ++stats_.dropped;
    }
    return republish;
}

std::optional<std::string> ActionRunner::run_one(const ruleset::RuleActionRequest& request,
                                                 const ruleset::RenderedAction& action, std::string_view payload,
                                                 std::vector<broker::Message>& republish) {
    ++stats_.run;
    std::optional<std::string> error;
    if (action.type == "republish") {
        // Only an errorAction republish reaches the host: it goes back in through the core.
        broker::Message m;
        m.topic = str(action.config, "topic");
        m.payload = std::string(payload);
        m.qos = action.config.value("qos", 0) == 1 ? mqtt::QoS::at_least_once : mqtt::QoS::at_most_once;
        if (mqtt::is_valid_topic_name(m.topic)) {
            republish.push_back(std::move(m));
        } else {
            error = "Failed to republish to topic. The topic is invalid: " + m.topic;
        }
    } else {
        error = perform(action, payload);
    }
    if (error) {
        ++stats_.failed;
    }
    if (keep_records) {
        records_.push_back(ActionRecord{request.rule_name, action.index, action.type,
                                        ruleset::failed_resource_of(action), std::string(payload), error});
    }
    return error;
}

std::optional<std::string> FileActionRunner::perform(const ruleset::RenderedAction& a, std::string_view payload) {
    const json& c = a.config;
    const auto bad_name = [&](const std::string& what, const std::string& name) {
        return std::optional<std::string>("The " + what + " name is invalid for iotsim's local stand-in: '" + name + "'");
    };
    if (a.type == "s3") {
        const std::string bucket = str(c, "bucketName");
        const std::string key = str(c, "key");
        auto rel = safe_key(key);
        if (!safe_component(bucket) || !rel) {
            return "Failed to put S3 object. The error received was The specified key or bucket is invalid (bucket '" +
                   bucket + "', key '" + key + "')";
        }
        const auto file = dir_ / "s3" / bucket / *rel;
        std::error_code ec;
        std::filesystem::create_directories(file.parent_path(), ec);
        std::ofstream out(file, std::ios::trunc | std::ios::binary);
        out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
        out.flush();
        if (!out) {
            return "Failed to put S3 object. The error received was cannot write " + file.string();
        }
        return std::nullopt;
    }
    if (a.type == "sqs") {
        const std::string queue = last_component(str(c, "queueUrl"), '/');
        if (!safe_component(queue)) {
            return bad_name("queue", queue);
        }
        const bool b64 = c.value("useBase64", false);
        return append_line(dir_ / "sqs" / (queue + ".jsonl"),
                           json{{"body", b64 ? http::base64_encode(payload) : std::string(payload)}});
    }
    if (a.type == "sns") {
        const std::string topic = last_component(str(c, "targetArn"), ':');
        if (!safe_component(topic)) {
            return bad_name("SNS topic", topic);
        }
        return append_line(dir_ / "sns" / (topic + ".jsonl"), json{{"message", std::string(payload)}});
    }
    if (a.type == "dynamoDB") {
        const std::string table = str(c, "tableName");
        if (!safe_component(table)) {
            return bad_name("table", table);
        }
        json item{{str(c, "hashKeyField"), str(c, "hashKeyValue")}};
        if (c.contains("rangeKeyField")) {
            item[str(c, "rangeKeyField")] = str(c, "rangeKeyValue");
        }
        item[c.contains("payloadField") ? str(c, "payloadField") : std::string("payload")] = payload_json(payload);
        return append_line(dir_ / "dynamodb" / (table + ".jsonl"), item);
    }
    if (a.type == "dynamoDBv2") {
        const std::string table = c.contains("putItem") ? str(c["putItem"], "tableName") : "";
        if (!safe_component(table)) {
            return bad_name("table", table);
        }
        json item = payload_json(payload);
        if (!item.is_object()) {
            return std::optional<std::string>("Failed to put item into DynamoDB table. The payload is not a JSON object");
        }
        return append_line(dir_ / "dynamodb" / (table + ".jsonl"), item);
    }
    if (a.type == "kinesis" || a.type == "firehose") {
        const std::string stream = str(c, a.type == "kinesis" ? "streamName" : "deliveryStreamName");
        if (!safe_component(stream)) {
            return bad_name("stream", stream);
        }
        json line{{"data", std::string(payload)}};
        if (a.type == "kinesis") {
            line["partitionKey"] = str(c, "partitionKey");
        }
        return append_line(dir_ / a.type / (stream + ".jsonl"), line);
    }
    if (a.type == "cloudwatchLogs") {
        std::string group = str(c, "logGroupName");
        std::replace(group.begin(), group.end(), '/', '_');
        if (!safe_component(group)) {
            return bad_name("log group", group);
        }
        return append_line(dir_ / "cloudwatch" / "logs" / (group + ".jsonl"), json{{"message", std::string(payload)}});
    }
    if (a.type == "cloudwatchMetric") {
        return append_line(dir_ / "cloudwatch" / "metrics.jsonl",
                           json{{"namespace", str(c, "metricNamespace")},
                                {"name", str(c, "metricName")},
                                {"value", str(c, "metricValue")},
                                {"unit", str(c, "metricUnit")},
                                {"timestamp", str(c, "metricTimestamp")}});
    }
    if (a.type == "lambda") {
        const std::string name = lambda_name(str(c, "functionArn"));
        if (!safe_component(name)) {
            return bad_name("function", name);
        }
        return run_lambda(name, payload);
    }
    return "Action type " + a.type + " is not supported by iotsim's local stand-ins";
}

std::optional<std::string> FileActionRunner::run_lambda(const std::string& name, std::string_view payload) {
    const auto exe = dir_ / "lambda" / name;
    if (::access(exe.c_str(), X_OK) != 0) {
        return "Failed to invoke lambda function. Function not found: " + name;
    }
    // The event goes in through a file (no pipe to fill while the child does not read).
    const auto event = dir_ / "lambda" / (name + ".event");
    {
        std::ofstream out(event, std::ios::trunc | std::ios::binary);
        out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
    }
    const auto log = dir_ / "lambda" / (name + ".log");
    int done[2];
    if (::pipe2(done, O_CLOEXEC) != 0) {
        return std::optional<std::string>("Failed to invoke lambda function. pipe failed");
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(done[0]);
        ::close(done[1]);
        return std::optional<std::string>("Failed to invoke lambda function. fork failed");
    }
    if (pid == 0) {
        // Child: stdin from the event, stdout/stderr to the log; `done[1]` stays open (without
        // CLOEXEC) until the function exits, which is how the parent sees the exit in poll().
        const int in = ::open(event.c_str(), O_RDONLY);
        const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in < 0 || out < 0) {
            ::_exit(126);
        }
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
        const int keep = ::dup(done[1]);  // dup clears O_CLOEXEC
        (void)keep;
        ::execl(exe.c_str(), exe.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(done[1]);
    pollfd p{done[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(lambda_timeout_.count()));
    ::close(done[0]);
    bool timed_out = false;
    if (ready == 0) {
        timed_out = true;
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (timed_out) {
        return "Failed to invoke lambda function. Task timed out after " + std::to_string(lambda_timeout_.count()) + " ms";
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return "Failed to invoke lambda function. The function exited with status " +
               std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    return std::nullopt;
}

std::optional<std::string> MemoryActionRunner::perform(const ruleset::RenderedAction& a, std::string_view) {
    const std::string resource = ruleset::failed_resource_of(a);
    if (std::find(fail_resources.begin(), fail_resources.end(), resource) != fail_resources.end()) {
        return "Failed to run " + a.type + " action. The resource " + resource + " is unavailable (injected)";
    }
    if (a.type == "s3" && !safe_key(a.config.value("key", ""))) {
        return std::optional<std::string>("Failed to put S3 object. The error received was The specified key is invalid");
    }
    return std::nullopt;
}

}  // namespace iotsim::actions
