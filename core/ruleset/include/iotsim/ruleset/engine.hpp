#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/broker/ids.hpp"
#include "iotsim/broker/message.hpp"
#include "iotsim/common/rng.hpp"
#include "iotsim/common/time.hpp"
#include "iotsim/rules/evaluate.hpp"
#include "iotsim/ruleset/store.hpp"
#include "iotsim/ruleset/topic_rule.hpp"

namespace iotsim::ruleset {

/// One action of a firing rule with its templates rendered for the message.
struct RenderedAction {
    int index = 0;          // position in the rule's actions; -1 for the errorAction
    std::string type;       // "s3", "sqs", "lambda"...
    nlohmann::json config;  // the action's object, template fields replaced by their rendering
};

/// One failed action, as errorAction's `failures` lists it (reference §3.11).
struct ActionFailure {
    std::string failed_action;    // "S3Action", "RepublishAction"...
    std::string failed_resource;  // bucket, queue url, topic...
    std::string error_message;
};

/// The effect for the host: a rule fired and has actions the core cannot perform (everything
/// but republish), or failed in-core and must go to its errorAction. The host runs `actions`
/// off the broker's path (ActionRunner), appends their failures to `failures`, and if any,
/// runs `error_action` with error_action_payload().
struct RuleActionRequest {
    std::string rule_name;
    std::string topic;       // the triggering message's topic (Basic Ingest prefix included)
    std::string client_id;   // the publisher, "n/a" for internal publishers
    std::string trace_id;    // cloudwatchTraceId, a UUID from the engine's Rng
    std::string original_payload;
    std::string payload;     // the SELECT output every action receives
    bool binary_payload = false;
    std::vector<RenderedAction> actions{};
    std::optional<RenderedAction> error_action{};
    std::vector<ActionFailure> failures{};  // in-core failures (SQL runtime error, republish)
};

/// The errorAction's message: {"ruleName","topic","cloudwatchTraceId","clientId",
/// "base64OriginalPayload","failures":[{"failedAction","failedResource","errorMessage"}]}.
[[nodiscard]] std::string error_action_payload(const RuleActionRequest& request,
                                               const std::vector<ActionFailure>& failures);

/// The failed resource an action names (bucket, queue, topic, function...).
[[nodiscard]] std::string failed_resource_of(const RenderedAction& action);

/// What firing one rule for one message produced.
struct Firing {
    std::vector<broker::Message> republishes;  // for the core to publish through the broker
    std::optional<RuleActionRequest> request;  // for the host
};

/// Sees which filters each enabled rule needs in the broker (IotCore implements it with
/// Broker::listen/unlisten and the Basic Ingest registration).
class RuleRoutes {
public:
    virtual ~RuleRoutes() = default;
    virtual void install(broker::ListenerId listener, const std::string& from_filter,
                         const std::string& rule_name) = 0;
    virtual void uninstall(broker::ListenerId listener, const std::string& from_filter,
                           const std::string& rule_name) = 0;
};

struct RulesStats {
    std::uint64_t evaluations = 0;      // rule × message evaluations (topic already matched)
    std::uint64_t matches = 0;          // WHERE true
    std::uint64_t sql_errors = 0;       // runtime failures (to errorAction)
    std::uint64_t republishes = 0;      // in-core republish actions run
    std::uint64_t republish_failed = 0;
    std::uint64_t actions_emitted = 0;  // actions handed to the host
    std::uint64_t error_actions = 0;    // errorAction invocations decided in core
    std::uint64_t actions_dropped = 0;  // firings with nothing to run them (no errorAction)
};

/// The page ListTopicRules answers.
struct RuleListPage {
    std::vector<const CompiledRule*> rules;
    std::string next_token;
};

/// The rules engine (Sans-I/O): the topic rules, their control-plane operations, and their
/// evaluation for a message the broker routed to a rule's listener. Each enabled rule has its
/// own ListenerId whose filter is the rule's FROM (installed through RuleRoutes), so a message
/// costs nothing for rules that do not match it.
/// Thread safety: none; the thread that drives IotCore.
class RulesEngine {
public:
    /// `rng` draws newuuid()/rand() and trace ids.
    RulesEngine(RuleStore& store, Rng& rng);
    RulesEngine(const RulesEngine&) = delete;
    RulesEngine& operator=(const RulesEngine&) = delete;

    /// Installs the routing observer (not owned) and installs every enabled rule through it.
    void set_routes(RuleRoutes* routes);
    /// The SQL functions that reach other services: get_thing_shadow() and aws_lambda(). Unset,
    /// a rule calling them fails (errorAction) with "... is not available in this context".
    void set_get_thing_shadow(rules::ShadowLookup f) { get_thing_shadow_ = std::move(f); }
    void set_aws_lambda(rules::LambdaInvoke f) { aws_lambda_ = std::move(f); }
    /// Loads and compiles every stored rule (a rule that no longer compiles is skipped).
    void recover();

    // ---- control plane (throw RuleError) ----
    void create(std::string_view name, std::string_view payload_json, WallTime now);
    void replace(std::string_view name, std::string_view payload_json, WallTime now);
    [[nodiscard]] const CompiledRule& get(std::string_view name) const;
    void set_enabled(std::string_view name, bool enabled);
    void remove(std::string_view name);
    /// Rules ordered by name; `topic` keeps those whose FROM is exactly it; `disabled` filters
    /// on the state; `max_results` 1..10000; `next_token` from an earlier page.
    [[nodiscard]] RuleListPage list(std::optional<std::string_view> topic,
                                    std::optional<bool> disabled, std::size_t max_results,
                                    std::string_view next_token) const;
    [[nodiscard]] std::size_t size() const { return rules_.size(); }

    /// True if `listener` is one of this engine's rule listeners.
    [[nodiscard]] bool owns(broker::ListenerId listener) const;
    /// Evaluates the rule behind `listener` for `message` (routed by the broker) and runs its
    /// actions' in-core parts. `now` is the rules engine's wall clock.
    void fire(broker::ListenerId listener, const broker::Message& message, WallTime now, Firing& out);

    [[nodiscard]] const RulesStats& stats() const { return stats_; }

    /// First listener id the engine hands out (IotCore's own services use lower ids).
    static constexpr std::uint32_t first_listener = 0x10000;

private:
    struct Entry {
        CompiledRule rule;
        broker::ListenerId listener;
    };
    void route(const Entry& e, bool install);
    void persist(const CompiledRule& rule);

    RuleStore& store_;
    Rng& rng_;
    RuleRoutes* routes_ = nullptr;
    rules::ShadowLookup get_thing_shadow_;
    rules::LambdaInvoke aws_lambda_;
    std::map<std::string, std::unique_ptr<Entry>, std::less<>> rules_;
    std::map<std::uint32_t, Entry*> by_listener_;
    std::uint32_t next_listener_ = first_listener;
    RulesStats stats_;
};

}  // namespace iotsim::ruleset
