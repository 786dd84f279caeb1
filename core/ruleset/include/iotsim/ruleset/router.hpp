#pragma once

#include <string_view>

#include "iotsim/common/rng.hpp"
#include "iotsim/common/time.hpp"
#include "iotsim/http/message.hpp"
#include "iotsim/ruleset/engine.hpp"

namespace iotsim::ruleset {

/// The topic-rule operations of the iot control plane (botocore's `iot` 2015-05-28, rest-json)
/// over a RulesEngine: CreateTopicRule `POST /rules/{ruleName}`, ReplaceTopicRule `PATCH
/// /rules/{ruleName}`, GetTopicRule `GET /rules/{ruleName}`, DeleteTopicRule `DELETE
/// /rules/{ruleName}`, ListTopicRules `GET /rules`, EnableTopicRule `POST
/// /rules/{ruleName}/enable`, DisableTopicRule `POST /rules/{ruleName}/disable`.
/// The body of Create/Replace is the TopicRulePayload. Errors as registry::ControlPlaneRouter:
/// the model's status, `x-amzn-ErrorType`, `{"message": ...}`; a known path with another method
/// is 405, an unknown path 404. Every response carries `x-amzn-RequestId`.
/// Thread safety: none; one thread drives the router and the IotCore that owns the engine.
class TopicRuleRouter {
public:
    TopicRuleRouter(RulesEngine& engine, Rng& rng) : engine_(engine), rng_(rng) {}

    /// Answers one request. Never throws on input.
    [[nodiscard]] http::Response handle(const http::Request& request, Now now);

    /// The botocore operation name `request` routes to ("CreateTopicRule"...), or "" when the
    /// path is not a topic-rule path (for a host that dispatches one port to several routers).
    [[nodiscard]] static std::string_view operation_for(const http::Request& request);
    /// True if the path is under /rules (a wrong method there is still this router's 405).
    [[nodiscard]] static bool owns_path(std::string_view path);

private:
    RulesEngine& engine_;
    Rng& rng_;
};

}  // namespace iotsim::ruleset
