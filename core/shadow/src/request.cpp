#include "request.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <system_error>
#include <utility>

#include "iotsim/common/assert.hpp"
#include "iotsim/shadow/document.hpp"
#include "document_detail.hpp"

namespace iotsim::shadow::detail {

using nlohmann::json;

namespace {

constexpr std::string_view client_token_key = "clientToken";
constexpr std::string_view state_key = "state";

// A parser for the JSON that shadow requests are made of, building the very tree nlohmann's
// json::parse builds, several times faster. It accepts a strict subset of JSON and gives up
// (nullopt) on anything outside it, which json::parse then decides: strings of printable ASCII
// without escapes, numbers of at most 18 integer digits or that std::from_chars reads exactly,
// true/false/null, no byte order mark. Within the subset every choice is json::parse's: positive
// integers are unsigned and negative ones signed, other numbers are doubles (correctly rounded,
// as strtod), a repeated key keeps its last value, whitespace is space, tab, CR and LF, and
// nothing may follow the value but whitespace. It gives up too beyond `depth_max` levels of
// nesting, so that its recursion is bounded, and whatever it accepts is ASCII nested at most
// `depth_max` deep: what is_valid_utf8 and raw_nesting_depth would have let through.
class FastParser {
public:
    FastParser(std::string_view text, std::size_t depth_max)
        : p_(text.data()),
          end_(text.data() + text.size()),
          depth_left_(depth_max),
          depth_max_(depth_max) {}

    /// After a successful parse(): the text of the root object's "state" member (its last
    /// occurrence, the one the tree keeps) when that text is exactly what to_payload writes for
    /// the value (no whitespace, keys in order and unique, numbers as written back), so that the
    /// caller can echo it without serialising the value again. Empty otherwise.
    [[nodiscard]] std::string_view canonical_state() const { return canonical_state_; }

    std::optional<json> parse() {
        json value;
        if (!parse_value(value)) {
            return std::nullopt;
        }
        skip_whitespace();
        if (p_ != end_) {
            return std::nullopt;
        }
        return value;
    }

private:
    void skip_whitespace() {
        const char* start = p_;
        while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) {
            ++p_;
        }
        if (p_ != start) {
            rewritten_ = true;
        }
    }

    bool parse_value(json& out) {
        skip_whitespace();
        if (p_ == end_) {
            return false;
        }
        switch (*p_) {
            case '{':
                return parse_object(out);
            case '[':
                return parse_array(out);
            case '"': {
                std::string_view text;
                if (!parse_string(text)) {
                    return false;
                }
                out = std::string(text);
                return true;
            }
            case 't':
                return literal("true", json(true), out);
            case 'f':
                return literal("false", json(false), out);
            case 'n':
                return literal("null", json(nullptr), out);
            default:
                return parse_number(out);
        }
    }

    bool literal(std::string_view word, json value, json& out) {
        if (static_cast<std::size_t>(end_ - p_) < word.size() ||
            std::string_view(p_, word.size()) != word) {
            return false;
        }
        p_ += word.size();
        out = std::move(value);
        return true;
    }

    // At '"': the characters up to the closing quote, if all are printable ASCII other than the
    // backslash.
    bool parse_string(std::string_view& text) {
        const char* begin = ++p_;
        while (p_ != end_) {
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                text = std::string_view(begin, static_cast<std::size_t>(p_ - begin));
                ++p_;
                return true;
            }
            if (c < 0x20U || c >= 0x7FU || c == '\\') {
                return false;
            }
            ++p_;
        }
        return false;
    }

