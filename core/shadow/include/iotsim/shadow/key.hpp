#pragma once

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>

namespace iotsim::shadow {

/// AWS's length limits for the names that identify a shadow, in bytes (the patterns are ASCII).
inline constexpr std::size_t thing_name_bytes_max = 128;
inline constexpr std::size_t shadow_name_bytes_max = 64;

/// Identifies one shadow: a thing's classic (unnamed) shadow or one of its named shadows. A thing
/// may have both; each is an independent document with its own version.
struct ShadowKey {
    std::string thing_name;
    std::string shadow_name;  // "" = the classic shadow

    [[nodiscard]] bool classic() const { return shadow_name.empty(); }
    /// The name AWS quotes in "No shadow exists with name: '...'": the thing name for the
    /// classic shadow, the shadow name otherwise.
    [[nodiscard]] const std::string& display_name() const {
        return classic() ? thing_name : shadow_name;
    }

    friend auto operator<=>(const ShadowKey&, const ShadowKey&) = default;
};

/// Thing names: 1-128 bytes of `[a-zA-Z0-9:_-]` (reference §2.1, MODEL-DATA).
[[nodiscard]] bool is_valid_thing_name(std::string_view name);

/// Shadow names of named shadows: 1-64 bytes of `[$a-zA-Z0-9:_-]`; the `$` admits AWS-reserved
/// names such as `$package` (reference §2.1). The classic shadow has no name and is not passed
/// here.
[[nodiscard]] bool is_valid_shadow_name(std::string_view name);

}  // namespace iotsim::shadow
