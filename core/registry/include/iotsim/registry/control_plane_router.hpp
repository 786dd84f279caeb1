#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "iotsim/common/rng.hpp"
#include "iotsim/common/time.hpp"
#include "iotsim/http/error.hpp"
#include "iotsim/http/message.hpp"
#include "iotsim/registry/registry.hpp"

namespace iotsim::registry {

/// A fresh certificate the host made (CreateKeysAndCertificate).
struct IssuedCertificate {
    std::string certificate_pem;
    std::string public_key_pem;
    std::string private_key_pem;
    /// The registered CA certificate that signed it, "" for none (AWS-issued certificates
    /// show no caCertificateId).
    std::string ca_certificate_id;
};

/// The host's seam for the two operations that need fresh keys or serial numbers (randomness
/// the core does not draw, and key generation the core does not do): the host makes the
/// certificate with its local CA, the router records it with Registry::add_issued_certificate
/// and answers. Implementations may throw RegistryError (e.g. InvalidRequestException for a
/// CSR that does not parse or has a weak key); other exceptions become 500.
/// Thread safety: called from the thread that drives the router.
class CertificateIssuer {
public:
    virtual ~CertificateIssuer() = default;
    /// CreateKeysAndCertificate: an RSA 2048 key pair and a certificate for it.
    [[nodiscard]] virtual IssuedCertificate create_keys_and_certificate(Now now) = 0;
    /// CreateCertificateFromCsr: a certificate for the CSR's public key (PEM); the same CSR
    /// twice gives two certificates. `ca_certificate_id` is set as for IssuedCertificate.
    [[nodiscard]] virtual std::string create_certificate_from_csr(std::string_view csr_pem,
                                                                  std::string& ca_certificate_id,
                                                                  Now now) = 0;
};

/// The host's seam for TestInvokeAuthorizer: it verifies the token signature, runs the
/// authorizer's function (a local stand-in for Lambda: I/O the core does not do) and answers
/// with the model's TestInvokeAuthorizer output (isAuthenticated, principalId,
/// policyDocuments as strings, refreshAfterInSeconds, disconnectAfterInSeconds). `request` is
/// the request body (token, tokenSignature, httpContext, mqttContext, tlsContext). Throws
/// RegistryError for the model's errors (InvalidRequestException for a bad signature,
/// InvalidResponseException for a function answer that is not AWS's response format).
/// Thread safety: called from the thread that drives the router.
class AuthorizerInvoker {
public:
    virtual ~AuthorizerInvoker() = default;
    [[nodiscard]] virtual nlohmann::json test_invoke(const AuthorizerRecord& authorizer,
                                                     const nlohmann::json& request, Now now) = 0;
};

/// What the authorization seam sees of a routed control-plane request.
struct ControlPlaneAuthorizeRequest {
    std::string_view operation;              // botocore's operation name, e.g. "CreateThing"
    const http::Request* request = nullptr;  // headers (Authorization, X-Amz-Date...), body
};

/// nullopt admits the request; an ApiError (e.g. 401 UnauthorizedException,
/// 403 AccessDeniedException) is sent as is. Called after routing, before anything is decoded
/// beyond the path.
using ControlPlaneAuthorize =
    std::function<std::optional<http::ApiError>(const ControlPlaneAuthorizeRequest&)>;

/// The iot control-plane REST API (botocore's `iot` 2015-05-28 model, rest-json) over a
/// Registry: things, thing types, thing groups, certificates and CA certificates, policies and
/// versions, attachments, tags, custom authorizers (Create/Describe/Update/Delete/ListAuthorizers,
/// Set/Describe/ClearDefaultAuthorizer; TestInvokeAuthorizer through the AuthorizerInvoker seam,
/// 503 without one), DescribeEndpoint, GetRegistrationCode; CreateKeysAndCertificate
/// and CreateCertificateFromCsr through the CertificateIssuer seam (503
/// ServiceUnavailableException without one).
///
/// Paths, methods, query parameters, headers (`x-amzn-principal`) and JSON member names are
/// the model's; timestamps are epoch seconds. Errors: the model's status, `x-amzn-ErrorType`
/// and a body `{"message": ...}`; a known path with another method is 405, an unknown path 404.
/// Every response carries `x-amzn-RequestId` (a UUID from the injected Rng).
///
/// Thread safety: none; one thread drives the router and its Registry.
class ControlPlaneRouter {
public:
    ControlPlaneRouter(Registry& registry, Rng& rng);

    /// Installs the authorization hook; without one every request is admitted.
    void set_authorize(ControlPlaneAuthorize authorize) { authorize_ = std::move(authorize); }
    /// Installs the certificate issuer (not owned; may be nullptr).
    void set_certificate_issuer(CertificateIssuer* issuer) { issuer_ = issuer; }
    /// Installs the TestInvokeAuthorizer seam (not owned; may be nullptr: 503).
    void set_authorizer_invoker(AuthorizerInvoker* invoker) { invoker_ = invoker; }

    /// Answers one request. Never throws on input.
    [[nodiscard]] http::Response handle(const http::Request& request, Now now);

    /// The botocore operation name a request would be routed to, or "" (for hosts that serve
    /// the control plane and iot-data on one port).
    [[nodiscard]] static std::string_view operation_for(const http::Request& request);

private:
    Registry& registry_;
    Rng& rng_;
    ControlPlaneAuthorize authorize_;
    CertificateIssuer* issuer_ = nullptr;
    AuthorizerInvoker* invoker_ = nullptr;
};

}  // namespace iotsim::registry
