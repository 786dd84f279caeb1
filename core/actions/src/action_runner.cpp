#include "iotsim/actions/action_runner.hpp"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "iotsim/http/base64.hpp"
#include "iotsim/mqtt/topic.hpp"

namespace iotsim::actions {

namespace {

using nlohmann::json;

std::string str(const json& config, const char* key) {
    auto it = config.find(key);
    if (it == config.end()) {
        return "";
    }
    return it->is_string() ? it->get<std::string>() : it->dump();
}

/// The last component of an ARN or URL ("arn:aws:sns:r:a:topic" -> "topic", ".../queue" -> "queue").
std::string last_component(std::string_view s, char sep) {
    const auto at = s.rfind(sep);
    return std::string(at == std::string_view::npos ? s : s.substr(at + 1));
}

/// json for a payload: parsed when it is JSON, else the text.
json payload_json(std::string_view payload) {
    json j = json::parse(payload, nullptr, false);
    return j.is_discarded() ? json(std::string(payload)) : j;
}


/// Appends `lines` to `file`, one JSON document per line, written together.
std::optional<std::string> append_lines(const std::filesystem::path& file, const std::vector<json>& lines) {
    std::string text;
    for (const json& line : lines) {
        text += line.dump(-1, ' ', false, json::error_handler_t::replace);
        text += '\n';
    }
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    std::ofstream out(file, std::ios::app | std::ios::binary);
    if (!out) {
        return "cannot open " + file.string();
    }
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
        return "cannot write " + file.string();
    }
    return std::nullopt;
}

std::optional<std::string> append_line(const std::filesystem::path& file, const json& line) {
    return append_lines(file, std::vector<json>{line});
}

std::string errno_text(int error) { return std::generic_category().message(error); }  // strerror's text

/// An owned file descriptor: closed on every path out of the scope that holds it.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    [[nodiscard]] int get() const { return fd_; }
    [[nodiscard]] bool valid() const { return fd_ >= 0; }
    void reset() {
        if (fd_ >= 0) {
            ::close(fd_);  // not retried on EINTR: Linux has released the descriptor already
            fd_ = -1;
        }
    }

private:
    int fd_ = -1;
};

/// A deadline `timeout` from its construction, kept by the kernel in a timerfd: a wait that a
/// signal interrupts (EINTR) resumes with only the time that is left, and this module reads no
/// clock (tests/tidy), as a poll() timeout would have it recompute.
class Deadline {
public:
    enum class Wait { ready, expired, failed };

    explicit Deadline(std::chrono::milliseconds timeout)
        : timer_(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) {
        if (!timer_.valid()) {
            return;
        }
        const std::int64_t ms = std::max<std::int64_t>(timeout.count(), 0);
        itimerspec spec{};
        spec.it_value.tv_sec = static_cast<time_t>(ms / 1000);
        spec.it_value.tv_nsec = static_cast<long>((ms % 1000) * 1000000);
        if (ms == 0) {
            spec.it_value.tv_nsec = 1;  // an all-zero it_value would disarm the timer
        }
        if (::timerfd_settime(timer_.get(), 0, &spec, nullptr) != 0) {
            timer_.reset();
        }
    }

    [[nodiscard]] bool valid() const { return timer_.valid(); }

    /// Waits until `fd` reports one of `events` (or an error or hang-up, which the next call on
    /// `fd` explains), or the deadline passes. Readiness wins over a deadline that passed with it.
    [[nodiscard]] Wait wait(int fd, short events) const {
        pollfd p[2] = {{fd, events, 0}, {timer_.get(), POLLIN, 0}};
        while (true) {
            if (::poll(p, 2, -1) < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return Wait::failed;
            }
            if (p[0].revents != 0) {
                return Wait::ready;
            }
            if (p[1].revents != 0) {
                return Wait::expired;
            }
        }
    }

private:
    Fd timer_;
};

// ---- http ------------------------------------------------------------------------------------

constexpr std::size_t http_url_max = 2000;         // AWS's limit on the action's url
constexpr std::size_t http_headers_max = 100;      // AWS's limit on the action's headers
constexpr std::size_t http_header_key_max = 256;   // AWS's limit on a header key
constexpr std::size_t http_response_head_max = 16 * 1024;  // bytes read looking for the status line

