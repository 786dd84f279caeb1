#include "incremental.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "document_detail.hpp"
#include "iotsim/shadow/document.hpp"
#include "text_writer.hpp"

namespace iotsim::shadow::detail {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 2> section_names = {desired_key, reported_key};

// The usual shape of a shadow's state or metadata: an object whose members are "desired" and
// "reported" only, each an object.
bool usual_shape(const json& document) {
    if (!document.is_object()) {
        return false;
    }
    std::size_t found = 0;
    for (const std::string_view name : section_names) {
        const auto it = document.find(name);
        if (it != document.end()) {
            if (!it->is_object()) {
                return false;
            }
            ++found;
        }
    }
    return found == document.size();
}

void write_member(TextWriter& out, const std::string& key, const json& value) {
    write_string(out, key);
    out.put(':');
    write_payload(out, value);
}

void write_section_name(TextWriter& out, std::string_view name) {
    out.put('"');
    out.write(name);
    out.write("\":{");
}

// Writes `document` (of the usual shape) whole, recording every member's span.
void render_whole(TextWriter& out, DocumentIndex& index, const json& document) {
    out.put('{');
    bool first_section = true;
    for (std::size_t i = 0; i < section_names.size(); ++i) {
        std::vector<MemberSpan>& spans = index.sections[i];
        spans.clear();
        const auto section = document.find(section_names[i]);
        if (section == document.end()) {
            continue;
        }
        if (!first_section) {
            out.put(',');
        }
        first_section = false;
        write_section_name(out, section_names[i]);
        bool first = true;
        for (const auto& [key, value] : section->get_ref<const json::object_t&>()) {
            if (!first) {
                out.put(',');
            }
            first = false;
            const std::size_t begin = out.size();
            write_member(out, key, value);
            spans.push_back(MemberSpan{key, begin, out.size() - begin});
        }
        out.put('}');
    }
    out.put('}');
    index.valid = true;
}

// Writes the members of one section: those the request changed serialised again, the others
// copied from `old_text` in runs, `spans` updated in place to describe the new text. `side`
// picks the state (false) or metadata (true) values of the changes.
void render_section(TextWriter& out, std::vector<MemberSpan>& spans,
                    const std::vector<MemberChange>& changes, bool side,
                    std::string_view old_text) {
    bool first = true;
    // Copies spans[from, to) (untouched members, contiguous in old_text) and rebases them.
    const auto copy_run = [&](std::size_t from, std::size_t to) {
        if (from == to) {
            return;
        }
        const std::size_t old_begin = spans[from].begin;
        const std::size_t old_end = spans[to - 1].begin + spans[to - 1].size;
        if (!first) {
            out.put(',');
        }
        first = false;
        const std::size_t new_begin = out.size();
        out.write_through(old_text.substr(old_begin, old_end - old_begin));
        for (std::size_t k = from; k < to; ++k) {
            spans[k].begin = spans[k].begin - old_begin + new_begin;
        }
    };
    std::size_t j = 0;  // spans[j..] still describe old_text
    for (const MemberChange& change : changes) {
        const std::string& key = *change.key;
        const auto at = std::lower_bound(
            spans.begin() + static_cast<std::ptrdiff_t>(j), spans.end(), key,
            [](const MemberSpan& span, const std::string& k) { return key_less(span.key, k); });
        const auto position = static_cast<std::size_t>(at - spans.begin());
        copy_run(j, position);
        j = position;
        const bool had = at != spans.end() && key_equal(at->key, key);
        const json* now = side ? change.metadata : change.state;
        if (now == nullptr) {
            if (had) {
                spans.erase(at);
            }
            continue;
        }
        if (!first) {
            out.put(',');
        }
        first = false;
        const std::size_t begin = out.size();
        write_member(out, key, *now);
        if (had) {
            at->begin = begin;
            at->size = out.size() - begin;
        } else {
            spans.insert(at, MemberSpan{key, begin, out.size() - begin});
        }
        ++j;
    }
    copy_run(j, spans.size());
}

// to_payload(delta_metadata(delta, metadata)).
void write_delta_metadata(TextWriter& out, const json& delta, const json& metadata) {
    if (!delta.is_object() || !metadata.is_object()) {
        write_payload(out, metadata);
        return;
    }
    out.put('{');
    bool first = true;
    for (const auto& [key, value] : delta.get_ref<const json::object_t&>()) {
        const auto child = metadata.find(key);
        if (child == metadata.end()) {
            continue;
        }
        if (!first) {
            out.put(',');
        }
        first = false;
        write_string(out, key);
        out.put(':');
        write_delta_metadata(out, value, *child);
    }
    out.put('}');
}

// One member of the delta for `key`, whose desired value is `desired`, or false when the key has
// none: compute_delta's top level for one desired key, and delta_metadata's for its metadata.
// `metadata_value` and `reported_value` are the desired metadata and the reported value at the
// key when the caller knows them from the merge (a lookup in a cold tree saved); otherwise they
// are looked up in `desired_metadata` and `reported`.
bool compute_member(DeltaMember& member, const std::string& key, const json* desired,
                    const json* reported, const json* desired_metadata,
                    const json* metadata_value = nullptr,
                    std::optional<const json*> reported_value = std::nullopt) {
    std::optional<json> computed;
    const json* delta = desired;  // the whole desired value, unless both are objects
    if (!reported_value && reported != nullptr) {
        reported_value = find_member(reported->get_ref<const json::object_t&>(), key);
    }
    if (reported_value) {
        if (const json* r = *reported_value) {
            if (desired->is_object() && r->is_object()) {
                computed = delta_of(*desired, *r);
                if (!computed) {
                    return false;
                }
                delta = &*computed;
            } else if (*desired == *r) {  // delta_of's comparison of whole values
                return false;
            }
        }
    }
    member.key = key;
    member.state.clear();
    {
        TextWriter out(member.state);
        write_member(out, key, *delta);
        out.flush();
    }
    member.metadata.clear();
    member.has_metadata = false;
    if (metadata_value == nullptr && desired_metadata != nullptr) {
        metadata_value = find_member(desired_metadata->get_ref<const json::object_t&>(), key);
    }
    if (metadata_value != nullptr) {
        member.has_metadata = true;
        TextWriter out(member.metadata);
        write_string(out, key);
        out.put(':');
        write_delta_metadata(out, *delta, *metadata_value);
        out.flush();
    }
    return true;
}

const json* find_object(const json& document, std::string_view name) {
    const auto it = document.find(name);
    return it == document.end() ? nullptr : &*it;
}

}  // namespace