    bool parse_object(json& out) {
        if (depth_left_ == 0) {
            return false;
        }
        const bool root = depth_left_ == depth_max_;
        const Nest nest(depth_left_);
        ++p_;  // '{'
        out = json::object();
        json::object_t& object = out.get_ref<json::object_t&>();
        skip_whitespace();
        if (p_ != end_ && *p_ == '}') {
            ++p_;
            return true;
        }
        while (true) {
            skip_whitespace();
            std::string_view key;
            if (p_ == end_ || *p_ != '"' || !parse_string(key)) {
                return false;
            }
            skip_whitespace();
            if (p_ == end_ || *p_ != ':') {
                return false;
            }
            ++p_;
            json value;
            if (root && key == state_key) {
                // The member's text, and whether to_payload would write it back unchanged.
                skip_whitespace();
                const bool rewritten_before = rewritten_;
                rewritten_ = false;
                const char* begin = p_;
                if (!parse_value(value)) {
                    return false;
                }
                canonical_state_ =
                    rewritten_ ? std::string_view{}
                               : std::string_view(begin, static_cast<std::size_t>(p_ - begin));
                rewritten_ = rewritten_ || rewritten_before;
            } else if (!parse_value(value)) {
                return false;
            }
            if (object.empty() || object.rbegin()->first < key) {
                object.emplace_hint(object.end(), key, std::move(value));  // in order: goes last
            } else {
                rewritten_ = true;  // out of order or repeated: written back sorted, once
                object.insert_or_assign(std::string(key), std::move(value));  // the last one wins
            }
            skip_whitespace();
            if (p_ == end_) {
                return false;
            }
            if (*p_ == ',') {
                ++p_;
                continue;
            }
            if (*p_ == '}') {
                ++p_;
                return true;
            }
            return false;
        }
    }

    bool parse_array(json& out) {
        if (depth_left_ == 0) {
            return false;
        }
        const Nest nest(depth_left_);
        ++p_;  // '['
        out = json::array();
        json::array_t& array = out.get_ref<json::array_t&>();
        skip_whitespace();
        if (p_ != end_ && *p_ == ']') {
            ++p_;
            return true;
        }
        while (true) {
            json value;
            if (!parse_value(value)) {
                return false;
            }
            array.push_back(std::move(value));
            skip_whitespace();
            if (p_ == end_) {
                return false;
            }
            if (*p_ == ',') {
                ++p_;
                continue;
            }
            if (*p_ == ']') {
                ++p_;
                return true;
            }
            return false;
        }
    }

    static bool is_digit(char c) { return c >= '0' && c <= '9'; }

    // JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    bool parse_number(json& out) {
        const char* begin = p_;
        const bool negative = *p_ == '-';
        if (negative) {
            ++p_;
        }
        if (p_ == end_ || !is_digit(*p_)) {
            return false;
        }
        if (*p_ == '0') {
            ++p_;
        } else {
            while (p_ != end_ && is_digit(*p_)) {
                ++p_;
            }
        }
        const char* integer_end = p_;
        bool integer = true;
        if (p_ != end_ && *p_ == '.') {
            integer = false;
            ++p_;
            if (p_ == end_ || !is_digit(*p_)) {
                return false;
            }
            while (p_ != end_ && is_digit(*p_)) {
                ++p_;
            }
        }
        if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
            integer = false;
            ++p_;
            if (p_ != end_ && (*p_ == '+' || *p_ == '-')) {
                ++p_;
            }
            if (p_ == end_ || !is_digit(*p_)) {
                return false;
            }
            while (p_ != end_ && is_digit(*p_)) {
                ++p_;
            }
        }
        if (integer) {
            // At most 18 digits: no overflow in either type (json::parse turns larger ones into
            // doubles; they are its to parse).
            const char* digits = negative ? begin + 1 : begin;
            if (integer_end - digits > 18) {
                return false;
            }
            std::uint64_t magnitude = 0;
            for (const char* d = digits; d != integer_end; ++d) {
                magnitude = magnitude * 10U + static_cast<std::uint64_t>(*d - '0');
            }
            if (negative) {
                if (magnitude == 0) {
                    rewritten_ = true;  // -0 is written back as 0
                }
                out = -static_cast<std::int64_t>(magnitude);
            } else {
                out = magnitude;
            }
            return true;
        }
        double value = 0;
        const auto result = std::from_chars(begin, p_, value);
        if (result.ec != std::errc{} || result.ptr != p_) {
            return false;
        }
        if (!rewritten_) {  // written back as write_payload writes it?
            std::array<char, 64> buffer{};
            rewritten_ = format_double(buffer, value) !=
                         std::string_view(begin, static_cast<std::size_t>(p_ - begin));
        }
        out = value;
        return true;
    }

    // One more level of nesting for as long as it lives.
    class Nest {
    public:
        explicit Nest(std::size_t& left) : left_(left) { --left_; }
        Nest(const Nest&) = delete;
        Nest& operator=(const Nest&) = delete;
        ~Nest() { ++left_; }

    private:
        std::size_t& left_;
    };

    const char* p_;
    const char* end_;
    std::size_t depth_left_;
    std::size_t depth_max_;
    bool rewritten_ = false;  // something since the last reset is not written back as it is
    std::string_view canonical_state_;
};

