#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/common/account.hpp"
#include "iotsim/common/rng.hpp"
#include "iotsim/common/time.hpp"
#include "iotsim/policy/arn.hpp"
#include "iotsim/registry/records.hpp"
#include "iotsim/registry/store.hpp"

namespace iotsim::registry {

/// Where the registry lives and AWS's quotas it enforces (reference §4.1-§4.8). Defaults are
/// AWS's unless marked iotsim's.
struct RegistryOptions {
    /// Partition, region and account of every ARN (and `ownedBy`).
    policy::ArnScope scope{.region = std::string(default_region), .account = std::string(default_account_id)};
    /// DescribeEndpoint's answer for iot:Data-ATS and iot:Data (iotsim: one endpoint).
    std::string data_endpoint = "localhost";
    /// For iot:CredentialProvider and iot:Jobs; "" answers data_endpoint.
    std::string credential_provider_endpoint;
    std::string jobs_endpoint;
    std::size_t thing_attributes_max = 3;         // without a thing type
    std::size_t typed_thing_attributes_max = 50;  // with a thing type
    std::size_t searchable_attributes_max = 3;
    std::size_t groups_per_thing_max = 10;
    std::size_t group_depth_max = 7;  // a root group has depth 1
    std::size_t group_children_max = 100;
    std::size_t policies_per_target_max = 10;
    std::size_t policy_versions_max = 5;
    std::size_t tags_per_resource_max = 50;
    /// A deprecated thing type can be deleted this long after its deprecation (wall time).
    Duration thing_type_delete_delay = minutes(5);
    /// Page size when a List call gives none (iotsim's; AWS documents none).
    int page_size_default = 50;
    int page_size_max = 250;
};

/// A page request: the token (or marker) a previous page returned, "" for the first page; the
/// page size, nullopt for RegistryOptions::page_size_default.
struct PageRequest {
    std::string token;
    std::optional<int> size;
};

/// One page of a listing, in a stable order. `next_token` is "" on the last page; otherwise an
/// opaque base64 text (AWS's Marker pattern) naming where the next page starts, valid even if
/// items were deleted meanwhile.
template <class T>
struct Page {
    std::vector<T> items;
    std::string next_token;
};

struct CreateThingInput {
    std::string thing_name;
    std::optional<std::string> thing_type_name;
    Attributes attributes;  // an empty value means "absent" (see registry.cpp, AMBIG)
    std::optional<std::string> billing_group_name;
};

struct UpdateThingInput {
    std::string thing_name;
    std::optional<std::string> thing_type_name;
    std::optional<Attributes> attributes;  // attributePayload.attributes
    bool merge = false;                    // attributePayload.merge
    std::optional<std::int64_t> expected_version;
    bool remove_thing_type = false;
};

struct ListThingsInput {
    PageRequest page;
    std::optional<std::string> attribute_name;
    std::optional<std::string> attribute_value;
    bool use_prefix_attribute_value = false;
    std::optional<std::string> thing_type_name;
};

struct CreateThingTypeInput {
    std::string thing_type_name;
    std::string description;
    std::vector<std::string> searchable_attributes;
    nlohmann::json mqtt5_configuration;  // null when absent
    Tags tags;
};

struct CreateThingGroupInput {
    std::string thing_group_name;
    std::optional<std::string> parent_group_name;
    std::string description;
    Attributes attributes;
    Tags tags;
};

struct UpdateThingGroupInput {
    std::string thing_group_name;
    std::optional<std::string> description;
    std::optional<Attributes> attributes;
    bool merge = false;
    std::optional<std::int64_t> expected_version;
};

struct ListThingGroupsInput {
    PageRequest page;
    std::optional<std::string> parent_group;
    std::optional<std::string> name_prefix;
    std::optional<bool> recursive;
};

/// RegisterCertificate / RegisterCertificateWithoutCA. `status` wins over `set_as_active`;
/// without either the certificate is INACTIVE.
struct RegisterCertificateInput {
    std::string certificate_pem;
    std::optional<std::string> ca_certificate_pem;  // RegisterCertificate only
    std::optional<CertificateStatus> status;
    bool set_as_active = false;
};

struct RegisterCaCertificateInput {
    std::string ca_certificate_pem;
    std::optional<std::string> verification_certificate_pem;
    bool set_as_active = false;
    bool allow_auto_registration = false;
    nlohmann::json registration_config;  // null when absent
    CertificateMode mode = CertificateMode::default_mode;
    Tags tags;
};

struct ListCertificatesInput {
    PageRequest page;
    bool ascending = false;  // by creation date; AWS's default is newest first
};

/// CreateAuthorizer and UpdateAuthorizer (absent members: unchanged on update, defaults on
/// create).
struct AuthorizerInput {
    std::string name;
    std::optional<std::string> function_arn;
    std::optional<std::string> token_key_name;
    std::optional<std::map<std::string, std::string>> token_signing_public_keys;
    std::optional<AuthorizerStatus> status;
    std::optional<bool> signing_disabled;  // CreateAuthorizer only
    std::optional<bool> enable_caching_for_http;
    Tags tags;  // CreateAuthorizer only
};

struct ListAuthorizersInput {
    PageRequest page;
    bool ascending = true;  // by name
    std::optional<AuthorizerStatus> status;
};

/// A policy that applies to a principal, as the broker's authorizer evaluates it.
struct EffectivePolicy {
    std::string policy_name;
    std::string policy_arn;
    std::int64_t version_id = 1;  // the default version's
    std::string document;         // the default version's document
};

/// The AWS IoT registry (control plane) as a state machine: things, thing types, static thing
/// groups, certificates and CA certificates, policies and their versions, the attachments
/// between them, tags, the endpoint. Operation names are botocore's (`iot` 2015-05-28).
///
/// Sans-I/O: reads no clock (every mutation takes `now`; timestamps use `now.wall`), draws ids
/// from the injected Rng only, persists through the injected RegistryStore before returning.
/// Certificates are parsed with OpenSSL (pure functions, no randomness); keys and fresh
/// certificates are the host's business (add_issued_certificate is the seam).
///
/// Errors: every refusal throws RegistryError carrying AWS's status, exception name and message
/// (error.hpp); the state is then unchanged. A store failure propagates as thrown by the store.
/// Thread safety: none; one thread drives the Registry and its store.
class Registry {
public:
    Registry(RegistryStore& store, Rng& rng, RegistryOptions options = {});

