#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/common/time.hpp"

namespace iotsim::registry {

/// A thing's or thing group's attributes, name -> value (strings only, as on AWS). Ordered, so
/// that every listing is deterministic.
using Attributes = std::map<std::string, std::string>;
/// A resource's tags, key -> value.
using Tags = std::map<std::string, std::string>;

/// How a principal is attached to a thing (AttachThingPrincipal `thingPrincipalType`).
enum class ThingPrincipalType : std::uint8_t { non_exclusive, exclusive };

[[nodiscard]] std::string_view to_string(ThingPrincipalType type);  // "NON_EXCLUSIVE_THING"...
[[nodiscard]] std::optional<ThingPrincipalType> parse_thing_principal_type(std::string_view text);

/// A thing in the registry (reference §4.2). Its group memberships and attached principals are
/// part of the record, so that one put persists each change.
struct ThingRecord {
    std::string name;
    std::string id;         // a UUID drawn from the registry's Rng
    std::string type_name;  // "" when the thing has no type
    Attributes attributes;
    std::int64_t version = 1;  // incremented by UpdateThing only
    std::string billing_group_name;
    /// Static thing groups the thing belongs to, by name, sorted.
    std::vector<std::string> groups;
    /// Attached principals (certificate ARNs), sorted by ARN.
    std::map<std::string, ThingPrincipalType> principals;
    WallTime created;

    friend bool operator==(const ThingRecord&, const ThingRecord&) = default;
};

/// A thing type (immutable after creation except for deprecation and tags).
struct ThingTypeRecord {
    std::string name;
    std::string id;
    std::string description;
    std::vector<std::string> searchable_attributes;
    /// `mqtt5Configuration` as the client sent it (kept, returned, not interpreted).
    nlohmann::json mqtt5_configuration;  // null when absent
    bool deprecated = false;
    std::optional<WallTime> deprecated_at;
    WallTime created;
    Tags tags;

    friend bool operator==(const ThingTypeRecord&, const ThingTypeRecord&) = default;
};

/// A static thing group. Its members are recorded on the things (ThingRecord::groups).
struct ThingGroupRecord {
    std::string name;
    std::string id;
    std::string parent;  // "" for a root group; fixed at creation
    std::string description;
    Attributes attributes;
    std::int64_t version = 1;
    WallTime created;
    Tags tags;

    friend bool operator==(const ThingGroupRecord&, const ThingGroupRecord&) = default;
};

/// A device certificate's status (botocore `CertificateStatus`). Only `active` may connect.
enum class CertificateStatus : std::uint8_t {
    active,
    inactive,
    revoked,
    pending_transfer,
    register_inactive,
    pending_activation,
};

[[nodiscard]] std::string_view to_string(CertificateStatus status);  // "ACTIVE"...
[[nodiscard]] std::optional<CertificateStatus> parse_certificate_status(std::string_view text);

/// botocore `CertificateMode`.
enum class CertificateMode : std::uint8_t { default_mode, sni_only };

[[nodiscard]] std::string_view to_string(CertificateMode mode);  // "DEFAULT", "SNI_ONLY"
[[nodiscard]] std::optional<CertificateMode> parse_certificate_mode(std::string_view text);

/// A device certificate. `id` is the lowercase hex SHA-256 of its DER encoding (reference
/// §4.1), so the same certificate always has the same id.
struct CertificateRecord {
    std::string id;
    std::string pem;
    CertificateStatus status = CertificateStatus::inactive;
    std::string ca_certificate_id;  // "" when not registered under a CA (issued, or without CA)
    CertificateMode mode = CertificateMode::default_mode;
    WallTime created;
    WallTime last_modified;
    WallTime not_before;  // from the certificate
    WallTime not_after;
    std::int64_t customer_version = 1;  // incremented on every status change
    std::string generation_id;          // changes with every modification

    friend bool operator==(const CertificateRecord&, const CertificateRecord&) = default;
};

/// botocore `CACertificateStatus`.
enum class CaCertificateStatus : std::uint8_t { active, inactive };

[[nodiscard]] std::string_view to_string(CaCertificateStatus status);  // "ACTIVE", "INACTIVE"

/// A registered CA certificate (RegisterCACertificate).
struct CaCertificateRecord {
    std::string id;  // SHA-256 of the DER, as for device certificates
    std::string pem;
    CaCertificateStatus status = CaCertificateStatus::inactive;
    bool auto_registration = false;
    CertificateMode mode = CertificateMode::default_mode;
    WallTime created;
    WallTime last_modified;
    WallTime not_before;
    WallTime not_after;
    std::int64_t customer_version = 1;
    std::string generation_id;
    nlohmann::json registration_config;  // null when absent; kept, not interpreted
    Tags tags;

