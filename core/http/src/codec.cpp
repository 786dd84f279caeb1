#include "iotsim/http/codec.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "iotsim/common/assert.hpp"

namespace iotsim::http {

namespace {

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    constexpr std::string_view specials = "!#$%&'*+-.^_`|~";
    return specials.find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_ows(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

/// Field values: visible ASCII, SP, HTAB and obs-text; never NUL, CR, LF or other controls.
bool is_field_value(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u == '\t' || (u >= 0x20 && u != 0x7F);
    });
}

/// Request-target characters: visible ASCII except '#' (a fragment is never sent, RFC 9112 §3.2).
bool is_target_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7F && c != '#';
}

/// Calls `f(token)` for each element of a comma-separated list (empty elements skipped).
template <class F>
void for_each_list_element(std::string_view list, F&& f) {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        const std::string_view element = trim_ows(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (!element.empty()) {
            f(element);
        }
    }
}

/// The type codec errors carry. Statuses outside AWS's model get the nearest AWS name.
std::string_view codec_error_type(int status) {
    switch (status) {
        case 413: return "RequestEntityTooLargeException";
        case 501:
        case 505: return "NotImplementedException";
        default: return "InvalidRequestException";
    }
}

constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

ServerCodec::ServerCodec(CodecLimits limits) : limits_(limits) {}

std::string ServerCodec::take_held() {
    std::string held = std::move(held_);
    held_.clear();
    state_ = State::done;
    return held;
}

std::vector<CodecEvent> ServerCodec::resume() {
    if (state_ != State::paused) {
        return {};
    }
    const std::string held = std::move(held_);
    held_.clear();
    if (!paused_keep_alive_) {
        state_ = State::done;  // the paused request closed the connection: nothing follows
        return {};
    }
    state_ = State::request_line;
    return receive(held);
}

std::vector<CodecEvent> ServerCodec::receive(std::string_view in) {
    std::vector<CodecEvent> out;
    if (state_ == State::paused) {
        held_.append(in);
        return out;
    }
    while (!in.empty() && state_ != State::done) {
        if (state_ == State::paused) {
            held_.append(in);
            break;
        }
        if (state_ == State::body || state_ == State::chunk_data) {
            // The length was checked against body_bytes_max before entering this state.
            const std::size_t n = std::min(body_remaining_, in.size());
            request_.body.append(in.substr(0, n));
            in.remove_prefix(n);
            body_remaining_ -= n;
            if (body_remaining_ == 0) {
                if (state_ == State::body) {
                    complete(out);
                } else {
                    state_ = State::chunk_data_end;
                }
            }
            continue;
        }
        const std::size_t newline = in.find('\n');
        const std::size_t take = newline == std::string_view::npos ? in.size() : newline + 1;
        if (line_.size() + take > line_limit()) {
            fail(line_limit_status(),
                 line_limit_status() == 414   ? "Request line too long"
                 : line_limit_status() == 431 ? "Request header fields too large"
                                              : "Malformed chunked encoding",
                 out);
            break;
        }
        line_.append(in.substr(0, take));
        in.remove_prefix(take);
        if (newline == std::string_view::npos) {
            continue;
        }
        if (state_ == State::headers || state_ == State::trailers) {
            header_bytes_ += line_.size();
        }
        std::string_view line = line_;
        line.remove_suffix(1);  // '\n'
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        // A bare CR inside a line is never valid framing (RFC 9112 §2.2).
        if (line.find('\r') != std::string_view::npos) {
            line_.clear();
            fail(400, "Malformed request: bare CR", out);
            break;
        }
        on_line(line, out);
        line_.clear();
    }
    return out;
}

std::size_t ServerCodec::line_limit() const {
    switch (state_) {
        case State::request_line: return limits_.request_line_bytes_max;
        case State::headers:
        case State::trailers: return limits_.header_bytes_max - header_bytes_;
        case State::chunk_data_end: return 2;  // CRLF
        default: return limits_.chunk_line_bytes_max;
    }
}

int ServerCodec::line_limit_status() const {
    switch (state_) {
        case State::request_line: return 414;
        case State::headers:
        case State::trailers: return 431;
        default: return 400;
    }
}

