#pragma once

#include <string>
#include <variant>
#include <vector>

#include "iotsim/broker/ids.hpp"
#include "iotsim/broker/message.hpp"
#include "iotsim/common/time.hpp"

namespace iotsim::broker {

/// Write `bytes` to the connection, after every earlier Send to it.
struct Send {
    ConnectionId connection;
    std::string bytes;
};

/// Close the connection once every earlier Send to it has been written (or dropped, if the peer
/// is gone). The broker has already forgotten the connection: the host must not call receive()
/// for it again, and a later closed() for it is ignored.
struct Close {
    ConnectionId connection;
};

/// Call Broker::timer_fired() at or after `deadline` (monotonic). Replaces any earlier request:
/// the broker keeps its own timer queue and asks the host for a single wake-up.
struct ArmTimer {
    Instant deadline;
};

/// Something worth one log line or trace record: a connect, a disconnect with its reason, a
/// refused connection, a protocol violation. Expected bad input is `info`/`warning`; `error`
/// means a bug in iotsim.
enum class Severity : std::uint8_t { debug, info, warning, error };
struct Event {
    Severity severity = Severity::info;
    ConnectionId connection;
    std::string kind;       // stable identifier, e.g. "connected", "disconnected", "connect_refused"
    std::string client_id;
    std::string detail;     // e.g. the disconnect reason "MQTT_KEEP_ALIVE_TIMEOUT"
};

/// A routed message matched a service listener's filter (Broker::listen): the composition that
/// owns the broker (iotcore::IotCore) hands it to that service (shadow, rules). Hosts that drive
/// IotCore never see this effect; a host driving a bare Broker with listeners must deliver it.
struct Dispatch {
    ListenerId listener;
    MessagePtr message;
};

using Effect = std::variant<Send, Close, ArmTimer, Event, Dispatch>;
using Effects = std::vector<Effect>;

}  // namespace iotsim::broker
