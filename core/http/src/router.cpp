#include "iotsim/http/router.hpp"

#include "iotsim/http/websocket.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include <nlohmann/json.hpp>

#include "iotsim/http/base64.hpp"
#include "iotsim/http/url.hpp"
#include "iotsim/mqtt/topic.hpp"
#include "iotsim/shadow/document.hpp"
#include "iotsim/shadow/error.hpp"
#include "json_text.hpp"

namespace iotsim::http {

namespace {

using nlohmann::json;

constexpr std::string_view things_prefix = "/things/";
constexpr std::string_view shadow_suffix = "/shadow";
constexpr std::string_view list_named_prefix = "/api/things/shadow/ListNamedShadowsForThing/";
constexpr std::string_view topics_prefix = "/topics/";
constexpr std::string_view retained_path = "/retainedMessage";
constexpr std::string_view basic_ingest_prefix = "$aws/rules/";
/// Nesting allowed in the user-properties JSON (an array of flat objects needs 2).
constexpr int user_properties_depth_max = 4;
/// Digits accepted in an integer query parameter; more is out of every range AWS allows.
constexpr std::size_t integer_digits_max = 18;

Response json_response(const json& body) {
    Response response;
    response.headers.push_back({"Content-Type", "application/json"});
    response.body = json_text(body);
    return response;
}

/// A decimal integer, optionally negative; nullopt for anything else (empty, '+', spaces, more
/// than integer_digits_max digits).
std::optional<std::int64_t> parse_integer(std::string_view text) {
    const bool negative = !text.empty() && text.front() == '-';
    if (negative) {
        text.remove_prefix(1);
    }
    if (text.empty() || text.size() > integer_digits_max) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    return negative ? -value : value;
}

/// A boolean as botocore serialises one ("true"/"false"); case-insensitive like AWS's parsers.
std::optional<bool> parse_boolean(std::string_view text) {
    if (iequals(text, "true")) {
        return true;
    }
    if (iequals(text, "false")) {
        return false;
    }
    return std::nullopt;
}

/// Strips `$aws/rules/<rule>/` (AWS: those three levels do not count toward the topic limits).
std::string_view without_basic_ingest(std::string_view topic) {
    if (!topic.starts_with(basic_ingest_prefix)) {
        return topic;
    }
    const std::string_view rest = topic.substr(basic_ingest_prefix.size());
    const std::size_t slash = rest.find('/');
    return slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
}

/// Whether `text` nests `[`/`{` deeper than `depth_max` (strings skipped), checked before
/// parsing so that a hostile header cannot make the parser recurse.
bool nests_deeper_than(std::string_view text, int depth_max) {
    int depth = 0;
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
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > depth_max) {
                return true;
            }
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return false;
}

/// A topic a client may name in a REST request: UTF-8 without NUL and without wildcards.
bool is_plain_topic(std::string_view topic) {
    return !topic.empty() && shadow::is_valid_utf8(topic) &&
           topic.find('\0') == std::string_view::npos && mqtt::is_valid_topic_name(topic);
}

/// `x-amz-mqtt5-user-properties`: base64 of a JSON array of single-key objects with string
/// values, e.g. `[{"deviceName":"alpha"},{"deviceCnt":"45"}]` (AWS's example). boto3 given a
/// Python string JSON-encodes it once more (the model marks the header `jsonvalue`), so a JSON
/// string holding that array is accepted too.
std::optional<std::vector<mqtt::UserProperty>> parse_user_properties(std::string_view header) {
    auto decoded = base64_decode(header);
    if (!decoded || nests_deeper_than(*decoded, user_properties_depth_max)) {
        return std::nullopt;
    }
    json j = json::parse(*decoded, nullptr, false);
    if (j.is_string()) {
        const std::string inner = j.get<std::string>();
        if (nests_deeper_than(inner, user_properties_depth_max)) {
            return std::nullopt;
        }
        j = json::parse(inner, nullptr, false);
    }
    if (j.is_discarded() || !j.is_array()) {
        return std::nullopt;
    }
    std::vector<mqtt::UserProperty> properties;
    for (const json& element : j) {
        if (!element.is_object()) {
            return std::nullopt;
        }
        for (const auto& [key, value] : element.items()) {
            if (!value.is_string()) {
                return std::nullopt;
            }
            properties.push_back(mqtt::UserProperty{key, value.get<std::string>()});
        }
    }
    return properties;
}

/// The user properties of a retained message as GetRetainedMessage returns them: base64 of the
/// JSON array of single-key objects, in the order they were published.
std::string encode_user_properties(const std::vector<mqtt::UserProperty>& properties) {
    json array = json::array();
    for (const auto& p : properties) {
        array.push_back(json{{p.key, p.value}});
    }
    return base64_encode(json_text(array));
}

bool expired(const broker::RetainedMessage& retained, Now now) {
    return retained.message == nullptr ||
           (retained.message->expires_at && *retained.message->expires_at <= now.wall);
}

ApiError not_found() { return api_error(404, "Not Found"); }

ApiError method_not_allowed() { return api_error(405, "Method Not Allowed"); }

ApiError invalid_request(std::string message) { return api_error(400, std::move(message)); }

/// The REST answer for a shadow service response: the document on 200, else AWS's error type
/// with the message of the shadow error document.
Response shadow_result(int status, const json& document, const std::string& request_id) {
    if (status == 200) {
        return json_response(document);
    }
    std::string message;
    if (document.is_object()) {
        if (const auto it = document.find("message"); it != document.end() && it->is_string()) {
            message = it->get<std::string>();
        }
    }
    return error_response(api_error(status, std::move(message)), request_id);
}

/// A routed request: which operation, and the decoded path parameter.
struct Route {
    Operation operation = Operation::get_thing_shadow;
    std::string resource;  // decoded thing name or topic
};

/// Matches the raw path; the error is 404 (unknown path), 405 (known path, other method) or 400
/// (bad escape in the path parameter).
Result<Route, ApiError> match(const Request& request) {
    const std::string_view path = request.path;
    const std::string_view method = request.method;
    std::optional<Operation> operation;
    std::string_view raw;
    bool known = false;

    if (path.starts_with(things_prefix) && path.ends_with(shadow_suffix) &&
        path.size() >= things_prefix.size() + shadow_suffix.size()) {
        raw = path.substr(things_prefix.size(),
                          path.size() - things_prefix.size() - shadow_suffix.size());
        if (raw.find('/') == std::string_view::npos) {
            known = true;
            if (method == "GET") {
                operation = Operation::get_thing_shadow;
            } else if (method == "POST") {
                operation = Operation::update_thing_shadow;
            } else if (method == "DELETE") {
                operation = Operation::delete_thing_shadow;
            }
        }
    } else if (path.starts_with(list_named_prefix)) {
        raw = path.substr(list_named_prefix.size());
        if (raw.find('/') == std::string_view::npos) {
            known = true;
            if (method == "GET") {
                operation = Operation::list_named_shadows_for_thing;
            }
        }
    } else if (path.starts_with(topics_prefix)) {
        // `{topic}` is not greedy in the model, so botocore sends '/' as %2F; curl users send it
        // literally. Both mean the same topic.
        raw = path.substr(topics_prefix.size());
        known = true;
        if (method == "POST") {
            operation = Operation::publish;
        }
    } else if (path == retained_path) {
        known = true;
        if (method == "GET") {
            operation = Operation::list_retained_messages;
        }
    } else if (path.starts_with(retained_path) && path[retained_path.size()] == '/') {
        raw = path.substr(retained_path.size() + 1);
        known = true;
        if (method == "GET") {
            operation = Operation::get_retained_message;
        }
    }
    if (!known) {
        return not_found();
    }
    if (!operation) {
        return method_not_allowed();
    }
    auto decoded = percent_decode(raw);
    if (!decoded) {
        return invalid_request("Invalid percent-encoding in the request path");
    }
    return Route{*operation, std::move(*decoded)};
}

}  // namespace

