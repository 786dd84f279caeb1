#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/common/time.hpp"
#include "iotsim/shadow/error.hpp"
#include "iotsim/shadow/key.hpp"
#include "iotsim/shadow/store.hpp"
#include "iotsim/shadow/topics.hpp"

namespace iotsim::shadow {

/// AWS's Device Shadow limits (reference §2.8). Every knob has AWS's value as its default.
struct ShadowLimits {
    /// Bytes of the compact JSON of desired + reported, without metadata; checked on the request's
    /// state and on the merged result (413).
    std::size_t state_bytes_max = 8192;
    /// Raw request bytes, checked before anything is parsed (413). AWS's MQTT payload limit, so
    /// that every publish the broker admits is at least looked at.
    std::size_t payload_bytes_max = 128 * 1024;
    /// Levels of nesting in desired/reported (AMBIG §7.4: 5, 6 or 8 in AWS's texts). 6: the
    /// number in the error message AWS sends and in AWS's own Greengrass implementation; the
    /// message is built from this value, so it never contradicts the limit.
    std::size_t depth_max = 6;
    /// Raw `{`/`[` nesting refused before parsing, whatever the nodes (iotsim's bound; nodes
    /// outside `state` are otherwise ignored, so they may nest beyond depth_max up to this).
    std::size_t parse_depth_max = 64;
    /// Bytes of a clientToken.
    std::size_t client_token_bytes_max = 64;
    /// Get/update/delete requests per second per thing, all its shadows together (QUOTAS-2019:
    /// 20); beyond it 429. 0 disables the limit.
    std::uint32_t requests_per_second_per_thing = 20;
};

/// Behaviour switches for the points AWS leaves open (AMBIG §7.6), defaults per the reference.
struct ShadowOptions {
    ShadowLimits limits;
    /// Whether an accepted REST UpdateThingShadow/DeleteThingShadow also publishes
    /// /update/accepted or /delete/accepted (rules commonly listen there). /update/documents and
    /// /update/delta are published for REST updates regardless, as AWS documents.
    bool publish_accepted_for_rest = true;
    /// Whether the first /update/documents of a (re-)created shadow carries
    /// `"previous": {"state": {}, "metadata": {}, "version": <version before>}`; false omits it.
    bool documents_previous_for_new_shadow = true;
    /// How long a deleted shadow's version is remembered (AWS: 48 hours). A shadow re-created
    /// strictly within it continues from that version; from then on it starts at 1.
    Duration deleted_version_retention = hours(48);
    /// Whether an accepted MQTT-origin update also fills ShadowResponse::document (the same JSON
    /// as its /update/accepted payload). A REST-origin update always does: it is the HTTP body.
    /// It is a tree built per update that a caller who only publishes the notifications (IotCore
    /// answering MQTT requests) never reads; such a caller turns it off, and an accepted MQTT
    /// update's document is then null. Rejections always carry their error document.
    bool update_response_document = true;
};

/// Where a request came from. MQTT requests are answered on the /accepted and /rejected topics;
/// REST requests get the document as the HTTP body and no /rejected publication (AWS: "no MQTT
/// error messages are emitted").
enum class RequestOrigin : std::uint8_t { mqtt, rest };

/// A message the caller must publish, on `shadow_topic(response.key, suffix)`.
struct ShadowNotification {
    std::string suffix;   // "update/accepted", "update/documents", "update/delta", ...
    std::string payload;  // compact JSON
};

/// The outcome of one get/update/delete.
struct ShadowResponse {
    ShadowKey key;
    ShadowOperation operation = ShadowOperation::get;
    /// 200 when accepted, else the error code (400, 404, 409, 413, 415, 429, 500).
    int status = 200;
    /// The accepted document, or AWS's error document; the REST body.
    nlohmann::json document;
    /// What to publish, in this order. MQTT: the /accepted or /rejected reply first, then (update)
    /// /update/documents, then /update/delta when the shadow has a delta. REST: no reply on
    /// errors; accepted changes as above with /accepted per publish_accepted_for_rest.
    std::vector<ShadowNotification> notifications;

