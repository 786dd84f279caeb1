// AWS IoT SQL's function library (reference §3.7). Each function receives evaluated arguments
// and follows the documented argument-type tables: a wrong type gives Undefined, never an error.
// Only external functions (get_thing_shadow, aws_lambda, ...) can fail an evaluation.

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <string>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <openssl/evp.h>
#include <pcre2.h>

#include "ast.hpp"
#include "convert.hpp"
#include "time_format.hpp"

namespace iotsim::rules::detail {
namespace {

using V = const Value*;
constexpr SqlVersion v1 = SqlVersion::v2015_10_08;
constexpr SqlVersion v2 = SqlVersion::v2016_03_23;

Value str(std::string s) {
    return Value::string(std::move(s));
}

Value decimal_or_undefined(double d) {
    if (!std::isfinite(d)) {
        return {};
    }
    return Value::decimal(d);
}

std::optional<std::int64_t> to_int64(double d) {
    if (!std::isfinite(d) || d >= 9.223372036854775807e18 || d < -9.223372036854775808e18) {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(d);
}

// ---- math ---------------------------------------------------------------------------------

template <double (*F)(double)>
Value math1(Eval&, V a, std::size_t) {
    const Num n = to_num(a[0]);
    if (n.kind == Num::Kind::None) {
        return {};
    }
    return decimal_or_undefined(F(n.as_double()));
}

double log10_(double x) {
    return std::log10(x);
}
double ln_(double x) {
    return std::log(x);
}
double exp_(double x) {
    return std::exp(x);
}
double sqrt_(double x) {
    return std::sqrt(x);
}
double sin_(double x) {
    return std::sin(x);
}
double cos_(double x) {
    return std::cos(x);
}
double tan_(double x) {
    return std::tan(x);
}
double asin_(double x) {
    return std::asin(x);
}
double acos_(double x) {
    return std::acos(x);
}
double atan_(double x) {
    return std::atan(x);
}
double sinh_(double x) {
    return std::sinh(x);
}
double cosh_(double x) {
    return std::cosh(x);
}
double tanh_(double x) {
    return std::tanh(x);
}

Value fn_atan2(Eval&, V a, std::size_t) {
    const Num y = to_num(a[0]);
    const Num x = to_num(a[1]);
    if (y.kind == Num::Kind::None || x.kind == Num::Kind::None) {
        return {};
    }
    return decimal_or_undefined(std::atan2(y.as_double(), x.as_double()));
}

Value fn_power(Eval&, V a, std::size_t) {
    const Num x = to_num(a[0]);
    const Num y = to_num(a[1]);
    if (x.kind == Num::Kind::None || y.kind == Num::Kind::None) {
        return {};
    }
    return decimal_or_undefined(std::pow(x.as_double(), y.as_double()));
}

Value fn_abs(Eval&, V a, std::size_t) {
    const Num n = to_num(a[0]);
    switch (n.kind) {
        case Num::Kind::Int:
            if (n.i == std::numeric_limits<std::int64_t>::min()) {
                return Value::decimal(-static_cast<double>(n.i));
            }
            return Value::integer(n.i < 0 ? -n.i : n.i);
        case Num::Kind::Dec: return Value::decimal(std::fabs(n.d));
        default: return {};
    }
}

template <double (*F)(double)>
Value round_to_int(Eval&, V a, std::size_t) {
    const Num n = to_num(a[0]);
    if (n.kind == Num::Kind::Int) {
        return Value::integer(n.i);
    }
    if (n.kind == Num::Kind::None) {
        return {};
    }
    auto i = to_int64(F(n.d));
    return i ? Value::integer(*i) : Value{};
}

double ceil_(double x) {
    return std::ceil(x);
}
double floor_(double x) {
    return std::floor(x);
}
// round(): nearest, halves up (reference: ".5 rounds up"), as Java's Math.round.
double round_(double x) {
    return std::floor(x + 0.5);
}

Value fn_sign(Eval&, V a, std::size_t) {
    const Num n = to_num(a[0]);
    if (n.kind == Num::Kind::None) {
        return {};
    }
    const double d = n.as_double();
    return Value::integer(d > 0 ? 1 : d < 0 ? -1 : 0);
}

Value fn_trunc(Eval&, V a, std::size_t) {
    const Num n = to_num(a[0]);
    const auto digits = to_index(a[1]);
    if (n.kind == Num::Kind::None || !digits) {
        return {};
    }
    if (n.kind == Num::Kind::Int) {
        return Value::integer(n.i);
    }
    // Truncate the decimal digits of the shortest exact form rather than multiplying (which
    // would turn 2.3 into 2.29999...). The digit count is clamped to 0..34 (reference §3.7).
    const std::int64_t d = std::clamp<std::int64_t>(*digits, 0, 34);
    if (!std::isfinite(n.d)) {
        return {};
    }
    char buf[400];
    const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, n.d, std::chars_format::fixed);
    if (ec != std::errc()) {
        return {};
    }
    std::string text(buf, p);
    const std::size_t dot = text.find('.');
    if (dot != std::string::npos) {
        text.resize(std::min(text.size(), dot + 1 + static_cast<std::size_t>(d)));
        while (!text.empty() && text.back() == '0') {
            text.pop_back();
        }
        if (!text.empty() && text.back() == '.') {
            text.pop_back();
        }
    }
    if (text == "-0") {
        text = "0";
    }
    // Trailing zeros are stripped, so a whole result is an Int (trunc(2.3, 0) = 2).
    if (text.find('.') == std::string::npos) {
        std::int64_t i = 0;
        const auto [q, ec2] = std::from_chars(text.data(), text.data() + text.size(), i);
        if (ec2 == std::errc() && q == text.data() + text.size()) {
            return Value::integer(i);
        }
    }
    double out = 0;
    std::from_chars(text.data(), text.data() + text.size(), out);
    return Value::decimal(out);
}

Value fn_mod(Eval&, V a, std::size_t) {
    // mod() and remainder() are `%` (reference §3.7).
    const Num x = to_num(a[0]);
    const Num y = to_num(a[1]);
    if (x.kind == Num::Kind::None || y.kind == Num::Kind::None) {
        return {};
    }
    if (x.kind == Num::Kind::Int && y.kind == Num::Kind::Int) {
        if (y.i == 0) {
            return {};
        }
        return Value::integer(y.i == -1 ? 0 : x.i % y.i);
    }
    if (y.as_double() == 0) {
        return {};
    }
    return decimal_or_undefined(std::fmod(x.as_double(), y.as_double()));
}

Value fn_nanvl(Eval&, V a, std::size_t) {
    const Num n = to_num(a[0]);
    if (n.kind == Num::Kind::Int || (n.kind == Num::Kind::Dec && !std::isnan(n.d))) {
        return a[0];
    }
    return a[1];
}

Value fn_rand(Eval& e, V, std::size_t) {
    return Value::decimal(e.context.rng.uniform01());
}

// ---- bitwise ------------------------------------------------------------------------------

template <int Op>
Value bitwise(Eval&, V a, std::size_t) {
    const Value x = to_int(a[0]);
    const Value y = to_int(a[1]);
    if (x.type() != ValueType::Int || y.type() != ValueType::Int) {
        return {};
    }
    switch (Op) {
        case 0: return Value::integer(x.as_int() & y.as_int());
        case 1: return Value::integer(x.as_int() | y.as_int());
        default: return Value::integer(x.as_int() ^ y.as_int());
    }
}

Value fn_bitnot(Eval&, V a, std::size_t) {
    const Value x = to_int(a[0]);
    if (x.type() != ValueType::Int) {
        return {};
    }
    return Value::integer(~x.as_int());
}

// ---- strings ------------------------------------------------------------------------------

Value fn_chr(Eval&, V a, std::size_t) {
    const Num n = to_num(a[0]);
    if (n.kind == Num::Kind::None) {
        return {};
    }
    // A Decimal or numeric String is rounded down (reference §3.7).
    const auto cp =
        n.kind == Num::Kind::Int ? std::optional<std::int64_t>(n.i) : to_int64(std::floor(n.d));
    if (!cp || *cp < 0 || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) {
        return {};
    }
    std::string out;
    append_utf8(out, static_cast<std::uint32_t>(*cp));
    return str(std::move(out));
}

Value fn_concat(Eval&, V a, std::size_t n) {
    if (n == 0) {
        return {};
    }
    if (n == 1) {
        return a[0];
    }
    const bool any_array =
        std::any_of(a, a + n, [](const Value& v) { return v.type() == ValueType::Array; });
    if (any_array) {
        Array out;
        for (std::size_t i = 0; i < n; ++i) {
            if (a[i].type() == ValueType::Array) {
                const Array& x = a[i].as_array();
                out.insert(out.end(), x.begin(), x.end());
            } else if (!a[i].is_undefined()) {
                out.push_back(a[i]);
            }
        }
        return Value::array(std::move(out));
    }
    // AMBIG: AWS concatenates when any argument is a String; iotsim concatenates the string forms
    // of every argument whenever none is an Array, and gives Undefined if one has no string
    // form (Null, Undefined).
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        if (!append_text(a[i], out)) {
            return {};
        }
    }
    return str(std::move(out));
}

Value fn_endswith(Eval&, V a, std::size_t) {
    auto s = to_text(a[0]);
    auto x = to_text(a[1]);
    if (!s || !x) {
        return {};
    }
    return Value::boolean(s->size() >= x->size() &&
                          s->compare(s->size() - x->size(), x->size(), *x) == 0);
}

Value fn_startswith(Eval&, V a, std::size_t) {
    auto s = to_text(a[0]);
    auto x = to_text(a[1]);
    if (!s || !x) {
        return {};
    }
    return Value::boolean(s->compare(0, x->size(), *x) == 0);
}

Value fn_indexof(Eval&, V a, std::size_t) {
    auto s = to_text(a[0]);
    auto x = to_text(a[1]);
    if (!s || !x) {
        return {};
    }
    const std::size_t at = s->find(*x);
    if (at == std::string::npos) {
        return Value::integer(-1);
    }
    return Value::integer(
        static_cast<std::int64_t>(utf8_length(std::string_view(*s).substr(0, at))));
}

Value fn_length(Eval&, V a, std::size_t) {
    auto s = to_text(a[0]);
    return s ? Value::integer(static_cast<std::int64_t>(utf8_length(*s))) : Value{};
}

Value fn_numbytes(Eval&, V a, std::size_t) {
    auto s = to_text(a[0]);
    return s ? Value::integer(static_cast<std::int64_t>(s->size())) : Value{};
}

// AMBIG: AWS's Java engine changes case with Unicode rules; iotsim changes ASCII letters only.
template <bool Upper>
Value change_case(Eval&, V a, std::size_t) {
    auto s = to_text(a[0]);
    if (!s) {
        return {};
    }
    for (char& c : *s) {
        c = Upper ? ascii_upper(c) : ascii_lower(c);
    }
    return str(std::move(*s));
}

template <bool Left>
Value pad(Eval&, V a, std::size_t) {
    auto s = to_text(a[0]);
    const auto n = to_index(a[1]);
    if (!s || !n) {
        return {};
    }
    const auto count = static_cast<std::size_t>(std::clamp<std::int64_t>(*n, 0, 1000));
    return str(Left ? std::string(count, ' ') + *s : *s + std::string(count, ' '));
}

bool is_trim_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// AMBIG: the reference says "spaces/tabs"; iotsim strips all ASCII whitespace, as Java's trim.
template <bool Left, bool Right>
Value trim(Eval&, V a, std::size_t) {
    auto s = to_text(a[0]);
    if (!s) {
        return {};
    }
    std::size_t b = 0;
    std::size_t e = s->size();
    if (Left) {
        while (b < e && is_trim_space((*s)[b])) {
            ++b;
        }
    }
    if (Right) {
        while (e > b && is_trim_space((*s)[e - 1])) {
            --e;
        }
    }
    return str(s->substr(b, e - b));
}

Value fn_replace(Eval&, V a, std::size_t) {
    auto s = to_text(a[0]);
    auto from = to_text(a[1]);
    auto to = to_text(a[2]);
    if (!s || !from || !to) {
        return {};
    }
    std::string out;
    if (from->empty()) {
        // As Java's String.replace: the replacement goes before every character and at the end.
        for (std::size_t i = 0; i < s->size(); ++i) {
            if ((static_cast<unsigned char>((*s)[i]) & 0xC0) != 0x80) {
                out += *to;  // before each character, not inside a multi-byte one
            }
            out.push_back((*s)[i]);
        }
        out += *to;
        return str(std::move(out));
    }
    std::size_t pos = 0;
    while (true) {
        const std::size_t at = s->find(*from, pos);
        if (at == std::string::npos) {
            out.append(*s, pos, std::string::npos);
            break;
        }
        out.append(*s, pos, at - pos);
        out += *to;
        pos = at + from->size();
    }
    return str(std::move(out));
}

Value fn_substring(Eval&, V a, std::size_t n) {
    auto s = to_text(a[0]);
    const auto start = to_index(a[1]);
    if (!s || !start) {
        return {};
    }
    const auto len = static_cast<std::int64_t>(utf8_length(*s));
    std::int64_t end = len;
    if (n == 3) {
        const auto e = to_index(a[2]);
        if (!e) {
            return {};
        }
        end = *e;
    }
    // 0-based, end exclusive, both clamped to [0, length]; start >= end gives "" (reference §3.7).
    const std::int64_t b = std::clamp<std::int64_t>(*start, 0, len);
    const std::int64_t f = std::clamp<std::int64_t>(end, 0, len);
    if (b >= f) {
        return str("");
    }
    const std::size_t bo = utf8_offset(*s, static_cast<std::size_t>(b));
    const std::size_t fo = utf8_offset(*s, static_cast<std::size_t>(f));
    return str(s->substr(bo, fo - bo));
}

// ---- regular expressions ------------------------------------------------------------------

// AMBIG: AWS evaluates Java regular expressions. iotsim uses PCRE2, whose Perl syntax Java's
// follows (inline flags such as `(?i)`, possessive quantifiers, lookaround, named groups, ASCII
// \d \w \s), and bounds the work: a match limit, a backtracking depth limit and a heap limit make
// a catastrophic pattern (nested quantifiers such as `(a+)+$`) give Undefined in well under a
// millisecond instead of occupying the broker. std::regex, used before, has no such limit: the
// fuzzer found patterns that took it seconds on a five-letter subject. Subject and pattern sizes
// are bounded too, and a result beyond result_bytes_max is Undefined.
constexpr std::size_t regex_subject_bytes_max = 1024;
constexpr std::size_t regex_pattern_bytes_max = 256;
constexpr std::size_t regex_result_bytes_max = 131'072;  // a message's payload limit
constexpr std::uint32_t regex_match_limit = 100'000;     // backtracking steps per match
constexpr std::uint32_t regex_depth_limit = 1'000;       // nested backtracking points
constexpr std::uint32_t regex_heap_limit_kib = 1'024;

/// A compiled pattern with its match data and limits; empty when the pattern does not compile.
class Regex {
public:
    explicit Regex(std::string_view pattern) {
        if (pattern.size() > regex_pattern_bytes_max) {
            return;
        }
        int error = 0;
        PCRE2_SIZE offset = 0;
        code_.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                  PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C, &error, &offset,
                                  nullptr));
        if (!code_) {
            return;
        }
        data_.reset(pcre2_match_data_create_from_pattern(code_.get(), nullptr));
        context_.reset(pcre2_match_context_create(nullptr));
        if (!data_ || !context_) {
            code_.reset();
            return;
        }
        pcre2_set_match_limit(context_.get(), regex_match_limit);
        pcre2_set_depth_limit(context_.get(), regex_depth_limit);
        pcre2_set_heap_limit(context_.get(), regex_heap_limit_kib);
    }

    [[nodiscard]] bool valid() const { return code_ != nullptr; }

    /// The first match's [begin, end) in `subject`; nullopt without a match; Undefined (the
    /// outer nullopt) when a limit was hit.
    [[nodiscard]] std::optional<std::optional<std::pair<std::size_t, std::size_t>>> search(std::string_view subject) {
        const int rc = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0,
                                   data_.get(), context_.get());
        if (rc == PCRE2_ERROR_NOMATCH) {
            return std::optional<std::pair<std::size_t, std::size_t>>{};
        }
        if (rc < 0) {
            return std::nullopt;
        }
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data_.get());
        return std::optional<std::pair<std::size_t, std::size_t>>{std::pair{ovector[0], ovector[1]}};
    }

    /// Every match replaced by `replacement` in Java's syntax ($n, ${name}, \ escapes);
    /// nullopt for a bad replacement, a hit limit or a result beyond regex_result_bytes_max.
    [[nodiscard]] std::optional<std::string> replace_all(std::string_view subject, std::string_view replacement) {
        const auto pcre_replacement = java_replacement(replacement);
        if (!pcre_replacement) {
            return std::nullopt;
        }
        std::string out(std::max<std::size_t>(subject.size() * 2, 64), '\0');
        for (int attempt = 0; attempt < 2; ++attempt) {
            PCRE2_SIZE length = out.size();
            const int rc = pcre2_substitute(
                code_.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH, data_.get(), context_.get(),
                reinterpret_cast<PCRE2_SPTR>(pcre_replacement->data()), pcre_replacement->size(),
                reinterpret_cast<PCRE2_UCHAR*>(out.data()), &length);
            if (rc >= 0) {
                out.resize(length);
                return out;
            }
            if (rc != PCRE2_ERROR_NOMEMORY || length > regex_result_bytes_max) {
                return std::nullopt;
            }
            out.assign(length, '\0');  // `length` is what the result needs
        }
        return std::nullopt;
    }

