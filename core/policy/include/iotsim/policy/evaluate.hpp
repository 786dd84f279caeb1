#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/policy/context.hpp"
#include "iotsim/policy/policy.hpp"

namespace iotsim::policy {

/// One authorization question: may the principal do `action` on `resource` (a full ARN, see
/// arn.hpp), given what its connection established (`context`)? Holds views: the strings and
/// the context must outlive it (build the ARN into a named string, not a temporary).
struct Request {
    std::string_view action;    // e.g. actions::publish
    std::string_view resource;  // e.g. topic_arn(scope, "sdk/test/python")
    const RequestContext& context;
};

enum class Outcome : std::uint8_t { allowed, explicit_deny, implicit_deny };

/// The statement that decided: the first matching Deny (explicit deny) or, without one, the
/// first matching Allow, in policy order then statement order. Indices into the evaluated span.
struct StatementRef {
    std::size_t policy_index = 0;
    std::size_t statement_index = 0;

    friend bool operator==(const StatementRef&, const StatementRef&) = default;
};

struct Decision {
    Outcome outcome = Outcome::implicit_deny;
    /// Absent for an implicit deny (nothing matched).
    std::optional<StatementRef> decided_by;
    /// Policy variables and condition keys that were needed but had no value, e.g.
    /// "iot:Connection.Thing.ThingName", in the order first met, without repeats; the
    /// TestAuthorization `missingContextValues`. Only the statements examined before the
    /// decision are covered (an explicit deny stops the evaluation).
    std::vector<std::string> missing_context_values;

    [[nodiscard]] bool allowed() const { return outcome == Outcome::allowed; }
};

/// AWS's evaluation (reference §4.4): an explicit Deny in any policy wins; otherwise any
/// matching Allow allows; otherwise implicit deny. A statement matches when its Action (or
/// NotAction) covers the action, its Resource (or NotResource) covers the resource after policy
/// variable substitution, and every Condition holds.
///
/// Unresolvable variables (AMBIG; iotsim's rule, after IAM's "the statement may be invalid"
/// and AWS IoT's "won't be resolved and will result in an access denied error"): a Resource
/// pattern with one matches nothing; a NotResource list or a Condition with one makes the whole
/// statement not apply. So such a variable never grants, and never denies, anything.
///
/// Cost: the action is lower-cased (and, for the data plane's actions, identified) once; then,
/// per statement (Allows are skipped once allowed, an explicit Deny stops), a bit test for a
/// data-plane action (Action/NotAction precomputed at parse time) or one glob per Action
/// pattern, one glob per Resource pattern (a string comparison when it has no wildcard or
/// variable; variables substituted in place while matching, no copies), then the conditions.
/// A glob is O(|pattern| + |resource|) typically, O(|pattern| x |resource|) at worst. Nothing is
/// parsed and nothing allocated, except a missing value's name and multi-valued condition keys.
/// Thread safety: pure; safe to call concurrently on shared policies.
[[nodiscard]] Decision evaluate(std::span<const Policy> policies, const Request& request);

/// A sentence for people about who decided, e.g. "denied: explicit Deny in policy 'p' statement
/// 2 (Sid 'NoClient1')" or "denied: no statement allows iot:Publish on arn:...".
[[nodiscard]] std::string explain(const Decision& decision, std::span<const Policy> policies,
                                  const Request& request);

}  // namespace iotsim::policy
