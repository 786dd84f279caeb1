#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "iotsim/registry/control_plane_router.hpp"

namespace iotsim::net {

/// The registry's CertificateIssuer for `iotsim serve`: the local root CA (DATA_DIR/root-CA.crt
/// and root-CA.key, see ensure_pki) plays AWS's issuing CA. Host code: OpenSSL key generation
/// and serial numbers from the OS RNG, validity from the system clock.
///
/// - CreateKeysAndCertificate: an RSA 2048 key pair; a certificate with subject
///   `CN=AWS IoT Certificate` (AWS's), a random 127-bit serial, valid from an hour ago until
///   2049-12-31T23:59:59Z (AWS-issued certificates' expiry), clientAuth, signed SHA-256.
/// - CreateCertificateFromCsr: the CSR must parse, be self-signed correctly and carry an RSA
///   key of at least 2048 bits or an EC key on P-256/P-384/P-521 (AWS's rule), else 400
///   InvalidRequestException; the certificate keeps the CSR's subject (CN=AWS IoT Certificate
///   when empty), otherwise as above.
/// Neither names a CA certificate id (AWS-issued certificates show none).
class LocalCertificateIssuer final : public registry::CertificateIssuer {
public:
    /// Reads the CA certificate and key; throws PkiError.
    LocalCertificateIssuer(const std::filesystem::path& ca_cert, const std::filesystem::path& ca_key);
    ~LocalCertificateIssuer() override;
    LocalCertificateIssuer(const LocalCertificateIssuer&) = delete;
    LocalCertificateIssuer& operator=(const LocalCertificateIssuer&) = delete;

    [[nodiscard]] registry::IssuedCertificate create_keys_and_certificate(Now now) override;
    [[nodiscard]] std::string create_certificate_from_csr(std::string_view csr_pem, std::string& ca_certificate_id,
                                                          Now now) override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace iotsim::net
