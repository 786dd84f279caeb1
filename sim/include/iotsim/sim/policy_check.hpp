#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "iotsim/broker/identity.hpp"
#include "iotsim/policy/context.hpp"
#include "iotsim/policy/policy.hpp"
#include "iotsim/registry/registry.hpp"

namespace iotsim::sim {

/// The invariant checker "policy_denied_delivery": a message the broker delivers to a connection
/// that authenticated with a certificate must be allowed by iot:Receive on `topic/<t>` under the
/// certificate's current effective policies, and the certificate must be registered and ACTIVE.
///
/// It is an oracle for the broker's authorizer, so it shares nothing with it but the registry
/// and the policy language: the policies come from Registry::policies_for_principal, parsed with
/// policy::parse_policy and evaluated with policy::evaluate; the request context (client id,
/// certificate id and fields, source address, the bound thing) is built here, by the rule the
/// authorizer documents. Its own cache of parsed policies is dropped by invalidate() after every
/// registry change, so a stale authorizer cache shows up as a violation.
///
/// Thread safety: none.
class DeliveryPolicyCheck {
public:
    explicit DeliveryPolicyCheck(const registry::Registry& registry) : registry_(&registry) {}

    /// After any registry change (and when the registry object is replaced).
    void invalidate(const registry::Registry& registry);

    /// nullopt when the delivery of `topic` to this connection is allowed; otherwise one line
    /// saying why not ("certificate ... is REVOKED", or policy::explain's sentence).
    /// `peer.certificate_id` must not be empty.
    [[nodiscard]] std::optional<std::string> denied(const broker::PeerIdentity& peer,
                                                    std::string_view client_id,
                                                    std::string_view topic);

private:
    struct Entry {
        std::vector<policy::Policy> policies;
        policy::RequestContext context;
    };
    const Entry& entry_for(const broker::PeerIdentity& peer, std::string_view client_id);

    const registry::Registry* registry_;
    // Key: (certificate id, client id, address). Ordered; lookups only.
    std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace iotsim::sim