struct HttpUrl {
    std::string host;       // a name or an IPv4 literal
    std::string port;       // "80" when the url names none
    std::string authority;  // the Host header: host[:port] as written
    std::string target;     // path and query; "/" when the url has none
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

/// An http:// url as host, port and request target; nullopt with `error` set for anything else.
std::optional<HttpUrl> parse_http_url(std::string_view url, std::string& error) {
    const auto has_scheme = [&](std::string_view scheme) {
        return equals_ignoring_case(url.substr(0, scheme.size()), scheme);
    };
    if (url.size() > http_url_max) {
        error = "The url is longer than 2000 characters";
        return std::nullopt;
    }
    if (std::any_of(url.begin(), url.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u <= 0x20 || u == 0x7f;
        })) {
        error = "The url contains a space or a control character";
        return std::nullopt;
    }
    // AMBIG: AWS's http action takes https:// urls only (ports 443/8443) and verifies the
    // server's certificate. iotsim runs offline with no trust store to verify against, so it
    // posts to http:// urls only and refuses https:// with a clear message rather than send
    // the payload over TLS without checking whom it goes to.
    if (has_scheme("https://")) {
        error = "https:// urls cannot be verified offline; iotsim's local stand-in posts to http:// urls only";
        return std::nullopt;
    }
    if (!has_scheme("http://")) {
        error = "The url is not an http:// url: " + std::string(url);
        return std::nullopt;
    }
    std::string_view rest = url.substr(7);
    rest = rest.substr(0, rest.find('#'));
    const auto authority_end = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, authority_end);
    const std::string_view target =
        authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
    if (authority.find('@') != std::string_view::npos) {
        error = "The url may not carry user information";
        return std::nullopt;
    }
    std::string_view host = authority;
    std::string_view port = "80";
    if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
        const bool digits = !port.empty() && port.size() <= 5 &&
                            std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits || std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535) {
            error = "The url's port is invalid: " + std::string(authority);
            return std::nullopt;
        }
    }
    // IPv6 literals ("[::1]") are refused with the rest: a host name or an IPv4 literal only.
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
        })) {
        error = "The url's host is invalid: " + std::string(authority);
        return std::nullopt;
    }
    HttpUrl out{std::string(host), std::string(port), std::string(authority), std::string(target)};
    if (out.target.empty() || out.target[0] == '?') {
        out.target.insert(0, "/");
    }
    return out;
}

/// RFC 9110 token characters: what a header name may be made of.
bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
}

/// The configured headers as "Key: value\r\n" lines; nullopt with `error` set when one could
/// break the request (CR/LF injection, a name that is no token) or is iotsim's to set.
std::optional<std::string> http_header_lines(const json& config, bool& has_content_type, std::string& error) {
    std::string lines;
    has_content_type = false;
    const auto headers = config.find("headers");
    if (headers == config.end() || headers->is_null()) {
        return lines;
    }
    if (!headers->is_array() || headers->size() > http_headers_max) {
        error = "The headers must be an array of at most 100 {\"key\",\"value\"} objects";
        return std::nullopt;
    }
    for (const json& h : *headers) {
        if (!h.is_object() || !h.contains("key") || !h.contains("value") || !h["key"].is_string()) {
            error = "A header is not a {\"key\",\"value\"} object";
            return std::nullopt;
        }
        const std::string key = h["key"].get<std::string>();
        const std::string value = str(h, "value");
        const bool bad_value = std::any_of(value.begin(), value.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return (u < 0x20 && c != '\t') || u == 0x7f;
        });
        if (key.find_first_of("\r\n") != std::string::npos || value.find_first_of("\r\n") != std::string::npos ||
            !is_token(key) || key.size() > http_header_key_max || bad_value) {
            error = "The header " + h["key"].dump() +
                    " has an invalid name or value (CR, LF or another control character)";
            return std::nullopt;
        }
        for (const char* own : {"Host", "Content-Length", "Connection", "Transfer-Encoding"}) {
            if (equals_ignoring_case(key, own)) {
                error = "The header '" + key + "' is set by iotsim and cannot be configured";
                return std::nullopt;
            }
        }
        has_content_type = has_content_type || equals_ignoring_case(key, "Content-Type");
        lines += key + ": " + value + "\r\n";
    }
    return lines;
}

/// The status code of a response's status line ("HTTP/1.1 200 OK"), nullopt when malformed.
std::optional<int> status_code(std::string_view line) {
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    const auto space = line.find(' ');
    if (!line.starts_with("HTTP/") || space == std::string_view::npos || line.size() < space + 4) {
        return std::nullopt;
    }
    const std::string_view code = line.substr(space + 1, 3);
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        (line.size() > space + 4 && line[space + 4] != ' ')) {
        return std::nullopt;
    }
    return (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
}

