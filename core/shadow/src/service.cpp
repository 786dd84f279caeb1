#include "iotsim/shadow/service.hpp"

#include <array>
#include <charconv>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>

#include "iotsim/common/assert.hpp"
#include "iotsim/shadow/document.hpp"
#include "document_detail.hpp"
#include "incremental.hpp"
#include "request.hpp"
#include "text_writer.hpp"

namespace iotsim::shadow {

using detail::append_integer;
using nlohmann::json;

namespace {

constexpr int default_page_size = 25;  // AWS-authored Greengrass default; AWS's model: 1-100
constexpr int max_page_size = 100;

std::optional<ShadowError> check_key(const ShadowKey& key) {
    if (!is_valid_thing_name(key.thing_name)) {
        return errors::invalid_thing_name();
    }
    if (!key.classic() && !is_valid_shadow_name(key.shadow_name)) {
        return errors::invalid_shadow_name();
    }
    return std::nullopt;
}

ShadowResponse start(const ShadowKey& key, ShadowOperation operation) {
    ShadowResponse response;
    response.key = key;
    response.operation = operation;
    return response;
}

std::string reply_suffix(ShadowOperation operation, std::string_view outcome) {
    std::string suffix(operation_name(operation));
    suffix.push_back('/');
    suffix.append(outcome);
    return suffix;
}

void add_client_token(json& document, const std::optional<std::string>& client_token) {
    if (client_token) {
        document["clientToken"] = *client_token;
    }
}

ShadowResponse reject(ShadowResponse response, const ShadowError& error,
                      const std::optional<std::string>& client_token, WallTime now,
                      RequestOrigin origin) {
    response.status = error.code;
    response.document = error_document(error, client_token, now);
    response.notifications.clear();
    // AWS: the /rejected message "is only emitted as a response to a publish request on one of
    // the reserved $aws topics"; REST callers get the HTTP error alone.
    if (origin == RequestOrigin::mqtt) {
        response.notifications.push_back(
            {reply_suffix(response.operation, "rejected"), to_payload(response.document)});
    }
    return response;
}

void reply_accepted(ShadowResponse& response, bool publish) {
    if (publish) {
        response.notifications.push_back(
            {reply_suffix(response.operation, "accepted"), to_payload(response.document)});
    }
}

// One side of /update/documents: desired, reported and metadata, version, no delta (§2.5), from
// the compact JSON of state and metadata. Written as to_payload writes an object: keys in order.
void append_documents_side(std::string& out, std::string_view metadata_json,
                           std::string_view state_json, std::int64_t version) {
    out.append(R"({"metadata":)");
    out.append(metadata_json);
    out.append(R"(,"state":)");
    out.append(state_json);
    out.append(R"(,"version":)");
    append_integer(out, version);
    out.push_back('}');
}

constexpr std::string_view empty_object_json = "{}";

std::string hex_encode(std::string_view bytes) {
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string hex;
    hex.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        hex.push_back(digits[byte >> 4U]);
        hex.push_back(digits[byte & 0x0FU]);
    }
    return hex;
}

std::optional<std::string> hex_decode(std::string_view hex) {
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return -1;
    };
    if (hex.size() % 2 != 0) {
        return std::nullopt;
    }
    std::string bytes;
    bytes.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int high = nibble(hex[i]);
        const int low = nibble(hex[i + 1]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        bytes.push_back(static_cast<char>(high * 16 + low));
    }
    return bytes;
}

}  // namespace

ShadowService::ShadowService(ShadowStore& store, ShadowOptions options)
    : store_(store), options_(std::move(options)) {}

void ShadowService::recover(WallTime now) {
    shadows_.clear();
    windows_.clear();
    for (ShadowRecord& record : store_.load()) {
        if (record.deleted && tombstone_expired(record, now)) {
            store_.erase(record.key);
            continue;
        }
        ShadowKey key = record.key;
        Entry entry;
        entry.record = std::move(record);
        entry.state_json = to_payload(entry.record.state);
        entry.metadata_json = to_payload(entry.record.metadata);
        shadows_.insert_or_assign(std::move(key), std::move(entry));
    }
}

std::optional<ShadowResponse> ShadowService::handle_publish(std::string_view topic,
                                                            std::string_view payload,
                                                            WallTime now) {
    const auto request = parse_request_topic(topic);
    if (!request) {
        return std::nullopt;
    }
    switch (request->operation) {
        case ShadowOperation::get:
            return get(request->key, payload, now, RequestOrigin::mqtt);
        case ShadowOperation::update:
            return update(request->key, payload, now, RequestOrigin::mqtt);
        case ShadowOperation::delete_shadow:
            return delete_shadow(request->key, payload, now, RequestOrigin::mqtt);
    }
    return std::nullopt;
}

