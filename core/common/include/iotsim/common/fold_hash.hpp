#pragma once

// A hash over bytes: a chain of 64x64->128-bit multiplications, each folding 16 bytes of input
// into the state (the folded multiply of wyhash and rapidhash, written here from the idea).
// Stable by construction: integer arithmetic only, input read as little-endian whatever the
// host. The simulator's trace hash is a chain of these (so this function must never change:
// recorded trace hashes depend on it); name tables use it too (a short name costs one or two
// multiplies, an order of magnitude less than std::hash's byte loop).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace iotsim::fold_hash {

inline constexpr std::uint64_t k0 = 0x2d358dccaa6c78a5ULL;
inline constexpr std::uint64_t k1 = 0x8bb84b93962eacc9ULL;
inline constexpr std::uint64_t k2 = 0x4b33a62ed433d4a3ULL;

/// The 128-bit product of `a` and `b`, its halves xored together.
inline std::uint64_t fold(std::uint64_t a, std::uint64_t b) {
    const __uint128_t r = static_cast<__uint128_t>(a) * b;
    return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

/// sizeof(T) bytes as a little-endian number, whatever the host's byte order (one load on x86).
template <class T>
inline std::uint64_t load_le(const char* p) {
    T v = 0;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::big) {
        if constexpr (sizeof(T) == 8) {
            v = __builtin_bswap64(v);
        } else {
            static_assert(sizeof(T) == 4);
            v = __builtin_bswap32(v);
        }
    }
    return v;
}

/// `state` with the bytes of `s` folded in (their length first: no two inputs share a chain).
inline std::uint64_t fold_bytes(std::uint64_t state, std::string_view s) {
    const char* p = s.data();
    const std::size_t n = s.size();
    std::uint64_t h = fold(state ^ k0, n ^ k1);
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        h = fold(load_le<std::uint64_t>(p + i) ^ h ^ k0, load_le<std::uint64_t>(p + i + 8) ^ k1);
    }
    if (i == n) {
        return h;
    }
    // The last 1..15 bytes, read in at most two overlapping loads (bytes already folded may be
    // read again: the length above keeps that unambiguous).
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    if (n >= 16) {
        a = load_le<std::uint64_t>(p + n - 16);
        b = load_le<std::uint64_t>(p + n - 8);
    } else if (n >= 8) {
        a = load_le<std::uint64_t>(p);
        b = load_le<std::uint64_t>(p + n - 8);
    } else if (n >= 4) {
        a = load_le<std::uint32_t>(p);
        b = load_le<std::uint32_t>(p + n - 4);
    } else {
        a = (static_cast<std::uint64_t>(static_cast<unsigned char>(p[0])) << 16) |
            (static_cast<std::uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8) |
            static_cast<unsigned char>(p[n - 1]);
    }
    return fold(a ^ h ^ k0, b ^ k2);
}

}  // namespace iotsim::fold_hash