struct HttpOutcome {
    std::optional<int> status;  // the final status code, when one came back
    std::string error;          // why there is none
};

struct AddrInfoFree {
    void operator()(addrinfo* a) const { ::freeaddrinfo(a); }
};

/// One blocking HTTP/1.1 POST of `payload` to `url`, all of it within `timeout`.
HttpOutcome http_post(const HttpUrl& url, const std::string& header_lines, bool has_content_type,
                      std::string_view payload, std::chrono::milliseconds timeout) {
    const auto timed_out = [&] {
        return HttpOutcome{std::nullopt, "The request timed out after " + std::to_string(timeout.count()) + " ms"};
    };
    const Deadline deadline(timeout);
    if (!deadline.valid()) {
        return HttpOutcome{std::nullopt, "cannot create a timer: " + errno_text(errno)};
    }
    // getaddrinfo cannot be given a timeout; offline it reads /etc/hosts or parses the literal.
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &found); rc != 0) {
        return HttpOutcome{std::nullopt, "Cannot resolve host " + url.host + ": " +
                                             (rc == EAI_SYSTEM ? errno_text(errno) : std::string(::gai_strerror(rc)))};
    }
    const std::unique_ptr<addrinfo, AddrInfoFree> addresses(found);

    Fd sock;
    std::string connect_error = "no address";
    for (const addrinfo* a = addresses.get(); a != nullptr && !sock.valid(); a = a->ai_next) {
        Fd s(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
        if (!s.valid()) {
            connect_error = errno_text(errno);
            continue;
        }
        if (::connect(s.get(), a->ai_addr, a->ai_addrlen) != 0) {
            // EINTR: the connection carries on in the background, as with EINPROGRESS.
            if (errno != EINPROGRESS && errno != EINTR) {
                connect_error = errno_text(errno);
                continue;
            }
            const Deadline::Wait w = deadline.wait(s.get(), POLLOUT);
            if (w == Deadline::Wait::expired) {
                return timed_out();
            }
            int so_error = 0;
            socklen_t len = sizeof so_error;
            if (w == Deadline::Wait::failed) {
                so_error = errno;
            } else if (::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) {
                so_error = errno;
            }
            if (so_error != 0) {
                connect_error = errno_text(so_error);
                continue;
            }
        }
        sock = std::move(s);
    }
    if (!sock.valid()) {
        return HttpOutcome{std::nullopt, "Cannot connect to " + url.authority + ": " + connect_error};
    }

    std::string request = "POST " + url.target + " HTTP/1.1\r\nHost: " + url.authority + "\r\n";
    if (!has_content_type) {
        // AWS: application/json for a JSON payload, application/octet-stream otherwise.
        const bool is_json = !json::parse(payload, nullptr, false).is_discarded();
        request += is_json ? "Content-Type: application/json\r\n" : "Content-Type: application/octet-stream\r\n";
    }
    request += "Content-Length: " + std::to_string(payload.size()) + "\r\nConnection: close\r\n";
    request += header_lines;
    request += "\r\n";
    request += payload;

    std::size_t sent = 0;
    while (sent < request.size()) {
        const ssize_t n = ::send(sock.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n >= 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return HttpOutcome{std::nullopt, "Cannot send the request: " + errno_text(errno)};
        }
        const Deadline::Wait w = deadline.wait(sock.get(), POLLOUT);
        if (w == Deadline::Wait::expired) {
            return timed_out();
        }
        if (w == Deadline::Wait::failed) {
            return HttpOutcome{std::nullopt, "Cannot send the request: " + errno_text(errno)};
        }
    }

    // The status line is all iotsim needs: read until it is in (past any 1xx interim
    // responses), the server closes, or the deadline passes.
    std::string head;
    char buf[4096];
    while (true) {
        while (true) {
            const auto eol = head.find('\n');
            if (eol == std::string::npos) {
                break;
            }
            const auto code = status_code(std::string_view(head).substr(0, eol));
            if (!code) {
                return HttpOutcome{std::nullopt, "The response's status line is malformed"};
            }
            if (*code >= 200) {
                return HttpOutcome{code, ""};
            }
            const auto end = head.find("\r\n\r\n");  // a 1xx: skip its head, wait for the next
            if (end == std::string::npos) {
                break;
            }
            head.erase(0, end + 4);
        }
        if (head.size() > http_response_head_max) {
            return HttpOutcome{std::nullopt, "The response has no status line in its first 16 KiB"};
        }
        const ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
        if (n > 0) {
            head.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) {
            return HttpOutcome{std::nullopt, "The connection closed before a complete status line"};
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return HttpOutcome{std::nullopt, "Cannot read the response: " + errno_text(errno)};
        }
        const Deadline::Wait w = deadline.wait(sock.get(), POLLIN);
        if (w == Deadline::Wait::expired) {
            return timed_out();
        }
        if (w == Deadline::Wait::failed) {
            return HttpOutcome{std::nullopt, "Cannot read the response: " + errno_text(errno)};
        }
    }
}