    [[nodiscard]] bool accepted() const { return status == 200; }
};

/// The outcome of ListNamedShadowsForThing (REST only).
struct ShadowListResponse {
    int status = 200;
    /// `{"results": [...], "nextToken": "...", "timestamp": t}` (nextToken only when more remain),
    /// or an error document.
    nlohmann::json document;

    [[nodiscard]] bool accepted() const { return status == 200; }
};

namespace detail {

// The service's bookkeeping of a shadow's serialised form (see ShadowService::Entry).

/// Where each top-level member of a section (`"key":value`) lies in a document's compact
/// JSON, in key order, so that an update rewrites only the members its request names and
/// copies the others' text as it is.
struct MemberSpan {
    std::string key;
    std::size_t begin = 0;
    std::size_t size = 0;
};

/// The members of the two sections (0 desired, 1 reported) of state_json or metadata_json.
/// Valid only while `valid`: the text is then `{"desired":{..},"reported":{..}}`, each section
/// present exactly when the tree has it, and the spans describe it exactly.
struct DocumentIndex {
    std::array<std::vector<MemberSpan>, 2> sections;
    bool valid = false;
};

/// One top-level member of the delta: `"key":value` of the delta's state and, when the
/// desired metadata has the key, `"key":value` of its metadata.
struct DeltaMember {
    std::string key;
    std::string state;
    std::string metadata;
    bool has_metadata = false;
};

/// A shadow's delta, serialised member by member (in key order), and the members joined with
/// commas as the delta message writes them. `members` is valid only while `valid`, the joined
/// texts only while `joined`.
struct DeltaCache {
    std::vector<DeltaMember> members;
    std::string state;     // the members' state texts, joined
    std::string metadata;  // the members' metadata texts (those it has), joined
    bool valid = false;
    bool joined = false;
};

/// Where a key of a request's section is after the merge: its value in the state and in the
/// metadata section, both null when the merge removed it. The pointers are into the trees, valid
/// until they next change.
struct MemberChange {
    const std::string* key = nullptr;  // the request's
    const nlohmann::json* state = nullptr;
    const nlohmann::json* metadata = nullptr;
};

/// What apply_state_update did to one section (0 desired, 1 reported): one change per key of the
/// request's section, in key order; none when the request had no object for it or the section
/// is gone. Only these members can have changed.
struct SectionTrace {
    std::vector<MemberChange> changes;
};

/// What an update's merge (apply_state_update) changed, for the writers that serialise only
/// that.
struct UpdateTrace {
    std::array<SectionTrace, 2> sections;
    /// Whether the request cleared the state or removed a section whole.
    bool removes_section = false;
    /// Whether the documents were not of the expected types and were merged by the general code:
    /// then nothing above is known, and the writers start afresh.
    bool rewritten = false;
};

}  // namespace detail

/// AWS IoT Core's Device Shadow service as a Sans-I/O library: documents keyed by (thing name,
/// shadow name), with AWS's validation, merge, delta, metadata, versioning, limits, error
/// documents and notifications. It performs no I/O and reads no clock: every call takes `now`
/// (timestamps are `now` in epoch seconds), and it draws no randomness. Persistence goes through
/// the injected ShadowStore. Shadows never require a registered thing.
///
/// Behaviour: ../shared/reference/aws-iot-core.md §2; AMBIG decisions are documented on the
/// options above and next to the code in service.cpp.
///
/// Thread safety: not synchronised; one thread drives one ShadowService.
class ShadowService {
public:
    explicit ShadowService(ShadowStore& store, ShadowOptions options = {});

    /// Reloads every shadow and tombstone from the store (at start, after a restart), erasing the
    /// tombstones whose retention has passed. Store exceptions propagate: a failure at start is
    /// the host's to report.
    void recover(WallTime now);

    /// Handles an MQTT PUBLISH if its topic is a shadow request topic; nullopt otherwise.
    [[nodiscard]] std::optional<ShadowResponse> handle_publish(std::string_view topic,
                                                               std::string_view payload,
                                                               WallTime now);

