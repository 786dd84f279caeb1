// Policy variables and condition keys: what `${name}` refers to and what it resolves to.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "compiled.hpp"
#include "text.hpp"

namespace iotsim::policy::detail {

namespace {

constexpr std::string_view thing_prefix = "iot:Connection.Thing.";
constexpr std::string_view certificate_prefix = "iot:Certificate.";
constexpr std::string_view attributes_open = "Attributes[";

bool all_digits(std::string_view text) {
    if (text.empty()) {
        return false;
    }
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

VariableRef certificate_variable(std::string_view rest) {
    VariableRef ref;
    ref.kind = VariableKind::certificate;
    const std::size_t dot = rest.rfind('.');
    if (dot != std::string_view::npos) {
        const std::string_view last = rest.substr(dot + 1);
        if (iequals(last, "List")) {
            ref.list = true;
            rest = rest.substr(0, dot);
        } else if (all_digits(last)) {
            // `.N` selects the value N places after the first (AWS: ".1" is the second value).
            // An index past the 5 values AWS keeps never resolves; long ones are clamped.
            ref.index = certificate_values_max;
            if (last.size() <= 3) {
                std::from_chars(last.data(), last.data() + last.size(), ref.index);
            }
            rest = rest.substr(0, dot);
        }
    }
    ref.arg = std::string(rest);
    return ref;
}

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm, public domain).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

void put_digits(char*& out, std::int64_t value, int width) {
    char buffer[24];
    int n = 0;
    std::uint64_t v = value < 0 ? 0 : static_cast<std::uint64_t>(value);
    do {
        buffer[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < 20);
    while (n < width) {
        buffer[n++] = '0';
    }
    while (n > 0) {
        *out++ = buffer[--n];
    }
}

}  // namespace

VariableRef parse_variable(std::string_view name) {
    VariableRef ref;
    ref.name = std::string(name);
    if (iequals(name, "iot:ClientId")) {
        ref.kind = VariableKind::client_id;
    } else if (iequals(name, "iot:CertificateId")) {
        ref.kind = VariableKind::certificate_id;
    } else if (istarts_with(name, thing_prefix)) {
        const std::string_view rest = name.substr(thing_prefix.size());
        if (iequals(rest, "ThingName")) {
            ref.kind = VariableKind::thing_name;
        } else if (iequals(rest, "ThingTypeName")) {
            ref.kind = VariableKind::thing_type_name;
        } else if (iequals(rest, "IsAttached")) {
            ref.kind = VariableKind::thing_is_attached;
        } else if (istarts_with(rest, attributes_open) && rest.size() > attributes_open.size() &&
                   rest.back() == ']') {
            // Attribute names are case-sensitive, like the registry's.
            ref.kind = VariableKind::thing_attribute;
            ref.arg = std::string(
                rest.substr(attributes_open.size(), rest.size() - attributes_open.size() - 1));
        } else {
            ref.arg = ref.name;
        }
    } else if (istarts_with(name, certificate_prefix) && name.size() > certificate_prefix.size()) {
        VariableRef cert = certificate_variable(name.substr(certificate_prefix.size()));
        cert.name = ref.name;
        return cert;
    } else if (iequals(name, "aws:SourceIp")) {
        ref.kind = VariableKind::source_ip;
    } else if (iequals(name, "aws:CurrentTime")) {
        ref.kind = VariableKind::current_time;
    } else if (iequals(name, "aws:EpochTime")) {
        ref.kind = VariableKind::epoch_time;
    } else if (iequals(name, "iot:ConnectAttributes")) {
        ref.kind = VariableKind::connect_attributes;
    } else if (iequals(name, "iot:LastWillTopic")) {
        ref.kind = VariableKind::last_will_topic;
    } else {
        ref.arg = ref.name;
    }
    return ref;
}

bool certificate_value_usable(std::string_view value) noexcept {
    return value.size() <= 1024 && value.find_first_of("*$+?#") == std::string_view::npos;
}

std::string_view format_current_time(WallTime time, Scratch& scratch) {
    // ISO 8601 in UTC with seconds, as IAM shows aws:CurrentTime: 2026-01-01T00:00:00Z.
    std::int64_t seconds_total = time.unix_s();
    std::int64_t days = seconds_total / 86400;
    std::int64_t rem = seconds_total % 86400;
    if (rem < 0) {
        rem += 86400;
        --days;
    }
    std::int64_t year = 0;
    unsigned month = 0;
    unsigned day = 0;
    civil_from_days(days, year, month, day);
    char* out = scratch.data();
    put_digits(out, year, 4);
    *out++ = '-';
    put_digits(out, month, 2);
    *out++ = '-';
    put_digits(out, day, 2);
    *out++ = 'T';
    put_digits(out, rem / 3600, 2);
    *out++ = ':';
    put_digits(out, rem / 60 % 60, 2);
    *out++ = ':';
    put_digits(out, rem % 60, 2);
    *out++ = 'Z';
    return {scratch.data(), static_cast<std::size_t>(out - scratch.data())};
}

std::string_view format_epoch_time(WallTime time, Scratch& scratch) {
    const auto [end, ec] =
        std::to_chars(scratch.data(), scratch.data() + scratch.size(), time.unix_s());
    (void)ec;
    return {scratch.data(), static_cast<std::size_t>(end - scratch.data())};
}

std::optional<std::string_view> resolve_single(const VariableRef& ref, const RequestContext& context,
                                               Scratch& scratch) {
    switch (ref.kind) {
    case VariableKind::client_id:
        if (context.client_id) {
            return std::string_view(*context.client_id);
        }
        return std::nullopt;
    case VariableKind::certificate_id:
        if (context.certificate_id) {
            return std::string_view(*context.certificate_id);
        }
        return std::nullopt;
    case VariableKind::thing_name:
        if (context.thing) {
            return std::string_view(context.thing->name);
        }
        return std::nullopt;
    case VariableKind::thing_type_name:
        if (context.thing && context.thing->type_name) {
            return std::string_view(*context.thing->type_name);
        }
        return std::nullopt;
    case VariableKind::thing_attribute:
        if (context.thing) {
            const auto it = context.thing->attributes.find(ref.arg);
            if (it != context.thing->attributes.end()) {
                return std::string_view(it->second);
            }
        }
        return std::nullopt;
    case VariableKind::thing_is_attached:
        return context.thing ? std::string_view("true") : std::string_view("false");
    case VariableKind::certificate: {
        if (ref.list) {
            return std::nullopt;  // a list has no single value to substitute
        }
        const auto it = context.certificate.find(std::string_view(ref.arg));
        if (it == context.certificate.end() || ref.index >= it->second.size() ||
            ref.index >= certificate_values_max || !certificate_value_usable(it->second[ref.index])) {
            return std::nullopt;
        }
        return std::string_view(it->second[ref.index]);
    }
    case VariableKind::source_ip:
        if (context.source_ip) {
            return std::string_view(*context.source_ip);
        }
        return std::nullopt;
    case VariableKind::current_time:
        if (context.current_time) {
            return format_current_time(*context.current_time, scratch);
        }
        return std::nullopt;
    case VariableKind::epoch_time:
        if (context.current_time) {
            return format_epoch_time(*context.current_time, scratch);
        }
        return std::nullopt;
    case VariableKind::connect_attributes:
        return std::nullopt;  // multi-valued: usable in conditions only
    case VariableKind::last_will_topic:
        if (context.last_will_topic) {
            return std::string_view(*context.last_will_topic);
        }
        return std::nullopt;
    case VariableKind::extra: {
        const auto it = context.extra.find(std::string_view(ref.arg));
        if (it == context.extra.end() || it->second.size() != 1) {
            return std::nullopt;  // absent, or multi-valued (IAM substitutes single values only)
        }
        return std::string_view(it->second.front());
    }
    }
    return std::nullopt;
}

}  // namespace iotsim::policy::detail