ShadowResponse ShadowService::get(const ShadowKey& key, std::string_view payload, WallTime now,
                                  RequestOrigin origin) {
    ShadowResponse response = start(key, ShadowOperation::get);
    if (auto error = admit(key, now)) {
        return reject(std::move(response), *error, std::nullopt, now, origin);
    }
    return get_impl(std::move(response), payload, now, origin);
}

ShadowResponse ShadowService::update(const ShadowKey& key, std::string_view payload, WallTime now,
                                     RequestOrigin origin) {
    ShadowResponse response = start(key, ShadowOperation::update);
    if (auto error = admit(key, now)) {
        return reject(std::move(response), *error, std::nullopt, now, origin);
    }
    return update_impl(std::move(response), payload, now, origin);
}

ShadowResponse ShadowService::delete_shadow(const ShadowKey& key, std::string_view payload,
                                            WallTime now, RequestOrigin origin) {
    ShadowResponse response = start(key, ShadowOperation::delete_shadow);
    if (auto error = admit(key, now)) {
        return reject(std::move(response), *error, std::nullopt, now, origin);
    }
    return delete_impl(std::move(response), payload, now, origin);
}

ShadowResponse ShadowService::get_impl(ShadowResponse response, std::string_view payload,
                                       WallTime now, RequestOrigin origin) {
    auto token = detail::parse_client_token(payload, options_.limits);
    if (!token) {
        return reject(std::move(response), token.error().error, token.error().client_token, now,
                      origin);
    }
    const std::optional<std::string>& client_token = token.value();
    const Entry* entry = lookup(response.key, now);
    if (entry == nullptr || entry->record.deleted) {
        return reject(std::move(response), errors::no_such_shadow(response.key.display_name()),
                      client_token, now, origin);
    }
    const ShadowRecord* record = &entry->record;
    json state = record->state;
    if (auto delta = compute_delta(record->state)) {
        state["delta"] = std::move(*delta);
    }
    // AMBIG §7.6: the delta example in device-shadow-document.html shows `metadata.delta`, the
    // live outputs of using-device-shadows.html never do; iotsim follows the live service.
    response.document = json::object();
    response.document["state"] = std::move(state);
    response.document["metadata"] = record->metadata;
    response.document["version"] = record->version;
    response.document["timestamp"] = now.unix_s();
    add_client_token(response.document, client_token);
    // A GET changes nothing: REST GetThingShadow publishes nothing.
    reply_accepted(response, origin == RequestOrigin::mqtt);
    return response;
}

