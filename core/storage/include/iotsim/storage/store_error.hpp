#pragma once

#include <stdexcept>

namespace iotsim::storage {

/// An environment failure of a store (disk full, unreadable file, corrupt database). The server
/// reports it as one line and exits; it is never caused by client input.
class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace iotsim::storage
