#include "certificates.hpp"

#include <array>
#include <memory>
#include <stdexcept>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace iotsim::sim {

namespace {

struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct BnFree {
    void operator()(BIGNUM* b) const { BN_free(b); }
};
struct ExtFree {
    void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

[[noreturn]] void openssl_failed(const char* what) {
    throw std::runtime_error(std::string("simulation certificates: OpenSSL failed to ") + what);
}

template <std::size_t N>
std::array<unsigned char, N> draw(Rng& rng) {
    static_assert(N % 8 == 0);
    std::array<unsigned char, N> out{};
    for (std::size_t i = 0; i < N; i += 8) {
        const std::uint64_t v = rng.next_u64();
        for (std::size_t b = 0; b < 8; ++b) {
            out[i + b] = static_cast<unsigned char>((v >> (8 * b)) & 0xFF);
        }
    }
    return out;
}

/// An Ed25519 key whose 32 private bytes are the next draws of `rng`.
EVP_PKEY* ed25519_key(Rng& rng) {
    auto raw = draw<32>(rng);
    EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size());
    OPENSSL_cleanse(raw.data(), raw.size());
    if (key == nullptr) {
        openssl_failed("make an Ed25519 key");
    }
    return key;
}

/// A positive 128-bit serial (RFC 5280: at most 20 octets, positive), its top bits fixed so that
/// every serial has the same length.
void set_serial(X509* x, Rng& rng) {
    auto bytes = draw<16>(rng);
    bytes[0] = static_cast<unsigned char>((bytes[0] & 0x3F) | 0x40);
    std::unique_ptr<BIGNUM, BnFree> bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
    if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x)) == nullptr) {
        openssl_failed("set a serial number");
    }
}

void add_name(X509_NAME* name, const char* field, std::string_view value) {
    if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
        openssl_failed("build a name");
    }
}

/// Whole seconds, rounded down (toward the past).
void set_time(ASN1_TIME* field, WallTime t) {
    std::int64_t s = t.unix_s();
    if (seconds(s) > t.since_unix_epoch) {
        --s;
    }
    if (ASN1_TIME_set(field, static_cast<time_t>(s)) == nullptr) {
        openssl_failed("set a validity time");
    }
}

void add_extension(X509* x, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
    std::unique_ptr<X509_EXTENSION, ExtFree> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(x, ext.get(), -1) != 1) {
        openssl_failed("add an extension");
    }
}

std::string to_pem(X509* x) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), x) != 1) {
        openssl_failed("encode a certificate");
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

constexpr std::string_view ca_common_name = "iotsim simulation CA";
constexpr std::string_view organization = "iotsim";

void set_ca_name(X509_NAME* name) {
    add_name(name, "O", organization);
    add_name(name, "CN", ca_common_name);
}

}  // namespace

SimulationCa::SimulationCa(Rng rng, WallTime epoch) {
    key_ = ed25519_key(rng);
    X509Ptr x(X509_new());
    if (!x || X509_set_version(x.get(), 2) != 1) {
        openssl_failed("make the CA certificate");
    }
    set_serial(x.get(), rng);
    set_time(X509_getm_notBefore(x.get()), WallTime{epoch.since_unix_epoch - hours(24 * 3653)});
    set_time(X509_getm_notAfter(x.get()), WallTime{epoch.since_unix_epoch + hours(24 * 10958)});
    set_ca_name(X509_get_subject_name(x.get()));
    set_ca_name(X509_get_issuer_name(x.get()));
    if (X509_set_pubkey(x.get(), key_) != 1) {
        openssl_failed("set the CA's key");
    }
    add_extension(x.get(), x.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(x.get(), x.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    if (X509_sign(x.get(), key_, nullptr) <= 0) {  // Ed25519: no digest
        openssl_failed("sign the CA certificate");
    }
    pem_ = to_pem(x.get());
}

SimulationCa::~SimulationCa() { EVP_PKEY_free(key_); }

std::string SimulationCa::issue(std::string_view common_name, Rng& rng, WallTime not_before,
                                WallTime not_after) const {
    struct KeyFree {
        void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
    };
    std::unique_ptr<EVP_PKEY, KeyFree> key(ed25519_key(rng));
    X509Ptr x(X509_new());
    if (!x || X509_set_version(x.get(), 2) != 1) {
        openssl_failed("make a certificate");
    }
    set_serial(x.get(), rng);
    set_time(X509_getm_notBefore(x.get()), not_before);
    set_time(X509_getm_notAfter(x.get()), not_after);
    X509_NAME* subject = X509_get_subject_name(x.get());
    add_name(subject, "O", organization);
    add_name(subject, "CN", common_name);
    set_ca_name(X509_get_issuer_name(x.get()));
    if (X509_set_pubkey(x.get(), key.get()) != 1) {
        openssl_failed("set a certificate's key");
    }
    add_extension(x.get(), nullptr, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(x.get(), nullptr, NID_ext_key_usage, "clientAuth");
    if (X509_sign(x.get(), key_, nullptr) <= 0) {
        openssl_failed("sign a certificate");
    }
    return to_pem(x.get());
}

}  // namespace iotsim::sim
