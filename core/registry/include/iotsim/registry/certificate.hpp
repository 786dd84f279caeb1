#pragma once

#include <string>
#include <string_view>

#include "iotsim/common/result.hpp"
#include "iotsim/common/time.hpp"

namespace iotsim::registry {

/// What the registry needs to know of one X.509 certificate. Pure OpenSSL parsing: no
/// randomness, no clock (validity is reported, never checked against the system time).
struct CertificateFacts {
    /// Lowercase hex SHA-256 of the DER encoding: AWS's certificateId (reference §4.1).
    std::string id;
    /// The certificate re-encoded as PEM (one certificate, canonical line breaks).
    std::string pem;
    WallTime not_before;
    WallTime not_after;
    /// The subject's CommonName ("" when it has none): a verification certificate's CN must be
    /// the registration code.
    std::string subject_common_name;
    /// basicConstraints CA:TRUE.
    bool is_ca = false;
};

/// Parses the first certificate of a PEM text. The error is a sentence for the message of a
/// CertificateValidationException (not PEM, not an X.509 certificate, no public key...).
[[nodiscard]] Result<CertificateFacts, std::string> parse_certificate(std::string_view pem);

/// Whether `certificate_pem` was issued by `issuer_pem`: the issuer's subject is the
/// certificate's issuer name and the signature verifies with the issuer's public key. Either
/// text unparsable gives false. Pure: no chain building, no time check.
[[nodiscard]] bool is_signed_by(std::string_view certificate_pem, std::string_view issuer_pem);

/// Checks a custom authorizer's token-signing public key (PEM "PUBLIC KEY", RSA of at least
/// 2048 bits, reference §5.4): "" when usable, else a sentence for InvalidRequestException.
[[nodiscard]] std::string check_token_signing_key(std::string_view pem);

/// Whether `signature` (raw bytes) is an RSA PKCS#1 v1.5 SHA-256 signature of `data` by the PEM
/// public key `public_key_pem` (custom authorizer token signatures). False for any bad input.
[[nodiscard]] bool verify_rsa_sha256(std::string_view public_key_pem, std::string_view data,
                                     std::string_view signature);

/// The lowercase hex SHA-256 of `bytes` (the certificate id of a DER encoding).
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

}  // namespace iotsim::registry
