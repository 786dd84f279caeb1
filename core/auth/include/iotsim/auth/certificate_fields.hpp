#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/policy/context.hpp"

namespace iotsim::auth {

/// The X.509 fields AWS IoT exposes as `iot:Certificate.*` policy variables (reference §4.4),
/// without the prefix, as policy::RequestContext::certificate holds them:
///   Subject.<Attr>, Issuer.<Attr> for CommonName, Country, Organization, OrganizationalUnit,
///     State, DistinguishedNameQualifier, SerialNumber, Title, Surname, GivenName, Initials,
///     Pseudonym, GenerationQualifier (every value, in certificate order);
///   Subject.AlternativeName.{DNSName, RFC822Name, UniformResourceIdentifier, IPAddress,
///     DirectoryName}, Issuer.AlternativeName.* likewise;
///   SerialNumber (the certificate's serial, decimal; AMBIG: AWS does not say how it is
///     written) and AvailableKeys (the names of the fields present, e.g. "Subject.CommonName").
/// Pure OpenSSL parsing: no clock, no randomness. An unparsable PEM gives an empty map.
[[nodiscard]] std::map<std::string, std::vector<std::string>, policy::CaseInsensitiveLess>
certificate_fields(std::string_view pem);

}  // namespace iotsim::auth
