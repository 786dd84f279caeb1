#include "iotsim/auth/policy_authorizer.hpp"

#include <algorithm>

#include "iotsim/auth/certificate_fields.hpp"
#include "iotsim/auth/custom_auth.hpp"
#include "iotsim/policy/action.hpp"
#include "iotsim/policy/arn.hpp"
#include "iotsim/policy/evaluate.hpp"
#include "iotsim/registry/error.hpp"

namespace iotsim::auth {

PolicyAuthorizer::PolicyAuthorizer(const registry::Registry& registry,
                                   PolicyAuthorizerOptions options)
    : registry_(registry),
      options_(options),
      arn_prefix_(policy::arn_prefix(registry.options().scope)) {}

void PolicyAuthorizer::invalidate() {
    entries_.clear();
    // Compiled policies are keyed by (ARN, version id) and a version's document never changes,
    // but a deleted and re-created policy reuses version 1: drop them too.
    compiled_.clear();
    std::erase_if(certificate_fields_, [this](const auto& item) {
        return registry_.find_certificate(item.first) == nullptr;
    });
}

std::string PolicyAuthorizer::resource(std::string_view kind, std::string_view name) const {
    std::string out;
    out.reserve(arn_prefix_.size() + kind.size() + 1 + name.size());
    out.append(arn_prefix_).append(kind).push_back('/');
    out.append(name);
    return out;
}

PolicyAuthorizer::Entry PolicyAuthorizer::build(const broker::PeerIdentity& peer,
                                                std::optional<std::string_view> client_id) {
    Entry entry;
    const registry::CertificateRecord* cert = registry_.find_certificate(peer.certificate_id);
    if (cert == nullptr || cert->status != registry::CertificateStatus::active) {
        return entry;  // refused at CONNECT, denied afterwards
    }
    entry.active = true;
    for (const registry::EffectivePolicy& p : registry_.policies_for_principal(cert->id)) {
        const auto key = std::make_pair(p.policy_arn, p.version_id);
        auto it = compiled_.find(key);
        if (it == compiled_.end()) {
            policy::PolicyOptions po;
            po.name = p.policy_name;
            po.arn = p.policy_arn;
            auto parsed = policy::parse_policy(p.document, po);
            if (!parsed) {
                continue;  // validated when created; a document that no longer parses grants nothing
            }
            it = compiled_.emplace(key, std::move(parsed).value()).first;
        }
        entry.policies.push_back(it->second);
    }
    policy::RequestContext& ctx = entry.context;
    if (client_id) {
        ctx.client_id = std::string(*client_id);
    }
    ctx.certificate_id = cert->id;
    auto fields = certificate_fields_.find(cert->id);
    if (fields == certificate_fields_.end()) {
        fields = certificate_fields_.emplace(cert->id, certificate_fields(cert->pem)).first;
    }
    ctx.certificate = fields->second;
    if (!peer.address.empty()) {
        ctx.source_ip = peer.address;
    }
    if (!client_id) {
        // REST over HTTPS: no client id and no connection thing (the iot:Connection.Thing.*
        // variables are MQTT's; reference §4.4), so policies using them do not match.
        return entry;
    }
    // The bound thing (reference §5.1): the exclusive thing, else the one named like the client.
    const registry::ThingRecord* bound = registry_.connection_thing(cert->id, client_id);
    if (bound != nullptr) {
        // Built in place: moving a local ThingContext (an optional<string> inside) makes GCC 12
        // at -O2 report a false -Wmaybe-uninitialized (GCC bug 105329's family).
        policy::ThingContext& thing = ctx.thing.emplace();
        thing.name = bound->name;
        if (!bound->type_name.empty()) {
            thing.type_name.emplace(bound->type_name);
        }
        for (const auto& [k, v] : bound->attributes) {
            thing.attributes.emplace(k, v);
        }
    }
    return entry;
}

PolicyAuthorizer::Entry PolicyAuthorizer::build_custom(const broker::PeerIdentity& peer,
                                                       std::optional<std::string_view> client_id) {
    Entry entry;
    const auto* grant = dynamic_cast<const CustomAuthGrant*>(peer.custom.get());
    if (grant == nullptr || !grant->authenticated) {
        return entry;  // refused at CONNECT
    }
    entry.active = true;
    entry.policies = grant->policies;
    if (client_id) {
        entry.context.client_id = std::string(*client_id);
    }
    if (!peer.address.empty()) {
        entry.context.source_ip = peer.address;
    }
    return entry;
}

PolicyAuthorizer::Entry PolicyAuthorizer::build_local(const broker::PeerIdentity& peer,
                                                      std::optional<std::string_view> client_id) {
    Entry entry;
    entry.active = true;  // refused at CONNECT only if the policy does not allow iot:Connect
    try {
        const registry::PolicyRecord& record = registry_.get_policy(options_.local_policy);
        policy::PolicyOptions po;
        po.name = record.name;
        po.arn = registry_.policy_arn(record.name);
        if (auto parsed = policy::parse_policy(record.default_version().document, po)) {
            entry.policies.push_back(std::move(parsed).value());
        }
    } catch (const registry::RegistryError&) {
        // No such policy (yet): nothing is allowed.
    }
    if (client_id) {
        entry.context.client_id = std::string(*client_id);
    }
    if (!peer.address.empty()) {
        entry.context.source_ip = peer.address;
    }
    return entry;
}

const PolicyAuthorizer::Entry* PolicyAuthorizer::entry_for(const broker::PeerIdentity& peer,
                                                           std::optional<std::string_view> client_id,
                                                           bool& allow_all) {
    allow_all = false;
    if (peer.custom) {
        // A custom authorizer's grant: its policies, whatever the transport. The grant's serial
        // is unique, so a refreshed grant gets a fresh entry.
        std::string key = "\x01" + std::to_string(peer.custom->serial);
        key.push_back('\0');
        key.append(peer.address).push_back('\0');
        key.push_back(client_id ? 'c' : 'r');
        key.append(client_id.value_or(std::string_view{}));
        if (auto it = entries_.find(key); it != entries_.end()) {
            return &it->second;
        }
        if (entries_.size() >= options_.cache_entries_max) {
            entries_.clear();
        }
        return &entries_.emplace(std::move(key), build_custom(peer, client_id)).first->second;
    }
    if (peer.certificate_id.empty()) {
        const bool local = peer.transport == broker::Transport::tcp ||
                           peer.transport == broker::Transport::simulated;
        // AMBIG: a SigV4 WebSocket connection is authorized by its IAM identity's IAM policy
        // (reference §5.3); iotsim's keys are the account's own (DATA_DIR/credentials), like an
        // administrator's, so it is allowed everything. IAM policies are not modelled.
        const bool iam = peer.transport == broker::Transport::websocket && peer.sigv4 && !peer.principal.empty();
        if (local && options_.allow_unauthenticated_local && !options_.local_policy.empty() && !iam) {
            std::string key = "\x02";
            key.append(peer.address).push_back('\0');
            key.push_back(client_id ? 'c' : 'r');
            key.append(client_id.value_or(std::string_view{}));
            if (auto it = entries_.find(key); it != entries_.end()) {
                return &it->second;
            }
            if (entries_.size() >= options_.cache_entries_max) {
                entries_.clear();
            }
            return &entries_.emplace(std::move(key), build_local(peer, client_id)).first->second;
        }
        allow_all = iam || (local && options_.allow_unauthenticated_local);
        return nullptr;
    }
    // The context holds aws:SourceIp: the peer's address is part of the key.
    std::string key;
    key.reserve(peer.certificate_id.size() + peer.address.size() + 3 + (client_id ? client_id->size() : 0));
    key.append(peer.certificate_id).push_back('\0');
    key.append(peer.address).push_back('\0');
    if (client_id) {
        key.push_back('c');  // MQTT: a client id (possibly empty) follows
        key.append(*client_id);
    } else {
        key.push_back('r');  // REST: no client id, no connection thing
    }
    if (auto it = entries_.find(key); it != entries_.end()) {
        return &it->second;
    }
    if (entries_.size() >= options_.cache_entries_max) {
        entries_.clear();
    }
    return &entries_.emplace(std::move(key), build(peer, client_id)).first->second;
}

bool PolicyAuthorizer::allowed(const Entry& entry, std::string_view action,
                               const std::string& resource, const policy::RequestContext& context) {
    if (!entry.active) {
        return false;
    }
    ++evaluations_;
    return policy::evaluate(entry.policies, policy::Request{action, resource, context}).allowed();
}

broker::ConnectDecision PolicyAuthorizer::authorize_connect(const broker::PeerIdentity& peer,
                                                            const mqtt::Connect& connect) {
    bool allow_all = false;
    const Entry* entry = entry_for(peer, connect.client_id, allow_all);
    if (entry == nullptr) {
        return allow_all ? broker::ConnectDecision::allow : broker::ConnectDecision::not_authorized;
    }
    if (!entry->active) {
        // A custom authorizer that did not authenticate: MQTT 5 CONNACK 0x86 (reference §5.4).
        return peer.custom ? broker::ConnectDecision::bad_credentials : broker::ConnectDecision::not_authorized;
    }
    policy::RequestContext context = entry->context;
    std::vector<std::string> attributes;
    const bool persistent = connect.version == mqtt::Version::v5
                                ? connect.properties.session_expiry_interval.value_or(0) > 0
                                : !connect.clean_start;
    if (persistent) {
        attributes.emplace_back("PersistentConnect");
    }
    if (connect.will) {
        attributes.emplace_back("LastWill");
        context.last_will_topic = connect.will->topic;
    }
    context.connect_attributes = std::move(attributes);
    if (!allowed(*entry, policy::actions::connect, resource("client", connect.client_id), context)) {
        return broker::ConnectDecision::not_authorized;
    }
    if (connect.will) {
        const std::string topic = resource("topic", connect.will->topic);
        if (!allowed(*entry, policy::actions::publish, topic) ||
            (connect.will->retain && !allowed(*entry, policy::actions::retain_publish, topic))) {
            return broker::ConnectDecision::not_authorized;
        }
    }
    return broker::ConnectDecision::allow;
}

bool PolicyAuthorizer::authorize_publish(const broker::ClientContext& client,
                                         std::string_view topic, bool retain) {
    bool allow_all = false;
    const Entry* entry = entry_for(client.peer, client.client_id, allow_all);
    if (entry == nullptr) {
        return allow_all;
    }
    const std::string arn = resource("topic", topic);
    return allowed(*entry, policy::actions::publish, arn) &&
           (!retain || allowed(*entry, policy::actions::retain_publish, arn));
}

bool PolicyAuthorizer::authorize_rest(const broker::PeerIdentity& peer, std::string_view action,
                                      std::string_view resource_kind, std::string_view name) {
    if (peer.certificate_id.empty() && !peer.custom) {
        return false;  // REST callers without a certificate are SigV4's, not the policies'
    }
    bool allow_all = false;
    const Entry* entry = entry_for(peer, std::nullopt, allow_all);
    if (entry == nullptr) {
        return false;
    }
    return allowed(*entry, action, resource_kind.empty() ? std::string("*") : resource(resource_kind, name));
}

bool PolicyAuthorizer::authorize_subscribe(const broker::ClientContext& client,
                                           std::string_view filter) {
    bool allow_all = false;
    const Entry* entry = entry_for(client.peer, client.client_id, allow_all);
    if (entry == nullptr) {
        return allow_all;
    }
    return allowed(*entry, policy::actions::subscribe, resource("topicfilter", filter));
}

bool PolicyAuthorizer::authorize_receive(const broker::ClientContext& client,
                                         std::string_view topic) {
    bool allow_all = false;
    const Entry* entry = entry_for(client.peer, client.client_id, allow_all);
    if (entry == nullptr) {
        return allow_all;
    }
    return allowed(*entry, policy::actions::receive, resource("topic", topic));
}

}  // namespace iotsim::auth
