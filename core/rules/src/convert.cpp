#include "convert.hpp"

#include <charconv>
#include <cstring>
#include <cmath>
#include <limits>

namespace iotsim::rules::detail {

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    const std::size_t n = s.size();
    while (i < n) {
        // ASCII fast path, eight bytes at a time.
        if (i + 8 <= n) {
            std::uint64_t word = 0;
            std::memcpy(&word, s.data() + i, 8);
            if ((word & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (i + len > n) {
            return false;
        }
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (cc & 0x3Fu);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += len;
    }
    return true;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::size_t utf8_length(std::string_view s) {
    std::size_t count = 0;
    for (const char c : s) {
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
            ++count;
        }
    }
    return count;
}

std::size_t utf8_offset(std::string_view s, std::size_t index) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
            if (count == index) {
                return i;
            }
            ++count;
        }
    }
    return s.size();
}

Value normalize_decimal(double d, SqlVersion version) {
    if (version == SqlVersion::v2016_03_23 && std::isfinite(d) && d == std::floor(d) &&
        std::fabs(d) < 9.2e18) {
        return Value::integer(static_cast<std::int64_t>(d));
    }
    return Value::decimal(d);
}

void format_int(std::int64_t i, std::string& out) {
    char buf[24];
    const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, i);
    (void)ec;
    out.append(buf, p);
}

void format_decimal(double d, std::string& out) {
    if (!std::isfinite(d)) {
        out += "null";
        return;
    }
    // Java's Double.toString layout (AWS's engine is Java): plain notation for 1e-3 <= |d| < 1e7,
    // otherwise computerized scientific notation (`1.0E7`, `9.223372036854776E18`); both are JSON.
    const double a = std::fabs(d);
    char buf[40];
    if (a == 0 || (a >= 1e-3 && a < 1e7)) {
        const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
        (void)ec;
        const std::string_view text(buf, static_cast<std::size_t>(p - buf));
        out += text;
        if (text.find('.') == std::string_view::npos) {
            out += ".0";
        }
        return;
    }
    const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    (void)ec;
    const std::string_view text(buf, static_cast<std::size_t>(p - buf));
    const std::size_t e = text.find('e');
    const std::string_view mantissa = text.substr(0, e);
    out += mantissa;
    if (mantissa.find('.') == std::string_view::npos) {
        out += ".0";
    }
    out.push_back('E');
    std::string_view exponent = text.substr(e + 1);
    if (!exponent.empty() && exponent.front() == '+') {
        exponent.remove_prefix(1);
    }
    if (!exponent.empty() && exponent.front() == '-') {
        out.push_back('-');
        exponent.remove_prefix(1);
    }
    while (exponent.size() > 1 && exponent.front() == '0') {
        exponent.remove_prefix(1);
    }
    out += exponent;
}

std::optional<double> parse_decimal_text(std::string_view s) {
    std::size_t i = 0;
    const std::size_t n = s.size();
    const auto digits = [&]() {
        const std::size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            ++i;
        }
        return i > start;
    };
    if (i < n && s[i] == '-') {
        ++i;
    }
    if (!digits()) {
        return std::nullopt;
    }
    if (i < n && s[i] == '.') {
        ++i;
        if (!digits()) {
            return std::nullopt;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < n && s[i] == '-') {
            ++i;
        }
        if (!digits()) {
            return std::nullopt;
        }
    }
    if (i != n) {
        return std::nullopt;
    }
    double d = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + n, d);
    if (ec == std::errc::result_out_of_range) {
        // Beyond double range: AWS's BigDecimal would hold it; iotsim saturates (AMBIG).
        return s.find_first_of("eE") != std::string_view::npos &&
                       s.find("e-") != std::string_view::npos
                   ? 0.0
               : s.front() == '-' ? -std::numeric_limits<double>::infinity()
                                  : std::numeric_limits<double>::infinity();
    }
    if (ec != std::errc() || p != s.data() + n) {
        return std::nullopt;
    }
    return d;
}

Num to_num(const Value& v) {
    Num n;
    switch (v.type()) {
        case ValueType::Int:
            n.kind = Num::Kind::Int;
            n.i = v.as_int();
            break;
        case ValueType::Decimal:
            n.kind = Num::Kind::Dec;
            n.d = v.as_decimal();
            break;
        case ValueType::String:
            if (auto d = parse_decimal_text(v.as_string())) {
                n.kind = Num::Kind::Dec;
                n.d = *d;
            }
            break;
        default: break;
    }
    return n;
}

