#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iotsim::http {

/// One header field as received or to be sent. Names compare case-insensitively (RFC 9110
/// §5.1); they are kept as the peer spelled them.
struct Header {
    std::string name;
    std::string value;

    friend bool operator==(const Header&, const Header&) = default;
};

/// ASCII case-insensitive equality, for header names and tokens.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b);

/// One HTTP/1.x request as ServerCodec framed it: the body is complete (de-chunked) and every
/// limit has been checked.
struct Request {
    std::string method;          // as sent (methods are case-sensitive: "get" is not GET)
    std::string target;          // the raw request-target, origin-form
    std::string path;            // raw path of the target (still percent-encoded)
    std::string query;           // raw query after '?', without the '?' ("" when none)
    int version_minor = 1;       // HTTP/1.0 or HTTP/1.1
    std::vector<Header> headers; // in the order received
    std::string body;
    /// Whether the connection stays open after the response (HTTP/1.1 unless `Connection:
    /// close`; HTTP/1.0 only with `Connection: keep-alive`).
    bool keep_alive = true;

    /// The value of the first header named `name` (case-insensitive), or nullptr.
    [[nodiscard]] const std::string* header(std::string_view name) const;
};

/// One response. `encode_response` adds Content-Length and Connection; the other headers are
/// written as given, in order.
struct Response {
    int status = 200;
    std::vector<Header> headers;
    std::string body;
    /// Close the connection after this response (set for malformed requests).
    bool close = false;
    /// A 101 Switching Protocols to WebSocket (GET /mqtt): after it the connection carries
    /// MQTT in WebSocket frames, as `principal` (the SigV4 access key id).
    bool upgrade = false;
    std::string principal;
    /// An upgrade without SigV4 that a custom authorizer will decide (at the MQTT CONNECT): the
    /// upgrade request's headers and raw query, where its token may be.
    bool custom_auth = false;
    std::vector<Header> upgrade_headers;
    std::string upgrade_query;
    /// Not an answer yet: a custom authorizer must decide first (Router::set_custom_auth).
    bool custom_auth_pending = false;

    /// The value of the first header named `name` (case-insensitive), or nullptr.
    [[nodiscard]] const std::string* header(std::string_view name) const;
};

/// The reason phrase of a status code ("OK", "Not Found"...; "" for unknown codes).
[[nodiscard]] std::string_view reason_phrase(int status);

}  // namespace iotsim::http
