#pragma once

// parse_time() and time_to_epoch(): Joda-Time / java.time pattern subsets on epoch milliseconds.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iotsim::rules::detail {

/// Formats `epoch_ms` in `zone` with a Joda-Time pattern. Supported letters: y u Y (year), M (1-2
/// digits, MMM short name, MMMM full name), d, D, E (EEE/EEEE), H, k, h, K, m, s, S (fraction),
/// a, Z (Z +0000, ZZ +00:00, ZZZ zone id), z, X; text in single quotes. Zones: UTC, GMT, Z and
/// fixed offsets (+05:30, -0800). AMBIG: iotsim carries no time-zone database, so region names
/// (America/Los_Angeles) give nullopt (Undefined), as do unknown letters.
[[nodiscard]] std::optional<std::string> format_time(std::string_view pattern,
                                                     std::int64_t epoch_ms, std::string_view zone);

/// Parses `text` with the same pattern letters into epoch milliseconds; a text without a zone is
/// UTC (reference §3.7). nullopt when the text does not match the pattern exactly.
[[nodiscard]] std::optional<std::int64_t> parse_time_text(std::string_view text,
                                                          std::string_view pattern);

}  // namespace iotsim::rules::detail
