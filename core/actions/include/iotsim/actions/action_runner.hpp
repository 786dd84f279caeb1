#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/broker/message.hpp"
#include "iotsim/common/result.hpp"
#include "iotsim/common/time.hpp"
#include "iotsim/rules/evaluate.hpp"
#include "iotsim/ruleset/engine.hpp"

/// Host side of the rules engine: IotCore::take_rule_actions() hands over what rules want done
/// outside the broker (everything but republish); an ActionRunner does it against local
/// stand-ins, off the broker's path, and routes failures to the rule's errorAction with AWS's
/// error message (reference §3.11). Not Sans-I/O: FileActionRunner writes files, runs processes
/// and sends HTTP requests, like core/storage; MemoryActionRunner is the simulator's.
namespace iotsim::actions {

struct ActionStats {
    std::uint64_t run = 0;          // actions attempted (errorActions included)
    std::uint64_t failed = 0;       // actions that failed
    std::uint64_t error_actions = 0;
    std::uint64_t dropped = 0;      // failures with no errorAction, or a failing errorAction
};

/// What an action did, for the simulator's trace and for tests.
struct ActionRecord {
    std::string rule_name;
    int index = 0;  // -1: the errorAction
    std::string type;
    std::string resource;
    std::string payload;
    std::optional<std::string> error;  // set when it failed
    /// What the stand-in stored: the JSON line appended (sqs, sns, dynamodb...), the lines of a
    /// multi-record write (timestream), {"object": "bucket/key"} for s3, the request for http;
    /// null for lambda (the payload is its event) and republish.
    nlohmann::json entry;
    /// The stand-in's file relative to the data directory ("sqs/alerts.jsonl",
    /// "s3/bucket/key", "lambda/fn"), the same for both runners; "" for republish.
    std::string stand_in;
};

/// What one action left in its stand-in (ActionRecord's `entry` and `stand_in`).
struct StandInWrite {
    nlohmann::json entry;
    std::string file;
};

class ActionRunner {
public:
    virtual ~ActionRunner() = default;
    /// Runs every action of `request`; if any failed (or the core reported failures), runs the
    /// errorAction with error_action_payload(). Returns the messages to publish back into the
    /// core with IotCore::publish (an errorAction that republishes).
    [[nodiscard]] std::vector<broker::Message> run(const ruleset::RuleActionRequest& request);
    [[nodiscard]] const ActionStats& stats() const { return stats_; }
    /// Every action run, in order (kept only when `keep_records`).
    [[nodiscard]] const std::vector<ActionRecord>& records() const { return records_; }
    bool keep_records = true;

protected:
    /// Performs one action (not republish) with `payload`; an error message on failure in
    /// AWS's words ("Failed to put S3 object. ...").
    /// `out` receives what the stand-in stored and where (see ActionRecord).
    [[nodiscard]] virtual std::optional<std::string> perform(const ruleset::RenderedAction& action,
                                                             std::string_view payload, StandInWrite& out) = 0;

private:
    std::optional<std::string> run_one(const ruleset::RuleActionRequest& request,
                                       const ruleset::RenderedAction& action, std::string_view payload,
                                       std::vector<broker::Message>& republish);
    ActionStats stats_;
    std::vector<ActionRecord> records_;
};

/// The wall clock a FileActionRunner stamps records with (the time a Timestream record gets when
/// its action has no `timestamp`). Time enters core/ only through such a seam (tests/tidy), from
/// the network host's clock; without one, a timestream action must carry its own `timestamp`.
using WallClock = std::function<WallTime()>;

/// The network host's runner: stand-ins under `data_dir`:
///   s3        DATA_DIR/s3/<bucket>/<key> (the key may not leave the bucket's folder)
///   sqs       DATA_DIR/sqs/<queue>.jsonl        {"body"} (base64 with useBase64)
///   sns       DATA_DIR/sns/<topic>.jsonl        {"message"}
///   dynamoDB  DATA_DIR/dynamodb/<table>.jsonl   {hashKeyField, rangeKeyField, payloadField}
///   dynamoDBv2 DATA_DIR/dynamodb/<table>.jsonl  the payload object as the item
///   kinesis   DATA_DIR/kinesis/<stream>.jsonl   {"partitionKey","data"}
///   firehose  DATA_DIR/firehose/<stream>.jsonl  {"data"}
///   cloudwatchLogs DATA_DIR/cloudwatch/logs/<group>.jsonl {"message"}
///   cloudwatchMetric DATA_DIR/cloudwatch/metrics.jsonl {namespace,name,value,unit,timestamp}
///   lambda    runs the executable DATA_DIR/lambda/<function-name> with the payload on stdin
///             (every event also appended to DATA_DIR/lambda/<function-name>.events.jsonl),
///             stdout/stderr appended to DATA_DIR/lambda/<function-name>.log, killed after
///             `lambda_timeout` (a failure then, as a non-zero exit or a missing executable)
///   http      a real HTTP/1.1 POST of the payload to an http:// url (https:// cannot be verified
///             offline and fails), with the configured headers; a 2xx answer within
///             `http_timeout` is success. Every attempt is appended to
///             DATA_DIR/http/requests.jsonl {"url","status" or "error","payload"}
///   timestream DATA_DIR/timestream/<database>/<table>.jsonl, one line per measure (each
///             top-level attribute of the payload object that is not a dimension):
///             {"dimensions":[{"name","value"}],"measureName","measureValue","measureValueType",
///             "time","timeUnit"}, typed BIGINT, DOUBLE, BOOLEAN or VARCHAR (null, object and
///             array attributes are skipped); the time is the action's `timestamp`, else
///             `wall_clock` in MILLISECONDS (with neither, the action fails)
/// Other action types fail ("not supported by iotsim") and go to the errorAction.
/// Blocking: run() returns when every action is done (a lambda or an http request may take up to
/// its timeout), so the network host calls it off the broker's thread.
class FileActionRunner final : public ActionRunner {
public:
    explicit FileActionRunner(std::filesystem::path data_dir,
                              std::chrono::milliseconds lambda_timeout = std::chrono::milliseconds(3000),
                              std::chrono::milliseconds http_timeout = std::chrono::milliseconds(3000),
                              WallClock wall_clock = {})
        : dir_(std::move(data_dir)),
          lambda_timeout_(lambda_timeout),
          http_timeout_(http_timeout),
          wall_clock_(std::move(wall_clock)) {}

