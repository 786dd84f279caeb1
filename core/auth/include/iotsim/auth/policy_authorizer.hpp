#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "iotsim/broker/authorizer.hpp"
#include "iotsim/policy/context.hpp"
#include "iotsim/policy/policy.hpp"
#include "iotsim/registry/registry.hpp"

namespace iotsim::auth {

/// Options of PolicyAuthorizer.
struct PolicyAuthorizerOptions {
    /// Connections without a client certificate on the plain port (Transport::tcp) and in the
    /// simulator (Transport::simulated) are allowed everything: iotsim's local convenience (AWS
    /// has no unauthenticated port). When false they are refused at CONNECT like an unknown
    /// certificate. TLS and WebSocket connections without a certificate are always refused.
    bool allow_unauthenticated_local = true;
    /// When not empty, those local connections are instead authorized by this registry policy's
    /// default version (a missing policy allows nothing), with `iot:ClientId` and
    /// `aws:SourceIp` (`iotsim serve --plain-policy`).
    std::string local_policy{};
    /// Contexts (certificate, peer address, client id) kept between invalidations; beyond it
    /// the cache is emptied (it is rebuilt on demand).
    std::size_t cache_entries_max = 4096;
};

/// AWS IoT's data-plane authorization for X.509 connections (reference §1.10, §4.4, §5.1), as a
/// broker::Authorizer over the Registry:
///
/// - CONNECT: the certificate (PeerIdentity::certificate_id) must be registered and ACTIVE,
///   else the connection is refused (broker: MQTT 5 CONNACK 0x87, MQTT 3.1.1 close, and the
///   `connect_failed` lifecycle event). Then `iot:Connect` on `client/<clientId>` with the
///   connect attributes (`PersistentConnect`, `LastWill`) and `iot:LastWillTopic`; a will also
///   needs `iot:Publish` (and `iot:RetainPublish` when retained) on its topic.
/// - PUBLISH: `iot:Publish` on `topic/<t>`, and `iot:RetainPublish` when retained.
/// - SUBSCRIBE: `iot:Subscribe` on `topicfilter/<f>` (wildcards literal).
/// - Delivery: `iot:Receive` on `topic/<t>`.
/// A certificate that stops being ACTIVE while connected is denied every later operation.
///
/// The policies are Registry::policies_for_principal's (default versions: the certificate's
/// own, then its things' groups and their ancestors). Policy variables come from the
/// connection: `iot:ClientId`, `iot:CertificateId`, `iot:Certificate.*` (the registered PEM's
/// fields), `aws:SourceIp`, and the bound thing (`iot:Connection.Thing.*`): the thing attached
/// EXCLUSIVE_THING to the certificate, else the attached thing whose name equals the client id,
/// else none (IsAttached "false", thing variables unresolved). `aws:CurrentTime` is absent (the
/// broker's checks carry no time).
///
/// Custom authorizers (PeerIdentity::custom, an auth::CustomAuthGrant): CONNECT is refused with
/// `bad_credentials` (MQTT 5 CONNACK 0x86) unless the function authenticated the connection;
/// then every check evaluates the policies the function returned, with `iot:ClientId` and
/// `aws:SourceIp` (no certificate, no connection thing).
///
/// Caching: compiled policies and each (certificate, peer address, client id)'s context are
/// cached; the host calls invalidate() after every registry change (each control-plane
/// request), so changes apply to the next check (AWS: "a few minutes"; iotsim: immediately).
///
/// Sans-I/O: reads the Registry only, no clock, no randomness, no I/O.
/// Thread safety: none; called on the broker's thread, which also drives the Registry.
class PolicyAuthorizer final : public broker::Authorizer {
public:
    explicit PolicyAuthorizer(const registry::Registry& registry,
                              PolicyAuthorizerOptions options = {});

    /// Forgets every cached decision input; call after any registry change.
    void invalidate();

    [[nodiscard]] broker::ConnectDecision authorize_connect(const broker::PeerIdentity& peer,
                                                            const mqtt::Connect& connect) override;
    [[nodiscard]] bool authorize_publish(const broker::ClientContext& client,
                                         std::string_view topic, bool retain) override;
    [[nodiscard]] bool authorize_subscribe(const broker::ClientContext& client,
                                           std::string_view filter) override;
    [[nodiscard]] bool authorize_receive(const broker::ClientContext& client,
                                         std::string_view topic) override;

    /// An iot-data REST request over HTTPS authenticated by a client certificate (AWS's port
    /// 8443): the certificate must be registered and ACTIVE, and `action` (iot:Publish,
    /// iot:GetThingShadow, ...) allowed on `<resource_kind>/<name>` (thing/<thing>,
    /// topic/<topic>), or on `*` when `resource_kind` is empty (iot:ListRetainedMessages). There
    /// is no client id (AWS: none exists for HTTPS) and no connection thing: policies using
    /// ${iot:ClientId} or ${iot:Connection.Thing.*} do not match; aws:SourceIp is the peer's
    /// address (PeerIdentity::address).
    [[nodiscard]] bool authorize_rest(const broker::PeerIdentity& peer, std::string_view action,
                                      std::string_view resource_kind, std::string_view name);

    /// For tests and logs: how many policy evaluations were made.
    [[nodiscard]] std::uint64_t evaluations() const { return evaluations_; }

private:
    /// What the checks of one (certificate, client id) need.
    struct Entry {
        bool active = false;  // the certificate is registered and ACTIVE
        std::vector<policy::Policy> policies;
        policy::RequestContext context;
    };

    /// nullptr: allow everything (an unauthenticated local connection).
    /// `client_id` nullopt: a REST request (no client id, no connection thing).
    const Entry* entry_for(const broker::PeerIdentity& peer, std::optional<std::string_view> client_id,
                           bool& allow_all);
    Entry build(const broker::PeerIdentity& peer, std::optional<std::string_view> client_id);
    Entry build_custom(const broker::PeerIdentity& peer, std::optional<std::string_view> client_id);
    Entry build_local(const broker::PeerIdentity& peer, std::optional<std::string_view> client_id);
    bool allowed(const Entry& entry, std::string_view action, const std::string& resource,
                 const policy::RequestContext& context);
    bool allowed(const Entry& entry, std::string_view action, const std::string& resource) {
        return allowed(entry, action, resource, entry.context);
    }
    std::string resource(std::string_view kind, std::string_view name) const;

    const registry::Registry& registry_;
    PolicyAuthorizerOptions options_;
    std::string arn_prefix_;
    // Lookups only (never iterated into output): key = certificate id, peer address, client id.
    std::unordered_map<std::string, Entry> entries_;
    // Compiled default versions, by policy ARN and version id.
    std::map<std::pair<std::string, std::int64_t>, policy::Policy> compiled_;
    // The iot:Certificate.* fields by certificate id. The id is the SHA-256 of the certificate's
    // DER, so its fields never change; kept across invalidate() (a deleted certificate's entry
    // is dropped there). Parsing the PEM was ~8 % of the server's CPU per TLS connection.
    using CertificateFields =
        std::map<std::string, std::vector<std::string>, policy::CaseInsensitiveLess>;
    std::unordered_map<std::string, CertificateFields> certificate_fields_;
    std::uint64_t evaluations_ = 0;
};

}  // namespace iotsim::auth
