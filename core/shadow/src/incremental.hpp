#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "document_detail.hpp"
#include "iotsim/shadow/service.hpp"

/// The incremental side of an update: a shadow's compact JSON and its delta rewritten for the
/// top-level members the request touched only, the rest copied from what the previous update
/// produced. Every function writes exactly the bytes to_payload() would write for the whole
/// document (resp. the delta message); the caches only decide what is serialised again.
///
/// The invariant they rely on (apply_state_update): an update changes, in each section, only the
/// top-level members named by the request's section; a section set to null, a request state set
/// to null or an emptied section removes the section whole; a section is created or reset only
/// with the members of the request's section.
namespace iotsim::shadow::detail {

/// Writes to_payload(document) into `out` (which is empty), where `document` is a shadow's
/// state (`metadata` false) or metadata (true) after the apply_state_update that left `trace`,
/// and `old_text` its text before it. When `index` is valid (it describes `old_text`), only the
/// members the update changed are serialised; the others are copied from `old_text`. `index` is
/// left describing `out`, or invalid when `document` is not of the usual shape (it is then
/// written whole).
void render_document(std::string& out, DocumentIndex& index, const nlohmann::json& document,
                     std::string_view old_text, const UpdateTrace& trace, bool metadata);

/// Brings `delta` up to date with `state` and `metadata` after the apply_state_update that left
/// `trace`: recomputes the members of the keys the request named, or all of them when the cache
/// is not valid or the request removed a section. Returns false (and leaves the cache invalid)
/// when the document is not of the usual shape; the caller then computes the delta whole.
[[nodiscard]] bool refresh_delta(DeltaCache& delta, const nlohmann::json& state,
                                 const nlohmann::json& metadata, const UpdateTrace& trace);

/// Appends the /update/delta message for a non-empty `delta`: to_payload of
/// `{"clientToken"?, "metadata", "state", "timestamp", "version"}`. `client_token` is null when
/// the request had none. Joins the members first if they changed.
void append_delta_message(std::string& out, DeltaCache& delta,
                          const std::string* client_token, std::int64_t timestamp_s,
                          std::int64_t version);

/// Appends the decimal digits of `number`.
void append_integer(std::string& out, std::int64_t number);

}  // namespace iotsim::shadow::detail
