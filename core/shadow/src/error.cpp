#include "iotsim/shadow/error.hpp"

#include <string>
#include <utility>

namespace iotsim::shadow {

namespace errors {

ShadowError invalid_json() { return {400, "Invalid JSON"}; }
ShadowError missing_state() { return {400, "Missing required node: state"}; }
ShadowError state_not_object() { return {400, "State node must be an object"}; }
ShadowError desired_not_object() { return {400, "Desired node must be an object"}; }
ShadowError reported_not_object() { return {400, "Reported node must be an object"}; }
ShadowError invalid_version() { return {400, "Invalid version"}; }
ShadowError invalid_client_token() { return {400, "Invalid clientToken"}; }
ShadowError invalid_state_node() { return {400, "State contains an invalid node"}; }

ShadowError too_deep(std::size_t depth_max) {
    return {400,
            "JSON contains too many levels of nesting; maximum is " + std::to_string(depth_max)};
}

ShadowError invalid_thing_name() { return {400, "Invalid thing name"}; }
ShadowError invalid_shadow_name() { return {400, "Invalid shadow name"}; }
ShadowError invalid_page_size() { return {400, "Invalid pageSize"}; }
ShadowError invalid_next_token() { return {400, "Invalid nextToken"}; }
ShadowError unauthorized() { return {401, "Unauthorized"}; }
ShadowError forbidden() { return {403, "Forbidden"}; }
ShadowError thing_not_found() { return {404, "Thing not found"}; }

ShadowError no_such_shadow(std::string_view name) {
    std::string message = "No shadow exists with name: '";
    message.append(name).push_back('\'');
    return {404, std::move(message)};
}

ShadowError version_conflict() { return {409, "Version conflict"}; }
ShadowError payload_too_large() { return {413, "The payload exceeds the maximum size allowed"}; }

ShadowError unsupported_encoding() {
    return {415, "Unsupported documented encoding; supported encoding is UTF-8"};
}

ShadowError too_many_requests() { return {429, "Too Many Requests"}; }
ShadowError internal_failure() { return {500, "Internal service failure"}; }

}  // namespace errors

nlohmann::json error_document(const ShadowError& error,
                              const std::optional<std::string>& client_token, WallTime now) {
    nlohmann::json document = {
        {"code", error.code},
        {"message", error.message},
        {"timestamp", now.unix_s()},
    };
    if (client_token) {
        document["clientToken"] = *client_token;
    }
    return document;
}

}  // namespace iotsim::shadow