void render_document(std::string& out, DocumentIndex& index, const json& document,
                     std::string_view old_text, const UpdateTrace& trace, bool metadata) {
    if (!usual_shape(document)) {
        index.valid = false;
        for (auto& spans : index.sections) {
            spans.clear();
        }
        append_payload(out, document);
        return;
    }
    TextWriter writer(out);
    if (!index.valid || trace.rewritten) {
        render_whole(writer, index, document);
        writer.flush();
        return;
    }
    writer.put('{');
    bool first_section = true;
    for (std::size_t i = 0; i < section_names.size(); ++i) {
        std::vector<MemberSpan>& spans = index.sections[i];
        const auto section = document.find(section_names[i]);
        if (section == document.end()) {
            spans.clear();
            continue;
        }
        if (!first_section) {
            writer.put(',');
        }
        first_section = false;
        write_section_name(writer, section_names[i]);
        render_section(writer, spans, trace.sections[i].changes, metadata, old_text);
        writer.put('}');
    }
    writer.put('}');
    writer.flush();
}

bool refresh_delta(DeltaCache& cache, const json& state, const json& metadata,
                   const UpdateTrace& trace) {
    std::vector<DeltaMember>& delta = cache.members;
    const bool was_valid = cache.valid;
    cache.valid = false;
    cache.joined = false;
    if (!state.is_object() || !metadata.is_object()) {
        return false;
    }
    const json* desired = find_object(state, desired_key);
    const json* reported = find_object(state, reported_key);
    const json* desired_metadata = find_object(metadata, desired_key);
    if ((desired != nullptr && !desired->is_object()) ||
        (reported != nullptr && !reported->is_object()) ||
        (desired_metadata != nullptr && !desired_metadata->is_object())) {
        return false;
    }
    if (!was_valid || trace.removes_section || trace.rewritten) {
        delta.clear();
        if (desired != nullptr) {
            for (const auto& [key, value] : desired->get_ref<const json::object_t&>()) {
                DeltaMember member;
                if (compute_member(member, key, &value, reported, desired_metadata)) {
                    delta.push_back(std::move(member));
                }
            }
        }
        cache.valid = true;
        return true;
    }
    bool joined = true;  // still, unless a member changes
    // The delta of a key depends on desired, reported and desired metadata at that key only: the
    // keys the request names in either section are the ones to recompute. Both lists are in key
    // order; merged, each key once.
    const std::vector<MemberChange>& in_desired = trace.sections[0].changes;
    const std::vector<MemberChange>& in_reported = trace.sections[1].changes;
    std::size_t d = 0;
    std::size_t r = 0;
    while (d < in_desired.size() || r < in_reported.size()) {
        const MemberChange* desired_change = nullptr;
        const MemberChange* reported_change = nullptr;
        const std::string* key = nullptr;
        if (r == in_reported.size() ||
            (d < in_desired.size() && !key_less(*in_reported[r].key, *in_desired[d].key))) {
            desired_change = &in_desired[d];
            key = desired_change->key;
            ++d;
            if (r < in_reported.size() && key_equal(*in_reported[r].key, *key)) {
                reported_change = &in_reported[r];
                ++r;  // the same key in both
            }
        } else {
            reported_change = &in_reported[r];
            key = reported_change->key;
            ++r;
        }
        // The reported value at the key, when the request wrote it (null: removed).
        std::optional<const json*> reported_value;
        if (reported_change != nullptr) {
            reported_value = reported_change->state;
        }
        // The desired value at the key (and its metadata): known from the merge when the request
        // wrote it.
        const json* value = nullptr;
        const json* metadata_value = nullptr;
        if (desired_change != nullptr) {
            value = desired_change->state;
            metadata_value = desired_change->metadata;
        } else if (desired != nullptr) {
            value = find_member(desired->get_ref<const json::object_t&>(), *key);
        }
        const auto at = std::lower_bound(
            delta.begin(), delta.end(), *key,
            [](const DeltaMember& member, const std::string& k) { return key_less(member.key, k); });
        const bool had = at != delta.end() && key_equal(at->key, *key);
        if (had) {
            joined = false;
            if (value == nullptr || !compute_member(*at, *key, value, reported, desired_metadata,
                                                    metadata_value, reported_value)) {
                delta.erase(at);
            }
            continue;
        }
        DeltaMember member;
        if (value != nullptr &&
            compute_member(member, *key, value, reported, desired_metadata, metadata_value,
                           reported_value)) {
            joined = false;
            delta.insert(at, std::move(member));
        }
    }
    cache.valid = true;
    cache.joined = joined;
    return true;
}

