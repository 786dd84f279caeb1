#pragma once

#include <cstdint>
#include <string>

#include "iotsim/common/rng.hpp"
#include "iotsim/common/time.hpp"

namespace iotsim::sim {

/// One-way latency of a link. Every draw comes from the simulation's seeded Rng, through our own
/// sampling code (no std distributions: their output is implementation-defined).
struct LatencyModel {
    enum class Kind : std::uint8_t { constant, uniform, normal, lognormal };
    Kind kind = Kind::constant;
    /// constant: the latency; uniform: the lower bound; normal: the mean; lognormal: the median.
    Duration a = milliseconds(10);
    /// uniform: the upper bound; normal: the standard deviation. Unused otherwise.
    Duration b = Duration::zero();
    /// lognormal: sigma of the underlying normal (dimensionless).
    double sigma = 0.5;

    /// A sample, never negative.
    [[nodiscard]] Duration sample(Rng& rng) const;
};

[[nodiscard]] std::string latency_kind_name(LatencyModel::Kind kind);

/// A device's link to the broker, both directions alike. TCP-like: a reliable ordered byte
/// stream; loss shows up as retransmission delay, never as missing bytes.
struct LinkOptions {
    LatencyModel latency;
    /// Extra delay per segment, uniform in [0, jitter]. Order is still preserved.
    Duration jitter = Duration::zero();
    /// Bytes per second each way; 0 = unlimited. A segment occupies the link for size/bandwidth.
    std::uint64_t bandwidth_bytes_per_s = 0;
    /// Probability that a segment is lost once (and again, independently, after each retransmit);
    /// each loss costs `retransmit_timeout` (doubling, as TCP's RTO does).
    double loss_probability = 0.0;
    Duration retransmit_timeout = milliseconds(200);
    /// Probability that a write is split into several short segments delivered separately, so
    /// that framing code is exercised (FoundationDB's buggified writes).
    double split_probability = 0.0;
    /// How long a connection attempt to an unreachable (partitioned) broker takes to fail.
    Duration connect_timeout = seconds(5);
};

}  // namespace iotsim::sim