    /// Runs the local function `function_arn` names (DATA_DIR/lambda/<name>) synchronously with
    /// `input` on stdin, under the lambda timeout: its stdout, or AWS's failure message. What
    /// IoT SQL's aws_lambda() calls. Thread-safe against run() on another thread (its own
    /// event and result files, DATA_DIR/lambda/<name>.invoke.event and .result).
    [[nodiscard]] Result<std::string, rules::RuntimeError> invoke(std::string_view function_arn, std::string_view input);

    /// The middle of invoke()'s file names (DATA_DIR/lambda/<name>.<tag>.event and
    /// .<tag>.result): two runners invoking on different threads need different tags.
    std::string invoke_tag = "invoke";

protected:
    std::optional<std::string> perform(const ruleset::RenderedAction& action, std::string_view payload,
                                       StandInWrite& out) override;

private:
    std::optional<std::string> run_lambda(const std::string& name, std::string_view payload,
                                          const std::filesystem::path* result = nullptr);
    std::optional<std::string> post_http(const nlohmann::json& config, std::string_view payload, StandInWrite& out);
    std::filesystem::path dir_;
    std::chrono::milliseconds lambda_timeout_;
    std::chrono::milliseconds http_timeout_;
    WallClock wall_clock_;
};

/// The simulator's runner: the same stand-ins in memory (records() is the "disk"); lambda and
/// http are recorded, not run (no process, no network); timestream fails on a payload that is
/// not a JSON object, as the file runner does. `fail_resources` makes actions on those resources
/// fail (fault injection): the url for http, "<database>/<table>" for timestream.
/// A local function for the simulator: its result for `event`, or a failure message.
using LambdaHandler = std::function<Result<std::string, rules::RuntimeError>(const std::string& function_name,
                                                                             std::string_view event)>;

class MemoryActionRunner final : public ActionRunner {
public:
    std::vector<std::string> fail_resources;
    /// Runs the lambda action's functions (a Python callable in iotsim's bindings); unset, a
    /// lambda action is only recorded.
    LambdaHandler lambda_handler;
    /// The time of timestream records without a timestamp (the simulator's virtual wall time).
    WallClock wall_clock;

protected:
    std::optional<std::string> perform(const ruleset::RenderedAction& action, std::string_view payload,
                                       StandInWrite& out) override;
};

/// The function name of a Lambda ARN (arn:aws:lambda:region:account:function:name[:qualifier]);
/// anything else is taken as the name itself.
[[nodiscard]] std::string lambda_function_name(std::string_view function_arn);
/// A Lambda function name as AWS allows it: 1 to 64 of [A-Za-z0-9_-].
[[nodiscard]] bool safe_function_name(std::string_view name);
/// A resource name usable as one path component: non-empty, at most 255 bytes, of
/// [A-Za-z0-9._-], and not "." or "..".
[[nodiscard]] bool safe_component(std::string_view name);
/// An S3 key as a relative path inside its bucket folder, or nullopt when it could escape it
/// (empty, absolute, "." or ".." segments, NUL, backslash).
[[nodiscard]] std::optional<std::filesystem::path> safe_key(std::string_view key);

}  // namespace iotsim::actions
