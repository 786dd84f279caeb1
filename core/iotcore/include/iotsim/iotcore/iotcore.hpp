#pragma once

#include <cstdint>
#include <memory>
#include <vector>
#include <optional>
#include <string>
#include <string_view>

#include "iotsim/broker/broker.hpp"
#include "iotsim/ruleset/engine.hpp"
#include "iotsim/ruleset/store.hpp"
#include "iotsim/shadow/service.hpp"

namespace iotsim::iotcore {

/// What the composition needs from its host, injected: the broker's services plus the shadow
/// store (SQLite in the server, memory in the simulator and tests).
struct IotCoreServices {
    broker::Authorizer& authorizer;
    broker::Store& store;
    shadow::ShadowStore& shadow_store;
    Rng& rng;
};

struct IotCoreConfig {
    broker::BrokerConfig broker;
    shadow::ShadowOptions shadow;
    /// Dispatches (service publications that trigger further services) handled per input at
    /// most; a loop beyond it is cut and counted (a republish rule feeding itself, for example).
    std::uint32_t dispatches_per_input_max = 1024;
    /// Seed of the rules engine's own Rng stream (newuuid(), rand(), trace ids), derived as
    /// Rng::derive(rules_seed, "rules") so that rules never shift the broker's draws.
    std::uint64_t rules_seed = 0x72756c6573;
    /// Rule action requests kept for the host (take_rule_actions) at most; beyond, new ones
    /// are dropped and counted (a host that never takes them must not grow memory).
    std::size_t rule_actions_pending_max = 65536;
};

struct IotCoreStats {
    std::uint64_t shadow_requests = 0;
    std::uint64_t dispatch_loops_cut = 0;
    std::uint64_t rule_actions_dropped = 0;  // requests beyond rule_actions_pending_max
};

/// A data-plane shadow call's answer plus the effects its publications caused.
struct ShadowResult {
    shadow::ShadowResponse response;
    broker::Effects effects;
};

/// AWS IoT Core in one Sans-I/O object: the message broker with the services that sit behind it
/// (Device Shadow now; rules engine and registry as they arrive). It is what both hosts drive:
/// the same inputs as broker::Broker, the same effects out, except that Dispatch effects never
/// leave it: a message routed to a service's listener is handed to that service, whose answers
/// are published back through the broker (so subscribers, and later rules, see them as any
/// message), in the same call.
///
/// Ordering: within one input, the broker's own effects come first (a device's PUBACK before the
/// shadow's /update/accepted, as on AWS, where the service answers after the broker has taken the
/// message), then the effects of each dispatch in the order the broker routed them.
///
/// Thread safety: not synchronised; one host thread drives one IotCore.
class IotCore {
public:
    /// Rules are kept in an owned MemoryRuleStore.
    IotCore(IotCoreConfig config, IotCoreServices services);
    /// Rules are kept in `rule_store` (not owned; must outlive the IotCore).
    IotCore(IotCoreConfig config, IotCoreServices services, ruleset::RuleStore& rule_store);
    IotCore(const IotCore&) = delete;
    IotCore& operator=(const IotCore&) = delete;

    /// Reloads the broker's retained messages and sessions, every shadow and every topic rule
    /// from the stores.
    [[nodiscard]] broker::Effects recover(Now now);

    [[nodiscard]] broker::Effects accept(broker::ConnectionId connection, broker::PeerIdentity peer, Now now);
    [[nodiscard]] broker::Effects receive(broker::ConnectionId connection, std::string_view bytes, Now now);
    [[nodiscard]] broker::Effects drained(broker::ConnectionId connection, std::size_t bytes, Now now);
    [[nodiscard]] broker::Effects closed(broker::ConnectionId connection, Now now);
    [[nodiscard]] broker::Effects revoke(broker::ConnectionId connection, Now now);
    /// Broker::set_credentials (a custom authorizer's answer).
    [[nodiscard]] broker::Effects set_credentials(broker::ConnectionId connection,
                                                  std::shared_ptr<const broker::CustomCredentials> credentials,
                                                  Now now);
    [[nodiscard]] broker::Effects timer_fired(Now now);
    /// Broker::recycle: an Effects vector the host has carried out, for its capacity.
    void recycle(broker::Effects&& spent) { broker_.recycle(std::move(spent)); }
    /// A message from inside the service (HTTP publish, a tool), routed as a client's PUBLISH.
    [[nodiscard]] broker::Effects publish(broker::Message message, Now now);
    [[nodiscard]] broker::Effects shutdown(Now now);

