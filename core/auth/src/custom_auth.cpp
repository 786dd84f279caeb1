#include "iotsim/auth/custom_auth.hpp"

#include <algorithm>
#include <cctype>

#include "iotsim/http/base64.hpp"
#include "iotsim/http/message.hpp"
#include "iotsim/http/url.hpp"
#include "iotsim/mqtt/codec.hpp"
#include "iotsim/registry/certificate.hpp"

namespace iotsim::auth {

namespace {

using nlohmann::json;

constexpr std::string_view name_key = "x-amz-customauthorizer-name";
constexpr std::string_view signature_key = "x-amz-customauthorizer-signature";
constexpr std::size_t documents_max = 10;
constexpr std::int64_t seconds_min = 300;
constexpr std::int64_t seconds_max = 86'400;

/// Where a custom-auth value may come from, first match wins: HTTP headers (names
/// case-insensitive), the HTTP query, the MQTT username's query (parameter names as sent).
class Sources {
public:
    explicit Sources(const CustomAuthRequest& request) : request_(request) {
        if (auto q = http::parse_query(request.query)) {
            query_ = std::move(*q);
        }
        if (request.mqtt) {
            if (auto q = http::parse_query(split_mqtt_username(request.mqtt->username).second)) {
                username_query_ = std::move(*q);
            }
        }
    }

