#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

#include "iotsim/registry/registry.hpp"

namespace iotsim::registry {

/// The registry as the architecture diagram of a running server shows it (`GET /iotsim/world`),
/// at most `max` of each kind:
///
///   {"things": [{"thingName", "thingTypeName" (if typed), "attributes", "principals":
///                [certificate ARN...]}],                       by name
///    "certificates": [{"certificateId", "status"}],            oldest first
///    "policies": [{"policyName", "targets": [ARN...] (at most 100),
///                  "targetsTruncated": true (when more)}],     oldest first
///    "truncated": {"things", "certificates", "policies"}}      true: more than `max` exist
///
/// Reads only, and never walks a listing beyond `max` items.
[[nodiscard]] nlohmann::json describe_registry(const Registry& registry, std::size_t max = 1000);

}  // namespace iotsim::registry