    /// Reloads everything from the store (once, before any other call).
    void recover();

    [[nodiscard]] const RegistryOptions& options() const { return options_; }

    // ARNs (reference §4.1).
    [[nodiscard]] std::string thing_arn(std::string_view name) const;
    [[nodiscard]] std::string thing_type_arn(std::string_view name) const;
    [[nodiscard]] std::string thing_group_arn(std::string_view name) const;
    [[nodiscard]] std::string certificate_arn(std::string_view id) const;
    [[nodiscard]] std::string ca_certificate_arn(std::string_view id) const;
    [[nodiscard]] std::string policy_arn(std::string_view name) const;
    [[nodiscard]] std::string authorizer_arn(std::string_view name) const;

    // ---- Things -------------------------------------------------------------------------
    /// CreateThing. Identical configuration again returns the existing thing; otherwise 409
    /// ResourceAlreadyExistsException. Unknown type or billing group: 404; deprecated type,
    /// bad names or attributes, too many attributes: 400 InvalidRequestException.
    const ThingRecord& create_thing(const CreateThingInput& input, Now now);
    /// DescribeThing; 404 when absent.
    [[nodiscard]] const ThingRecord& describe_thing(std::string_view thing_name) const;
    /// UpdateThing: replaces (or with merge, merges) attributes, sets or removes the type,
    /// increments the version. 404, 409 VersionConflictException, 400.
    void update_thing(const UpdateThingInput& input, Now now);
    /// DeleteThing: succeeds when the thing does not exist. 409 VersionConflictException; 400
    /// InvalidRequestException while principals are attached. Leaves the thing's groups.
    void delete_thing(std::string_view thing_name, std::optional<std::int64_t> expected_version,
                      Now now);
    /// ListThings, by name.
    [[nodiscard]] Page<ThingRecord> list_things(const ListThingsInput& input) const;

