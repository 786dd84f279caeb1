#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/common/time.hpp"

namespace iotsim::policy {

/// ASCII case-insensitive ordering: IAM's condition keys and AWS IoT's certificate fields are
/// case-insensitive. Transparent, so lookups by string_view allocate nothing.
struct CaseInsensitiveLess {
    using is_transparent = void;
    [[nodiscard]] bool operator()(std::string_view a, std::string_view b) const noexcept;
};

/// The registry thing a connection is bound to. The caller decides the binding (reference
/// §5.1): the thing attached to the principal whose name equals the client id (non-exclusive
/// association) or the principal's exclusive thing. Thing variables resolve only through it.
struct ThingContext {
    std::string name;                        // ${iot:Connection.Thing.ThingName}
    std::optional<std::string> type_name;    // ${iot:Connection.Thing.ThingTypeName}
    std::map<std::string, std::string, std::less<>> attributes;  // ...Attributes[name]
};

/// Everything a policy can refer to besides the action and the resource: the values of policy
/// variables and condition keys, as authentication and the connection established them
/// (reference §4.4 "Policy variables", §5). An absent value is an unresolvable variable.
struct RequestContext {
    /// ${iot:ClientId}: the MQTT client id; absent where there is none (HTTP publish).
    std::optional<std::string> client_id;
    /// The bound thing, present only when it is attached to the principal and the connection is
    /// MQTT or MQTT over WSS. ${iot:Connection.Thing.IsAttached} is "true" exactly when present.
    std::optional<ThingContext> thing;
    /// ${iot:CertificateId}: the certificate id (64 hex digits) of an X.509 connection.
    std::optional<std::string> certificate_id;
    /// X.509 fields without the `iot:Certificate.` prefix, values in certificate order:
    /// "Subject.CommonName", "Issuer.Organization", "Subject.AlternativeName.DNSName",
    /// "SerialNumber", "AvailableKeys", ... Multi-valued fields hold every value; a variable
    /// names the first, `.N` the one N places after it, `.List` all of them (at most 5).
    std::map<std::string, std::vector<std::string>, CaseInsensitiveLess> certificate;
    /// aws:SourceIp (condition key): the peer's address as text, IPv4 or IPv6.
    std::optional<std::string> source_ip;
    /// aws:CurrentTime and aws:EpochTime, from the caller's wall clock (never read here).
    std::optional<WallTime> current_time;
    /// iot:ConnectAttributes on iot:Connect: "PersistentConnect" (clean session off / session
    /// expiry > 0) and "LastWill" (a will is set). Absent on other actions.
    std::optional<std::vector<std::string>> connect_attributes;
    /// iot:LastWillTopic on iot:Connect with a will.
    std::optional<std::string> last_will_topic;
    /// Any other condition key by its full name ("aws:SecureTransport", "iot:ClientMode", ...).
    std::map<std::string, std::vector<std::string>, CaseInsensitiveLess> extra;
};

}  // namespace iotsim::policy
