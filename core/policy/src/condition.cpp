// Condition operators: IAM's semantics for the subset AWS IoT policies use (reference §4.4).

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "compiled.hpp"
#include "text.hpp"

namespace iotsim::policy::detail {

namespace {

std::optional<std::int64_t> parse_fixed(std::string_view text, std::size_t at, std::size_t width) {
    if (at + width > text.size()) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    for (std::size_t i = at; i < at + width; ++i) {
        const char c = text[i];
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    return value;
}

// Days from 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

std::optional<IpRange> parse_ipv4(std::string_view text) {
    IpRange ip;
    ip.family = 4;
    std::size_t at = 0;
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (at >= text.size() || text[at] != '.') {
                return std::nullopt;
            }
            ++at;
        }
        std::size_t digits = 0;
        unsigned value = 0;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9' && digits < 3) {
            value = value * 10 + static_cast<unsigned>(text[at] - '0');
            ++at;
            ++digits;
        }
        if (digits == 0 || value > 255) {
            return std::nullopt;
        }
        ip.bytes[static_cast<std::size_t>(octet)] = static_cast<std::uint8_t>(value);
    }
    if (at != text.size()) {
        return std::nullopt;
    }
    ip.prefix = 32;
    return ip;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Hex groups separated by ':' into `groups`; false on anything else.
bool parse_groups(std::string_view text, std::vector<std::uint16_t>& groups) {
    if (text.empty()) {
        return true;
    }
    std::size_t at = 0;
    while (true) {
        std::size_t digits = 0;
        unsigned value = 0;
        while (at < text.size() && hex_value(text[at]) >= 0 && digits < 4) {
            value = value * 16 + static_cast<unsigned>(hex_value(text[at]));
            ++at;
            ++digits;
        }
        if (digits == 0 || groups.size() == 8) {
            return false;
        }
        groups.push_back(static_cast<std::uint16_t>(value));
        if (at == text.size()) {
            return true;
        }
        if (text[at] != ':') {
            return false;
        }
        ++at;
    }
}

std::optional<IpRange> parse_ipv6(std::string_view text) {
    std::vector<std::uint16_t> head;
    std::vector<std::uint16_t> tail;
    const std::size_t gap = text.find("::");
    if (gap == std::string_view::npos) {
        if (!parse_groups(text, head) || head.size() != 8) {
            return std::nullopt;
        }
    } else {
        if (!parse_groups(text.substr(0, gap), head) || !parse_groups(text.substr(gap + 2), tail) ||
            head.size() + tail.size() > 7) {
            return std::nullopt;
        }
    }
    IpRange ip;
    ip.family = 6;
    ip.prefix = 128;
    for (std::size_t i = 0; i < head.size(); ++i) {
        ip.bytes[2 * i] = static_cast<std::uint8_t>(head[i] >> 8);
        ip.bytes[2 * i + 1] = static_cast<std::uint8_t>(head[i] & 0xFF);
    }
    for (std::size_t i = 0; i < tail.size(); ++i) {
        const std::size_t g = 8 - tail.size() + i;
        ip.bytes[2 * g] = static_cast<std::uint8_t>(tail[i] >> 8);
        ip.bytes[2 * g + 1] = static_cast<std::uint8_t>(tail[i] & 0xFF);
    }
    return ip;
}

bool contains(const IpRange& range, const IpRange& address) {
    if (range.family != address.family) {
        return false;
    }
    unsigned bits = range.prefix;
    for (std::size_t i = 0; bits > 0; ++i) {
        const unsigned take = bits >= 8 ? 8U : bits;
        const auto mask = static_cast<std::uint8_t>(0xFFU << (8U - take));
        if ((range.bytes[i] & mask) != (address.bytes[i] & mask)) {
            return false;
        }
        bits -= take;
    }
    return true;
}

enum class Tri : std::uint8_t { yes, no, unresolved };

// Does one request value satisfy one policy value under the operator (before negation)?
Tri value_matches(const ConditionClause& clause, const ConditionValue& value,
                  std::string_view request_value, const RequestContext& context,
                  const VariableRef*& missing, std::string& buffer) {
    const bool like = clause.op == BaseOperator::string_like || clause.op == BaseOperator::arn_like;
    if (like) {
        switch (match(value.pattern, request_value, context, false, &missing)) {
        case MatchResult::match:
            return Tri::yes;
        case MatchResult::no_match:
            return Tri::no;
        case MatchResult::unresolved:
            return Tri::unresolved;
        }
    }
    std::string_view text = value.text;
    if (!value.pattern.variables.empty()) {
        if (!substitute(value.pattern, context, buffer, &missing)) {
            return Tri::unresolved;
        }
        text = buffer;
    }
    const auto yes = [](bool b) { return b ? Tri::yes : Tri::no; };
    switch (clause.op) {
    case BaseOperator::string_equals:
        return yes(request_value == text);
    case BaseOperator::string_equals_ignore_case:
    case BaseOperator::boolean:
        return yes(iequals(request_value, text));
    case BaseOperator::numeric_equals:
    case BaseOperator::numeric_less_than:
    case BaseOperator::numeric_less_than_equals:
    case BaseOperator::numeric_greater_than:
    case BaseOperator::numeric_greater_than_equals: {
        const std::optional<double> want = value.number ? value.number : parse_number(text);
        const std::optional<double> got = parse_number(request_value);
        if (!want || !got) {
            return Tri::no;
        }
        switch (clause.op) {
        case BaseOperator::numeric_equals:
            return yes(*got == *want);
        case BaseOperator::numeric_less_than:
            return yes(*got < *want);
        case BaseOperator::numeric_less_than_equals:
            return yes(*got <= *want);
        case BaseOperator::numeric_greater_than:
            return yes(*got > *want);
        default:
            return yes(*got >= *want);
        }
    }
    case BaseOperator::date_equals:
    case BaseOperator::date_less_than:
    case BaseOperator::date_less_than_equals:
    case BaseOperator::date_greater_than:
    case BaseOperator::date_greater_than_equals: {
        const std::optional<std::int64_t> want = value.time_ms ? value.time_ms : parse_time_ms(text);
        const std::optional<std::int64_t> got = parse_time_ms(request_value);
        if (!want || !got) {
            return Tri::no;
        }
        switch (clause.op) {
        case BaseOperator::date_equals:
            return yes(*got == *want);
        case BaseOperator::date_less_than:
            return yes(*got < *want);
        case BaseOperator::date_less_than_equals:
            return yes(*got <= *want);
        case BaseOperator::date_greater_than:
            return yes(*got > *want);
        default:
            return yes(*got >= *want);
        }
    }
    case BaseOperator::ip_address: {
        const std::optional<IpRange> range = value.ip ? value.ip : parse_ip_range(text);
        const std::optional<IpRange> address = parse_ip(request_value);
        return yes(range && address && contains(*range, *address));
    }
    case BaseOperator::string_like:
    case BaseOperator::arn_like:
    case BaseOperator::null_check:
        break;
    }
    return Tri::no;
}

}  // namespace

