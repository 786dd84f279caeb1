// TestAuthorization's evaluation and response shape (MODEL-IOT TestAuthorizationResponse).

#include "iotsim/policy/test_authorization.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "compiled.hpp"
#include "iotsim/policy/action.hpp"
#include "iotsim/policy/evaluate.hpp"

namespace iotsim::policy {

namespace {

using nlohmann::json;

constexpr std::size_t auth_infos_max = 10;     // AuthInfos: min 1, max 10
constexpr std::size_t resource_chars_max = 2048;  // Resource: max 2048

std::optional<std::string_view> action_for(std::string_view action_type) {
    if (action_type == "PUBLISH") {
        return actions::publish;
    }
    if (action_type == "SUBSCRIBE") {
        return actions::subscribe;
    }
    if (action_type == "RECEIVE") {
        return actions::receive;
    }
    if (action_type == "CONNECT") {
        return actions::connect;
    }
    return std::nullopt;
}

json policy_json(const Policy& policy) {
    json out = json::object();
    if (!policy.name().empty()) {
        out["policyName"] = policy.name();
    }
    if (!policy.arn().empty()) {
        out["policyArn"] = policy.arn();
    }
    return out;
}

enum class Verdict : std::uint8_t { deny, allow, none };

}  // namespace

Result<json, TestAuthorizationError> test_authorization(std::span<const Policy> policies,
                                                        const json& request,
                                                        const RequestContext& context) {
    if (!request.is_object() || !request.contains("authInfos") || !request["authInfos"].is_array()) {
        return TestAuthorizationError{"authInfos is required and must be a list"};
    }
    const json& auth_infos = request["authInfos"];
    if (auth_infos.empty() || auth_infos.size() > auth_infos_max) {
        return TestAuthorizationError{"authInfos must hold 1 to 10 entries"};
    }
    // Validate everything before evaluating anything: a request is answered whole or refused.
    std::vector<std::string_view> actions_of;
    for (const json& info : auth_infos) {
        if (!info.is_object()) {
            return TestAuthorizationError{"each authInfo must be an object"};
        }
        const auto type = info.find("actionType");
        if (type == info.end() || !type->is_string()) {
            return TestAuthorizationError{
                "authInfo.actionType is required: PUBLISH, SUBSCRIBE, RECEIVE or CONNECT"};
        }
        const std::optional<std::string_view> action = action_for(type->get_ref<const std::string&>());
        if (!action) {
            return TestAuthorizationError{"authInfo.actionType must be PUBLISH, SUBSCRIBE, RECEIVE or "
                                          "CONNECT, not " +
                                          type->get<std::string>()};
        }
        const auto resources = info.find("resources");
        if (resources == info.end() || !resources->is_array()) {
            return TestAuthorizationError{"authInfo.resources is required and must be a list"};
        }
        for (const json& resource : *resources) {
            if (!resource.is_string() ||
                resource.get_ref<const std::string&>().size() > resource_chars_max) {
                return TestAuthorizationError{
                    "authInfo.resources entries must be strings of at most 2048 characters"};
            }
        }
        actions_of.push_back(*action);
    }

    json results = json::array();
    for (std::size_t i = 0; i < auth_infos.size(); ++i) {
        const json& info = auth_infos[i];
        const json& resources = info["resources"];
        std::vector<Verdict> verdicts(policies.size(), Verdict::allow);
        std::vector<std::string> missing;
        bool any_explicit = false;
        bool all_allowed = !resources.empty();
        for (const json& resource : resources) {
            const Request req{.action = actions_of[i],
                              .resource = resource.get_ref<const std::string&>(),
                              .context = context};
            const Decision decision = evaluate(policies, req);
            const detail::FoldedAction action(req.action);
            any_explicit = any_explicit || decision.outcome == Outcome::explicit_deny;
            all_allowed = all_allowed && decision.allowed();
            // Per policy, for the lists: does it deny, allow, or say nothing about this resource?
            for (std::size_t p = 0; p < policies.size(); ++p) {
                const detail::CompiledPolicy& policy = detail::PolicyAccess::get(policies[p]);
                bool denies = false;
                bool allows = false;
                for (const detail::Statement& statement : policy.statements) {
                    if (detail::statement_applies(statement, action, req, &missing)) {
                        (statement.effect == Effect::deny ? denies : allows) = true;
                    }
                }
                if (denies) {
                    verdicts[p] = Verdict::deny;
                } else if (!allows && verdicts[p] == Verdict::allow) {
                    verdicts[p] = Verdict::none;
                }
            }
        }
        if (resources.empty()) {
            std::fill(verdicts.begin(), verdicts.end(), Verdict::none);
        }
        json allowed = json::array();
        json implicit_deny = json::array();
        json explicit_deny = json::array();
        for (std::size_t p = 0; p < policies.size(); ++p) {
            switch (verdicts[p]) {
            case Verdict::deny:
                explicit_deny.push_back(policy_json(policies[p]));
                break;
            case Verdict::allow:
                allowed.push_back(policy_json(policies[p]));
                break;
            case Verdict::none:
                implicit_deny.push_back(policy_json(policies[p]));
                break;
            }
        }
        const char* auth_decision =
            any_explicit ? "EXPLICIT_DENY" : (all_allowed ? "ALLOWED" : "IMPLICIT_DENY");
        json result = {
            {"authInfo", {{"actionType", info["actionType"]}, {"resources", resources}}},
            {"allowed", {{"policies", allowed}}},
            {"denied",
             {{"implicitDeny", {{"policies", implicit_deny}}},
              {"explicitDeny", {{"policies", explicit_deny}}}}},
            {"authDecision", auth_decision},
            {"missingContextValues", missing},
        };
        results.push_back(std::move(result));
    }
    return json{{"authResults", std::move(results)}};
}

}  // namespace iotsim::policy
