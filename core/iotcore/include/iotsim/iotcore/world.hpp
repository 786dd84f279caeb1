#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

#include "iotsim/iotcore/iotcore.hpp"

namespace iotsim::iotcore {

/// How much of each list a world snapshot carries at most (the rest is counted, not listed):
/// a diagram of 100,000 devices is unreadable anyway, and the snapshot must stay cheap to build
/// on the broker's thread.
struct WorldLimits {
    std::size_t clients_max = 1000;
    std::size_t retained_max = 1000;
    std::size_t shadows_max = 1000;
    std::size_t rules_max = 1000;
};

/// What is inside an IotCore now, as JSON, for the architecture diagram of a running server
/// (`GET /iotsim/world`) and of a simulated world (`Simulation.world()`): one shape for both.
///
///   {"broker":  {"connections", "sessions", "publishesReceived", "messagesDelivered", "retained"},
///    "clients": [{"clientId", "connected", "persistent", "protocol": "MQTT 3.1.1" | "MQTT 5",
///                 "transport": "mqtt" | "mqtts" | "websocket" | "simulated" (connected only),
///                 "principal" (connected only), "subscriptions": [{"filter", "qos"}],
///                 "queued", "inflight"}],                       in client-id order
///    "retainedTopics": [topic...],                              in byte order
///    "shadows": [{"thingName", "shadowName" (named only), "version",
///                 "state": {"desired", "reported", "delta"} as GetThingShadow shows it}],
///    "rules":   [GetTopicRule's `rule`: {"ruleName", "sql", "actions", "ruleDisabled", ...}],
///    "omitted": {"clients", "retainedTopics", "shadows", "rules"}}  counts beyond the limits
///
/// Reads only; no effects.
[[nodiscard]] nlohmann::json describe_world(const IotCore& core, const WorldLimits& limits = {});

}  // namespace iotsim::iotcore
