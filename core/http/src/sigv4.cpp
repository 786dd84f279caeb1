#include "iotsim/http/sigv4.hpp"

#include "iotsim/http/url.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <utility>

#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace iotsim::http {

namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";

std::string hex(const unsigned char* data, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 0xF];
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
    return hex(digest.data(), digest.size());
}

std::string hmac(std::string_view key, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int n = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), out.data(), &n);
    return std::string(reinterpret_cast<const char*>(out.data()), n);
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// RFC 3986 dot-segment removal on a raw path, as botocore's normalize_url_path.
std::string remove_dot_segments(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (start <= path.size()) {
        const auto slash = path.find('/', start);
        const std::string_view part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (part == "..") {
            if (!out.empty()) {
                out.pop_back();
            }
        } else if (!part.empty() && part != ".") {
            out.push_back(part);
        }
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    std::string joined = "/";
    for (std::size_t i = 0; i < out.size(); ++i) {
        joined += out[i];
        if (i + 1 < out.size()) {
            joined += '/';
        }
    }
    if (path.size() > 1 && path.back() == '/' && joined.size() > 1) {
        joined += '/';
    }
    return joined;
}

/// Percent-encodes everything but unreserved characters and `/` (Python's quote(safe='/~')).
std::string encode_path(std::string_view path) {
    std::string out;
    for (const unsigned char c : path) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

std::string canonical_query(std::string_view query) {
    if (query.empty()) {
        return "";
    }
    std::vector<std::pair<std::string_view, std::string_view>> pairs;
    std::size_t start = 0;
    while (start <= query.size()) {
        const auto amp = query.find('&', start);
        const std::string_view pair = query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
        const auto eq = pair.find('=');
        pairs.emplace_back(pair.substr(0, eq), eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (amp == std::string_view::npos) {
            break;
        }
        start = amp + 1;
    }
    std::sort(pairs.begin(), pairs.end());
    std::string out;
    for (const auto& [k, v] : pairs) {
        if (!out.empty()) {
            out += '&';
        }
        out.append(k).append("=").append(v);
    }
    return out;
}

/// The canonical request's headers part, or nullopt when a signed header is missing.
std::optional<std::string> canonical_headers(const Request& request, std::string_view signed_headers) {
    std::string out;
    std::size_t start = 0;
    while (start < signed_headers.size()) {
        const auto semi = signed_headers.find(';', start);
        const std::string_view name =
            signed_headers.substr(start, semi == std::string_view::npos ? std::string_view::npos : semi - start);
        std::string values;
        bool found = false;
        for (const auto& h : request.headers) {
            if (lower(h.name) != name) {
                continue;
            }
            // Trimmed, with runs of spaces collapsed (botocore: ' '.join(value.split())).
            std::string collapsed;
            bool space = false;
            for (const char c : trim(h.value)) {
                if (c == ' ' || c == '\t') {
                    space = true;
                    continue;
                }
                if (space && !collapsed.empty()) {
                    collapsed += ' ';
                }
                space = false;
                collapsed += c;
            }
            values += (found ? "," : "") + collapsed;
            found = true;
        }
        if (!found) {
            return std::nullopt;
        }
        out.append(name).append(":").append(values).append("\n");
        if (semi == std::string_view::npos) {
            break;
        }
        start = semi + 1;
    }
    return out;
}

/// "20150830T123600Z" as a WallTime.
std::optional<WallTime> parse_amz_date(std::string_view s) {
    if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') {
        return std::nullopt;
    }
    int v[6];
    const std::size_t at[6] = {0, 4, 6, 9, 11, 13};
    const std::size_t len[6] = {4, 2, 2, 2, 2, 2};
    for (int i = 0; i < 6; ++i) {
        int n = 0;
        for (std::size_t k = 0; k < len[i]; ++k) {
            const char c = s[at[i] + k];
            if (c < '0' || c > '9') {
                return std::nullopt;
            }
            n = n * 10 + (c - '0');
        }
        v[i] = n;
    }
    // In range before timegm: a year like 1013 would overflow nanoseconds since 1970.
    if (v[0] < 1970 || v[0] > 2200 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 ||
        v[5] > 60) {
        return std::nullopt;
    }
    std::tm tm{};
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    const std::time_t t = ::timegm(&tm);
    return WallTime{std::chrono::duration_cast<Duration>(std::chrono::seconds(t))};
}

ApiError refuse(const char* type, std::string message) { return ApiError{403, type, std::move(message)}; }

}  // namespace

namespace {

std::string signature_of(const Request& request, std::string_view query, std::string_view signed_headers,
                         std::string_view payload_hash, std::string_view amz_date, std::string_view secret,
                         std::string_view region, std::string_view service) {
    const std::string headers = canonical_headers(request, signed_headers).value_or("");
    const std::string canonical = request.method + "\n" + encode_path(remove_dot_segments(request.path)) + "\n" +
                                  canonical_query(query) + "\n" + headers + "\n" + std::string(signed_headers) +
                                  "\n" + std::string(payload_hash);
    const std::string_view date = amz_date.substr(0, 8);
    const std::string scope = std::string(date) + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
    const std::string to_sign =
        std::string(algorithm) + "\n" + std::string(amz_date) + "\n" + scope + "\n" + sha256_hex(canonical);
    std::string key = hmac("AWS4" + std::string(secret), date);
    key = hmac(key, region);
    key = hmac(key, service);
    key = hmac(key, "aws4_request");
    const std::string sig = hmac(key, to_sign);
    return hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

/// Credential=<access key>/<yyyymmdd>/<region>/<service>/aws4_request: the scope's parts and
/// the key's secret, or AWS's refusal.
std::optional<ApiError> check_credential(std::string_view credential, const SigV4Options& options,
                                         std::vector<std::string_view>& scope, const std::string*& secret) {
    scope.clear();
    for (std::size_t start = 0;;) {
        const auto slash = credential.find('/', start);
        scope.push_back(credential.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    if (scope.size() != 5 || scope[4] != "aws4_request") {
        return refuse("IncompleteSignatureException",
                      "Credential should be scoped to a valid region and service: " + std::string(credential));
    }
    const auto found = options.secrets.find(scope[0]);
    if (found == options.secrets.end()) {
        return refuse("UnrecognizedClientException", "The security token included in the request is invalid.");
    }
    if (scope[2] != options.region ||
        std::find(options.services.begin(), options.services.end(), scope[3]) == options.services.end()) {
        return refuse("InvalidSignatureException",
                      "Credential should be scoped to a valid region and service ('" + options.region + "'), not '" +
                          std::string(scope[2]) + "/" + std::string(scope[3]) + "'.");
    }
    secret = &found->second;
    return std::nullopt;
}

/// True if `signed_headers` (names separated by ';') names `host` itself.
bool signs_host(std::string_view signed_headers) {
    for (std::size_t start = 0; start <= signed_headers.size();) {
        const auto semi = signed_headers.find(';', start);
        if (signed_headers.substr(start, semi == std::string_view::npos ? std::string_view::npos : semi - start) ==
            "host") {
            return true;
        }
        if (semi == std::string_view::npos) {
            break;
        }
        start = semi + 1;
    }
    return false;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return diff == 0;
}

}  // namespace

std::string sigv4_signature(const Request& request, std::string_view signed_headers, std::string_view amz_date,
                            std::string_view secret, std::string_view region, std::string_view service) {
    // Always the hash of the body received, never the client's X-Amz-Content-Sha256 claim: a
    // captured request replayed with another body must not verify.
    return signature_of(request, request.query, signed_headers, sha256_hex(request.body), amz_date, secret, region,
                        service);
}

std::optional<ApiError> verify_sigv4(const Request& request, const SigV4Options& options, WallTime now) {
    if (options.secrets.empty()) {
        return std::nullopt;
    }
    const std::string* authorization = request.header("authorization");
    if (authorization == nullptr) {
        return refuse("MissingAuthenticationTokenException", "Missing Authentication Token");
    }
    std::string_view auth = trim(*authorization);
    if (!auth.starts_with(algorithm) || auth.size() == algorithm.size() || auth[algorithm.size()] != ' ') {
        return refuse("IncompleteSignatureException",
                      "Authorization header requires the AWS4-HMAC-SHA256 algorithm: " + std::string(auth.substr(0, 40)));
    }
    auth.remove_prefix(algorithm.size());
    std::string_view credential;
    std::string_view signed_headers;
    std::string_view signature;
    while (!auth.empty()) {
        const auto comma = auth.find(',');
        std::string_view part = trim(auth.substr(0, comma));
        const auto eq = part.find('=');
        if (eq != std::string_view::npos) {
            const std::string_view key = part.substr(0, eq);
            const std::string_view value = part.substr(eq + 1);
            if (key == "Credential") {
                credential = value;
            } else if (key == "SignedHeaders") {
                signed_headers = value;
            } else if (key == "Signature") {
                signature = value;
            }
        }
        if (comma == std::string_view::npos) {
            break;
        }
        auth.remove_prefix(comma + 1);
    }
    if (credential.empty() || signed_headers.empty() || signature.empty()) {
        return refuse("IncompleteSignatureException",
                      "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters");
    }
    std::vector<std::string_view> scope;
    const std::string* secret = nullptr;
    if (auto refused = check_credential(credential, options, scope, secret)) {
        return refused;
    }
    const std::string* amz_date = request.header("x-amz-date");
    const auto when = amz_date != nullptr ? parse_amz_date(*amz_date) : std::nullopt;
    if (!when || amz_date->substr(0, 8) != scope[1]) {
        return refuse("IncompleteSignatureException",
                      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header matching "
                      "the credential's date.");
    }
    if (!signs_host(signed_headers) ||
        !canonical_headers(request, signed_headers)) {
        return refuse("IncompleteSignatureException", "Signed header missing from the request, or 'host' not signed: " +
                                                          std::string(signed_headers));
    }
    const Duration skew = *when > now ? when->since_unix_epoch - now.since_unix_epoch
                                      : now.since_unix_epoch - when->since_unix_epoch;
    if (skew > options.clock_skew_max) {
        return refuse("InvalidSignatureException", "Signature expired: " + *amz_date +
                                                       " is now earlier or later than 15 minutes from the server's time.");
    }
    const std::string expected =
        sigv4_signature(request, signed_headers, *amz_date, *secret, scope[2], scope[3]);
    if (!equal_constant_time(expected, signature)) {
        return refuse("InvalidSignatureException",
                      "The request signature we calculated does not match the signature you provided. Check your AWS "
                      "Secret Access Key and signing method. Consult the service documentation for details.");
    }
    return std::nullopt;
}

std::optional<ApiError> verify_sigv4_query(const Request& request, const SigV4Options& options, WallTime now,
                                           std::string* key_id) {
    // The query's parameters, raw (still percent-encoded), and the signed query without the
    // signature itself.
    std::string credential;
    std::string amz_date;
    std::string signed_headers;
    std::string signature;
    std::string algorithm_value;
    std::optional<std::int64_t> expires;
    std::string unsigned_query;
    for (std::size_t start = 0; start <= request.query.size() && !request.query.empty();) {
        const auto amp = request.query.find('&', start);
        const std::string_view pair = std::string_view(request.query).substr(
            start, amp == std::string::npos ? std::string_view::npos : amp - start);
        const auto eq = pair.find('=');
        const std::string_view name = pair.substr(0, eq);
        const auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (name == "X-Amz-Signature") {
            signature = value.value_or("");
        } else {
            if (name == "X-Amz-Credential") {
                credential = value.value_or("");
            } else if (name == "X-Amz-Date") {
                amz_date = value.value_or("");
            } else if (name == "X-Amz-SignedHeaders") {
                signed_headers = value.value_or("");
            } else if (name == "X-Amz-Algorithm") {
                algorithm_value = value.value_or("");
            } else if (name == "X-Amz-Expires") {
                const std::string text = value.value_or("");
                if (text.empty() || text.size() > 6 ||
                    !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; }) ||
                    std::stoll(text) > 604'800) {
                    // AWS: a presigned URL lives at most 7 days.
                    return refuse("IncompleteSignatureException",
                                  "X-Amz-Expires must be a number of seconds from 0 to 604800 (7 days)");
                }
                expires = std::stoll(text);
            }
            // AWS IoT leaves the session token out of the signature (the SDKs append it after
            // signing: omit_session_token).
            if (name != "X-Amz-Security-Token") {
                unsigned_query += (unsigned_query.empty() ? "" : "&") + std::string(pair);
            }
        }
        if (amp == std::string::npos) {
            break;
        }
        start = amp + 1;
    }
    if (signature.empty() && credential.empty()) {
        return refuse("MissingAuthenticationTokenException", "Missing Authentication Token");
    }
    if (algorithm_value != algorithm || credential.empty() || amz_date.empty() || signed_headers.empty() ||
        signature.empty()) {
        return refuse("IncompleteSignatureException",
                      "A presigned URL needs X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential, X-Amz-Date, "
                      "X-Amz-SignedHeaders and X-Amz-Signature");
    }
    std::vector<std::string_view> scope;
    const std::string* secret = nullptr;
    if (auto refused = check_credential(credential, options, scope, secret)) {
        return refused;
    }
    const auto when = parse_amz_date(amz_date);
    if (!when || amz_date.substr(0, 8) != scope[1]) {
        return refuse("IncompleteSignatureException", "X-Amz-Date must match the credential's date.");
    }
    if (!signs_host(signed_headers) || !canonical_headers(request, signed_headers)) {
        return refuse("IncompleteSignatureException",
                      "Signed header missing from the request, or 'host' not signed: " + signed_headers);
    }
    const Duration skew = *when > now ? when->since_unix_epoch - now.since_unix_epoch
                                      : now.since_unix_epoch - when->since_unix_epoch;
    const bool expired = expires && now > *when && now.since_unix_epoch - when->since_unix_epoch > seconds(*expires);
    if (expired || (!expires && skew > options.clock_skew_max) || (*when > now && skew > options.clock_skew_max)) {
        return refuse("InvalidSignatureException", "Signature expired: " + amz_date);
    }
    // The payload of a presigned GET: the empty body's hash (botocore, awscrt) or UNSIGNED-PAYLOAD.
    const std::string empty_body_hash = sha256_hex("");
    for (const std::string_view payload_hash : {std::string_view(empty_body_hash), std::string_view("UNSIGNED-PAYLOAD")}) {
        if (equal_constant_time(signature_of(request, unsigned_query, signed_headers, payload_hash, amz_date,
                                             *secret, scope[2], scope[3]),
                                signature)) {
            if (key_id != nullptr) {
                *key_id = std::string(scope[0]);
            }
            return std::nullopt;
        }
    }
    return refuse("InvalidSignatureException",
                  "The request signature we calculated does not match the signature you provided. Check your AWS "
                  "Secret Access Key and signing method. Consult the service documentation for details.");
}

}  // namespace iotsim::http