std::optional<double> parse_number(std::string_view text) {
    double value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
        return std::nullopt;
    }
    return value;
}

std::optional<std::int64_t> parse_time_ms(std::string_view text) {
    // Epoch seconds, as IAM accepts for Date operators and as aws:EpochTime reads.
    if (!text.empty() && text.size() <= 12 && text.find_first_not_of("0123456789") == std::string_view::npos) {
        std::int64_t seconds_value = 0;
        std::from_chars(text.data(), text.data() + text.size(), seconds_value);
        return seconds_value * 1000;
    }
    // ISO 8601: YYYY-MM-DD[Thh:mm[:ss[.fraction]][Z|+hh:mm|-hh:mm|+hhmm|-hhmm]] (UTC if no zone).
    const auto year = parse_fixed(text, 0, 4);
    const auto month = parse_fixed(text, 5, 2);
    const auto day = parse_fixed(text, 8, 2);
    if (!year || !month || !day || text[4] != '-' || text[7] != '-' || *month < 1 || *month > 12 ||
        *day < 1 || *day > 31) {
        return std::nullopt;
    }
    std::int64_t ms = days_from_civil(*year, *month, *day) * 86400 * 1000;
    std::size_t at = 10;
    if (at == text.size()) {
        return ms;
    }
    if (text[at] != 'T' && text[at] != 't') {
        return std::nullopt;
    }
    const auto hour = parse_fixed(text, at + 1, 2);
    const auto minute = parse_fixed(text, at + 4, 2);
    if (!hour || !minute || text[at + 3] != ':' || *hour > 23 || *minute > 59) {
        return std::nullopt;
    }
    ms += (*hour * 3600 + *minute * 60) * 1000;
    at += 6;
    if (at < text.size() && text[at] == ':') {
        const auto second = parse_fixed(text, at + 1, 2);
        if (!second || *second > 60) {
            return std::nullopt;
        }
        ms += *second * 1000;
        at += 3;
        if (at < text.size() && text[at] == '.') {
            ++at;
            std::int64_t scale = 100;
            std::size_t digits = 0;
            while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
                ms += (text[at] - '0') * scale;
                scale /= 10;
                ++at;
                ++digits;
            }
            if (digits == 0) {
                return std::nullopt;
            }
        }
    }
    if (at == text.size()) {
        return ms;
    }
    if ((text[at] == 'Z' || text[at] == 'z') && at + 1 == text.size()) {
        return ms;
    }
    if (text[at] == '+' || text[at] == '-') {
        const std::int64_t sign = text[at] == '+' ? 1 : -1;
        const auto off_hour = parse_fixed(text, at + 1, 2);
        std::size_t minute_at = at + 3;
        if (minute_at < text.size() && text[minute_at] == ':') {
            ++minute_at;
        }
        const auto off_minute = parse_fixed(text, minute_at, 2);
        if (!off_hour || !off_minute || minute_at + 2 != text.size()) {
            return std::nullopt;
        }
        return ms - sign * (*off_hour * 3600 + *off_minute * 60) * 1000;
    }
    return std::nullopt;
}

