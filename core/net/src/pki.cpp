#include "iotsim/net/pki.hpp"

#include "iotsim/net/certificate_issuer.hpp"
#include "iotsim/registry/error.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <system_error>

namespace iotsim::net {
namespace {

namespace fs = std::filesystem;

struct Free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
    void operator()(X509* p) const { X509_free(p); }
    void operator()(BIO* p) const { BIO_free(p); }
    void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
    void operator()(X509_REQ* p) const { X509_REQ_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

std::string openssl_error() {
    const unsigned long e = ERR_get_error();
    if (e == 0) {
        return "unknown OpenSSL error";
    }
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

[[noreturn]] void fail(const std::string& what) { throw PkiError("iotsim.pki: " + what + ": " + openssl_error()); }

Key make_rsa_key() {
    Key key(EVP_RSA_gen(2048));
    if (!key) {
        fail("cannot generate an RSA key");
    }
    return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    std::unique_ptr<X509_EXTENSION, Free> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
        fail(std::string("cannot add extension ") + value);
    }
}

/// The subject AWS gives the certificates it issues.
constexpr const char* aws_certificate_cn = "AWS IoT Certificate";
/// AWS-issued certificates expire 2049-12-31T23:59:59Z (reference §4.3).
constexpr const char* aws_certificate_not_after = "20491231235959Z";

/// Certificates are dated by the host's clock at creation (this is the network host, which may
/// read clocks); validity is checked by OpenSSL at handshake time.
Cert make_cert(EVP_PKEY* key, const std::string& common_name, X509* issuer, EVP_PKEY* issuer_key, bool is_ca,
               const std::string& san, long days, const X509_NAME* subject = nullptr,
               const char* not_after = nullptr) {
    Cert cert(X509_new());
    if (!cert) {
        fail("X509_new");
    }
    X509_set_version(cert.get(), 2);
    unsigned char serial_bytes[16];
    if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) {
        fail("RAND_bytes");
    }
    serial_bytes[0] &= 0x7F;
    BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
    BN_free(serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    if (not_after != nullptr) {
        ASN1_TIME_set_string(X509_getm_notAfter(cert.get()), not_after);
    } else {
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 24 * 3600);
    }
    X509_set_pubkey(cert.get(), key);
    if (subject != nullptr) {
        X509_set_subject_name(cert.get(), subject);
    } else {
        X509_NAME* name = X509_get_subject_name(cert.get());
        if (common_name != aws_certificate_cn) {
            X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("iotsim"), -1,
                                       -1, 0);
        }
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
    }
    X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert));
    if (is_ca) {
        add_ext(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), issuer_cert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        add_ext(cert.get(), issuer_cert, NID_ext_key_usage, san.empty() ? "clientAuth" : "serverAuth,clientAuth");
    }
    add_ext(cert.get(), issuer_cert, NID_subject_key_identifier, "hash");
    if (issuer != nullptr) {
        add_ext(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid:always");
    }
    if (!san.empty()) {
        add_ext(cert.get(), issuer_cert, NID_subject_alt_name, san.c_str());
    }
    if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
        fail("cannot sign certificate " + common_name);
    }
    return cert;
}

void write_file(const fs::path& path, const std::string& content, bool secret) {
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) {
            throw PkiError("iotsim.pki: cannot write " + tmp.string());
        }
        out << content;
        if (!out.flush()) {
            throw PkiError("iotsim.pki: cannot write " + tmp.string());
        }
    }
    if (secret) {
        ::chmod(tmp.c_str(), 0600);
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        throw PkiError("iotsim.pki: cannot write " + path.string() + ": " + ec.message());
    }
}

std::string pem_of(X509* cert) {
    Bio bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string pem_of(EVP_PKEY* key) {
    Bio bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

Cert read_cert(const fs::path& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        throw PkiError("iotsim.pki: cannot read " + path.string());
    }
    Cert cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    if (!cert) {
        fail("not a PEM certificate: " + path.string());
    }
    return cert;
}

Key read_key(const fs::path& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        throw PkiError("iotsim.pki: cannot read " + path.string());
    }
    Key key(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    if (!key) {
        fail("not a PEM private key: " + path.string());
    }
    return key;
}

}  // namespace

std::string certificate_id_of_der(const unsigned char* der, std::size_t size) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(der, size, digest);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (unsigned char b : digest) {
        out.push_back(hex[b >> 4]);
        out.push_back(hex[b & 0xF]);
    }
    return out;
}

