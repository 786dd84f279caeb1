#include "iotsim/registry/error.hpp"

#include <cstring>

namespace iotsim::registry::errors {

int status_of(std::string_view type) {
    struct Entry {
        const char* type;
        int status;
    };
    // Statuses from botocore's iot model (`error.httpStatusCode` of each shape).
    static constexpr Entry table[] = {
        {invalid_request, 400},         {resource_not_found, 404},
        {resource_already_exists, 409}, {version_conflict, 409},
        {delete_conflict, 409},         {versions_limit_exceeded, 409},
        {certificate_conflict, 409},    {malformed_policy, 400},
        {certificate_validation, 400},  {registration_code_validation, 400},
        {certificate_state, 406},       {limit_exceeded, 410},
        {internal_failure, 500},        {service_unavailable, 503},
        {"UnauthorizedException", 401}, {"ThrottlingException", 400},
        {invalid_response, 400},
    };
    for (const Entry& e : table) {
        if (type == e.type) {
            return e.status;
        }
    }
    return 500;
}

http::ApiError make(const char* type, std::string message) {
    return http::ApiError{status_of(type), type, std::move(message)};
}

}  // namespace iotsim::registry::errors
