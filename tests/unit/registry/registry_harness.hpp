#pragma once

// Test fixture for the registry: a Registry over a MemoryRegistryStore with a seeded Rng and a
// manual clock, plus a small X.509 factory (OpenSSL, test-time keys) for certificates.

#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <boost/test/unit_test.hpp>

#include "iotsim/common/rng.hpp"
#include "iotsim/common/time.hpp"
#include "iotsim/registry/error.hpp"
#include "iotsim/registry/registry.hpp"
#include "iotsim/registry/store.hpp"

// Printable enums for BOOST_TEST (ADL finds them in the registry's namespace).
namespace iotsim::registry {
inline std::ostream& operator<<(std::ostream& os, CertificateStatus s) {
    return os << to_string(s);
}
inline std::ostream& operator<<(std::ostream& os, CaCertificateStatus s) {
    return os << to_string(s);
}
inline std::ostream& operator<<(std::ostream& os, CertificateMode m) {
    return os << to_string(m);
}
inline std::ostream& operator<<(std::ostream& os, ThingPrincipalType t) {
    return os << to_string(t);
}
}  // namespace iotsim::registry

namespace registry_test {

using namespace iotsim;
using namespace iotsim::registry;

/// 2026-01-01T00:00:00Z, the simulator's default epoch.
inline constexpr std::int64_t epoch_s = 1767225600;

struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using KeyPtr = std::shared_ptr<EVP_PKEY>;

/// A key pair and a certificate, PEM-encoded.
struct TestCert {
    KeyPtr key;
    std::string pem;
};

inline KeyPtr make_key() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    if (key == nullptr) {
        throw std::runtime_error("EVP_EC_gen failed");
    }
    return KeyPtr(key, KeyFree{});
}

/// A certificate for CN=`cn`, valid [not_before, not_after] (Unix seconds), signed by `issuer`
/// (self-signed when null), with basicConstraints CA:TRUE when `ca`.
inline TestCert make_cert(const std::string& cn, const TestCert* issuer = nullptr, bool ca = false,
                          std::int64_t not_before = epoch_s - 86400,
                          std::int64_t not_after = epoch_s + 365 * 86400, long serial = 1) {
    TestCert out;
    out.key = make_key();
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    ASN1_TIME_set(X509_getm_notBefore(x), static_cast<time_t>(not_before));
    ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(not_after));
    X509_set_pubkey(x, out.key.get());
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509* issuer_cert = nullptr;
    if (issuer != nullptr) {
        BIO* bio = BIO_new_mem_buf(issuer->pem.data(), static_cast<int>(issuer->pem.size()));
        issuer_cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
        X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
    } else {
        X509_set_issuer_name(x, name);
    }
    if (ca) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, issuer_cert != nullptr ? issuer_cert : x, x, nullptr, nullptr, 0);
        X509_EXTENSION* ext =
            X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(x, issuer != nullptr ? issuer->key.get() : out.key.get(), EVP_sha256());
    BIO* mem = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(mem, x);
    char* data = nullptr;
    const long size = BIO_get_mem_data(mem, &data);
    out.pem.assign(data, static_cast<std::size_t>(size));
    BIO_free(mem);
    X509_free(x);
    X509_free(issuer_cert);
    return out;
}

/// The DER bytes of a PEM certificate (for checking fingerprints independently).
inline std::string der_of(const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    unsigned char* der = nullptr;
    const int n = i2d_X509(x, &der);
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    X509_free(x);
    return out;
}

inline Now at_s(std::int64_t s) {
    return Now{Instant{seconds(s - epoch_s)}, WallTime{seconds(s)}};
}

inline const char* allow_all_policy =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})";
inline const char* connect_policy =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"}]})";

struct Fixture {
    MemoryRegistryStore store;
    Rng rng{42};
    Registry registry{store, rng};
    std::int64_t clock_s = epoch_s;

    Fixture() { registry.recover(); }

    Now now() const { return at_s(clock_s); }
    void advance(std::int64_t s) { clock_s += s; }

    const ThingRecord& thing(const std::string& name, Attributes attributes = {},
                             std::optional<std::string> type = std::nullopt) {
        CreateThingInput input;
        input.thing_name = name;
        input.attributes = std::move(attributes);
        input.thing_type_name = std::move(type);
        return registry.create_thing(input, now());
    }

    const ThingGroupRecord& group(const std::string& name,
                                  std::optional<std::string> parent = std::nullopt) {
        CreateThingGroupInput input;
        input.thing_group_name = name;
        input.parent_group_name = std::move(parent);
        return registry.create_thing_group(input, now());
    }

    /// A self-signed device certificate registered without CA, with the given status.
    const CertificateRecord& certificate(const std::string& cn,
                                         CertificateStatus status = CertificateStatus::active) {
        const TestCert cert = make_cert(cn);
        return registry.add_issued_certificate(cert.pem, status, now());
    }
};

/// Runs `body`, which must throw RegistryError of `type` (and the model's status for it).
template <class F>
void expect_error(F&& body, std::string_view type, int status) {
    try {
        body();
    } catch (const RegistryError& e) {
        BOOST_TEST(e.error().type == type);
        BOOST_TEST(e.error().status == status);
        BOOST_TEST(!e.error().message.empty());
        return;
    }
    BOOST_ERROR("expected " << type << " but nothing was thrown");
}

}  // namespace registry_test
