#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "iotsim/common/time.hpp"
#include "iotsim/registry/records.hpp"

namespace iotsim::sim {

/// An IoT policy created in the simulation's registry before the run (CreatePolicy).
struct PolicySpec {
    std::string name;
    std::string document;  // the policy document, JSON text
};

/// A thing created in the simulation's registry before the run (CreateThing).
struct ThingSpec {
    std::string name;
    registry::Attributes attributes;
};

/// A device certificate of the simulation: a real X.509 certificate (Ed25519 key drawn from the
/// seed, issued by the simulation's CA, itself drawn from the seed), recorded in the registry as
/// CreateKeysAndCertificate records one (registry::Registry::add_issued_certificate), so its
/// certificate id is the SHA-256 of its DER encoding. Same seed, same bytes.
struct CertificateSpec {
    std::string name;  // the scenario's name for it; also the subject's CommonName
    registry::CertificateStatus status = registry::CertificateStatus::active;
    /// Validity on the wall clock, relative to virtual time zero (SimulationOptions::
    /// wall_epoch_unix_ms), whole seconds (X.509's precision, rounded down).
    Duration not_before = -hours(24);
    Duration not_after = hours(24 * 365);
    std::vector<std::string> policies;  // attached to the certificate (AttachPolicy)
    std::vector<std::string> things;    // attached as NON_EXCLUSIVE_THING (AttachThingPrincipal)
};

/// The registry a simulation starts with. Empty: no registry records, every device connects
/// without a certificate and is allowed everything (as before certificates existed).
struct RegistrySetup {
    std::vector<PolicySpec> policies;
    std::vector<ThingSpec> things;
    std::vector<CertificateSpec> certificates;
};

/// A control-plane change in the fault plan, applied at `at` as the control plane applies it on
/// the server: the registry changes, the authorizer forgets its cache, and (after a certificate
/// change) every connection whose certificate is no longer ACTIVE is disconnected
/// (Broker::revoke: MQTT 5 DISCONNECT 0x87, lifecycle reason AUTH_ERROR, the will published).
struct RegistryFault {
    enum class Kind : std::uint8_t {
        update_certificate,  // UpdateCertificate to `status`
        attach_policy,       // AttachPolicy `policy` to the certificate
        detach_policy,       // DetachPolicy `policy` from the certificate
    };
    Kind kind = Kind::update_certificate;
    Instant at;
    std::string certificate;  // a CertificateSpec::name
    registry::CertificateStatus status = registry::CertificateStatus::revoked;
    std::string policy;  // a PolicySpec::name
};

[[nodiscard]] std::string registry_fault_name(RegistryFault::Kind kind);

}  // namespace iotsim::sim
