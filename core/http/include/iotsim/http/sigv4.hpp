#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/common/time.hpp"
#include "iotsim/http/error.hpp"
#include "iotsim/http/message.hpp"

/// AWS Signature Version 4 on the HTTP APIs (reference §5.2), Sans-I/O: the request and `now`
/// in, a verdict out. botocore's canonical form: the URI path encoded once more (services other
/// than S3 double-encode), the query's pairs as sent sorted by name then value, the signed
/// headers lower-cased with their values trimmed and inner spaces collapsed, the body's SHA-256
/// (or `x-amz-content-sha256` when given).
namespace iotsim::http {

struct SigV4Options {
    /// Access key id -> secret access key. Empty: every request is admitted (iotsim's default,
    /// a local convenience: the reference's "if empty, accept any well-formed signature"
    /// would refuse curl and the notebooks' plain urllib calls for no benefit).
    std::map<std::string, std::string, std::less<>> secrets;
    /// The credential scope's region.
    std::string region = "us-east-1";
    /// Service names accepted in the scope: `iot` (the control plane's model), `execute-api`
    /// (what botocore signs the iot control plane with), `iotdata` (botocore's iot-data) and
    /// `iotdevicegateway` (the developer guide's name for the data plane).
    std::vector<std::string> services{"iot", "execute-api", "iotdata", "iotdevicegateway"};
    /// AWS refuses a request whose X-Amz-Date is further than this from its clock.
    Duration clock_skew_max = minutes(15);
};

/// Checks the request's SigV4 `Authorization` header against `options`; nullopt when the request
/// may proceed. Refusals are AWS's (status 403): MissingAuthenticationTokenException ("Missing
/// Authentication Token"), IncompleteSignatureException (a malformed header or scope),
/// UnrecognizedClientException (an unknown access key), InvalidSignatureException (a wrong
/// signature, or an X-Amz-Date too far from `now`).
[[nodiscard]] std::optional<ApiError> verify_sigv4(const Request& request, const SigV4Options& options, WallTime now);

/// Checks a presigned URL: SigV4 in the query string (X-Amz-Algorithm, X-Amz-Credential,
/// X-Amz-Date, X-Amz-SignedHeaders, X-Amz-Signature, optionally X-Amz-Expires), as the AWS IoT
/// Device SDKs sign an MQTT-over-WebSocket handshake (service `iotdevicegateway`; the session
/// token, if any, is appended unsigned). The payload hash is the empty body's (or
/// UNSIGNED-PAYLOAD). On success `key_id` (if given) gets the access key id. Refusals as
/// verify_sigv4's. Secrets must be configured (an empty map refuses every key).
[[nodiscard]] std::optional<ApiError> verify_sigv4_query(const Request& request, const SigV4Options& options,
                                                         WallTime now, std::string* key_id = nullptr);

/// The signature for `request` as SigV4 computes it, given the signed header names (lower case,
/// sorted, ';'-separated as in the header), the X-Amz-Date value and the scope. For tests and
/// for clients built on iotsim.
[[nodiscard]] std::string sigv4_signature(const Request& request, std::string_view signed_headers,
                                          std::string_view amz_date, std::string_view secret,
                                          std::string_view region, std::string_view service);

}  // namespace iotsim::http
