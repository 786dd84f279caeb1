#pragma once

// The compiled form of a policy: what parse_policy builds once and evaluate walks on every
// request. Private to the module.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/policy/context.hpp"
#include "iotsim/policy/evaluate.hpp"
#include "iotsim/policy/policy.hpp"

namespace iotsim::policy::detail {

/// What a `${...}` or a condition key refers to, resolved at parse time so that evaluation is
/// a switch, not a string comparison.
enum class VariableKind : std::uint8_t {
    client_id,          // iot:ClientId
    thing_name,         // iot:Connection.Thing.ThingName
    thing_type_name,    // iot:Connection.Thing.ThingTypeName
    thing_attribute,    // iot:Connection.Thing.Attributes[arg]
    thing_is_attached,  // iot:Connection.Thing.IsAttached
    certificate_id,     // iot:CertificateId
    certificate,        // iot:Certificate.<arg>[.N|.List]
    source_ip,          // aws:SourceIp
    current_time,       // aws:CurrentTime
    epoch_time,         // aws:EpochTime
    connect_attributes, // iot:ConnectAttributes
    last_will_topic,    // iot:LastWillTopic
    extra,              // anything else: RequestContext::extra[arg]
};

struct VariableRef {
    VariableKind kind = VariableKind::extra;
    std::string arg;             // attribute name, certificate field, or extra key
    std::size_t index = 0;       // certificate: which value (0 = first)
    bool list = false;           // certificate: `.List`, all values
    std::string name;            // as written, for missingContextValues
};

/// Values produced by formatting (times) live in a caller-provided buffer.
using Scratch = std::array<char, 40>;

/// The single value a variable substitutes in a Resource or a condition value; nullopt when it
/// cannot be resolved. May point into `scratch`.
[[nodiscard]] std::optional<std::string_view> resolve_single(const VariableRef& ref,
                                                            const RequestContext& context,
                                                            Scratch& scratch);

/// Calls `fn(value)` for each value of a condition key; returns false when the key is absent.
template <class Fn>
bool visit_values(const VariableRef& ref, const RequestContext& context, Fn&& fn);

/// Parses the text between `${` and `}` or a condition key. Never fails: an unknown name is an
/// `extra` key that resolves only through RequestContext::extra.
[[nodiscard]] VariableRef parse_variable(std::string_view name);

/// One compiled pattern: literal runs, wildcards and variables.
struct Piece {
    enum class Kind : std::uint8_t { literal, any_sequence, any_char, variable };
    Kind kind = Kind::literal;
    std::string text;     // literal
    std::size_t var = 0;  // variable: index into Pattern::variables
    /// A wildcard of an ARN pattern (PatternSyntax::arn) that may match ':': a `*` that ends
    /// its colon-delimited segment, or any wildcard of the resource (sixth) segment. Every other
    /// wildcard stays inside its segment.
    bool crosses_colon = true;
};

struct Pattern {
    std::vector<Piece> pieces;
    std::vector<VariableRef> variables;
    std::string source;  // as written
    bool has_wildcards = false;
    /// No wildcard and no variable: the pattern is its one literal (or empty), so a match is a
    /// plain comparison (sizes first).
    bool exact = false;
    /// Bytes any matching text has at least: the literals plus one per `?` (variables may be
    /// empty). Lets most non-matching resources be refused on their length alone.
    std::size_t min_length = 0;
    /// An ARN pattern with a colon-crossing `*` before a wildcard that stays in its segment:
    /// matched by the exhaustive search, not the greedy loop (PatternSyntax::arn).
    bool full_search = false;
};

struct PatternSyntax {
    bool wildcards = true;  // `*` and `?` are wildcards (Action, Resource, *Like)
    bool variables = true;  // `${...}` is substituted (Version 2012-10-17)
    /// An ARN (Resource, NotResource, ArnLike/ArnEquals values): as in IAM, wildcards work
    /// within the colon-delimited segments (arn:partition:service:region:account:resource),
    /// except that a `*` ending its segment may match beyond it: `*` matches every ARN,
    /// `arn:aws:iot:*` every IoT ARN, `arn:aws:iot:us-east-1:*3:topic/b` not
    /// `...:123456789012:topic/a3:topic/b`. The resource segment keeps its colons: `topic/a*b`
    /// matches `topic/a:b`.
    bool arn = false;
};

[[nodiscard]] Pattern compile_pattern(std::string_view text, PatternSyntax syntax);

enum class MatchResult : std::uint8_t { match, no_match, unresolved };

/// Glob match of the whole `text` against `pattern`, substituting variables as literal text
/// (a `*` in a client id is a character, not a wildcard). `unresolved` when a variable of the
/// pattern has no value; `missing` (if not null) then receives its name.
[[nodiscard]] MatchResult match(const Pattern& pattern, std::string_view text,
                                const RequestContext& context, bool ignore_case,
                                const VariableRef** missing = nullptr);

/// Substitutes the pattern's variables into `out` (for condition values compared as text).
/// Returns false, and sets `missing`, when one has no value.
[[nodiscard]] bool substitute(const Pattern& pattern, const RequestContext& context,
                              std::string& out, const VariableRef** missing);

// ---- conditions -------------------------------------------------------------------------

enum class BaseOperator : std::uint8_t {
    string_equals,
    string_equals_ignore_case,
    string_like,
    numeric_equals,
    numeric_less_than,
    numeric_less_than_equals,
    numeric_greater_than,
    numeric_greater_than_equals,
    date_equals,
    date_less_than,
    date_less_than_equals,
    date_greater_than,
    date_greater_than_equals,
    boolean,
    ip_address,
    // ArnEquals and ArnLike alike, as in IAM (both take wildcards), each of the six
    // colon-separated components on its own (PatternSyntax::arn).
    arn_like,
    null_check,
};

enum class SetQualifier : std::uint8_t { none, for_any_value, for_all_values };

struct IpRange {
    std::array<std::uint8_t, 16> bytes{};
    std::uint8_t family = 4;  // 4 or 6
    std::uint8_t prefix = 0;  // bits
};

struct ConditionValue {
    Pattern pattern;
    std::string text;  // the value with ${*}/${?}/${$} replaced, when it has no variables
    // Pre-parsed when the value has no variables (most do), so evaluation does not re-parse.
    std::optional<double> number;
    std::optional<std::int64_t> time_ms;
    std::optional<IpRange> ip;
};

struct ConditionClause {
    BaseOperator op = BaseOperator::string_equals;
    bool negated = false;
    bool if_exists = false;
    SetQualifier qualifier = SetQualifier::none;
    VariableRef key;
    std::vector<ConditionValue> values;
};

struct ConditionEval {
    bool holds = false;
    const VariableRef* missing = nullptr;  // a needed value that was absent
};

[[nodiscard]] ConditionEval evaluate_clause(const ConditionClause& clause,
                                            const RequestContext& context);

// Value parsers shared by parse-time validation and evaluation.
[[nodiscard]] std::optional<double> parse_number(std::string_view text);
[[nodiscard]] std::optional<std::int64_t> parse_time_ms(std::string_view text);
[[nodiscard]] std::optional<IpRange> parse_ip_range(std::string_view text);
[[nodiscard]] std::optional<IpRange> parse_ip(std::string_view text);

// ---- policy -----------------------------------------------------------------------------

struct Statement {
    Effect effect = Effect::allow;
    std::string sid;
    bool not_action = false;
    std::vector<Pattern> actions;
    /// Bit i: the Action (or NotAction) part covers known_actions[i]; computed at parse time by
    /// index_actions() with the same glob, so that the data plane's actions cost a bit test.
    std::uint32_t known_actions_mask = 0;
    bool not_resource = false;
    std::vector<Pattern> resources;
    std::vector<ConditionClause> conditions;
};

struct CompiledPolicy {
    std::string name;
    std::string arn;
    LanguageVersion version = LanguageVersion::v2008_10_17;
    std::vector<Statement> statements;
};

/// The actions whose Action matching is precomputed per statement (Statement::
/// known_actions_mask), lower case: the IoT data plane's, which the broker and the REST API ask
/// about on every operation. Any other action is matched by glob as before.
inline constexpr std::array<std::string_view, 13> known_actions = {
    "iot:connect",           "iot:publish",          "iot:retainpublish",
    "iot:subscribe",         "iot:receive",          "iot:getretainedmessage",
    "iot:listretainedmessages", "iot:getthingshadow", "iot:updatethingshadow",
    "iot:deletethingshadow", "iot:listnamedshadowsforthing", "iot:deleteconnection",
    "iot:assumerolewithcertificate",
};
static_assert(known_actions.size() <= 32, "known_actions_mask is 32 bits");

/// The request's action folded to lower case once per evaluation, so that the (lower-cased at
/// parse time) Action patterns compare byte for byte. Longer actions than the buffer, which no
/// real action is, fall back to case-insensitive comparison. A known action (known_actions) is
/// also identified once, by its index.
class FoldedAction {
public:
    explicit FoldedAction(std::string_view action);
    FoldedAction(const FoldedAction&) = delete;
    FoldedAction& operator=(const FoldedAction&) = delete;
    [[nodiscard]] std::string_view text() const { return text_; }
    [[nodiscard]] bool folded() const { return folded_; }
    /// Index into known_actions, or -1.
    [[nodiscard]] int known() const { return known_; }

private:
    std::array<char, 64> buffer_;  // no real action is longer; not zeroed (hot path)
    std::string_view text_;
    bool folded_ = false;
    int known_ = -1;
};

/// Fills statement.known_actions_mask from its Action/NotAction patterns (once, at parse time).
void index_actions(Statement& statement);

/// Whether the statement covers the request (action, resource, conditions), whatever its
/// Effect. Appends needed-but-absent variable names to `missing` when not null.
[[nodiscard]] bool statement_applies(const Statement& statement, const FoldedAction& action,
                                     const Request& request, std::vector<std::string>* missing);

struct PolicyAccess {
    static Policy make(std::shared_ptr<const CompiledPolicy> compiled) {
        return Policy(std::move(compiled));
    }
    static const CompiledPolicy& get(const Policy& policy) { return *policy.compiled_; }
};

// ---- template definition ------------------------------------------------------------------

/// Certificate values that AWS does not substitute: longer than 1024 characters or containing
/// one of `* $ + ? #` ("leaving the ${policy-variable} text", reference §4.4).
[[nodiscard]] bool certificate_value_usable(std::string_view value) noexcept;
/// AWS truncates multi-valued certificate fields to this many values.
inline constexpr std::size_t certificate_values_max = 5;

[[nodiscard]] std::string_view format_current_time(WallTime time, Scratch& scratch);
[[nodiscard]] std::string_view format_epoch_time(WallTime time, Scratch& scratch);

template <class Fn>
bool visit_values(const VariableRef& ref, const RequestContext& context, Fn&& fn) {
    switch (ref.kind) {
    case VariableKind::connect_attributes:
        if (!context.connect_attributes) {
            return false;
        }
        for (const std::string& value : *context.connect_attributes) {
            fn(std::string_view(value));
        }
        return true;
    case VariableKind::certificate:
        if (ref.list) {
            const auto it = context.certificate.find(std::string_view(ref.arg));
            if (it == context.certificate.end()) {
                return false;
            }
            std::size_t count = 0;
            for (const std::string& value : it->second) {
                if (count++ == certificate_values_max) {
                    break;
                }
                if (certificate_value_usable(value)) {
                    fn(std::string_view(value));
                }
            }
            return true;
        }
        break;
    case VariableKind::extra: {
        const auto it = context.extra.find(std::string_view(ref.arg));
        if (it == context.extra.end()) {
            return false;
        }
        for (const std::string& value : it->second) {
            fn(std::string_view(value));
        }
        return true;
    }
    default:
        break;
    }
    Scratch scratch{};
    const std::optional<std::string_view> value = resolve_single(ref, context, scratch);
    if (!value) {
        return false;
    }
    fn(*value);
    return true;
}

}  // namespace iotsim::policy::detail