void ServerCodec::on_line(std::string_view line, std::vector<CodecEvent>& out) {
    switch (state_) {
        case State::request_line: on_request_line(line, out); return;
        case State::headers: on_header_line(line, out); return;
        case State::chunk_size: on_chunk_size_line(line, out); return;
        case State::chunk_data_end:
            if (!line.empty()) {
                fail(400, "Malformed chunked encoding: chunk not followed by CRLF", out);
                return;
            }
            state_ = State::chunk_size;
            return;
        case State::trailers: on_header_line(line, out); return;
        case State::body:
        case State::chunk_data:
        case State::paused:
        case State::done: break;
    }
    IOTSIM_ASSERT(false);
}

void ServerCodec::on_request_line(std::string_view line, std::vector<CodecEvent>& out) {
    if (line.empty()) {
        return;  // RFC 9112 §2.2: ignore empty lines before the request line
    }
    request_ = Request{};
    header_bytes_ = 0;
    header_count_ = 0;

    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp1 == sp2) {
        fail(400, "Malformed request line", out);
        return;
    }
    const std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method) || target.empty() || !std::all_of(target.begin(), target.end(), is_target_char)) {
        fail(400, "Malformed request line", out);
        return;
    }
    if (version == "HTTP/1.1") {
        request_.version_minor = 1;
    } else if (version == "HTTP/1.0") {
        request_.version_minor = 0;
    } else if (version.size() == 8 && version.starts_with("HTTP/") && version[6] == '.' &&
               version[5] >= '0' && version[5] <= '9' && version[7] >= '0' && version[7] <= '9') {
        fail(505, "HTTP version not supported", out);
        return;
    } else {
        fail(400, "Malformed request line", out);
        return;
    }
    // absolute-form (RFC 9112 §3.2.2): keep the path and query, drop scheme and authority.
    const auto starts_with_ci = [](std::string_view s, std::string_view prefix) {
        return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
    };
    if (starts_with_ci(target, "http://") || starts_with_ci(target, "https://")) {
        const std::size_t authority = target.find("://") + 3;
        const std::size_t slash = target.find_first_of("/?", authority);
        if (slash == authority) {
            fail(400, "Malformed request target", out);
            return;
        }
        target = slash == std::string_view::npos ? std::string_view{"/"} : target.substr(slash);
        if (target.front() == '?') {
            request_.target = "/";
        }
    } else if (target != "*" && target.front() != '/') {
        fail(400, "Malformed request target", out);
        return;
    }
    request_.method = std::string(method);
    request_.target += std::string(target);
    const std::size_t question = request_.target.find('?');
    request_.path = request_.target.substr(0, question);
    if (question != std::string::npos) {
        request_.query = request_.target.substr(question + 1);
    }
    state_ = State::headers;
}

void ServerCodec::on_header_line(std::string_view line, std::vector<CodecEvent>& out) {
    if (line.empty()) {
        if (state_ == State::trailers) {
            complete(out);
        } else {
            on_headers_complete(out);
        }
        return;
    }
    if (is_ows(line.front())) {
        fail(400, "Malformed header: obsolete line folding", out);  // RFC 9112 §5.2
        return;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
        fail(400, "Malformed header field", out);  // also: whitespace before the colon (§5.1)
        return;
    }
    const std::string_view value = trim_ows(line.substr(colon + 1));
    if (!is_field_value(value)) {
        fail(400, "Malformed header field value", out);
        return;
    }
    if (++header_count_ > limits_.header_count_max) {
        fail(431, "Too many header fields", out);
        return;
    }
    if (state_ == State::headers) {
        request_.headers.push_back(Header{std::string(line.substr(0, colon)), std::string(value)});
    }
    // Trailer fields are checked and counted, then dropped: no iot-data operation reads one.
}

