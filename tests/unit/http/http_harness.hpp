#pragma once

// A test host for the HTTP module: a DataPlane backed by a real ShadowService on a memory store,
// a retained-message map and a log of publishes, plus helpers to drive a Router or an
// HttpConnection with raw bytes and to read responses back.

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/common/rng.hpp"
#include "iotsim/http/codec.hpp"
#include "iotsim/http/connection.hpp"
#include "iotsim/http/data_plane.hpp"
#include "iotsim/http/router.hpp"
#include "iotsim/shadow/service.hpp"
#include "iotsim/shadow/store.hpp"

namespace iotsim::http::test {

using nlohmann::json;

/// 2026-01-01T00:00:00Z, the simulator's default epoch.
inline constexpr std::int64_t t0_s = 1767225600;

inline Now now_at_s(std::int64_t unix_s) {
    return Now{Instant{seconds(unix_s - t0_s)}, WallTime{seconds(unix_s)}};
}

/// The DataPlane the composition will provide, reduced to what the tests observe.
class TestDataPlane final : public DataPlane {
public:
    TestDataPlane() : shadows(store) {}

    shadow::ShadowResponse shadow_get(const shadow::ShadowKey& key, std::string_view body,
                                      Now now) override {
        return shadows.get(key, body, now.wall, shadow::RequestOrigin::rest);
    }
    shadow::ShadowResponse shadow_update(const shadow::ShadowKey& key, std::string_view body,
                                         Now now) override {
        auto r = shadows.update(key, body, now.wall, shadow::RequestOrigin::rest);
        for (const auto& n : r.notifications) {
            notifications.push_back(shadow::shadow_topic(r.key, n.suffix));
        }
        return r;
    }
    shadow::ShadowResponse shadow_delete(const shadow::ShadowKey& key, std::string_view body,
                                         Now now) override {
        return shadows.delete_shadow(key, body, now.wall, shadow::RequestOrigin::rest);
    }
    shadow::ShadowListResponse list_named_shadows(std::string_view thing_name,
                                                  std::string_view next_token,
                                                  std::optional<int> page_size, Now now) override {
        return shadows.list_named_shadows(thing_name, next_token, page_size, now.wall);
    }
    Result<std::monostate, ApiError> publish(broker::Message message, Now now) override {
        if (publish_error) {
            return *publish_error;
        }
        if (message.retain) {
            if (message.payload.empty()) {
                retained.erase(message.topic);
            } else {
                retained[message.topic] = broker::RetainedMessage{
                    std::make_shared<const broker::Message>(message), now.wall};
            }
        }
        published.push_back(std::move(message));
        return std::monostate{};
    }
    Result<RetainedPage, ApiError> list_retained(std::string_view next_token, int max_results,
                                                 Now /*now*/) override {
        // The token is the last topic of the previous page (the tests' own scheme).
        RetainedPage page;
        auto it = next_token.empty() ? retained.begin()
                                     : retained.upper_bound(std::string(next_token));
        if (!next_token.empty() && retained.find(std::string(next_token)) == retained.end()) {
            return api_error(400, "Invalid nextToken");
        }
        for (; it != retained.end(); ++it) {
            if (page.messages.size() == static_cast<std::size_t>(max_results)) {
                page.next_token = page.messages.back().message->topic;
                break;
            }
            page.messages.push_back(it->second);
        }
        last_max_results = max_results;
        return page;
    }
    std::optional<broker::RetainedMessage> get_retained(std::string_view topic, Now /*now*/) override {
        const auto it = retained.find(std::string(topic));
        if (it == retained.end()) {
            return std::nullopt;
        }
        return it->second;
    }

    shadow::MemoryShadowStore store;
    shadow::ShadowService shadows;
    std::map<std::string, broker::RetainedMessage> retained;
    std::vector<broker::Message> published;
    std::vector<std::string> notifications;  // topics of the update notifications, in order
    std::optional<ApiError> publish_error;
    int last_max_results = 0;
};

/// A response read back from the wire.
struct Parsed {
    int status = 0;
    std::string status_line;
    std::vector<Header> headers;
    std::string body;