private:
    /// Java's replacement syntax in PCRE2's: `$n` takes as many digits as name an existing
    /// group (Java's rule), `${name}` a named group, `\x` is a literal x; PCRE2 writes a
    /// literal `$` as `$$`. nullopt where Java throws (a `$` naming no group, a trailing `\`).
    [[nodiscard]] std::optional<std::string> java_replacement(std::string_view r) const {
        std::uint32_t groups = 0;
        pcre2_pattern_info(code_.get(), PCRE2_INFO_CAPTURECOUNT, &groups);
        std::string out;
        for (std::size_t i = 0; i < r.size(); ++i) {
            const char c = r[i];
            if (c == '\\') {
                if (++i == r.size()) {
                    return std::nullopt;
                }
                out += r[i] == '$' ? std::string("$$") : std::string(1, r[i]);
            } else if (c == '$') {
                if (i + 1 < r.size() && r[i + 1] == '{') {
                    const auto close = r.find('}', i + 2);
                    if (close == std::string_view::npos || close == i + 2) {
                        return std::nullopt;
                    }
                    const std::string name(r.substr(i + 2, close - i - 2));
                    if (pcre2_substring_number_from_name(code_.get(), reinterpret_cast<PCRE2_SPTR>(name.c_str())) < 0) {
                        return std::nullopt;
                    }
                    out += "${" + name + "}";
                    i = close;
                } else if (i + 1 < r.size() && r[i + 1] >= '0' && r[i + 1] <= '9') {
                    std::uint32_t n = static_cast<std::uint32_t>(r[++i] - '0');
                    if (n > groups) {
                        return std::nullopt;
                    }
                    while (i + 1 < r.size() && r[i + 1] >= '0' && r[i + 1] <= '9' &&
                           n * 10 + static_cast<std::uint32_t>(r[i + 1] - '0') <= groups) {
                        n = n * 10 + static_cast<std::uint32_t>(r[++i] - '0');
                    }
                    out += "${" + std::to_string(n) + "}";
                } else {
                    return std::nullopt;
                }
            } else {
                out += c;
            }
        }
        return out;
    }

    struct CodeFree {
        void operator()(pcre2_code* p) const { pcre2_code_free(p); }
    };
    struct DataFree {
        void operator()(pcre2_match_data* p) const { pcre2_match_data_free(p); }
    };
    struct ContextFree {
        void operator()(pcre2_match_context* p) const { pcre2_match_context_free(p); }
    };
    std::unique_ptr<pcre2_code, CodeFree> code_;
    std::unique_ptr<pcre2_match_data, DataFree> data_;
    std::unique_ptr<pcre2_match_context, ContextFree> context_;
};