ShadowResponse ShadowService::update_impl(ShadowResponse response, std::string_view payload,
                                          WallTime now, RequestOrigin origin) {
    auto parsed = detail::parse_update_request(payload, options_.limits);
    if (!parsed) {
        return reject(std::move(response), parsed.error().error, parsed.error().client_token, now,
                      origin);
    }
    detail::UpdateRequest& request = parsed.value();
    const std::int64_t timestamp_s = now.unix_s();

    Entry* current = lookup(response.key, now);
    const bool existed = current != nullptr && !current->record.deleted;
    // A shadow deleted within the retention continues from its remembered version; a shadow that
    // never existed (or was forgotten) is at version 0, so its first update yields 1.
    const std::int64_t base_version = current != nullptr ? current->record.version : 0;

    // Optimistic locking: a version in the request must equal the stored one (§2.3). For a shadow
    // that does not exist the stored version is the base above (iotsim's reading; AWS documents
    // only the existing-shadow case).
    if (request.version && *request.version != base_version) {
        return reject(std::move(response), errors::version_conflict(), request.client_token, now,
                      origin);
    }

    // An existing shadow is merged in place: a copy of the whole document per update would cost
    // more than all the rest. Should the update fail after the merge (413, the store), the entry
    // is restored from its compact JSON, which is the document before the update. A shadow that
    // does not exist (or is a tombstone) starts from an empty document and is only inserted once
    // stored.
    std::optional<Entry> fresh;
    if (!existed) {
        fresh.emplace();
        fresh->record.key = response.key;
        fresh->state_json = empty_object_json;
        fresh->metadata_json = empty_object_json;
    }
    Entry& entry = existed ? *current : *fresh;
    ShadowRecord& next = entry.record;
    const WallTime previous_updated_at = next.updated_at;
    const auto restore = [&entry, existed, base_version, previous_updated_at] {
        if (!existed) {
            return;  // `fresh` is dropped
        }
        entry.record.state = json::parse(entry.state_json, nullptr, /*allow_exceptions=*/false);
        entry.record.metadata =
            json::parse(entry.metadata_json, nullptr, /*allow_exceptions=*/false);
        IOTSIM_ASSERT(entry.record.state.is_object() && entry.record.metadata.is_object());
        entry.record.version = base_version;
        entry.record.updated_at = previous_updated_at;
        entry.state_index.valid = false;
        entry.metadata_index.valid = false;
        entry.delta.valid = false;
    };

    detail::UpdateTrace& trace = trace_;
    detail::apply_state_update(next.state, next.metadata, request.state, timestamp_s, &trace);
    // 413 when the resulting document exceeds the limit, not only the request (§2.8). The texts
    // are written into buffers kept from earlier updates (they take the entry's old text in
    // exchange once the update is accepted).
    std::string& state_json = state_buffer_;
    state_json.clear();
    state_json.reserve(entry.state_json.size() + request.state_text.size());
    detail::render_document(state_json, entry.state_index, next.state, entry.state_json, trace,
                            /*metadata=*/false);
    if (state_json.size() > options_.limits.state_bytes_max) {
        restore();
        return reject(std::move(response), errors::payload_too_large(), request.client_token, now,
                      origin);
    }
    next.version = base_version + 1;
    next.updated_at = now;
    next.deleted = false;

    std::string& metadata_json = metadata_buffer_;
    metadata_json.clear();
    metadata_json.reserve(entry.metadata_json.size() + 2 * request.state_text.size() + 64);
    detail::render_document(metadata_json, entry.metadata_index, next.metadata,
                            entry.metadata_json, trace, /*metadata=*/true);

    // The store first: if it fails, nothing has changed and the request is answered 500.
    try {
        store_.put_serialized(next, state_json, metadata_json);
    } catch (const std::exception&) {
        restore();
        return reject(std::move(response), errors::internal_failure(), request.client_token, now,
                      origin);
    }

    // /update/documents. AMBIG §7.6: what `previous` holds for a brand-new shadow is
    // undocumented. Default: an empty document at the version before this update (0, or the
    // deleted shadow's version). Keys in the order to_payload writes them.
    std::string documents;
    documents.reserve(entry.state_json.size() + entry.metadata_json.size() + state_json.size() +
                      metadata_json.size() + 160);
    documents.push_back('{');
    if (request.client_token) {
        documents.append(R"("clientToken":)");
        append_string(documents, *request.client_token);
        documents.push_back(',');
    }
    documents.append(R"("current":)");
    append_documents_side(documents, metadata_json, state_json, next.version);
    if (existed || options_.documents_previous_for_new_shadow) {
        documents.append(R"(,"previous":)");
        append_documents_side(documents, entry.metadata_json, entry.state_json, base_version);
    }
    documents.append(R"(,"timestamp":)");
    append_integer(documents, timestamp_s);
    documents.push_back('}');

    // AMBIG §7.6, when /update/delta is published: after every accepted update whose resulting
    // shadow has a non-empty delta, whether or not this update touched desired. AWS's text says
    // the delta message "contains all of these attributes, regardless of whether these attributes
    // were contained in the current update message or were already stored", and AWS's answers
    // on re:Post show a delta arriving after a reported-only update that left it unchanged.
    std::string delta_message;
    if (detail::refresh_delta(entry.delta, next.state, next.metadata, trace)) {
        if (!entry.delta.members.empty()) {
            detail::append_delta_message(delta_message, entry.delta,
                                         request.client_token ? &*request.client_token : nullptr,
                                         timestamp_s, next.version);
        }
    } else if (auto delta = compute_delta(next.state)) {
        // A document of another shape (only a damaged store has one): the delta computed whole.
        const auto desired_metadata = next.metadata.find(std::string(desired_key));
        json message = json::object();
        message["version"] = next.version;
        message["timestamp"] = timestamp_s;
        message["metadata"] = desired_metadata == next.metadata.end()
                                  ? json::object()
                                  : delta_metadata(*delta, *desired_metadata);
        message["state"] = std::move(*delta);
        add_client_token(message, request.client_token);
        delta_message = to_payload(message);
    }

    entry.state_json.swap(state_json);
    entry.metadata_json.swap(metadata_json);
    const std::int64_t version = next.version;
    if (!existed) {
        shadows_.insert_or_assign(response.key, std::move(*fresh));
    }

    // /update/accepted: the request's state as sent, nulls included (AMBIG §7.6: AWS is believed
    // to echo them), with metadata for exactly the fields written, nulls stamped like leaves.
    // AMBIG §7.6: whether REST updates publish /update/accepted is undocumented; switchable.
    response.notifications.reserve(3);
    if (origin == RequestOrigin::mqtt || options_.publish_accepted_for_rest) {
        // to_payload(response.document), written from the parts: keys in order.
        std::array<char, 40> leaf_text{};  // to_payload of a leaf's metadata: {"timestamp":t}
        constexpr std::string_view leaf_prefix = R"({"timestamp":)";
        leaf_prefix.copy(leaf_text.data(), leaf_prefix.size());
        char* leaf_end = std::to_chars(leaf_text.data() + leaf_prefix.size(),
                                       leaf_text.data() + leaf_text.size() - 1, timestamp_s)
                             .ptr;
        *leaf_end++ = '}';
        const std::string_view leaf(leaf_text.data(),
                                    static_cast<std::size_t>(leaf_end - leaf_text.data()));
        std::string accepted;
        accepted.reserve(3 * request.state_text.size() + 96);
        detail::TextWriter out(accepted);
        out.put('{');
        if (request.client_token) {
            out.write(R"("clientToken":)");
            detail::write_string(out, *request.client_token);
            out.put(',');
        }
        out.write(R"("metadata":)");
        detail::write_stamp(out, request.state, leaf);
        out.write(R"(,"state":)");
        out.write(request.state_text);
        out.write(R"(,"timestamp":)");
        detail::write_integer(out, timestamp_s);
        out.write(R"(,"version":)");
        detail::write_integer(out, version);
        out.put('}');
        out.flush();
        response.notifications.push_back(
            {reply_suffix(response.operation, "accepted"), std::move(accepted)});
    }
    if (origin == RequestOrigin::rest || options_.update_response_document) {
        response.document = json::object();
        json::object_t& accepted_document = response.document.get_ref<json::object_t&>();
        // In key order, each member goes last.
        if (request.client_token) {
            accepted_document.emplace_hint(accepted_document.end(), "clientToken",
                                           *request.client_token);
        }
        accepted_document.emplace_hint(accepted_document.end(), "metadata",
                                       stamp_metadata(request.state, timestamp_s));
        accepted_document.emplace_hint(accepted_document.end(), "state",
                                       std::move(request.state));
        accepted_document.emplace_hint(accepted_document.end(), "timestamp", timestamp_s);
        accepted_document.emplace_hint(accepted_document.end(), "version", version);
    }
    response.notifications.push_back({"update/documents", std::move(documents)});
    if (!delta_message.empty()) {
        response.notifications.push_back({"update/delta", std::move(delta_message)});
    }
    detail::dispose(request.state);  // within the parse bound's depth
    return response;
}

