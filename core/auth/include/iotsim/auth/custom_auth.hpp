#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/broker/identity.hpp"
#include "iotsim/common/result.hpp"
#include "iotsim/mqtt/packet.hpp"
#include "iotsim/policy/arn.hpp"
#include "iotsim/policy/policy.hpp"
#include "iotsim/registry/records.hpp"
#include "iotsim/registry/registry.hpp"

namespace iotsim::auth {

/// Custom authentication (reference §5.4), the Sans-I/O half: which authorizer a request names,
/// its token and signature, the Lambda event, and the validation of the function's answer. The
/// host runs the function itself (a local executable or callback standing in for Lambda) between
/// prepare_invocation() and parse_authorizer_response().
///
/// The workflow, as AWS runs it: the authorizer named by `x-amz-customauthorizer-name` (HTTP
/// header or query parameter, or the MQTT username's query string), else the account's default
/// authorizer; it must be ACTIVE; when signing is enabled the token (the value of the
/// authorizer's `tokenKeyName`) must come with `x-amz-customauthorizer-signature`, the base64
/// RSA-SHA256 signature of the token by one of the authorizer's public keys, else the request is
/// refused *without* invoking the function. The function answers isAuthenticated, principalId,
/// policyDocuments (IoT policies evaluated like attached ones), disconnectAfterInSeconds and
/// refreshAfterInSeconds.

/// The MQTT CONNECT's credentials as a custom authorizer sees them.
struct MqttCredentials {
    std::string username;  // as sent, query string included
    std::optional<std::string> password;  // raw bytes
    std::string client_id;
};

/// What the host found on a connection or request that asks for custom authentication.
struct CustomAuthRequest {
    /// HTTP request headers (the WebSocket upgrade or an HTTPS publish), names as received
    /// (matched case-insensitively), and the raw query string without '?'.
    std::vector<std::pair<std::string, std::string>> headers;
    std::string query;
    bool http = false;
    std::optional<MqttCredentials> mqtt;
    bool tls = false;
    std::string server_name;  // TLS SNI, "" when none was sent
};

/// What a custom authorizer decided for one connection. The broker sees the
/// broker::CustomCredentials part (authenticated, principal, time limits); PolicyAuthorizer
/// evaluates `policies` for every later operation, with the connection's policy variables.
struct CustomAuthGrant final : broker::CustomCredentials {
    std::vector<policy::Policy> policies;
    /// The policy documents as the function returned them, one JSON text each (what
    /// TestInvokeAuthorizer reports).
    std::vector<std::string> documents;
};

/// The function to run and the event to give it.
struct Invocation {
    registry::AuthorizerRecord authorizer;
    nlohmann::json event;
};

/// The event as the function reads it: JSON text in which bytes that are not UTF-8 (a header
/// or token may carry any byte) are replaced by U+FFFD, never an exception.
[[nodiscard]] std::string event_text(const Invocation& invocation);

/// Why a request was refused before the function ran (for logs and TestInvokeAuthorizer).
struct Refusal {
    std::string reason;
};

/// Splits an MQTT username `name?k=v&k2=v2` into its user name and raw query string.
[[nodiscard]] std::pair<std::string, std::string> split_mqtt_username(std::string_view username);

/// Finds the authorizer and checks the token's signature (steps 1 to 3 above), and builds the
/// Lambda event (`token`, `signatureVerified`, `protocols`, `protocolData`,
/// `connectionMetadata.id` = `connection_id`). Never throws on input.
[[nodiscard]] Result<Invocation, Refusal> prepare_invocation(const registry::Registry& registry,
                                                             const CustomAuthRequest& request,
                                                             std::string_view connection_id);

/// The same for a known authorizer and an explicit token and signature (TestInvokeAuthorizer):
/// the authorizer must be ACTIVE, and when signing is enabled the signature must verify.
[[nodiscard]] Result<Invocation, Refusal> prepare_invocation(const registry::AuthorizerRecord& authorizer,
                                                             const std::optional<std::string>& token,
                                                             const std::optional<std::string>& signature,
                                                             const CustomAuthRequest& request,
                                                             std::string_view connection_id);

/// Whether the token's signature (base64, as sent) verifies with one of the authorizer's keys.
[[nodiscard]] bool verify_token_signature(const registry::AuthorizerRecord& authorizer,
                                          std::string_view token, std::string_view signature_base64);

/// Validates the function's answer (AWS's response format: isAuthenticated boolean;
/// principalId `[a-zA-Z0-9]{1,128}`; policyDocuments, at most 10, each an object or a JSON text
/// of at most 2048 characters that parses as an IoT policy; disconnectAfterInSeconds and
/// refreshAfterInSeconds in 300..86400) into a grant. An answer with isAuthenticated false needs
/// nothing else. The error is a sentence for InvalidResponseException and logs. `serial` makes
/// the grant unique (the authorizer's cache key).
[[nodiscard]] Result<std::shared_ptr<const CustomAuthGrant>, std::string> parse_authorizer_response(
    std::string_view body, const registry::AuthorizerRecord& authorizer, const policy::ArnScope& scope,
    std::uint64_t serial);

/// A refused grant (authenticated false) carrying why: for refusals before or instead of the
/// function's answer (unknown authorizer, bad signature, a failing or silent function).
[[nodiscard]] std::shared_ptr<const CustomAuthGrant> refused_grant(std::string authorizer, std::string reason,
                                                                   std::uint64_t serial);

/// The first packet of an MQTT byte stream, if complete: the host reads the CONNECT's
/// credentials before handing the bytes to the broker.
struct ConnectPeek {
    enum class Status : std::uint8_t { incomplete, connect, not_connect } status = Status::incomplete;
    std::optional<mqtt::Connect> connect;
};
[[nodiscard]] ConnectPeek peek_connect(std::string_view stream, std::uint32_t packet_bytes_max);

}  // namespace iotsim::auth
