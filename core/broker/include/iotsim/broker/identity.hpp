#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace iotsim::broker {

/// Which listener a connection arrived on.
enum class Transport : std::uint8_t { tcp, tls, websocket, simulated };

/// A custom authorizer's decision for a connection (reference §5.4). The broker reads these
/// members only; the authorizer that made it (auth::CustomAuthGrant) carries the policies.
struct CustomCredentials {
    virtual ~CustomCredentials() = default;
    bool authenticated = false;
    std::string authorizer;    // the authorizer's name
    std::string principal_id;  // the function's principalId
    std::string refusal;       // why not authenticated, for logs
    /// disconnectAfterInSeconds: the broker closes the connection that long after CONNACK
    /// (lifecycle reason CUSTOMAUTH_TTL_EXPIRATION); 0 for no limit.
    std::uint32_t disconnect_after_s = 0;
    /// refreshAfterInSeconds: the host runs the function again after that long.
    std::uint32_t refresh_after_s = 0;
    /// Unique per decision (a cache key for the authorizer).
    std::uint64_t serial = 0;
};

/// What the host knows about the peer before CONNECT: who authenticated at the transport layer
/// and from where. The broker trusts it (the host verified the certificate).
struct PeerIdentity {
    // Members are ordered largest first so that the small ones share one word (the broker keeps
    // one per connection; memory per idle connection is a benchmark target).
    std::string address;  // IP address as text
    /// Certificate id (SHA-256 of the DER client certificate, 64 hex digits) for mTLS; empty
    /// otherwise. This is AWS's principalIdentifier for X.509 connections.
    std::string certificate_id;
    /// Principal used for authorization and lifecycle events; for the plain port a configurable
    /// local principal; for SigV4 the access key id.
    std::string principal;
    /// Set when a custom authorizer decided (before the CONNECT reaches the broker): the
    /// connection is authenticated and authorized by it, not by a certificate.
    std::shared_ptr<const CustomCredentials> custom;
    std::uint16_t port = 0;
    Transport transport = Transport::tcp;
    /// Authenticated by SigV4 (MQTT over WebSocket with a presigned URL) with the account's own
    /// keys: IAM decides, not IoT policies (reference §5.3).
    bool sigv4 = false;
};

}  // namespace iotsim::broker
