#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace iotsim::http {

/// Compact JSON that never throws: bytes that are not UTF-8 (a path, a topic) become U+FFFD
/// instead of making nlohmann::json::dump throw.
inline std::string json_text(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace iotsim::http
