#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "iotsim/common/time.hpp"
#include "iotsim/http/error.hpp"
#include "iotsim/http/message.hpp"

namespace iotsim::http {

/// Bounds on what one request may make the codec hold. Each is checked before the bytes are
/// buffered, so a peer can never make the codec allocate more than these.
struct CodecLimits {
    /// Request line including CRLF; beyond it 414 URI Too Long.
    std::size_t request_line_bytes_max = 8 * 1024;
    /// The header section (every field line with its CRLF, and chunked trailers); beyond it 431.
    std::size_t header_bytes_max = 16 * 1024;
    /// Header fields (and trailer fields); beyond it 431.
    std::size_t header_count_max = 100;
    /// Body bytes after de-chunking; beyond it 413. AWS's payload limit is 128 KB (131072 bytes);
    /// the slack lets the router answer a slightly larger publish with AWS's error rather than
    /// closing the connection.
    std::size_t body_bytes_max = 128 * 1024 + 16 * 1024;
    /// One chunk-size line with its extensions; beyond it 400.
    std::size_t chunk_line_bytes_max = 1024;
};

/// The peer expects `HTTP/1.1 100 Continue` before it sends the body (`Expect: 100-continue`).
/// Write `bytes` now, before any later event's response.
struct Interim {
    std::string bytes;
};

/// The input is not HTTP the codec accepts: answer `error` (error_response, after the
/// responses to the requests before it) and close. The codec reads nothing more.
struct Malformed {
    ApiError error;
};

/// What ServerCodec::receive found, in stream order.
using CodecEvent = std::variant<Request, Interim, Malformed>;

/// Server side of HTTP/1.1 (RFC 9112) for one connection, Sans-I/O: bytes in (any split, any
/// coalescing, pipelined requests), framed requests out; responses to bytes. Supports
/// Content-Length and chunked bodies, `Expect: 100-continue`, keep-alive and `Connection:
/// close`, HTTP/1.0. Never throws on input and never crashes: malformed input ends in a Malformed
/// event with 400, 413, 414, 417, 431, 501 or 505 and AWS's error shape.
///
/// After a request without keep-alive, or a Malformed event, the codec is `done()` and ignores
/// further bytes.
///
/// Thread safety: none; one per connection.
class ServerCodec {
public:
    explicit ServerCodec(CodecLimits limits = {});

    /// Consumes `bytes` and returns the events they complete, in order (often none).
    [[nodiscard]] std::vector<CodecEvent> receive(std::string_view bytes);

    /// True once the codec reads no more (after a close request or malformed input).
    [[nodiscard]] bool done() const { return state_ == State::done; }

    /// After a request with an `Upgrade` header the codec pauses: bytes after it are held, not
    /// parsed, until the host either takes them (the protocol switched: take_held) or resumes
    /// HTTP (resume returns the events of the held bytes). So what follows an upgrade request is
    /// framed the same however TCP split the stream.
    [[nodiscard]] bool paused() const { return state_ == State::paused; }
    [[nodiscard]] std::string take_held();
    [[nodiscard]] std::vector<CodecEvent> resume();

    [[nodiscard]] const CodecLimits& limits() const { return limits_; }

private:
    enum class State : std::uint8_t {
        request_line,
        headers,
        body,
        chunk_size,
        chunk_data,
        chunk_data_end,
        trailers,
        paused,
        done,
    };

    /// Handles one complete line of the current line state; appends events.
    void on_line(std::string_view line, std::vector<CodecEvent>& out);
    void on_request_line(std::string_view line, std::vector<CodecEvent>& out);
    void on_header_line(std::string_view line, std::vector<CodecEvent>& out);
    void on_headers_complete(std::vector<CodecEvent>& out);
    void on_chunk_size_line(std::string_view line, std::vector<CodecEvent>& out);
    void complete(std::vector<CodecEvent>& out);
    void fail(int status, std::string_view message, std::vector<CodecEvent>& out);
    /// The line limit of the current state, and the status to send beyond it.
    [[nodiscard]] std::size_t line_limit() const;
    [[nodiscard]] int line_limit_status() const;

    CodecLimits limits_;
    State state_ = State::request_line;
    std::string line_;         // the partial line of a line state
    Request request_;          // the request being framed
    std::size_t header_bytes_ = 0;
    std::size_t header_count_ = 0;
    std::size_t body_remaining_ = 0;  // body or current chunk bytes still to read
    std::string held_;                // bytes received while paused
    bool paused_keep_alive_ = false;  // whether the request that paused the codec keeps the connection
};

/// Options for encode_response.
struct EncodeOptions {
    /// Adds `Date: <IMF-fixdate>` of this wall time; the core reads no clock, so the host passes
    /// its reading (or nothing).
    std::optional<WallTime> date;
    /// The response to a HEAD request: Content-Length of the body, but no body.
    bool head = false;
};

/// `HTTP/1.1 <status> <reason>`, the response's headers, `Content-Length`, `Connection: close`
/// when `close` (else `Connection: keep-alive`), an optional Date, CRLF, body.
[[nodiscard]] std::string encode_response(const Response& response, bool close,
                                          const EncodeOptions& options = {});

/// RFC 9110 §5.6.7 IMF-fixdate, e.g. `Thu, 01 Jan 2026 00:00:00 GMT`.
[[nodiscard]] std::string http_date(WallTime time);

}  // namespace iotsim::http
