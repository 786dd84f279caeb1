#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "iotsim/net/pki.hpp"

namespace iotsim::net {

/// Access key id -> secret access key.
using Credentials = std::map<std::string, std::string, std::less<>>;

/// Reads every profile's aws_access_key_id and aws_secret_access_key from an AWS shared
/// credentials file (the INI format of ~/.aws/credentials) into `out`. Returns an error for an
/// unreadable file, a key line outside a profile, a profile missing one of the two keys, or no
/// profile at all; nullopt on success.
[[nodiscard]] std::optional<std::string> read_credentials_file(const std::filesystem::path& path, Credentials& out);

/// DATA_DIR/credentials: on first start a fresh key pair (an access key id of AWS's shape,
/// AKIA + 16 characters, and a 40-character secret, from the OS's randomness) is written there
/// as profile [default], mode 0600, so that
///   AWS_SHARED_CREDENTIALS_FILE=DATA_DIR/credentials aws ... --endpoint-url http://127.0.0.1:8080
/// signs what the server verifies. An existing file is kept. Returns its path; throws PkiError.
std::filesystem::path ensure_credentials(const std::filesystem::path& data_dir);

}  // namespace iotsim::net
