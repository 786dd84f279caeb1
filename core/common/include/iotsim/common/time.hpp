#pragma once

#include <chrono>
#include <cstdint>

namespace iotsim {

/// A span of time in integer nanoseconds. Never a double: the simulator's event order and every
/// timer deadline must be exact.
using Duration = std::chrono::nanoseconds;

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

/// A point on a node's monotonic clock (nanoseconds since an arbitrary epoch). Timers use it.
struct Instant {
    Duration since_epoch{0};

    friend constexpr auto operator<=>(const Instant&, const Instant&) = default;
    friend constexpr Instant operator+(Instant a, Duration d) { return Instant{a.since_epoch + d}; }
    friend constexpr Instant operator-(Instant a, Duration d) { return Instant{a.since_epoch - d}; }
    friend constexpr Duration operator-(Instant a, Instant b) { return a.since_epoch - b.since_epoch; }
};

/// A point on a node's wall clock (nanoseconds since the Unix epoch). Timestamps that users see
/// (lifecycle events, shadow metadata, certificate validity) use it; it may jump or drift.
struct WallTime {
    Duration since_unix_epoch{0};

    friend constexpr auto operator<=>(const WallTime&, const WallTime&) = default;
    [[nodiscard]] constexpr std::int64_t unix_ms() const {
        return std::chrono::duration_cast<milliseconds>(since_unix_epoch).count();
    }
    [[nodiscard]] constexpr std::int64_t unix_s() const {
        return std::chrono::duration_cast<seconds>(since_unix_epoch).count();
    }
};

/// What every input to a core state machine carries: the host's reading of both clocks.
struct Now {
    Instant monotonic;
    WallTime wall;
};

}  // namespace iotsim
