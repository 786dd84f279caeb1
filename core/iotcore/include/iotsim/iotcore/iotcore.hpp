#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "iotsim/broker/broker.hpp"
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
};

struct IotCoreStats {
    std::uint64_t shadow_requests = 0;
    std::uint64_t dispatch_loops_cut = 0;
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
    IotCore(IotCoreConfig config, IotCoreServices services);
    IotCore(const IotCore&) = delete;
    IotCore& operator=(const IotCore&) = delete;

    /// Reloads the broker's retained messages and sessions and every shadow from the stores.
    [[nodiscard]] broker::Effects recover(Now now);

    [[nodiscard]] broker::Effects accept(broker::ConnectionId connection, broker::PeerIdentity peer, Now now);
    [[nodiscard]] broker::Effects receive(broker::ConnectionId connection, std::string_view bytes, Now now);
    [[nodiscard]] broker::Effects drained(broker::ConnectionId connection, std::size_t bytes, Now now);
    [[nodiscard]] broker::Effects closed(broker::ConnectionId connection, Now now);
    [[nodiscard]] broker::Effects timer_fired(Now now);
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

private:
    /// Hands every Dispatch in `fx` to its service until none is left; returns the rest in order.
    broker::Effects settle(broker::Effects fx, Now now);
    void dispatch(const broker::Dispatch& d, Now now, broker::Effects& out);
    /// Publishes a shadow response's notifications (QoS 1, not retained) through the broker.
    void publish_notifications(const shadow::ShadowResponse& response, Now now, broker::Effects& out);

    IotCoreConfig config_;
    broker::Broker broker_;
    shadow::ShadowService shadows_;
    IotCoreStats stats_;
};

}  // namespace iotsim::iotcore