Value fn_regexp_matches(Eval&, V a, std::size_t) {
    auto s = to_text(a[0]);
    auto p = to_text(a[1]);
    if (!s || !p || s->size() > regex_subject_bytes_max) {
        return {};
    }
    Regex re(*p);
    if (!re.valid()) {
        return {};
    }
    const auto found = re.search(*s);
    return found ? Value::boolean(found->has_value()) : Value{};
}

Value fn_regexp_replace(Eval&, V a, std::size_t) {
    auto s = to_text(a[0]);
    auto p = to_text(a[1]);
    auto r = to_text(a[2]);
    if (!s || !p || !r || s->size() > regex_subject_bytes_max) {
        return {};
    }
    Regex re(*p);
    if (!re.valid()) {
        return {};
    }
    auto replaced = re.replace_all(*s, *r);
    return replaced ? str(std::move(*replaced)) : Value{};
}

Value fn_regexp_substr(Eval&, V a, std::size_t) {
    auto s = to_text(a[0]);
    auto p = to_text(a[1]);
    if (!s || !p || s->size() > regex_subject_bytes_max) {
        return {};
    }
    Regex re(*p);
    if (!re.valid()) {
        return {};
    }
    const auto found = re.search(*s);
    if (!found) {
        return {};
    }
    // AMBIG: no match gives the empty string.
    return str(found->has_value() ? std::string(s->substr((*found)->first, (*found)->second - (*found)->first))
                                  : std::string());
}