    // ---- Thing types --------------------------------------------------------------------
    const ThingTypeRecord& create_thing_type(const CreateThingTypeInput& input, Now now);
    [[nodiscard]] const ThingTypeRecord& describe_thing_type(std::string_view name) const;
    /// ListThingTypes, by name; `name_filter` keeps only that type.
    [[nodiscard]] Page<ThingTypeRecord> list_thing_types(
        const PageRequest& page, const std::optional<std::string>& name_filter) const;
    /// DeprecateThingType (undo = true removes the deprecation). 404.
    void deprecate_thing_type(std::string_view name, bool undo, Now now);
    /// DeleteThingType: 400 unless deprecated for thing_type_delete_delay and unused. 404.
    void delete_thing_type(std::string_view name, Now now);

    // ---- Static thing groups ------------------------------------------------------------
    const ThingGroupRecord& create_thing_group(const CreateThingGroupInput& input, Now now);
    [[nodiscard]] const ThingGroupRecord& describe_thing_group(std::string_view name) const;
    /// The group's ancestors, root first (DescribeThingGroup `rootToParentThingGroups`).
    [[nodiscard]] std::vector<std::string> ancestors_of(std::string_view name) const;
    /// UpdateThingGroup; returns the new version.
    std::int64_t update_thing_group(const UpdateThingGroupInput& input, Now now);
    /// DeleteThingGroup: succeeds when absent; 400 while it has child groups; removes its
    /// things from it and detaches its policies.
    void delete_thing_group(std::string_view name, std::optional<std::int64_t> expected_version,
                            Now now);
    [[nodiscard]] Page<ThingGroupRecord> list_thing_groups(const ListThingGroupsInput& input) const;
    /// AddThingToThingGroup / RemoveThingFromThingGroup (names already resolved from ARNs).
    void add_thing_to_thing_group(std::string_view group_name, std::string_view thing_name,
                                  Now now);
    void remove_thing_from_thing_group(std::string_view group_name, std::string_view thing_name,
                                       Now now);
    [[nodiscard]] Page<std::string> list_things_in_thing_group(std::string_view group_name,
                                                               bool recursive,
                                                               const PageRequest& page) const;
    [[nodiscard]] Page<std::string> list_thing_groups_for_thing(std::string_view thing_name,
                                                                const PageRequest& page) const;
    /// Resolves a group named by name or ARN, a thing likewise (AddThingToThingGroup's body).
    [[nodiscard]] std::string group_name_from(const std::optional<std::string>& name,
                                              const std::optional<std::string>& arn) const;
    [[nodiscard]] std::string thing_name_from(const std::optional<std::string>& name,
                                              const std::optional<std::string>& arn) const;

