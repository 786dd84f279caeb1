#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace iotsim::net {

/// A failure to create or read key material (unwritable data dir, corrupt PEM).
class PkiError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The local public-key infrastructure in the data directory, created on first start:
///   root-CA.crt / root-CA.key        the local root CA, stand-in for Amazon Root CA 1
///   server.cert.pem / server.private.key   the endpoint's certificate (SAN: localhost,
///                                    127.0.0.1, ::1 and the DescribeEndpoint host name)
///   device.cert.pem / device.private.key   a demo device certificate signed by the root CA
/// Existing files are kept (a restart keeps identities). Keys are written with mode 0600.
struct PkiFiles {
    std::filesystem::path root_ca_cert;
    std::filesystem::path root_ca_key;
    std::filesystem::path server_cert;
    std::filesystem::path server_key;
    std::filesystem::path device_cert;
    std::filesystem::path device_key;
};

/// Creates what is missing; throws PkiError with the path and the reason.
PkiFiles ensure_pki(const std::filesystem::path& data_dir, const std::vector<std::string>& server_names);

/// AWS's certificate id: lowercase hex SHA-256 of the DER encoding (64 digits).
std::string certificate_id_of_der(const unsigned char* der, std::size_t size);

}  // namespace iotsim::net
