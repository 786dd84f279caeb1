#include "iotsim/shadow/document.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace iotsim::shadow {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 2> sections = {desired_key, reported_key};

template <typename Integer>
void append_number(std::string& out, Integer number) {
    std::array<char, 24> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), number);
    out.append(buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data()));
}

json leaf_metadata(std::int64_t timestamp_s) {
    json metadata = json::object();
    metadata["timestamp"] = timestamp_s;
    return metadata;
}

// A newly written object as it is stored: null members are dropped (there is nothing to remove)
// and objects left empty vanish, so that a stored shadow never holds an empty object.
json without_nulls(const json& object) {
    json cleaned = json::object();
    for (const auto& item : object.items()) {
        const json& value = item.value();
        if (value.is_null()) {
            continue;
        }
        if (value.is_object()) {
            json child = without_nulls(value);
            if (!child.empty()) {
                cleaned[item.key()] = std::move(child);
            }
            continue;
        }
        cleaned[item.key()] = value;
    }
    return cleaned;
}

// Merges `patch` into the stored object `target`, keeping `metadata` (the mirror of `target`)
// in step: written leaves get `timestamp_s`, removed keys lose their metadata.
void merge_object(json& target, json& metadata, const json& patch, std::int64_t timestamp_s) {
    for (const auto& item : patch.items()) {
        const std::string& key = item.key();
        const json& value = item.value();
        if (value.is_null()) {
            target.erase(key);
            metadata.erase(key);
            continue;
        }
        if (!value.is_object()) {
            // Scalars and arrays replace whatever was there: arrays are values (§2.4).
            target[key] = value;
            metadata[key] = stamp_metadata(value, timestamp_s);
            continue;
        }
        const auto existing = target.find(key);
        if (existing != target.end() && existing->is_object()) {
            json& child_metadata = metadata[key];
            if (!child_metadata.is_object()) {
                child_metadata = json::object();  // only a damaged store gets here
            }
            merge_object(*existing, child_metadata, value, timestamp_s);
            if (existing->empty()) {
                target.erase(key);
                metadata.erase(key);
            }
            continue;
        }
        // An object where there was none (or a non-object): the object replaces it, minus nulls.
        json cleaned = without_nulls(value);
        if (cleaned.empty()) {
            target.erase(key);
            metadata.erase(key);
            continue;
        }
        metadata[key] = stamp_metadata(cleaned, timestamp_s);
        target[key] = std::move(cleaned);
    }
}

std::optional<json> delta_of(const json& desired, const json& reported) {
    if (desired.is_object() && reported.is_object()) {
        json delta = json::object();
        for (const auto& item : desired.items()) {
            const auto other = reported.find(item.key());
            if (other == reported.end()) {
                delta[item.key()] = item.value();
                continue;
            }
            if (auto child = delta_of(item.value(), *other)) {
                delta[item.key()] = std::move(*child);
            }
        }
        if (delta.empty()) {
            return std::nullopt;
        }
        return delta;
    }
    // Arrays, scalars and type changes compare whole. nlohmann's equality compares numbers by
    // value across integer and floating representations, as AWS does (1 == 1.0).
    if (desired == reported) {
        return std::nullopt;
    }
    return desired;
}

bool has_null_in_array_impl(const json& value, bool inside_array) {
    if (value.is_null()) {
        return inside_array;
    }
    if (!value.is_structured()) {
        return false;
    }
    const bool in_array = inside_array || value.is_array();
    return std::any_of(value.begin(), value.end(), [in_array](const json& child) {
        return has_null_in_array_impl(child, in_array);
    });
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
    static constexpr std::array<std::uint32_t, 5> smallest_for_length = {0, 0, 0x80, 0x800,
                                                                         0x10000};
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<std::uint32_t>(static_cast<unsigned char>(text[i]));
        if (lead < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        std::uint32_t code_point = 0;
        if ((lead & 0xE0U) == 0xC0U) {
            length = 2;
            code_point = lead & 0x1FU;
        } else if ((lead & 0xF0U) == 0xE0U) {
            length = 3;
            code_point = lead & 0x0FU;
        } else if ((lead & 0xF8U) == 0xF0U) {
            length = 4;
            code_point = lead & 0x07U;
        } else {
            return false;
        }
        if (text.size() - i < length) {
            return false;
        }
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<std::uint32_t>(static_cast<unsigned char>(text[i + k]));
            if ((next & 0xC0U) != 0x80U) {
                return false;
            }
            code_point = (code_point << 6U) | (next & 0x3FU);
        }
        if (code_point < smallest_for_length[length] || code_point > 0x10FFFFU ||
            (code_point >= 0xD800U && code_point <= 0xDFFFU)) {
            return false;
        }
        i += length;
    }
    return true;
}

std::size_t raw_nesting_depth(std::string_view text, std::size_t stop_after) {
    std::size_t depth = 0;
    std::size_t deepest = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        switch (c) {
            case '"':
                in_string = true;
                break;
            case '{':
            case '[':
                ++depth;
                if (depth > deepest) {
                    deepest = depth;
                    if (deepest > stop_after) {
                        return deepest;
                    }
                }
                break;
            case '}':
            case ']':
                if (depth > 0) {
                    --depth;
                }
                break;
            default:
                break;
        }
    }
    return deepest;
}