    // ---- Certificates -------------------------------------------------------------------
    /// RegisterCertificate: the CA (given, or found by issuer among registered CAs) must be
    /// registered and have signed the certificate, else 400 CertificateValidationException.
    const CertificateRecord& register_certificate(const RegisterCertificateInput& input, Now now);
    /// RegisterCertificateWithoutCA.
    const CertificateRecord& register_certificate_without_ca(const RegisterCertificateInput& input,
                                                             Now now);
    /// The seam for CreateKeysAndCertificate and CreateCertificateFromCsr: the host generated
    /// keys and a certificate (fresh keys and serials need randomness the core does not draw)
    /// and records it here. `ca_certificate_id` names the registered CA that signed it, "" for
    /// none (AWS-issued certificates show none). 409 ResourceAlreadyExistsException if known.
    const CertificateRecord& add_issued_certificate(std::string_view pem, CertificateStatus status,
                                                    Now now,
                                                    std::string_view ca_certificate_id = {});
    /// Just-in-time registration (reference §4.3, JITR), for the broker's authorizer when a
    /// device presents a certificate the registry does not know: if a registered ACTIVE CA
    /// with auto-registration enabled signed it, the certificate is recorded as
    /// PENDING_ACTIVATION under that CA and returned (the connection is still refused, as on
    /// AWS; the host publishes `$aws/events/certificates/registered/<caCertificateId>`).
    /// Otherwise, and for a certificate already known or unparsable, nullptr and no change.
    const CertificateRecord* auto_register_certificate(std::string_view pem, Now now);
    [[nodiscard]] const CertificateRecord& describe_certificate(std::string_view id) const;
    [[nodiscard]] Page<CertificateRecord> list_certificates(
        const ListCertificatesInput& input) const;
    [[nodiscard]] Page<CertificateRecord> list_certificates_by_ca(
        std::string_view ca_certificate_id, const ListCertificatesInput& input) const;
    /// UpdateCertificate (idempotent). 406 CertificateStateException for PENDING_TRANSFER and
    /// PENDING_ACTIVATION as targets, for leaving REVOKED or PENDING_TRANSFER, and for
    /// activating a certificate whose CA is inactive. 404.
    void update_certificate(std::string_view id, CertificateStatus new_status, Now now);
    /// DeleteCertificate: 406 when ACTIVE; 409 DeleteConflictException while things are
    /// attached, or policies unless `force_delete` (which detaches them). 404.
    void delete_certificate(std::string_view id, bool force_delete, Now now);

    // ---- CA certificates ----------------------------------------------------------------
    /// RegisterCACertificate: a CA certificate (basicConstraints CA:TRUE); in DEFAULT mode a
    /// verification certificate signed by it whose CN is the registration code. 400
    /// CertificateValidationException, 400 RegistrationCodeValidationException, 409, 410 (more
    /// than 10 CAs with the same subject is not checked; see registry.cpp).
    const CaCertificateRecord& register_ca_certificate(const RegisterCaCertificateInput& input,
                                                       Now now);
    [[nodiscard]] const CaCertificateRecord& describe_ca_certificate(std::string_view id) const;
    [[nodiscard]] Page<CaCertificateRecord> list_ca_certificates(
        const ListCertificatesInput& input) const;
    /// UpdateCACertificate (status and/or auto-registration).
    void update_ca_certificate(std::string_view id, std::optional<CaCertificateStatus> status,
                               std::optional<bool> auto_registration, Now now);
    /// DeleteCACertificate: 406 unless INACTIVE. 404.
    void delete_ca_certificate(std::string_view id, Now now);
    /// GetRegistrationCode: 64 hex characters, drawn once and then stable.
    std::string get_registration_code(Now now);

    // ---- Policies -----------------------------------------------------------------------
    /// CreatePolicy: version "1", default. 400 MalformedPolicyException (the policy module's
    /// message), 409 ResourceAlreadyExistsException, 400 for a bad name.
    const PolicyRecord& create_policy(std::string_view name, std::string_view document,
                                      const Tags& tags, Now now);
    [[nodiscard]] const PolicyRecord& get_policy(std::string_view name) const;
    /// ListPolicies, by creation (ascending) or newest first.
    [[nodiscard]] Page<std::string> list_policies(const ListCertificatesInput& input) const;
    /// DeletePolicy: 409 DeleteConflictException while attached or with non-default versions.
    void delete_policy(std::string_view name, Now now);
    /// CreatePolicyVersion: 409 VersionsLimitExceededException at 5 versions; 400 Malformed.
    const PolicyVersionRecord& create_policy_version(std::string_view name,
                                                     std::string_view document, bool set_as_default,
                                                     Now now);
    [[nodiscard]] const PolicyVersionRecord& get_policy_version(std::string_view name,
                                                                std::int64_t version_id) const;
    void set_default_policy_version(std::string_view name, std::int64_t version_id, Now now);
    /// DeletePolicyVersion: 409 DeleteConflictException for the default version. 404.
    void delete_policy_version(std::string_view name, std::int64_t version_id, Now now);

