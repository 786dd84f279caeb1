// evaluate: explicit deny, then allow, then implicit deny (reference §4.4).

#include "iotsim/policy/evaluate.hpp"

#include <algorithm>
#include <string>

#include "compiled.hpp"
#include "text.hpp"

namespace iotsim::policy {

namespace detail {

namespace {

void note_missing(std::vector<std::string>* missing, const VariableRef* ref) {
    if (missing == nullptr || ref == nullptr) {
        return;
    }
    if (std::find(missing->begin(), missing->end(), ref->name) == missing->end()) {
        missing->push_back(ref->name);
    }
}

const RequestContext& empty_context() {
    static const RequestContext empty;
    return empty;
}

// The glob itself: what index_actions() precomputes for the known actions.
bool action_applies_by_glob(const Statement& statement, const FoldedAction& action) {
    bool any = false;
    for (const Pattern& pattern : statement.actions) {
        if (match(pattern, action.text(), empty_context(), !action.folded()) == MatchResult::match) {
            any = true;
            break;
        }
    }
    return any != statement.not_action;
}

bool action_applies(const Statement& statement, const FoldedAction& action) {
    if (action.known() >= 0) {
        return ((statement.known_actions_mask >> static_cast<unsigned>(action.known())) & 1U) != 0;
    }
    return action_applies_by_glob(statement, action);
}

}  // namespace

FoldedAction::FoldedAction(std::string_view action) {
    if (action.size() <= buffer_.size()) {
        for (std::size_t i = 0; i < action.size(); ++i) {
            buffer_[i] = ascii_lower(action[i]);
        }
        text_ = std::string_view(buffer_.data(), action.size());
        folded_ = true;
        for (std::size_t i = 0; i < known_actions.size(); ++i) {
            if (known_actions[i] == text_) {
                known_ = static_cast<int>(i);
                break;
            }
        }
    } else {
        text_ = action;
    }
}

void index_actions(Statement& statement) {
    statement.known_actions_mask = 0;
    for (std::size_t i = 0; i < known_actions.size(); ++i) {
        const FoldedAction action(known_actions[i]);
        if (action_applies_by_glob(statement, action)) {
            statement.known_actions_mask |= std::uint32_t{1} << i;
        }
    }
}

bool statement_applies(const Statement& statement, const FoldedAction& action,
                       const Request& request, std::vector<std::string>* missing) {
    if (!action_applies(statement, action)) {
        return false;
    }
    bool any = false;
    for (const Pattern& pattern : statement.resources) {
        const VariableRef* unresolved = nullptr;
        const MatchResult result = match(pattern, request.resource, request.context, false, &unresolved);
        if (result == MatchResult::match) {
            any = true;
            break;
        }
        if (result == MatchResult::unresolved) {
            note_missing(missing, unresolved);
            if (statement.not_resource) {
                // The resource cannot be shown to lie outside the list: the statement does not
                // apply (neither allows nor denies).
                return false;
            }
        }
    }
    if (any == statement.not_resource) {
        return false;
    }
    for (const ConditionClause& clause : statement.conditions) {
        const ConditionEval result = evaluate_clause(clause, request.context);
        note_missing(missing, result.missing);
        if (!result.holds) {
            return false;
        }
    }
    return true;
}

}  // namespace detail

Decision evaluate(std::span<const Policy> policies, const Request& request) {
    Decision decision;
    const detail::FoldedAction action(request.action);
    for (std::size_t p = 0; p < policies.size(); ++p) {
        const detail::CompiledPolicy& policy = detail::PolicyAccess::get(policies[p]);
        for (std::size_t s = 0; s < policy.statements.size(); ++s) {
            const detail::Statement& statement = policy.statements[s];
            // An Allow after the first one cannot change the decision: only Deny statements
            // are still worth evaluating.
            if (statement.effect == Effect::allow && decision.outcome == Outcome::allowed) {
                continue;
            }
            if (!detail::statement_applies(statement, action, request,
                                           &decision.missing_context_values)) {
                continue;
            }
            if (statement.effect == Effect::deny) {
                decision.outcome = Outcome::explicit_deny;
                decision.decided_by = StatementRef{.policy_index = p, .statement_index = s};
                return decision;
            }
            decision.outcome = Outcome::allowed;
            decision.decided_by = StatementRef{.policy_index = p, .statement_index = s};
        }
    }
    return decision;
}

std::string explain(const Decision& decision, std::span<const Policy> policies,
                    const Request& request) {
    std::string out;
    const auto describe = [&](const StatementRef& ref) {
        std::string text;
        if (ref.policy_index < policies.size()) {
            const Policy& policy = policies[ref.policy_index];
            text += "policy ";
            text += policy.name().empty() ? "#" + std::to_string(ref.policy_index + 1)
                                          : "'" + policy.name() + "'";
            text += " statement " + std::to_string(ref.statement_index + 1);
            if (ref.statement_index < policy.statement_count() &&
                !policy.statement_sid(ref.statement_index).empty()) {
                text += " (Sid '" + std::string(policy.statement_sid(ref.statement_index)) + "')";
            }
        }
        return text;
    };
    const std::string what = std::string(request.action) + " on " + std::string(request.resource);
    switch (decision.outcome) {
    case Outcome::allowed:
        out = "allowed: " + what + " by the Allow in " + describe(*decision.decided_by);
        break;
    case Outcome::explicit_deny:
        out = "denied: " + what + " by the explicit Deny in " + describe(*decision.decided_by);
        break;
    case Outcome::implicit_deny:
        out = "denied: no statement allows " + what + " (implicit deny)";
        break;
    }
    if (!decision.missing_context_values.empty()) {
        out += "; no value for";
        for (const std::string& name : decision.missing_context_values) {
            out += " " + name;
        }
    }
    return out;
}

}  // namespace iotsim::policy