// Parses `payload` when it may be parsed at all: within the size limit, UTF-8, and not nested
// beyond the parse bound (so no recursive pass over the tree can run deep). A discarded value
// means the payload was not JSON.
// With `canonical_state`, also FastParser::canonical_state() (empty when FastParser gave up).
Result<json, ShadowError> parse_bounded(std::string_view payload, const ShadowLimits& limits,
                                        std::string_view* canonical_state = nullptr) {
    if (payload.size() > limits.payload_bytes_max) {
        return errors::payload_too_large();
    }
    // What FastParser accepts passes the next two checks: they are for the rest.
    FastParser parser(payload, limits.parse_depth_max);
    if (auto parsed = parser.parse()) {
        if (canonical_state != nullptr) {
            *canonical_state = parser.canonical_state();
        }
        return std::move(*parsed);
    }
    if (!is_valid_utf8(payload)) {
        return errors::unsupported_encoding();
    }
    if (raw_nesting_depth(payload, limits.parse_depth_max) > limits.parse_depth_max) {
        return errors::too_deep(limits.depth_max);
    }
    return json::parse(payload, nullptr, /*allow_exceptions=*/false);
}

struct ClientToken {
    std::optional<std::string> value;  // a valid token, to echo
    bool invalid = false;              // present but not a string of at most the limit
};

ClientToken read_client_token(const json& root, const ShadowLimits& limits) {
    ClientToken token;
    const auto it = root.find(client_token_key);
    if (it == root.end()) {
        return token;
    }
    if (it->is_string() &&
        it->get_ref<const std::string&>().size() <= limits.client_token_bytes_max) {
        token.value = it->get<std::string>();
    } else {
        token.invalid = true;
    }
    return token;
}

// What the validation needs of a section: section_depth() and has_null_in_array().
struct Shape {
    std::size_t depth = 0;
    bool null_in_array = false;
};

Shape shape_of(const json& value, bool inside_array) {
    if (value.is_null()) {
        return Shape{0, inside_array};
    }
    if (!value.is_structured() || value.empty()) {
        return Shape{};
    }
    const bool in_array = inside_array || value.is_array();
    Shape shape;
    for (const json& child : value) {
        const Shape below = shape_of(child, in_array);
        shape.depth = std::max(shape.depth, below.depth);
        shape.null_in_array = shape.null_in_array || below.null_in_array;
    }
    ++shape.depth;
    return shape;
}

// `version` must be a non-negative integer; null counts as absent (AWS-authored Greengrass code
// treats it so). Floating numbers, strings and negatives are "Invalid version".
Result<std::optional<std::int64_t>, ShadowError> read_version(const json& root) {
    const auto it = root.find("version");
    if (it == root.end() || it->is_null()) {
        return std::optional<std::int64_t>{};
    }
    if (it->is_number_unsigned()) {
        const auto value = it->get<std::uint64_t>();
        if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return errors::invalid_version();
        }
        return std::optional<std::int64_t>{static_cast<std::int64_t>(value)};
    }
    if (it->is_number_integer() && it->get<std::int64_t>() >= 0) {
        return std::optional<std::int64_t>{it->get<std::int64_t>()};
    }
    return errors::invalid_version();
}

}  // namespace

