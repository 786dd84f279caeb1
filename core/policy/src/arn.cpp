#include "iotsim/policy/arn.hpp"

#include <string>

namespace iotsim::policy {

namespace {
std::string with(const ArnScope& scope, std::string_view type, std::string_view name) {
    std::string out = arn_prefix(scope);
    out.reserve(out.size() + type.size() + 1 + name.size());
    out += type;
    out += '/';
    out += name;
    return out;
}
}  // namespace

std::string arn_prefix(const ArnScope& scope) {
    return "arn:" + scope.partition + ":iot:" + scope.region + ":" + scope.account + ":";
}

std::string client_arn(const ArnScope& scope, std::string_view client_id) {
    return with(scope, "client", client_id);
}

std::string topic_arn(const ArnScope& scope, std::string_view topic) {
    return with(scope, "topic", topic);
}

std::string topicfilter_arn(const ArnScope& scope, std::string_view filter) {
    return with(scope, "topicfilter", filter);
}

std::string thing_arn(const ArnScope& scope, std::string_view thing_name) {
    return with(scope, "thing", thing_name);
}

std::string thing_arn(const ArnScope& scope, std::string_view thing_name,
                      std::string_view shadow_name) {
    std::string out = with(scope, "thing", thing_name);
    out += '/';
    out += shadow_name;
    return out;
}

std::string policy_arn(const ArnScope& scope, std::string_view policy_name) {
    return with(scope, "policy", policy_name);
}

}  // namespace iotsim::policy
