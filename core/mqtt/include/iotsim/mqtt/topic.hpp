#pragma once

#include <optional>
#include <string_view>

namespace iotsim::mqtt {

/// MQTT topic syntax and AWS IoT Core's matching rule. Pure functions; no allocation.

/// Whether `text` holds a '+' or a '#'. Eight bytes at a time: every PUBLISH's topic is checked
/// on both sides of every hop, and std::string_view::find_first_of calls memchr once per byte.
[[nodiscard]] bool contains_wildcard(std::string_view text);

/// A topic name for PUBLISH: non-empty, no '+' or '#' [MQTT-4.7.3-1], [MQTT-3.3.2-2].
[[nodiscard]] bool is_valid_topic_name(std::string_view topic);

/// A topic filter: non-empty; '#' only as the last level and alone in it [MQTT-4.7.1-2];
/// '+' alone in its level [MQTT-4.7.1-3].
[[nodiscard]] bool is_valid_topic_filter(std::string_view filter);

/// `$share/{ShareName}/{filter}` split into its parts; nullopt when `filter` is not a shared
/// subscription. A ShareName with '/', '+' or '#' or an empty part makes it invalid (returns a
/// SharedFilter with `valid == false`).
struct SharedFilter {
    bool valid = false;
    std::string_view share_name;
    std::string_view filter;
};
[[nodiscard]] std::optional<SharedFilter> parse_shared_filter(std::string_view filter);

/// AWS IoT Core's matching: '+' matches exactly one level, '#' matches one or more trailing
/// levels (unlike the MQTT spec, `a/#` does NOT match `a`), and a filter starting with a
/// wildcard does not match a topic starting with '$' [MQTT-4.7.2-1].
[[nodiscard]] bool topic_matches(std::string_view filter, std::string_view topic);

/// Number of '/' in `s`.
[[nodiscard]] std::size_t count_slashes(std::string_view s);

}  // namespace iotsim::mqtt
