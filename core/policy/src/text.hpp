#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace iotsim::policy::detail {

[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;
[[nodiscard]] bool istarts_with(std::string_view text, std::string_view prefix) noexcept;
[[nodiscard]] bool iends_with(std::string_view text, std::string_view suffix) noexcept;

/// Appends `text` to `out` as a JSON string literal would show it (for messages).
void append_quoted(std::string& out, std::string_view text);

}  // namespace iotsim::policy::detail
