#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace iotsim::http::ws {

/// RFC 6455's Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
[[nodiscard]] std::string accept_key(std::string_view client_key);

/// An unmasked (server-to-client) binary frame carrying `payload` (RFC 6455 §5.2).
[[nodiscard]] std::string binary_frame(std::string_view payload);
/// A close frame with a status code and reason (at most 123 bytes of it are sent).
[[nodiscard]] std::string close_frame(std::uint16_t code, std::string_view reason = {});

/// What the host does after bytes arrived on a WebSocket: hand `data` (the application bytes
/// of complete binary messages: MQTT packets in any split) to the broker, write `reply`
/// (pongs, the close handshake), and close after writing when `close`.
struct FramerOutput {
    std::string data;
    std::string reply;
    bool close = false;
    std::string error;  // why the framer closed, for logs ("" for the peer's orderly close)
};

/// The server side of RFC 6455 framing, Sans-I/O: client frames must be masked; binary data
/// frames (and their continuations) are unmasked into `data` as they arrive, so MQTT bytes flow
/// without waiting for a message's end; ping is answered with pong; close is answered with
/// close. Text frames (MQTT is binary), unmasked or reserved bits, bad control frames and
/// frames beyond `frame_bytes_max` close the connection with RFC 6455's status codes (1003,
/// 1002, 1009). After close, input is ignored.
class ServerFramer {
public:
    explicit ServerFramer(std::size_t frame_bytes_max = 1U << 20) : frame_bytes_max_(frame_bytes_max) {}

    [[nodiscard]] FramerOutput receive(std::string_view bytes);
    [[nodiscard]] bool closed() const { return closed_; }

private:
    void fail(FramerOutput& out, std::uint16_t code, std::string why);

    std::string buf_;
    std::size_t frame_bytes_max_;
    bool in_message_ = false;  // a binary message's continuation frames are expected
    bool closed_ = false;
};

}  // namespace iotsim::http::ws
