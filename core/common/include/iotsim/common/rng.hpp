#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace iotsim {

/// The project's only source of randomness: xoshiro256** seeded through SplitMix64, implemented
/// here so that the sequence is pinned across compilers and standard libraries. Never use std
/// distributions or std::random_device (their output is implementation-defined).
///
/// Sub-streams: `Rng::derive(seed, "component")` gives an independent stream per named component,
/// so adding a device does not change any other component's draws.
///
/// Thread safety: none; one owner.
class Rng {
public:
    explicit Rng(std::uint64_t seed);

    /// An independent stream for `component`, a pure function of (seed, component).
    [[nodiscard]] static Rng derive(std::uint64_t seed, std::string_view component);

    [[nodiscard]] std::uint64_t next_u64();
    /// Uniform in [0, bound) without modulo bias; bound > 0.
    [[nodiscard]] std::uint64_t uniform(std::uint64_t bound);
    /// Uniform in [0, 1) with 53 bits of precision.
    [[nodiscard]] double uniform01();
    /// True with probability p (p <= 0 never, p >= 1 always).
    [[nodiscard]] bool chance(double p);
    /// A random RFC 4122 version-4 UUID string, drawn from this stream.
    [[nodiscard]] std::string uuid4();

private:
    std::uint64_t s_[4];
};

/// FNV-1a 64-bit, used to name sub-streams; stable across platforms.
[[nodiscard]] std::uint64_t fnv1a64(std::string_view data, std::uint64_t h = 14695981039346656037ULL);

}  // namespace iotsim