Value to_decimal(const Value& v) {
    switch (v.type()) {
        case ValueType::Int: return Value::decimal(static_cast<double>(v.as_int()));
        case ValueType::Decimal: return v;
        case ValueType::Null: return v;
        case ValueType::String:
            if (auto d = parse_decimal_text(v.as_string())) {
                return Value::decimal(*d);
            }
            return {};
        default: return {};
    }
}

namespace {
std::optional<std::int64_t> checked_int(double d) {
    if (!std::isfinite(d) || d >= 9.223372036854775807e18 || d < -9.223372036854775808e18) {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(d);
}
}  // namespace

Value to_int(const Value& v) {
    switch (v.type()) {
        case ValueType::Int: return v;
        case ValueType::Null: return v;
        case ValueType::Decimal:
            // Rounded to the nearest Int, halves up (Java's Math.round).
            if (auto i = checked_int(std::floor(v.as_decimal() + 0.5))) {
                return Value::integer(*i);
            }
            return {};
        case ValueType::String:
            if (auto d = parse_decimal_text(v.as_string())) {
                if (auto i = checked_int(std::trunc(*d))) {
                    return Value::integer(*i);
                }
            }
            return {};
        default: return {};
    }
}

Value to_bool(const Value& v) {
    if (v.type() == ValueType::Boolean) {
        return v;
    }
    if (v.type() == ValueType::String) {
        const std::string& s = v.as_string();
        if (s.size() == 4 && ascii_lower(s[0]) == 't' && ascii_lower(s[1]) == 'r' &&
            ascii_lower(s[2]) == 'u' && ascii_lower(s[3]) == 'e') {
            return Value::boolean(true);
        }
        if (s.size() == 5 && ascii_lower(s[0]) == 'f' && ascii_lower(s[1]) == 'a' &&
            ascii_lower(s[2]) == 'l' && ascii_lower(s[3]) == 's' && ascii_lower(s[4]) == 'e') {
            return Value::boolean(false);
        }
    }
    return {};
}

bool append_text(const Value& v, std::string& out) {
    switch (v.type()) {
        case ValueType::Undefined:
        case ValueType::Null: return false;
        case ValueType::Boolean: out += v.as_bool() ? "true" : "false"; return true;
        case ValueType::Int: format_int(v.as_int(), out); return true;
        case ValueType::Decimal: format_decimal(v.as_decimal(), out); return true;
        case ValueType::String: out += v.as_string(); return true;
        case ValueType::Binary: out += v.as_binary(); return true;
        case ValueType::Array:
        case ValueType::Object: write_json(v, out); return true;
    }
    return false;
}

std::optional<std::string> to_text(const Value& v) {
    std::string out;
    if (!append_text(v, out)) {
        return std::nullopt;
    }
    return out;
}

std::optional<std::int64_t> to_index(const Value& v) {
    const Value i = to_int(v);
    if (i.type() != ValueType::Int) {
        return std::nullopt;
    }
    return i.as_int();
}

}  // namespace iotsim::rules::detail

namespace iotsim::rules::detail {

std::optional<std::string> base64_decode(std::string_view text) {
    const auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') {
            return c - 'A';
        }
        if (c >= 'a' && c <= 'z') {
            return c - 'a' + 26;
        }
        if (c >= '0' && c <= '9') {
            return c - '0' + 52;
        }
        if (c == '+') {
            return 62;
        }
        if (c == '/') {
            return 63;
        }
        return -1;
    };
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = text[i + static_cast<std::size_t>(k)];
            if (c == '=' && last && k >= 2) {
                v[k] = 0;
                ++pad;
                continue;
            }
            if (pad > 0) {
                return std::nullopt;  // data after padding
            }
            v[k] = value(c);
            if (v[k] < 0) {
                return std::nullopt;
            }
        }
        const auto n = (static_cast<std::uint32_t>(v[0]) << 18) |
                       (static_cast<std::uint32_t>(v[1]) << 12) |
                       (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
        out.push_back(static_cast<char>((n >> 16) & 0xFF));
        if (pad < 2) {
            out.push_back(static_cast<char>((n >> 8) & 0xFF));
        }
        if (pad < 1) {
            out.push_back(static_cast<char>(n & 0xFF));
        }
    }
    return out;
}

}  // namespace iotsim::rules::detail