// ---- encoding and hashing -----------------------------------------------------------------

Value fn_encode(Eval&, V a, std::size_t) {
    auto scheme = to_text(a[1]);
    if (!scheme || *scheme != "base64") {
        return {};
    }
    auto s = to_text(a[0]);
    if (!s) {
        return {};
    }
    return str(base64_encode(*s));
}

Value fn_decode(Eval& e, V a, std::size_t) {
    auto scheme = to_text(a[1]);
    if (!scheme || *scheme != "base64") {
        return {};  // AMBIG: 'proto' needs a descriptor set in S3; iotsim does not support it
    }
    if (a[0].type() != ValueType::String) {
        return {};
    }
    auto bytes = base64_decode(a[0].as_string());
    if (!bytes) {
        return Value::null();  // undecodable input gives NULL (reference §3.7)
    }
    if (auto json = parse_json(*bytes, e.version)) {
        return *json;
    }
    // AMBIG: bytes that are not UTF-8 stay Binary (written as base64 inside JSON output).
    if (valid_utf8(*bytes)) {
        return str(std::move(*bytes));
    }
    return Value::binary(std::move(*bytes));
}

template <int Which>
Value hash(Eval&, V a, std::size_t) {
    static constexpr const char* names[] = {"MD2",    "MD5",    "SHA1",  "SHA224",
                                            "SHA256", "SHA384", "SHA512"};
    auto s = to_text(a[0]);
    if (!s) {
        return {};
    }
    // AMBIG: OpenSSL 3's default provider has no MD2; md2() is then Undefined.
    EVP_MD* md = EVP_MD_fetch(nullptr, names[Which], nullptr);
    if (md == nullptr) {
        return {};
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const int ok = EVP_Digest(s->data(), s->size(), digest, &len, md, nullptr);
    EVP_MD_free(md);
    if (ok != 1) {
        return {};
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 15]);
    }
    return str(std::move(out));
}

