#include "text.hpp"

#include <algorithm>

#include "iotsim/policy/context.hpp"

namespace iotsim::policy {

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const noexcept {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return detail::ascii_lower(x) < detail::ascii_lower(y);
    });
}

}  // namespace iotsim::policy

namespace iotsim::policy::detail {

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

bool istarts_with(std::string_view text, std::string_view prefix) noexcept {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

bool iends_with(std::string_view text, std::string_view suffix) noexcept {
    return text.size() >= suffix.size() &&
           iequals(text.substr(text.size() - suffix.size()), suffix);
}

void append_quoted(std::string& out, std::string_view text) {
    out += '\'';
    out += text;
    out += '\'';
}

}  // namespace iotsim::policy::detail
