#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "iotsim/common/rng.hpp"
#include "iotsim/common/time.hpp"
#include "iotsim/http/data_plane.hpp"
#include "iotsim/http/error.hpp"
#include "iotsim/http/message.hpp"
#include "iotsim/http/sigv4.hpp"

namespace iotsim::http {

/// The iot-data operations the Router serves (botocore's operation names).
enum class Operation : std::uint8_t {
    get_thing_shadow,
    update_thing_shadow,
    delete_thing_shadow,
    list_named_shadows_for_thing,
    publish,
    list_retained_messages,
    get_retained_message,
};

/// botocore's name of an operation, e.g. "GetThingShadow".
[[nodiscard]] std::string_view operation_name(Operation operation);

/// Who sent a request, as the transport authenticated it: the SHA-256 id of the client
/// certificate verified in the TLS handshake (HTTPS), "" otherwise.
struct Caller {
    std::string certificate_id;
    std::string address;  // the peer's IP address as text (the policies' aws:SourceIp)
    /// A custom authorizer's decision for this request (opaque to core/http: the host made it
    /// and reads it back in its Authorize hook); set by HttpConnection::resume.
    std::shared_ptr<const void> custom;
    /// Whether the listener offers custom authentication (AWS: not on port 8443).
    bool custom_auth_offered = true;
};

/// What the authorization seam sees of a routed request.
struct AuthorizeRequest {
    Operation operation = Operation::get_thing_shadow;
    const Request* request = nullptr;  // the raw request (headers, e.g. Authorization; body)
    /// The decoded resource: the thing name (shadow operations), the topic (Publish,
    /// GetRetainedMessage), "" for ListRetainedMessages (AWS: resource `*`).
    std::string resource;
    std::string shadow_name;  // "" unless a named shadow
    bool retain = false;      // Publish with retain=true (AWS also checks iot:RetainPublish)
    /// The client certificate that authenticated an unsigned HTTPS request (X.509 instead of
    /// SigV4: the policies decide); "" for a SigV4-signed or unauthenticated request.
    std::string certificate_id;
    std::string address;  // the caller's IP address (Caller::address), with certificate_id
    /// Caller::custom: the request was authenticated by a custom authorizer, not SigV4.
    std::shared_ptr<const void> custom;
};

/// The authentication/authorization seam (SigV4 and policies come with the registry): nullopt
/// admits the request; an ApiError (401 UnauthorizedException, 403 ForbiddenException) is sent
/// as is. Called after routing and path decoding, before query validation and the data plane.
using Authorize = std::function<std::optional<ApiError>(const AuthorizeRequest&)>;

/// Another API served on the same port, consulted before the iot-data routes: it answers a
/// request it recognises (the response is sent as is, with its own request id) and returns
/// nullopt for the others, which the Router then serves. The network host puts the iot control
/// plane (registry::ControlPlaneRouter) here, as `aws iot` and `aws iot-data` share its ports.
using Front = std::function<std::optional<Response>(const Request&, Now)>;

/// AWS's limits the Router enforces itself (reference §1.13, §1.14).
struct RouterOptions {
    std::size_t payload_bytes_max = 131'072;  // Publish body; beyond it 413
    std::size_t topic_bytes_max = 256;        // excluding a Basic Ingest prefix
    std::size_t topic_slashes_max = 7;        // excluding a Basic Ingest prefix
    std::uint32_t message_expiry_max_s = 604'800;  // messageExpiry is clamped to 1..this
    int retained_page_size_default = 50;  // ListRetainedMessages without maxResults (iotsim's)
    /// SigV4 on every request, the front's (control plane, rules) included; no secrets: none.
    SigV4Options sigv4;
};

/// The iot-data REST API (botocore's `iot-data` 2015-05-28 model) on top of a DataPlane:
///
///   GET|POST|DELETE /things/{thingName}/shadow[?name=]    Get/Update/DeleteThingShadow
///   GET /api/things/shadow/ListNamedShadowsForThing/{thingName}[?nextToken=&pageSize=]
///   POST /topics/{topic}[?qos=&retain=&contentType=&responseTopic=&messageExpiry=]  Publish
///   GET /retainedMessage[?nextToken=&maxResults=]         ListRetainedMessages
///   GET /retainedMessage/{topic}                          GetRetainedMessage
///
/// `{topic}` is everything after the prefix, decoded, so `%2F` (botocore) and a literal `/`
/// (curl) both separate levels. Errors follow rest-json: status, `x-amzn-ErrorType`, body
/// `{"message","traceId"}`; a known path with another method is 405 MethodNotAllowedException,
/// an unknown path 404 ResourceNotFoundException. Every response carries `x-amzn-RequestId` (a
/// UUID from the injected Rng; Publish's `traceId` is the same value).
///
/// Thread safety: none; one thread drives the Router and its DataPlane.
class Router {
public:
    Router(DataPlane& data_plane, Rng& rng, RouterOptions options = {});

    /// Installs the authorization hook; without one every request is admitted.
    void set_authorize(Authorize authorize) { authorize_ = std::move(authorize); }
    /// Installs the API served in front of this one; without one the Router serves alone.
    void set_front(Front front) { front_ = std::move(front); }
    /// Whether an unsigned GET /mqtt (no SigV4 presigned query) may upgrade for a custom
    /// authorizer to decide at CONNECT (reference §5.4: the token in the upgrade's headers or
    /// query, or the CONNECT's username and password). Without it such upgrades get 403.
    void set_websocket_custom_auth(std::function<bool(const Request&)> accept) {
        websocket_custom_auth_ = std::move(accept);
    }
    /// Whether an unsigned iot-data request goes to a custom authorizer (reference §5.4: the
    /// token in its headers or query, or the default authorizer): handle() then answers with
    /// Response::custom_auth_pending, and the host, once the function has answered, routes it
    /// again with Caller::custom set (HttpConnection::resume).
    void set_custom_auth(std::function<bool(const Request&)> wants) { custom_auth_ = std::move(wants); }

    /// Answers one request. Never throws on input. Authentication (reference §5): a request
    /// with a SigV4 signature (an Authorization header or X-Amz-Signature) is verified against
    /// options().sigv4; an unsigned one from a `caller` with a client certificate is
    /// authenticated by it, reaches only the iot-data routes (never the front: the control
    /// plane takes SigV4 only) and is authorized by the Authorize hook; any other unsigned
    /// request is refused as verify_sigv4 refuses it (when secrets are configured).
    [[nodiscard]] Response handle(const Request& request, Now now, const Caller& caller = {});

    /// A fresh request id (a UUID drawn from the Rng), for responses the codec produced.
    [[nodiscard]] std::string next_request_id();

    [[nodiscard]] const RouterOptions& options() const { return options_; }

private:
    Response route(const Request& request, const std::string& request_id, Now now, const Caller& caller);
    /// GET /mqtt: the WebSocket handshake, SigV4-presigned (verify_sigv4_query).
    Response websocket_upgrade(const Request& request, Now now, const Caller& caller);
    std::optional<ApiError> authorize(const AuthorizeRequest& request) const;

    DataPlane& data_plane_;
    Rng& rng_;
    RouterOptions options_;
    Authorize authorize_;
    Front front_;
    std::function<bool(const Request&)> websocket_custom_auth_;
    std::function<bool(const Request&)> custom_auth_;
};

}  // namespace iotsim::http
