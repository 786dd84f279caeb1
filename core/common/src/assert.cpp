#include "iotsim/common/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace iotsim::detail {

void assert_failed(const char* expression, const char* file, int line) noexcept {
    std::fprintf(stderr, "iotsim: assertion failed: %s (%s:%d)\n", expression, file, line);
    std::fflush(stderr);
    std::abort();
}

}  // namespace iotsim::detail
