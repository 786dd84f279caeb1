#pragma once

#include <cstdint>

#include "iotsim/common/rng.hpp"
#include "iotsim/common/time.hpp"

namespace iotsim::client {

/// Reconnect back-off, AWS SDK style: exponential (x2 per failed attempt) with "full jitter"
/// (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/), so that a fleet
/// knocked offline together does not come back in lock-step.
struct Backoff {
    /// Cap of the first retry's delay; the cap doubles with every failed attempt.
    Duration initial = seconds(1);
    /// Largest cap; delays are uniform in [0, max] once the doubling reaches it.
    Duration max = seconds(60);
};

/// The delay before retry number `attempt` (0 for the first retry after a success): uniform in
/// [0, min(max, initial * 2^attempt)], in whole nanoseconds, drawn from `rng` (one draw).
/// Deterministic for a given Rng state. Never negative; zero when `initial` or `max` is zero.
/// Thread safety: none beyond that of `rng`.
[[nodiscard]] Duration backoff_delay(const Backoff& backoff, std::uint32_t attempt, Rng& rng);

}  // namespace iotsim::client
