// Values, and the JSON reader and writer the engine uses on the hot path. A purpose-built reader
// (rather than nlohmann::json) builds Values directly: one pass, no intermediate document.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "convert.hpp"
#include "iotsim/rules/value.hpp"

namespace iotsim::rules {

const Value* Value::find(std::string_view key) const {
    if (type() != ValueType::Object) {
        return nullptr;
    }
    const Object& o = as_object();
    // Searched from the back so that, as in most JSON readers, the last of duplicate keys wins.
    for (auto it = o.rbegin(); it != o.rend(); ++it) {
        if (it->first == key) {
            return &it->second;
        }
    }
    return nullptr;
}

Value Value::member(std::string_view key) const {
    const Value* v = find(key);
    return v != nullptr ? *v : Value{};
}

bool Value::equals(const Value& other) const {
    const ValueType a = type();
    const ValueType b = other.type();
    if (a == ValueType::Undefined || b == ValueType::Undefined) {
        return false;
    }
    if (is_number() && other.is_number()) {
        if (a == ValueType::Int && b == ValueType::Int) {
            return as_int() == other.as_int();
        }
        return as_number() == other.as_number();
    }
    if (a != b) {
        return false;
    }
    switch (a) {
        case ValueType::Null: return true;
        case ValueType::Boolean: return as_bool() == other.as_bool();
        case ValueType::String: return as_string() == other.as_string();
        case ValueType::Binary: return as_binary() == other.as_binary();
        case ValueType::Array: {
            const Array& x = as_array();
            const Array& y = other.as_array();
            if (x.size() != y.size()) {
                return false;
            }
            for (std::size_t i = 0; i < x.size(); ++i) {
                if (!x[i].equals(y[i])) {
                    return false;
                }
            }
            return true;
        }
        case ValueType::Object: {
            const Object& x = as_object();
            const Object& y = other.as_object();
            if (x.size() != y.size()) {
                return false;
            }
            for (const auto& [k, v] : x) {
                const Value* w = other.find(k);
                if (w == nullptr || !v.equals(*w)) {
                    return false;
                }
            }
            return true;
        }
        default: return false;
    }
}

namespace {

class JsonReader {
public:
    JsonReader(std::string_view text, SqlVersion version,
               const std::vector<std::string>* keep = nullptr)
        : s_(text), version_(version), keep_(keep) {}

    std::optional<Value> document() {
        skip_ws();
        Value v;
        if (!value(v, 0)) {
            return std::nullopt;
        }
        skip_ws();
        if (i_ != s_.size()) {
            return std::nullopt;
        }
        return v;
    }

private:
    void skip_ws() {
        while (i_ < s_.size() &&
               (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
            ++i_;
        }
    }

    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) == word) {
            i_ += word.size();
            return true;
        }
        return false;
    }

    bool value(Value& out, int depth) {
        if (depth > json_depth_max || i_ >= s_.size()) {
            return false;
        }
        switch (s_[i_]) {
            case '{': return object(out, depth);
            case '[': return array(out, depth);
            case '"': {
                std::string str;
                if (!string(str)) {
                    return false;
                }
                out = Value::string(std::move(str));
                return true;
            }
            case 't': out = Value::boolean(true); return literal("true");
            case 'f': out = Value::boolean(false); return literal("false");
            case 'n': out = Value::null(); return literal("null");
            default: return number(out);
        }
    }