std::size_t section_depth(const json& section) {
    if (!section.is_structured() || section.empty()) {
        return 0;
    }
    std::size_t deepest_child = 0;
    for (const json& child : section) {
        deepest_child = std::max(deepest_child, section_depth(child));
    }
    return deepest_child + 1;
}

bool has_null_in_array(const json& value) { return has_null_in_array_impl(value, false); }

std::size_t state_size_bytes(const json& state) { return to_payload(state).size(); }

json stamp_metadata(const json& value, std::int64_t timestamp_s) {
    if (value.is_object()) {
        json metadata = json::object();
        for (const auto& item : value.items()) {
            metadata[item.key()] = stamp_metadata(item.value(), timestamp_s);
        }
        return metadata;
    }
    if (value.is_array()) {
        json metadata = json::array();
        for (const json& element : value) {
            metadata.push_back(stamp_metadata(element, timestamp_s));
        }
        return metadata;
    }
    return leaf_metadata(timestamp_s);
}

void apply_state_update(json& state, json& metadata, const json& request_state,
                        std::int64_t timestamp_s) {
    if (request_state.is_null()) {
        // "Setting the device's shadow state to null does not delete the shadow" (§2.4).
        state = json::object();
        metadata = json::object();
        return;
    }
    for (const std::string_view name : sections) {
        const std::string section(name);
        const auto patch = request_state.find(section);
        if (patch == request_state.end()) {
            continue;
        }
        if (patch->is_null()) {
            state.erase(section);
            metadata.erase(section);
            continue;
        }
        json& target = state[section];
        if (!target.is_object()) {
            target = json::object();
        }
        json& target_metadata = metadata[section];
        if (!target_metadata.is_object()) {
            target_metadata = json::object();
        }
        merge_object(target, target_metadata, *patch, timestamp_s);
        if (target.empty()) {
            state.erase(section);
            metadata.erase(section);
        }
    }
}

std::optional<json> compute_delta(const json& state) {
    const auto desired = state.find(std::string(desired_key));
    if (desired == state.end() || desired->empty()) {
        return std::nullopt;
    }
    const auto reported = state.find(std::string(reported_key));
    if (reported == state.end()) {
        return *desired;
    }
    return delta_of(*desired, *reported);
}

json delta_metadata(const json& delta, const json& desired_metadata) {
    // A delta object always stands for a desired object, whose metadata is an object mirror; any
    // other delta value is a whole desired value and takes its metadata whole.
    if (!delta.is_object() || !desired_metadata.is_object()) {
        return desired_metadata;
    }
    json metadata = json::object();
    for (const auto& item : delta.items()) {
        const auto child = desired_metadata.find(item.key());
        if (child != desired_metadata.end()) {
            metadata[item.key()] = delta_metadata(item.value(), *child);
        }
    }
    return metadata;
}

void append_payload(std::string& out, const json& value) {
    switch (value.type()) {
        case json::value_t::object: {
            const auto& object = value.get_ref<const json::object_t&>();
            out.push_back('{');
            bool first = true;
            for (const auto& [key, member] : object) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                append_string(out, key);
                out.push_back(':');
                append_payload(out, member);
            }
            out.push_back('}');
            return;
        }
        case json::value_t::array: {
            const auto& array = value.get_ref<const json::array_t&>();
            out.push_back('[');
            bool first = true;
            for (const json& element : array) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                append_payload(out, element);
            }
            out.push_back(']');
            return;
        }
        case json::value_t::string:
            append_string(out, value.get_ref<const std::string&>());
            return;
        case json::value_t::boolean:
            out.append(value.get<bool>() ? "true" : "false");
            return;
        case json::value_t::null:
            out.append("null");
            return;
        case json::value_t::number_integer:
            append_number(out, value.get<std::int64_t>());
            return;
        case json::value_t::number_unsigned:
            append_number(out, value.get<std::uint64_t>());
            return;
        case json::value_t::number_float: {
            // nlohmann's own shortest round-trip formatting (Grisu2), so that the bytes are the
            // ones dump() writes; non-finite numbers (never parsed from JSON) become null as there.
            const double number = value.get<double>();
            if (!std::isfinite(number)) {
                out.append("null");
                return;
            }
            std::array<char, 64> buffer{};
            const char* end =
                nlohmann::detail::to_chars(buffer.data(), buffer.data() + buffer.size(), number);
            out.append(buffer.data(), static_cast<std::size_t>(end - buffer.data()));
            return;
        }
        case json::value_t::binary:
        case json::value_t::discarded:
            break;
    }
    // Values no JSON text produces: nlohmann's serializer decides.
    out.append(value.dump(-1, ' ', false, json::error_handler_t::replace));
}

void append_string(std::string& out, std::string_view text) {
    // The common case, printable ASCII without quotes or backslashes, is copied as is; anything
    // else (escapes, UTF-8, invalid bytes replaced by U+FFFD) is written by nlohmann's serializer,
    // so that the bytes never differ from dump()'s.
    const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x20U && byte < 0x80U && c != '"' && c != '\\';
    });
    if (plain) {
        out.push_back('"');
        out.append(text);
        out.push_back('"');
        return;
    }
    out.append(json(text).dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string to_payload(const json& document) {
    std::string out;
    append_payload(out, document);
    return out;
}

}  // namespace iotsim::shadow