std::string_view operation_name(Operation operation) {
    switch (operation) {
        case Operation::get_thing_shadow: return "GetThingShadow";
        case Operation::update_thing_shadow: return "UpdateThingShadow";
        case Operation::delete_thing_shadow: return "DeleteThingShadow";
        case Operation::list_named_shadows_for_thing: return "ListNamedShadowsForThing";
        case Operation::publish: return "Publish";
        case Operation::list_retained_messages: return "ListRetainedMessages";
        case Operation::get_retained_message: return "GetRetainedMessage";
    }
    return "";
}

Router::Router(DataPlane& data_plane, Rng& rng, RouterOptions options)
    : data_plane_(data_plane), rng_(rng), options_(options) {}

std::string Router::next_request_id() { return rng_.uuid4(); }

std::optional<ApiError> Router::authorize(const AuthorizeRequest& request) const {
    if (!authorize_) {
        return std::nullopt;  // no authentication yet: every request is admitted
    }
    return authorize_(request);
}

Response Router::websocket_upgrade(const Request& request, Now now, const Caller& caller) {
    const std::string request_id = next_request_id();
    const auto refuse = [&](const ApiError& error) {
        Response response = error_response(error, request_id);
        response.headers.push_back({"x-amzn-RequestId", request_id});
        return response;
    };
    if (request.method != "GET") {
        Response response = refuse(ApiError{405, "MethodNotAllowedException", "Method Not Allowed"});
        response.headers.push_back({"Allow", "GET"});
        return response;
    }
    const auto has_token = [&](std::string_view name, std::string_view token) {
        const std::string* value = request.header(name);
        if (value == nullptr) {
            return false;
        }
        for (std::size_t start = 0; start <= value->size();) {
            const auto comma = value->find(',', start);
            std::string_view item = std::string_view(*value).substr(
                start, comma == std::string::npos ? std::string_view::npos : comma - start);
            while (!item.empty() && item.front() == ' ') {
                item.remove_prefix(1);
            }
            while (!item.empty() && item.back() == ' ') {
                item.remove_suffix(1);
            }
            if (iequals(item, token)) {
                return true;
            }
            if (comma == std::string::npos) {
                break;
            }
            start = comma + 1;
        }
        return false;
    };
    const std::string* key = request.header("Sec-WebSocket-Key");
    const std::string* version = request.header("Sec-WebSocket-Version");
    if (!has_token("Upgrade", "websocket") || !has_token("Connection", "upgrade") || key == nullptr ||
        key->size() != 24 || version == nullptr || *version != "13") {
        return refuse(invalid_request("GET /mqtt is MQTT over WebSocket: it needs Upgrade: websocket, "
                                      "Connection: Upgrade, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key"));
    }
    if (!has_token("Sec-WebSocket-Protocol", "mqtt")) {
        return refuse(invalid_request("MQTT over WebSocket needs Sec-WebSocket-Protocol: mqtt"));
    }
    std::string principal;
    const bool presigned = request.query.find("X-Amz-Signature=") != std::string::npos ||
                           request.query.find("X-Amz-Algorithm=") != std::string::npos ||
                           request.header("Authorization") != nullptr;
    const bool custom =
        !presigned && caller.custom_auth_offered && websocket_custom_auth_ && websocket_custom_auth_(request);
    if (!custom && !options_.sigv4.secrets.empty()) {
        if (auto refused = verify_sigv4_query(request, options_.sigv4, now.wall, &principal)) {
            return refuse(*refused);
        }
    }
    Response response;
    if (custom) {
        response.custom_auth = true;
        response.upgrade_headers = request.headers;
        response.upgrade_query = request.query;
    }
    response.status = 101;
    response.headers = {{"Upgrade", "websocket"},
                        {"Sec-WebSocket-Accept", ws::accept_key(*key)},
                        {"Sec-WebSocket-Protocol", "mqtt"}};
    response.upgrade = true;
    response.principal = std::move(principal);
    return response;
}