    // ---- Attachments --------------------------------------------------------------------
    /// AttachPolicy to a certificate ARN or a thing group ARN (idempotent). 404 unknown policy
    /// or target, 400 another kind of target, 410 LimitExceededException beyond 10 policies.
    void attach_policy(std::string_view policy_name, std::string_view target, Now now);
    /// DetachPolicy (succeeds when not attached). 404 unknown policy.
    void detach_policy(std::string_view policy_name, std::string_view target, Now now);
    /// ListAttachedPolicies: policy names, by name; `recursive` on a thing group adds its
    /// ancestors' policies. 404 unknown target.
    [[nodiscard]] Page<std::string> list_attached_policies(std::string_view target, bool recursive,
                                                           const PageRequest& page) const;
    [[nodiscard]] Page<std::string> list_targets_for_policy(std::string_view policy_name,
                                                            const PageRequest& page) const;
    /// AttachThingPrincipal (a certificate ARN; idempotent). EXCLUSIVE_THING refuses a
    /// principal attached to another thing, and later attachments of an exclusive principal
    /// (400). 404 unknown thing or certificate.
    void attach_thing_principal(std::string_view thing_name, std::string_view principal,
                                ThingPrincipalType type, Now now);
    /// DetachThingPrincipal (succeeds when not attached). 404 unknown thing.
    void detach_thing_principal(std::string_view thing_name, std::string_view principal, Now now);
    [[nodiscard]] Page<std::string> list_thing_principals(std::string_view thing_name,
                                                          const PageRequest& page) const;
    [[nodiscard]] Page<std::string> list_principal_things(std::string_view principal,
                                                          const PageRequest& page) const;

    // ---- Custom authorizers (reference §5.4) ---------------------------------------------
    /// CreateAuthorizer: 409 ResourceAlreadyExistsException; 400 for a bad name, function ARN,
    /// token key name or public key (RSA, >= 2048 bits), or signing enabled without a token
    /// key name and at least one key.
    const AuthorizerRecord& create_authorizer(const AuthorizerInput& input, Now now);
    /// UpdateAuthorizer: the given members change; signingDisabled cannot. 404.
    const AuthorizerRecord& update_authorizer(const AuthorizerInput& input, Now now);
    [[nodiscard]] const AuthorizerRecord& describe_authorizer(std::string_view name) const;
    /// DeleteAuthorizer: 409 DeleteConflictException while ACTIVE or the default authorizer.
    void delete_authorizer(std::string_view name, Now now);
    [[nodiscard]] Page<AuthorizerRecord> list_authorizers(const ListAuthorizersInput& input) const;
    /// SetDefaultAuthorizer: 404 unknown; 409 ResourceAlreadyExistsException when another
    /// authorizer is the default (clear it first); the same one again succeeds.
    const AuthorizerRecord& set_default_authorizer(std::string_view name, Now now);
    /// DescribeDefaultAuthorizer: 404 when none is set.
    [[nodiscard]] const AuthorizerRecord& describe_default_authorizer() const;
    /// ClearDefaultAuthorizer: 404 when none is set.
    void clear_default_authorizer(Now now);
    /// The authorizer, or nullptr; default_authorizer(): the default one, or nullptr.
    [[nodiscard]] const AuthorizerRecord* find_authorizer(std::string_view name) const;
    [[nodiscard]] const AuthorizerRecord* default_authorizer() const;

    // ---- Queries for the broker's authorizer (no errors: unknown ids give empty answers) ---
    /// The policies that apply to a certificate (reference §4.4): those attached to it, then
    /// those attached to the thing groups (and their ancestors) of the things it is attached
    /// to; each policy once, by name within each part; the default version's document.
    [[nodiscard]] std::vector<EffectivePolicy> policies_for_principal(
        std::string_view certificate_id) const;
    /// The names of the things a certificate is attached to, sorted.
    [[nodiscard]] std::vector<std::string> things_for_principal(
        std::string_view certificate_id) const;
    /// The certificate, or nullptr (e.g. for its status at connect).
    [[nodiscard]] const CertificateRecord* find_certificate(std::string_view certificate_id) const;
    [[nodiscard]] const ThingRecord* find_thing(std::string_view thing_name) const;
    /// The connection's thing for a certificate (reference §5.1): the thing it is attached to
    /// EXCLUSIVE_THING, else the attached thing named like `client_id` (none without one); the
    /// thing behind ${iot:Connection.Thing.*}. nullptr when there is none.
    [[nodiscard]] const ThingRecord* connection_thing(std::string_view certificate_id,
                                                      std::optional<std::string_view> client_id) const;

