#pragma once

#include <utility>
#include <variant>

#include "iotsim/common/assert.hpp"

namespace iotsim {

/// A value or an error, for expected bad input on the data plane (std::expected is C++23).
/// Accessing the wrong alternative is a programmer error and asserts.
template <class T, class E>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit by design
    /// The value constructed in place from `args` (no temporary T moved in: for large T).
    template <class... Args>
    explicit Result(std::in_place_t /*tag*/, Args&&... args)
        : v_(std::in_place_index<0>, std::forward<Args>(args)...) {}

    [[nodiscard]] bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    [[nodiscard]] T& value() & {
        IOTSIM_ASSERT(ok());
        return std::get<0>(v_);
    }
    [[nodiscard]] const T& value() const& {
        IOTSIM_ASSERT(ok());
        return std::get<0>(v_);
    }
    [[nodiscard]] T&& value() && {
        IOTSIM_ASSERT(ok());
        return std::get<0>(std::move(v_));
    }
    [[nodiscard]] const E& error() const {
        IOTSIM_ASSERT(!ok());
        return std::get<1>(v_);
    }

private:
    std::variant<T, E> v_;
};

}  // namespace iotsim
