#include "iotsim/sim/network.hpp"

#include <cmath>

namespace iotsim::sim {
namespace {

/// Standard normal by Box-Muller from two uniforms of our own Rng. libm's log/sqrt/cos are
/// deterministic for a given platform and toolchain, which is the determinism contract's scope.
double standard_normal(Rng& rng) {
    double u1 = rng.uniform01();
    if (u1 <= 0.0) {
        u1 = 0x1.0p-53;
    }
    const double u2 = rng.uniform01();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

Duration from_double_ns(double ns) {
    if (!(ns > 0.0)) {
        return Duration::zero();
    }
    if (ns > 1e17) {
        ns = 1e17;
    }
    return Duration(static_cast<std::int64_t>(ns));
}

}  // namespace

Duration LatencyModel::sample(Rng& rng) const {
    switch (kind) {
        case Kind::constant: return a;
        case Kind::uniform: {
            if (b <= a) {
                return a;
            }
            const auto span = static_cast<std::uint64_t>((b - a).count());
            return a + Duration(static_cast<std::int64_t>(rng.uniform(span + 1)));
        }
        case Kind::normal:
            return from_double_ns(static_cast<double>(a.count()) + standard_normal(rng) * static_cast<double>(b.count()));
        case Kind::lognormal:
            return from_double_ns(static_cast<double>(a.count()) * std::exp(sigma * standard_normal(rng)));
    }
    return a;
}

std::string latency_kind_name(LatencyModel::Kind kind) {
    switch (kind) {
        case LatencyModel::Kind::constant: return "constant";
        case LatencyModel::Kind::uniform: return "uniform";
        case LatencyModel::Kind::normal: return "normal";
        case LatencyModel::Kind::lognormal: return "lognormal";
    }
    return "?";
}

}  // namespace iotsim::sim
