#pragma once

#include <memory>
#include <string>

#include "iotsim/sim/simulation.hpp"

namespace iotsim::sim {

/// The built-in shadow-synced device (the interactive tutorial's lamp): it keeps an actuator
/// state, applies every delta the Device Shadow service sends, and reports what it now is.
///
/// On every connection it subscribes (QoS 1) to its shadow's /update/delta and /get/accepted,
/// reports its actual state (`{"state":{"reported": state}}`), then asks for the document
/// (/get) so that a delta set while it was away is applied even without a persistent session.
/// A delta (from /update/delta, or the `state.delta` of /get/accepted) is merged into the actual
/// state (objects merge, null removes, anything else replaces) and reported back, unless its
/// version is not newer than the last one applied (AWS's advice: deltas may arrive out of order
/// or twice). The actual state is volatile: a crash or power loss resets it to `reported`.
struct ShadowSyncOptions {
    std::string thing;        // "" = the device's name
    std::string shadow_name;  // "" = the classic shadow
    std::string reported = "{}";  // JSON object: the state at power-on
};

/// A behaviour for DeviceSpec::hooks. One object may serve a whole fleet: state is per device.
[[nodiscard]] std::shared_ptr<DeviceHooks> make_shadow_sync(ShadowSyncOptions options);

}  // namespace iotsim::sim
