#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "iotsim/common/time.hpp"

namespace iotsim::shadow {

/// A rejected shadow request: the HTTP-style code and AWS's message, exactly as in the Device
/// Shadow error table (reference §2.3, `device-shadow-error-messages.html`).
struct ShadowError {
    int code = 0;
    std::string message;

    friend bool operator==(const ShadowError&, const ShadowError&) = default;
};

/// AWS's errors, one function per message. The 401/403 pair is produced by the caller's
/// authorization (policies are not the shadow service's business); the others by the service.
namespace errors {
[[nodiscard]] ShadowError invalid_json();          // 400 Invalid JSON
[[nodiscard]] ShadowError missing_state();         // 400 Missing required node: state
[[nodiscard]] ShadowError state_not_object();      // 400 State node must be an object
[[nodiscard]] ShadowError desired_not_object();    // 400 Desired node must be an object
[[nodiscard]] ShadowError reported_not_object();   // 400 Reported node must be an object
[[nodiscard]] ShadowError invalid_version();       // 400 Invalid version
[[nodiscard]] ShadowError invalid_client_token();  // 400 Invalid clientToken
[[nodiscard]] ShadowError invalid_state_node();    // 400 State contains an invalid node
/// 400 "JSON contains too many levels of nesting; maximum is {depth_max}" (AWS: 6).
[[nodiscard]] ShadowError too_deep(std::size_t depth_max);
/// 400 for names that break AWS's patterns on the REST path. AWS documents no text for these;
/// iotsim's wording.
[[nodiscard]] ShadowError invalid_thing_name();   // 400 Invalid thing name
[[nodiscard]] ShadowError invalid_shadow_name();  // 400 Invalid shadow name
[[nodiscard]] ShadowError invalid_page_size();    // 400 Invalid pageSize (iotsim's wording)
[[nodiscard]] ShadowError invalid_next_token();   // 400 Invalid nextToken (iotsim's wording)
[[nodiscard]] ShadowError unauthorized();         // 401 Unauthorized
[[nodiscard]] ShadowError forbidden();            // 403 Forbidden
[[nodiscard]] ShadowError thing_not_found();      // 404 Thing not found
/// 404 "No shadow exists with name: '{name}'" with the name in single quotes, as the live
/// service sends it (the classic shadow is named by its thing).
[[nodiscard]] ShadowError no_such_shadow(std::string_view name);
[[nodiscard]] ShadowError version_conflict();      // 409 Version conflict
[[nodiscard]] ShadowError payload_too_large();     // 413 The payload exceeds ...
[[nodiscard]] ShadowError unsupported_encoding();  // 415 Unsupported documented encoding ...
/// 429. AWS's table describes the condition instead of giving the text (AMBIG, §2.3); iotsim
/// sends "Too Many Requests" as the reference advises.
[[nodiscard]] ShadowError too_many_requests();
[[nodiscard]] ShadowError internal_failure();  // 500 Internal service failure
}  // namespace errors

/// The error response document `{"code":..,"message":..,"timestamp":..,"clientToken":..}`.
/// `timestamp` is `now` in epoch seconds (AWS says it is "not present in all error response
/// documents"; iotsim always sends it); `clientToken` only when the request carried a valid one.
[[nodiscard]] nlohmann::json error_document(const ShadowError& error,
                                            const std::optional<std::string>& client_token,
                                            WallTime now);

}  // namespace iotsim::shadow
