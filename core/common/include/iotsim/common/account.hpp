#pragma once

#include <string_view>

namespace iotsim {

/// The one AWS account and region every iotsim service speaks for: ARNs of things, certificates,
/// policies and rules, the rules engine's accountid(), lifecycle events. AWS's documentation
/// uses 123456789012 in its examples, so students' policies copied from it match.
inline constexpr std::string_view default_account_id = "123456789012";
inline constexpr std::string_view default_region = "us-east-1";

}  // namespace iotsim
