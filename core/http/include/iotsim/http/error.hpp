#pragma once

#include <string>
#include <string_view>

#include "iotsim/http/message.hpp"

namespace iotsim::http {

/// A rejected iot-data request as AWS's rest-json protocol sends it: the HTTP status, the
/// `x-amzn-ErrorType` header (the exception shape's name in botocore's model) and the `message`.
/// botocore reads the error code from `x-amzn-ErrorType` first (then a `code` body field) and the
/// text from the body's `message`.
struct ApiError {
    int status = 500;
    std::string type;
    std::string message;

    friend bool operator==(const ApiError&, const ApiError&) = default;
};

/// The exception name AWS's iot-data model gives a status: 400 InvalidRequestException, 401
/// UnauthorizedException, 403 ForbiddenException, 404 ResourceNotFoundException, 405
/// MethodNotAllowedException, 409 ConflictException, 413 RequestEntityTooLargeException, 415
/// UnsupportedDocumentEncodingException, 429 ThrottlingException, 503
/// ServiceUnavailableException, anything else InternalFailureException.
[[nodiscard]] std::string_view error_type_for_status(int status);

/// An ApiError whose type follows from `status` (error_type_for_status).
[[nodiscard]] ApiError api_error(int status, std::string message);

/// The response for `error`: the status, `Content-Type: application/json`, `x-amzn-ErrorType`
/// and the body `{"message":"...","traceId":"<request_id>"}` (traceId omitted when
/// `request_id` is empty). The caller adds x-amzn-RequestId.
[[nodiscard]] Response error_response(const ApiError& error, std::string_view request_id);

}  // namespace iotsim::http