void ServerCodec::on_headers_complete(std::vector<CodecEvent>& out) {
    const bool http11 = request_.version_minor == 1;
    std::size_t hosts = 0;
    bool chunked = false;
    std::size_t codings = 0;
    std::size_t chunked_count = 0;
    bool transfer_encoding = false;
    std::optional<std::uint64_t> content_length;
    bool expect_continue = false;
    bool expect_other = false;
    bool close = false;
    bool keep_alive = false;
    for (const Header& h : request_.headers) {
        if (iequals(h.name, "host")) {
            ++hosts;
        } else if (iequals(h.name, "transfer-encoding")) {
            transfer_encoding = true;
            for_each_list_element(h.value, [&](std::string_view coding) {
                ++codings;
                chunked = iequals(coding, "chunked");  // whether the last coding is chunked
                chunked_count += chunked ? 1U : 0U;
            });
        } else if (iequals(h.name, "content-length")) {
            bool valid = true;
            bool any = false;
            for_each_list_element(h.value, [&](std::string_view digits) {
                any = true;
                std::uint64_t n = 0;
                if (digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), [](char c) {
                        return c >= '0' && c <= '9';
                    })) {
                    valid = false;
                    return;
                }
                for (const char c : digits) {
                    n = n * 10 + static_cast<std::uint64_t>(c - '0');
                }
                if (content_length && *content_length != n) {
                    valid = false;  // differing lengths: RFC 9112 §6.3 item 5
                }
                content_length = n;
            });
            if (!valid || !any) {
                fail(400, "Invalid Content-Length", out);
                return;
            }
        } else if (iequals(h.name, "connection")) {
            for_each_list_element(h.value, [&](std::string_view option) {
                close = close || iequals(option, "close");
                keep_alive = keep_alive || iequals(option, "keep-alive");
            });
        } else if (iequals(h.name, "expect")) {
            // RFC 9110 §10.1.1: 100-continue is the only expectation; an HTTP/1.0 request's
            // Expect is ignored.
            if (iequals(h.value, "100-continue")) {
                expect_continue = true;
            } else {
                expect_other = true;
            }
        }
    }
    if (http11 && hosts != 1) {
        fail(400, "A request must carry exactly one Host header", out);  // RFC 9112 §3.2
        return;
    }
    if (expect_other && http11) {
        fail(417, "Unsupported expectation", out);
        return;
    }
    if (transfer_encoding) {
        // RFC 9112 §6.1: Transfer-Encoding with Content-Length is a smuggling attempt; in HTTP/1.0
        // it is faulty framing. Both are refused and the connection closed.
        if (content_length || !http11) {
            fail(400, "Invalid message framing", out);
            return;
        }
        // RFC 9112 §6.3: chunked must be the final coding, applied once.
        if (!chunked || chunked_count != 1) {
            fail(400, "Transfer-Encoding without chunked as the final coding", out);
            return;
        }
        if (codings > 1) {
            fail(501, "Transfer coding not implemented", out);
            return;
        }
    }
    if (content_length && *content_length > limits_.body_bytes_max) {
        fail(413, "Request entity too large", out);
        return;
    }
    request_.keep_alive = !close && (http11 || keep_alive);

    const bool has_body = chunked || (content_length && *content_length > 0);
    if (expect_continue && http11 && has_body) {
        out.emplace_back(Interim{std::string(continue_100)});
    }
    if (chunked) {
        state_ = State::chunk_size;
    } else if (has_body) {
        body_remaining_ = static_cast<std::size_t>(*content_length);
        state_ = State::body;
    } else {
        complete(out);
    }
}

void ServerCodec::on_chunk_size_line(std::string_view line, std::vector<CodecEvent>& out) {
    std::uint64_t size = 0;
    std::size_t i = 0;
    for (; i < line.size(); ++i) {
        const char c = line[i];
        int digit = -1;
        if (c >= '0' && c <= '9') {
            digit = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            digit = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            digit = c - 'A' + 10;
        } else {
            break;
        }
        size = size * 16 + static_cast<std::uint64_t>(digit);
        // Checked per digit, so the value never overflows.
        if (size > limits_.body_bytes_max) {
            fail(413, "Request entity too large", out);
            return;
        }
    }
    if (i == 0) {
        fail(400, "Malformed chunked encoding: missing chunk size", out);
        return;
    }
    // Chunk extensions (RFC 9112 §7.1.1) are allowed and ignored.
    const std::string_view rest = trim_ows(line.substr(i));
    if (!rest.empty() && (rest.front() != ';' || !is_field_value(rest))) {
        fail(400, "Malformed chunked encoding: bad chunk size line", out);
        return;
    }
    if (request_.body.size() + size > limits_.body_bytes_max) {
        fail(413, "Request entity too large", out);
        return;
    }
    if (size == 0) {
        state_ = State::trailers;
        return;
    }
    body_remaining_ = static_cast<std::size_t>(size);
    state_ = State::chunk_data;
}

