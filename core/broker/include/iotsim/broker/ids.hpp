#pragma once

#include <compare>
#include <cstdint>

namespace iotsim::broker {

/// A transport connection as the host numbers it. Allocated by the host from a counter; never
/// reused within one broker's life.
struct ConnectionId {
    std::uint64_t value = 0;
    friend constexpr auto operator<=>(const ConnectionId&, const ConnectionId&) = default;
};

}  // namespace iotsim::broker
