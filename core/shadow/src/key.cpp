#include "iotsim/shadow/key.hpp"

namespace iotsim::shadow {

namespace {

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '_' || c == '-';
}

}  // namespace

bool is_valid_thing_name(std::string_view name) {
    if (name.empty() || name.size() > thing_name_bytes_max) {
        return false;
    }
    for (char c : name) {
        if (!is_name_char(c)) {
            return false;
        }
    }
    return true;
}

bool is_valid_shadow_name(std::string_view name) {
    if (name.empty() || name.size() > shadow_name_bytes_max) {
        return false;
    }
    for (char c : name) {
        if (!is_name_char(c) && c != '$') {
            return false;
        }
    }
    return true;
}

}  // namespace iotsim::shadow
