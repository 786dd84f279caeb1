#include "iotsim/iotcore/world.hpp"

#include <cstddef>
#include <algorithm>
#include <optional>
#include <string_view>

#include "iotsim/shadow/document.hpp"

namespace iotsim::iotcore {

namespace {

std::string_view transport_name(broker::Transport transport) {
    switch (transport) {
        case broker::Transport::tcp: return "mqtt";
        case broker::Transport::tls: return "mqtts";
        case broker::Transport::websocket: return "websocket";
        case broker::Transport::simulated: return "simulated";
    }
    return "unknown";
}

nlohmann::json client_json(const broker::SessionInfo& s) {
    nlohmann::json c = {
        {"clientId", s.client_id},
        {"connected", s.connected},
        {"persistent", s.persistent},
        {"protocol", s.version == mqtt::Version::v5 ? "MQTT 5" : "MQTT 3.1.1"},
    };
    if (s.connected) {
        c["transport"] = transport_name(s.transport);
        c["principal"] = s.principal;
    }
    nlohmann::json subs = nlohmann::json::array();
    for (const auto& e : s.subscriptions) {
        subs.push_back({{"filter", e.filter}, {"qos", static_cast<int>(e.options.qos)}});
    }
    c["subscriptions"] = std::move(subs);
    c["queued"] = s.queued;
    c["inflight"] = s.inflight;
    return c;
}

}  // namespace

nlohmann::json describe_world(const IotCore& core, const WorldLimits& limits) {
    const broker::Broker& broker = core.broker();
    nlohmann::json world = nlohmann::json::object();

    std::size_t sessions_total = 0;
    const std::vector<broker::SessionInfo> sessions = broker.sessions(limits.clients_max, &sessions_total);
    nlohmann::json clients = nlohmann::json::array();
    for (const auto& s : sessions) {
        clients.push_back(client_json(s));
    }

    std::vector<std::string> retained = broker.retained_topics();
    const std::size_t retained_total = retained.size();
    const auto kept = static_cast<std::ptrdiff_t>(std::min(retained.size(), limits.retained_max));
    std::partial_sort(retained.begin(), retained.begin() + kept, retained.end());
    retained.resize(static_cast<std::size_t>(kept));

    const broker::BrokerStats& stats = broker.stats();
    world["broker"] = {
        {"connections", broker.connection_count()},
        {"sessions", sessions_total},
        {"publishesReceived", stats.publishes_received},
        {"messagesDelivered", stats.messages_delivered},
        {"retained", retained_total},
    };
    world["clients"] = std::move(clients);
    world["retainedTopics"] = retained;

    nlohmann::json shadows = nlohmann::json::array();
    for (const shadow::ShadowRecord* r : core.shadows().live(limits.shadows_max)) {
        nlohmann::json s = {{"thingName", r->key.thing_name}};
        if (!r->key.classic()) {
            s["shadowName"] = r->key.shadow_name;
        }
        s["version"] = r->version;
        s["state"] = r->state;
        if (auto delta = shadow::compute_delta(r->state)) {
            s["state"]["delta"] = std::move(*delta);  // as GetThingShadow shows it
        }
        shadows.push_back(std::move(s));
    }
    const std::size_t shadows_listed = shadows.size();
    world["shadows"] = std::move(shadows);

    nlohmann::json rules = nlohmann::json::array();
    const std::size_t rules_total = core.rules().size();
    if (limits.rules_max > 0 && rules_total > 0) {
        // list() pages at most 10,000 at a time (ListTopicRules' limit).
        const std::size_t page_max = std::min<std::size_t>(limits.rules_max, 10'000);
        for (const ruleset::CompiledRule* rule : core.rules().list(std::nullopt, std::nullopt, page_max, "").rules) {
            rules.push_back(rule->to_topic_rule());
        }
    }
    const std::size_t rules_listed = rules.size();
    world["rules"] = std::move(rules);

    world["omitted"] = {
        {"clients", sessions_total - sessions.size()},
        {"retainedTopics", retained_total - retained.size()},
        {"shadows", core.shadows().size() - shadows_listed},
        {"rules", rules_total - rules_listed},
    };
    return world;
}

}  // namespace iotsim::iotcore