// ---- timestream ------------------------------------------------------------------------------

constexpr std::size_t timestream_measures_max = 100;  // AWS: values one action writes
constexpr std::size_t timestream_dimensions_max = 128;
constexpr std::size_t timestream_measure_name_max = 256;
constexpr std::size_t timestream_varchar_max = 2048;

std::optional<std::string> timestream_error(const std::string& why) {
    return "Failed to write records to Timestream. The error received was " + why;
}

}  // namespace

std::string lambda_function_name(std::string_view function_arn) {
    const auto pos = function_arn.find(":function:");
    if (pos == std::string_view::npos) {
        return std::string(function_arn);
    }
    const std::string_view rest = function_arn.substr(pos + 10);
    return std::string(rest.substr(0, rest.find(':')));
}

bool safe_function_name(std::string_view name) {
    // AWS Lambda's function names; no '.', so that no name is another's .event/.result file.
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

bool safe_component(std::string_view name) {
    return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
           });
}

std::optional<std::filesystem::path> safe_key(std::string_view key) {
    if (key.empty() || key.starts_with('/') || key.find('\0') != std::string_view::npos ||
        key.find('\\') != std::string_view::npos) {
        return std::nullopt;
    }
    std::filesystem::path out;
    while (true) {
        const auto slash = key.find('/');
        const std::string_view part = key.substr(0, slash);
        if (part.empty() || part == "." || part == "..") {
            return std::nullopt;
        }
        out /= std::string(part);
        if (slash == std::string_view::npos) {
            break;
        }
        key.remove_prefix(slash + 1);
    }
    return out;
}

std::vector<broker::Message> ActionRunner::run(const ruleset::RuleActionRequest& request) {
    std::vector<broker::Message> republish;
    std::vector<ruleset::ActionFailure> failures = request.failures;
    for (const auto& action : request.actions) {
        if (auto error = run_one(request, action, request.payload, republish)) {
            failures.push_back(ruleset::ActionFailure{ruleset::failed_action_name(action.type),
                                                      ruleset::failed_resource_of(action), *error});
        }
    }
    if (failures.empty()) {
        return republish;
    }
    if (!request.error_action) {
        ++stats_.dropped;
        return republish;
    }
    ++stats_.error_actions;
    if (run_one(request, *request.error_action, ruleset::error_action_payload(request, failures), republish)) {
        ++stats_.dropped;
    }
    return republish;
}

std::optional<std::string> ActionRunner::run_one(const ruleset::RuleActionRequest& request,
                                                 const ruleset::RenderedAction& action, std::string_view payload,
                                                 std::vector<broker::Message>& republish) {
    ++stats_.run;
    std::optional<std::string> error;
    StandInWrite stored;  // what the stand-in stored (nothing for republish)
    if (action.type == "republish") {
        // Only an errorAction republish reaches the host: it goes back in through the core.
        broker::Message m;
        m.topic = str(action.config, "topic");
        m.payload = std::string(payload);
        m.qos = action.config.value("qos", 0) == 1 ? mqtt::QoS::at_least_once : mqtt::QoS::at_most_once;
        if (mqtt::is_valid_topic_name(m.topic)) {
            republish.push_back(std::move(m));
        } else {
            error = "Failed to republish to topic. The topic is invalid: " + m.topic;
        }
    } else {
        error = perform(action, payload, stored);
    }
    if (error) {
        ++stats_.failed;
    }
    if (keep_records) {
        records_.push_back(ActionRecord{request.rule_name, action.index, action.type,
                                        ruleset::failed_resource_of(action), std::string(payload), error,
                                        std::move(stored.entry), std::move(stored.file)});
    }
    return error;
}

