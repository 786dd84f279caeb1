#pragma once

#include <string_view>

/// The IoT policy actions the data plane checks (reference §4.4, `iot-policy-actions.html`).
/// Actions are matched case-insensitively, as IAM does; these are AWS's spellings.
namespace iotsim::policy::actions {

inline constexpr std::string_view connect = "iot:Connect";                // client/<clientId>
inline constexpr std::string_view publish = "iot:Publish";                // topic/<topic>
inline constexpr std::string_view retain_publish = "iot:RetainPublish";   // topic/<topic>
inline constexpr std::string_view subscribe = "iot:Subscribe";            // topicfilter/<filter>
inline constexpr std::string_view receive = "iot:Receive";                // topic/<topic>
inline constexpr std::string_view get_retained_message = "iot:GetRetainedMessage";      // topic/
inline constexpr std::string_view list_retained_messages = "iot:ListRetainedMessages";  // *
inline constexpr std::string_view get_thing_shadow = "iot:GetThingShadow";        // thing/<name>
inline constexpr std::string_view update_thing_shadow = "iot:UpdateThingShadow";  // thing/<name>
inline constexpr std::string_view delete_thing_shadow = "iot:DeleteThingShadow";  // thing/<name>
inline constexpr std::string_view list_named_shadows_for_thing = "iot:ListNamedShadowsForThing";
inline constexpr std::string_view delete_connection = "iot:DeleteConnection";  // client/<clientId>
inline constexpr std::string_view assume_role_with_certificate = "iot:AssumeRoleWithCertificate";

}  // namespace iotsim::policy::actions
