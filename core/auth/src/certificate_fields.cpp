#include "iotsim/auth/certificate_fields.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <memory>
#include <utility>

namespace iotsim::auth {
namespace {

struct Free {
    void operator()(BIO* p) const { BIO_free(p); }
    void operator()(X509* p) const { X509_free(p); }
    void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
    void operator()(BIGNUM* p) const { BN_free(p); }
};

struct NameAttribute {
    int nid;
    const char* aws_name;
};

constexpr std::array<NameAttribute, 13> name_attributes{{
    {NID_dnQualifier, "DistinguishedNameQualifier"},
    {NID_countryName, "Country"},
    {NID_organizationName, "Organization"},
    {NID_organizationalUnitName, "OrganizationalUnit"},
    {NID_stateOrProvinceName, "State"},
    {NID_commonName, "CommonName"},
    {NID_serialNumber, "SerialNumber"},
    {NID_title, "Title"},
    {NID_surname, "Surname"},
    {NID_givenName, "GivenName"},
    {NID_initials, "Initials"},
    {NID_pseudonym, "Pseudonym"},
    {NID_generationQualifier, "GenerationQualifier"},
}};

using Fields = std::map<std::string, std::vector<std::string>, policy::CaseInsensitiveLess>;

std::string text_of(const ASN1_STRING* s) {
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, s);
    if (n < 0) {
        return {};
    }
    std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
    return out;
}

std::string one_line(const X509_NAME* name) {
    std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string{};
}

void add_name(Fields& out, const std::string& prefix, const X509_NAME* name) {
    for (const NameAttribute& a : name_attributes) {
        int index = -1;
        while ((index = X509_NAME_get_index_by_NID(name, a.nid, index)) >= 0) {
            const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, index);
            out[prefix + a.aws_name].push_back(text_of(X509_NAME_ENTRY_get_data(entry)));
        }
    }
}

void add_alternative_names(Fields& out, const std::string& prefix, X509* cert, int nid) {
    std::unique_ptr<GENERAL_NAMES, Free> names(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, nid, nullptr, nullptr)));
    if (!names) {
        return;
    }
    const std::string base = prefix + "AlternativeName.";
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
        switch (g->type) {
            case GEN_DNS: out[base + "DNSName"].push_back(text_of(g->d.dNSName)); break;
            case GEN_EMAIL: out[base + "RFC822Name"].push_back(text_of(g->d.rfc822Name)); break;
            case GEN_URI:
                out[base + "UniformResourceIdentifier"].push_back(
                    text_of(g->d.uniformResourceIdentifier));
                break;
            case GEN_DIRNAME: out[base + "DirectoryName"].push_back(one_line(g->d.directoryName)); break;
            case GEN_IPADD: {
                const ASN1_OCTET_STRING* ip = g->d.iPAddress;
                const unsigned char* b = ASN1_STRING_get0_data(ip);
                std::string text;
                if (ASN1_STRING_length(ip) == 4) {
                    for (int k = 0; k < 4; ++k) {
                        text += (k > 0 ? "." : "") + std::to_string(b[k]);
                    }
                } else if (ASN1_STRING_length(ip) == 16) {
                    static constexpr char hex[] = "0123456789abcdef";
                    for (int k = 0; k < 16; k += 2) {
                        if (k > 0) {
                            text.push_back(':');
                        }
                        for (int h : {b[k] >> 4, b[k] & 0xF, b[k + 1] >> 4, b[k + 1] & 0xF}) {
                            text.push_back(hex[h]);
                        }
                    }
                }
                out[base + "IPAddress"].push_back(std::move(text));
                break;
            }
            default: break;
        }
    }
}

}  // namespace

Fields certificate_fields(std::string_view pem) {
    Fields out;
    std::unique_ptr<BIO, Free> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        return out;
    }
    std::unique_ptr<X509, Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        return out;
    }
    add_name(out, "Subject.", X509_get_subject_name(cert.get()));
    add_name(out, "Issuer.", X509_get_issuer_name(cert.get()));
    add_alternative_names(out, "Subject.", cert.get(), NID_subject_alt_name);
    add_alternative_names(out, "Issuer.", cert.get(), NID_issuer_alt_name);
    std::unique_ptr<BIGNUM, Free> serial(
        ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
    if (serial) {
        char* dec = BN_bn2dec(serial.get());
        if (dec != nullptr) {
            out["SerialNumber"].push_back(dec);
            OPENSSL_free(dec);
        }
    }
    std::vector<std::string> keys;
    keys.reserve(out.size());
    for (const auto& [key, values] : out) {
        keys.push_back(key);
    }
    out["AvailableKeys"] = std::move(keys);
    return out;
}

}  // namespace iotsim::auth