namespace {

/// What a JSON Lines or S3 stand-in stores for one action. Pure, so that both runners store the
/// same thing: the file runner writes it under the data directory, the memory runner keeps it.
struct StandInEntry {
    std::filesystem::path file;  // relative to the data directory
    std::vector<json> lines;     // appended, one JSON line each
    bool object = false;         // s3: `file` holds the payload, replaced by each write
};
using EntryResult = Result<StandInEntry, std::string>;

EntryResult timestream_entry(const json& c, std::string_view payload, const WallClock& wall_clock) {
    const std::string database = str(c, "databaseName");
    const std::string table = str(c, "tableName");
    if (!safe_component(database) || !safe_component(table)) {
        return *timestream_error("The database or table name is invalid for iotsim's local stand-in: '" + database +
                                "/" + table + "'");
    }
    const json item = json::parse(payload, nullptr, false);
    if (item.is_discarded() || !item.is_object()) {
        return *timestream_error("The payload is not a JSON object");
    }
    const auto dims_it = c.find("dimensions");
    if (dims_it == c.end() || !dims_it->is_array() || dims_it->empty() ||
        dims_it->size() > timestream_dimensions_max) {
        return *timestream_error("The action needs 1 to 128 dimensions");
    }
    json dimensions = json::array();
    std::vector<std::string> dimension_names;
    for (const json& d : *dims_it) {
        if (!d.is_object() || !d.contains("name") || !d.contains("value")) {
            return *timestream_error("A dimension is not a {\"name\",\"value\"} object");
        }
        dimension_names.push_back(str(d, "name"));
        dimensions.push_back(json{{"name", dimension_names.back()}, {"value", str(d, "value")}});
    }
    std::string time;
    std::string unit = "MILLISECONDS";
    if (const auto t = c.find("timestamp"); t != c.end()) {
        time = t->is_object() ? str(*t, "value") : "";
        if (t->is_object() && t->contains("unit")) {
            unit = str(*t, "unit");
        }
        if (time.empty() || time.size() > 20 ||
            !std::all_of(time.begin(), time.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
            return *timestream_error("The timestamp value is not a non-negative integer: '" + time + "'");
        }
        if (unit != "SECONDS" && unit != "MILLISECONDS" && unit != "MICROSECONDS" && unit != "NANOSECONDS") {
            return *timestream_error("The timestamp unit is invalid: '" + unit + "'");
        }
    } else if (wall_clock) {
        time = std::to_string(wall_clock().unix_ms());
    } else {
        return *timestream_error("iotsim's runner has no wall clock; give the action a timestamp");
    }
    std::vector<json> records;
    for (const auto& [name, value] : item.items()) {
        if (std::find(dimension_names.begin(), dimension_names.end(), name) != dimension_names.end()) {
            continue;
        }
        std::string type;
        std::string text;
        if (value.is_boolean()) {
            type = "BOOLEAN";
            text = value.get<bool>() ? "true" : "false";
        } else if (value.is_number_integer()) {
            // A whole number is BIGINT, as AWS infers it (its docs warn that SQL 2016-03-23 turns
            // 10.0 into 10 and so into a BIGINT measure); any other number is DOUBLE.
            type = "BIGINT";
            text = value.dump();
        } else if (value.is_number()) {
            type = "DOUBLE";
            text = value.dump();
        } else if (value.is_string()) {
            type = "VARCHAR";
            text = value.get<std::string>();
        } else {
            // AMBIG: AWS documents no measure type for null, nested objects or arrays; iotsim
            // writes no record for them (cast() or flatten them in the rule's SQL instead).
            continue;
        }
        if (name.size() > timestream_measure_name_max || text.size() > timestream_varchar_max) {
            return *timestream_error("The measure '" + name.substr(0, 64) +
                                    "' has a name over 256 or a value over 2048 characters");
        }
        records.push_back(json{{"dimensions", dimensions},
                               {"measureName", name},
                               {"measureValue", text},
                               {"measureValueType", type},
                               {"time", time},
                               {"timeUnit", unit}});
    }
    if (records.empty()) {
        return *timestream_error("The payload has no attribute to write as a measure");
    }
    if (records.size() > timestream_measures_max) {
        return *timestream_error("The payload has " + std::to_string(records.size()) +
                                " measures; one action writes at most 100");
    }
    return StandInEntry{std::filesystem::path("timestream") / database / (table + ".jsonl"), std::move(records)};
}

EntryResult stand_in_entry(const ruleset::RenderedAction& a, std::string_view payload, const WallClock& wall_clock) {
    const json& c = a.config;
    const auto bad_name = [](const std::string& what, const std::string& name) {
        return "The " + what + " name is invalid for iotsim's local stand-in: '" + name + "'";
    };
    const auto jsonl = [](std::filesystem::path file, json line) {
        return StandInEntry{std::move(file), std::vector<json>{std::move(line)}};
    };
    if (a.type == "s3") {
        const std::string bucket = str(c, "bucketName");
        const std::string key = str(c, "key");
        auto rel = safe_key(key);
        if (!safe_component(bucket) || !rel) {
            return "Failed to put S3 object. The error received was The specified key or bucket is invalid (bucket '" +
                   bucket + "', key '" + key + "')";
        }
        return StandInEntry{std::filesystem::path("s3") / bucket / *rel, {}, true};
    }
    if (a.type == "sqs") {
        const std::string queue = last_component(str(c, "queueUrl"), '/');
        if (!safe_component(queue)) {
            return bad_name("queue", queue);
        }
        const bool b64 = c.value("useBase64", false);
        return jsonl(std::filesystem::path("sqs") / (queue + ".jsonl"),
                     json{{"body", b64 ? http::base64_encode(payload) : std::string(payload)}});
    }
    if (a.type == "sns") {
        const std::string topic = last_component(str(c, "targetArn"), ':');
        if (!safe_component(topic)) {
            return bad_name("SNS topic", topic);
        }
        return jsonl(std::filesystem::path("sns") / (topic + ".jsonl"), json{{"message", std::string(payload)}});
    }
    if (a.type == "dynamoDB") {
        const std::string table = str(c, "tableName");
        if (!safe_component(table)) {
            return bad_name("table", table);
        }
        json item{{str(c, "hashKeyField"), str(c, "hashKeyValue")}};
        if (c.contains("rangeKeyField")) {
            item[str(c, "rangeKeyField")] = str(c, "rangeKeyValue");
        }
        item[c.contains("payloadField") ? str(c, "payloadField") : std::string("payload")] = payload_json(payload);
        return jsonl(std::filesystem::path("dynamodb") / (table + ".jsonl"), std::move(item));
    }
    if (a.type == "dynamoDBv2") {
        const std::string table = c.contains("putItem") ? str(c["putItem"], "tableName") : "";
        if (!safe_component(table)) {
            return bad_name("table", table);
        }
        json item = payload_json(payload);
        if (!item.is_object()) {
            return std::string("Failed to put item into DynamoDB table. The payload is not a JSON object");
        }
        return jsonl(std::filesystem::path("dynamodb") / (table + ".jsonl"), std::move(item));
    }
    if (a.type == "kinesis" || a.type == "firehose") {
        const std::string stream = str(c, a.type == "kinesis" ? "streamName" : "deliveryStreamName");
        if (!safe_component(stream)) {
            return bad_name("stream", stream);
        }
        json line{{"data", std::string(payload)}};
        if (a.type == "kinesis") {
            line["partitionKey"] = str(c, "partitionKey");
        }
        return jsonl(std::filesystem::path(a.type) / (stream + ".jsonl"), std::move(line));
    }
    if (a.type == "cloudwatchLogs") {
        std::string group = str(c, "logGroupName");
        std::replace(group.begin(), group.end(), '/', '_');
        if (!safe_component(group)) {
            return bad_name("log group", group);
        }
        return jsonl(std::filesystem::path("cloudwatch") / "logs" / (group + ".jsonl"),
                     json{{"message", std::string(payload)}});
    }
    if (a.type == "cloudwatchMetric") {
        return jsonl(std::filesystem::path("cloudwatch") / "metrics.jsonl",
                     json{{"namespace", str(c, "metricNamespace")},
                          {"name", str(c, "metricName")},
                          {"value", str(c, "metricValue")},
                          {"unit", str(c, "metricUnit")},
                          {"timestamp", str(c, "metricTimestamp")}});
    }
    if (a.type == "timestream") {
        return timestream_entry(c, payload, wall_clock);
    }
    return "Action type " + a.type + " is not supported by iotsim's local stand-ins";
}

/// The record's view of an entry: its one line, timestream's lines as an array, or for s3
/// {"object": "bucket/key"} (the payload is the object).
json entry_json(StandInEntry& e, std::string_view type) {
    if (e.object) {
        return json{{"object", e.file.lexically_relative("s3").generic_string()}};  // "bucket/key"
    }
    if (e.lines.size() == 1 && type != "timestream") {
        return std::move(e.lines.front());
    }
    return json(std::move(e.lines));
}

}  // namespace

std::optional<std::string> FileActionRunner::perform(const ruleset::RenderedAction& a, std::string_view payload,
                                                     StandInWrite& out) {
    const json& c = a.config;
    if (a.type == "lambda") {
        const std::string name = lambda_function_name(str(c, "functionArn"));
        if (!safe_function_name(name)) {
            return "The function name is invalid for iotsim's local stand-in: '" + name + "'";
        }
        // Every event, for read_outputs / `iotsim outputs lambda` (the function sees it on stdin).
        (void)append_line(dir_ / "lambda" / (name + ".events.jsonl"),
                          json{{"event_base64", http::base64_encode(payload)}});
        out.file = "lambda/" + name;
        return run_lambda(name, payload);
    }
    if (a.type == "http") {
        return post_http(c, payload, out);
    }
    auto made = stand_in_entry(a, payload, wall_clock_);
    if (!made) {
        return made.error();
    }
    StandInEntry& e = made.value();
    const auto file = dir_ / e.file;
    if (e.object) {
        std::error_code ec;
        std::filesystem::create_directories(file.parent_path(), ec);
        std::ofstream object(file, std::ios::trunc | std::ios::binary);
        object.write(payload.data(), static_cast<std::streamsize>(payload.size()));
        object.flush();
        if (!object) {
            return "Failed to put S3 object. The error received was cannot write " + file.string();
        }
    } else if (auto error = append_lines(file, e.lines)) {
        return a.type == "timestream" ? timestream_error(*error) : error;
    }
    out.file = e.file.generic_string();
    out.entry = entry_json(e, a.type);
    return std::nullopt;
}

std::optional<std::string> FileActionRunner::post_http(const json& c, std::string_view payload, StandInWrite& out) {
    // AMBIG: AWS posts only to a url under a confirmed topic rule destination (confirmationUrl);
    // iotsim requires no destination confirmation and posts to the url as given. `auth` (SigV4)
    // is not applied: nothing offline could check the signature.
    const std::string url = str(c, "url");
    HttpOutcome outcome;
    bool has_content_type = false;
    if (auto parsed = parse_http_url(url, outcome.error)) {
        if (auto headers = http_header_lines(c, has_content_type, outcome.error)) {
            outcome = http_post(*parsed, *headers, has_content_type, payload, http_timeout_);
        }
    }
    json line{{"url", url}};
    if (outcome.status) {
        line["status"] = *outcome.status;
    } else {
        line["error"] = outcome.error;
    }
    line["payload"] = std::string(payload);
    // A log that cannot be written does not undo the request: the outcome stands.
    (void)append_line(dir_ / "http" / "requests.jsonl", line);
    out.entry = line;
    out.file = "http/requests.jsonl";
    if (!outcome.status) {
        return "Failed to send HTTP request. The error received was " + outcome.error;
    }
    if (*outcome.status < 200 || *outcome.status > 299) {
        return "Failed to send HTTP request. The error received was The endpoint answered with HTTP status " +
               std::to_string(*outcome.status);
    }
    return std::nullopt;
}

Result<std::string, rules::RuntimeError> FileActionRunner::invoke(std::string_view function_arn, std::string_view input) {
    const std::string name = lambda_function_name(function_arn);
    if (!safe_function_name(name)) {
        return rules::RuntimeError{"The function name is invalid for iotsim's local stand-in: '" + name + "'"};
    }
    const auto result = dir_ / "lambda" / (name + (invoke_tag == "invoke" ? std::string{} : "." + invoke_tag) + ".result");
    if (auto error = run_lambda(name, input, &result)) {
        return rules::RuntimeError{*error};
    }
    std::ifstream in(result, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::optional<std::string> FileActionRunner::run_lambda(const std::string& name, std::string_view payload,
                                                        const std::filesystem::path* result) {
    const auto exe = dir_ / "lambda" / name;
    if (::access(exe.c_str(), X_OK) != 0) {
        return "Failed to invoke lambda function. Function not found: " + name;
    }
    // The event goes in through a file (no pipe to fill while the child does not read); an
    // invoke() has its own, as it may run on another thread than the actions.
    const auto event = dir_ / "lambda" / (name + (result != nullptr ? "." + invoke_tag + ".event" : std::string(".event")));
    {
        std::ofstream out(event, std::ios::trunc | std::ios::binary);
        out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
    }
    const auto log = dir_ / "lambda" / (name + ".log");
    // Armed before the fork: a timer that cannot be made fails the invocation before any child.
    const Deadline deadline(lambda_timeout_);
    if (!deadline.valid()) {
        return "Failed to invoke lambda function. cannot create a timer: " + errno_text(errno);
    }
    int done[2];
    if (::pipe2(done, O_CLOEXEC) != 0) {
        return std::optional<std::string>("Failed to invoke lambda function. pipe failed");
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(done[0]);
        ::close(done[1]);
        return std::optional<std::string>("Failed to invoke lambda function. fork failed");
    }
    if (pid == 0) {
        // Child: stdin from the event, stdout/stderr to the log; `done[1]` stays open (without
        // CLOEXEC) until the function exits, which is how the parent sees the exit in poll().
        const int in = ::open(event.c_str(), O_RDONLY | O_CLOEXEC);
        const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        // invoke(): stdout is the function's result; stderr still goes to the log.
        const int res = result != nullptr ? ::open(result->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                                          : out;
        if (in < 0 || out < 0 || res < 0) {
            ::_exit(126);
        }
        ::dup2(in, 0);
        ::dup2(res, 1);
        ::dup2(out, 2);
        ::dup2(done[1], 3);
        for (int fd = 0; fd <= 3; ++fd) {
            ::fcntl(fd, F_SETFD, 0);  // kept across exec (dup2 onto itself keeps O_CLOEXEC)
        }
        // Nothing else of the server (its sockets, the database) reaches the function, and the
        // function and whatever it starts form one process group, killed together on timeout.
        ::close_range(4, ~0U, 0);
        ::setpgid(0, 0);
        ::execl(exe.c_str(), exe.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::setpgid(pid, pid);  // also here: the kill below may come before the child's own setpgid
    ::close(done[1]);
    Fd done_read(done[0]);
    // Deadline::wait retries poll() on EINTR with only the time that is left.
    const Deadline::Wait waited = deadline.wait(done_read.get(), POLLIN);
    const int wait_errno = errno;
    done_read.reset();
    if (waited != Deadline::Wait::ready) {
        // Timed out, or cannot tell when it exits: neither it nor its children may outlive us.
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (waited == Deadline::Wait::expired) {
        return "Failed to invoke lambda function. Task timed out after " + std::to_string(lambda_timeout_.count()) + " ms";
    }
    if (waited == Deadline::Wait::failed) {
        return "Failed to invoke lambda function. cannot wait for the function: " + errno_text(wait_errno);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return "Failed to invoke lambda function. The function exited with status " +
               std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    return std::nullopt;
}

std::optional<std::string> MemoryActionRunner::perform(const ruleset::RenderedAction& a, std::string_view payload,
                                                       StandInWrite& out) {
    const std::string resource = ruleset::failed_resource_of(a);
    if (std::find(fail_resources.begin(), fail_resources.end(), resource) != fail_resources.end()) {
        return "Failed to run " + a.type + " action. The resource " + resource + " is unavailable (injected)";
    }
    if (a.type == "lambda") {
        const std::string name = lambda_function_name(str(a.config, "functionArn"));
        if (!safe_function_name(name)) {
            return "The function name is invalid for iotsim's local stand-in: '" + name + "'";
        }
        out.file = "lambda/" + name;  // recorded (the payload is the event)
        if (lambda_handler) {
            auto r = lambda_handler(name, payload);
            if (!r.ok()) {
                return "Failed to invoke lambda function. " + r.error().message;
            }
        }
        return std::nullopt;
    }
    if (a.type == "http") {
        // No network: the request "succeeds" as the file runner logs a 2xx.
        out.entry = json{{"url", str(a.config, "url")}, {"status", 200}, {"payload", std::string(payload)}};
        out.file = "http/requests.jsonl";
        return std::nullopt;
    }
    auto made = stand_in_entry(a, payload, wall_clock);
    if (!made) {
        return made.error();
    }
    out.file = made.value().file.generic_string();
    out.entry = entry_json(made.value(), a.type);
    return std::nullopt;
}

}  // namespace iotsim::actions