    /// GetThingShadow / `.../get`. `payload` is ignored except for a clientToken in a JSON object
    /// (the SDKs send one and match the reply on it).
    [[nodiscard]] ShadowResponse get(const ShadowKey& key, std::string_view payload, WallTime now,
                                     RequestOrigin origin);
    /// UpdateThingShadow / `.../update`: `payload` is the request state document.
    [[nodiscard]] ShadowResponse update(const ShadowKey& key, std::string_view payload,
                                        WallTime now, RequestOrigin origin);
    /// DeleteThingShadow / `.../delete`. `payload` as for get.
    [[nodiscard]] ShadowResponse delete_shadow(const ShadowKey& key, std::string_view payload,
                                               WallTime now, RequestOrigin origin);

    /// ListNamedShadowsForThing: the thing's named shadows in byte order of their names (never
    /// the classic one), `page_size` (1-100, default 25) at a time; `next_token` "" for the first
    /// page, else the token of the previous page. An unknown thing has an empty list.
    [[nodiscard]] ShadowListResponse list_named_shadows(std::string_view thing_name,
                                                        std::string_view next_token,
                                                        std::optional<int> page_size, WallTime now);

    /// Forgets tombstones whose retention has passed (they are also forgotten lazily on access).
    void expire_tombstones(WallTime now);

    // ---- queries (no effects) ----
    /// The live shadow, or nullptr (never a tombstone).
    [[nodiscard]] const ShadowRecord* find(const ShadowKey& key) const;
    /// Number of live shadows.
    [[nodiscard]] std::size_t size() const;
    /// The live shadows in key order (thing name, then shadow name; the classic one first), the
    /// first `max` of them. Pointers are valid until the next non-const call.
    [[nodiscard]] std::vector<const ShadowRecord*> live(std::size_t max) const;
    [[nodiscard]] const ShadowOptions& options() const { return options_; }

private:
    /// A shadow or tombstone with the compact JSON of its state and metadata, kept equal to
    /// to_payload(record.state) and to_payload(record.metadata): the `previous` of the next
    /// /update/documents, and what an update that fails after merging in place is restored from.
    ///
    /// The indexes locate the top-level members of each section in that text, and `delta` keeps
    /// the serialised delta member by member, so that an update recomputes and serialises only
    /// what its request touched.
    struct Entry {
        ShadowRecord record;
        std::string state_json;
        std::string metadata_json;
        detail::DocumentIndex state_index;
        detail::DocumentIndex metadata_index;
        detail::DeltaCache delta;
    };

    [[nodiscard]] bool throttled(const std::string& thing_name, WallTime now);
    /// The checks every request passes first: valid names, then the per-thing request rate.
    [[nodiscard]] std::optional<ShadowError> admit(const ShadowKey& key, WallTime now);
    [[nodiscard]] bool tombstone_expired(const ShadowRecord& record, WallTime now) const;
    /// The entry for `key` (live or tombstone), after erasing it if it is an expired tombstone.
    Entry* lookup(const ShadowKey& key, WallTime now);

    ShadowResponse get_impl(ShadowResponse response, std::string_view payload, WallTime now,
                            RequestOrigin origin);
    ShadowResponse update_impl(ShadowResponse response, std::string_view payload, WallTime now,
                               RequestOrigin origin);
    ShadowResponse delete_impl(ShadowResponse response, std::string_view payload, WallTime now,
                               RequestOrigin origin);

    ShadowStore& store_;
    ShadowOptions options_;
    std::map<ShadowKey, Entry> shadows_;  // live shadows and tombstones
    // Requests per thing in the wall-clock second `window_second_`, for the rate limit.
    std::map<std::string, std::uint32_t, std::less<>> windows_;
    std::int64_t window_second_ = 0;
    // Where an update writes the new texts of state and metadata, and what it changed, reused
    // from update to update.
    std::string state_buffer_;
    std::string metadata_buffer_;
    detail::UpdateTrace trace_;
};

}  // namespace iotsim::shadow
