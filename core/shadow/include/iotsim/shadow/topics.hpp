#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "iotsim/shadow/key.hpp"

namespace iotsim::shadow {

/// The three requests a client can make of a shadow (reference §2.2).
enum class ShadowOperation : std::uint8_t { get, update, delete_shadow };

/// The topic segment of an operation: "get", "update" or "delete".
[[nodiscard]] std::string_view operation_name(ShadowOperation operation);

/// A shadow request recognised from the topic of an MQTT PUBLISH.
struct ShadowRequestTopic {
    ShadowKey key;
    ShadowOperation operation = ShadowOperation::get;
};

/// `$aws/things/{thing}/shadow` for the classic shadow and
/// `$aws/things/{thing}/shadow/name/{shadow}` for a named one (AWS's ShadowTopicPrefix).
[[nodiscard]] std::string shadow_topic_prefix(const ShadowKey& key);

/// The prefix followed by `/` and `suffix`, e.g. `shadow_topic(key, "update/delta")`.
[[nodiscard]] std::string shadow_topic(const ShadowKey& key, std::string_view suffix);

/// Recognises the request topics `$aws/things/{thing}/shadow/{get|update|delete}` and
/// `$aws/things/{thing}/shadow/name/{shadow}/{get|update|delete}`.
///
/// Returns nullopt for everything else: response topics (`.../get/accepted`), unknown operations,
/// empty or extra levels, and names that break AWS's patterns or lengths. Such a publish is not a
/// shadow request; what happens to it is the broker's business (reserved-topic rules, §1.7).
[[nodiscard]] std::optional<ShadowRequestTopic> parse_request_topic(std::string_view topic);

}  // namespace iotsim::shadow
