#pragma once

// A test host for the shadow service: a memory store, a settable wall clock and helpers that read
// back what the service asked to publish.

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/shadow/document.hpp"
#include "iotsim/shadow/service.hpp"

namespace iotsim::shadow {

// Printers so that Boost.Test can show these types in failed assertions.
inline std::ostream& operator<<(std::ostream& os, const ShadowKey& key) {
    return os << '(' << key.thing_name << ", " << key.shadow_name << ')';
}
inline std::ostream& operator<<(std::ostream& os, ShadowOperation operation) {
    return os << operation_name(operation);
}

}  // namespace iotsim::shadow

namespace iotsim::shadow::test {

using iotsim::Duration;
using iotsim::hours;
using iotsim::milliseconds;
using iotsim::seconds;
using iotsim::WallTime;
using nlohmann::json;

/// 2026-01-01T00:00:00Z (the simulator's default epoch), in epoch seconds.
inline constexpr std::int64_t t0_s = 1767225600;

inline WallTime at_s(std::int64_t unix_s) { return WallTime{seconds(unix_s)}; }

inline ShadowKey classic(std::string thing) { return ShadowKey{std::move(thing), ""}; }

inline ShadowKey named(std::string thing, std::string shadow) {
    return ShadowKey{std::move(thing), std::move(shadow)};
}

struct Fixture {
    explicit Fixture(ShadowOptions options = {}) : service(store, std::move(options)) {}

    ShadowResponse update(const ShadowKey& key, const json& body,
                          RequestOrigin origin = RequestOrigin::mqtt) {
        return service.update(key, body.dump(), now, origin);
    }
    ShadowResponse update_raw(const ShadowKey& key, std::string_view payload,
                              RequestOrigin origin = RequestOrigin::mqtt) {
        return service.update(key, payload, now, origin);
    }
    ShadowResponse get(const ShadowKey& key, std::string_view payload = "",
                       RequestOrigin origin = RequestOrigin::mqtt) {
        return service.get(key, payload, now, origin);
    }
    ShadowResponse remove(const ShadowKey& key, std::string_view payload = "",
                          RequestOrigin origin = RequestOrigin::mqtt) {
        return service.delete_shadow(key, payload, now, origin);
    }
    /// Moves the wall clock; a second or more also opens a new rate-limit window.
    void advance(Duration d) { now = WallTime{now.since_unix_epoch + d}; }
    [[nodiscard]] std::int64_t now_s() const { return now.unix_s(); }

    MemoryShadowStore store;
    ShadowService service;
    WallTime now = at_s(t0_s);
};

/// The suffixes of everything the response asks to publish, in order.
inline std::vector<std::string> suffixes(const ShadowResponse& response) {
    std::vector<std::string> out;
    for (const auto& n : response.notifications) {
        out.push_back(n.suffix);
    }
    return out;
}

inline bool published(const ShadowResponse& response, std::string_view suffix) {
    for (const auto& n : response.notifications) {
        if (n.suffix == suffix) {
            return true;
        }
    }
    return false;
}

/// The parsed payload of the notification with `suffix`; fails the test if there is none.
inline json payload(const ShadowResponse& response, std::string_view suffix) {
    for (const auto& n : response.notifications) {
        if (n.suffix == suffix) {
            json parsed = json::parse(n.payload, nullptr, false);
            BOOST_REQUIRE(!parsed.is_discarded());
            return parsed;
        }
    }
    BOOST_FAIL("no notification " << suffix);
    return {};
}

/// `{"timestamp": t}`
inline json ts(std::int64_t t) { return json{{"timestamp", t}}; }

/// Checks a rejected response: its status, and the code and message of its error document.
inline void check_error(const ShadowResponse& response, int code, std::string_view message) {
    BOOST_TEST(response.status == code);
    BOOST_TEST(response.document.value("code", 0) == code);
    BOOST_TEST(response.document.value("message", "") == message);
}

}  // namespace iotsim::shadow::test