PkiFiles ensure_pki(const fs::path& data_dir, const std::vector<std::string>& server_names) {
    PkiFiles files{data_dir / "root-CA.crt",     data_dir / "root-CA.key",       data_dir / "server.cert.pem",
                   data_dir / "server.private.key", data_dir / "device.cert.pem", data_dir / "device.private.key"};
    Cert ca;
    Key ca_key;
    if (fs::exists(files.root_ca_cert) && fs::exists(files.root_ca_key)) {
        ca = read_cert(files.root_ca_cert);
        ca_key = read_key(files.root_ca_key);
    } else {
        ca_key = make_rsa_key();
        ca = make_cert(ca_key.get(), "iotsim Local Root CA 1", nullptr, nullptr, true, "", 3650);
        write_file(files.root_ca_key, pem_of(ca_key.get()), true);
        write_file(files.root_ca_cert, pem_of(ca.get()), false);
        // A new CA invalidates certificates signed by an old one.
        std::error_code ec;
        fs::remove(files.server_cert, ec);
        fs::remove(files.device_cert, ec);
    }
    if (!fs::exists(files.server_cert) || !fs::exists(files.server_key)) {
        std::string san;
        for (const auto& name : server_names) {
            const bool is_ip = name.find_first_not_of("0123456789.:") == std::string::npos;
            if (!san.empty()) {
                san.push_back(',');
            }
            san.append(is_ip ? "IP:" : "DNS:");
            san.append(name);
        }
        Key key = make_rsa_key();
        Cert cert = make_cert(key.get(), server_names.empty() ? "localhost" : server_names.front(), ca.get(),
                              ca_key.get(), false, san, 825);
        write_file(files.server_key, pem_of(key.get()), true);
        write_file(files.server_cert, pem_of(cert.get()), false);
    }
    if (!fs::exists(files.device_cert) || !fs::exists(files.device_key)) {
        Key key = make_rsa_key();
        Cert cert = make_cert(key.get(), "iotsim-device", ca.get(), ca_key.get(), false, "", 3650);
        write_file(files.device_key, pem_of(key.get()), true);
        write_file(files.device_cert, pem_of(cert.get()), false);
    }
    return files;
}

namespace {

std::string public_pem_of(EVP_PKEY* key) {
    Bio bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PUBKEY(bio.get(), key);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

[[noreturn]] void invalid_csr(const std::string& why) {
    throw registry::RegistryError(registry::errors::make(registry::errors::invalid_request, why));
}

/// AWS accepts RSA keys of 2048 bits or more and EC keys on P-256, P-384 and P-521.
bool acceptable_key(EVP_PKEY* key) {
    if (EVP_PKEY_is_a(key, "RSA") == 1) {
        return EVP_PKEY_get_bits(key) >= 2048;
    }
    if (EVP_PKEY_is_a(key, "EC") == 1) {
        char group[64] = {};
        size_t len = 0;
        if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len) != 1) {
            return false;
        }
        const std::string name(group, len);
        return name == "prime256v1" || name == "P-256" || name == "secp384r1" || name == "P-384" ||
               name == "secp521r1" || name == "P-521";
    }
    return false;
}

}  // namespace

struct LocalCertificateIssuer::Impl {
    Cert ca;
    Key ca_key;
};

LocalCertificateIssuer::LocalCertificateIssuer(const fs::path& ca_cert, const fs::path& ca_key)
    : impl_(std::make_unique<Impl>()) {
    impl_->ca = read_cert(ca_cert);
    impl_->ca_key = read_key(ca_key);
}

LocalCertificateIssuer::~LocalCertificateIssuer() = default;

registry::IssuedCertificate LocalCertificateIssuer::create_keys_and_certificate(Now) {
    Key key = make_rsa_key();
    Cert cert = make_cert(key.get(), aws_certificate_cn, impl_->ca.get(), impl_->ca_key.get(), false, "", 0, nullptr,
                          aws_certificate_not_after);
    return registry::IssuedCertificate{pem_of(cert.get()), public_pem_of(key.get()), pem_of(key.get()), ""};
}

std::string LocalCertificateIssuer::create_certificate_from_csr(std::string_view csr_pem,
                                                                std::string& ca_certificate_id, Now) {
    ca_certificate_id.clear();
    Bio bio(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
    std::unique_ptr<X509_REQ, Free> csr(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    ERR_clear_error();
    if (!csr) {
        invalid_csr("The certificate signing request is not a valid PEM-encoded PKCS#10 request");
    }
    EVP_PKEY* key = X509_REQ_get0_pubkey(csr.get());
    if (key == nullptr || X509_REQ_verify(csr.get(), key) != 1) {
        ERR_clear_error();
        invalid_csr("The certificate signing request's signature does not verify");
    }
    if (!acceptable_key(key)) {
        invalid_csr("The certificate signing request's key must be RSA of at least 2048 bits or EC on P-256, "
                    "P-384 or P-521");
    }
    const X509_NAME* subject = X509_REQ_get_subject_name(csr.get());
    const bool has_subject = subject != nullptr && X509_NAME_entry_count(subject) > 0;
    Cert cert = make_cert(key, aws_certificate_cn, impl_->ca.get(), impl_->ca_key.get(), false, "", 0,
                          has_subject ? subject : nullptr, aws_certificate_not_after);
    return pem_of(cert.get());
}

}  // namespace iotsim::net
