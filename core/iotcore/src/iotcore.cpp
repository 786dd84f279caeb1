#include "iotsim/iotcore/iotcore.hpp"

#include <deque>
#include <utility>
#include <variant>

namespace iotsim::iotcore {

namespace {

constexpr broker::ListenerId shadow_listener{1};

// IotCore answers MQTT shadow requests by publishing the service's notifications and never reads
// an MQTT update's response document, so the service does not build it (REST requests still get
// theirs: it is the HTTP body).
shadow::ShadowOptions mqtt_answers_by_notification(shadow::ShadowOptions options) {
    options.update_response_document = false;
    return options;
}

}  // namespace

IotCore::IotCore(IotCoreConfig config, IotCoreServices services)
    : IotCore(std::move(config), services, nullptr) {}

IotCore::IotCore(IotCoreConfig config, IotCoreServices services, ruleset::RuleStore& rule_store)
    : IotCore(std::move(config), services, &rule_store) {}

IotCore::IotCore(IotCoreConfig config, IotCoreServices services, ruleset::RuleStore* rule_store)
    : config_(std::move(config)),
      broker_(config_.broker, broker::BrokerServices{services.authorizer, services.store, services.rng}),
      shadows_(services.shadow_store, mqtt_answers_by_notification(config_.shadow)),
      owned_rule_store_(rule_store == nullptr ? std::make_unique<ruleset::MemoryRuleStore>() : nullptr),
      rules_rng_(Rng::derive(config_.rules_seed, "rules")),
      rules_(rule_store == nullptr ? *owned_rule_store_ : *rule_store, rules_rng_),
      routes_(broker_) {
    rules_.set_routes(&routes_);
    // get_thing_shadow() reads the local shadow service as GetThingShadow does, at the time of
    // the message being evaluated. AMBIG: AWS checks the rule's roleArn for iot:GetThingShadow;
    // iotsim has no IAM, so any role reads any shadow.
    rules_.set_get_thing_shadow([this](std::string_view thing, std::optional<std::string_view> name,
                               std::string_view) -> Result<std::string, rules::RuntimeError> {
        const shadow::ShadowKey key{std::string(thing), name ? std::string(*name) : std::string()};
        const auto r = shadows_.get(key, "", rules_now_, shadow::RequestOrigin::rest);
        if (!r.accepted()) {
            return rules::RuntimeError{r.document.value("message", std::string("GetThingShadow failed"))};
        }
        return r.document.dump();
    });
    // The shadow request topics, classic and named. Responses (.../accepted etc.) have more
    // levels and never match; parse_request_topic() sorts out the rest.
    broker_.listen(shadow_listener, "$aws/things/+/shadow/+");
    broker_.listen(shadow_listener, "$aws/things/+/shadow/name/+/+");
}

void IotCore::Routes::install(broker::ListenerId listener, const std::string& from_filter,
                              const std::string& rule_name) {
    broker_.listen(listener, from_filter);
    broker_.listen_basic_ingest(listener, rule_name);
}

void IotCore::Routes::uninstall(broker::ListenerId listener, const std::string& from_filter,
                                const std::string& rule_name) {
    broker_.unlisten(listener, from_filter);
    broker_.unlisten_basic_ingest(rule_name);
}

std::vector<ruleset::RuleActionRequest> IotCore::take_rule_actions() {
    std::vector<ruleset::RuleActionRequest> out;
    out.swap(rule_actions_);
    return out;
}

broker::Effects IotCore::recover(Now now) {
    shadows_.recover(now.wall);
    rules_.recover();
    return settle(broker_.recover(now), now);
}

broker::Effects IotCore::accept(broker::ConnectionId connection, broker::PeerIdentity peer, Now now) {
    return settle(broker_.accept(connection, std::move(peer), now), now);
}

broker::Effects IotCore::receive(broker::ConnectionId connection, std::string_view bytes, Now now) {
    return settle(broker_.receive(connection, bytes, now), now);
}

broker::Effects IotCore::drained(broker::ConnectionId connection, std::size_t bytes, Now now) {
    broker::Effects fx = broker_.drained(connection, bytes, now);
    if (fx.empty()) {
        return fx;  // the usual case (twice per message in a simulation): nothing to settle
    }
    return settle(std::move(fx), now);
}

broker::Effects IotCore::closed(broker::ConnectionId connection, Now now) {
    return settle(broker_.closed(connection, now), now);
}

broker::Effects IotCore::revoke(broker::ConnectionId connection, Now now) {
    return settle(broker_.revoke(connection, now), now);
}

broker::Effects IotCore::set_credentials(broker::ConnectionId connection,
                                         std::shared_ptr<const broker::CustomCredentials> credentials, Now now) {
    return settle(broker_.set_credentials(connection, std::move(credentials), now), now);
}

broker::Effects IotCore::timer_fired(Now now) { return settle(broker_.timer_fired(now), now); }

broker::Effects IotCore::publish(broker::Message message, Now now) {
    return settle(broker_.publish(std::move(message), now), now);
}

broker::Effects IotCore::shutdown(Now now) { return settle(broker_.shutdown(now), now); }

ShadowResult IotCore::shadow_get(const shadow::ShadowKey& key, std::string_view payload, Now now) {
    ++stats_.shadow_requests;
    ShadowResult r{shadows_.get(key, payload, now.wall, shadow::RequestOrigin::rest), {}};
    publish_notifications(r.response, now, r.effects);
    r.effects = settle(std::move(r.effects), now);
    return r;
}

ShadowResult IotCore::shadow_update(const shadow::ShadowKey& key, std::string_view payload, Now now) {
    ++stats_.shadow_requests;
    ShadowResult r{shadows_.update(key, payload, now.wall, shadow::RequestOrigin::rest), {}};
    publish_notifications(r.response, now, r.effects);
    r.effects = settle(std::move(r.effects), now);
    return r;
}

ShadowResult IotCore::shadow_delete(const shadow::ShadowKey& key, std::string_view payload, Now now) {
    ++stats_.shadow_requests;
    ShadowResult r{shadows_.delete_shadow(key, payload, now.wall, shadow::RequestOrigin::rest), {}};
    publish_notifications(r.response, now, r.effects);
    r.effects = settle(std::move(r.effects), now);
    return r;
}

shadow::ShadowListResponse IotCore::list_named_shadows(std::string_view thing_name,
                                                       std::string_view next_token,
                                                       std::optional<int> page_size, Now now) {
    ++stats_.shadow_requests;
    return shadows_.list_named_shadows(thing_name, next_token, page_size, now.wall);
}

broker::Effects IotCore::settle(broker::Effects fx, Now now) {
    bool any = false;
    for (const auto& e : fx) {
        any = any || std::holds_alternative<broker::Dispatch>(e);
    }
    if (!any) {
        return fx;  // the common case: no service involved, nothing moved
    }
    broker::Effects out;
    out.reserve(fx.size());
    std::deque<broker::Dispatch> pending;
    const auto split = [&](broker::Effects& from) {
        for (auto& e : from) {
            if (auto* d = std::get_if<broker::Dispatch>(&e)) {
                pending.push_back(std::move(*d));
            } else {
                out.push_back(std::move(e));
            }
        }
    };
    split(fx);
    std::uint32_t handled = 0;
    while (!pending.empty()) {
        if (handled++ >= config_.dispatches_per_input_max) {
            // A service feeding itself: cut the loop rather than spin (AWS stops such loops too,
            // by its own throttles); the counter makes it visible.
            stats_.dispatch_loops_cut += pending.size();
            break;
        }
        const broker::Dispatch d = std::move(pending.front());
        pending.pop_front();
        broker::Effects more;
        dispatch(d, now, more);
        split(more);
    }
    return out;
}

void IotCore::dispatch(const broker::Dispatch& d, Now now, broker::Effects& out) {
    if (d.listener == shadow_listener) {
        auto response = shadows_.handle_publish(d.message->topic, d.message->payload, now.wall);
        if (response) {
            ++stats_.shadow_requests;
            publish_notifications(*response, now, out);
        }
        return;
    }
    if (rules_.owns(d.listener)) {
        firing_.republishes.clear();
        firing_.request.reset();
        rules_now_ = now.wall;
        rules_.fire(d.listener, *d.message, now.wall, firing_);
        for (auto& m : firing_.republishes) {
            auto fx = broker_.publish(std::move(m), now);
            for (auto& e : fx) {
                out.push_back(std::move(e));
            }
        }
        if (firing_.request) {
            if (rule_actions_.size() >= config_.rule_actions_pending_max) {
                ++stats_.rule_actions_dropped;
            } else {
                rule_actions_.push_back(std::move(*firing_.request));
            }
        }
    }
}

void IotCore::publish_notifications(const shadow::ShadowResponse& response, Now now, broker::Effects& out) {
    for (const auto& n : response.notifications) {
        broker::Message m;
        m.topic = shadow::shadow_topic(response.key, n.suffix);
        m.payload = n.payload;
        // AMBIG (AWS does not state the QoS of the service's publications): QoS 1, so that the
        // subscriber's granted QoS decides, and a persistent session keeps a delta for a device
        // that is offline, as devices that subscribe at QoS 1 expect.
        m.qos = mqtt::QoS::at_least_once;
        auto fx = broker_.publish(std::move(m), now);
        for (auto& e : fx) {
            out.push_back(std::move(e));
        }
    }
}

}  // namespace iotsim::iotcore