    bool object(Value& out, int depth) {
        ++i_;
        Object o;
        if (depth == 0 && keep_ != nullptr) {
            o.reserve(keep_->size());
        }
        skip_ws();
        if (i_ < s_.size() && s_[i_] == '}') {
            ++i_;
            out = Value::object(std::move(o));
            return true;
        }
        while (true) {
            skip_ws();
            if (i_ >= s_.size() || s_[i_] != '"') {
                return false;
            }
            std::string_view key;
            if (!key_text(key)) {
                return false;
            }
            skip_ws();
            if (i_ >= s_.size() || s_[i_] != ':') {
                return false;
            }
            ++i_;
            skip_ws();
            if (depth == 0 && keep_ != nullptr &&
                std::find(keep_->begin(), keep_->end(), key) == keep_->end()) {
                // A top-level member the statement never reads: validate it, build nothing.
                if (!skip(depth + 1)) {
                    return false;
                }
            } else {
                // Copied before parsing the value: an escaped key lives in scratch_, which nested
                // members reuse.
                std::string owned(key);
                Value v;
                if (!value(v, depth + 1)) {
                    return false;
                }
                o.emplace_back(std::move(owned), std::move(v));
            }
            skip_ws();
            if (i_ >= s_.size()) {
                return false;
            }
            if (s_[i_] == ',') {
                ++i_;
                continue;
            }
            if (s_[i_] == '}') {
                ++i_;
                out = Value::object(std::move(o));
                return true;
            }
            return false;
        }
    }

    bool array(Value& out, int depth) {
        ++i_;
        Array a;
        skip_ws();
        if (i_ < s_.size() && s_[i_] == ']') {
            ++i_;
            out = Value::array(std::move(a));
            return true;
        }
        while (true) {
            skip_ws();
            Value v;
            if (!value(v, depth + 1)) {
                return false;
            }
            a.push_back(std::move(v));
            skip_ws();
            if (i_ >= s_.size()) {
                return false;
            }
            if (s_[i_] == ',') {
                ++i_;
                continue;
            }
            if (s_[i_] == ']') {
                ++i_;
                out = Value::array(std::move(a));
                return true;
            }
            return false;
        }
    }

    // Validates one JSON value without building it.
    bool skip(int depth) {
        if (depth > json_depth_max || i_ >= s_.size()) {
            return false;
        }
        switch (s_[i_]) {
            case '{': {
                ++i_;
                skip_ws();
                if (i_ < s_.size() && s_[i_] == '}') {
                    ++i_;
                    return true;
                }
                while (true) {
                    skip_ws();
                    if (i_ >= s_.size() || s_[i_] != '"') {
                        return false;
                    }
                    std::string_view ignored;
                    if (!key_text(ignored)) {
                        return false;
                    }
                    skip_ws();
                    if (i_ >= s_.size() || s_[i_] != ':') {
                        return false;
                    }
                    ++i_;
                    skip_ws();
                    if (!skip(depth + 1)) {
                        return false;
                    }
                    skip_ws();
                    if (i_ >= s_.size()) {
                        return false;
                    }
                    if (s_[i_] == ',') {
                        ++i_;
                        continue;
                    }
                    if (s_[i_] == '}') {
                        ++i_;
                        return true;
                    }
                    return false;
                }
            }
            case '[': {
                ++i_;
                skip_ws();
                if (i_ < s_.size() && s_[i_] == ']') {
                    ++i_;
                    return true;
                }
                while (true) {
                    skip_ws();
                    if (!skip(depth + 1)) {
                        return false;
                    }
                    skip_ws();
                    if (i_ >= s_.size()) {
                        return false;
                    }
                    if (s_[i_] == ',') {
                        ++i_;
                        continue;
                    }
                    if (s_[i_] == ']') {
                        ++i_;
                        return true;
                    }
                    return false;
                }
            }
            case '"': {
                std::string_view ignored;
                return key_text(ignored);
            }
            case 't': return literal("true");
            case 'f': return literal("false");
            case 'n': return literal("null");
            default: return number_syntax();
        }
    }

    // A string as a view of the input when it has no escapes (the common case for keys), else
    // unescaped into scratch_ (valid until the next call).
    bool key_text(std::string_view& out) {
        const std::size_t start = i_ + 1;
        std::size_t j = start;
        while (j < s_.size() && s_[j] != '"' && s_[j] != '\\') {
            if (static_cast<unsigned char>(s_[j]) < 0x20) {
                return false;
            }
            ++j;
        }
        if (j < s_.size() && s_[j] == '"') {
            out = s_.substr(start, j - start);
            i_ = j + 1;
            return true;
        }
        scratch_.clear();
        if (!string(scratch_)) {
            return false;
        }
        out = scratch_;
        return true;
    }

