// The evaluator: WHERE, then SELECT (reference §3.2), with AWS's operator semantics (§3.6).
//
// The hot path (a flat SELECT list over a small JSON object) parses the payload once into Values
// and writes the output JSON straight into the caller's buffer; function calls go through the
// pointer resolved at parse time.

#include <algorithm>
#include <cmath>
#include <limits>

#include "ast.hpp"
#include "convert.hpp"
#include "iotsim/rules/evaluate.hpp"

namespace iotsim::rules {
namespace detail {
namespace {

Value logical(const Value& a, const Value& b, bool is_and) {
    // AND/OR take Booleans or "true"/"false" strings; anything else (including Undefined on
    // either side) gives Undefined (reference §3.6), so there is no short circuit to observe.
    const Value x = to_bool(a);
    const Value y = to_bool(b);
    if (x.is_undefined() || y.is_undefined()) {
        return {};
    }
    return Value::boolean(is_and ? (x.as_bool() && y.as_bool()) : (x.as_bool() || y.as_bool()));
}

Value compare(const Value& a, const Value& b, ExprKind op) {
    const Num x = to_num(a);
    const Num y = to_num(b);
    if (x.kind == Num::Kind::None || y.kind == Num::Kind::None) {
        return {};
    }
    if (x.kind == Num::Kind::Int && y.kind == Num::Kind::Int) {
        switch (op) {
            case ExprKind::Lt: return Value::boolean(x.i < y.i);
            case ExprKind::Le: return Value::boolean(x.i <= y.i);
            case ExprKind::Gt: return Value::boolean(x.i > y.i);
            default: return Value::boolean(x.i >= y.i);
        }
    }
    const double p = x.as_double();
    const double q = y.as_double();
    switch (op) {
        case ExprKind::Lt: return Value::boolean(p < q);
        case ExprKind::Le: return Value::boolean(p <= q);
        case ExprKind::Gt: return Value::boolean(p > q);
        default: return Value::boolean(p >= q);
    }
}

Value equality(const Value& a, const Value& b, bool negate) {
    if (a.is_undefined() || b.is_undefined()) {
        return {};
    }
    // Mismatched types compare unequal (`=` false, `<>` true); Int and Decimal compare by value.
    return Value::boolean(a.equals(b) != negate);
}

Value decimal_result(double d) {
    // AWS's Decimal cannot hold NaN or infinities: such results are Undefined.
    if (!std::isfinite(d)) {
        return {};
    }
    return Value::decimal(d);
}

Value arithmetic(const Value& a, const Value& b, ExprKind op) {
    if (a.is_undefined() || b.is_undefined()) {
        return {};
    }
    if (op == ExprKind::Add && (a.type() == ValueType::String || b.type() == ValueType::String)) {
        // A String operand makes `+` a concatenation; the other operand's string form is used,
        // and Null has none (reference §3.5), so "a" + NULL is Undefined.
        std::string out;
        if (!append_text(a, out) || !append_text(b, out)) {
            return {};
        }
        return Value::string(std::move(out));
    }
    // Only `-`, `*`, `/` and `%` convert numeric strings (reference §3.6); `+` has handled strings.
    const Num x = to_num(a);
    const Num y = to_num(b);
    if (x.kind == Num::Kind::None || y.kind == Num::Kind::None) {
        return {};
    }
    if (x.kind == Num::Kind::Int && y.kind == Num::Kind::Int) {
        std::int64_t r = 0;
        switch (op) {
            case ExprKind::Add:
                if (!__builtin_add_overflow(x.i, y.i, &r)) {
                    return Value::integer(r);
                }
                break;
            case ExprKind::Sub:
                if (!__builtin_sub_overflow(x.i, y.i, &r)) {
                    return Value::integer(r);
                }
                break;
            case ExprKind::Mul:
                if (!__builtin_mul_overflow(x.i, y.i, &r)) {
                    return Value::integer(r);
                }
                break;
            case ExprKind::Div:
                // Int / Int is integer division, truncating (reference §3.6). AMBIG: division by
                // zero fails in AWS's Java engine; iotsim gives Undefined.
                if (y.i == 0) {
                    return {};
                }
                if (x.i == std::numeric_limits<std::int64_t>::min() && y.i == -1) {
                    break;
                }
                return Value::integer(x.i / y.i);
            default:  // Mod
                if (y.i == 0) {
                    return {};
                }
                if (y.i == -1) {
                    return Value::integer(0);
                }
                return Value::integer(x.i % y.i);
        }
        // Overflow: iotsim's Int is 64-bit where AWS's has 34 digits; continue as a Decimal.
    }
    const double p = x.as_double();
    const double q = y.as_double();
    switch (op) {
        case ExprKind::Add: return decimal_result(p + q);
        case ExprKind::Sub: return decimal_result(p - q);
        case ExprKind::Mul: return decimal_result(p * q);
        case ExprKind::Div:
            if (q == 0) {
                return {};
            }
            return decimal_result(p / q);
        default:
            if (q == 0) {
                return {};
            }
            return decimal_result(std::fmod(p, q));
    }
}

Value negate(const Value& v) {
    const Num n = to_num(v);
    switch (n.kind) {
        case Num::Kind::Int:
            if (n.i == std::numeric_limits<std::int64_t>::min()) {
                return Value::decimal(-static_cast<double>(n.i));
            }
            return Value::integer(-n.i);
        case Num::Kind::Dec: return Value::decimal(-n.d);
        default: return {};
    }
}

std::optional<std::int64_t> floor_int(double d) {
    if (!std::isfinite(d) || d >= 9.223372036854775807e18 || d < -9.223372036854775808e18) {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(std::floor(d));
}

Value cast(const Value& v, CastType type) {
    if (v.is_undefined() || v.is_null()) {
        return {};  // cast of Null is Undefined (reference §3.5)
    }
    switch (type) {
        case CastType::String: {
            auto s = to_text(v);
            return s ? Value::string(std::move(*s)) : Value{};
        }
        case CastType::Int:
            switch (v.type()) {
                case ValueType::Int: return v;
                case ValueType::Boolean: return Value::integer(v.as_bool() ? 1 : 0);
                case ValueType::Decimal: {
                    // AMBIG: "rounds down" read literally as floor (toward negative infinity).
                    auto i = floor_int(v.as_decimal());
                    return i ? Value::integer(*i) : Value{};
                }
                case ValueType::String: {
                    auto d = parse_decimal_text(v.as_string());
                    if (!d) {
                        return {};
                    }
                    auto i = floor_int(*d);
                    return i ? Value::integer(*i) : Value{};
                }
                default: return {};
            }
        case CastType::Decimal:
            switch (v.type()) {
                case ValueType::Int: return Value::decimal(static_cast<double>(v.as_int()));
                case ValueType::Decimal: return v;
                case ValueType::Boolean: return Value::decimal(v.as_bool() ? 1.0 : 0.0);
                case ValueType::String: {
                    auto d = parse_decimal_text(v.as_string());
                    return d ? decimal_result(*d) : Value{};
                }
                default: return {};
            }
        case CastType::Boolean:
            switch (v.type()) {
                case ValueType::Boolean: return v;
                case ValueType::Int: return Value::boolean(v.as_int() != 0);
                case ValueType::Decimal: return Value::boolean(v.as_decimal() != 0);
                case ValueType::String: return to_bool(v);
                default: return {};
            }
    }
    return {};
}

Value index_value(const Value& base, const Value& index) {
    if (base.type() == ValueType::Array) {
        auto i = to_index(index);
        const Array& a = base.as_array();
        if (!i || *i < 0 || static_cast<std::uint64_t>(*i) >= a.size()) {
            return {};
        }
        return a[static_cast<std::size_t>(*i)];
    }
    if (base.type() == ValueType::Object && index.type() == ValueType::String) {
        return base.member(index.as_string());
    }
    return {};
}

Value run_subquery(const Query& q, Eval& eval);

constexpr std::size_t call_args_inline = 8;

}  // namespace

Value eval_expr(const Expr& e, Eval& eval) {
    switch (e.kind) {
        case ExprKind::Literal: return e.literal;
        case ExprKind::Field: {
            const Value* v = eval.row->find(e.name);
            return v != nullptr ? *v : Value{};
        }
        case ExprKind::Star: return *eval.row;
        case ExprKind::Member: {
            // Walk a chain of members without copying the intermediate objects.
            if (e.args[0]->kind == ExprKind::Field) {
                const Value* base = eval.row->find(e.args[0]->name);
                const Value* v = base != nullptr ? base->find(e.name) : nullptr;
                return v != nullptr ? *v : Value{};
            }
            const Value base = eval_expr(*e.args[0], eval);
            return base.member(e.name);
        }
        case ExprKind::Index: {
            const Value base = eval_expr(*e.args[0], eval);
            return index_value(base, eval_expr(*e.args[1], eval));
        }
        case ExprKind::Call: {
            const std::size_t n = e.args.size();
            if (n <= call_args_inline) {
                Value args[call_args_inline];
                for (std::size_t i = 0; i < n; ++i) {
                    args[i] = eval_expr(*e.args[i], eval);
                }
                if (e.raw_star && eval.row == eval.payload &&
                    eval.payload->type() == ValueType::Object) {
                    // encode(*, ...) encodes the payload's bytes as published, not a
                    // re-serialisation.
                    args[0] = Value::binary(std::string(eval.message.payload));
                }
                return e.fn->impl(eval, args, n);
            }
            std::vector<Value> args;
            args.reserve(n);
            for (const auto& a : e.args) {
                args.push_back(eval_expr(*a, eval));
            }
            return e.fn->impl(eval, args.data(), n);
        }
        case ExprKind::Cast: return cast(eval_expr(*e.args[0], eval), e.cast_type);
        case ExprKind::Neg: return negate(eval_expr(*e.args[0], eval));
        case ExprKind::Not: {
            const Value v = to_bool(eval_expr(*e.args[0], eval));
            return v.is_undefined() ? Value{} : Value::boolean(!v.as_bool());
        }
        case ExprKind::And:
        case ExprKind::Or: {
            const Value a = eval_expr(*e.args[0], eval);
            const Value b = eval_expr(*e.args[1], eval);
            return logical(a, b, e.kind == ExprKind::And);
        }
        case ExprKind::Eq:
        case ExprKind::Ne: {
            const Value a = eval_expr(*e.args[0], eval);
            const Value b = eval_expr(*e.args[1], eval);
            return equality(a, b, e.kind == ExprKind::Ne);
        }
        case ExprKind::Lt:
        case ExprKind::Le:
        case ExprKind::Gt:
        case ExprKind::Ge: {
            const Value a = eval_expr(*e.args[0], eval);
            const Value b = eval_expr(*e.args[1], eval);
            return compare(a, b, e.kind);
        }
        case ExprKind::Add:
        case ExprKind::Sub:
        case ExprKind::Mul:
        case ExprKind::Div:
        case ExprKind::Mod: {
            const Value a = eval_expr(*e.args[0], eval);
            const Value b = eval_expr(*e.args[1], eval);
            return arithmetic(a, b, e.kind);
        }
        case ExprKind::Case: {
            const Value subject = eval_expr(*e.args[0], eval);
            if (subject.is_undefined()) {
                return {};
            }
            const std::size_t pairs_end = e.has_else ? e.args.size() - 1 : e.args.size();
            for (std::size_t i = 1; i + 1 < pairs_end; i += 2) {
                const Value candidate = eval_expr(*e.args[i], eval);
                if (subject.equals(candidate)) {
                    return eval_expr(*e.args[i + 1], eval);
                }
            }
            return e.has_else ? eval_expr(*e.args.back(), eval) : Value{};
        }
        case ExprKind::ObjectLit: {
            Object o;
            o.reserve(e.args.size());
            for (std::size_t i = 0; i < e.args.size(); ++i) {
                Value v = eval_expr(*e.args[i], eval);
                if (!v.is_undefined()) {
                    o.emplace_back(e.keys[i], std::move(v));
                }
            }
            return Value::object(std::move(o));
        }
        case ExprKind::ArrayLit: {
            Array a;
            a.reserve(e.args.size());
            for (const auto& x : e.args) {
                a.push_back(eval_expr(*x, eval));
            }
            return Value::array(std::move(a));
        }
        case ExprKind::Subquery: return run_subquery(*e.subquery, eval);
    }
    return {};
}

namespace {

bool where_holds(const Query& q, Eval& eval) {
    if (!q.where) {
        return true;
    }
    // AMBIG: only a Boolean true (or the string "true", which AND/OR/NOT also accept) selects
    // the message; false, Undefined and every other value do not (reference §3.2).
    const Value w = to_bool(eval_expr(*q.where, eval));
    return !w.is_undefined() && w.as_bool();
}

/// Sets `path` in `object` (creating or merging nested objects); later keys replace earlier ones.
void set_path(Object& object, const std::vector<std::string>& path, std::size_t level,
              Value value) {
    const std::string& key = path[level];
    auto it =
        std::find_if(object.begin(), object.end(), [&](const auto& kv) { return kv.first == key; });
    if (level + 1 == path.size()) {
        if (it != object.end()) {
            it->second = std::move(value);
        } else {
            object.emplace_back(key, std::move(value));
        }
        return;
    }
    Object child;
    if (it != object.end() && it->second.type() == ValueType::Object) {
        child = it->second.as_object();
    }
    set_path(child, path, level + 1, std::move(value));
    if (it != object.end()) {
        it->second = Value::object(std::move(child));
    } else {
        object.emplace_back(key, Value::object(std::move(child)));
    }
}

/// The SELECT list as an Object (general path: `*`, nested aliases, repeated keys).
Value project(const Query& q, Eval& eval) {
    Object out;
    out.reserve(q.items.size());
    for (const SelectItem& item : q.items) {
        if (item.star) {
            if (eval.row->type() == ValueType::Object) {
                if (out.empty()) {
                    out = eval.row->as_object();  // the usual `SELECT *, ...`: one copy, no lookups
                } else {
                    for (const auto& kv : eval.row->as_object()) {
                        set_path(out, {kv.first}, 0, kv.second);
                    }
                }
            }
            continue;
        }
        Value v = eval_expr(*item.expr, eval);
        if (v.is_undefined()) {
            continue;  // Undefined keys are omitted (reference §3.2)
        }
        set_path(out, item.alias, 0, std::move(v));
    }
    return Value::object(std::move(out));
}

Value run_subquery(const Query& q, Eval& eval) {
    const Value source = eval_expr(*q.from_expr, eval);
    if (source.type() != ValueType::Array) {
        return {};
    }
    Array out;
    const Value* saved = eval.row;
    for (const Value& element : source.as_array()) {
        eval.row = &element;
        if (!where_holds(q, eval)) {
            continue;
        }
        if (q.select_value) {
            Value v = eval_expr(*q.items[0].expr, eval);
            if (!v.is_undefined()) {
                out.push_back(std::move(v));
            }
        } else {
            out.push_back(project(q, eval));
        }
    }
    eval.row = saved;
    return Value::array(std::move(out));
}

void write_key(const std::string& key, std::string& out) {
    out.push_back('"');
    // Aliases are identifiers (no characters to escape) unless they came from a default key.
    out += key;
    out.push_back('"');
}

}  // namespace

Value load_payload(std::string_view bytes, SqlVersion version, bool& binary, const Query* query) {
    // The payload is JSON only if it is a JSON object; anything else (including bare JSON
    // scalars such as `80`, reference §3.8) is binary and reachable only through `*`.
    // AMBIG: an empty payload counts as an empty object, so items can still be added to it
    // ("if you have an empty or a JSON payload ... data added", binary-payloads.html).
    binary = false;
    if (bytes.empty()) {
        return Value::object({});
    }
    std::size_t i = 0;
    while (i < bytes.size() &&
           (bytes[i] == ' ' || bytes[i] == '\n' || bytes[i] == '\t' || bytes[i] == '\r')) {
        ++i;
    }
    if (i < bytes.size() && bytes[i] == '{') {
        auto parsed = query != nullptr && !query->reads_whole_payload
                          ? parse_json_object_members(bytes, version, query->top_fields)
                          : parse_json(bytes, version);
        if (parsed && parsed->type() == ValueType::Object) {
            return std::move(*parsed);
        }
    }
    binary = true;
    return Value::binary(std::string(bytes));
}

}  // namespace detail

void evaluate(const Statement& statement, const Message& message, EvalContext& context,
              EvalOutcome& out) {
    using namespace detail;
    const Query& q = statement.query();
    out.kind = OutcomeKind::NoMatch;
    out.payload.clear();
    out.error.clear();
    out.format = PayloadFormat::Json;

    bool binary = false;
    const Value payload = load_payload(message.payload, q.version, binary, &q);

    Eval eval{message, context, q.version, &payload, &payload};
    if (!where_holds(q, eval)) {
        if (eval.failed) {
            out.kind = OutcomeKind::Error;
            out.error = std::move(eval.error);
        }
        return;
    }

    const auto finish_error = [&]() {
        out.kind = OutcomeKind::Error;
        out.payload.clear();
        out.error = std::move(eval.error);
    };

    if (q.select_value) {
        const Value v = eval_expr(*q.items[0].expr, eval);
        if (eval.failed) {
            return finish_error();
        }
        if (v.type() == ValueType::Binary) {
            out.format = PayloadFormat::Binary;
            out.payload = v.as_binary();
        } else if (v.type() == ValueType::Array && q.version == SqlVersion::v2015_10_08) {
            // AMBIG: arrays became valid top-level output in 2016-03-23 (reference §3.4); iotsim
            // treats SELECT VALUE of an array in 2015-10-08 as a runtime error.
            out.kind = OutcomeKind::Error;
            out.error = "SELECT VALUE of an Array requires SQL version 2016-03-23";
            return;
        } else {
            // Undefined serialises to nothing by itself: an empty payload (reference §3.5).
            write_json(v, out.payload);
        }
        out.kind = OutcomeKind::Match;
        return;
    }

    if (binary && q.has_star) {
        if (q.items.size() == 1) {
            out.kind = OutcomeKind::Match;
            out.format = PayloadFormat::Binary;
            out.payload = message.payload;
            return;
        }
        // AMBIG: AWS documents adding keys to `*` only for empty or JSON payloads; a binary
        // payload cannot be merged into an object, so the message goes to the errorAction.
        out.kind = OutcomeKind::Error;
        out.error = "Cannot add keys to a binary (non-JSON) payload selected with *";
        return;
    }

    if (q.flat_output) {
        std::string& json = out.payload;
        json.push_back('{');
        bool first = true;
        for (const SelectItem& item : q.items) {
            const Value v = eval_expr(*item.expr, eval);
            if (v.is_undefined()) {
                continue;
            }
            if (!first) {
                json.push_back(',');
            }
            first = false;
            write_key(item.alias[0], json);
            json.push_back(':');
            write_json(v, json);
        }
        json.push_back('}');
    } else {
        const Value v = project(q, eval);
        write_json(v, out.payload);
    }
    if (eval.failed) {
        return finish_error();
    }
    out.kind = OutcomeKind::Match;
}

EvalOutcome evaluate(const Statement& statement, const Message& message, EvalContext& context) {
    EvalOutcome out;
    evaluate(statement, message, context, out);
    return out;
}

}  // namespace iotsim::rules