// ---- values and structure -----------------------------------------------------------------

Value fn_get(Eval&, V a, std::size_t) {
    const Value& x = a[0];
    switch (x.type()) {
        case ValueType::Array: {
            auto i = to_index(a[1]);
            const Array& arr = x.as_array();
            if (!i || *i < 0 || static_cast<std::uint64_t>(*i) >= arr.size()) {
                return {};
            }
            return arr[static_cast<std::size_t>(*i)];
        }
        case ValueType::String: {
            auto i = to_index(a[1]);
            const std::string& s = x.as_string();
            if (!i || *i < 0 || static_cast<std::uint64_t>(*i) >= utf8_length(s)) {
                return {};
            }
            const std::size_t b = utf8_offset(s, static_cast<std::size_t>(*i));
            const std::size_t f = utf8_offset(s, static_cast<std::size_t>(*i) + 1);
            return str(s.substr(b, f - b));
        }
        case ValueType::Object:
            // Object keys are not converted: the key must be a String (reference §3.7).
            if (a[1].type() != ValueType::String) {
                return {};
            }
            return x.member(a[1].as_string());
        default: return {};
    }
}

Value fn_get_or_default(Eval&, V a, std::size_t) {
    return a[0].is_undefined() ? a[1] : a[0];
}
Value fn_isnull(Eval&, V a, std::size_t) {
    return Value::boolean(a[0].is_null());
}
Value fn_isundefined(Eval&, V a, std::size_t) {
    return Value::boolean(a[0].is_undefined());
}

