#include "iotsim/shadow/document.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "document_detail.hpp"
#include "iotsim/common/swar.hpp"
#include "text_writer.hpp"

namespace iotsim::shadow {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 2> sections = {desired_key, reported_key};

template <typename Integer>
void write_number(detail::TextWriter& out, Integer number) {
    std::array<char, 24> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), number);
    out.write(std::string_view(buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data())));
}

constexpr std::string_view timestamp_key = "timestamp";

json leaf_metadata(std::int64_t timestamp_s) {
    json metadata = json::object();
    metadata.get_ref<json::object_t&>().emplace(timestamp_key, timestamp_s);
    return metadata;
}

// Whether `metadata` is a leaf's: exactly {"timestamp": …}.
bool is_leaf_metadata(const json& metadata) {
    return metadata.is_object() && metadata.size() == 1 &&
           metadata.get_ref<const json::object_t&>().begin()->first == timestamp_key;
}

// object[key], inserting null when absent (json::operator[] without a std::string per lookup).
json& member(json::object_t& object, std::string_view key) {
    const auto it = object.lower_bound(detail::KeyRef{key});
    if (it != object.end() && detail::key_equal(it->first, key)) {
        return it->second;
    }
    return object.emplace_hint(it, key, nullptr)->second;
}

void erase_member(json::object_t& object, std::string_view key) {
    const auto it = object.find(detail::KeyRef{key});
    if (it != object.end()) {
        object.erase(it);
    }
}

