#pragma once

#include <string>
#include <string_view>

namespace iotsim::policy {

/// Where resources live: the partition, region and account of every ARN iotsim builds
/// (reference §4.1). Example: `{.region = "us-east-1", .account = "123456789012"}`.
struct ArnScope {
    std::string region;
    std::string account;
    std::string partition = "aws";
};

/// `arn:{partition}:iot:{region}:{account}:` — the common prefix of every IoT ARN. A caller on
/// the hot path (one ARN per publish and per delivery) keeps this string and appends to it.
[[nodiscard]] std::string arn_prefix(const ArnScope& scope);

/// `...:client/{client_id}`, the resource of iot:Connect (and iot:DeleteConnection).
[[nodiscard]] std::string client_arn(const ArnScope& scope, std::string_view client_id);
/// `...:topic/{topic}`, the resource of iot:Publish, iot:RetainPublish, iot:Receive and
/// iot:GetRetainedMessage. The topic is copied verbatim (no escaping: policies see the bytes).
[[nodiscard]] std::string topic_arn(const ArnScope& scope, std::string_view topic);
/// `...:topicfilter/{filter}`, the resource of iot:Subscribe. `+` and `#` stay literal.
[[nodiscard]] std::string topicfilter_arn(const ArnScope& scope, std::string_view filter);
/// `...:thing/{thing_name}`, the resource of the classic shadow's actions.
[[nodiscard]] std::string thing_arn(const ArnScope& scope, std::string_view thing_name);
/// `...:thing/{thing_name}/{shadow_name}`, the resource of a named shadow's actions.
[[nodiscard]] std::string thing_arn(const ArnScope& scope, std::string_view thing_name,
                                    std::string_view shadow_name);
/// `...:policy/{policy_name}`, as TestAuthorization reports `policyArn`.
[[nodiscard]] std::string policy_arn(const ArnScope& scope, std::string_view policy_name);

}  // namespace iotsim::policy
