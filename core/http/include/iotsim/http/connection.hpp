#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "iotsim/common/time.hpp"
#include "iotsim/http/codec.hpp"
#include "iotsim/http/router.hpp"

namespace iotsim::http {

/// What a host does after one input: write `bytes` (possibly empty), then close the connection
/// when `close`.
struct ConnectionOutput {
    std::string bytes;
    bool close = false;
    /// `bytes` end with a 101 to WebSocket: the connection now carries MQTT in WebSocket frames
    /// (RFC 6455: the client sends nothing more before it reads the 101), authenticated as
    /// `principal`. The HttpConnection reads no more input.
    bool upgrade = false;
    std::string principal;
    std::string leftover;  // bytes that followed the upgrade request: the first WebSocket bytes
    /// Response::custom_auth and the upgrade request's headers and query.
    bool custom_auth = false;
    std::vector<Header> upgrade_headers;
    std::string upgrade_query;
    /// A request a custom authorizer must decide (Response::custom_auth_pending): `bytes` hold
    /// the answers before it; nothing after it is processed until resume().
    std::optional<Request> custom_auth_request;
};

/// Options of one HttpConnection.
struct HttpConnectionOptions {
    CodecLimits limits;
    /// Adds a `Date` header with the input's wall time (`now.wall`) to every response.
    bool date_header = false;
};

/// One HTTP connection end to end, for hosts: a ServerCodec framing the bytes and a (shared)
/// Router answering each request, responses encoded in request order (pipelining), `100
/// Continue` where asked, codec errors answered with AWS's error shape and a request id.
///
/// Thread safety: none; one per connection, driven by the Router's thread.
class HttpConnection {
public:
    explicit HttpConnection(Router& router, HttpConnectionOptions options = {});

    /// The client certificate the TLS handshake verified (its SHA-256 id), passed to the Router
    /// with every request (Router::handle's `caller`).
    void set_caller(Caller caller) { caller_ = std::move(caller); }

    /// Bytes arrived (any split). Returns what to write and whether to close afterwards.
    [[nodiscard]] ConnectionOutput receive(std::string_view bytes, Now now);

    /// The custom authorizer decided the pending request (`decision` is the host's, passed to
    /// the Router as Caller::custom): answers it, then goes on with what arrived meanwhile.
    [[nodiscard]] ConnectionOutput resume(std::shared_ptr<const void> decision, Now now);

    /// True while a request waits for a custom authorizer.
    [[nodiscard]] bool authorizing() const { return pending_.has_value(); }

    /// True once the connection reads no more input (it is to be closed).
    [[nodiscard]] bool done() const { return closed_ || codec_.done(); }

private:
    void process(std::deque<CodecEvent>& events, Now now, ConnectionOutput& out, const Caller& caller,
                 bool may_resume_codec);

    ServerCodec codec_;
    Router& router_;
    Caller caller_;
    bool date_header_;
    bool closed_ = false;
    std::optional<Request> pending_;  // waiting for a custom authorizer
    std::deque<CodecEvent> held_;     // what the codec framed behind it
};

}  // namespace iotsim::http
