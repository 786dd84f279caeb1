#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iotsim::http {

/// Decodes `%XX` escapes (RFC 3986 §2.1). `+` stays `+`: AWS's clients percent-encode every
/// reserved character (botocore sends `%2F`, `%20`, `%2B`), and in a path `+` is a literal.
/// Returns nullopt for a truncated or non-hex escape. The result may hold any byte; callers
/// validate what they need (UTF-8, no NUL).
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text);

/// One decoded `name=value` pair of a query string (`name` alone gives an empty value).
struct QueryParam {
    std::string name;
    std::string value;
};

/// Splits a raw query on `&` and `=` and decodes each part; empty pieces (`a=1&&b=2`) are
/// skipped. nullopt when any part has a bad escape.
[[nodiscard]] std::optional<std::vector<QueryParam>> parse_query(std::string_view query);

/// The value of the first parameter named `name` (case-sensitive, as AWS's are), or nullptr.
[[nodiscard]] const std::string* find_param(const std::vector<QueryParam>& params,
                                            std::string_view name);

}  // namespace iotsim::http
