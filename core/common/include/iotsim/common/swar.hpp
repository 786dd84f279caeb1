#pragma once

// Eight bytes at a time ("SIMD within a register"): the scans on the hot paths (topic names,
// JSON strings) test a whole word for a byte value instead of looping over its bytes.

#include <bit>
#include <cstdint>
#include <cstring>

namespace iotsim::swar {

inline constexpr std::uint64_t ones = 0x0101010101010101ULL;
inline constexpr std::uint64_t lows = 0x7F7F7F7F7F7F7F7FULL;
inline constexpr std::uint64_t highs = 0x8080808080808080ULL;

/// The eight bytes at `p`, the first one lowest whatever the host's byte order.
inline std::uint64_t load8(const char* p) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, sizeof word);
    if constexpr (std::endian::native == std::endian::big) {
        word = __builtin_bswap64(word);
    }
    return word;
}

/// Bit 7 set in exactly the bytes of `x` that are zero: ((x & 0x7F..) + 0x7F..) | x has its high
/// bit clear only there (no carry crosses a byte), so there are no false positives and the
/// mask can be counted.
inline std::uint64_t zero_bytes(std::uint64_t x) { return ~(((x & lows) + lows) | x) & highs; }

/// Bit 7 set in the bytes of `word` equal to `c`.
inline std::uint64_t bytes_equal(std::uint64_t word, std::uint8_t c) { return zero_bytes(word ^ (ones * c)); }

}  // namespace iotsim::swar