Value fn_transform(Eval&, V a, std::size_t) {
    if (a[0].type() != ValueType::String || a[0].as_string() != "enrichArray" ||
        a[1].type() != ValueType::Object || a[2].type() != ValueType::Array) {
        return {};
    }
    Array out;
    for (const Value& element : a[2].as_array()) {
        if (element.type() != ValueType::Object) {
            // AMBIG: elements that are not objects pass through unchanged.
            out.push_back(element);
            continue;
        }
        Object merged = element.as_object();
        for (const auto& extra : a[1].as_object()) {
            // AMBIG: on a key clash the enriching object's value wins.
            auto it = std::find_if(merged.begin(), merged.end(),
                                   [&](const auto& kv) { return kv.first == extra.first; });
            if (it != merged.end()) {
                it->second = extra.second;
            } else {
                merged.push_back(extra);
            }
        }
        out.push_back(Value::object(std::move(merged)));
    }
    return Value::array(std::move(out));
}

// ---- context ------------------------------------------------------------------------------

Value fn_accountid(Eval& e, V, std::size_t) {
    return str(e.context.account_id);
}
Value fn_clientid(Eval& e, V, std::size_t) {
    return str(e.context.client_id);
}
Value fn_principal(Eval& e, V, std::size_t) {
    return str(e.context.principal);
}
Value fn_traceid(Eval& e, V, std::size_t) {
    return e.context.trace_id ? str(*e.context.trace_id) : Value{};
}
Value fn_sourceip(Eval& e, V, std::size_t) {
    return e.context.source_ip ? str(*e.context.source_ip) : Value{};
}
Value fn_newuuid(Eval& e, V, std::size_t) {
    return str(e.context.rng.uuid4());
}
Value fn_timestamp(Eval& e, V, std::size_t) {
    return Value::integer(e.context.now.unix_ms());
}
Value fn_sql_version(Eval& e, V, std::size_t) {
    return str(std::string(to_string(e.version)));
}

Value fn_topic(Eval& e, V a, std::size_t n) {
    std::string_view topic = e.message.topic;
    // A Basic Ingest message (`$aws/rules/<ruleName>/<topic>`) reports the topic without the
    // prefix (reference §3.7).
    if (topic.rfind("$aws/rules/", 0) == 0) {
        const std::size_t rule_end = topic.find('/', 11);
        topic =
            rule_end == std::string_view::npos ? std::string_view{} : topic.substr(rule_end + 1);
    }
    if (n == 0) {
        return str(std::string(topic));
    }
    const auto index = to_index(a[0]);
    if (!index || *index < 1) {
        return {};
    }
    std::int64_t level = 1;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = topic.find('/', start);
        if (level == *index) {
            return str(std::string(topic.substr(
                start, slash == std::string_view::npos ? std::string_view::npos : slash - start)));
        }
        if (slash == std::string_view::npos) {
            return {};
        }
        start = slash + 1;
        ++level;
    }
}

Value fn_get_mqtt_property(Eval& e, V a, std::size_t) {
    if (a[0].type() != ValueType::String) {
        return {};
    }
    const std::string& name = a[0].as_string();
    const Message& m = e.message;
    if (name == "content_type" && m.content_type) {
        return str(*m.content_type);
    }
    if (name == "response_topic" && m.response_topic) {
        return str(*m.response_topic);
    }
    if (name == "correlation_data" && m.correlation_data) {
        return str(base64_encode(*m.correlation_data));
    }
    if (name == "format_indicator" && m.payload_format_utf8) {
        return str(*m.payload_format_utf8 ? "UTF8_DATA" : "UNSPECIFIED_BYTES");
    }
    return {};
}

