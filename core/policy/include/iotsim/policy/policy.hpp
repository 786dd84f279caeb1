#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "iotsim/common/result.hpp"
#include "iotsim/policy/error.hpp"

namespace iotsim::policy {

namespace detail {
struct CompiledPolicy;
struct PolicyAccess;
}  // namespace detail

/// The policy language version. `2012-10-17` substitutes policy variables; `2008-10-17` (and a
/// document without `Version`, as IAM treats it) leaves `${...}` as literal text.
enum class LanguageVersion : std::uint8_t { v2008_10_17, v2012_10_17 };

enum class Effect : std::uint8_t { allow, deny };

/// Limits and identity for parse_policy. Defaults are AWS's.
struct PolicyOptions {
    /// Shown in decisions and in TestAuthorization's `policyName`/`policyArn`.
    std::string name;
    std::string arn;
    /// Characters of the document not counting whitespace (QUOTAS-2019: 2048; the same bound
    /// applies to each document a custom authorizer returns). Counted in UTF-8 code points.
    std::size_t document_chars_max = 2048;
    /// Raw bytes, checked first (the service model's PolicyDocument max, 404600).
    std::size_t document_bytes_max = 404600;
};

/// A parsed, validated and compiled IoT policy document: every Action, Resource and Condition
/// pattern is compiled once here, so evaluation neither parses nor allocates for patterns.
/// Immutable; copies share the compiled form.
/// Thread safety: immutable after construction, safe to share between threads.
class Policy {
public:
    [[nodiscard]] const std::string& name() const;
    [[nodiscard]] const std::string& arn() const;
    [[nodiscard]] LanguageVersion version() const;
    [[nodiscard]] std::size_t statement_count() const;
    /// The statement's `Sid`, empty when it has none. `index` < statement_count().
    [[nodiscard]] std::string_view statement_sid(std::size_t index) const;
    [[nodiscard]] Effect statement_effect(std::size_t index) const;

private:
    friend struct detail::PolicyAccess;
    explicit Policy(std::shared_ptr<const detail::CompiledPolicy> compiled);
    std::shared_ptr<const detail::CompiledPolicy> compiled_;
};

/// Parses and validates an IoT policy document (reference §4.4).
///
/// Accepted: `Version` "2012-10-17" or "2008-10-17" (absent = 2008-10-17), optional `Id`;
/// `Statement` as one object or an array; per statement optional `Sid`, `Effect` Allow|Deny,
/// exactly one of `Action`/`NotAction` and one of `Resource`/`NotResource` (a string or a
/// non-empty array of strings), optional `Condition` with String*, Numeric*, Date*, Bool,
/// IpAddress/NotIpAddress, Arn* and Null, optionally ForAnyValue:/ForAllValues: and ...IfExists
/// (other IAM operators, e.g. BinaryEquals, are refused with a message that says so).
///
/// Returns the compiled Policy, or a PolicyError (MalformedPolicyException) for: a document over
/// the size limits; JSON that does not parse (with line and column); any other shape, unknown
/// element (including `Principal`), bad Effect, Version, action name, condition operator, key or
/// value (with the JSON Pointer of the element); resources that are neither `*` nor an ARN.
[[nodiscard]] Result<Policy, PolicyError> parse_policy(std::string_view document,
                                                       const PolicyOptions& options = {});

}  // namespace iotsim::policy
