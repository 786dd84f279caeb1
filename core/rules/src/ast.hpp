#pragma once

// The rules engine's private syntax tree, shared by the parser, the evaluator and templates.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/rules/evaluate.hpp"
#include "iotsim/rules/statement.hpp"
#include "iotsim/rules/value.hpp"

namespace iotsim::rules::detail {

struct Query;
struct Eval;

/// A built-in function: called with its evaluated arguments. Resolved at parse time.
using FunctionImpl = Value (*)(Eval& eval, const Value* args, std::size_t count);

struct FunctionDef {
    std::string_view name;
    int args_min;
    int args_max;
    SqlVersion since;
    bool external;  // billed like an action; not allowed in errorAction templates
    FunctionImpl impl;
};

/// The function named `name` (case-insensitive), or nullptr.
[[nodiscard]] const FunctionDef* find_function(std::string_view name);

enum class ExprKind : std::uint8_t {
    Literal,
    Field,   // name, looked up in the current row
    Star,    // the whole payload (or the current element in a nested query)
    Member,  // args[0] . name
    Index,   // args[0] [ args[1] ]
    Call,    // fn(args...)
    Cast,    // cast(args[0] AS cast_type)
    Neg,
    Not,
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Case,       // args[0] = subject, then (when, then) pairs, then else if has_else
    ObjectLit,  // keys[i] : args[i]
    ArrayLit,
    Subquery,
};

enum class CastType : std::uint8_t { String, Int, Decimal, Boolean };

struct Expr {
    ExprKind kind = ExprKind::Literal;
    int line = 1;
    int column = 1;
    Value literal{};
    std::string name{};
    std::vector<std::unique_ptr<Expr>> args{};
    std::vector<std::string> keys{};
    const FunctionDef* fn = nullptr;
    CastType cast_type = CastType::String;
    bool has_else = false;
    bool raw_star = false;  // encode(*, ...): the first argument is the raw payload
    int depth = 1;          // height of this subtree, bounded by expression_depth_max
    std::shared_ptr<const Query> subquery{};
};

using ExprPtr = std::unique_ptr<Expr>;

struct SelectItem {
    bool star = false;
    ExprPtr expr{};
    std::vector<std::string> alias;  // the output key path: `AS a.b` -> {"a","b"}
};

struct Query {
    std::string sql;
    SqlVersion version = SqlVersion::v2015_10_08;
    bool select_value = false;
    std::vector<SelectItem> items;
    bool has_star = false;
    /// No `*`, every key a single distinct name: the evaluator writes JSON directly.
    bool flat_output = false;
    std::string from_filter;  // top level
    ExprPtr from_expr{};      // nested queries: the array to iterate
    ExprPtr where{};
    /// False when the statement reads only the top-level members in `top_fields` (no `*`): the
    /// evaluator then builds just those members of the payload.
    bool reads_whole_payload = true;
    int depth = 1;  // the tallest expression inside, for nested queries
    std::vector<std::string> top_fields{};
};

/// Evaluation state for one message.
struct Eval {
    const Message& message;
    EvalContext& context;
    SqlVersion version;
    const Value* payload;  // the root: an Object, or Binary for a non-JSON payload
    const Value* row;      // what field names resolve against
    bool failed = false;
    std::string error{};

    void fail(std::string message_text) {
        if (!failed) {
            failed = true;
            error = std::move(message_text);
        }
    }
};

[[nodiscard]] Value eval_expr(const Expr& expr, Eval& eval);

/// The message payload as the engine sees it: a JSON object, or (setting `binary`) raw bytes.
/// With `query`, only the members it reads are built (see Query::reads_whole_payload).
[[nodiscard]] Value load_payload(std::string_view bytes, SqlVersion version, bool& binary,
                                 const Query* query = nullptr);

/// Parses one expression of `text` (templates). Positions are reported relative to
/// `column_offset` on line 1.
struct ExprParse {
    ExprPtr expr;
    bool external = false;  // uses an external function somewhere
};
[[nodiscard]] Result<ExprParse, ParseError> parse_expression(std::string_view text,
                                                             SqlVersion version, int column_offset);

}  // namespace iotsim::rules::detail