void append_delta_message(std::string& out, DeltaCache& delta, const std::string* client_token,
                          std::int64_t timestamp_s, std::int64_t version) {
    if (!delta.joined) {
        delta.state.clear();
        delta.metadata.clear();
        for (const DeltaMember& member : delta.members) {
            if (!delta.state.empty()) {
                delta.state.push_back(',');
            }
            delta.state.append(member.state);
            if (member.has_metadata) {
                if (!delta.metadata.empty()) {
                    delta.metadata.push_back(',');
                }
                delta.metadata.append(member.metadata);
            }
        }
        delta.joined = true;
    }
    TextWriter writer(out);
    writer.put('{');
    if (client_token != nullptr) {
        writer.write(R"("clientToken":)");
        write_string(writer, *client_token);
        writer.put(',');
    }
    writer.write(R"("metadata":{)");
    writer.write(delta.metadata);
    writer.write(R"(},"state":{)");
    writer.write(delta.state);
    writer.write(R"(},"timestamp":)");
    write_integer(writer, timestamp_s);
    writer.write(R"(,"version":)");
    write_integer(writer, version);
    writer.put('}');
    writer.flush();
}

void append_integer(std::string& out, std::int64_t number) {
    TextWriter writer(out);
    write_integer(writer, number);
    writer.flush();
}

}  // namespace iotsim::shadow::detail
