#pragma once

/// Programmer-error checks, on in every build (TigerStyle): a crash with a location beats silent
/// corruption. Never reachable from input; bad input is a value (see Result).

namespace iotsim::detail {
[[noreturn]] void assert_failed(const char* expression, const char* file, int line) noexcept;
}  // namespace iotsim::detail

#define IOTSIM_ASSERT(cond)                                              \
    do {                                                                 \
        if (!(cond)) [[unlikely]] {                                      \
            ::iotsim::detail::assert_failed(#cond, __FILE__, __LINE__);  \
        }                                                                \
    } while (false)
