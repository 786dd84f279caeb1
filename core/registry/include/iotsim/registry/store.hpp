#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/registry/records.hpp"

namespace iotsim::registry {

/// Everything a RegistryStore holds, as Registry::recover reads it.
struct RegistrySnapshot {
    std::vector<ThingRecord> things;
    std::vector<ThingTypeRecord> thing_types;
    std::vector<ThingGroupRecord> thing_groups;
    std::vector<CertificateRecord> certificates;
    std::vector<CaCertificateRecord> ca_certificates;
    std::vector<PolicyRecord> policies;
    std::vector<AuthorizerRecord> authorizers;
    std::optional<RegistrySettings> settings;
};

/// Persistence for the registry. The Registry calls `put_*` with a resource as it now is after
/// every accepted change (and `erase_*` when it is deleted) before the operation returns, so the
/// store always holds what clients were told. Relations live inside records: a thing's groups
/// and principals in its ThingRecord, a policy's targets in its PolicyRecord. One operation may
/// write several records (DeleteThingGroup rewrites its member things); each write is
/// idempotent and complete on its own.
///
/// Keys: things, thing types, thing groups, policies and authorizers by name; certificates and CA
/// certificates by id. records.hpp gives every record a JSON form for stores that keep text.
///
/// A storage failure is an environment failure: the implementation throws (any std::exception);
/// the Registry leaves its memory unchanged for that write and the ControlPlaneRouter answers
/// 500 InternalFailureException.
///
/// Implementations: MemoryRegistryStore (tests, simulator; it outlives a Registry, as a disk
/// would) and the server's SQLite store.
/// Thread safety: called from the thread that drives the Registry.
class RegistryStore {
public:
    virtual ~RegistryStore() = default;
    virtual void put_thing(const ThingRecord& record) = 0;
    virtual void erase_thing(std::string_view name) = 0;
    virtual void put_thing_type(const ThingTypeRecord& record) = 0;
    virtual void erase_thing_type(std::string_view name) = 0;
    virtual void put_thing_group(const ThingGroupRecord& record) = 0;
    virtual void erase_thing_group(std::string_view name) = 0;
    virtual void put_certificate(const CertificateRecord& record) = 0;
    virtual void erase_certificate(std::string_view id) = 0;
    virtual void put_ca_certificate(const CaCertificateRecord& record) = 0;
    virtual void erase_ca_certificate(std::string_view id) = 0;
    virtual void put_policy(const PolicyRecord& record) = 0;
    virtual void erase_policy(std::string_view name) = 0;
    virtual void put_authorizer(const AuthorizerRecord& record) = 0;
    virtual void erase_authorizer(std::string_view name) = 0;
    virtual void put_settings(const RegistrySettings& settings) = 0;
    /// Every stored record, each kind in key order.
    [[nodiscard]] virtual RegistrySnapshot load() = 0;
};

/// In-memory RegistryStore. Like a disk it keeps text (each record's JSON form), so a reload
/// goes through the same serialisation a SQLite store uses.
class MemoryRegistryStore final : public RegistryStore {
public:
    void put_thing(const ThingRecord& record) override;
    void erase_thing(std::string_view name) override;
    void put_thing_type(const ThingTypeRecord& record) override;
    void erase_thing_type(std::string_view name) override;
    void put_thing_group(const ThingGroupRecord& record) override;
    void erase_thing_group(std::string_view name) override;
    void put_certificate(const CertificateRecord& record) override;
    void erase_certificate(std::string_view id) override;
    void put_ca_certificate(const CaCertificateRecord& record) override;
    void erase_ca_certificate(std::string_view id) override;
    void put_policy(const PolicyRecord& record) override;
    void erase_policy(std::string_view name) override;
    void put_authorizer(const AuthorizerRecord& record) override;
    void erase_authorizer(std::string_view name) override;
    void put_settings(const RegistrySettings& settings) override;
    [[nodiscard]] RegistrySnapshot load() override;

    /// For tests: how many times a put or erase was called.
    [[nodiscard]] std::uint64_t writes() const { return writes_; }
    /// For tests: how many records of all kinds are stored.
    [[nodiscard]] std::size_t size() const;
    /// For tests: make every later write throw std::runtime_error (a failing disk).
    void set_fail_writes(bool fail) { fail_writes_ = fail; }

private:
    void write();

    std::map<std::string, std::string, std::less<>> things_;
    std::map<std::string, std::string, std::less<>> thing_types_;
    std::map<std::string, std::string, std::less<>> thing_groups_;
    std::map<std::string, std::string, std::less<>> certificates_;
    std::map<std::string, std::string, std::less<>> ca_certificates_;
    std::map<std::string, std::string, std::less<>> policies_;
    std::map<std::string, std::string, std::less<>> authorizers_;
    std::optional<std::string> settings_;
    std::uint64_t writes_ = 0;
    bool fail_writes_ = false;
};

}  // namespace iotsim::registry
