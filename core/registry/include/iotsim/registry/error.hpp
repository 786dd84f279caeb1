#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include "iotsim/http/error.hpp"

namespace iotsim::registry {

/// A refused control-plane request, exactly as AWS answers it: the HTTP status, the exception
/// shape's name from botocore's `iot` model (the `x-amzn-ErrorType`) and the message. The
/// control plane reports errors as exceptions (STYLE §4.4); the ControlPlaneRouter turns them
/// into responses. One type: every refusal has the same reaction (send it).
class RegistryError : public std::exception {
public:
    explicit RegistryError(http::ApiError error) : error_(std::move(error)) {}
    [[nodiscard]] const http::ApiError& error() const { return error_; }
    [[nodiscard]] const char* what() const noexcept override { return error_.message.c_str(); }

private:
    http::ApiError error_;
};

/// The exceptions of botocore's iot model that the registry raises, with the model's status.
namespace errors {
inline constexpr const char* invalid_request = "InvalidRequestException";                 // 400
inline constexpr const char* resource_not_found = "ResourceNotFoundException";            // 404
inline constexpr const char* resource_already_exists = "ResourceAlreadyExistsException";  // 409
inline constexpr const char* version_conflict = "VersionConflictException";               // 409
inline constexpr const char* delete_conflict = "DeleteConflictException";                 // 409
inline constexpr const char* versions_limit_exceeded = "VersionsLimitExceededException";  // 409
inline constexpr const char* certificate_conflict = "CertificateConflictException";       // 409
inline constexpr const char* malformed_policy = "MalformedPolicyException";               // 400
inline constexpr const char* certificate_validation = "CertificateValidationException";   // 400
inline constexpr const char* registration_code_validation =
    "RegistrationCodeValidationException";                                         // 400
inline constexpr const char* certificate_state = "CertificateStateException";      // 406
inline constexpr const char* limit_exceeded = "LimitExceededException";            // 410
inline constexpr const char* internal_failure = "InternalFailureException";        // 500
inline constexpr const char* service_unavailable = "ServiceUnavailableException";  // 503
inline constexpr const char* invalid_response = "InvalidResponseException";        // 400

/// The model's HTTP status for one of the names above (500 for an unknown name).
[[nodiscard]] int status_of(std::string_view type);
/// An ApiError with `type`'s model status.
[[nodiscard]] http::ApiError make(const char* type, std::string message);
}  // namespace errors

}  // namespace iotsim::registry