std::optional<IpRange> parse_ip(std::string_view text) {
    if (text.find(':') != std::string_view::npos) {
        return parse_ipv6(text);
    }
    return parse_ipv4(text);
}

std::optional<IpRange> parse_ip_range(std::string_view text) {
    const std::size_t slash = text.find('/');
    std::optional<IpRange> ip = parse_ip(text.substr(0, slash));
    if (!ip || slash == std::string_view::npos) {
        return ip;
    }
    const std::string_view bits = text.substr(slash + 1);
    unsigned prefix = 0;
    const auto [ptr, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (bits.empty() || ec != std::errc() || ptr != bits.data() + bits.size() ||
        prefix > (ip->family == 4 ? 32U : 128U)) {
        return std::nullopt;
    }
    ip->prefix = static_cast<std::uint8_t>(prefix);
    return ip;
}

ConditionEval evaluate_clause(const ConditionClause& clause, const RequestContext& context) {
    ConditionEval result;
    // The request's values for the key. Single-valued keys (all but iot:ConnectAttributes,
    // certificate `.List` and extra keys) need no allocation.
    std::vector<std::string_view> many;
    std::string_view one;
    std::size_t count = 0;
    bool multi = false;
    Scratch scratch{};
    bool present = false;
    if (clause.key.kind == VariableKind::connect_attributes || clause.key.kind == VariableKind::extra ||
        (clause.key.kind == VariableKind::certificate && clause.key.list)) {
        multi = true;
        present = visit_values(clause.key, context, [&](std::string_view v) { many.push_back(v); });
        count = many.size();
    } else if (const auto value = resolve_single(clause.key, context, scratch)) {
        present = true;
        one = *value;
        count = 1;
    }

    if (clause.op == BaseOperator::null_check) {
        // Null: "true" asks for the key to be absent, "false" for it to be present.
        for (const ConditionValue& value : clause.values) {
            if ((iequals(value.text, "true") && !present) || (iequals(value.text, "false") && present)) {
                result.holds = true;
            }
        }
        return result;
    }

    if (!present) {
        if (!clause.if_exists) {
            result.missing = &clause.key;
        }
        // IAM: a missing key fails a condition, except that ...IfExists holds, a negated
        // operator holds, and ForAllValues holds (vacuously).
        result.holds = clause.if_exists || clause.negated ||
                       clause.qualifier == SetQualifier::for_all_values;
        return result;
    }

    std::string buffer;
    bool unresolved = false;
    const auto any_match = [&](std::string_view request_value) {
        for (const ConditionValue& value : clause.values) {
            switch (value_matches(clause, value, request_value, context, result.missing, buffer)) {
            case Tri::yes:
                return true;
            case Tri::no:
                break;
            case Tri::unresolved:
                unresolved = true;
                return false;
            }
        }
        return false;
    };
    const auto at = [&](std::size_t i) { return multi ? many[i] : one; };

    bool holds = false;
    switch (clause.qualifier) {
    case SetQualifier::none:
    case SetQualifier::for_any_value: {
        // none/ForAnyValue positive: some request value matches some policy value.
        // none negated: no request value matches; ForAnyValue negated: some request value
        // matches no policy value.
        bool some_match = false;
        bool some_miss = false;
        for (std::size_t i = 0; i < count && !unresolved; ++i) {
            if (any_match(at(i))) {
                some_match = true;
            } else {
                some_miss = true;
            }
        }
        if (!clause.negated) {
            holds = some_match;
        } else if (clause.qualifier == SetQualifier::none) {
            holds = !some_match;
        } else {
            holds = some_miss;
        }
        break;
    }
    case SetQualifier::for_all_values: {
        // Every request value matches some policy value (negated: matches none). True for an
        // empty set of values.
        holds = true;
        for (std::size_t i = 0; i < count && !unresolved; ++i) {
            if (any_match(at(i)) == clause.negated) {
                holds = false;
            }
        }
        break;
    }
    }
    if (unresolved) {
        // A condition value with a variable that has no value makes the statement not apply.
        result.holds = false;
        return result;
    }
    result.missing = nullptr;
    result.holds = holds;
    return result;
}

}  // namespace iotsim::policy::detail
