#include "iotsim/sim/policy_check.hpp"

#include "iotsim/auth/certificate_fields.hpp"
#include "iotsim/policy/action.hpp"
#include "iotsim/policy/arn.hpp"
#include "iotsim/policy/evaluate.hpp"

namespace iotsim::sim {

void DeliveryPolicyCheck::invalidate(const registry::Registry& registry) {
    registry_ = &registry;
    entries_.clear();
}

const DeliveryPolicyCheck::Entry& DeliveryPolicyCheck::entry_for(const broker::PeerIdentity& peer,
                                                                 std::string_view client_id) {
    std::string key = peer.certificate_id;
    key.push_back('\0');
    key.append(client_id).push_back('\0');
    key.append(peer.address);
    if (auto it = entries_.find(key); it != entries_.end()) {
        return it->second;
    }
    Entry entry;
    for (const registry::EffectivePolicy& p : registry_->policies_for_principal(peer.certificate_id)) {
        policy::PolicyOptions options;
        options.name = p.policy_name;
        options.arn = p.policy_arn;
        auto parsed = policy::parse_policy(p.document, options);
        if (parsed) {
            entry.policies.push_back(std::move(parsed).value());
        }
    }
    policy::RequestContext& ctx = entry.context;
    ctx.client_id = std::string(client_id);
    ctx.certificate_id = peer.certificate_id;
    if (!peer.address.empty()) {
        ctx.source_ip = peer.address;
    }
    if (const registry::CertificateRecord* cert = registry_->find_certificate(peer.certificate_id)) {
        ctx.certificate = auth::certificate_fields(cert->pem);
        // The connection's thing (reference §5.1): the one attached EXCLUSIVE_THING, else the
        // attached thing named like the client id.
        const registry::ThingRecord* bound = registry_->connection_thing(cert->id, client_id);
        if (bound != nullptr) {
            policy::ThingContext& thing = ctx.thing.emplace();
            thing.name = bound->name;
            if (!bound->type_name.empty()) {
                thing.type_name.emplace(bound->type_name);
            }
            for (const auto& [k, v] : bound->attributes) {
                thing.attributes.emplace(k, v);
            }
        }
    }
    return entries_.emplace(std::move(key), std::move(entry)).first->second;
}

std::optional<std::string> DeliveryPolicyCheck::denied(const broker::PeerIdentity& peer,
                                                       std::string_view client_id,
                                                       std::string_view topic) {
    const registry::CertificateRecord* cert = registry_->find_certificate(peer.certificate_id);
    if (cert == nullptr) {
        return "certificate " + peer.certificate_id + " is not registered";
    }
    if (cert->status != registry::CertificateStatus::active) {
        return "certificate " + peer.certificate_id + " is " + std::string(registry::to_string(cert->status));
    }
    const Entry& entry = entry_for(peer, client_id);
    const std::string resource = policy::topic_arn(registry_->options().scope, topic);
    const policy::Request request{policy::actions::receive, resource, entry.context};
    const policy::Decision decision = policy::evaluate(entry.policies, request);
    if (decision.allowed()) {
        return std::nullopt;
    }
    return policy::explain(decision, entry.policies, request);
}

}  // namespace iotsim::sim
