#pragma once

// A test host for one Sans-I/O Client: a manual clock, a transport that the test opens and
// closes by hand, and the broker's end of the wire played by the test (it decodes what the
// client writes and encodes what "the broker" answers), so every rule can be checked
// byte-exactly at any virtual time.

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <ostream>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "iotsim/client/client.hpp"
#include "iotsim/mqtt/codec.hpp"

// Boost.Test finds these printers by argument-dependent lookup.
namespace iotsim::mqtt {
inline std::ostream& boost_test_print_type(std::ostream& os, ReasonCode code) {
    return os << reason_name(code) << " (0x" << std::hex << static_cast<int>(code) << std::dec
              << ")";
}
inline std::ostream& boost_test_print_type(std::ostream& os, Version version) {
    return os << (version == Version::v5 ? "MQTT 5" : "MQTT 3.1.1");
}
inline std::ostream& boost_test_print_type(std::ostream& os, QoS qos) {
    return os << "QoS " << static_cast<int>(qos);
}
inline std::ostream& boost_test_print_type(std::ostream& os, PacketType type) {
    return os << packet_type_name(type);
}
}  // namespace iotsim::mqtt

namespace iotsim::client {
inline std::ostream& boost_test_print_type(std::ostream& os, ClientState state) {
    return os << client_state_name(state);
}
inline std::ostream& boost_test_print_type(std::ostream& os, DisconnectCause cause) {
    return os << disconnect_cause_name(cause);
}
}  // namespace iotsim::client

namespace iotsim::client_test {

using namespace iotsim::client;
using namespace iotsim::mqtt;

/// Index of an effect type in ClientEffect, for checking the order of effects.
template <class T, std::size_t I = 0>
constexpr std::size_t effect_index() {
    if constexpr (std::is_same_v<T, std::variant_alternative_t<I, ClientEffect>>) {
        return I;
    } else {
        return effect_index<T, I + 1>();
    }
}

/// Nanoseconds, for comparing durations in BOOST_TEST (std::chrono durations do not print).
constexpr Duration::rep ns(Duration d) { return d.count(); }

inline SubscribeEntry entry(std::string filter, QoS qos = QoS::at_least_once) {
    return SubscribeEntry{std::move(filter), SubscribeOptions{qos, false, false, 0}};
}

class ClientHost {
public:
    explicit ClientHost(ClientOptions options, std::uint64_t seed = 0x5eed)
        : client(std::move(options), Rng::derive(seed, "client")) {}

    Client client;
    Now now{Instant{seconds(1'000)}, WallTime{seconds(1'700'000'000)}};
    std::optional<Instant> timer;
    bool open_requested = false;  // OpenTransport seen and not yet answered
    bool transport_open = false;
    bool expect_connect = false;  // the next packet on the wire opens a transport: CONNECT
    std::size_t opens = 0;
    std::size_t closes = 0;
    std::size_t timer_arms = 0;
    std::size_t sends = 0;           // SendBytes effects
    std::string wire;                // bytes the client wrote, not yet taken by the test
    std::vector<std::size_t> kinds;  // every effect's index in ClientEffect, in order
    std::vector<Publish> messages;
    std::vector<PublishCompleted> published;
    std::vector<SubscribeCompleted> subscribed;
    std::vector<UnsubscribeCompleted> unsubscribed;
    std::vector<Connected> connected;
    std::vector<Disconnected> disconnected;

    Version version() const { return client.options().version; }

    void apply(ClientEffects fx) {
        for (ClientEffect& e : fx) {
            kinds.push_back(e.index());
            if (std::holds_alternative<OpenTransport>(e)) {
                BOOST_REQUIRE_MESSAGE(!open_requested && !transport_open,
                                      "OpenTransport while one is open");
                open_requested = true;
                ++opens;
            } else if (auto* s = std::get_if<SendBytes>(&e)) {
                BOOST_REQUIRE_MESSAGE(transport_open, "SendBytes without an open transport");
                BOOST_REQUIRE_MESSAGE(!s->bytes.empty(), "empty SendBytes");
                wire += s->bytes;
                ++sends;
            } else if (std::holds_alternative<CloseTransport>(e)) {
                BOOST_REQUIRE_MESSAGE(open_requested || transport_open,
                                      "CloseTransport without a transport");
                open_requested = false;
                transport_open = false;
                ++closes;
            } else if (auto* t = std::get_if<ArmTimer>(&e)) {
                BOOST_REQUIRE_MESSAGE(t->deadline >= now.monotonic, "timer armed in the past");
                timer = t->deadline;
                ++timer_arms;
            } else if (auto* m = std::get_if<MessageReceived>(&e)) {
                messages.push_back(std::move(m->publish));
            } else if (auto* p = std::get_if<PublishCompleted>(&e)) {
                published.push_back(*p);
            } else if (auto* sc = std::get_if<SubscribeCompleted>(&e)) {
                subscribed.push_back(std::move(*sc));
            } else if (auto* uc = std::get_if<UnsubscribeCompleted>(&e)) {
                unsubscribed.push_back(std::move(*uc));
            } else if (auto* c = std::get_if<Connected>(&e)) {
                connected.push_back(std::move(*c));
            } else if (auto* d = std::get_if<Disconnected>(&e)) {
                disconnected.push_back(std::move(*d));
            }
        }
    }

    void start() { apply(client.start(now)); }

