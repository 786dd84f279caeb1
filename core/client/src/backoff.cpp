#include "iotsim/client/backoff.hpp"

#include <algorithm>

namespace iotsim::client {

Duration backoff_delay(const Backoff& backoff, std::uint32_t attempt, Rng& rng) {
    const Duration::rep initial = std::max<Duration::rep>(backoff.initial.count(), 0);
    const Duration::rep max = std::max<Duration::rep>(backoff.max.count(), 0);
    // Double until the cap is reached; stopping early keeps the shift from overflowing however
    // many attempts a device that is refused for days accumulates.
    Duration::rep cap = std::min(initial, max);
    for (std::uint32_t i = 0; i < attempt && cap < max; ++i) {
        cap = cap > max / 2 ? max : cap * 2;
    }
    if (cap <= 0) {
        return Duration::zero();
    }
    // Full jitter: uniform over [0, cap], both ends included.
    const auto draw = rng.uniform(static_cast<std::uint64_t>(cap) + 1);
    return Duration(static_cast<Duration::rep>(draw));
}

}  // namespace iotsim::client
