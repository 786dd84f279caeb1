#pragma once

// AWS IoT SQL's implicit conversions (reference §3.5) and small text helpers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/rules/value.hpp"

namespace iotsim::rules::detail {

inline char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
inline char ascii_upper(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

[[nodiscard]] bool valid_utf8(std::string_view s);
void append_utf8(std::string& out, std::uint32_t cp);
/// Number of code points of valid UTF-8 (bytes of invalid sequences count one each).
[[nodiscard]] std::size_t utf8_length(std::string_view s);
/// Byte offset of code point `index` (clamped to the end).
[[nodiscard]] std::size_t utf8_offset(std::string_view s, std::size_t index);

/// A Decimal, or in 2016-03-23 an Int when it is a whole number that fits (reference §3.4).
[[nodiscard]] Value normalize_decimal(double d, SqlVersion version);

void format_int(std::int64_t i, std::string& out);
/// Shortest round-trip digits in Java's Double.toString layout (`32.0`, `0.1`, `1.0E21`).
void format_decimal(double d, std::string& out);

/// `^-?\d+(\.\d+)?((?i)E-?\d+)?$` parsed as a double; nullopt otherwise.
[[nodiscard]] std::optional<double> parse_decimal_text(std::string_view s);

/// A number as an operator sees it.
struct Num {
    enum class Kind : std::uint8_t { None, Int, Dec } kind = Kind::None;
    std::int64_t i = 0;
    double d = 0;
    [[nodiscard]] double as_double() const {
        return kind == Kind::Int ? static_cast<double>(i) : d;
    }
};
/// Int and Decimal as themselves, a numeric String as a Decimal, anything else None.
[[nodiscard]] Num to_num(const Value& v);

/// Implicit conversion to Decimal: Int -> Decimal, String parsed, Null -> Null, else Undefined.
[[nodiscard]] Value to_decimal(const Value& v);
/// Implicit conversion to Int: Decimal rounded to nearest, String parsed then truncated, Null ->
/// Null, else Undefined.
[[nodiscard]] Value to_int(const Value& v);
/// Implicit conversion to Boolean: Boolean, "true"/"false" (any case); else Undefined.
[[nodiscard]] Value to_bool(const Value& v);
/// Implicit conversion to String (nullopt for Null and Undefined). Arrays and objects become JSON,
/// Binary its bytes.
[[nodiscard]] std::optional<std::string> to_text(const Value& v);
/// Appends the string form; false (nothing appended) for Null and Undefined.
bool append_text(const Value& v, std::string& out);

/// An index argument (Int-converted), or nullopt.
[[nodiscard]] std::optional<std::int64_t> to_index(const Value& v);

[[nodiscard]] std::string base64_encode(std::string_view bytes);

/// parse_json for a payload of which only the top-level members named in `keep` are needed: the
/// others are validated but not built (the evaluator's hot path).
[[nodiscard]] std::optional<Value> parse_json_object_members(std::string_view text,
                                                             SqlVersion version,
                                                             const std::vector<std::string>& keep);
/// Standard alphabet with padding; nullopt for anything else.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);

}  // namespace iotsim::rules::detail