    [[nodiscard]] std::optional<std::string> find(std::string_view name) const {
        for (const auto& [k, v] : request_.headers) {
            if (http::iequals(k, name)) {
                return v;
            }
        }
        if (const std::string* v = http::find_param(query_, name)) {
            return *v;
        }
        if (const std::string* v = http::find_param(username_query_, name)) {
            return *v;
        }
        return std::nullopt;
    }

private:
    const CustomAuthRequest& request_;
    std::vector<http::QueryParam> query_;
    std::vector<http::QueryParam> username_query_;
};

json protocol_data(const CustomAuthRequest& request) {
    json data = json::object();
    if (request.tls) {
        data["tls"] = json{{"serverName", request.server_name}};
    }
    if (request.http) {
        json headers = json::object();
        for (const auto& [k, v] : request.headers) {
            headers[k] = v;
        }
        data["http"] =
            json{{"headers", std::move(headers)}, {"queryString", request.query.empty() ? "" : "?" + request.query}};
    }
    if (request.mqtt) {
        json mqtt = json{{"username", request.mqtt->username}, {"clientId", request.mqtt->client_id}};
        if (request.mqtt->password) {
            mqtt["password"] = http::base64_encode(*request.mqtt->password);
        }
        data["mqtt"] = std::move(mqtt);
    }
    return data;
}

bool is_principal_id(std::string_view id) {
    return !id.empty() && id.size() <= 128 &&
           std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

std::string event_text(const Invocation& invocation) {
    return invocation.event.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::pair<std::string, std::string> split_mqtt_username(std::string_view username) {
    const std::size_t q = username.find('?');
    if (q == std::string_view::npos) {
        return {std::string(username), {}};
    }
    return {std::string(username.substr(0, q)), std::string(username.substr(q + 1))};
}

bool verify_token_signature(const registry::AuthorizerRecord& authorizer, std::string_view token,
                            std::string_view signature_base64) {
    const auto signature = http::base64_decode(signature_base64);
    if (!signature || signature->empty()) {
        return false;
    }
    return std::any_of(authorizer.token_signing_public_keys.begin(), authorizer.token_signing_public_keys.end(),
                       [&](const auto& key) { return registry::verify_rsa_sha256(key.second, token, *signature); });
}

Result<Invocation, Refusal> prepare_invocation(const registry::Registry& registry, const CustomAuthRequest& request,
                                               std::string_view connection_id) {
    const Sources sources(request);
    const registry::AuthorizerRecord* authorizer = nullptr;
    if (const auto name = sources.find(name_key)) {
        authorizer = registry.find_authorizer(*name);
        if (authorizer == nullptr) {
            return Refusal{"authorizer " + *name + " does not exist"};
        }
    } else {
        authorizer = registry.default_authorizer();
        if (authorizer == nullptr) {
            return Refusal{"no authorizer named and no default authorizer set"};
        }
    }
    std::optional<std::string> token;
    if (!authorizer->token_key_name.empty()) {
        token = sources.find(authorizer->token_key_name);
    }
    return prepare_invocation(*authorizer, token, sources.find(signature_key), request, connection_id);
}

Result<Invocation, Refusal> prepare_invocation(const registry::AuthorizerRecord& authorizer,
                                               const std::optional<std::string>& token,
                                               const std::optional<std::string>& signature,
                                               const CustomAuthRequest& request, std::string_view connection_id) {
    if (authorizer.status != registry::AuthorizerStatus::active) {
        return Refusal{"authorizer " + authorizer.name + " is INACTIVE"};
    }
    bool verified = false;
    if (!authorizer.signing_disabled) {
        // Refused without invoking the function (reference §5.4).
        if (!token) {
            return Refusal{"no token (" + authorizer.token_key_name + ") for authorizer " + authorizer.name};
        }
        if (!signature) {
            return Refusal{"no token signature (x-amz-customauthorizer-signature) for authorizer " + authorizer.name};
        }
        if (!verify_token_signature(authorizer, *token, *signature)) {
            return Refusal{"the token signature does not verify with authorizer " + authorizer.name + "'s keys"};
        }
        verified = true;
    }
    json protocols = json::array();
    if (request.tls) {
        protocols.push_back("tls");
    }
    if (request.http) {
        protocols.push_back("http");
    }
    if (request.mqtt) {
        protocols.push_back("mqtt");
    }
    json event = json::object();
    if (token) {
        event["token"] = *token;
    }
    event["signatureVerified"] = verified;
    event["protocols"] = std::move(protocols);
    event["protocolData"] = protocol_data(request);
    event["connectionMetadata"] = json{{"id", std::string(connection_id)}};
    return Invocation{authorizer, std::move(event)};
}

Result<std::shared_ptr<const CustomAuthGrant>, std::string> parse_authorizer_response(
    std::string_view body, const registry::AuthorizerRecord& authorizer, const policy::ArnScope& scope,
    std::uint64_t serial) {
    const json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return std::string("the authorizer function's response is not a JSON object");
    }
    const auto it = j.find("isAuthenticated");
    if (it == j.end() || !it->is_boolean()) {
        return std::string("isAuthenticated is required and must be a boolean");
    }
    auto grant = std::make_shared<CustomAuthGrant>();
    grant->authorizer = authorizer.name;
    grant->serial = serial;
    grant->authenticated = it->get<bool>();
    if (const auto p = j.find("principalId"); p != j.end() && p->is_string()) {
        grant->principal_id = p->get<std::string>();
    }
    if (!grant->authenticated) {
        grant->refusal = "the authorizer function answered isAuthenticated false";
        return std::shared_ptr<const CustomAuthGrant>(std::move(grant));
    }
    if (!is_principal_id(grant->principal_id)) {
        return std::string("principalId is required and must be 1 to 128 alphanumeric characters");
    }
    const auto seconds = [&](std::string_view key, std::uint32_t& out) -> std::optional<std::string> {
        const auto v = j.find(key);
        if (v == j.end() || !v->is_number_integer()) {
            return std::string(key) + " is required and must be an integer";
        }
        const auto n = v->get<std::int64_t>();
        if (n < seconds_min || n > seconds_max) {
            return std::string(key) + " must be between 300 and 86400";
        }
        out = static_cast<std::uint32_t>(n);
        return std::nullopt;
    };
    if (auto e = seconds("disconnectAfterInSeconds", grant->disconnect_after_s)) {
        return *e;
    }
    if (auto e = seconds("refreshAfterInSeconds", grant->refresh_after_s)) {
        return *e;
    }
    const auto docs = j.find("policyDocuments");
    if (docs == j.end() || !docs->is_array()) {
        return std::string("policyDocuments is required and must be a list");
    }
    if (docs->size() > documents_max) {
        return std::string("policyDocuments can hold at most 10 documents");
    }
    std::size_t index = 0;
    for (const json& doc : *docs) {
        std::string text;
        if (doc.is_string()) {
            text = doc.get<std::string>();
        } else if (doc.is_object()) {
            text = doc.dump();
        } else {
            return "policyDocuments[" + std::to_string(index) + "] must be a policy document (an object or a JSON string)";
        }
        policy::PolicyOptions options;
        options.name = authorizer.name + "-policy-" + std::to_string(index);
        options.arn = policy::policy_arn(scope, options.name);
        auto parsed = policy::parse_policy(text, options);
        if (!parsed) {
            return "policyDocuments[" + std::to_string(index) + "]: " + parsed.error().message +
                   (parsed.error().detail.empty() ? "" : " (" + parsed.error().detail + ")");
        }
        grant->policies.push_back(std::move(parsed).value());
        grant->documents.push_back(std::move(text));
        ++index;
    }
    return std::shared_ptr<const CustomAuthGrant>(std::move(grant));
}

std::shared_ptr<const CustomAuthGrant> refused_grant(std::string authorizer, std::string reason, std::uint64_t serial) {
    auto grant = std::make_shared<CustomAuthGrant>();
    grant->authorizer = std::move(authorizer);
    grant->refusal = std::move(reason);
    grant->serial = serial;
    return grant;
}

ConnectPeek peek_connect(std::string_view stream, std::uint32_t packet_bytes_max) {
    ConnectPeek out;
    const mqtt::Frame frame = mqtt::read_frame(stream, packet_bytes_max);
    if (frame.status == mqtt::FrameStatus::incomplete) {
        return out;
    }
    if (frame.status != mqtt::FrameStatus::complete || stream.size() < frame.total_bytes()) {
        if (frame.status == mqtt::FrameStatus::complete) {
            return out;  // header known, body still arriving
        }
        out.status = ConnectPeek::Status::not_connect;
        return out;
    }
    auto connect = mqtt::decode_connect(frame.first_byte, stream.substr(frame.header_bytes, frame.remaining_length));
    if (!connect) {
        out.status = ConnectPeek::Status::not_connect;
        return out;
    }
    out.status = ConnectPeek::Status::connect;
    out.connect = std::move(connect).value();
    return out;
}

}  // namespace iotsim::auth
