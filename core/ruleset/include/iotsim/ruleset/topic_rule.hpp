#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/common/time.hpp"
#include "iotsim/http/error.hpp"
#include "iotsim/rules/statement.hpp"
#include "iotsim/rules/template.hpp"

/// Topic rules as AWS IoT Core keeps them (reference §3.1): the resource, its validation at
/// create time, and the compiled form the RulesEngine evaluates. Sans-I/O.
namespace iotsim::ruleset {

/// A refused rule request as AWS answers it: status, botocore exception name, message.
class RuleError : public std::exception {
public:
    explicit RuleError(http::ApiError error) : error_(std::move(error)) {}
    [[nodiscard]] const http::ApiError& error() const { return error_; }
    [[nodiscard]] const char* what() const noexcept override { return error_.message.c_str(); }

private:
    http::ApiError error_;
};

namespace errors {
inline constexpr const char* sql_parse = "SqlParseException";                             // 400
inline constexpr const char* invalid_request = "InvalidRequestException";                 // 400
inline constexpr const char* unauthorized = "UnauthorizedException";                      // 401
inline constexpr const char* resource_not_found = "ResourceNotFoundException";            // 404
inline constexpr const char* resource_already_exists = "ResourceAlreadyExistsException";  // 409
inline constexpr const char* conflicting_update = "ConflictingResourceUpdateException";   // 409
inline constexpr const char* internal = "InternalException";                              // 500
[[nodiscard]] RuleError make(const char* type, std::string message);
}  // namespace errors

/// Rule limits (reference §3.1): name 1..128 of [a-zA-Z0-9_], at most 10 actions.
inline constexpr std::size_t rule_name_max = 128;
inline constexpr std::size_t actions_max = 10;

/// Throws InvalidRequestException (AWS's validation message) unless `name` is a valid rule name.
void validate_rule_name(std::string_view name);

/// One action as configured (`{"s3": {...}}`), with its string fields parsed as templates.
struct CompiledAction {
    std::string type;       // the Action member name: "republish", "s3", "sqs"...
    nlohmann::json config;  // the member's object as given
    /// String fields rendered per message (those containing `$`, nested ones too; republish's
    /// topic always): the field's JSON pointer into `config` ("/key", "/headers/0/value") and
    /// its template.
    std::vector<std::pair<std::string, rules::Template>> templates;
};

/// A validated rule: what GetTopicRule shows plus the compiled statement and templates.
struct CompiledRule {
    std::string name;
    std::string sql;
    std::string description;
    rules::SqlVersion version = rules::SqlVersion::v2015_10_08;
    std::string version_text = "2015-10-08";  // as given ("beta" stays "beta")
    bool disabled = false;
    std::vector<CompiledAction> actions{};
    std::optional<CompiledAction> error_action{};
    rules::Statement statement;
    WallTime created_at{};

    /// The TopicRulePayload (sql, description, actions, ruleDisabled, awsIotSqlVersion,
    /// errorAction): what the RuleStore keeps and ReplaceTopicRule accepts.
    [[nodiscard]] nlohmann::json payload() const;
    /// GetTopicRule's `rule` member (TopicRule shape; createdAt in epoch seconds).
    [[nodiscard]] nlohmann::json to_topic_rule() const;
};

/// Parses and validates a TopicRulePayload (JSON text) for rule `name`. Throws RuleError:
/// InvalidRequestException for a bad name, malformed JSON, a missing `sql`/`actions`, more
/// than 10 actions, an unknown action type or field, a missing required field, a bad qos or
/// an invalid substitution template; SqlParseException for SQL that does not parse.
[[nodiscard]] CompiledRule compile_rule(std::string_view name, std::string_view payload_json,
                                        WallTime created_at);

/// `arn:aws:iot:<region>:<account>:rule/<name>`.
[[nodiscard]] std::string rule_arn(std::string_view name);

/// "RepublishAction", "S3Action", "DynamoDBv2Action"...: errorAction's `failedAction`.
[[nodiscard]] std::string failed_action_name(std::string_view type);

}  // namespace iotsim::ruleset
