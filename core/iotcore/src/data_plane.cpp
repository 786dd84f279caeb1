#include "iotsim/iotcore/data_plane.hpp"

#include <algorithm>
#include <utility>

namespace iotsim::iotcore {

namespace {

std::string hex_of(std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size() * 2);
    for (const unsigned char c : s) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 0x0F]);
    }
    return out;
}

std::optional<std::string> unhex(std::string_view s) {
    if (s.size() % 2 != 0) {
        return std::nullopt;
    }
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return -1;
    };
    std::string out;
    out.reserve(s.size() / 2);
    for (std::size_t i = 0; i < s.size(); i += 2) {
        const int hi = nibble(s[i]);
        const int lo = nibble(s[i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return out;
}

}  // namespace

shadow::ShadowResponse IotCoreDataPlane::take(ShadowResult result) {
    for (auto& e : result.effects) {
        effects_.push_back(std::move(e));
    }
    return std::move(result.response);
}

shadow::ShadowResponse IotCoreDataPlane::shadow_get(const shadow::ShadowKey& key, std::string_view body, Now now) {
    return take(core_.get().shadow_get(key, body, now));
}

shadow::ShadowResponse IotCoreDataPlane::shadow_update(const shadow::ShadowKey& key, std::string_view body, Now now) {
    return take(core_.get().shadow_update(key, body, now));
}

shadow::ShadowResponse IotCoreDataPlane::shadow_delete(const shadow::ShadowKey& key, std::string_view body, Now now) {
    return take(core_.get().shadow_delete(key, body, now));
}

shadow::ShadowListResponse IotCoreDataPlane::list_named_shadows(std::string_view thing_name,
                                                                std::string_view next_token,
                                                                std::optional<int> page_size, Now now) {
    return core_.get().list_named_shadows(thing_name, next_token, page_size, now);
}

Result<std::monostate, http::ApiError> IotCoreDataPlane::publish(broker::Message message, Now now) {
    for (auto& e : core_.get().publish(std::move(message), now)) {
        effects_.push_back(std::move(e));
    }
    return std::monostate{};
}

Result<http::RetainedPage, http::ApiError> IotCoreDataPlane::list_retained(std::string_view next_token,
                                                                          int max_results, Now /*now*/) {
    std::string from;
    if (!next_token.empty()) {
        auto decoded = unhex(next_token);
        if (!decoded) {
            return http::api_error(400, "Invalid nextToken");
        }
        from = std::move(*decoded);
    }
    const auto topics = core_.get().broker().retained_topics();  // byte order
    auto it = std::lower_bound(topics.begin(), topics.end(), from);
    http::RetainedPage page;
    const auto limit = static_cast<std::size_t>(std::max(max_results, 1));
    for (; it != topics.end() && page.messages.size() < limit; ++it) {
        if (auto r = core_.get().broker().retained(*it)) {
            page.messages.push_back(std::move(*r));
        }
    }
    if (it != topics.end()) {
        page.next_token = hex_of(*it);
    }
    return page;
}

std::optional<broker::RetainedMessage> IotCoreDataPlane::get_retained(std::string_view topic, Now /*now*/) {
    return core_.get().broker().retained(topic);
}

broker::Effects IotCoreDataPlane::take_effects() { return std::exchange(effects_, {}); }

}  // namespace iotsim::iotcore
