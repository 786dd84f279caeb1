#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "iotsim/common/account.hpp"
#include "iotsim/common/result.hpp"
#include "iotsim/common/rng.hpp"
#include "iotsim/common/time.hpp"
#include "iotsim/rules/statement.hpp"

/// Evaluating a rule (AWS IoT SQL, reference §3) for one message:
///
///     auto statement = rules::parse("SELECT temp FROM 'sensors/+/data' WHERE temp > 30",
///                                   rules::SqlVersion::v2016_03_23);      // at create time
///     rules::EvalContext ctx{.rng = rng, .now = now.wall, .client_id = "dev1"};
///     if (rules::topic_matches(statement.value().from_filter(), topic)) {
///         auto out = rules::evaluate(statement.value(), {topic, payload}, ctx);
///         // out.kind: NoMatch (no actions), Match (actions get out.payload), Error (errorAction)
///     }
namespace iotsim::rules {

/// The message that triggered a rule: the topic it was published to and its payload bytes.
struct Message {
    std::string_view topic;
    std::string_view payload;
    /// MQTT 5 user properties in order, for get_user_properties().
    std::vector<std::pair<std::string, std::string>> user_properties{};
    /// MQTT 5 properties for get_mqtt_property(); absent when the publisher did not set them.
    std::optional<std::string> content_type{};
    std::optional<std::string> response_topic{};
    std::optional<std::string> correlation_data{};  // raw bytes; the function returns base64
    std::optional<bool> payload_format_utf8{};      // the Payload Format Indicator
};

/// A failure that AWS would route to the rule's errorAction (a failing external function).
struct RuntimeError {
    std::string message;
};

/// get_thing_shadow(thingName, [shadowName,] roleArn): the shadow document as JSON text, or an
/// error (e.g. "No shadow exists with name: 'x'"), which fails the rule evaluation.
using ShadowLookup = std::function<Result<std::string, RuntimeError>(
    std::string_view thing_name, std::optional<std::string_view> shadow_name,
    std::string_view role_arn)>;
/// aws_lambda(functionArn, inputJson): the function's JSON result, or an error.
using LambdaInvoke = std::function<Result<std::string, RuntimeError>(std::string_view function_arn,
                                                                     std::string_view input_json)>;

/// Everything an evaluation may read besides the message. The engine reads no clock and draws
/// randomness (for newuuid and the SQL rand function) only from `rng`.
struct EvalContext {
    Rng& rng;
    /// The rules engine's wall clock; timestamp() returns it in epoch milliseconds.
    WallTime now{};
    /// The publisher's MQTT client id; AWS reports "n/a" when the message did not come over MQTT.
    std::string client_id = "n/a";
    /// The authenticated principal (certificate id, IAM user id ...).
    std::string principal{};
    /// The message's trace id; traceid() is Undefined without one.
    std::optional<std::string> trace_id{};
    std::string account_id{default_account_id};
    std::optional<std::string> source_ip{};
    ShadowLookup get_thing_shadow{};
    LambdaInvoke aws_lambda{};
};

enum class OutcomeKind : std::uint8_t {
    NoMatch,  // WHERE was false or Undefined: no action runs, nothing is logged
    Match,    // the actions run with `payload`
    Error,    // a runtime failure: AWS routes the message to the rule's errorAction
};

enum class PayloadFormat : std::uint8_t { Json, Binary };

/// The result of evaluating a Statement against one message.
struct EvalOutcome {
    OutcomeKind kind = OutcomeKind::NoMatch;
    /// The outgoing payload: JSON text, or raw bytes when `format` is Binary (SELECT * on a
    /// non-JSON payload, SELECT VALUE of binary data).
    std::string payload;
    PayloadFormat format = PayloadFormat::Json;
    /// For Error: a one-line message, e.g. "get_thing_shadow failed: ...".
    std::string error;

    [[nodiscard]] bool matched() const { return kind == OutcomeKind::Match; }
};

/// Evaluates `statement` for `message`: WHERE first, then SELECT (reference §3.2). Assumes the
/// caller matched the topic against from_filter(). Never throws on any input.
/// Thread safety: `statement` may be shared; `context` (its Rng) belongs to one caller at a time.
[[nodiscard]] EvalOutcome evaluate(const Statement& statement, const Message& message,
                                   EvalContext& context);

/// The same, reusing `out`'s buffers (the hot path: the output string keeps its capacity).
void evaluate(const Statement& statement, const Message& message, EvalContext& context,
              EvalOutcome& out);

}  // namespace iotsim::rules
