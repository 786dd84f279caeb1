#include "request.hpp"

#include <limits>
#include <utility>

#include "iotsim/shadow/document.hpp"

namespace iotsim::shadow::detail {

using nlohmann::json;

namespace {

constexpr std::string_view client_token_key = "clientToken";

// Parses `payload` when it may be parsed at all: within the size limit, UTF-8, and not nested
// beyond the parse bound (so no recursive pass over the tree can run deep). A discarded value
// means the payload was not JSON.
Result<json, ShadowError> parse_bounded(std::string_view payload, const ShadowLimits& limits) {
    if (payload.size() > limits.payload_bytes_max) {
        return errors::payload_too_large();
    }
    if (!is_valid_utf8(payload)) {
        return errors::unsupported_encoding();
    }
    if (raw_nesting_depth(payload, limits.parse_depth_max) > limits.parse_depth_max) {
        return errors::too_deep(limits.depth_max);
    }
    return json::parse(payload, nullptr, /*allow_exceptions=*/false);
}

struct ClientToken {
    std::optional<std::string> value;  // a valid token, to echo
    bool invalid = false;              // present but not a string of at most the limit
};

ClientToken read_client_token(const json& root, const ShadowLimits& limits) {
    ClientToken token;
    const auto it = root.find(client_token_key);
    if (it == root.end()) {
        return token;
    }
    if (it->is_string() &&
        it->get_ref<const std::string&>().size() <= limits.client_token_bytes_max) {
        token.value = it->get<std::string>();
    } else {
        token.invalid = true;
    }
    return token;
}

// `version` must be a non-negative integer; null counts as absent (AWS-authored Greengrass code
// treats it so). Floating numbers, strings and negatives are "Invalid version".
Result<std::optional<std::int64_t>, ShadowError> read_version(const json& root) {
    const auto it = root.find("version");
    if (it == root.end() || it->is_null()) {
        return std::optional<std::int64_t>{};
    }
    if (it->is_number_unsigned()) {
        const auto value = it->get<std::uint64_t>();
        if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return errors::invalid_version();
        }
        return std::optional<std::int64_t>{static_cast<std::int64_t>(value)};
    }
    if (it->is_number_integer() && it->get<std::int64_t>() >= 0) {
        return std::optional<std::int64_t>{it->get<std::int64_t>()};
    }
    return errors::invalid_version();
}

}  // namespace

Result<UpdateRequest, RequestError> parse_update_request(std::string_view payload,
                                                         const ShadowLimits& limits) {
    auto parsed = parse_bounded(payload, limits);
    if (!parsed) {
        return RequestError{parsed.error(), std::nullopt};
    }
    const json& root = parsed.value();
    // An empty body is not JSON either: AWS's table has no other message for it.
    if (root.is_discarded() || !root.is_object()) {
        return RequestError{errors::invalid_json(), std::nullopt};
    }
    const ClientToken token = read_client_token(root, limits);
    const auto fail = [&token](ShadowError error) {
        return RequestError{std::move(error), token.value};
    };

    const auto state = root.find("state");
    if (state == root.end()) {
        return fail(errors::missing_state());
    }
    if (!state->is_null()) {
        if (!state->is_object()) {
            return fail(errors::state_not_object());
        }
        for (const auto& item : state->items()) {
            if (item.key() != desired_key && item.key() != reported_key) {
                return fail(errors::invalid_state_node());
            }
        }
        const auto desired = state->find(std::string(desired_key));
        if (desired != state->end() && !desired->is_object() && !desired->is_null()) {
            return fail(errors::desired_not_object());
        }
        const auto reported = state->find(std::string(reported_key));
        if (reported != state->end() && !reported->is_object() && !reported->is_null()) {
            return fail(errors::reported_not_object());
        }
        // AWS: "Arrays can't have null values". AWS names no message; the request is not a valid
        // state document, so iotsim answers with the generic one.
        if (has_null_in_array(*state)) {
            return fail(errors::invalid_json());
        }
        for (const auto& section : state->items()) {
            if (section_depth(section.value()) > limits.depth_max) {
                return fail(errors::too_deep(limits.depth_max));
            }
        }
    }
    if (token.invalid) {
        return fail(errors::invalid_client_token());
    }
    auto version = read_version(root);
    if (!version) {
        return fail(version.error());
    }
    // The request alone may already be too large, whatever it merges into (§2.8). Nulls count
    // here: they are part of what was sent.
    if (state_size_bytes(*state) > limits.state_bytes_max) {
        return fail(errors::payload_too_large());
    }
    return UpdateRequest{*state, version.value(), token.value};
}

Result<std::optional<std::string>, RequestError> parse_client_token(std::string_view payload,
                                                                    const ShadowLimits& limits) {
    if (payload.empty()) {
        return std::optional<std::string>{};
    }
    auto parsed = parse_bounded(payload, limits);
    if (!parsed || parsed.value().is_discarded() || !parsed.value().is_object()) {
        return std::optional<std::string>{};
    }
    ClientToken token = read_client_token(parsed.value(), limits);
    if (token.invalid) {
        return RequestError{errors::invalid_client_token(), std::nullopt};
    }
    return std::move(token.value);
}

}  // namespace iotsim::shadow::detail
