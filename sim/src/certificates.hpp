#pragma once

// Deterministic X.509 certificates for the simulator (private to sim/).

#include <string>
#include <string_view>

#include <openssl/types.h>

#include "iotsim/common/rng.hpp"
#include "iotsim/common/time.hpp"

namespace iotsim::sim {

/// The simulation's certificate authority: an Ed25519 key whose private bytes come from `rng`
/// and a self-signed CA certificate (CN "iotsim simulation CA"). It issues device certificates
/// with Ed25519 keys and serials drawn from the caller's Rng. Ed25519 signatures are
/// deterministic (RFC 8032) and nothing here reads a clock or OpenSSL's random generator, so
/// the same draws give the same DER bytes, hence the same certificate ids.
///
/// Like the CA behind CreateKeysAndCertificate on AWS, it is not registered in the registry:
/// its certificates are recorded with Registry::add_issued_certificate.
class SimulationCa {
public:
    /// The CA is valid from ten years before `epoch` to thirty years after it.
    SimulationCa(Rng rng, WallTime epoch);
    ~SimulationCa();
    SimulationCa(const SimulationCa&) = delete;
    SimulationCa& operator=(const SimulationCa&) = delete;

    /// A PEM certificate for CN=`common_name`, valid [not_before, not_after] (whole seconds,
    /// rounded down). Throws std::runtime_error if OpenSSL fails (an environment failure).
    [[nodiscard]] std::string issue(std::string_view common_name, Rng& rng, WallTime not_before,
                                    WallTime not_after) const;

    [[nodiscard]] const std::string& pem() const { return pem_; }

private:
    EVP_PKEY* key_ = nullptr;  // owned
    std::string pem_;
};

}  // namespace iotsim::sim
