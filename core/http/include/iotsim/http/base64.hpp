#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace iotsim::http {

/// Standard base64 (RFC 4648 §4) with padding, as botocore and AWS use for blobs.
[[nodiscard]] std::string base64_encode(std::string_view bytes);

/// Decodes standard base64. Padding may be omitted; whitespace, the URL-safe alphabet and
/// misplaced padding are refused (nullopt).
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);

}  // namespace iotsim::http