    friend bool operator==(const CaCertificateRecord&, const CaCertificateRecord&) = default;
};

/// One version of a policy. Version ids are decimal and increase from 1; a deleted id is never
/// reused.
struct PolicyVersionRecord {
    std::int64_t id = 1;
    std::string document;
    WallTime created;

    friend bool operator==(const PolicyVersionRecord&, const PolicyVersionRecord&) = default;
};

/// An IoT policy with its versions and the targets it is attached to.
struct PolicyRecord {
    std::string name;
    std::vector<PolicyVersionRecord> versions;  // ascending id, 1..5 of them
    std::int64_t default_version_id = 1;
    std::int64_t last_version_id = 1;  // the highest id ever given
    WallTime created;
    WallTime last_modified;
    std::string generation_id;  // changes whenever the default version changes
    /// Targets (certificate ARNs, thing group ARNs), sorted.
    std::vector<std::string> targets;
    Tags tags;

    /// The default version (always present: the invariant of every operation).
    [[nodiscard]] const PolicyVersionRecord& default_version() const;
    [[nodiscard]] const PolicyVersionRecord* find_version(std::int64_t id) const;

    friend bool operator==(const PolicyRecord&, const PolicyRecord&) = default;
};

/// botocore `AuthorizerStatus`.
enum class AuthorizerStatus : std::uint8_t { active, inactive };

[[nodiscard]] std::string_view to_string(AuthorizerStatus status);  // "ACTIVE", "INACTIVE"
[[nodiscard]] std::optional<AuthorizerStatus> parse_authorizer_status(std::string_view text);

/// A custom authorizer (CreateAuthorizer; reference §5.4). Its "Lambda" is a local handler the
/// host maps `function_arn` to (an executable or an HTTP callback); the registry only keeps it.
struct AuthorizerRecord {
    std::string name;
    std::string function_arn;
    std::string token_key_name;  // "" when signing is disabled and none was given
    /// Key name -> PEM public key (RSA), used to verify x-amz-customauthorizer-signature.
    std::map<std::string, std::string> token_signing_public_keys;
    AuthorizerStatus status = AuthorizerStatus::active;
    bool signing_disabled = false;
    bool enable_caching_for_http = false;
    WallTime created;
    WallTime last_modified;
    Tags tags;

    friend bool operator==(const AuthorizerRecord&, const AuthorizerRecord&) = default;
};

/// Registry-wide state that is not a resource.
struct RegistrySettings {
    /// GetRegistrationCode's answer, drawn once from the Rng and kept (AWS: stable per account).
    std::string registration_code;
    /// SetDefaultAuthorizer's authorizer, "" for none.
    std::string default_authorizer;

    friend bool operator==(const RegistrySettings&, const RegistrySettings&) = default;
};

// JSON forms of the records, for stores that keep text (MemoryRegistryStore, a SQLite store):
// `nlohmann::json j = record;` and `j.get<ThingRecord>()`. Times are integer nanoseconds.
void to_json(nlohmann::json& j, const ThingRecord& r);
void from_json(const nlohmann::json& j, ThingRecord& r);
void to_json(nlohmann::json& j, const ThingTypeRecord& r);
void from_json(const nlohmann::json& j, ThingTypeRecord& r);
void to_json(nlohmann::json& j, const ThingGroupRecord& r);
void from_json(const nlohmann::json& j, ThingGroupRecord& r);
void to_json(nlohmann::json& j, const CertificateRecord& r);
void from_json(const nlohmann::json& j, CertificateRecord& r);
void to_json(nlohmann::json& j, const CaCertificateRecord& r);
void from_json(const nlohmann::json& j, CaCertificateRecord& r);
void to_json(nlohmann::json& j, const PolicyRecord& r);
void from_json(const nlohmann::json& j, PolicyRecord& r);
void to_json(nlohmann::json& j, const AuthorizerRecord& r);
void from_json(const nlohmann::json& j, AuthorizerRecord& r);
void to_json(nlohmann::json& j, const RegistrySettings& r);
void from_json(const nlohmann::json& j, RegistrySettings& r);

}  // namespace iotsim::registry
