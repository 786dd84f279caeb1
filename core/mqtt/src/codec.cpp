#include "iotsim/mqtt/codec.hpp"

#include <array>
#include <cstring>
#include <initializer_list>
#include <type_traits>
#include <utility>
#include <variant>

#include "iotsim/common/assert.hpp"
#include "iotsim/mqtt/topic.hpp"

namespace iotsim::mqtt {
namespace {

// Error messages are literals so that a DecodeError is two words and decoding bad input never
// allocates. The prefix is stable: logs and tests grep for it.
namespace msg {
constexpr std::string_view truncated = "mqtt.decode: truncated packet";
constexpr std::string_view trailing_bytes = "mqtt.decode: trailing bytes after packet";
constexpr std::string_view vbi_too_long = "mqtt.decode: variable byte integer exceeds 4 bytes";
constexpr std::string_view vbi_not_minimal =
    "mqtt.decode: variable byte integer not minimally encoded";
constexpr std::string_view invalid_utf8 = "mqtt.decode: invalid UTF-8 string";
constexpr std::string_view reserved_type = "mqtt.decode: reserved packet type";
constexpr std::string_view bad_flags = "mqtt.decode: invalid fixed header flags";
constexpr std::string_view not_connect = "mqtt.decode: first packet is not CONNECT";
constexpr std::string_view bad_protocol_name = "mqtt.decode: protocol name is not MQTT";
constexpr std::string_view unsupported_version = "mqtt.decode: unsupported protocol version";
constexpr std::string_view connect_reserved_flag = "mqtt.decode: CONNECT reserved flag is set";
constexpr std::string_view will_flags_without_will =
    "mqtt.decode: will QoS or will retain set without will flag";
constexpr std::string_view will_qos_3 = "mqtt.decode: will QoS is 3";
constexpr std::string_view password_without_username =
    "mqtt.decode: password flag set without user name flag";
constexpr std::string_view will_topic_invalid = "mqtt.decode: will topic is empty or has wildcards";
constexpr std::string_view connack_reserved_flags = "mqtt.decode: CONNACK reserved flags are set";
constexpr std::string_view session_present_on_failure =
    "mqtt.decode: session present set on a refused connection";
constexpr std::string_view invalid_reason = "mqtt.decode: invalid reason code for this packet";
constexpr std::string_view qos_3 = "mqtt.decode: QoS is 3";
constexpr std::string_view dup_on_qos_0 = "mqtt.decode: DUP flag set on a QoS 0 PUBLISH";
constexpr std::string_view topic_wildcard = "mqtt.decode: PUBLISH topic contains a wildcard";
constexpr std::string_view topic_empty = "mqtt.decode: PUBLISH topic is empty without topic alias";
constexpr std::string_view packet_id_zero = "mqtt.decode: packet identifier is 0";
constexpr std::string_view no_subscriptions = "mqtt.decode: SUBSCRIBE has no topic filter";
constexpr std::string_view no_unsubscriptions = "mqtt.decode: UNSUBSCRIBE has no topic filter";
constexpr std::string_view no_reasons = "mqtt.decode: acknowledgement has no reason code";
constexpr std::string_view subscription_reserved_bits =
    "mqtt.decode: subscription options reserved bits are set";
constexpr std::string_view retain_handling_3 = "mqtt.decode: retain handling is 3";
constexpr std::string_view property_length_overrun =
    "mqtt.decode: property length exceeds the packet";
constexpr std::string_view property_overrun = "mqtt.decode: property overruns property length";
constexpr std::string_view property_unknown = "mqtt.decode: unknown property identifier";
constexpr std::string_view property_not_allowed =
    "mqtt.decode: property not allowed in this packet";
constexpr std::string_view property_duplicated = "mqtt.decode: property included more than once";
constexpr std::string_view property_bad_value = "mqtt.decode: property value out of range";
constexpr std::string_view topic_alias_zero = "mqtt.decode: topic alias is 0";
constexpr std::string_view response_topic_invalid =
    "mqtt.decode: response topic is empty or has wildcards";
constexpr std::string_view auth_data_without_method =
    "mqtt.decode: authentication data without authentication method";
constexpr std::string_view auth_in_v311 = "mqtt.decode: AUTH does not exist in MQTT 3.1.1";
}  // namespace msg

// ---------------------------------------------------------------------------------------------
// Property identifiers (MQTT 5 §2.2.2.2) and which packet may carry which.

namespace prop {
constexpr std::uint8_t payload_format_indicator = 0x01;
constexpr std::uint8_t message_expiry_interval = 0x02;
constexpr std::uint8_t content_type = 0x03;
constexpr std::uint8_t response_topic = 0x08;
constexpr std::uint8_t correlation_data = 0x09;
constexpr std::uint8_t subscription_identifier = 0x0B;
constexpr std::uint8_t session_expiry_interval = 0x11;
constexpr std::uint8_t assigned_client_identifier = 0x12;
constexpr std::uint8_t server_keep_alive = 0x13;
constexpr std::uint8_t authentication_method = 0x15;
constexpr std::uint8_t authentication_data = 0x16;
constexpr std::uint8_t request_problem_information = 0x17;
constexpr std::uint8_t will_delay_interval = 0x18;
constexpr std::uint8_t request_response_information = 0x19;
constexpr std::uint8_t response_information = 0x1A;
constexpr std::uint8_t server_reference = 0x1C;
constexpr std::uint8_t reason_string = 0x1F;
constexpr std::uint8_t receive_maximum = 0x21;
constexpr std::uint8_t topic_alias_maximum = 0x22;
constexpr std::uint8_t topic_alias = 0x23;
constexpr std::uint8_t maximum_qos = 0x24;
constexpr std::uint8_t retain_available = 0x25;
constexpr std::uint8_t user_property = 0x26;
constexpr std::uint8_t maximum_packet_size = 0x27;
constexpr std::uint8_t wildcard_subscription_available = 0x28;
constexpr std::uint8_t subscription_identifier_available = 0x29;
constexpr std::uint8_t shared_subscription_available = 0x2A;
}  // namespace prop

// Every identifier is below 64, so a set of identifiers is one word.
using PropertyMask = std::uint64_t;

constexpr PropertyMask mask_of(std::initializer_list<std::uint8_t> ids) {
    PropertyMask mask = 0;
    for (const std::uint8_t id : ids) {
        mask |= PropertyMask{1} << id;
    }
    return mask;
}

constexpr PropertyMask known_properties = mask_of({
    prop::payload_format_indicator, prop::message_expiry_interval, prop::content_type,
    prop::response_topic, prop::correlation_data, prop::subscription_identifier,
    prop::session_expiry_interval, prop::assigned_client_identifier, prop::server_keep_alive,
    prop::authentication_method, prop::authentication_data, prop::request_problem_information,
    prop::will_delay_interval, prop::request_response_information, prop::response_information,
    prop::server_reference, prop::reason_string, prop::receive_maximum,
    prop::topic_alias_maximum, prop::topic_alias, prop::maximum_qos, prop::retain_available,
    prop::user_property, prop::maximum_packet_size, prop::wildcard_subscription_available,
    prop::subscription_identifier_available, prop::shared_subscription_available,
});

/// What one packet kind may carry. Only PUBLISH may repeat the Subscription Identifier (one per
/// matching subscription, MQTT 5 §3.3.2.3.8); SUBSCRIBE carries at most one (§3.8.2.1.2).
struct PropertyRules {
    PropertyMask allowed = 0;
    bool subscription_identifier_repeats = false;
};

constexpr PropertyRules connect_rules{mask_of({
    prop::session_expiry_interval, prop::authentication_method, prop::authentication_data,
    prop::request_problem_information, prop::request_response_information,
    prop::receive_maximum, prop::topic_alias_maximum, prop::user_property,
    prop::maximum_packet_size,
})};
constexpr PropertyRules will_rules{mask_of({
    prop::payload_format_indicator, prop::message_expiry_interval, prop::content_type,
    prop::response_topic, prop::correlation_data, prop::will_delay_interval,
    prop::user_property,
})};
constexpr PropertyRules connack_rules{mask_of({
    prop::session_expiry_interval, prop::assigned_client_identifier, prop::server_keep_alive,
    prop::authentication_method, prop::authentication_data, prop::response_information,
    prop::server_reference, prop::reason_string, prop::receive_maximum,
    prop::topic_alias_maximum, prop::maximum_qos, prop::retain_available, prop::user_property,
    prop::maximum_packet_size, prop::wildcard_subscription_available,
    prop::subscription_identifier_available, prop::shared_subscription_available,
})};
constexpr PropertyRules publish_rules{
    mask_of({
        prop::payload_format_indicator, prop::message_expiry_interval, prop::content_type,
        prop::response_topic, prop::correlation_data, prop::subscription_identifier,
        prop::topic_alias, prop::user_property,
    }),
    true};
constexpr PropertyRules ack_rules{mask_of({prop::reason_string, prop::user_property})};
constexpr PropertyRules subscribe_rules{
    mask_of({prop::subscription_identifier, prop::user_property})};
constexpr PropertyRules suback_rules{mask_of({prop::reason_string, prop::user_property})};
constexpr PropertyRules unsubscribe_rules{mask_of({prop::user_property})};
constexpr PropertyRules unsuback_rules{mask_of({prop::reason_string, prop::user_property})};
constexpr PropertyRules disconnect_rules{mask_of({
    prop::session_expiry_interval, prop::server_reference, prop::reason_string,
    prop::user_property,
})};
constexpr PropertyRules auth_rules{mask_of({
    prop::authentication_method, prop::authentication_data, prop::reason_string,
    prop::user_property,
})};

// ---------------------------------------------------------------------------------------------
// Reason codes each packet may carry (MQTT 5 §2.4 and each packet's Reason Code table).

class ReasonSet {
public:
    constexpr ReasonSet(std::initializer_list<std::uint8_t> codes) {
        for (const std::uint8_t code : codes) {
            words_[code / 64] |= std::uint64_t{1} << (code % 64);
        }
    }
    [[nodiscard]] constexpr bool contains(std::uint8_t code) const {
        return ((words_[code / 64] >> (code % 64)) & 1U) != 0;
    }

private:
    std::array<std::uint64_t, 4> words_{};
};

constexpr ReasonSet connack_v311_codes{0x00, 0x01, 0x02, 0x03, 0x04, 0x05};
constexpr ReasonSet connack_v5_codes{0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
                                     0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
                                     0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
constexpr ReasonSet puback_codes{0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};
constexpr ReasonSet pubrel_codes{0x00, 0x92};
constexpr ReasonSet suback_v311_codes{0x00, 0x01, 0x02, 0x80};
constexpr ReasonSet suback_v5_codes{0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                    0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
constexpr ReasonSet unsuback_codes{0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
constexpr ReasonSet disconnect_codes{0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D,
                                     0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
                                     0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
constexpr ReasonSet auth_codes{0x00, 0x18, 0x19};

// ---------------------------------------------------------------------------------------------
// Variable byte integers (MQTT §1.5.5 / 3.1.1 §2.2.3).

constexpr std::uint32_t vbi_max = remaining_length_max;

enum class VbiStatus : std::uint8_t { ok, incomplete, too_long, not_minimal };

struct VbiRead {
    VbiStatus status = VbiStatus::incomplete;
    std::uint32_t value = 0;
    std::size_t length = 0;
};

VbiRead parse_vbi(std::string_view bytes) {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        if (i == bytes.size()) {
            return {};
        }
        const auto byte = static_cast<std::uint8_t>(bytes[i]);
        value |= static_cast<std::uint32_t>(byte & 0x7FU) << (7 * i);
        if ((byte & 0x80U) == 0) {
            // A zero final byte after a continuation only pads the value: the encoding must use
            // the minimum number of bytes [MQTT-1.5.5-1]. Rejecting it keeps one wire form per
            // value, which the fuzzer's decode(encode(p)) == p check relies on.
            if (i > 0 && byte == 0) {
                return {VbiStatus::not_minimal, 0, 0};
            }
            return {VbiStatus::ok, value, i + 1};
        }
    }
    return {VbiStatus::too_long, 0, 0};
}

constexpr std::size_t vbi_size(std::size_t value) {
    return value < 128U ? 1 : value < 16'384U ? 2 : value < 2'097'152U ? 3 : 4;
}

// ---------------------------------------------------------------------------------------------
// Reader: a bounds-checked cursor over one packet body. The first failure is kept in `error_`
// and every read after it fails too, so callers just propagate `false`.

class Reader {
public:
    explicit Reader(std::string_view bytes, std::string_view truncated_message = msg::truncated)
        : bytes_(bytes), truncated_message_(truncated_message) {}

    [[nodiscard]] std::size_t remaining() const { return bytes_.size() - pos_; }
    [[nodiscard]] bool at_end() const { return pos_ == bytes_.size(); }
    [[nodiscard]] const DecodeError& error() const { return error_; }

    bool fail(ReasonCode reason, std::string_view message) {
        error_ = DecodeError{reason, message};
        return false;
    }
    bool fail(const DecodeError& error) {
        error_ = error;
        return false;
    }
    bool fail_malformed(std::string_view message) {
        return fail(ReasonCode::malformed_packet, message);
    }

    bool read_u8(std::uint8_t& out) {
        if (remaining() < 1) {
            return fail_malformed(truncated_message_);
        }
        out = byte_at(pos_);
        pos_ += 1;
        return true;
    }

    bool read_u16(std::uint16_t& out) {
        if (remaining() < 2) {
            return fail_malformed(truncated_message_);
        }
        out = static_cast<std::uint16_t>((byte_at(pos_) << 8U) | byte_at(pos_ + 1));
        pos_ += 2;
        return true;
    }

    bool read_u32(std::uint32_t& out) {
        if (remaining() < 4) {
            return fail_malformed(truncated_message_);
        }
        out = (std::uint32_t{byte_at(pos_)} << 24U) | (std::uint32_t{byte_at(pos_ + 1)} << 16U) |
              (std::uint32_t{byte_at(pos_ + 2)} << 8U) | std::uint32_t{byte_at(pos_ + 3)};
        pos_ += 4;
        return true;
    }

    bool read_vbi(std::uint32_t& out) {
        const VbiRead vbi = parse_vbi(bytes_.substr(pos_));
        switch (vbi.status) {
        case VbiStatus::ok:
            out = vbi.value;
            pos_ += vbi.length;
            return true;
        case VbiStatus::incomplete:
            return fail_malformed(truncated_message_);
        case VbiStatus::too_long:
            return fail_malformed(msg::vbi_too_long);
        case VbiStatus::not_minimal:
            return fail_malformed(msg::vbi_not_minimal);
        }
        return fail_malformed(msg::vbi_too_long);
    }

    /// The next `count` bytes, without copying. Checks the length against what is present, so a
    /// hostile length never reaches an allocation.
    bool read_bytes(std::size_t count, std::string_view& out) {
        if (remaining() < count) {
            return fail_malformed(truncated_message_);
        }
        out = bytes_.substr(pos_, count);
        pos_ += count;
        return true;
    }

    /// Binary Data: two-byte length, then the bytes (MQTT 5 §1.5.6).
    bool read_binary(std::string_view& out) {
        std::uint16_t length = 0;
        return read_u16(length) && read_bytes(length, out);
    }

    /// UTF-8 Encoded String (MQTT 5 §1.5.4): binary data that must be well-formed MQTT UTF-8.
    bool read_utf8(std::string_view& out) {
        if (!read_binary(out)) {
            return false;
        }
        if (!is_valid_mqtt_utf8(out)) {
            return fail_malformed(msg::invalid_utf8);
        }
        return true;
    }

    bool read_utf8(std::string& out) {
        std::string_view view;
        if (!read_utf8(view)) {
            return false;
        }
        out.assign(view);
        return true;
    }

    bool read_binary(std::string& out) {
        std::string_view view;
        if (!read_binary(view)) {
            return false;
        }
        out.assign(view);
        return true;
    }

    /// Everything left; used for payloads whose length is implied by the remaining length.
    std::string_view read_rest() {
        const std::string_view rest = bytes_.substr(pos_);
        pos_ = bytes_.size();
        return rest;
    }

    bool expect_end() {
        return at_end() || fail_malformed(msg::trailing_bytes);
    }

private:
    [[nodiscard]] std::uint8_t byte_at(std::size_t index) const {
        return static_cast<std::uint8_t>(bytes_[index]);
    }

    std::string_view bytes_;
    std::size_t pos_ = 0;
    std::string_view truncated_message_;
    DecodeError error_{};
};

// ---------------------------------------------------------------------------------------------
// Property decoding.

bool read_flag_property(Reader& r, std::optional<std::uint8_t>& out) {
    std::uint8_t value = 0;
    if (!r.read_u8(value)) {
        return false;
    }
    // Every one-byte property is a 0/1 switch; other values are a Protocol Error (e.g. MQTT 5
    // §3.1.2.11.6, §3.2.2.3.4). Maximum QoS has the same range: absence means 2.
    if (value > 1) {
        return r.fail(ReasonCode::protocol_error, msg::property_bad_value);
    }
    out = value;
    return true;
}

bool read_u16_property(Reader& r, std::optional<std::uint16_t>& out, bool zero_allowed) {
    std::uint16_t value = 0;
    if (!r.read_u16(value)) {
        return false;
    }
    if (value == 0 && !zero_allowed) {
        return r.fail(ReasonCode::protocol_error, msg::property_bad_value);
    }
    out = value;
    return true;
}

bool read_u32_property(Reader& r, std::optional<std::uint32_t>& out, bool zero_allowed) {
    std::uint32_t value = 0;
    if (!r.read_u32(value)) {
        return false;
    }
    if (value == 0 && !zero_allowed) {
        return r.fail(ReasonCode::protocol_error, msg::property_bad_value);
    }
    out = value;
    return true;
}

bool read_utf8_property(Reader& r, std::optional<std::string>& out) {
    std::string_view view;
    if (!r.read_utf8(view)) {
        return false;
    }
    out.emplace(view);
    return true;
}

bool read_binary_property(Reader& r, std::optional<std::string>& out) {
    std::string_view view;
    if (!r.read_binary(view)) {
        return false;
    }
    out.emplace(view);
    return true;
}

bool read_property_value(Reader& r, std::uint8_t id, Properties& out) {
    switch (id) {
    case prop::payload_format_indicator:
        return read_flag_property(r, out.payload_format_indicator);
    case prop::message_expiry_interval:
        return read_u32_property(r, out.message_expiry_interval, true);
    case prop::content_type:
        return read_utf8_property(r, out.content_type);
    case prop::response_topic: {
        std::string_view topic;
        if (!r.read_utf8(topic)) {
            return false;
        }
        // The Response Topic is a Topic Name: non-empty, no wildcards [MQTT-3.3.2-14].
        if (topic.empty() || contains_wildcard(topic)) {
            return r.fail(ReasonCode::protocol_error, msg::response_topic_invalid);
        }
        out.response_topic.emplace(topic);
        return true;
    }
    case prop::correlation_data:
        return read_binary_property(r, out.correlation_data);
    case prop::subscription_identifier: {
        std::uint32_t value = 0;
        if (!r.read_vbi(value)) {
            return false;
        }
        // MQTT 5 §3.3.2.3.8: "It is a Protocol Error if the Subscription Identifier has a value
        // of 0."
        if (value == 0) {
            return r.fail(ReasonCode::protocol_error, msg::property_bad_value);
        }
        out.subscription_identifiers.push_back(value);
        return true;
    }
    case prop::session_expiry_interval:
        return read_u32_property(r, out.session_expiry_interval, true);
    case prop::assigned_client_identifier:
        return read_utf8_property(r, out.assigned_client_identifier);
    case prop::server_keep_alive:
        return read_u16_property(r, out.server_keep_alive, true);
    case prop::authentication_method:
        return read_utf8_property(r, out.authentication_method);
    case prop::authentication_data:
        return read_binary_property(r, out.authentication_data);
    case prop::request_problem_information:
        return read_flag_property(r, out.request_problem_information);
    case prop::will_delay_interval:
        return read_u32_property(r, out.will_delay_interval, true);
    case prop::request_response_information:
        return read_flag_property(r, out.request_response_information);
    case prop::response_information:
        return read_utf8_property(r, out.response_information);
    case prop::server_reference:
        return read_utf8_property(r, out.server_reference);
    case prop::reason_string:
        return read_utf8_property(r, out.reason_string);
    case prop::receive_maximum:
        // MQTT 5 §3.1.2.11.3: a Receive Maximum of 0 is a Protocol Error.
        return read_u16_property(r, out.receive_maximum, false);
    case prop::topic_alias_maximum:
        return read_u16_property(r, out.topic_alias_maximum, true);
    case prop::topic_alias: {
        std::uint16_t alias = 0;
        if (!r.read_u16(alias)) {
            return false;
        }
        if (alias == 0) {  // [MQTT-3.3.2-8]
            return r.fail(ReasonCode::topic_alias_invalid, msg::topic_alias_zero);
        }
        out.topic_alias = alias;
        return true;
    }
    case prop::maximum_qos:
        return read_flag_property(r, out.maximum_qos);
    case prop::retain_available:
        return read_flag_property(r, out.retain_available);
    case prop::user_property: {
        std::string_view key;
        std::string_view value;
        if (!r.read_utf8(key) || !r.read_utf8(value)) {
            return false;
        }
        out.user_properties.push_back(UserProperty{std::string(key), std::string(value)});
        return true;
    }
    case prop::maximum_packet_size:
        // MQTT 5 §3.1.2.11.4: a Maximum Packet Size of 0 is a Protocol Error.
        return read_u32_property(r, out.maximum_packet_size, false);
    case prop::wildcard_subscription_available:
        return read_flag_property(r, out.wildcard_subscription_available);
    case prop::subscription_identifier_available:
        return read_flag_property(r, out.subscription_identifier_available);
    case prop::shared_subscription_available:
        return read_flag_property(r, out.shared_subscription_available);
    default:
        break;
    }
    // The caller only passes identifiers in known_properties.
    IOTSIM_ASSERT(false);
    return false;
}

/// Reads a Property Length and the properties it covers (MQTT 5 §2.2.2).
bool read_properties(Reader& r, const PropertyRules& rules, Properties& out) {
    std::uint32_t length = 0;
    if (!r.read_vbi(length)) {
        return false;
    }
    std::string_view section;
    if (length > r.remaining()) {
        return r.fail_malformed(msg::property_length_overrun);
    }
    (void)r.read_bytes(length, section);

    // A property running past the Property Length is reported as such, not as a short packet.
    Reader p(section, msg::property_overrun);
    PropertyMask seen = 0;
    while (!p.at_end()) {
        // Identifiers are variable byte integers, but every defined one fits in one byte; a byte
        // with the continuation bit is therefore unknown.
        std::uint8_t id = 0;
        (void)p.read_u8(id);
        const PropertyMask bit = id < 64 ? PropertyMask{1} << id : 0;
        // MQTT 5 §2.2.2.2: an identifier not valid for the packet type is a Malformed Packet.
        if ((known_properties & bit) == 0) {
            return r.fail_malformed(msg::property_unknown);
        }
        if ((rules.allowed & bit) == 0) {
            return r.fail_malformed(msg::property_not_allowed);
        }
        const bool repeats = id == prop::user_property ||
                             (id == prop::subscription_identifier &&
                              rules.subscription_identifier_repeats);
        if (!repeats && (seen & bit) != 0) {
            // Each property's section: "It is a Protocol Error to include ... more than once."
            return r.fail(ReasonCode::protocol_error, msg::property_duplicated);
        }
        seen |= bit;
        if (!read_property_value(p, id, out)) {
            return r.fail(p.error());
        }
    }
    // MQTT 5 §3.1.2.11.10: Authentication Data without Authentication Method is a Protocol Error.
    if (out.authentication_data.has_value() && !out.authentication_method.has_value()) {
        return r.fail(ReasonCode::protocol_error, msg::auth_data_without_method);
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// Packet decoders. Each reads the body after the fixed header and checks it is fully consumed.

constexpr std::uint8_t type_of(std::uint8_t first_byte) {
    return static_cast<std::uint8_t>(first_byte >> 4U);
}
constexpr std::uint8_t flags_of(std::uint8_t first_byte) {
    return static_cast<std::uint8_t>(first_byte & 0x0FU);
}

bool read_packet_id(Reader& r, std::uint16_t& out) {
    if (!r.read_u16(out)) {
        return false;
    }
    // [MQTT-2.3.1-1] (3.1.1), [MQTT-2.2.1-3] (5): packet identifiers are non-zero. An ack can
    // only echo an identifier that was sent, so 0 is an error there too.
    if (out == 0) {
        return r.fail(ReasonCode::protocol_error, msg::packet_id_zero);
    }
    return true;
}

bool decode_connect_body(Reader& r, Connect& c) {
    std::string_view name;
    std::uint8_t level = 0;
    if (!r.read_binary(name) || !r.read_u8(level)) {
        return false;
    }
    if (name != "MQTT") {
        // "MQIsdp" is MQTT 3.1: a real protocol we do not speak, so the client gets CONNACK
        // "unacceptable protocol version". Any other name is not MQTT at all [MQTT-3.1.2-1].
        if (name == "MQIsdp") {
            return r.fail(ReasonCode::unsupported_protocol_version, msg::unsupported_version);
        }
        return r.fail(ReasonCode::protocol_error, msg::bad_protocol_name);
    }
    if (level != static_cast<std::uint8_t>(Version::v311) &&
        level != static_cast<std::uint8_t>(Version::v5)) {
        // [MQTT-3.1.2-2]. The rest of the packet may follow another version's layout: stop here.
        return r.fail(ReasonCode::unsupported_protocol_version, msg::unsupported_version);
    }
    c.version = static_cast<Version>(level);
    const bool v5 = c.version == Version::v5;

    std::uint8_t flags = 0;
    if (!r.read_u8(flags)) {
        return false;
    }
    if ((flags & 0x01U) != 0) {  // [MQTT-3.1.2-3]
        return r.fail_malformed(msg::connect_reserved_flag);
    }
    c.clean_start = (flags & 0x02U) != 0;
    const bool will_flag = (flags & 0x04U) != 0;
    const auto will_qos = static_cast<std::uint8_t>((flags >> 3U) & 0x03U);
    const bool will_retain = (flags & 0x20U) != 0;
    const bool password_flag = (flags & 0x40U) != 0;
    const bool username_flag = (flags & 0x80U) != 0;
    // 3.1.1: [MQTT-3.1.2-13], [MQTT-3.1.2-15]; 5: [MQTT-3.1.2-11], [MQTT-3.1.2-13].
    if (!will_flag && (will_qos != 0 || will_retain)) {
        return r.fail_malformed(msg::will_flags_without_will);
    }
    if (will_qos == 3) {  // 3.1.1: [MQTT-3.1.2-14]; 5: §3.1.2.6 Malformed Packet
        return r.fail_malformed(msg::will_qos_3);
    }
    // MQTT 5 allows a password without a user name (§3.1.2.9); 3.1.1 does not [MQTT-3.1.2-22].
    if (!v5 && password_flag && !username_flag) {
        return r.fail_malformed(msg::password_without_username);
    }

    if (!r.read_u16(c.keep_alive)) {
        return false;
    }
    if (v5 && !read_properties(r, connect_rules, c.properties)) {
        return false;
    }
    // Payload order is fixed: client id, will properties, will topic, will payload, user name,
    // password (§3.1.3).
    if (!r.read_utf8(c.client_id)) {
        return false;
    }
    if (will_flag) {
        Will& will = c.will.emplace();
        will.qos = static_cast<QoS>(will_qos);
        will.retain = will_retain;
        if (v5 && !read_properties(r, will_rules, will.properties)) {
            return false;
        }
        std::string_view topic;
        if (!r.read_utf8(topic)) {
            return false;
        }
        // The will is published to this topic, so it must be a valid Topic Name [MQTT-4.7.3-1],
        // [MQTT-3.3.2-2]; the CONNACK reason is "Topic Name invalid".
        if (topic.empty() || contains_wildcard(topic)) {
            return r.fail(ReasonCode::topic_name_invalid, msg::will_topic_invalid);
        }
        will.topic.assign(topic);
        if (!r.read_binary(will.payload)) {
            return false;
        }
    }
    if (username_flag && !r.read_utf8(c.username.emplace())) {
        return false;
    }
    if (password_flag && !r.read_binary(c.password.emplace())) {
        return false;
    }
    return r.expect_end();
}

bool decode_connack(Reader& r, Version version, Connack& c) {
    std::uint8_t ack_flags = 0;
    if (!r.read_u8(ack_flags) || !r.read_u8(c.reason)) {
        return false;
    }
    if ((ack_flags & 0xFEU) != 0) {  // 3.1.1 §3.2.2.1, 5 §3.2.2.1: bits 7-1 reserved
        return r.fail_malformed(msg::connack_reserved_flags);
    }
    c.session_present = (ack_flags & 0x01U) != 0;
    const bool v5 = version == Version::v5;
    if (!(v5 ? connack_v5_codes : connack_v311_codes).contains(c.reason)) {
        return r.fail(ReasonCode::protocol_error, msg::invalid_reason);
    }
    // 3.1.1 [MQTT-3.2.2-4], 5 [MQTT-3.2.2-6]: a refused connection has no session.
    const bool refused = v5 ? c.reason >= 0x80 : c.reason != 0;
    if (refused && c.session_present) {
        return r.fail(ReasonCode::protocol_error, msg::session_present_on_failure);
    }
    if (v5 && !read_properties(r, connack_rules, c.properties)) {
        return false;
    }
    return r.expect_end();
}

bool decode_publish(Reader& r, Version version, std::uint8_t flags, Publish& p) {
    p.dup = (flags & 0x08U) != 0;
    const auto qos = static_cast<std::uint8_t>((flags >> 1U) & 0x03U);
    p.retain = (flags & 0x01U) != 0;
    if (qos == 3) {  // [MQTT-3.3.1-4]
        return r.fail_malformed(msg::qos_3);
    }
    if (qos == 0 && p.dup) {  // [MQTT-3.3.1-2]
        return r.fail_malformed(msg::dup_on_qos_0);
    }
    p.qos = static_cast<QoS>(qos);

    std::string_view topic;
    if (!r.read_utf8(topic)) {
        return false;
    }
    if (contains_wildcard(topic)) {  // [MQTT-3.3.2-2]
        return r.fail(ReasonCode::topic_name_invalid, msg::topic_wildcard);
    }
    if (qos > 0 && !read_packet_id(r, p.packet_id)) {
        return false;
    }
    const bool v5 = version == Version::v5;
    if (v5 && !read_properties(r, publish_rules, p.properties)) {
        return false;
    }
    if (topic.empty()) {
        // MQTT 5 §3.3.2.1: an empty Topic Name is allowed only with a Topic Alias, else it is a
        // Protocol Error. 3.1.1 has no aliases: topic names are at least one character
        // [MQTT-4.7.3-1].
        if (!v5) {
            return r.fail(ReasonCode::topic_name_invalid, msg::topic_empty);
        }
        if (!p.properties.topic_alias.has_value()) {
            return r.fail(ReasonCode::protocol_error, msg::topic_empty);
        }
    }
    // The topic and the payload are the only copies made: the broker's hot path.
    p.topic.assign(topic);
    p.payload.assign(r.read_rest());
    return true;
}

bool decode_ack(Reader& r, Version version, PacketType type, Ack& a) {
    a.type = type;
    if (!read_packet_id(r, a.packet_id)) {
        return false;
    }
    // MQTT 5 §3.4.2.1: with Remaining Length 2 the reason is Success; with less than 4 there is
    // no Property Length. 3.1.1 acks are exactly the packet identifier.
    if (version == Version::v5 && !r.at_end()) {
        std::uint8_t reason = 0;
        if (!r.read_u8(reason)) {
            return false;
        }
        const bool pubrel_family = type == PacketType::pubrel || type == PacketType::pubcomp;
        if (!(pubrel_family ? pubrel_codes : puback_codes).contains(reason)) {
            return r.fail(ReasonCode::protocol_error, msg::invalid_reason);
        }
        a.reason = static_cast<ReasonCode>(reason);
        if (!r.at_end() && !read_properties(r, ack_rules, a.properties)) {
            return false;
        }
    }
    return r.expect_end();
}

bool decode_subscribe(Reader& r, Version version, Subscribe& s) {
    if (!read_packet_id(r, s.packet_id)) {
        return false;
    }
    const bool v5 = version == Version::v5;
    if (v5 && !read_properties(r, subscribe_rules, s.properties)) {
        return false;
    }
    if (r.at_end()) {  // 3.1.1 [MQTT-3.8.3-3], 5 [MQTT-3.8.3-2]
        return r.fail(ReasonCode::protocol_error, msg::no_subscriptions);
    }
    while (!r.at_end()) {
        SubscribeEntry& entry = s.entries.emplace_back();
        std::uint8_t options = 0;
        if (!r.read_utf8(entry.filter) || !r.read_u8(options)) {
            return false;
        }
        // 3.1.1 [MQTT-3-8.3-4]: bits 7-2 reserved. 5 [MQTT-3.8.3-5]: bits 7-6 reserved.
        if ((options & (v5 ? 0xC0U : 0xFCU)) != 0) {
            return r.fail_malformed(msg::subscription_reserved_bits);
        }
        const auto qos = static_cast<std::uint8_t>(options & 0x03U);
        if (qos == 3) {
            return r.fail_malformed(msg::qos_3);
        }
        entry.options.qos = static_cast<QoS>(qos);
        if (v5) {
            entry.options.no_local = (options & 0x04U) != 0;
            entry.options.retain_as_published = (options & 0x08U) != 0;
            entry.options.retain_handling = static_cast<std::uint8_t>((options >> 4U) & 0x03U);
            // MQTT 5 §3.8.3.1: "It is a Protocol Error to send a Retain Handling value of 3."
            if (entry.options.retain_handling == 3) {
                return r.fail(ReasonCode::protocol_error, msg::retain_handling_3);
            }
        }
    }
    return true;
}

bool read_reason_list(Reader& r, const ReasonSet& allowed, std::vector<std::uint8_t>& out) {
    if (r.at_end()) {  // one reason per filter, and a (UN)SUBSCRIBE has at least one filter
        return r.fail(ReasonCode::protocol_error, msg::no_reasons);
    }
    const std::string_view codes = r.read_rest();
    out.reserve(codes.size());
    for (const char code : codes) {
        const auto reason = static_cast<std::uint8_t>(code);
        if (!allowed.contains(reason)) {
            return r.fail(ReasonCode::protocol_error, msg::invalid_reason);
        }
        out.push_back(reason);
    }
    return true;
}

bool decode_suback(Reader& r, Version version, Suback& s) {
    if (!read_packet_id(r, s.packet_id)) {
        return false;
    }
    const bool v5 = version == Version::v5;
    if (v5 && !read_properties(r, suback_rules, s.properties)) {
        return false;
    }
    return read_reason_list(r, v5 ? suback_v5_codes : suback_v311_codes, s.reasons);
}

bool decode_unsubscribe(Reader& r, Version version, Unsubscribe& u) {
    if (!read_packet_id(r, u.packet_id)) {
        return false;
    }
    if (version == Version::v5 && !read_properties(r, unsubscribe_rules, u.properties)) {
        return false;
    }
    if (r.at_end()) {  // [MQTT-3.10.3-2]
        return r.fail(ReasonCode::protocol_error, msg::no_unsubscriptions);
    }
    while (!r.at_end()) {
        if (!r.read_utf8(u.filters.emplace_back())) {
            return false;
        }
    }
    return true;
}

bool decode_unsuback(Reader& r, Version version, Unsuback& u) {
    if (!read_packet_id(r, u.packet_id)) {
        return false;
    }
    if (version == Version::v311) {
        return r.expect_end();
    }
    return read_properties(r, unsuback_rules, u.properties) &&
           read_reason_list(r, unsuback_codes, u.reasons);
}

bool decode_disconnect(Reader& r, Version version, Disconnect& d) {
    // MQTT 5 §3.14.2.1: Remaining Length 0 means Normal disconnection; below 2 there is no
    // Property Length.
    if (version == Version::v5 && !r.at_end()) {
        std::uint8_t reason = 0;
        (void)r.read_u8(reason);
        if (!disconnect_codes.contains(reason)) {
            return r.fail(ReasonCode::protocol_error, msg::invalid_reason);
        }
        d.reason = static_cast<ReasonCode>(reason);
        if (!r.at_end() && !read_properties(r, disconnect_rules, d.properties)) {
            return false;
        }
    }
    return r.expect_end();
}

bool decode_auth(Reader& r, Auth& a) {
    // MQTT 5 §3.15.2.1: only Success without properties may omit the reason and the Property
    // Length (Remaining Length 0). Unlike DISCONNECT there is no one-byte form.
    if (r.at_end()) {
        return true;
    }
    std::uint8_t reason = 0;
    (void)r.read_u8(reason);
    if (!auth_codes.contains(reason)) {
        return r.fail(ReasonCode::protocol_error, msg::invalid_reason);
    }
    a.reason = static_cast<ReasonCode>(reason);
    return read_properties(r, auth_rules, a.properties) && r.expect_end();
}

/// Required low nibble of the first byte, or -1 for PUBLISH whose flags carry DUP/QoS/RETAIN.
/// [MQTT-2.2.2-1], [MQTT-2.2.2-2] (3.1.1); MQTT 5 §2.1.3.
constexpr int required_flags(std::uint8_t type) {
    switch (type) {
    case 3:
        return -1;
    case 6:   // PUBREL [MQTT-3.6.1-1]
    case 8:   // SUBSCRIBE [MQTT-3.8.1-1]
    case 10:  // UNSUBSCRIBE [MQTT-3.10.1-1]
        return 0x02;
    default:
        return 0x00;
    }
}

template <class T, class Decoder>
Result<Packet, DecodeError> decode_into(std::string_view body, Decoder&& decoder) {
    // The packet is filled in place inside the returned Result, so the strings PUBLISH copies
    // out of the body are never moved again (the Result is returned by NRVO).
    Result<Packet, DecodeError> result{std::in_place, std::in_place_type<T>};
    Reader r(body);
    if (!decoder(r, std::get<T>(result.value()))) {
        result = r.error();
    }
    return result;
}

// ---------------------------------------------------------------------------------------------
// Encoding. Every packet is sized first, so `encode` reserves once and `encoded_size` shares the
// exact same arithmetic.

void put_u8(std::string& out, std::uint8_t value) { out.push_back(static_cast<char>(value)); }

/// The writers through a pointer (into a string already sized for the packet: the hot packets
/// are written this way); put_u16() and put_vbi() append with them.
char* put_u16_at(char* w, std::uint16_t value) {
    w[0] = static_cast<char>(value >> 8U);
    w[1] = static_cast<char>(value);
    return w + 2;
}

char* put_vbi_at(char* w, std::size_t value) {
    IOTSIM_ASSERT(value <= vbi_max);
    do {
        auto byte = static_cast<std::uint8_t>(value & 0x7FU);
        value >>= 7U;
        if (value != 0) {
            byte = static_cast<std::uint8_t>(byte | 0x80U);
        }
        *w++ = static_cast<char>(byte);
    } while (value != 0);
    return w;
}

void put_u16(std::string& out, std::uint16_t value) {
    std::array<char, 2> bytes{};
    put_u16_at(bytes.data(), value);
    out.append(bytes.data(), bytes.size());
}

void put_u32(std::string& out, std::uint32_t value) {
    const std::array<char, 4> bytes{static_cast<char>(value >> 24U),
                                    static_cast<char>(value >> 16U),
                                    static_cast<char>(value >> 8U), static_cast<char>(value)};
    out.append(bytes.data(), bytes.size());
}

void put_vbi(std::string& out, std::size_t value) {
    std::array<char, 4> bytes{};
    out.append(bytes.data(), put_vbi_at(bytes.data(), value));
}

constexpr std::size_t string_size(std::string_view s) { return 2 + s.size(); }

void put_string(std::string& out, std::string_view s) {
    IOTSIM_ASSERT(s.size() <= 0xFFFFU);  // two-byte length prefix (MQTT 5 §1.5.4, §1.5.6)
    put_u16(out, static_cast<std::uint16_t>(s.size()));
    out.append(s);
}

/// Calls `v.byte`, `v.u16`, `v.u32`, `v.vbi`, `v.string` or `v.pair` once per present property,
/// in identifier order. The one list of fields that sizing, writing and checking share.
template <class Visitor>
void visit_properties(const Properties& p, Visitor& v) {
    if (p.payload_format_indicator) {
        v.byte(prop::payload_format_indicator, *p.payload_format_indicator);
    }
    if (p.message_expiry_interval) {
        v.u32(prop::message_expiry_interval, *p.message_expiry_interval);
    }
    if (p.content_type) {
        v.string(prop::content_type, *p.content_type);
    }
    if (p.response_topic) {
        v.string(prop::response_topic, *p.response_topic);
    }
    if (p.correlation_data) {
        v.string(prop::correlation_data, *p.correlation_data);
    }
    for (const std::uint32_t id : p.subscription_identifiers) {
        v.vbi(prop::subscription_identifier, id);
    }
    if (p.session_expiry_interval) {
        v.u32(prop::session_expiry_interval, *p.session_expiry_interval);
    }
    if (p.assigned_client_identifier) {
        v.string(prop::assigned_client_identifier, *p.assigned_client_identifier);
    }
    if (p.server_keep_alive) {
        v.u16(prop::server_keep_alive, *p.server_keep_alive);
    }
    if (p.authentication_method) {
        v.string(prop::authentication_method, *p.authentication_method);
    }
    if (p.authentication_data) {
        v.string(prop::authentication_data, *p.authentication_data);
    }
    if (p.request_problem_information) {
        v.byte(prop::request_problem_information, *p.request_problem_information);
    }
    if (p.will_delay_interval) {
        v.u32(prop::will_delay_interval, *p.will_delay_interval);
    }
    if (p.request_response_information) {
        v.byte(prop::request_response_information, *p.request_response_information);
    }
    if (p.response_information) {
        v.string(prop::response_information, *p.response_information);
    }
    if (p.server_reference) {
        v.string(prop::server_reference, *p.server_reference);
    }
    if (p.reason_string) {
        v.string(prop::reason_string, *p.reason_string);
    }
    if (p.receive_maximum) {
        v.u16(prop::receive_maximum, *p.receive_maximum);
    }
    if (p.topic_alias_maximum) {
        v.u16(prop::topic_alias_maximum, *p.topic_alias_maximum);
    }
    if (p.topic_alias) {
        v.u16(prop::topic_alias, *p.topic_alias);
    }
    if (p.maximum_qos) {
        v.byte(prop::maximum_qos, *p.maximum_qos);
    }
    if (p.retain_available) {
        v.byte(prop::retain_available, *p.retain_available);
    }
    for (const UserProperty& up : p.user_properties) {
        v.pair(prop::user_property, up);
    }
    if (p.maximum_packet_size) {
        v.u32(prop::maximum_packet_size, *p.maximum_packet_size);
    }
    if (p.wildcard_subscription_available) {
        v.byte(prop::wildcard_subscription_available, *p.wildcard_subscription_available);
    }
    if (p.subscription_identifier_available) {
        v.byte(prop::subscription_identifier_available, *p.subscription_identifier_available);
    }
    if (p.shared_subscription_available) {
        v.byte(prop::shared_subscription_available, *p.shared_subscription_available);
    }
}

struct PropertySizer {
    std::size_t size = 0;
    PropertyMask present = 0;

    void note(std::uint8_t id, std::size_t value_size) {
        present |= PropertyMask{1} << id;
        size += 1 + value_size;
    }
    void byte(std::uint8_t id, std::uint8_t /*value*/) { note(id, 1); }
    void u16(std::uint8_t id, std::uint16_t /*value*/) { note(id, 2); }
    void u32(std::uint8_t id, std::uint32_t /*value*/) { note(id, 4); }
    void vbi(std::uint8_t id, std::uint32_t value) {
        IOTSIM_ASSERT(value <= vbi_max);
        note(id, vbi_size(value));
    }
    void string(std::uint8_t id, const std::string& value) { note(id, string_size(value)); }
    void pair(std::uint8_t id, const UserProperty& value) {
        note(id, string_size(value.key) + string_size(value.value));
    }
};

struct PropertyWriter {
    std::string& out;

    void byte(std::uint8_t id, std::uint8_t value) {
        put_u8(out, id);
        put_u8(out, value);
    }
    void u16(std::uint8_t id, std::uint16_t value) {
        put_u8(out, id);
        put_u16(out, value);
    }
    void u32(std::uint8_t id, std::uint32_t value) {
        put_u8(out, id);
        put_u32(out, value);
    }
    void vbi(std::uint8_t id, std::uint32_t value) {
        put_u8(out, id);
        put_vbi(out, value);
    }
    void string(std::uint8_t id, const std::string& value) {
        put_u8(out, id);
        put_string(out, value);
    }
    void pair(std::uint8_t id, const UserProperty& value) {
        put_u8(out, id);
        put_string(out, value.key);
        put_string(out, value.value);
    }
};

/// Length of the properties (without the Property Length field). Asserts that the packet kind may
/// carry them: sending a property the peer must reject is a bug of ours, not bad input.
std::size_t properties_size(const Properties& p, const PropertyRules& rules) {
    PropertySizer sizer;
    visit_properties(p, sizer);
    IOTSIM_ASSERT((sizer.present & ~rules.allowed) == 0);
    return sizer.size;
}

/// Property Length field plus the properties.
constexpr std::size_t property_section_size(std::size_t length) {
    return vbi_size(length) + length;
}

void put_properties(std::string& out, const Properties& p, std::size_t length) {
    put_vbi(out, length);
    PropertyWriter writer{out};
    visit_properties(p, writer);
}

/// Sizes computed once by `plan` and reused while writing.
struct Plan {
    std::uint8_t first_byte = 0;
    std::size_t remaining_length = 0;
    std::size_t properties = 0;       // length of the packet's properties
    std::size_t will_properties = 0;  // CONNECT only
};

constexpr std::uint8_t first_byte_for(PacketType type, std::uint8_t flags = 0) {
    return static_cast<std::uint8_t>((static_cast<std::uint8_t>(type) << 4U) | flags);
}

bool is_v5(Version version) { return version == Version::v5; }

// --- sizing ---

Plan plan(const Connect& c, Version version) {
    IOTSIM_ASSERT(c.version == version);
    Plan result{first_byte_for(PacketType::connect)};
    // Protocol Name, Protocol Level, Connect Flags, Keep Alive.
    std::size_t size = string_size("MQTT") + 1 + 1 + 2;
    if (is_v5(version)) {
        result.properties = properties_size(c.properties, connect_rules);
        size += property_section_size(result.properties);
    }
    size += string_size(c.client_id);
    if (c.will) {
        IOTSIM_ASSERT(c.will->qos <= QoS::exactly_once);
        if (is_v5(version)) {
            result.will_properties = properties_size(c.will->properties, will_rules);
            size += property_section_size(result.will_properties);
        }
        size += string_size(c.will->topic) + string_size(c.will->payload);
    }
    if (c.username) {
        size += string_size(*c.username);
    }
    if (c.password) {
        size += string_size(*c.password);
    }
    result.remaining_length = size;
    return result;
}

Plan plan(const Connack& c, Version version) {
    Plan result{first_byte_for(PacketType::connack)};
    result.remaining_length = 2;
    if (is_v5(version)) {
        result.properties = properties_size(c.properties, connack_rules);
        result.remaining_length += property_section_size(result.properties);
    }
    return result;
}

PublishRef ref_of(const Publish& p) {
    return PublishRef{p.dup, p.qos, p.retain, p.topic, p.packet_id, p.payload, &p.properties};
}

Plan plan(const PublishRef& p, Version version) {
    IOTSIM_ASSERT(p.qos <= QoS::exactly_once);
    const auto flags = static_cast<std::uint8_t>((p.dup ? 0x08U : 0U) |
                                                 (static_cast<std::uint8_t>(p.qos) << 1U) |
                                                 (p.retain ? 0x01U : 0U));
    Plan result{first_byte_for(PacketType::publish, flags)};
    std::size_t size = string_size(p.topic) + (p.qos != QoS::at_most_once ? 2 : 0);
    if (is_v5(version)) {
        result.properties = p.properties != nullptr ? properties_size(*p.properties, publish_rules) : 0;
        size += property_section_size(result.properties);
    }
    result.remaining_length = size + p.payload.size();
    return result;
}

Plan plan(const Publish& p, Version version) { return plan(ref_of(p), version); }

Plan plan(const Ack& a, Version version) {
    IOTSIM_ASSERT(a.type == PacketType::puback || a.type == PacketType::pubrec ||
                  a.type == PacketType::pubrel || a.type == PacketType::pubcomp);
    Plan result{first_byte_for(a.type, a.type == PacketType::pubrel ? 0x02 : 0x00)};
    result.remaining_length = 2;
    if (is_v5(version)) {
        result.properties = properties_size(a.properties, ack_rules);
        // MQTT 5 §3.4.2.1: the shortest form the reason and properties allow.
        if (result.properties != 0) {
            result.remaining_length += 1 + property_section_size(result.properties);
        } else if (a.reason != ReasonCode::success) {
            result.remaining_length += 1;
        }
    }
    return result;
}

Plan plan(const Subscribe& s, Version version) {
    Plan result{first_byte_for(PacketType::subscribe, 0x02)};
    std::size_t size = 2;
    if (is_v5(version)) {
        result.properties = properties_size(s.properties, subscribe_rules);
        size += property_section_size(result.properties);
    }
    for (const SubscribeEntry& entry : s.entries) {
        IOTSIM_ASSERT(entry.options.qos <= QoS::exactly_once);
        IOTSIM_ASSERT(entry.options.retain_handling <= 3);
        size += string_size(entry.filter) + 1;
    }
    result.remaining_length = size;
    return result;
}

Plan plan(const Suback& s, Version version) {
    Plan result{first_byte_for(PacketType::suback)};
    std::size_t size = 2;
    if (is_v5(version)) {
        result.properties = properties_size(s.properties, suback_rules);
        size += property_section_size(result.properties);
    }
    result.remaining_length = size + s.reasons.size();
    return result;
}

Plan plan(const Unsubscribe& u, Version version) {
    Plan result{first_byte_for(PacketType::unsubscribe, 0x02)};
    std::size_t size = 2;
    if (is_v5(version)) {
        result.properties = properties_size(u.properties, unsubscribe_rules);
        size += property_section_size(result.properties);
    }
    for (const std::string& filter : u.filters) {
        size += string_size(filter);
    }
    result.remaining_length = size;
    return result;
}

Plan plan(const Unsuback& u, Version version) {
    Plan result{first_byte_for(PacketType::unsuback)};
    result.remaining_length = 2;
    if (is_v5(version)) {
        result.properties = properties_size(u.properties, unsuback_rules);
        result.remaining_length += property_section_size(result.properties) + u.reasons.size();
    }
    return result;
}

Plan plan(const Pingreq& /*p*/, Version /*version*/) {
    return Plan{first_byte_for(PacketType::pingreq)};
}

Plan plan(const Pingresp& /*p*/, Version /*version*/) {
    return Plan{first_byte_for(PacketType::pingresp)};
}

Plan plan(const Disconnect& d, Version version) {
    Plan result{first_byte_for(PacketType::disconnect)};
    if (is_v5(version)) {
        result.properties = properties_size(d.properties, disconnect_rules);
        // MQTT 5 §3.14.2.1: the shortest form the reason and properties allow.
        if (result.properties != 0) {
            result.remaining_length = 1 + property_section_size(result.properties);
        } else if (d.reason != ReasonCode::success) {
            result.remaining_length = 1;
        }
    }
    return result;
}

Plan plan(const Auth& a, Version version) {
    IOTSIM_ASSERT(is_v5(version));  // AUTH does not exist in MQTT 3.1.1
    Plan result{first_byte_for(PacketType::auth)};
    result.properties = properties_size(a.properties, auth_rules);
    if (result.properties != 0 || a.reason != ReasonCode::success) {
        result.remaining_length = 1 + property_section_size(result.properties);
    }
    return result;
}

// --- writing ---

void write_body(std::string& out, const Connect& c, Version version, const Plan& sizes) {
    put_string(out, "MQTT");
    put_u8(out, static_cast<std::uint8_t>(version));
    std::uint8_t flags = c.clean_start ? 0x02 : 0x00;
    if (c.will) {
        flags = static_cast<std::uint8_t>(flags | 0x04U |
                                          (static_cast<std::uint8_t>(c.will->qos) << 3U) |
                                          (c.will->retain ? 0x20U : 0U));
    }
    if (c.password) {
        flags = static_cast<std::uint8_t>(flags | 0x40U);
    }
    if (c.username) {
        flags = static_cast<std::uint8_t>(flags | 0x80U);
    }
    put_u8(out, flags);
    put_u16(out, c.keep_alive);
    if (is_v5(version)) {
        put_properties(out, c.properties, sizes.properties);
    }
    put_string(out, c.client_id);
    if (c.will) {
        if (is_v5(version)) {
            put_properties(out, c.will->properties, sizes.will_properties);
        }
        put_string(out, c.will->topic);
        put_string(out, c.will->payload);
    }
    if (c.username) {
        put_string(out, *c.username);
    }
    if (c.password) {
        put_string(out, *c.password);
    }
}

void write_body(std::string& out, const Connack& c, Version version, const Plan& sizes) {
    put_u8(out, c.session_present ? 0x01 : 0x00);
    put_u8(out, c.reason);
    if (is_v5(version)) {
        put_properties(out, c.properties, sizes.properties);
    }
}

void write_body(std::string& out, const PublishRef& p, Version version, const Plan& sizes) {
    put_string(out, p.topic);
    if (p.qos != QoS::at_most_once) {
        put_u16(out, p.packet_id);
    }
    if (is_v5(version)) {
        if (p.properties != nullptr) {
            put_properties(out, *p.properties, sizes.properties);
        } else {
            put_vbi(out, 0);
        }
    }
    out.append(p.payload);
}

void write_body(std::string& out, const Publish& p, Version version, const Plan& sizes) {
    write_body(out, ref_of(p), version, sizes);
}

void write_body(std::string& out, const Ack& a, Version /*version*/, const Plan& sizes) {
    put_u16(out, a.packet_id);
    if (sizes.remaining_length > 2) {
        put_u8(out, static_cast<std::uint8_t>(a.reason));
    }
    if (sizes.remaining_length > 3) {
        put_properties(out, a.properties, sizes.properties);
    }
}

void write_body(std::string& out, const Subscribe& s, Version version, const Plan& sizes) {
    put_u16(out, s.packet_id);
    const bool v5 = is_v5(version);
    if (v5) {
        put_properties(out, s.properties, sizes.properties);
    }
    for (const SubscribeEntry& entry : s.entries) {
        put_string(out, entry.filter);
        auto options = static_cast<std::uint8_t>(entry.options.qos);
        if (v5) {
            options = static_cast<std::uint8_t>(options | (entry.options.no_local ? 0x04U : 0U) |
                                                (entry.options.retain_as_published ? 0x08U : 0U) |
                                                (entry.options.retain_handling << 4U));
        }
        put_u8(out, options);
    }
}

void write_body(std::string& out, const Suback& s, Version version, const Plan& sizes) {
    put_u16(out, s.packet_id);
    if (is_v5(version)) {
        put_properties(out, s.properties, sizes.properties);
    }
    out.append(reinterpret_cast<const char*>(s.reasons.data()), s.reasons.size());
}

void write_body(std::string& out, const Unsubscribe& u, Version version, const Plan& sizes) {
    put_u16(out, u.packet_id);
    if (is_v5(version)) {
        put_properties(out, u.properties, sizes.properties);
    }
    for (const std::string& filter : u.filters) {
        put_string(out, filter);
    }
}

void write_body(std::string& out, const Unsuback& u, Version version, const Plan& sizes) {
    put_u16(out, u.packet_id);
    if (is_v5(version)) {
        put_properties(out, u.properties, sizes.properties);
        out.append(reinterpret_cast<const char*>(u.reasons.data()), u.reasons.size());
    }
}

void write_body(std::string& /*out*/, const Pingreq& /*p*/, Version /*v*/, const Plan& /*s*/) {}

void write_body(std::string& /*out*/, const Pingresp& /*p*/, Version /*v*/, const Plan& /*s*/) {}

void write_body(std::string& out, const Disconnect& d, Version /*version*/, const Plan& sizes) {
    if (sizes.remaining_length > 0) {
        put_u8(out, static_cast<std::uint8_t>(d.reason));
    }
    if (sizes.remaining_length > 1) {
        put_properties(out, d.properties, sizes.properties);
    }
}

void write_body(std::string& out, const Auth& a, Version /*version*/, const Plan& sizes) {
    if (sizes.remaining_length > 0) {
        put_u8(out, static_cast<std::uint8_t>(a.reason));
        put_properties(out, a.properties, sizes.properties);
    }
}

std::size_t total_size(const Plan& sizes) {
    return 1 + vbi_size(sizes.remaining_length) + sizes.remaining_length;
}

}  // namespace

// -------------------------------------------------------------------------------------------------

Frame read_frame(std::string_view stream, std::uint32_t remaining_length_limit) {
    Frame frame;
    if (stream.empty()) {
        return frame;
    }
    frame.first_byte = static_cast<std::uint8_t>(stream[0]);
    const VbiRead length = parse_vbi(stream.substr(1));
    switch (length.status) {
    case VbiStatus::incomplete:
        return frame;
    case VbiStatus::too_long:
    case VbiStatus::not_minimal:
        frame.status = FrameStatus::malformed;
        return frame;
    case VbiStatus::ok:
        break;
    }
    frame.header_bytes = 1 + length.length;
    frame.remaining_length = length.value;
    if (length.value > remaining_length_limit) {
        frame.status = FrameStatus::too_large;
    } else if (stream.size() - frame.header_bytes >= length.value) {
        frame.status = FrameStatus::complete;
    }
    return frame;
}

Result<Connect, DecodeError> decode_connect(std::uint8_t first_byte, std::string_view body) {
    if (type_of(first_byte) != static_cast<std::uint8_t>(PacketType::connect)) {
        // [MQTT-3.1.0-1]: the first packet from the client must be CONNECT.
        return DecodeError{ReasonCode::protocol_error, msg::not_connect};
    }
    if (flags_of(first_byte) != 0) {
        return DecodeError{ReasonCode::malformed_packet, msg::bad_flags};
    }
    Result<Connect, DecodeError> result{Connect{}};
    Reader r(body);
    if (!decode_connect_body(r, result.value())) {
        return r.error();
    }
    return result;
}

std::optional<DecodeError> decode_publish_into(Version version, std::uint8_t first_byte, std::string_view body,
                                               Publish& p) {
    IOTSIM_ASSERT(type_of(first_byte) == static_cast<std::uint8_t>(PacketType::publish));
    if (version == Version::v5) {
        p.properties = Properties{};
    }
#ifndef NDEBUG
    else {
        IOTSIM_ASSERT(p.properties == Properties{});  // (a full compare: debug builds only)
    }
#endif
    p.packet_id = 0;
    Reader r(body);
    if (!decode_publish(r, version, flags_of(first_byte), p)) {
        return r.error();
    }
    return std::nullopt;
}

Result<Packet, DecodeError> decode(Version version, std::uint8_t first_byte,
                                   std::string_view body) {
    const std::uint8_t type = type_of(first_byte);
    const std::uint8_t flags = flags_of(first_byte);
    if (type == 0) {
        return DecodeError{ReasonCode::malformed_packet, msg::reserved_type};
    }
    if (type == static_cast<std::uint8_t>(PacketType::auth) && version == Version::v311) {
        return DecodeError{ReasonCode::malformed_packet, msg::auth_in_v311};
    }
    const int required = required_flags(type);
    if (required >= 0 && flags != required) {
        return DecodeError{ReasonCode::malformed_packet, msg::bad_flags};
    }

    switch (static_cast<PacketType>(type)) {
    case PacketType::connect: {
        // A CONNECT carries its own version. The broker, not the codec, rejects a second CONNECT
        // on a connection [MQTT-3.1.0-2].
        Result<Connect, DecodeError> connect = decode_connect(first_byte, body);
        if (!connect.ok()) {
            return connect.error();
        }
        return Packet{std::move(connect).value()};
    }
    case PacketType::connack:
        return decode_into<Connack>(
            body, [&](Reader& r, Connack& c) { return decode_connack(r, version, c); });
    case PacketType::publish:
        return decode_into<Publish>(
            body, [&](Reader& r, Publish& p) { return decode_publish(r, version, flags, p); });
    case PacketType::puback:
    case PacketType::pubrec:
    case PacketType::pubrel:
    case PacketType::pubcomp:
        return decode_into<Ack>(body, [&](Reader& r, Ack& a) {
            return decode_ack(r, version, static_cast<PacketType>(type), a);
        });
    case PacketType::subscribe:
        return decode_into<Subscribe>(
            body, [&](Reader& r, Subscribe& s) { return decode_subscribe(r, version, s); });
    case PacketType::suback:
        return decode_into<Suback>(
            body, [&](Reader& r, Suback& s) { return decode_suback(r, version, s); });
    case PacketType::unsubscribe:
        return decode_into<Unsubscribe>(
            body, [&](Reader& r, Unsubscribe& u) { return decode_unsubscribe(r, version, u); });
    case PacketType::unsuback:
        return decode_into<Unsuback>(
            body, [&](Reader& r, Unsuback& u) { return decode_unsuback(r, version, u); });
    case PacketType::pingreq:
        return decode_into<Pingreq>(body, [](Reader& r, Pingreq&) { return r.expect_end(); });
    case PacketType::pingresp:
        return decode_into<Pingresp>(body, [](Reader& r, Pingresp&) { return r.expect_end(); });
    case PacketType::disconnect:
        return decode_into<Disconnect>(
            body, [&](Reader& r, Disconnect& d) { return decode_disconnect(r, version, d); });
    case PacketType::auth:
        return decode_into<Auth>(body, [](Reader& r, Auth& a) { return decode_auth(r, a); });
    }
    return DecodeError{ReasonCode::malformed_packet, msg::reserved_type};
}

namespace {

template <class P>
void encode_one(const P& p, Version version, std::string& out) {
    const Plan sizes = plan(p, version);
    IOTSIM_ASSERT(sizes.remaining_length <= remaining_length_max);
    const std::size_t start = out.size();
    const std::size_t total = total_size(sizes);
    out.reserve(start + total);
    put_u8(out, sizes.first_byte);
    put_vbi(out, sizes.remaining_length);
    write_body(out, p, version, sizes);
    // encoded_size() promises exactly this many bytes; a mismatch would corrupt framing.
    IOTSIM_ASSERT(out.size() - start == total);
}

}  // namespace

void encode(const Packet& packet, Version version, std::string& out) {
    std::visit([&](const auto& p) { encode_one(p, version, out); }, packet);
}

void encode(const PublishRef& publish, Version version, std::string& out) {
    const Plan sizes = plan(publish, version);
    if (sizes.properties != 0) {
        encode_one(publish, version, out);  // properties: the general writer
        return;
    }
    IOTSIM_ASSERT(sizes.remaining_length <= remaining_length_max);
    IOTSIM_ASSERT(publish.topic.size() <= 0xFFFFU);
    const std::size_t start = out.size();
    out.resize(start + total_size(sizes));  // then written through a pointer, no per-field append
    char* w = out.data() + start;
    *w++ = static_cast<char>(sizes.first_byte);
    w = put_vbi_at(w, sizes.remaining_length);
    w = put_u16_at(w, static_cast<std::uint16_t>(publish.topic.size()));
    std::memcpy(w, publish.topic.data(), publish.topic.size());
    w += publish.topic.size();
    if (publish.qos != QoS::at_most_once) {
        w = put_u16_at(w, publish.packet_id);
    }
    if (is_v5(version)) {
        *w++ = 0;  // no properties
    }
    std::memcpy(w, publish.payload.data(), publish.payload.size());
    IOTSIM_ASSERT(w + publish.payload.size() == out.data() + out.size());
}

void encode_success_ack(PacketType type, std::uint16_t packet_id, std::string& out) {
    IOTSIM_ASSERT(type == PacketType::puback || type == PacketType::pubrec || type == PacketType::pubrel ||
                  type == PacketType::pubcomp);
    const char bytes[4] = {static_cast<char>(first_byte_for(type, type == PacketType::pubrel ? 0x02 : 0x00)), 2,
                           static_cast<char>(packet_id >> 8), static_cast<char>(packet_id & 0xFF)};
    out.append(bytes, sizeof bytes);
}

void encode(const Ack& ack, Version version, std::string& out) {
    const Plan sizes = plan(ack, version);
    if (sizes.properties != 0) {
        encode_one(ack, version, out);
        return;
    }
    const std::size_t start = out.size();
    out.resize(start + total_size(sizes));
    char* w = out.data() + start;
    *w++ = static_cast<char>(sizes.first_byte);
    w = put_vbi_at(w, sizes.remaining_length);
    w = put_u16_at(w, ack.packet_id);
    if (sizes.remaining_length > 2) {
        *w++ = static_cast<char>(ack.reason);
    }
    IOTSIM_ASSERT(w == out.data() + out.size());
}

std::size_t encoded_size(const Packet& packet, Version version) {
    return std::visit([&](const auto& p) { return total_size(plan(p, version)); }, packet);
}

std::size_t encoded_size(const PublishRef& publish, Version version) { return total_size(plan(publish, version)); }

bool is_valid_mqtt_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* const begin = p;
    const auto* const end = p + s.size();
    while (p != end) {
        // Topics and client ids are nearly always ASCII: skip eight bytes at a time while none
        // has the high bit set and none is zero.
        constexpr std::uint64_t ones = 0x0101010101010101ULL;
        constexpr std::uint64_t highs = 0x8080808080808080ULL;
        while (end - p >= 8) {
            std::uint64_t word = 0;
            std::memcpy(&word, p, sizeof word);
            if (((word | ((word - ones) & ~word)) & highs) != 0) {
                break;
            }
            p += 8;
        }
        if (p == end) {
            break;
        }
        if (end - p < 8 && end - begin >= 8) {
            // Fewer than eight bytes left: the string's last eight (some already checked) at once.
            std::uint64_t word = 0;
            std::memcpy(&word, end - 8, sizeof word);
            if (((word | ((word - ones) & ~word)) & highs) == 0) {
                break;
            }
        }
        const unsigned lead = *p;
        if (lead < 0x80U) {
            if (lead == 0) {  // U+0000 [MQTT-1.5.4-2]
                return false;
            }
            ++p;
            continue;
        }
        // Well-formed sequences per Unicode Table 3-7: the second byte's range excludes
        // overlongs (E0, F0), surrogates (ED: U+D800..U+DFFF [MQTT-1.5.4-1]) and code points
        // above U+10FFFF (F4).
        std::size_t continuation = 0;
        unsigned low = 0x80U;
        unsigned high = 0xBFU;
        if (lead >= 0xC2U && lead <= 0xDFU) {
            continuation = 1;
        } else if (lead == 0xE0U) {
            continuation = 2;
            low = 0xA0U;
        } else if (lead == 0xEDU) {
            continuation = 2;
            high = 0x9FU;
        } else if (lead >= 0xE1U && lead <= 0xEFU) {
            continuation = 2;
        } else if (lead == 0xF0U) {
            continuation = 3;
            low = 0x90U;
        } else if (lead >= 0xF1U && lead <= 0xF3U) {
            continuation = 3;
        } else if (lead == 0xF4U) {
            continuation = 3;
            high = 0x8FU;
        } else {
            return false;  // 80..C1 (continuation or overlong lead) and F5..FF
        }
        if (static_cast<std::size_t>(end - p) <= continuation) {
            return false;
        }
        if (p[1] < low || p[1] > high) {
            return false;
        }
        for (std::size_t i = 2; i <= continuation; ++i) {
            if ((p[i] & 0xC0U) != 0x80U) {
                return false;
            }
        }
        p += continuation + 1;
    }
    return true;
}

}  // namespace iotsim::mqtt