    bool number_syntax() {
        const std::size_t start = i_;
        if (i_ < s_.size() && s_[i_] == '-') {
            ++i_;
        }
        const auto digits = [&]() {
            const std::size_t d = i_;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
                ++i_;
            }
            return i_ > d;
        };
        if (i_ < s_.size() && s_[i_] == '0') {
            ++i_;
        } else if (!digits()) {
            return false;
        }
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            if (!digits()) {
                return false;
            }
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) {
                ++i_;
            }
            if (!digits()) {
                return false;
            }
        }
        return i_ > start;
    }

    bool hex4(std::uint32_t& cp) {
        if (i_ + 4 > s_.size()) {
            return false;
        }
        cp = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = s_[i_++];
            cp <<= 4;
            if (c >= '0' && c <= '9') {
                cp |= static_cast<std::uint32_t>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                cp |= static_cast<std::uint32_t>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                cp |= static_cast<std::uint32_t>(c - 'A' + 10);
            } else {
                return false;
            }
        }
        return true;
    }

    bool string(std::string& out) {
        ++i_;
        while (true) {
            // Copy the run up to the next quote or backslash in one go.
            const std::size_t start = i_;
            while (i_ < s_.size() && s_[i_] != '"' && s_[i_] != '\\') {
                if (static_cast<unsigned char>(s_[i_]) < 0x20) {
                    return false;
                }
                ++i_;
            }
            out.append(s_.data() + start, i_ - start);
            if (i_ >= s_.size()) {
                return false;
            }
            if (s_[i_] == '"') {
                ++i_;
                return true;
            }
            ++i_;  // backslash
            if (i_ >= s_.size()) {
                return false;
            }
            const char e = s_[i_++];
            switch (e) {
                case '"': out.push_back('"'); break;
                case '\\': out.push_back('\\'); break;
                case '/': out.push_back('/'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'n': out.push_back('\n'); break;
                case 'r': out.push_back('\r'); break;
                case 't': out.push_back('\t'); break;
                case 'u': {
                    std::uint32_t cp = 0;
                    if (!hex4(cp)) {
                        return false;
                    }
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        std::uint32_t lo = 0;
                        if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u') {
                            return false;
                        }
                        i_ += 2;
                        if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) {
                            return false;
                        }
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        return false;
                    }
                    detail::append_utf8(out, cp);
                    break;
                }
                default: return false;
            }
        }
    }

    bool number(Value& out) {
        const std::size_t start = i_;
        bool integral = true;
        if (i_ < s_.size() && s_[i_] == '-') {
            ++i_;
        }
        if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') {
            return false;
        }
        if (s_[i_] == '0') {
            ++i_;
        } else {
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
                ++i_;
            }
        }
        if (i_ < s_.size() && s_[i_] == '.') {
            integral = false;
            ++i_;
            const std::size_t d = i_;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
                ++i_;
            }
            if (i_ == d) {
                return false;
            }
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            integral = false;
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) {
                ++i_;
            }
            const std::size_t d = i_;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
                ++i_;
            }
            if (i_ == d) {
                return false;
            }
        }
        const char* first = s_.data() + start;
        const char* last = s_.data() + i_;
        if (integral) {
            std::int64_t v = 0;
            const auto [p, ec] = std::from_chars(first, last, v);
            if (ec == std::errc() && p == last) {
                out = Value::integer(v);
                return true;
            }
        }
        double d = 0;
        const auto [p, ec] = std::from_chars(first, last, d);
        if (ec == std::errc::result_out_of_range) {
            // Outside double's range: iotsim keeps the sign and saturates (AWS's BigDecimal would
            // not); an underflow reads as zero.
            const bool negative_exponent =
                std::string_view(first, static_cast<std::size_t>(last - first)).find("e-") !=
                    std::string_view::npos ||
                std::string_view(first, static_cast<std::size_t>(last - first)).find("E-") !=
                    std::string_view::npos;
            d = negative_exponent ? 0.0 : (*first == '-' ? -HUGE_VAL : HUGE_VAL);
        } else if (ec != std::errc() || p != last) {
            return false;
        }
        out = detail::normalize_decimal(d, version_);
        return true;
    }

    std::string_view s_;
    std::size_t i_ = 0;
    SqlVersion version_;
    const std::vector<std::string>* keep_;
    std::string scratch_;
};