ShadowResponse ShadowService::delete_impl(ShadowResponse response, std::string_view payload,
                                          WallTime now, RequestOrigin origin) {
    auto token = detail::parse_client_token(payload, options_.limits);
    if (!token) {
        return reject(std::move(response), token.error().error, token.error().client_token, now,
                      origin);
    }
    const std::optional<std::string>& client_token = token.value();
    Entry* entry = lookup(response.key, now);
    if (entry == nullptr || entry->record.deleted) {
        return reject(std::move(response), errors::no_such_shadow(response.key.display_name()),
                      client_token, now, origin);
    }
    // The tombstone remembers the version for the retention period (§2.7).
    ShadowRecord tombstone;
    tombstone.key = response.key;
    tombstone.version = entry->record.version;
    tombstone.updated_at = now;
    tombstone.deleted = true;
    try {
        store_.put_serialized(tombstone, empty_object_json, empty_object_json);
    } catch (const std::exception&) {
        return reject(std::move(response), errors::internal_failure(), client_token, now, origin);
    }
    entry->record = std::move(tombstone);
    entry->state_json = empty_object_json;
    entry->metadata_json = empty_object_json;
    entry->state_index.valid = false;
    entry->metadata_index.valid = false;
    entry->delta.valid = false;
    const ShadowRecord* record = &entry->record;

    // AMBIG §7.6: `version` is the deleted document's version, not one more (AWS-authored
    // Greengrass code returns the current version; AWS's text says "the version of the deleted
    // document" is not reset).
    response.document = json::object();
    response.document["version"] = record->version;
    response.document["timestamp"] = now.unix_s();
    add_client_token(response.document, client_token);
    reply_accepted(response, origin == RequestOrigin::mqtt || options_.publish_accepted_for_rest);
    return response;
}

