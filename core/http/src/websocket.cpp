#include "iotsim/http/websocket.hpp"

#include <openssl/sha.h>

#include <array>

#include "iotsim/http/base64.hpp"

namespace iotsim::http::ws {

namespace {

constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

enum Opcode : std::uint8_t { continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA };

std::string frame(std::uint8_t opcode, std::string_view payload) {
    std::string out;
    out.reserve(payload.size() + 10);
    out.push_back(static_cast<char>(0x80U | opcode));  // FIN
    if (payload.size() < 126) {
        out.push_back(static_cast<char>(payload.size()));
    } else if (payload.size() <= 0xFFFF) {
        out.push_back(static_cast<char>(126));
        out.push_back(static_cast<char>((payload.size() >> 8) & 0xFF));
        out.push_back(static_cast<char>(payload.size() & 0xFF));
    } else {
        out.push_back(static_cast<char>(127));
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> shift) & 0xFF));
        }
    }
    out.append(payload);
    return out;
}

}  // namespace

std::string accept_key(std::string_view client_key) {
    const std::string text = std::string(client_key) + std::string(guid);
    std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
    return base64_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string binary_frame(std::string_view payload) { return frame(binary, payload); }

std::string close_frame(std::uint16_t code, std::string_view reason) {
    std::string payload;
    payload.push_back(static_cast<char>(code >> 8));
    payload.push_back(static_cast<char>(code & 0xFF));
    payload.append(reason.substr(0, 123));
    return frame(close, payload);
}

void ServerFramer::fail(FramerOutput& out, std::uint16_t code, std::string why) {
    out.reply += close_frame(code);
    out.close = true;
    out.error = std::move(why);
    closed_ = true;
    buf_.clear();
}

FramerOutput ServerFramer::receive(std::string_view bytes) {
    FramerOutput out;
    if (closed_) {
        return out;
    }
    buf_.append(bytes);
    std::size_t pos = 0;
    while (!closed_) {
        const std::size_t avail = buf_.size() - pos;
        if (avail < 2) {
            break;
        }
        const auto b0 = static_cast<std::uint8_t>(buf_[pos]);
        const auto b1 = static_cast<std::uint8_t>(buf_[pos + 1]);
        const bool fin = (b0 & 0x80U) != 0;
        const std::uint8_t opcode = b0 & 0x0FU;
        const bool masked = (b1 & 0x80U) != 0;
        std::uint64_t length = b1 & 0x7FU;
        std::size_t header = 2;
        if (length == 126) {
            if (avail < 4) {
                break;
            }
            length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(buf_[pos + 2])) << 8) |
                     static_cast<std::uint8_t>(buf_[pos + 3]);
            header = 4;
        } else if (length == 127) {
            if (avail < 10) {
                break;
            }
            length = 0;
            for (std::size_t i = 0; i < 8; ++i) {
                length = (length << 8) | static_cast<std::uint8_t>(buf_[pos + 2 + i]);
            }
            header = 10;
        }
        if ((b0 & 0x70U) != 0) {
            fail(out, 1002, "reserved bits set");
            break;
        }
        if (!masked) {
            fail(out, 1002, "client frame not masked");  // RFC 6455 §5.1
            break;
        }
        const bool control = (opcode & 0x08U) != 0;
        if (control && (!fin || length > 125)) {
            fail(out, 1002, "fragmented or oversized control frame");
            break;
        }
        if (length > frame_bytes_max_) {
            fail(out, 1009, "frame too big");
            break;
        }
        if (avail < header + 4 + length) {
            break;  // the frame is not complete yet (its size is bounded: buffering is safe)
        }
        const std::size_t mask_at = pos + header;
        const std::size_t payload_at = mask_at + 4;
        const std::string_view wire_payload(buf_.data() + payload_at, static_cast<std::size_t>(length));
        const auto unmask_into = [&](std::string& to) {
            const std::size_t at = to.size();
            to.append(wire_payload);
            for (std::size_t i = 0; i < wire_payload.size(); ++i) {
                to[at + i] = static_cast<char>(to[at + i] ^ buf_[mask_at + (i & 3U)]);
            }
        };
        pos = payload_at + static_cast<std::size_t>(length);
        // Data frames are unmasked straight into the output (MQTT bytes are not copied twice);
        // control frames (at most 125 bytes) into their own payload.
        const bool data_frame = opcode == binary || opcode == continuation;
        if (data_frame && in_message_ == (opcode == binary)) {
            fail(out, 1002, opcode == binary ? "a new message before the previous one ended"
                                             : "continuation without a message");
            break;
        }
        if (data_frame) {
            unmask_into(out.data);
            in_message_ = !fin;
            continue;
        }
        std::string payload;
        unmask_into(payload);
        switch (opcode) {
            case text:
                fail(out, 1003, "text frame: MQTT over WebSocket is binary");
                break;
            case ping:
                out.reply += frame(pong, payload);
                break;
            case pong:
                break;
            case close: {
                if (payload.size() == 1) {
                    fail(out, 1002, "close frame with a 1-byte payload");
                    break;
                }
                if (payload.empty()) {
                    out.reply += frame(close, {});
                } else {
                    const auto code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                                                 static_cast<std::uint8_t>(payload[1]));
                    // RFC 6455 §7.4: codes a peer may send; others (1004-1006, 1015, < 1000,
                    // unassigned) are a protocol error.
                    const bool valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                                       (code >= 3000 && code <= 4999);
                    if (!valid) {
                        fail(out, 1002, "invalid close code " + std::to_string(code));
                        break;
                    }
                    out.reply += close_frame(code);  // echoed (§5.5.1)
                }
                out.close = true;
                closed_ = true;
                break;
            }
            default:
                fail(out, 1002, "unknown opcode");
                break;
        }
    }
    if (!closed_) {
        buf_.erase(0, pos);
    }
    return out;
}

}  // namespace iotsim::http::ws
