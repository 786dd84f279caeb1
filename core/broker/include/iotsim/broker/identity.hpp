#pragma once

#include <cstdint>
#include <string>

namespace iotsim::broker {

/// Which listener a connection arrived on.
enum class Transport : std::uint8_t { tcp, tls, websocket, simulated };

/// What the host knows about the peer before CONNECT: who authenticated at the transport layer
/// and from where. The broker trusts it (the host verified the certificate).
struct PeerIdentity {
    Transport transport = Transport::tcp;
    std::string address;  // IP address as text
    std::uint16_t port = 0;
    /// Certificate id (SHA-256 of the DER client certificate, 64 hex digits) for mTLS; empty
    /// otherwise. This is AWS's principalIdentifier for X.509 connections.
    std::string certificate_id;
    /// Principal used for authorization and lifecycle events; for the plain port a configurable
    /// local principal; for SigV4 the access key id.
    std::string principal;
    /// Authenticated by SigV4 (MQTT over WebSocket with a presigned URL) with the account's own
    /// keys: IAM decides, not IoT policies (reference §5.3).
    bool sigv4 = false;
};

}  // namespace iotsim::broker
