#pragma once

#include <string_view>

#include "iotsim/broker/identity.hpp"
#include "iotsim/mqtt/packet.hpp"

namespace iotsim::broker {

/// What a connected client is, as the authorizer sees it on every later check.
struct ClientContext {
    const PeerIdentity& peer;
    std::string_view client_id;
};

/// Outcome of the connect check. `bad_credentials` maps to MQTT 5 CONNACK 0x86 (custom
/// authorizers), `not_authorized` to 0x87.
enum class ConnectDecision : std::uint8_t { allow, not_authorized, bad_credentials };

/// Authorization, injected: the foundation ships AllowAll; the registry plugs in IoT policies.
/// Every call is on the broker's thread and must not block or do I/O.
class Authorizer {
public:
    virtual ~Authorizer() = default;
    /// iot:Connect (plus the will's iot:Publish/iot:RetainPublish and connect attributes).
    [[nodiscard]] virtual ConnectDecision authorize_connect(const PeerIdentity& peer,
                                                            const mqtt::Connect& connect) = 0;
    /// iot:Publish on topic/<topic>, and iot:RetainPublish when `retain`.
    [[nodiscard]] virtual bool authorize_publish(const ClientContext& client, std::string_view topic,
                                                 bool retain) = 0;
    /// iot:Subscribe on topicfilter/<filter> (the filter string as written, wildcards literal).
    [[nodiscard]] virtual bool authorize_subscribe(const ClientContext& client,
                                                   std::string_view filter) = 0;
    /// iot:Receive on topic/<topic>, checked on every delivery.
    [[nodiscard]] virtual bool authorize_receive(const ClientContext& client, std::string_view topic) = 0;
};

/// Allows everything: the plain port's local convenience (AWS has no unauthenticated port).
class AllowAllAuthorizer final : public Authorizer {
public:
    ConnectDecision authorize_connect(const PeerIdentity&, const mqtt::Connect&) override {
        return ConnectDecision::allow;
    }
    bool authorize_publish(const ClientContext&, std::string_view, bool) override { return true; }
    bool authorize_subscribe(const ClientContext&, std::string_view) override { return true; }
    bool authorize_receive(const ClientContext&, std::string_view) override { return true; }
};

}  // namespace iotsim::broker
