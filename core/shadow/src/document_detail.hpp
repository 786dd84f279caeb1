#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "iotsim/shadow/service.hpp"
#include "text_writer.hpp"

namespace iotsim::shadow::detail {

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

}  // namespace iotsim::shadow::detail
