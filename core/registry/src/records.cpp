#include "iotsim/registry/records.hpp"

#include <algorithm>

#include "iotsim/common/assert.hpp"

namespace iotsim::registry {

using nlohmann::json;

std::string_view to_string(ThingPrincipalType type) {
    return type == ThingPrincipalType::exclusive ? "EXCLUSIVE_THING" : "NON_EXCLUSIVE_THING";
}

std::optional<ThingPrincipalType> parse_thing_principal_type(std::string_view text) {
    if (text == "EXCLUSIVE_THING") {
        return ThingPrincipalType::exclusive;
    }
    if (text == "NON_EXCLUSIVE_THING") {
        return ThingPrincipalType::non_exclusive;
    }
    return std::nullopt;
}

std::string_view to_string(CertificateStatus status) {
    switch (status) {
        case CertificateStatus::active: return "ACTIVE";
        case CertificateStatus::inactive: return "INACTIVE";
        case CertificateStatus::revoked: return "REVOKED";
        case CertificateStatus::pending_transfer: return "PENDING_TRANSFER";
        case CertificateStatus::register_inactive: return "REGISTER_INACTIVE";
        case CertificateStatus::pending_activation: return "PENDING_ACTIVATION";
    }
    return "INACTIVE";
}

std::optional<CertificateStatus> parse_certificate_status(std::string_view text) {
    for (const auto s :
         {CertificateStatus::active, CertificateStatus::inactive, CertificateStatus::revoked,
          CertificateStatus::pending_transfer, CertificateStatus::register_inactive,
          CertificateStatus::pending_activation}) {
        if (to_string(s) == text) {
            return s;
        }
    }
    return std::nullopt;
}

std::string_view to_string(CertificateMode mode) {
    return mode == CertificateMode::sni_only ? "SNI_ONLY" : "DEFAULT";
}

std::optional<CertificateMode> parse_certificate_mode(std::string_view text) {
    if (text == "DEFAULT") {
        return CertificateMode::default_mode;
    }
    if (text == "SNI_ONLY") {
        return CertificateMode::sni_only;
    }
    return std::nullopt;
}

std::string_view to_string(CaCertificateStatus status) {
    return status == CaCertificateStatus::active ? "ACTIVE" : "INACTIVE";
}

const PolicyVersionRecord& PolicyRecord::default_version() const {
    const PolicyVersionRecord* v = find_version(default_version_id);
    IOTSIM_ASSERT(v != nullptr);
    return *v;
}

const PolicyVersionRecord* PolicyRecord::find_version(std::int64_t id) const {
    const auto it = std::find_if(versions.begin(), versions.end(),
                                 [id](const PolicyVersionRecord& v) { return v.id == id; });
    return it == versions.end() ? nullptr : &*it;
}

namespace {

std::int64_t ns(WallTime t) {
    return t.since_unix_epoch.count();
}
WallTime wall(const json& j) {
    return WallTime{Duration{j.get<std::int64_t>()}};
}

}  // namespace

void to_json(json& j, const ThingRecord& r) {
    json principals = json::object();
    for (const auto& [arn, type] : r.principals) {
        principals[arn] = to_string(type);
    }
    j = json{{"name", r.name},           {"id", r.id},
             {"type_name", r.type_name}, {"attributes", r.attributes},
             {"version", r.version},     {"billing_group_name", r.billing_group_name},
             {"groups", r.groups},       {"principals", principals},
             {"created", ns(r.created)}};
}

void from_json(const json& j, ThingRecord& r) {
    r.name = j.at("name").get<std::string>();
    r.id = j.at("id").get<std::string>();
    r.type_name = j.at("type_name").get<std::string>();
    r.attributes = j.at("attributes").get<Attributes>();
    r.version = j.at("version").get<std::int64_t>();
    r.billing_group_name = j.at("billing_group_name").get<std::string>();
    r.groups = j.at("groups").get<std::vector<std::string>>();
    r.principals.clear();
    for (const auto& [arn, type] : j.at("principals").items()) {
        r.principals[arn] = parse_thing_principal_type(type.get<std::string>())
                                .value_or(ThingPrincipalType::non_exclusive);
    }
    r.created = wall(j.at("created"));
}

void to_json(json& j, const ThingTypeRecord& r) {
    j = json{{"name", r.name},
             {"id", r.id},
             {"description", r.description},
             {"searchable_attributes", r.searchable_attributes},
             {"mqtt5_configuration", r.mqtt5_configuration},
             {"deprecated", r.deprecated},
             {"deprecated_at", r.deprecated_at ? json(ns(*r.deprecated_at)) : json()},
             {"created", ns(r.created)},
             {"tags", r.tags}};
}

void from_json(const json& j, ThingTypeRecord& r) {
    r.name = j.at("name").get<std::string>();
    r.id = j.at("id").get<std::string>();
    r.description = j.at("description").get<std::string>();
    r.searchable_attributes = j.at("searchable_attributes").get<std::vector<std::string>>();
    r.mqtt5_configuration = j.at("mqtt5_configuration");
    r.deprecated = j.at("deprecated").get<bool>();
    r.deprecated_at = j.at("deprecated_at").is_null()
                          ? std::nullopt
                          : std::optional<WallTime>(wall(j.at("deprecated_at")));
    r.created = wall(j.at("created"));
    r.tags = j.at("tags").get<Tags>();
}

void to_json(json& j, const ThingGroupRecord& r) {
    j = json{{"name", r.name},
             {"id", r.id},
             {"parent", r.parent},
             {"description", r.description},
             {"attributes", r.attributes},
             {"version", r.version},
             {"created", ns(r.created)},
             {"tags", r.tags}};
}

void from_json(const json& j, ThingGroupRecord& r) {
    r.name = j.at("name").get<std::string>();
    r.id = j.at("id").get<std::string>();
    r.parent = j.at("parent").get<std::string>();
    r.description = j.at("description").get<std::string>();
    r.attributes = j.at("attributes").get<Attributes>();
    r.version = j.at("version").get<std::int64_t>();
    r.created = wall(j.at("created"));
    r.tags = j.at("tags").get<Tags>();
}

void to_json(json& j, const CertificateRecord& r) {
    j = json{{"id", r.id},
             {"pem", r.pem},
             {"status", to_string(r.status)},
             {"ca_certificate_id", r.ca_certificate_id},
             {"mode", to_string(r.mode)},
             {"created", ns(r.created)},
             {"last_modified", ns(r.last_modified)},
             {"not_before", ns(r.not_before)},
             {"not_after", ns(r.not_after)},
             {"customer_version", r.customer_version},
             {"generation_id", r.generation_id}};
}

void from_json(const json& j, CertificateRecord& r) {
    r.id = j.at("id").get<std::string>();
    r.pem = j.at("pem").get<std::string>();
    r.status = parse_certificate_status(j.at("status").get<std::string>())
                   .value_or(CertificateStatus::inactive);
    r.ca_certificate_id = j.at("ca_certificate_id").get<std::string>();
    r.mode = parse_certificate_mode(j.at("mode").get<std::string>())
                 .value_or(CertificateMode::default_mode);
    r.created = wall(j.at("created"));
    r.last_modified = wall(j.at("last_modified"));
    r.not_before = wall(j.at("not_before"));
    r.not_after = wall(j.at("not_after"));
    r.customer_version = j.at("customer_version").get<std::int64_t>();
    r.generation_id = j.at("generation_id").get<std::string>();
}

void to_json(json& j, const CaCertificateRecord& r) {
    j = json{{"id", r.id},
             {"pem", r.pem},
             {"status", to_string(r.status)},
             {"auto_registration", r.auto_registration},
             {"mode", to_string(r.mode)},
             {"created", ns(r.created)},
             {"last_modified", ns(r.last_modified)},
             {"not_before", ns(r.not_before)},
             {"not_after", ns(r.not_after)},
             {"customer_version", r.customer_version},
             {"generation_id", r.generation_id},
             {"registration_config", r.registration_config},
             {"tags", r.tags}};
}

void from_json(const json& j, CaCertificateRecord& r) {
    r.id = j.at("id").get<std::string>();
    r.pem = j.at("pem").get<std::string>();
    r.status = j.at("status").get<std::string>() == "ACTIVE" ? CaCertificateStatus::active
                                                             : CaCertificateStatus::inactive;
    r.auto_registration = j.at("auto_registration").get<bool>();
    r.mode = parse_certificate_mode(j.at("mode").get<std::string>())
                 .value_or(CertificateMode::default_mode);
    r.created = wall(j.at("created"));
    r.last_modified = wall(j.at("last_modified"));
    r.not_before = wall(j.at("not_before"));
    r.not_after = wall(j.at("not_after"));
    r.customer_version = j.at("customer_version").get<std::int64_t>();
    r.generation_id = j.at("generation_id").get<std::string>();
    r.registration_config = j.at("registration_config");
    r.tags = j.at("tags").get<Tags>();
}

void to_json(json& j, const PolicyRecord& r) {
    json versions = json::array();
    for (const PolicyVersionRecord& v : r.versions) {
        versions.push_back(
            json{{"id", v.id}, {"document", v.document}, {"created", ns(v.created)}});
    }
    j = json{{"name", r.name},
             {"versions", versions},
             {"default_version_id", r.default_version_id},
             {"last_version_id", r.last_version_id},
             {"created", ns(r.created)},
             {"last_modified", ns(r.last_modified)},
             {"generation_id", r.generation_id},
             {"targets", r.targets},
             {"tags", r.tags}};
}

void from_json(const json& j, PolicyRecord& r) {
    r.name = j.at("name").get<std::string>();
    r.versions.clear();
    for (const json& v : j.at("versions")) {
        r.versions.push_back(PolicyVersionRecord{v.at("id").get<std::int64_t>(),
                                                 v.at("document").get<std::string>(),
                                                 wall(v.at("created"))});
    }
    r.default_version_id = j.at("default_version_id").get<std::int64_t>();
    r.last_version_id = j.at("last_version_id").get<std::int64_t>();
    r.created = wall(j.at("created"));
    r.last_modified = wall(j.at("last_modified"));
    r.generation_id = j.at("generation_id").get<std::string>();
    r.targets = j.at("targets").get<std::vector<std::string>>();
    r.tags = j.at("tags").get<Tags>();
}

std::string_view to_string(AuthorizerStatus status) {
    return status == AuthorizerStatus::active ? "ACTIVE" : "INACTIVE";
}

std::optional<AuthorizerStatus> parse_authorizer_status(std::string_view text) {
    if (text == "ACTIVE") {
        return AuthorizerStatus::active;
    }
    if (text == "INACTIVE") {
        return AuthorizerStatus::inactive;
    }
    return std::nullopt;
}

void to_json(json& j, const AuthorizerRecord& r) {
    j = json{{"name", r.name},
             {"function_arn", r.function_arn},
             {"token_key_name", r.token_key_name},
             {"token_signing_public_keys", r.token_signing_public_keys},
             {"status", to_string(r.status)},
             {"signing_disabled", r.signing_disabled},
             {"enable_caching_for_http", r.enable_caching_for_http},
             {"created", ns(r.created)},
             {"last_modified", ns(r.last_modified)},
             {"tags", r.tags}};
}

void from_json(const json& j, AuthorizerRecord& r) {
    r.name = j.at("name").get<std::string>();
    r.function_arn = j.at("function_arn").get<std::string>();
    r.token_key_name = j.at("token_key_name").get<std::string>();
    r.token_signing_public_keys =
        j.at("token_signing_public_keys").get<std::map<std::string, std::string>>();
    // An unknown status reads as INACTIVE: the safe side (no connection is let in by it).
    r.status = parse_authorizer_status(j.at("status").get<std::string>())
                   .value_or(AuthorizerStatus::inactive);
    r.signing_disabled = j.at("signing_disabled").get<bool>();
    r.enable_caching_for_http = j.at("enable_caching_for_http").get<bool>();
    r.created = wall(j.at("created"));
    r.last_modified = wall(j.at("last_modified"));
    r.tags = j.at("tags").get<Tags>();
}

void to_json(json& j, const RegistrySettings& r) {
    j = json{{"registration_code", r.registration_code}, {"default_authorizer", r.default_authorizer}};
}

void from_json(const json& j, RegistrySettings& r) {
    r.registration_code = j.at("registration_code").get<std::string>();
    // Absent in stores written before custom authorizers existed.
    r.default_authorizer = j.value("default_authorizer", std::string{});
}

}  // namespace iotsim::registry
