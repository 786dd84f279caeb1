#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "iotsim/common/result.hpp"
#include "iotsim/shadow/error.hpp"
#include "iotsim/shadow/service.hpp"

namespace iotsim::shadow::detail {

/// A rejected request: the error and the clientToken to echo (when the request had a valid one).
struct RequestError {
    ShadowError error;
    std::optional<std::string> client_token;
};

/// A validated update request (reference §2.3).
struct UpdateRequest {
    /// null (clear both sections), or an object whose only keys are "desired"/"reported", each an
    /// object or null.
    nlohmann::json state;
    /// to_payload(state).
    std::string state_text;
    std::optional<std::int64_t> version;
    std::optional<std::string> client_token;
};

/// Validates an update request document in AWS's order: payload size (413), encoding (415), raw
/// nesting, JSON (400 Invalid JSON), state node, its sections, nulls in arrays, depth,
/// clientToken, version, and the size of the request's state (413). The version match (409) and
/// the size after merging need the stored shadow and are the service's.
[[nodiscard]] Result<UpdateRequest, RequestError> parse_update_request(std::string_view payload,
                                                                       const ShadowLimits& limits);

/// The clientToken of a get/delete payload. AWS ignores these payloads, but the SDKs send
/// `{"clientToken": "..."}` and match the reply on it: a JSON object's valid token is echoed, an
/// invalid one (not a string, or too long) is 400 Invalid clientToken, and anything that is not a
/// JSON object is ignored.
[[nodiscard]] Result<std::optional<std::string>, RequestError> parse_client_token(
    std::string_view payload, const ShadowLimits& limits);

}  // namespace iotsim::shadow::detail
