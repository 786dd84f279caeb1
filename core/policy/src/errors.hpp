#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/policy/error.hpp"

namespace iotsim::policy::detail {

/// AWS's observed MalformedPolicyException texts and iotsim's two additions (see error.hpp).
[[nodiscard]] PolicyError invalid_json(std::string detail, std::size_t line, std::size_t column);
[[nodiscard]] PolicyError invalid_syntax(std::string detail, std::string path);
[[nodiscard]] PolicyError invalid_resources(const std::vector<std::string>& resources,
                                            std::string path);
[[nodiscard]] PolicyError too_large(std::size_t count, std::size_t limit, bool bytes);
[[nodiscard]] PolicyError unsupported_operator(std::string_view op, std::string path);

}  // namespace iotsim::policy::detail