Response Router::handle(const Request& request, Now now, const Caller& caller) {
    // MQTT over WebSocket (reference §5.3): authenticated by a presigned URL, not a header.
    if (request.path == "/mqtt") {
        return websocket_upgrade(request, now, caller);
    }
    // A certificate verified in the TLS handshake authenticates an unsigned request (AWS's port
    // 8443); a signed request is SigV4's whatever the transport (botocore over HTTPS).
    const bool by_certificate = !caller.certificate_id.empty() && request.header("Authorization") == nullptr;
    const bool by_custom = caller.custom != nullptr;
    if (!by_certificate && !by_custom && caller.custom_auth_offered && custom_auth_ &&
        request.header("Authorization") == nullptr &&
        request.query.find("X-Amz-Signature=") == std::string::npos && custom_auth_(request)) {
        Response pending;
        pending.custom_auth_pending = true;
        return pending;
    }
    if (!by_certificate && !by_custom) {
        if (auto refused = verify_sigv4(request, options_.sigv4, now.wall)) {
            const std::string request_id = next_request_id();
            Response response = error_response(*refused, request_id);
            response.headers.push_back({"x-amzn-RequestId", request_id});
            return response;
        }
        if (front_) {
            if (std::optional<Response> answered = front_(request, now)) {
                return std::move(*answered);
            }
        }
    }
    const std::string request_id = next_request_id();
    Response response = route(request, request_id, now, by_certificate || by_custom ? caller : Caller{});
    response.headers.push_back({"x-amzn-RequestId", request_id});
    return response;
}

