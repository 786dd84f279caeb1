#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "iotsim/common/assert.hpp"

namespace iotsim {

/// Emptied strings kept for their capacity, so that the next output written into one needs no
/// allocation (the broker's and the client's output buffers, which a host hands back through
/// recycle()). Bounded: at most `count_max` strings, each over a string's own 15-byte buffer
/// (nothing to save below) and at most 64 KiB (a large one is not kept idle).
class SpareStrings {
public:
    explicit SpareStrings(std::size_t count_max) : count_max_(count_max) {}

    /// An empty string: a kept one when there is one.
    [[nodiscard]] std::string take() {
        if (strings_.empty()) {
            return {};
        }
        std::string s = std::move(strings_.back());
        strings_.pop_back();
        return s;
    }

    /// The same into `s`, which must be empty: one move, no temporary (a hot path's way). An `s`
    /// with a buffer of its own (a reused slot's) keeps it.
    void take_into(std::string& s) {
        IOTSIM_ASSERT(s.empty());
        if (s.capacity() <= 15 && !strings_.empty()) {
            s = std::move(strings_.back());
            strings_.pop_back();
        }
    }

    /// Keeps `s` (emptied) if there is room and its capacity is worth keeping.
    void keep(std::string&& s) {
        if (strings_.size() < count_max_ && s.capacity() > 15 && s.capacity() <= capacity_max) {
            s.clear();
            strings_.push_back(std::move(s));
        }
    }

    static constexpr std::size_t capacity_max = 64 * 1024;

private:
    std::vector<std::string> strings_;
    std::size_t count_max_;
};

}  // namespace iotsim