// Whether `text` is printable ASCII without quotes or backslashes: a JSON string as it is. Eight
// bytes at a time: a byte is out when its top bit is set, when it is below 0x20, or when it is
// '"' or '\\'.
bool is_plain(std::string_view text) {
    using swar::highs;
    using swar::ones;
    const char* p = text.data();
    std::size_t left = text.size();
    while (left >= 8) {
        const std::uint64_t word = swar::load8(p);
        // Top bits first: with them clear, `word - 0x20 * ones` borrows only from bytes < 0x20.
        if ((word & highs) != 0 || ((word - 0x20 * ones) & highs) != 0 ||
            (swar::bytes_equal(word, 0x22U) | swar::bytes_equal(word, 0x5CU)) != 0) {
            return false;
        }
        p += 8;
        left -= 8;
    }
    for (; left > 0; --left, ++p) {
        const auto byte = static_cast<unsigned char>(*p);
        if (byte < 0x20U || byte >= 0x80U || byte == '"' || byte == '\\') {
            return false;
        }
    }
    return true;
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
// in step: written leaves get `timestamp_s`, removed keys lose their metadata. With `changes`,
// records where each key of `patch` now is in both (null: removed). Both `target` and `metadata`
// are objects. Members are looked up with member() rather than json::operator[], which allocates
// a map node (and copies the key) per call even when the key exists.
void merge_object(json& target, json& metadata, const json& patch, std::int64_t timestamp_s,
                  std::vector<detail::MemberChange>* changes) {
    json::object_t& target_members = target.get_ref<json::object_t&>();
    json::object_t& metadata_members = metadata.get_ref<json::object_t&>();
    const auto record = [changes](const std::string& key, const json* value, const json* mirror) {
        if (changes != nullptr) {
            changes->push_back(detail::MemberChange{&key, value, mirror});
        }
    };
    for (const auto& [key, value] : patch.get_ref<const json::object_t&>()) {
        if (value.is_null()) {
            erase_member(target_members, key);
            erase_member(metadata_members, key);
            record(key, nullptr, nullptr);
            continue;
        }
        if (!value.is_object()) {
            // Scalars and arrays replace whatever was there: arrays are values (§2.4).
            json& written = member(target_members, key);
            written = value;
            json& leaf = member(metadata_members, key);
            if (!value.is_array() && is_leaf_metadata(leaf)) {
                // A scalar over a scalar: the same metadata, restamped in place.
                leaf.get_ref<json::object_t&>().begin()->second = timestamp_s;
            } else {
                leaf = stamp_metadata(value, timestamp_s);
            }
            record(key, &written, &leaf);
            continue;
        }
        const auto existing = target_members.find(detail::KeyRef{key});
        if (existing != target_members.end() && existing->second.is_object()) {
            json& child_metadata = member(metadata_members, key);
            if (!child_metadata.is_object()) {
                child_metadata = json::object();  // only a damaged store gets here
            }
            json& child = existing->second;
            merge_object(child, child_metadata, value, timestamp_s, nullptr);
            if (child.empty()) {
                target_members.erase(existing);
                erase_member(metadata_members, key);
                record(key, nullptr, nullptr);
            } else {
                record(key, &child, &child_metadata);
            }
            continue;
        }
        // An object where there was none (or a non-object): the object replaces it, minus nulls.
        json cleaned = without_nulls(value);
        if (cleaned.empty()) {
            erase_member(target_members, key);
            erase_member(metadata_members, key);
            record(key, nullptr, nullptr);
            continue;
        }
        json& mirror = member(metadata_members, key);
        mirror = stamp_metadata(cleaned, timestamp_s);
        json& written = member(target_members, key);
        written = std::move(cleaned);
        record(key, &written, &mirror);
    }
}

// Merges `patch` into `target` as merge_object does, through items() (which also walks a
// patch that is not an object).
void merge_object_general(json& target, json& metadata, const json& patch,
                          std::int64_t timestamp_s) {
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
            merge_object_general(*existing, child_metadata, value, timestamp_s);
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

// apply_state_update for any input, as written before the incremental writers existed (json's
// own operators decide what happens to documents of unexpected types).
void apply_state_update_general(json& state, json& metadata, const json& request_state,
                                std::int64_t timestamp_s) {
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
        merge_object_general(target, target_metadata, *patch, timestamp_s);
        if (target.empty()) {
            state.erase(section);
            metadata.erase(section);
        }
    }
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

std::optional<json> detail::delta_of(const json& desired, const json& reported) {
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
        json::object_t& members = metadata.get_ref<json::object_t&>();
        for (const auto& [key, member] : value.get_ref<const json::object_t&>()) {
            // In key order: each goes last.
            members.emplace_hint(members.end(), key, stamp_metadata(member, timestamp_s));
        }
        return metadata;
    }
    if (value.is_array()) {
        json metadata = json::array();
        json::array_t& elements = metadata.get_ref<json::array_t&>();
        elements.reserve(value.size());
        for (const json& element : value) {
            elements.push_back(stamp_metadata(element, timestamp_s));
        }
        return metadata;
    }
    return leaf_metadata(timestamp_s);
}

void detail::write_stamp(TextWriter& out, const json& value, std::string_view leaf) {
    if (value.is_object()) {
        out.put('{');
        bool first = true;
        for (const auto& [key, member] : value.get_ref<const json::object_t&>()) {
            if (!first) {
                out.put(',');
            }
            first = false;
            write_string(out, key);
            out.put(':');
            write_stamp(out, member, leaf);
        }
        out.put('}');
        return;
    }
    if (value.is_array()) {
        out.put('[');
        bool first = true;
        for (const json& element : value) {
            if (!first) {
                out.put(',');
            }
            first = false;
            write_stamp(out, element, leaf);
        }
        out.put(']');
        return;
    }
    out.write(leaf);
}

void apply_state_update(json& state, json& metadata, const json& request_state,
                        std::int64_t timestamp_s) {
    detail::apply_state_update(state, metadata, request_state, timestamp_s, nullptr);
}

void detail::apply_state_update(json& state, json& metadata, const json& request_state,
                                std::int64_t timestamp_s, UpdateTrace* trace) {
    if (trace != nullptr) {
        for (SectionTrace& section : trace->sections) {
            section.changes.clear();
        }
        trace->removes_section = !request_state.is_object();
        trace->rewritten = false;
    }
    if (request_state.is_null()) {
        // "Setting the device's shadow state to null does not delete the shadow" (§2.4).
        state = json::object();
        metadata = json::object();
        return;
    }
    if (!state.is_object() || !metadata.is_object() || !request_state.is_object() ||
        std::any_of(request_state.begin(), request_state.end(),
                    [](const json& patch) { return !patch.is_object() && !patch.is_null(); })) {
        // Not what the service hands over (a damaged store, or an unvalidated request): the
        // general code, and the caches are rebuilt whole.
        if (trace != nullptr) {
            trace->rewritten = true;
        }
        apply_state_update_general(state, metadata, request_state, timestamp_s);
        return;
    }
    const json::object_t& patches = request_state.get_ref<const json::object_t&>();
    json::object_t& state_sections = state.get_ref<json::object_t&>();
    json::object_t& metadata_sections = metadata.get_ref<json::object_t&>();
    for (std::size_t i = 0; i < sections.size(); ++i) {
        const std::string_view section = sections[i];
        const auto patch = patches.find(section);
        if (patch == patches.end()) {
            continue;
        }
        if (patch->second.is_null()) {
            erase_member(state_sections, section);
            erase_member(metadata_sections, section);
            if (trace != nullptr) {
                trace->removes_section = true;
            }
            continue;
        }
        json& target = member(state_sections, section);
        if (!target.is_object()) {
            target = json::object();
        }
        json& target_metadata = member(metadata_sections, section);
        if (!target_metadata.is_object()) {
            target_metadata = json::object();
        }
        std::vector<MemberChange>* changes = nullptr;
        if (trace != nullptr) {
            changes = &trace->sections[i].changes;
        }
        merge_object(target, target_metadata, patch->second, timestamp_s, changes);
        if (target.empty()) {
            erase_member(state_sections, section);
            erase_member(metadata_sections, section);
            if (trace != nullptr) {
                trace->sections[i].changes.clear();  // they pointed into the section
                trace->removes_section = true;
            }
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
    return detail::delta_of(*desired, *reported);
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

void detail::write_payload(TextWriter& out, const json& value) {
    switch (value.type()) {
        case json::value_t::object: {
            const auto& object = value.get_ref<const json::object_t&>();
            if (object.size() == 1 && object.begin()->first == timestamp_key &&
                object.begin()->second.is_number_integer()) {
                // A leaf's metadata, the most common object of all.
                out.write(R"({"timestamp":)");
                write_number(out, object.begin()->second.get<std::int64_t>());
                out.put('}');
                return;
            }
            out.put('{');
            bool first = true;
            for (const auto& [key, member] : object) {
                if (!first) {
                    out.put(',');
                }
                first = false;
                write_string(out, key);
                out.put(':');
                write_payload(out, member);
            }
            out.put('}');
            return;
        }
        case json::value_t::array: {
            const auto& array = value.get_ref<const json::array_t&>();
            out.put('[');
            bool first = true;
            for (const json& element : array) {
                if (!first) {
                    out.put(',');
                }
                first = false;
                write_payload(out, element);
            }
            out.put(']');
            return;
        }
        case json::value_t::string:
            write_string(out, value.get_ref<const std::string&>());
            return;
        case json::value_t::boolean:
            out.write(value.get<bool>() ? "true" : "false");
            return;
        case json::value_t::null:
            out.write("null");
            return;
        case json::value_t::number_integer:
            write_number(out, value.get<std::int64_t>());
            return;
        case json::value_t::number_unsigned:
            write_number(out, value.get<std::uint64_t>());
            return;
        case json::value_t::number_float: {
            std::array<char, 64> buffer{};
            out.write(format_double(buffer, value.get<double>()));
            return;
        }
        case json::value_t::binary:
        case json::value_t::discarded:
            break;
    }
    // Values no JSON text produces: nlohmann's serializer decides.
    out.write(value.dump(-1, ' ', false, json::error_handler_t::replace));
}

void detail::write_string(TextWriter& out, std::string_view text) {
    // The common case, printable ASCII without quotes or backslashes, is copied as is; anything
    // else (escapes, UTF-8, invalid bytes replaced by U+FFFD) is written by nlohmann's serializer,
    // so that the bytes never differ from dump()'s.
    if (is_plain(text)) {
        out.put('"');
        out.write(text);
        out.put('"');
        return;
    }
    out.write(json(text).dump(-1, ' ', false, json::error_handler_t::replace));
}

void detail::write_integer(TextWriter& out, std::int64_t number) { write_number(out, number); }

std::string_view detail::format_double(std::array<char, 64>& buffer, double number) {
    if (!std::isfinite(number)) {
        return "null";
    }
    const char* end =
        nlohmann::detail::to_chars(buffer.data(), buffer.data() + buffer.size(), number);
    return {buffer.data(), static_cast<std::size_t>(end - buffer.data())};
}

void detail::dispose(json& value) {
    if (value.is_object()) {
        json::object_t& members = value.get_ref<json::object_t&>();
        for (auto& [key, child] : members) {
            if (child.is_structured()) {
                dispose(child);
            }
        }
        members.clear();  // scalars and empty containers only: no stack to build
    } else if (value.is_array()) {
        json::array_t& items = value.get_ref<json::array_t&>();
        for (json& item : items) {
            if (item.is_structured()) {
                dispose(item);
            }
        }
        items.clear();
    }
    value = nullptr;
}

void append_payload(std::string& out, const json& value) {
    detail::TextWriter writer(out);
    detail::write_payload(writer, value);
    writer.flush();
}

void append_string(std::string& out, std::string_view text) {
    detail::TextWriter writer(out);
    detail::write_string(writer, text);
    writer.flush();
}

std::string to_payload(const json& document) {
    std::string out;
    append_payload(out, document);
    return out;
}

}  // namespace iotsim::shadow
