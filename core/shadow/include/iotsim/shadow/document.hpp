#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

/// The shadow document algorithms as pure functions over nlohmann::json: merge, metadata, delta,
/// and the measures behind AWS's limits (reference §2.4, §2.6, §2.8). The service composes them;
/// they are public so that tests and later consumers (rules' get_thing_shadow, the simulator's
/// snapshots) use the very same code.
///
/// Shapes: a shadow's `state` is an object with optional "desired" and "reported" sections, each
/// a non-empty object; its `metadata` mirrors `state` with `{"timestamp": epoch seconds}` in place
/// of every leaf (and an array of per-element metadata in place of an array).
///
/// Preconditions: inputs are bounded in depth (the service validates requests first); the
/// recursive functions rely on it.
///
/// Thread safety: pure functions; no shared state.
namespace iotsim::shadow {

/// The two sections of `state`.
inline constexpr std::string_view desired_key = "desired";
inline constexpr std::string_view reported_key = "reported";

/// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points above
/// U+10FFFF). The service answers 415 otherwise, before any parsing.
[[nodiscard]] bool is_valid_utf8(std::string_view text);

/// The deepest nesting of `{`/`[` in `text`, ignoring brackets inside strings, counting at most
/// to `stop_after + 1` so that a hostile payload costs one linear scan and nothing more. Used to
/// refuse absurd nesting before a parser builds a tree from it. Malformed text is scanned as is.
[[nodiscard]] std::size_t raw_nesting_depth(std::string_view text, std::size_t stop_after);

/// The nesting depth of a desired or reported section as AWS counts it: the section object is
/// level 1, every non-empty object or array below adds one; scalars and empty containers add
/// nothing. AWS accepts `desired.a.b.c.d.e.f = 1` (6 levels) and rejects one more.
[[nodiscard]] std::size_t section_depth(const nlohmann::json& section);

/// Whether a null appears anywhere inside an array under `value` (AWS rejects them: an array is
/// a value, so a null in it cannot mean "remove").
[[nodiscard]] bool has_null_in_array(const nlohmann::json& value);

/// The size AWS limits: the compact JSON of the state (desired and reported, no metadata, no
/// whitespace), in bytes of UTF-8.
[[nodiscard]] std::size_t state_size_bytes(const nlohmann::json& state);

/// Metadata for a value written at `timestamp_s`: `{"timestamp": t}` for a scalar (or null), an
/// array of per-element metadata for an array, and the same mirror for an object.
[[nodiscard]] nlohmann::json stamp_metadata(const nlohmann::json& value, std::int64_t timestamp_s);

/// Applies a validated request `state` node to a shadow's `state` and `metadata`:
/// - `request_state` null clears both sections (the shadow still exists);
/// - a section set to null is removed whole;
/// - within a section: null removes a key; objects merge deeply; scalars and arrays replace the
///   stored value whole (arrays are values); an object over a non-object replaces it;
/// - nulls inside newly written objects are dropped, and an object left empty (by removals or
///   because it was written empty) disappears, up to and including the section;
/// - metadata is stamped with `timestamp_s` for the written leaves only and removed with the
///   keys it describes; untouched leaves keep their timestamps.
void apply_state_update(nlohmann::json& state, nlohmann::json& metadata,
                        const nlohmann::json& request_state, std::int64_t timestamp_s);

/// The delta of a shadow's `state`, or nullopt when there is none (reference §2.6): keys of
/// desired whose value differs from reported, recursing into objects so that only differing
/// leaves appear with their path to the root; arrays and scalars compare whole (numbers by value:
/// 1 equals 1.0); keys only in reported never appear; keys missing from reported always do.
/// Without a desired section there is no delta; without a reported one it is all of desired.
[[nodiscard]] std::optional<nlohmann::json> compute_delta(const nlohmann::json& state);

/// The metadata of a delta: the desired section's metadata at the delta's leaves.
[[nodiscard]] nlohmann::json delta_metadata(const nlohmann::json& delta,
                                            const nlohmann::json& desired_metadata);

/// Compact UTF-8 serialisation for publication (never throws): the bytes of
/// `document.dump(-1, ' ', false, error_handler_t::replace)`, written faster.
[[nodiscard]] std::string to_payload(const nlohmann::json& document);

/// Appends to_payload(value) to `out` (no temporary string per document part).
void append_payload(std::string& out, const nlohmann::json& value);

/// Appends `text` as a JSON string literal, exactly as to_payload writes a string.
void append_string(std::string& out, std::string_view text);

}  // namespace iotsim::shadow