ShadowListResponse ShadowService::list_named_shadows(std::string_view thing_name,
                                                     std::string_view next_token,
                                                     std::optional<int> page_size, WallTime now) {
    ShadowListResponse response;
    const auto fail = [&response, now](const ShadowError& error) {
        response.status = error.code;
        response.document = error_document(error, std::nullopt, now);
        return response;
    };
    if (!is_valid_thing_name(thing_name)) {
        return fail(errors::invalid_thing_name());
    }
    const int limit = page_size.value_or(default_page_size);
    if (limit < 1 || limit > max_page_size) {
        return fail(errors::invalid_page_size());
    }
    // The token names the last shadow of the previous page, so that a page is stable under
    // deletions and creations between calls. Hex keeps it opaque-looking and URL-safe.
    std::string after;
    if (!next_token.empty()) {
        auto decoded = hex_decode(next_token);
        if (!decoded || !is_valid_shadow_name(*decoded)) {
            return fail(errors::invalid_next_token());
        }
        after = std::move(*decoded);
    }

    const ShadowKey start{std::string(thing_name), after};
    auto it = after.empty() ? shadows_.lower_bound(start) : shadows_.upper_bound(start);
    json results = json::array();
    std::string last;
    bool more = false;
    for (; it != shadows_.end() && it->first.thing_name == thing_name; ++it) {
        const ShadowRecord& record = it->second.record;
        if (record.key.classic() || record.deleted) {
            continue;
        }
        if (results.size() == static_cast<std::size_t>(limit)) {
            more = true;
            break;
        }
        results.push_back(record.key.shadow_name);
        last = record.key.shadow_name;
    }
    response.document = json::object();
    response.document["results"] = std::move(results);
    if (more) {
        response.document["nextToken"] = hex_encode(last);
    }
    response.document["timestamp"] = now.unix_s();
    return response;
}

void ShadowService::expire_tombstones(WallTime now) {
    for (auto it = shadows_.begin(); it != shadows_.end();) {
        if (it->second.record.deleted && tombstone_expired(it->second.record, now)) {
            try {
                store_.erase(it->first);
            } catch (const std::exception&) {
                ++it;  // kept; an expired tombstone is treated as absent and retried later
                continue;
            }
            it = shadows_.erase(it);
        } else {
            ++it;
        }
    }
}

const ShadowRecord* ShadowService::find(const ShadowKey& key) const {
    const auto it = shadows_.find(key);
    return it == shadows_.end() || it->second.record.deleted ? nullptr : &it->second.record;
}

std::size_t ShadowService::size() const {
    std::size_t live = 0;
    for (const auto& [key, entry] : shadows_) {
        live += entry.record.deleted ? 0 : 1;
    }
    return live;
}

std::vector<const ShadowRecord*> ShadowService::live(std::size_t max) const {
    std::vector<const ShadowRecord*> out;
    for (const auto& [key, entry] : shadows_) {
        if (out.size() >= max) {
            break;
        }
        if (!entry.record.deleted) {
            out.push_back(&entry.record);
        }
    }
    return out;
}

std::optional<ShadowError> ShadowService::admit(const ShadowKey& key, WallTime now) {
    if (auto error = check_key(key)) {
        return error;
    }
    if (throttled(key.thing_name, now)) {
        return errors::too_many_requests();
    }
    return std::nullopt;
}

bool ShadowService::throttled(const std::string& thing_name, WallTime now) {
    const std::uint32_t limit = options_.limits.requests_per_second_per_thing;
    if (limit == 0) {
        return false;
    }
    // A fixed window per wall-clock second: every count belongs to the current second, so a new
    // second (or a clock stepping back) starts them all afresh and the map never grows stale.
    const std::int64_t second = now.unix_s();
    if (second != window_second_) {
        windows_.clear();
        window_second_ = second;
    }
    std::uint32_t& count = windows_[thing_name];
    if (count >= limit) {
        return true;
    }
    ++count;
    return false;
}

bool ShadowService::tombstone_expired(const ShadowRecord& record, WallTime now) const {
    // "Within 48 hours" continues the version: strictly less than the retention.
    return now.since_unix_epoch - record.updated_at.since_unix_epoch >=
           options_.deleted_version_retention;
}

ShadowService::Entry* ShadowService::lookup(const ShadowKey& key, WallTime now) {
    const auto it = shadows_.find(key);
    if (it == shadows_.end()) {
        return nullptr;
    }
    if (it->second.record.deleted && tombstone_expired(it->second.record, now)) {
        try {
            store_.erase(key);
            shadows_.erase(it);
        } catch (const std::exception&) {
            // Kept and retried later; it is absent all the same.
        }
        return nullptr;
    }
    return &it->second;
}

}  // namespace iotsim::shadow
