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

/// A service inside the broker's process that subscribes like a client (shadow, rules engine),
/// numbered by the composition that owns the broker. 0 is never a listener.
struct ListenerId {
    std::uint32_t value = 0;
    friend constexpr auto operator<=>(const ListenerId&, const ListenerId&) = default;
};

}  // namespace iotsim::broker
