#include "iotsim/mqtt/topic.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>

#include "iotsim/common/swar.hpp"

namespace iotsim::mqtt {

bool contains_wildcard(std::string_view text) {
    const auto wildcard_in = [](const char* at) {
        const std::uint64_t word = swar::load8(at);
        return (swar::bytes_equal(word, '+') | swar::bytes_equal(word, '#')) != 0;
    };
    const char* p = text.data();
    std::size_t left = text.size();
    while (left >= 8) {
        if (wildcard_in(p)) {
            return true;
        }
        p += 8;
        left -= 8;
    }
    if (left > 0 && text.size() >= 8) {
        return wildcard_in(text.data() + text.size() - 8);  // the last eight, overlapping
    }
    for (; left > 0; --left, ++p) {
        if (*p == '+' || *p == '#') {
            return true;
        }
    }
    return false;
}

bool is_valid_topic_name(std::string_view topic) {
    return !topic.empty() && !contains_wildcard(topic);
}

bool is_valid_topic_filter(std::string_view filter) {
    if (filter.empty()) {
        return false;
    }
    std::size_t level_start = 0;
    for (std::size_t i = 0; i <= filter.size(); ++i) {
        if (i != filter.size() && filter[i] != '/') {
            continue;
        }
        const std::string_view level = filter.substr(level_start, i - level_start);
        if (contains_wildcard(level)) {
            if (level.size() != 1) {
                return false;  // a wildcard must occupy a whole level
            }
            if (level[0] == '#' && i != filter.size()) {
                return false;  // '#' must be the last level
            }
        }
        level_start = i + 1;
    }
    return true;
}

std::optional<SharedFilter> parse_shared_filter(std::string_view filter) {
    constexpr std::string_view prefix = "$share/";
    if (!filter.starts_with(prefix)) {
        return std::nullopt;
    }
    SharedFilter out;
    const std::string_view rest = filter.substr(prefix.size());
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos) {
        return out;  // invalid: no filter part
    }
    out.share_name = rest.substr(0, slash);
    out.filter = rest.substr(slash + 1);
    out.valid = !out.share_name.empty() && !out.filter.empty() &&
                !contains_wildcard(out.share_name) &&
                is_valid_topic_filter(out.filter);
    return out;
}

bool topic_matches(std::string_view filter, std::string_view topic) {
    if (!topic.empty() && topic[0] == '$' && !filter.empty() && (filter[0] == '+' || filter[0] == '#')) {
        return false;  // [MQTT-4.7.2-1]
    }
    std::size_t f = 0;
    std::size_t t = 0;
    while (true) {
        const std::size_t f_end = std::min(filter.find('/', f), filter.size());
        const std::string_view f_level = filter.substr(f, f_end - f);
        if (f_level == "#") {
            // AWS: '#' needs at least one level to match (a/# does not match a); the empty level
            // after "a/" counts, so a/# matches "a/".
            return t <= topic.size();
        }
        if (t > topic.size()) {
            return false;  // topic ran out of levels
        }
        const std::size_t t_end = std::min(topic.find('/', t), topic.size());
        const std::string_view t_level = topic.substr(t, t_end - t);
        if (f_level != "+" && f_level != t_level) {
            return false;
        }
        const bool f_last = f_end == filter.size();
        const bool t_last = t_end == topic.size();
        if (f_last || t_last) {
            if (f_last && t_last) {
                return true;
            }
            if (t_last && !f_last) {
                // Topic ended; the filter still has levels. Only "/#" would match, and AWS
                // requires a level for it, so this is no match.
                return false;
            }
            return false;
        }
        f = f_end + 1;
        t = t_end + 1;
    }
}

std::size_t count_slashes(std::string_view s) {
    // Eight bytes at a time (one popcount of the exact mask); the last 1..7 bytes are the top of
    // the last eight, read again with the bytes already counted shifted off.
    const std::size_t n = s.size();
    if (n < 8) {
        return static_cast<std::size_t>(std::count(s.begin(), s.end(), '/'));
    }
    std::size_t count = 0;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        count += static_cast<std::size_t>(std::popcount(swar::bytes_equal(swar::load8(s.data() + i), '/')));
    }
    if (i < n) {
        const std::size_t counted = 8 - (n - i);  // of the last eight bytes
        count += static_cast<std::size_t>(
            std::popcount(swar::bytes_equal(swar::load8(s.data() + n - 8), '/') >> (8 * counted)));
    }
    return count;
}

}  // namespace iotsim::mqtt
