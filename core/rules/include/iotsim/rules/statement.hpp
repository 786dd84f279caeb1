#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "iotsim/common/result.hpp"
#include "iotsim/rules/value.hpp"

namespace iotsim::rules {

namespace detail {
struct Query;
}

/// A rule SQL statement that failed to parse, as AWS reports it in a SqlParseException (HTTP 400).
/// `line` and `column` are 1-based and point at the offending token (column counts bytes).
struct ParseError {
    int line = 1;
    int column = 1;
    std::string message;  // e.g. "Expected FROM but found 'WHERE'"

    /// "[rules.parse] Line 1:18: Expected FROM but found 'WHERE'", stable for logs and the API.
    [[nodiscard]] std::string to_string() const;
};

/// A parsed, validated rule query: SELECT list, FROM topic filter, optional WHERE. Function names
/// are resolved at parse time (an unknown function is a ParseError), so evaluation never looks a
/// name up.
/// Thread safety: immutable; one Statement may be evaluated from several threads only if the
/// EvalContexts (and their Rng) are distinct.
class Statement {
public:
    /// The FROM topic filter, without quotes (`sensors/+/data`); empty when FROM is absent, which
    /// only nested queries allow.
    [[nodiscard]] const std::string& from_filter() const;
    [[nodiscard]] SqlVersion version() const;
    /// The SQL text as given.
    [[nodiscard]] const std::string& sql() const;
    /// True for `SELECT VALUE expr`.
    [[nodiscard]] bool select_value() const;

    [[nodiscard]] const detail::Query& query() const { return *query_; }
    explicit Statement(std::shared_ptr<const detail::Query> query) : query_(std::move(query)) {}

private:
    std::shared_ptr<const detail::Query> query_;
};

/// Limits checked before anything is built (reference §3.1: a rule is at most 256 KB).
inline constexpr std::size_t sql_bytes_max = 256 * 1024;
/// Bound on the height of an expression tree (nesting and operator/member chains alike), so that
/// hostile SQL cannot exhaust the stack of the parser or the evaluator.
inline constexpr int expression_depth_max = 200;

/// Parses rule SQL for `version`. Keywords are case-insensitive; strings use single or double
/// quotes; FROM takes a quoted MQTT topic filter (validated: `+`/`#` occupy whole levels, `#`
/// last). Errors: syntax errors, unknown functions, wrong argument counts, features of a later
/// SQL version (object/array literals and nested SELECT need 2016-03-23), an invalid topic filter,
/// SQL longer than sql_bytes_max. Never throws.
[[nodiscard]] Result<Statement, ParseError> parse(std::string_view sql,
                                                  SqlVersion version = SqlVersion::v2015_10_08);

/// True if `filter` is a valid MQTT topic filter: 1..256 bytes of UTF-8, no NUL, `+` and `#` alone
/// in their level, `#` only last.
[[nodiscard]] bool valid_topic_filter(std::string_view filter);

/// AWS's matching rule: `+` matches exactly one level, `#` matches any number of levels but not
/// the parent (`a/#` does not match `a`, reference §3.2), and wildcards at the first level do
/// not match topics starting with `$`.
[[nodiscard]] bool topic_matches(std::string_view filter, std::string_view topic);

}  // namespace iotsim::rules