    [[nodiscard]] std::string header(std::string_view name) const {
        for (const auto& h : headers) {
            if (iequals(h.name, name)) {
                return h.value;
            }
        }
        return "<absent>";
    }
    [[nodiscard]] json body_json() const {
        json j = json::parse(body, nullptr, false);
        BOOST_REQUIRE_MESSAGE(!j.is_discarded(), "body is not JSON: " << body);
        return j;
    }
};

/// Splits `wire` into responses (Content-Length framing; 1xx responses have no body).
inline std::vector<Parsed> parse_responses(std::string_view wire) {
    std::vector<Parsed> out;
    while (!wire.empty()) {
        const std::size_t end = wire.find("\r\n\r\n");
        BOOST_REQUIRE_MESSAGE(end != std::string_view::npos, "incomplete response: " << wire);
        std::string_view head = wire.substr(0, end + 2);
        wire.remove_prefix(end + 4);
        Parsed p;
        const std::size_t first = head.find("\r\n");
        p.status_line = std::string(head.substr(0, first));
        p.status = std::stoi(p.status_line.substr(9, 3));
        head.remove_prefix(first + 2);
        std::size_t length = 0;
        while (!head.empty()) {
            const std::size_t eol = head.find("\r\n");
            const std::string_view line = head.substr(0, eol);
            head.remove_prefix(eol + 2);
            const std::size_t colon = line.find(':');
            Header h{std::string(line.substr(0, colon)), std::string(line.substr(colon + 2))};
            if (iequals(h.name, "content-length")) {
                length = std::stoul(h.value);
            }
            p.headers.push_back(std::move(h));
        }
        BOOST_REQUIRE(wire.size() >= length);
        p.body = std::string(wire.substr(0, length));
        wire.remove_prefix(length);
        out.push_back(std::move(p));
    }
    return out;
}

/// A Router and a connection factory on a TestDataPlane, at a settable time.
struct Fixture {
    Fixture() : rng(42), router(plane, rng) {}

    /// Sends `wire` on a fresh connection in one piece and parses what comes back.
    std::vector<Parsed> exchange(std::string_view wire, bool* closed = nullptr) {
        HttpConnection connection(router);
        const ConnectionOutput out = connection.receive(wire, now);
        if (closed != nullptr) {
            *closed = out.close;
        }
        return parse_responses(out.bytes);
    }
    /// One request, one response.
    Parsed one(std::string_view wire) {
        const auto responses = exchange(wire);
        BOOST_REQUIRE_EQUAL(responses.size(), 1U);
        return responses.front();
    }
    /// `method target` with Host, an optional body (Content-Length) and extra header lines.
    Parsed call(std::string_view method, std::string_view target, std::string_view body = {},
                std::string_view extra_headers = {}) {
        std::string wire = std::string(method) + " " + std::string(target) +
                           " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra_headers);
        if (!body.empty() || method == "POST") {
            wire += "Content-Length: " + std::to_string(body.size()) + "\r\n";
        }
        wire += "\r\n";
        wire += body;
        return one(wire);
    }

    TestDataPlane plane;
    Rng rng;
    Router router;
    Now now = now_at_s(t0_s);
};

/// Checks an AWS rest-json error: status, x-amzn-ErrorType, body message and traceId.
inline void check_error(const Parsed& r, int status, std::string_view type, std::string_view message) {
    BOOST_TEST(r.status == status);
    BOOST_TEST(r.header("x-amzn-ErrorType") == type);
    BOOST_TEST(r.header("Content-Type") == "application/json");
    const json body = r.body_json();
    BOOST_TEST(body.value("message", "<none>") == message);
    BOOST_TEST(body.value("traceId", "<none>") == r.header("x-amzn-RequestId"));
}

}  // namespace iotsim::http::test