void ServerCodec::complete(std::vector<CodecEvent>& out) {
    const bool keep_alive = request_.keep_alive;
    const bool upgrade = request_.header("upgrade") != nullptr;
    out.emplace_back(std::move(request_));
    request_ = Request{};
    body_remaining_ = 0;
    // A request with Upgrade pauses the codec whether or not it keeps the connection alive: the
    // bytes behind it are the new protocol's if the host switches.
    paused_keep_alive_ = keep_alive;
    state_ = upgrade ? State::paused : keep_alive ? State::request_line : State::done;
}

void ServerCodec::fail(int status, std::string_view message, std::vector<CodecEvent>& out) {
    out.emplace_back(Malformed{ApiError{status, std::string(codec_error_type(status)), std::string(message)}});
    request_ = Request{};
    line_.clear();
    state_ = State::done;
}

std::string encode_response(const Response& response, bool close, const EncodeOptions& options) {
    std::string out;
    out.reserve(128 + response.body.size());
    out += "HTTP/1.1 ";
    out += std::to_string(response.status);
    out += ' ';
    out += reason_phrase(response.status);
    out += "\r\n";
    for (const Header& h : response.headers) {
        // Framing headers are the encoder's alone.
        if (iequals(h.name, "content-length") || iequals(h.name, "connection") ||
            iequals(h.name, "transfer-encoding") || (options.date && iequals(h.name, "date"))) {
            continue;
        }
        // Header text comes from our own code, never from a peer unchecked: a CR or LF here
        // would let a value inject a response.
        IOTSIM_ASSERT(is_token(h.name) && is_field_value(h.value));
        out += h.name;
        out += ": ";
        out += h.value;
        out += "\r\n";
    }
    if (options.date) {
        out += "Date: ";
        out += http_date(*options.date);
        out += "\r\n";
    }
    if (response.status == 101) {  // no body and no Content-Length in a 1xx (RFC 9110 §8.6)
        out += "Connection: Upgrade\r\n\r\n";
        return out;
    }
    out += "Content-Length: ";
    out += std::to_string(response.body.size());
    out += "\r\nConnection: ";
    out += close ? "close" : "keep-alive";
    out += "\r\n\r\n";
    if (!options.head) {
        out += response.body;
    }
    return out;
}

std::string http_date(WallTime time) {
    // Howard Hinnant's civil_from_days, on floor-divided days since 1970-01-01 (a Thursday).
    const std::int64_t seconds_total = time.unix_s();
    std::int64_t days = seconds_total / 86400;
    std::int64_t second_of_day = seconds_total % 86400;
    if (second_of_day < 0) {
        second_of_day += 86400;
        --days;
    }
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
    const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    std::int64_t weekday = (days + 4) % 7;
    if (weekday < 0) {
        weekday += 7;
    }
    constexpr std::array<std::string_view, 7> weekdays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto two = [](std::int64_t v) {
        std::string s = std::to_string(v);
        return v < 10 ? "0" + s : s;
    };
    std::string out;
    out += weekdays[static_cast<std::size_t>(weekday)];
    out += ", ";
    out += two(day);
    out += ' ';
    out += months[static_cast<std::size_t>(month - 1)];
    out += ' ';
    out += std::to_string(year);
    out += ' ';
    out += two(second_of_day / 3600);
    out += ':';
    out += two(second_of_day / 60 % 60);
    out += ':';
    out += two(second_of_day % 60);
    out += " GMT";
    return out;
}

}  // namespace iotsim::http