// Length of the valid UTF-8 sequence at s[i] (a byte >= 0x80), or 0 if it is invalid.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = (c & 0xE0) == 0xC0   ? 2
                            : (c & 0xF0) == 0xE0 ? 3
                            : (c & 0xF8) == 0xF0 ? 4
                                                 : 0;
    if (len == 0 || i + len > s.size()) {
        return 0;
    }
    return detail::valid_utf8(s.substr(i, len)) ? len : 0;
}

void write_string(std::string_view s, std::string& out) {
    out.push_back('"');
    std::size_t start = 0;
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            ++i;
            continue;
        }
        if (c >= 0x80) {
            const std::size_t len = utf8_sequence(s, i);
            if (len != 0) {
                i += len;
                continue;
            }
            // Strings built from binary data or by byte-wise functions may hold invalid UTF-8;
            // JSON output must be UTF-8, so each invalid byte becomes U+FFFD.
            out.append(s.data() + start, i - start);
            out += "\xEF\xBF\xBD";
            start = ++i;
            continue;
        }
        out.append(s.data() + start, i - start);
        start = ++i;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default: {
                static constexpr char hex[] = "0123456789abcdef";
                out += "\\u00";
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 15]);
            }
        }
    }
    out.append(s.data() + start, s.size() - start);
    out.push_back('"');
}

}  // namespace

namespace detail {
std::string base64_encode(std::string_view bytes) {
    static constexpr char table[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                       (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
        out.push_back(table[(n >> 18) & 63]);
        out.push_back(table[(n >> 12) & 63]);
        out.push_back(table[(n >> 6) & 63]);
        out.push_back(table[n & 63]);
    }
    if (i < bytes.size()) {
        std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
        if (i + 1 < bytes.size()) {
            n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        }
        out.push_back(table[(n >> 18) & 63]);
        out.push_back(table[(n >> 12) & 63]);
        out.push_back(i + 1 < bytes.size() ? table[(n >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

}  // namespace detail

std::optional<Value> parse_json(std::string_view text, SqlVersion version) {
    if (!detail::valid_utf8(text)) {
        return std::nullopt;
    }
    return JsonReader(text, version).document();
}

namespace detail {

std::optional<Value> parse_json_object_members(std::string_view text, SqlVersion version,
                                               const std::vector<std::string>& keep) {
    if (!valid_utf8(text)) {
        return std::nullopt;
    }
    return JsonReader(text, version, &keep).document();
}

}  // namespace detail

void write_json(const Value& value, std::string& out) {
    switch (value.type()) {
        case ValueType::Undefined: return;
        case ValueType::Null: out += "null"; return;
        case ValueType::Boolean: out += value.as_bool() ? "true" : "false"; return;
        case ValueType::Int: detail::format_int(value.as_int(), out); return;
        case ValueType::Decimal: detail::format_decimal(value.as_decimal(), out); return;
        case ValueType::String: write_string(value.as_string(), out); return;
        // AMBIG: binary data inside a JSON document has no JSON form; iotsim writes it as a
        // base64 string (what AWS asks users to do with encode(*, 'base64')).
        case ValueType::Binary: write_string(detail::base64_encode(value.as_binary()), out); return;
        case ValueType::Array: {
            out.push_back('[');
            bool first = true;
            for (const Value& v : value.as_array()) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                if (v.is_undefined()) {
                    out += "null";
                } else {
                    write_json(v, out);
                }
            }
            out.push_back(']');
            return;
        }
        case ValueType::Object: {
            out.push_back('{');
            bool first = true;
            for (const auto& [k, v] : value.as_object()) {
                if (v.is_undefined()) {
                    continue;
                }
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                write_string(k, out);
                out.push_back(':');
                write_json(v, out);
            }
            out.push_back('}');
            return;
        }
    }
}

std::string to_json(const Value& value) {
    std::string out;
    write_json(value, out);
    return out;
}

}  // namespace iotsim::rules