Result<UpdateRequest, RequestError> parse_update_request(std::string_view payload,
                                                         const ShadowLimits& limits) {
    std::string_view canonical_state;
    auto parsed = parse_bounded(payload, limits, &canonical_state);
    if (!parsed) {
        return RequestError{parsed.error(), std::nullopt};
    }
    json& root = parsed.value();
    // An empty body is not JSON either: AWS's table has no other message for it.
    if (root.is_discarded() || !root.is_object()) {
        return RequestError{errors::invalid_json(), std::nullopt};
    }
    ClientToken token = read_client_token(root, limits);
    const auto fail = [&token](ShadowError error) {
        return RequestError{std::move(error), token.value};
    };

    const auto state = root.find("state");
    if (state == root.end()) {
        return fail(errors::missing_state());
    }
    if (!state->is_null()) {
        if (!state->is_object()) {
            return fail(errors::state_not_object());
        }
        const json* desired = nullptr;
        const json* reported = nullptr;
        for (const auto& [key, value] : state->get_ref<const json::object_t&>()) {
            if (key == desired_key) {
                desired = &value;
            } else if (key == reported_key) {
                reported = &value;
            } else {
                return fail(errors::invalid_state_node());
            }
        }
        if (desired != nullptr && !desired->is_object() && !desired->is_null()) {
            return fail(errors::desired_not_object());
        }
        if (reported != nullptr && !reported->is_object() && !reported->is_null()) {
            return fail(errors::reported_not_object());
        }
        // AWS: "Arrays can't have null values". AWS names no message; the request is not a valid
        // state document, so iotsim answers with the generic one. Then the depth, section by
        // section (has_null_in_array and section_depth, in one pass).
        const Shape desired_shape = desired != nullptr ? shape_of(*desired, false) : Shape{};
        const Shape reported_shape = reported != nullptr ? shape_of(*reported, false) : Shape{};
        if (desired_shape.null_in_array || reported_shape.null_in_array) {
            return fail(errors::invalid_json());
        }
        if (desired_shape.depth > limits.depth_max || reported_shape.depth > limits.depth_max) {
            return fail(errors::too_deep(limits.depth_max));
        }
    }
    if (token.invalid) {
        return fail(errors::invalid_client_token());
    }
    auto version = read_version(root);
    if (!version) {
        return fail(version.error());
    }
    // The request alone may already be too large, whatever it merges into (§2.8). Nulls count
    // here: they are part of what was sent. The text is kept: /update/accepted echoes it.
    // The request's own text when it is already what to_payload writes (the usual case: SDKs send
    // compact JSON), else the value serialised.
    std::string state_text =
        canonical_state.empty() ? to_payload(*state) : std::string(canonical_state);
#ifndef NDEBUG
    IOTSIM_ASSERT(state_text == to_payload(*state));
#endif
    if (state_text.size() > limits.state_bytes_max) {
        return fail(errors::payload_too_large());
    }
    UpdateRequest request{std::move(*state), std::move(state_text), version.value(),
                          std::move(token.value)};
    dispose(root);
    return request;
}

Result<std::optional<std::string>, RequestError> parse_client_token(std::string_view payload,
                                                                    const ShadowLimits& limits) {
    if (payload.empty()) {
        return std::optional<std::string>{};
    }
    auto parsed = parse_bounded(payload, limits);
    if (!parsed || parsed.value().is_discarded() || !parsed.value().is_object()) {
        return std::optional<std::string>{};
    }
    ClientToken token = read_client_token(parsed.value(), limits);
    if (token.invalid) {
        return RequestError{errors::invalid_client_token(), std::nullopt};
    }
    return std::move(token.value);
}

}  // namespace iotsim::shadow::detail