    // ---- Tags ---------------------------------------------------------------------------
    /// TagResource on a thing type, thing group, policy or CA certificate ARN (the resources
    /// AWS IoT lets you tag among these). 404 unknown resource, 400 other ARNs or bad tags,
    /// 410 beyond 50 tags.
    void tag_resource(std::string_view resource_arn, const Tags& tags, Now now);
    void untag_resource(std::string_view resource_arn, const std::vector<std::string>& keys,
                        Now now);
    [[nodiscard]] Tags list_tags_for_resource(std::string_view resource_arn) const;

    // ---- Endpoint -----------------------------------------------------------------------
    /// DescribeEndpoint: iot:Data-ATS, iot:Data (and absent), iot:CredentialProvider,
    /// iot:Jobs. 400 for other types.
    [[nodiscard]] std::string describe_endpoint(const std::optional<std::string>& type) const;

private:
    ThingRecord& thing_or_throw(std::string_view name);
    const ThingRecord& thing_or_throw(std::string_view name) const;
    ThingGroupRecord& group_or_throw(std::string_view name);
    const ThingGroupRecord& group_or_throw(std::string_view name) const;
    PolicyRecord& policy_or_throw(std::string_view name);
    const PolicyRecord& policy_or_throw(std::string_view name) const;
    CertificateRecord& certificate_or_throw(std::string_view id);
    const CertificateRecord& certificate_or_throw(std::string_view id) const;
    CaCertificateRecord& ca_or_throw(std::string_view id);
    const CaCertificateRecord& ca_or_throw(std::string_view id) const;

    /// The certificate id of a certificate ARN of this account and region, or nullopt.
    [[nodiscard]] std::optional<std::string> certificate_id_of(std::string_view arn) const;
    [[nodiscard]] std::optional<std::string> group_name_of(std::string_view arn) const;
    void check_attributes(const Attributes& attributes, bool typed) const;
    void check_tags(const Tags& tags) const;
    const CertificateRecord& record_certificate(std::string_view pem, CertificateStatus status,
                                                std::string ca_id, Now now);
    void put_thing(const ThingRecord& record);
    void put_policy(const PolicyRecord& record);
    [[nodiscard]] std::string fresh_generation_id();
    [[nodiscard]] std::vector<std::string> descendants_of(std::string_view name) const;
    [[nodiscard]] std::size_t depth_of(std::string_view name) const;

    RegistryStore& store_;
    Rng& rng_;
    RegistryOptions options_;
    std::string arn_prefix_;  // arn:aws:iot:REGION:ACCOUNT:

    std::map<std::string, ThingRecord, std::less<>> things_;
    std::map<std::string, ThingTypeRecord, std::less<>> thing_types_;
    std::map<std::string, ThingGroupRecord, std::less<>> thing_groups_;
    std::map<std::string, CertificateRecord, std::less<>> certificates_;
    std::map<std::string, CaCertificateRecord, std::less<>> ca_certificates_;
    std::map<std::string, PolicyRecord, std::less<>> policies_;
    std::map<std::string, AuthorizerRecord, std::less<>> authorizers_;
    RegistrySettings settings_;
    // Reverse indexes, rebuilt by recover(): principal ARN -> things; target ARN -> policies.
    std::map<std::string, std::set<std::string>, std::less<>> principal_things_;
    std::map<std::string, std::set<std::string>, std::less<>> target_policies_;
};

}  // namespace iotsim::registry