Value fn_get_user_properties(Eval& e, V a, std::size_t n) {
    Array out;
    if (n == 0) {
        for (const auto& [k, v] : e.message.user_properties) {
            out.push_back(Value::object(Object{{k, str(v)}}));
        }
    } else {
        if (a[0].type() != ValueType::String) {
            return {};
        }
        for (const auto& [k, v] : e.message.user_properties) {
            if (k == a[0].as_string()) {
                out.push_back(str(v));
            }
        }
    }
    if (out.empty()) {
        return {};  // AMBIG: no matching property gives Undefined
    }
    return Value::array(std::move(out));
}

// ---- time ---------------------------------------------------------------------------------

Value fn_parse_time(Eval&, V a, std::size_t n) {
    auto pattern = to_text(a[0]);
    const Value ms = to_int(a[1]);
    if (!pattern || ms.type() != ValueType::Int) {
        return {};
    }
    std::string zone = "UTC";
    if (n == 3) {
        auto z = to_text(a[2]);
        if (!z) {
            return {};
        }
        zone = *z;
    }
    auto out = format_time(*pattern, ms.as_int(), zone);
    return out ? str(std::move(*out)) : Value{};
}

Value fn_time_to_epoch(Eval&, V a, std::size_t) {
    auto text = to_text(a[0]);
    auto pattern = to_text(a[1]);
    if (!text || !pattern) {
        return {};
    }
    auto ms = parse_time_text(*text, *pattern);
    return ms ? Value::integer(*ms) : Value{};
}

// ---- external -----------------------------------------------------------------------------

Value fn_get_thing_shadow(Eval& e, V a, std::size_t n) {
    auto thing = to_text(a[0]);
    std::optional<std::string> shadow;
    if (n == 3) {
        shadow = to_text(a[1]);
        if (!shadow) {
            return {};
        }
    }
    auto role = to_text(a[n - 1]);
    if (!thing || !role) {
        return {};
    }
    if (!e.context.get_thing_shadow) {
        e.fail("get_thing_shadow is not available in this context");
        return {};
    }
    auto r = e.context.get_thing_shadow(
        *thing, shadow ? std::optional<std::string_view>(*shadow) : std::nullopt, *role);
    if (!r.ok()) {
        e.fail("get_thing_shadow failed: " + r.error().message);
        return {};
    }
    auto doc = parse_json(r.value(), e.version);
    if (!doc) {
        e.fail("get_thing_shadow returned a document that is not JSON");
        return {};
    }
    return *doc;
}

Value fn_aws_lambda(Eval& e, V a, std::size_t) {
    auto arn = to_text(a[0]);
    if (!arn || a[1].is_undefined()) {
        return {};
    }
    if (!e.context.aws_lambda) {
        e.fail("aws_lambda is not available in this context");
        return {};
    }
    const std::string input = to_json(a[1]);
    auto r = e.context.aws_lambda(*arn, input);
    if (!r.ok()) {
        e.fail("aws_lambda failed: " + r.error().message);
        return {};
    }
    auto doc = parse_json(r.value(), e.version);
    if (!doc) {
        e.fail("aws_lambda returned a result that is not JSON");
        return {};
    }
    return *doc;
}

// Functions that read AWS services iotsim does not emulate: they parse (so rules written for
// AWS load) and fail at evaluation, which AWS would also route to the errorAction.
Value fn_unsupported_external(Eval& e, V, std::size_t) {
    e.fail(
        "external function not supported by iotsim (get_dynamodb, get_secret, get_registry_data, "
        "machinelearning_predict)");
    return {};
}

constexpr int many = 1 << 20;

