#include "iotsim/http/error.hpp"

#include <nlohmann/json.hpp>

#include "json_text.hpp"

namespace iotsim::http {

std::string_view error_type_for_status(int status) {
    switch (status) {
        case 400: return "InvalidRequestException";
        case 401: return "UnauthorizedException";
        case 403: return "ForbiddenException";
        case 404: return "ResourceNotFoundException";
        case 405: return "MethodNotAllowedException";
        case 409: return "ConflictException";
        case 413: return "RequestEntityTooLargeException";
        case 415: return "UnsupportedDocumentEncodingException";
        case 429: return "ThrottlingException";
        case 503: return "ServiceUnavailableException";
        default: return "InternalFailureException";
    }
}

ApiError api_error(int status, std::string message) {
    return ApiError{status, std::string(error_type_for_status(status)), std::move(message)};
}

Response error_response(const ApiError& error, std::string_view request_id) {
    nlohmann::json body = nlohmann::json::object();
    body["message"] = error.message;
    if (!request_id.empty()) {
        body["traceId"] = request_id;
    }
    Response response;
    response.status = error.status;
    response.headers.push_back({"Content-Type", "application/json"});
    response.headers.push_back({"x-amzn-ErrorType", error.type});
    response.body = json_text(body);
    return response;
}

}  // namespace iotsim::http
