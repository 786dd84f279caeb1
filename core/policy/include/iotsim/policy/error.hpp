#pragma once

#include <cstddef>
#include <string>

namespace iotsim::policy {

/// A refused policy document: what CreatePolicy, CreatePolicyVersion and a custom authorizer's
/// response answer with HTTP 400 `MalformedPolicyException` (reference §4.4, §4.7). Every
/// refusal has the same reaction, so there is one type and no code (STYLE: a code exists only
/// if someone reacts to it).
struct PolicyError {
    /// AWS's `message`. AWS documents none; these are the texts AWS is observed to send:
    ///   "Policy document is Malformed"                       JSON that does not parse
    ///   "Policy document is Malformed: Invalid policy syntax." grammar (types, keys, values)
    ///   "Policy document is Malformed: The following resources are invalid : r1, r2"
    /// and two of iotsim's wording, marked as such in `detail`: the size limit and condition
    /// operators iotsim does not evaluate.
    std::string message;
    /// iotsim's diagnosis for people: what is wrong, where, and for syntax errors the parser's
    /// own explanation. Not part of AWS's response.
    std::string detail;
    /// JSON Pointer (RFC 6901) of the offending element, e.g. "/Statement/1/Effect"; empty for
    /// the document as a whole and for JSON syntax errors.
    std::string path;
    /// 1-based line and column of a JSON syntax error (columns count bytes); 0 otherwise.
    std::size_t line = 0;
    std::size_t column = 0;

    friend bool operator==(const PolicyError&, const PolicyError&) = default;
};

/// The error's shape name, for the `x-amzn-ErrorType` header.
inline constexpr const char* malformed_policy_exception = "MalformedPolicyException";
/// Its HTTP status [MODEL].
inline constexpr int malformed_policy_status = 400;

}  // namespace iotsim::policy