// Sorted by name for the binary search in find_function.
constexpr FunctionDef functions[] = {
    {"abs", 1, 1, v1, false, fn_abs},
    {"accountid", 0, 0, v1, false, fn_accountid},
    {"acos", 1, 1, v1, false, math1<acos_>},
    {"asin", 1, 1, v1, false, math1<asin_>},
    {"atan", 1, 1, v1, false, math1<atan_>},
    {"atan2", 2, 2, v1, false, fn_atan2},
    {"aws_lambda", 2, 2, v1, true, fn_aws_lambda},
    {"bitand", 2, 2, v1, false, bitwise<0>},
    {"bitnot", 1, 1, v1, false, fn_bitnot},
    {"bitor", 2, 2, v1, false, bitwise<1>},
    {"bitxor", 2, 2, v1, false, bitwise<2>},
    {"ceil", 1, 1, v1, false, round_to_int<ceil_>},
    {"chr", 1, 1, v1, false, fn_chr},
    {"clientid", 0, 0, v1, false, fn_clientid},
    {"concat", 0, many, v1, false, fn_concat},
    {"cos", 1, 1, v1, false, math1<cos_>},
    {"cosh", 1, 1, v1, false, math1<cosh_>},
    {"decode", 2, 2, v2, false, fn_decode},
    {"encode", 2, 2, v2, false, fn_encode},
    {"endswith", 2, 2, v1, false, fn_endswith},
    {"exp", 1, 1, v1, false, math1<exp_>},
    {"floor", 1, 1, v1, false, round_to_int<floor_>},
    {"get", 2, 2, v1, false, fn_get},
    {"get_dynamodb", 4, 6, v2, true, fn_unsupported_external},
    {"get_mqtt_property", 1, 1, v2, false, fn_get_mqtt_property},
    {"get_or_default", 2, 2, v2, false, fn_get_or_default},
    {"get_registry_data", 3, 3, v2, true, fn_unsupported_external},
    {"get_secret", 3, 4, v2, true, fn_unsupported_external},
    {"get_thing_shadow", 2, 3, v2, true, fn_get_thing_shadow},
    {"get_user_properties", 0, 1, v2, false, fn_get_user_properties},
    {"indexof", 2, 2, v2, false, fn_indexof},
    {"isnull", 1, 1, v1, false, fn_isnull},
    {"isundefined", 1, 1, v2, false, fn_isundefined},
    {"length", 1, 1, v2, false, fn_length},
    {"ln", 1, 1, v1, false, math1<ln_>},
    {"log", 1, 1, v1, false, math1<log10_>},
    {"lower", 1, 1, v1, false, change_case<false>},
    {"lpad", 2, 2, v1, false, pad<true>},
    {"ltrim", 1, 1, v1, false, trim<true, false>},
    {"machinelearning_predict", 3, 3, v1, true, fn_unsupported_external},
    {"md2", 1, 1, v1, false, hash<0>},
    {"md5", 1, 1, v1, false, hash<1>},
    {"mod", 2, 2, v1, false, fn_mod},
    {"nanvl", 2, 2, v1, false, fn_nanvl},
    {"newuuid", 0, 0, v1, false, fn_newuuid},
    {"numbytes", 1, 1, v2, false, fn_numbytes},
    {"parse_time", 2, 3, v2, false, fn_parse_time},
    {"power", 2, 2, v1, false, fn_power},
    {"principal", 0, 0, v1, false, fn_principal},
    {"rand", 0, 0, v1, false, fn_rand},
    {"regexp_matches", 2, 2, v1, false, fn_regexp_matches},
    {"regexp_replace", 3, 3, v1, false, fn_regexp_replace},
    {"regexp_substr", 2, 2, v1, false, fn_regexp_substr},
    {"remainder", 2, 2, v1, false, fn_mod},
    {"replace", 3, 3, v1, false, fn_replace},
    {"round", 1, 1, v1, false, round_to_int<round_>},
    {"rpad", 2, 2, v1, false, pad<false>},
    {"rtrim", 1, 1, v1, false, trim<false, true>},
    {"sha1", 1, 1, v1, false, hash<2>},
    {"sha224", 1, 1, v1, false, hash<3>},
    {"sha256", 1, 1, v1, false, hash<4>},
    {"sha384", 1, 1, v1, false, hash<5>},
    {"sha512", 1, 1, v1, false, hash<6>},
    {"sign", 1, 1, v1, false, fn_sign},
    {"sin", 1, 1, v1, false, math1<sin_>},
    {"sinh", 1, 1, v1, false, math1<sinh_>},
    {"sourceip", 0, 0, v1, false, fn_sourceip},
    {"sql_version", 0, 0, v1, false, fn_sql_version},
    {"sqrt", 1, 1, v1, false, math1<sqrt_>},
    {"startswith", 2, 2, v1, false, fn_startswith},
    {"substring", 2, 3, v1, false, fn_substring},
    {"tan", 1, 1, v1, false, math1<tan_>},
    {"tanh", 1, 1, v1, false, math1<tanh_>},
    {"time_to_epoch", 2, 2, v2, false, fn_time_to_epoch},
    {"timestamp", 0, 0, v1, false, fn_timestamp},
    {"topic", 0, 1, v1, false, fn_topic},
    {"traceid", 0, 0, v1, false, fn_traceid},
    {"transform", 3, 3, v2, false, fn_transform},
    {"trim", 1, 1, v1, false, trim<true, true>},
    {"trunc", 2, 2, v1, false, fn_trunc},
    {"upper", 1, 1, v1, false, change_case<true>},
};

}  // namespace

// AMBIG: AWS spells some names in camel case (isNull, isUndefined); iotsim matches function
// names case-insensitively, as it does keywords.
const FunctionDef* find_function(std::string_view name) {
    if (name.size() > 32) {
        return nullptr;
    }
    char lower[32];
    for (std::size_t i = 0; i < name.size(); ++i) {
        lower[i] = ascii_lower(name[i]);
    }
    const std::string_view key(lower, name.size());
    const auto* it =
        std::lower_bound(std::begin(functions), std::end(functions), key,
                         [](const FunctionDef& f, std::string_view k) { return f.name < k; });
    if (it != std::end(functions) && it->name == key) {
        return it;
    }
    return nullptr;
}

}  // namespace iotsim::rules::detail
