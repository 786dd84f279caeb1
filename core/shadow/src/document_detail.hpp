#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "iotsim/shadow/service.hpp"
#include "text_writer.hpp"

namespace iotsim::shadow::detail {

/// std::string's order (unsigned bytes, then length), compared inline. Object keys are short,
/// and a lookup in a json::object_t (std::map<std::string, json, std::less<>>) compares at every
/// node it visits: std::string::compare pays a call to memcmp each time, which profiles showed
/// as the largest single cost of the merge and of the delta.
[[nodiscard, gnu::always_inline]] inline int compare_keys(std::string_view a, std::string_view b) {
    const std::size_t n = a.size() < b.size() ? a.size() : b.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (a[i] != b[i]) {
            return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]) ? -1 : 1;
        }
    }
    return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

[[nodiscard, gnu::always_inline]] inline bool key_less(std::string_view a, std::string_view b) {
    return compare_keys(a, b) < 0;
}

[[nodiscard, gnu::always_inline]] inline bool key_equal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && compare_keys(a, b) == 0;
}

/// A key to look up in a json::object_t with compare_keys: its std::less<> finds these operators
/// (`object.find(KeyRef{key})`, `object.lower_bound(KeyRef{key})`).
struct KeyRef {
    std::string_view text;
};

[[nodiscard, gnu::always_inline]] inline bool operator<(const std::string& a, KeyRef b) {
    return key_less(a, b.text);
}

[[nodiscard, gnu::always_inline]] inline bool operator<(KeyRef a, const std::string& b) {
    return key_less(a.text, b);
}

/// The member `key` of `object`, or nullptr.
[[nodiscard]] inline const nlohmann::json* find_member(const nlohmann::json::object_t& object,
                                                       std::string_view key) {
    const auto it = object.find(KeyRef{key});
    return it == object.end() ? nullptr : &it->second;
}

/// The delta of one desired value against the reported value at the same path (the recursion of
/// compute_delta): nullopt when they agree.
[[nodiscard]] std::optional<nlohmann::json> delta_of(const nlohmann::json& desired,
                                                     const nlohmann::json& reported);

/// apply_state_update, recording what it changed in `trace` (when not null).
void apply_state_update(nlohmann::json& state, nlohmann::json& metadata,
                        const nlohmann::json& request_state, std::int64_t timestamp_s,
                        UpdateTrace* trace);

/// Writes to_payload(stamp_metadata(value, t)), where `leaf` is to_payload of a leaf's metadata
/// (`{"timestamp":t}`).
void write_stamp(TextWriter& out, const nlohmann::json& value, std::string_view leaf);

/// How write_payload writes a double: nlohmann's shortest round-trip form (Grisu2), the bytes
/// dump() writes; non-finite numbers (never parsed from JSON) as null, as there. The text lives
/// in `buffer`.
[[nodiscard]] std::string_view format_double(std::array<char, 64>& buffer, double number);

/// Destroys what `value` holds, leaving it null: the destructor's work, children first, without
/// the heap-allocated stack nlohmann's destructor builds for every non-empty object or array (a
/// malloc per request tree). Recursive: for trees whose depth a parse bound limits.
void dispose(nlohmann::json& value);

}  // namespace iotsim::shadow::detail
