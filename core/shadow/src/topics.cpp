#include "iotsim/shadow/topics.hpp"

#include <array>
#include <cstddef>

#include "iotsim/common/assert.hpp"

namespace iotsim::shadow {

namespace {

constexpr std::string_view things_prefix = "$aws/things/";

std::optional<ShadowOperation> parse_operation(std::string_view segment) {
    if (segment == "get") {
        return ShadowOperation::get;
    }
    if (segment == "update") {
        return ShadowOperation::update;
    }
    if (segment == "delete") {
        return ShadowOperation::delete_shadow;
    }
    return std::nullopt;
}

}  // namespace

std::string_view operation_name(ShadowOperation operation) {
    switch (operation) {
        case ShadowOperation::get:
            return "get";
        case ShadowOperation::update:
            return "update";
        case ShadowOperation::delete_shadow:
            return "delete";
    }
    IOTSIM_ASSERT(false);
    return {};
}

std::string shadow_topic_prefix(const ShadowKey& key) {
    std::string topic;
    topic.reserve(things_prefix.size() + key.thing_name.size() + 13 + key.shadow_name.size());
    topic.append(things_prefix).append(key.thing_name).append("/shadow");
    if (!key.classic()) {
        topic.append("/name/").append(key.shadow_name);
    }
    return topic;
}

std::string shadow_topic(const ShadowKey& key, std::string_view suffix) {
    std::string topic = shadow_topic_prefix(key);
    topic.push_back('/');
    topic.append(suffix);
    return topic;
}

std::optional<ShadowRequestTopic> parse_request_topic(std::string_view topic) {
    if (!topic.starts_with(things_prefix)) {
        return std::nullopt;
    }
    topic.remove_prefix(things_prefix.size());

    // After the prefix: {thing}/shadow/{op} (3 levels) or {thing}/shadow/name/{shadow}/{op} (5).
    // A sixth level is never a request, so splitting stops there.
    std::array<std::string_view, 5> levels{};
    std::size_t count = 0;
    for (;;) {
        if (count == levels.size()) {
            return std::nullopt;
        }
        const std::size_t slash = topic.find('/');
        levels[count++] = topic.substr(0, slash);
        if (slash == std::string_view::npos) {
            break;
        }
        topic.remove_prefix(slash + 1);
    }
    if (count != 3 && count != 5) {
        return std::nullopt;
    }
    if (levels[1] != "shadow" || !is_valid_thing_name(levels[0])) {
        return std::nullopt;
    }
    ShadowRequestTopic request;
    request.key.thing_name = std::string(levels[0]);
    if (count == 5) {
        if (levels[2] != "name" || !is_valid_shadow_name(levels[3])) {
            return std::nullopt;
        }
        request.key.shadow_name = std::string(levels[3]);
    }
    const auto operation = parse_operation(levels[count - 1]);
    if (!operation) {
        return std::nullopt;
    }
    request.operation = *operation;
    return request;
}

}  // namespace iotsim::shadow
