#include "iotsim/registry/certificate.hpp"

#include <array>
#include <ctime>
#include <memory>
#include <optional>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace iotsim::registry {

namespace {

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

PkeyPtr read_public_key(std::string_view pem) {
    if (pem.empty() || pem.size() > 100'000) {
        return nullptr;
    }
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        return nullptr;
    }
    return PkeyPtr(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

X509Ptr read_pem(std::string_view pem) {
    if (pem.empty() || pem.size() > 1'000'000) {
        return nullptr;
    }
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        return nullptr;
    }
    return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm): no
/// timegm, which reads the environment's time zone on some platforms.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<WallTime> to_wall(const ASN1_TIME* time) {
    std::tm tm{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
        return std::nullopt;
    }
    const std::int64_t days = days_from_civil(
        tm.tm_year + 1900, static_cast<unsigned>(tm.tm_mon + 1), static_cast<unsigned>(tm.tm_mday));
    const std::int64_t secs = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return WallTime{seconds(secs)};
}

std::string hex(const unsigned char* data, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(digits[data[i] >> 4]);
        out.push_back(digits[data[i] & 0x0f]);
    }
    return out;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
    return hex(digest.data(), length);
}

Result<CertificateFacts, std::string> parse_certificate(std::string_view pem) {
    X509Ptr cert = read_pem(pem);
    if (!cert) {
        return std::string("The certificate is not a valid PEM-encoded X.509 certificate");
    }
    unsigned char* der = nullptr;
    const int der_length = i2d_X509(cert.get(), &der);
    if (der_length <= 0) {
        return std::string("The certificate could not be DER-encoded");
    }
    CertificateFacts facts;
    facts.id = sha256_hex(
        std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(der_length)));
    OPENSSL_free(der);

    BioPtr out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_X509(out.get(), cert.get()) != 1) {
        return std::string("The certificate could not be PEM-encoded");
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(out.get(), &data);
    facts.pem.assign(data, static_cast<std::size_t>(size));

    const auto not_before = to_wall(X509_get0_notBefore(cert.get()));
    const auto not_after = to_wall(X509_get0_notAfter(cert.get()));
    if (!not_before || !not_after) {
        return std::string("The certificate has an invalid validity period");
    }
    facts.not_before = *not_before;
    facts.not_after = *not_after;

    if (X509_get0_pubkey(cert.get()) == nullptr) {
        return std::string("The certificate has no usable public key");
    }
    const X509_NAME* subject = X509_get_subject_name(cert.get());
    const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index >= 0) {
        const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
        unsigned char* utf8 = nullptr;
        const int n = ASN1_STRING_to_UTF8(&utf8, cn);
        if (n >= 0) {
            facts.subject_common_name.assign(reinterpret_cast<const char*>(utf8),
                                             static_cast<std::size_t>(n));
            OPENSSL_free(utf8);
        }
    }
    facts.is_ca = X509_check_ca(cert.get()) == 1;
    return facts;
}

bool is_signed_by(std::string_view certificate_pem, std::string_view issuer_pem) {
    X509Ptr cert = read_pem(certificate_pem);
    X509Ptr issuer = read_pem(issuer_pem);
    if (!cert || !issuer) {
        return false;
    }
    if (X509_NAME_cmp(X509_get_subject_name(issuer.get()), X509_get_issuer_name(cert.get())) != 0) {
        return false;
    }
    EVP_PKEY* key = X509_get0_pubkey(issuer.get());
    return key != nullptr && X509_verify(cert.get(), key) == 1;
}

std::string check_token_signing_key(std::string_view pem) {
    const PkeyPtr key = read_public_key(pem);
    if (!key) {
        return "is not a PEM public key (-----BEGIN PUBLIC KEY-----)";
    }
    if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
        return "must be an RSA public key";
    }
    if (EVP_PKEY_get_bits(key.get()) < 2048) {
        return "must be an RSA key of at least 2048 bits";
    }
    return {};
}

bool verify_rsa_sha256(std::string_view public_key_pem, std::string_view data,
                       std::string_view signature) {
    const PkeyPtr key = read_public_key(public_key_pem);
    if (!key || signature.empty()) {
        return false;
    }
    const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
        return false;
    }
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                            data.size()) == 1;
}

}  // namespace iotsim::registry
