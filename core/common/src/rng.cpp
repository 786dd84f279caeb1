#include "iotsim/common/rng.hpp"

#include "iotsim/common/assert.hpp"

namespace iotsim {
namespace {

std::uint64_t splitmix64(std::uint64_t& x) {
    x += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

std::uint64_t fnv1a64(std::string_view data, std::uint64_t h) {
    for (const char c : data) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    return h;
}

Rng::Rng(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& word : s_) {
        word = splitmix64(x);
    }
}

Rng Rng::derive(std::uint64_t seed, std::string_view component) {
    std::uint64_t x = seed ^ fnv1a64(component);
    return Rng(splitmix64(x));
}

std::uint64_t Rng::next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

std::uint64_t Rng::uniform(std::uint64_t bound) {
    IOTSIM_ASSERT(bound > 0);
    // Lemire's nearly divisionless method, with rejection for exact uniformity.
    std::uint64_t x = next_u64();
    __uint128_t m = static_cast<__uint128_t>(x) * bound;
    auto low = static_cast<std::uint64_t>(m);
    if (low < bound) {
        const std::uint64_t threshold = (0 - bound) % bound;
        while (low < threshold) {
            x = next_u64();
            m = static_cast<__uint128_t>(x) * bound;
            low = static_cast<std::uint64_t>(m);
        }
    }
    return static_cast<std::uint64_t>(m >> 64);
}

double Rng::uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

bool Rng::chance(double p) {
    if (p <= 0.0) {
        return false;
    }
    if (p >= 1.0) {
        return true;
    }
    return uniform01() < p;
}

std::string Rng::uuid4() {
    static constexpr char hex[] = "0123456789abcdef";
    std::uint64_t hi = next_u64();
    std::uint64_t lo = next_u64();
    hi = (hi & ~0xF000ULL) | 0x4000ULL;                              // version 4
    lo = (lo & ~(0xC000000000000000ULL)) | 0x8000000000000000ULL;    // variant 10
    std::string out;
    out.reserve(36);
    for (int i = 0; i < 32; ++i) {
        const std::uint64_t word = i < 16 ? hi : lo;
        const int shift = (15 - (i % 16)) * 4;
        out.push_back(hex[(word >> shift) & 0xF]);
        if (i == 7 || i == 11 || i == 15 || i == 19) {
            out.push_back('-');
        }
    }
    return out;
}

}  // namespace iotsim