Response Router::route(const Request& request, const std::string& request_id, Now now, const Caller& caller) {
    auto matched = match(request);
    if (!matched) {
        return error_response(matched.error(), request_id);
    }
    Route route = std::move(matched).value();
    auto params_or = parse_query(request.query);
    if (!params_or) {
        return error_response(invalid_request("Invalid percent-encoding in the query string"),
                              request_id);
    }
    const std::vector<QueryParam>& params = *params_or;
    const auto param = [&params](std::string_view name) { return find_param(params, name); };

    AuthorizeRequest auth;
    auth.operation = route.operation;
    auth.request = &request;
    auth.resource = route.resource;
    auth.certificate_id = caller.certificate_id;
    auth.address = caller.address;
    auth.custom = caller.custom;
    if (const std::string* name = param("name");
        name && (route.operation == Operation::get_thing_shadow ||
                 route.operation == Operation::update_thing_shadow ||
                 route.operation == Operation::delete_thing_shadow)) {
        auth.shadow_name = *name;
    }
    if (const std::string* retain = param("retain"); retain && route.operation == Operation::publish) {
        auth.retain = parse_boolean(*retain).value_or(false);
    }
    if (auto denied = authorize(auth)) {
        return error_response(*denied, request_id);
    }

    switch (route.operation) {
        case Operation::get_thing_shadow:
        case Operation::update_thing_shadow:
        case Operation::delete_thing_shadow: {
            // `?name=` with no value names no shadow: refused rather than read as the classic one.
            if (param("name") && param("name")->empty()) {
                return error_response(
                    invalid_request(shadow::errors::invalid_shadow_name().message), request_id);
            }
            const shadow::ShadowKey key{route.resource, auth.shadow_name};
            const shadow::ShadowResponse result =
                route.operation == Operation::get_thing_shadow
                    ? data_plane_.shadow_get(key, request.body, now)
                    : (route.operation == Operation::update_thing_shadow
                           ? data_plane_.shadow_update(key, request.body, now)
                           : data_plane_.shadow_delete(key, request.body, now));
            return shadow_result(result.status, result.document, request_id);
        }
        case Operation::list_named_shadows_for_thing: {
            std::optional<int> page_size;
            if (const std::string* text = param("pageSize")) {
                const auto value = parse_integer(*text);
                if (!value || *value < 1 || *value > 100) {
                    return error_response(
                        invalid_request(shadow::errors::invalid_page_size().message), request_id);
                }
                page_size = static_cast<int>(*value);
            }
            const std::string* token = param("nextToken");
            const shadow::ShadowListResponse result = data_plane_.list_named_shadows(
                route.resource, token ? std::string_view{*token} : std::string_view{}, page_size,
                now);
            return shadow_result(result.status, result.document, request_id);
        }
        case Operation::publish: {
            const std::string& topic = route.resource;
            if (!is_plain_topic(topic)) {
                return error_response(invalid_request("Invalid topic name"), request_id);
            }
            const std::string_view counted = without_basic_ingest(topic);
            if (counted.size() > options_.topic_bytes_max ||
                mqtt::count_slashes(counted) > options_.topic_slashes_max) {
                return error_response(
                    invalid_request("Topic exceeds 256 bytes or 7 forward slashes"), request_id);
            }
            // Clients may publish only to the reserved topics AWS lets them (§1.7): the shadow
            // and jobs request topics under $aws/things/ and Basic Ingest under $aws/rules/.
            if (topic.starts_with('$') && !topic.starts_with("$aws/things/") &&
                !(topic.starts_with(basic_ingest_prefix) && topic.size() > basic_ingest_prefix.size())) {
                return error_response(invalid_request("Publish to a reserved topic is not allowed"),
                                      request_id);
            }
            broker::Message message;
            message.from_v5 = true;  // HTTP publishes carry MQTT 5 properties and expiry
            if (const std::string* qos = param("qos")) {
                if (*qos == "0") {
                    message.qos = mqtt::QoS::at_most_once;
                } else if (*qos == "1") {
                    message.qos = mqtt::QoS::at_least_once;
                } else {
                    return error_response(invalid_request("Invalid qos: must be 0 or 1"), request_id);
                }
            }
            if (const std::string* retain = param("retain")) {
                const auto value = parse_boolean(*retain);
                if (!value) {
                    return error_response(invalid_request("Invalid retain: must be true or false"),
                                          request_id);
                }
                message.retain = *value;
            }
            if (message.retain && topic.starts_with('$')) {
                return error_response(
                    invalid_request("Retained publish to a reserved topic is not allowed"), request_id);
            }
            if (const std::string* expiry = param("messageExpiry")) {
                const auto value = parse_integer(*expiry);
                if (!value || *value < 0) {
                    return error_response(invalid_request("Invalid messageExpiry"), request_id);
                }
                // AWS (§1.8): 0 is adjusted to 1 second, values above 7 days are clamped.
                const std::int64_t s = std::clamp<std::int64_t>(
                    *value, 1, static_cast<std::int64_t>(options_.message_expiry_max_s));
                message.expires_at = WallTime{now.wall.since_unix_epoch + seconds(s)};
            }
            if (const std::string* content_type = param("contentType")) {
                if (!shadow::is_valid_utf8(*content_type)) {
                    return error_response(invalid_request("Invalid contentType"), request_id);
                }
                message.properties.content_type = *content_type;
            }
            if (const std::string* response_topic = param("responseTopic")) {
                if (!is_plain_topic(*response_topic)) {
                    return error_response(invalid_request("Invalid responseTopic"), request_id);
                }
                message.properties.response_topic = *response_topic;
            }
            if (const std::string* indicator = request.header("x-amz-mqtt5-payload-format-indicator")) {
                if (*indicator == "UNSPECIFIED_BYTES") {
                    message.properties.payload_format_indicator = 0;
                } else if (*indicator == "UTF8_DATA") {
                    message.properties.payload_format_indicator = 1;
                } else {
                    return error_response(invalid_request("Invalid payloadFormatIndicator"), request_id);
                }
            }
            if (const std::string* correlation = request.header("x-amz-mqtt5-correlation-data")) {
                auto data = base64_decode(*correlation);
                if (!data) {
                    return error_response(
                        invalid_request("Invalid correlationData: must be base64"), request_id);
                }
                message.properties.correlation_data = std::move(*data);
            }
            if (const std::string* user = request.header("x-amz-mqtt5-user-properties")) {
                auto properties = parse_user_properties(*user);
                if (!properties) {
                    return error_response(invalid_request("Invalid userProperties"), request_id);
                }
                message.properties.user_properties = std::move(*properties);
            }
            if (request.body.size() > options_.payload_bytes_max) {
                return error_response(
                    api_error(413, "The payload exceeds the maximum size allowed"), request_id);
            }
            message.topic = topic;
            message.payload = request.body;
            auto published = data_plane_.publish(std::move(message), now);
            if (!published) {
                return error_response(published.error(), request_id);
            }
            return json_response(json{{"message", "OK"}, {"traceId", request_id}});
        }
        case Operation::list_retained_messages: {
            int max_results = options_.retained_page_size_default;
            if (const std::string* text = param("maxResults")) {
                const auto value = parse_integer(*text);
                if (!value || *value < 1 || *value > 200) {
                    return error_response(invalid_request("Invalid maxResults: must be 1 to 200"),
                                          request_id);
                }
                max_results = static_cast<int>(*value);
            }
            const std::string* token = param("nextToken");
            auto page = data_plane_.list_retained(
                token ? std::string_view{*token} : std::string_view{}, max_results, now);
            if (!page) {
                return error_response(page.error(), request_id);
            }
            json topics = json::array();
            for (const broker::RetainedMessage& retained : page.value().messages) {
                if (expired(retained, now)) {
                    continue;
                }
                topics.push_back(json{{"topic", retained.message->topic},
                                      {"payloadSize", retained.message->payload.size()},
                                      {"qos", static_cast<int>(retained.message->qos)},
                                      {"lastModifiedTime", retained.stored_at.unix_ms()}});
            }
            json body = json::object();
            body["retainedTopics"] = std::move(topics);
            if (!page.value().next_token.empty()) {
                body["nextToken"] = page.value().next_token;
            }
            return json_response(body);
        }
        case Operation::get_retained_message: {
            const std::string& topic = route.resource;
            if (!is_plain_topic(topic)) {
                return error_response(invalid_request("Invalid topic name"), request_id);
            }
            const auto retained = data_plane_.get_retained(topic, now);
            if (!retained || expired(*retained, now)) {
                // AWS documents no text for this 404; iotsim's wording.
                return error_response(
                    api_error(404, "No retained message exists for topic: '" + topic + "'"),
                    request_id);
            }
            const broker::Message& m = *retained->message;
            json body = json::object();
            body["topic"] = m.topic;
            body["payload"] = base64_encode(m.payload);
            body["qos"] = static_cast<int>(m.qos);
            body["lastModifiedTime"] = retained->stored_at.unix_ms();
            if (!m.properties.user_properties.empty()) {
                body["userProperties"] = encode_user_properties(m.properties.user_properties);
            }
            return json_response(body);
        }
    }
    return error_response(api_error(500, "Internal service failure"), request_id);
}

}  // namespace iotsim::http