    /// Answers the pending OpenTransport: the transport is up.
    void up() {
        BOOST_REQUIRE_MESSAGE(open_requested, "no OpenTransport to answer");
        BOOST_REQUIRE_MESSAGE(wire.empty(),
                              "the test left bytes of the previous transport untaken");
        open_requested = false;
        transport_open = true;
        expect_connect = true;
        apply(client.transport_up(now));
    }

    /// Answers the pending OpenTransport: refused.
    void fail_open() {
        BOOST_REQUIRE(open_requested);
        open_requested = false;
        apply(client.transport_failed(now));
    }

    /// The transport dies under the client (EOF, reset).
    void drop() {
        BOOST_REQUIRE(transport_open);
        transport_open = false;
        apply(client.transport_closed(now));
    }

    /// Decodes and removes every complete packet the client wrote.
    std::vector<Packet> take() {
        std::vector<Packet> out;
        std::size_t at = 0;
        while (true) {
            const std::string_view rest = std::string_view(wire).substr(at);
            const Frame f = read_frame(rest, remaining_length_max);
            if (f.status != FrameStatus::complete || rest.size() < f.total_bytes()) {
                BOOST_REQUIRE(f.status == FrameStatus::complete ||
                              f.status == FrameStatus::incomplete);
                break;
            }
            const std::string_view body = rest.substr(f.header_bytes, f.remaining_length);
            if (expect_connect) {
                auto c = decode_connect(f.first_byte, body);
                BOOST_REQUIRE_MESSAGE(c.ok(), "the first packet is not a valid CONNECT: "
                                                  << (c.ok() ? "" : c.error().message));
                out.emplace_back(std::move(c).value());
                expect_connect = false;
            } else {
                auto r = decode(version(), f.first_byte, body);
                BOOST_REQUIRE_MESSAGE(r.ok(), "the client wrote an undecodable packet: "
                                                  << (r.ok() ? "" : r.error().message));
                out.push_back(std::move(r).value());
            }
            at += f.total_bytes();
        }
        wire.erase(0, at);
        BOOST_REQUIRE_MESSAGE(wire.empty(), "a partial packet was written");
        return out;
    }

    /// Takes the packets of type T; packets of other types are discarded.
    template <class T>
    std::vector<T> take_all() {
        std::vector<T> out;
        for (Packet& p : take()) {
            if (auto* t = std::get_if<T>(&p)) {
                out.push_back(std::move(*t));
            }
        }
        return out;
    }

    Connect take_connect() {
        auto packets = take();
        BOOST_REQUIRE_EQUAL(packets.size(), 1U);
        BOOST_REQUIRE(std::holds_alternative<Connect>(packets[0]));
        return std::get<Connect>(packets[0]);
    }

    void send_raw(std::string_view bytes) { apply(client.receive(bytes, now)); }

    void send(const Packet& p) {
        std::string bytes;
        encode(p, version(), bytes);
        send_raw(bytes);
    }

    void connack(bool session_present = false, std::uint8_t reason = 0, Properties props = {}) {
        send(Connack{session_present, reason, std::move(props)});
    }

    /// Runs the client to connected: start (or wait out a back-off), transport up, CONNECT,
    /// CONNACK. Returns the CONNECT it sent.
    Connect establish(bool session_present = false, Properties connack_props = {}) {
        if (client.state() == ClientState::idle || client.state() == ClientState::stopped) {
            start();
        }
        advance_until_open();
        up();
        Connect c = take_connect();
        connack(session_present, 0, std::move(connack_props));
        BOOST_REQUIRE(client.state() == ClientState::connected);
        return c;
    }

    /// Advances virtual time, firing the client's timer whenever it is due.
    void advance(Duration d) {
        const Instant until = now.monotonic + d;
        while (timer && *timer <= until) {
            const Duration step = *timer - now.monotonic;
            now.monotonic = *timer;
            now.wall.since_unix_epoch += step;
            timer.reset();
            apply(client.timer_fired(now));
        }
        now.wall.since_unix_epoch += until - now.monotonic;
        now.monotonic = until;
    }

    /// Advances until the client asks for a transport (the end of a back-off); returns the wait.
    Duration advance_until_open(Duration limit = minutes(10)) {
        const Instant from = now.monotonic;
        while (!open_requested) {
            BOOST_REQUIRE_MESSAGE(timer.has_value(), "the client waits for nothing");
            BOOST_REQUIRE_MESSAGE(*timer - from <= limit, "no reconnect within the limit");
            advance(*timer - now.monotonic);
        }
        return now.monotonic - from;
    }

    std::uint64_t publish(std::string topic, std::string payload, QoS qos, bool retain = false,
                          Properties props = {}) {
        ClientEffects fx;
        const std::uint64_t token = client.publish(topic, payload, qos, retain, now, fx, &props);
        apply(std::move(fx));
        return token;
    }

    std::uint64_t subscribe(std::vector<SubscribeEntry> entries) {
        ClientEffects fx;
        const std::uint64_t token = client.subscribe(std::move(entries), now, fx);
        apply(std::move(fx));
        return token;
    }

    std::uint64_t unsubscribe(std::vector<std::string> filters) {
        ClientEffects fx;
        const std::uint64_t token = client.unsubscribe(std::move(filters), now, fx);
        apply(std::move(fx));
        return token;
    }

    void disconnect() { apply(client.disconnect(now)); }

    void puback(std::uint16_t id, ReasonCode reason = ReasonCode::success) {
        send(Ack{PacketType::puback, id, reason, {}});
    }
};

}  // namespace iotsim::client_test