    // ---- Device Shadow data plane (REST, Python, tools) ----
    [[nodiscard]] ShadowResult shadow_get(const shadow::ShadowKey& key, std::string_view payload, Now now);
    [[nodiscard]] ShadowResult shadow_update(const shadow::ShadowKey& key, std::string_view payload, Now now);
    [[nodiscard]] ShadowResult shadow_delete(const shadow::ShadowKey& key, std::string_view payload, Now now);
    [[nodiscard]] shadow::ShadowListResponse list_named_shadows(std::string_view thing_name,
                                                                std::string_view next_token,
                                                                std::optional<int> page_size, Now now);

    [[nodiscard]] const broker::Broker& broker() const { return broker_; }
    [[nodiscard]] const shadow::ShadowService& shadows() const { return shadows_; }
    [[nodiscard]] const IotCoreStats& stats() const { return stats_; }

    // ---- Rules engine ----
    /// The topic rules (control plane: ruleset::TopicRuleRouter takes this). A rule created,
    /// replaced, enabled, disabled or deleted takes effect for the next message.
    /// aws_lambda() in IoT SQL calls `f` (the host's local functions: an executable in the
    /// server's data directory, a Python callable in the simulator). Unset: the rule fails.
    void set_aws_lambda(rules::LambdaInvoke f) { rules_.set_aws_lambda(std::move(f)); }
    [[nodiscard]] ruleset::RulesEngine& rules() { return rules_; }
    [[nodiscard]] const ruleset::RulesEngine& rules() const { return rules_; }
    /// The rule actions the host must run (everything but republish, which runs in core), in
    /// the order the rules fired, since the last call. Hosts call it after each input; a
    /// host's errorAction republish goes back in through publish().
    [[nodiscard]] std::vector<ruleset::RuleActionRequest> take_rule_actions();

private:
    IotCore(IotCoreConfig config, IotCoreServices services, ruleset::RuleStore* rule_store);

    /// Installs rule listeners in the broker: the FROM filter and the Basic Ingest name.
    class Routes final : public ruleset::RuleRoutes {
    public:
        explicit Routes(broker::Broker& broker) : broker_(broker) {}
        void install(broker::ListenerId listener, const std::string& from_filter,
                     const std::string& rule_name) override;
        void uninstall(broker::ListenerId listener, const std::string& from_filter,
                       const std::string& rule_name) override;

    private:
        broker::Broker& broker_;
    };

    /// Hands every Dispatch in `fx` to its service until none is left; returns the rest in order.
    broker::Effects settle(broker::Effects fx, Now now);
    void dispatch(const broker::Dispatch& d, Now now, broker::Effects& out);
    /// Publishes a shadow response's notifications (QoS 1, not retained) through the broker.
    void publish_notifications(const shadow::ShadowResponse& response, Now now, broker::Effects& out);

    IotCoreConfig config_;
    broker::Broker broker_;
    shadow::ShadowService shadows_;
    IotCoreStats stats_;
    std::unique_ptr<ruleset::MemoryRuleStore> owned_rule_store_;
    Rng rules_rng_;
    ruleset::RulesEngine rules_;
    WallTime rules_now_{};  // the time of the message the rules engine is evaluating
    Routes routes_;
    std::vector<ruleset::RuleActionRequest> rule_actions_;
    ruleset::Firing firing_;
};

}  // namespace iotsim::iotcore
