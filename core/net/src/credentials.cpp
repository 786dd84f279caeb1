#include "iotsim/net/credentials.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>

namespace iotsim::net {

namespace {

std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r");
    const auto e = s.find_last_not_of(" \t\r");
    return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

/// `n` characters drawn uniformly from `alphabet` (its size divides 256: no modulo bias).
std::string random_text(std::size_t n, std::string_view alphabet) {
    std::string bytes(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) {
        throw PkiError("cannot draw random credentials (RAND_bytes failed)");
    }
    std::string out;
    out.reserve(n);
    for (const char c : bytes) {
        out.push_back(alphabet[static_cast<unsigned char>(c) % alphabet.size()]);
    }
    return out;
}

}  // namespace

std::optional<std::string> read_credentials_file(const std::filesystem::path& path, Credentials& out) {
    std::ifstream in(path);
    if (!in) {
        return "cannot read the file";
    }
    std::string line;
    std::string profile;
    std::string key_id;
    std::string secret;
    int line_no = 0;
    bool in_profile = false;
    const auto finish = [&]() -> std::optional<std::string> {
        if (!in_profile) {
            return std::nullopt;
        }
        if (key_id.empty() || secret.empty()) {
            return "profile [" + profile + "] needs aws_access_key_id and aws_secret_access_key";
        }
        out[key_id] = secret;
        key_id.clear();
        secret.clear();
        return std::nullopt;
    };
    const std::size_t before = out.size();
    while (std::getline(in, line)) {
        ++line_no;
        line = trim(line);
        if (line.empty() || line[0] == '#' || line[0] == ';') {
            continue;
        }
        if (line.front() == '[' && line.back() == ']') {
            if (auto error = finish()) {
                return error;
            }
            profile = trim(std::string_view(line).substr(1, line.size() - 2));
            if (profile.empty()) {
                return "line " + std::to_string(line_no) + ": a profile needs a name";
            }
            in_profile = true;
            continue;
        }
        const auto eq = line.find('=');
        if (eq == std::string::npos || !in_profile) {
            return "line " + std::to_string(line_no) + " is not `key = value` inside a [profile]";
        }
        const std::string key = trim(std::string_view(line).substr(0, eq));
        const std::string value = trim(std::string_view(line).substr(eq + 1));
        if (key == "aws_access_key_id") {
            key_id = value;
        } else if (key == "aws_secret_access_key") {
            secret = value;
        }
    }
    if (auto error = finish()) {
        return error;
    }
    if (out.size() == before) {
        return std::string("no [profile] with credentials");
    }
    return std::nullopt;
}

std::filesystem::path ensure_credentials(const std::filesystem::path& data_dir) {
    const std::filesystem::path path = data_dir / "credentials";
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        return path;
    }
    // AWS's shapes: access key ids are AKIA + 16 of [A-Z2-7]; secrets 40 of base64's alphabet.
    // 32 and 64 letters divide 256, so every letter is equally likely.
    const std::string key_id = "AKIA" + random_text(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    const std::string secret =
        random_text(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    const std::string text = "# iotsim's local credentials: every request to the HTTP ports must be signed with\n"
                             "# them (AWS Signature Version 4). AWS_SHARED_CREDENTIALS_FILE=" +
                             path.string() + "\n[default]\naws_access_key_id = " + key_id +
                             "\naws_secret_access_key = " + secret + "\n";
    // Written to a temporary file, then linked into place: a crash never leaves a torn file,
    // and link() fails rather than replace a file another start wrote meanwhile.
    const std::filesystem::path temp = data_dir / (".credentials." + std::to_string(::getpid()));
    std::filesystem::remove(temp, ec);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw PkiError("cannot create " + temp.string() + ": " + std::strerror(errno));
    }
    const auto fail = [&](int err) {
        std::filesystem::remove(temp, ec);
        throw PkiError("cannot write " + path.string() + ": " + std::strerror(err));
    };
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            const int err = n < 0 ? errno : EIO;
            ::close(fd);
            fail(err);
        }
        done += static_cast<std::size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    const int sync_errno = errno;
    if (::close(fd) != 0 || !synced) {
        fail(synced ? errno : sync_errno);
    }
    if (::link(temp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
        fail(errno);
    }
    std::filesystem::remove(temp, ec);
    return path;
}

}  // namespace iotsim::net
