#include <string>
#include <utility>

#include "errors.hpp"

namespace iotsim::policy::detail {

namespace {
// The prefix of every MalformedPolicyException AWS IoT is observed to send, capital M included
// (e.g. the CLI's "Policy document is Malformed" for a document that is not JSON).
constexpr std::string_view malformed = "Policy document is Malformed";
}  // namespace

PolicyError invalid_json(std::string detail, std::size_t line, std::size_t column) {
    PolicyError error;
    error.message = std::string(malformed);
    error.detail = std::move(detail);
    error.line = line;
    error.column = column;
    return error;
}

PolicyError invalid_syntax(std::string detail, std::string path) {
    PolicyError error;
    error.message = std::string(malformed) + ": Invalid policy syntax.";
    error.detail = std::move(detail);
    error.path = std::move(path);
    return error;
}

PolicyError invalid_resources(const std::vector<std::string>& resources, std::string path) {
    // AWS's console shows "The following resources are invalid : <resource>"; for several,
    // iotsim joins them with ", " (AWS's separator is not documented).
    PolicyError error;
    error.message = std::string(malformed) + ": The following resources are invalid : ";
    for (std::size_t i = 0; i < resources.size(); ++i) {
        if (i > 0) {
            error.message += ", ";
        }
        error.message += resources[i];
    }
    error.detail = "a resource must be \"*\" or an ARN (arn:partition:service:region:account:resource)";
    error.path = std::move(path);
    return error;
}

PolicyError too_large(std::size_t count, std::size_t limit, bool bytes) {
    // AMBIG: AWS documents the limit (2048 characters, whitespace excluded) but not the error
    // it answers with; iotsim answers MalformedPolicyException with its own wording.
    PolicyError error;
    error.message = std::string(malformed) + ": Policy document is too large (" +
                    std::to_string(count) + (bytes ? " bytes" : " characters without whitespace") +
                    ", maximum " + std::to_string(limit) + ")";
    error.detail = "iotsim's wording: AWS documents the limit, not the message";
    return error;
}

PolicyError unsupported_operator(std::string_view op, std::string path) {
    PolicyError error;
    error.message = std::string(malformed) + ": Condition operator " + std::string(op) +
                    " is not supported by iotsim";
    error.detail =
        "iotsim's refusal, not AWS's: this IAM operator is valid in AWS but iotsim does not "
        "evaluate it; supported: String*, Numeric*, Date*, Bool, IpAddress, NotIpAddress, Arn*, "
        "Null, with ForAnyValue:/ForAllValues: and ...IfExists";
    error.path = std::move(path);
    return error;
}

}  // namespace iotsim::policy::detail
