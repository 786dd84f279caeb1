#pragma once

#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "iotsim/common/result.hpp"
#include "iotsim/policy/context.hpp"
#include "iotsim/policy/policy.hpp"

namespace iotsim::policy {

/// A TestAuthorization request that does not fit the service model: HTTP 400
/// `InvalidRequestException` with this message (iotsim's wording; AWS documents none).
struct TestAuthorizationError {
    std::string message;

    friend bool operator==(const TestAuthorizationError&, const TestAuthorizationError&) = default;
};

/// The evaluator behind `TestAuthorization` (`POST /test-authorization`, MODEL-IOT).
///
/// `request` is the request body; only `authInfos` is read: 1..10 objects
/// `{"actionType": "PUBLISH"|"SUBSCRIBE"|"RECEIVE"|"CONNECT", "resources": [ARN, ...]}`.
/// Choosing the principal's policies (`principal`, `policyNamesToAdd`, `policyNamesToSkip`)
/// and building `context` (`clientId`, the thing, the certificate) is the caller's.
///
/// Returns `{"authResults": [...]}`, one result per authInfo, in order:
/// `{"authInfo": <echo>, "allowed": {"policies": [...]}, "denied": {"implicitDeny":
/// {"policies": [...]}, "explicitDeny": {"policies": [...]}}, "authDecision":
/// "ALLOWED"|"EXPLICIT_DENY"|"IMPLICIT_DENY", "missingContextValues": [...]}` where a policy is
/// `{"policyName", "policyArn"}` (each only when known).
///
/// An authInfo with several resources (AMBIG, AWS does not say): EXPLICIT_DENY if any resource
/// is explicitly denied, else IMPLICIT_DENY if any is not allowed, else ALLOWED (an empty list
/// is IMPLICIT_DENY). A policy is listed under explicitDeny if it denies any of the resources,
/// else under allowed if it allows every one, else under implicitDeny.
///
/// Errors: a missing or non-array `authInfos`, fewer than 1 or more than 10 entries, a missing
/// or unknown `actionType`, missing `resources`, or a resource that is not a string of at most
/// 2048 characters.
[[nodiscard]] Result<nlohmann::json, TestAuthorizationError> test_authorization(
    std::span<const Policy> policies, const nlohmann::json& request, const RequestContext& context);

}  // namespace iotsim::policy
