#pragma once

// A test host for the Sans-I/O broker: it plays the network host's role with an in-memory
// "network", a manual clock and a MemoryStore, so every broker rule can be checked byte-exactly
// and at any point in (virtual) time.

#include <boost/test/unit_test.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <type_traits>

#include "iotsim/broker/broker.hpp"
#include "iotsim/iotcore/iotcore.hpp"
#include "iotsim/mqtt/codec.hpp"

namespace iotsim::test {

using namespace iotsim::broker;
using namespace iotsim::mqtt;

/// An authorizer whose answers tests set: deny lists by client id, topic and filter.
class ScriptedAuthorizer final : public Authorizer {
public:
    std::vector<std::string> deny_connect_client_ids;
    std::vector<std::string> deny_publish_topics;
    std::vector<std::string> deny_subscribe_filters;
    std::vector<std::string> deny_receive_topics;

    ConnectDecision authorize_connect(const PeerIdentity&, const Connect& c) override {
        return contains(deny_connect_client_ids, c.client_id) ? ConnectDecision::not_authorized : ConnectDecision::allow;
    }
    bool authorize_publish(const ClientContext&, std::string_view topic, bool) override {
        return !contains(deny_publish_topics, topic);
    }
    bool authorize_subscribe(const ClientContext&, std::string_view filter) override {
        return !contains(deny_subscribe_filters, filter);
    }
    bool authorize_receive(const ClientContext&, std::string_view topic) override {
        return !contains(deny_receive_topics, topic);
    }

private:
    static bool contains(const std::vector<std::string>& v, std::string_view s) {
        for (const auto& x : v) {
            if (x == s) {
                return true;
            }
        }
        return false;
    }
};

struct Peer {
    Version version = Version::v311;
    std::string inbox;  // bytes the broker sent, not yet taken
    bool closed = false;
};

/// Drives a bare Broker (the broker's tests) or an IotCore, the broker with its services (the
/// composition's tests); both take the same inputs and give the same effects.
template <class Core>
class BasicHarness {
public:
    explicit BasicHarness(BrokerConfig config = {}) : config_(std::move(config)) { start(); }

    BrokerConfig config_;
    ScriptedAuthorizer auth;
    MemoryStore store;
    shadow::MemoryShadowStore shadow_store;  // IotCore only
    Rng rng{0x5eed};
    std::unique_ptr<Core> broker;
    Now now{Instant{seconds(1'000)}, WallTime{seconds(1'700'000'000)}};
    std::map<std::uint64_t, Peer> peers;
    std::vector<Event> events;
    std::optional<Instant> timer;
    std::vector<Dispatch> dispatched;  // listener deliveries (a bare Broker with listeners)
    std::uint64_t next_connection = 1;
    bool auto_drain = true;  // false: the network never writes (a peer that does not read)

    void start() {
        if constexpr (std::is_same_v<Core, Broker>) {
            broker = std::make_unique<Broker>(config_, BrokerServices{auth, store, rng});
        } else {
            iotcore::IotCoreConfig config;
            config.broker = config_;
            broker = std::make_unique<Core>(std::move(config),
                                            iotcore::IotCoreServices{auth, store, shadow_store, rng});
        }
        apply(broker->recover(now));
    }

    /// Simulates a crash: the broker object is destroyed without shutdown; the store survives.
    void crash_and_restart() {
        broker.reset();
        for (auto& [id, p] : peers) {
            p.closed = true;
        }
        timer.reset();
        start();
    }

    void apply(Effects fx) {
        for (auto& e : fx) {
            if (auto* s = std::get_if<Send>(&e)) {
                BOOST_REQUIRE_MESSAGE(!peers[s->connection.value].closed, "Send after Close");
                peers[s->connection.value].inbox += s->bytes;
                if (auto_drain) {
                    // The harness's network writes everything at once.
                    auto more = broker->drained(s->connection, s->bytes.size(), now);
                    apply(std::move(more));
                }
            } else if (auto* c = std::get_if<Close>(&e)) {
                peers[c->connection.value].closed = true;
            } else if (auto* t = std::get_if<ArmTimer>(&e)) {
                timer = t->deadline;
            } else if (auto* ev = std::get_if<Event>(&e)) {
                BOOST_CHECK_MESSAGE(ev->severity != Severity::error, "error event: " + ev->kind + " " + ev->detail);
                events.push_back(*ev);
            } else if (auto* d = std::get_if<Dispatch>(&e)) {
                dispatched.push_back(*d);
            }
        }
    }

    ConnectionId open(PeerIdentity peer = {}) {
        const ConnectionId id{next_connection++};
        if (peer.address.empty()) {
            peer.address = "192.0.2.1";
            peer.principal = "test-principal";
        }
        peers[id.value] = Peer{};
        apply(broker->accept(id, std::move(peer), now));
        return id;
    }

    void send_raw(ConnectionId id, std::string_view bytes) { apply(broker->receive(id, bytes, now)); }

    void send(ConnectionId id, const Packet& p) {
        std::string bytes;
        encode(p, peers[id.value].version, bytes);
        send_raw(id, bytes);
    }

    /// Decodes and removes every complete packet the broker sent to `id`.
    std::vector<Packet> take(ConnectionId id) {
        Peer& peer = peers[id.value];
        std::vector<Packet> out;
        std::size_t at = 0;
        while (true) {
            const Frame f = read_frame(std::string_view(peer.inbox).substr(at), remaining_length_max);
            if (f.status != FrameStatus::complete || peer.inbox.size() - at < f.total_bytes()) {
                break;
            }
            auto r = decode(peer.version, f.first_byte, std::string_view(peer.inbox).substr(at + f.header_bytes, f.remaining_length));
            BOOST_REQUIRE_MESSAGE(r.ok(), "broker sent an undecodable packet: " << (r.ok() ? "" : r.error().message));
            out.push_back(std::move(r).value());
            at += f.total_bytes();
        }
        peer.inbox.erase(0, at);
        return out;
    }

    /// Takes the packets of type T; packets of other types stay in the inbox, in order.
    template <class T>
    std::vector<T> take_all(ConnectionId id) {
        std::vector<T> out;
        std::string rest;
        for (auto& p : take(id)) {
            if (auto* t = std::get_if<T>(&p)) {
                out.push_back(std::move(*t));
            } else {
                encode(p, peers[id.value].version, rest);
            }
        }
        peers[id.value].inbox = rest + peers[id.value].inbox;
        return out;
    }

    /// Opens a connection and completes CONNECT/CONNACK; returns the connection.
    ConnectionId connect(const std::string& client_id, Version v = Version::v311, bool clean = true,
                         std::optional<Will> will = std::nullopt, Properties props = {}, std::uint16_t keep_alive = 60) {
        const ConnectionId id = open();
        peers[id.value].version = v;
        Connect c;
        c.version = v;
        c.client_id = client_id;
        c.clean_start = clean;
        c.keep_alive = keep_alive;
        c.will = std::move(will);
        c.properties = std::move(props);
        send(id, c);
        auto packets = take(id);
        BOOST_REQUIRE_MESSAGE(!packets.empty() && std::holds_alternative<Connack>(packets.front()), "no CONNACK for " + client_id);
        BOOST_REQUIRE_EQUAL(std::get<Connack>(packets.front()).reason, 0);
        last_connack = std::get<Connack>(packets.front());
        // Keep anything after the CONNACK (queued messages) for the test to take.
        std::string rest;
        for (std::size_t i = 1; i < packets.size(); ++i) {
            encode(packets[i], v, rest);
        }
        peers[id.value].inbox = rest + peers[id.value].inbox;
        return id;
    }

    Connack last_connack;

    void subscribe(ConnectionId id, const std::string& filter, QoS qos = QoS::at_least_once, std::uint16_t packet_id = 1) {
        Subscribe s;
        s.packet_id = packet_id;
        s.entries.push_back({filter, SubscribeOptions{qos, false, false, 0}});
        send(id, s);
        auto acks = take_all<Suback>(id);
        BOOST_REQUIRE_EQUAL(acks.size(), 1U);
        BOOST_REQUIRE_EQUAL(acks[0].reasons.size(), 1U);
        BOOST_REQUIRE_LT(acks[0].reasons[0], 0x80);
    }

    void publish(ConnectionId id, const std::string& topic, const std::string& payload, QoS qos = QoS::at_most_once,
                 bool retain = false, std::uint16_t packet_id = 0, Properties props = {}) {
        Publish p;
        p.topic = topic;
        p.payload = payload;
        p.qos = qos;
        p.retain = retain;
        p.packet_id = qos == QoS::at_most_once ? 0 : (packet_id == 0 ? next_packet_id++ : packet_id);
        p.properties = std::move(props);
        send(id, p);
    }
    std::uint16_t next_packet_id = 100;

    void disconnect(ConnectionId id) { send(id, Disconnect{}); }

    /// Advances virtual time, firing the broker's timer whenever it is due.
    void advance(Duration d) {
        const Instant until = now.monotonic + d;
        while (timer && *timer <= until) {
            const Duration step = *timer - now.monotonic;
            now.monotonic = *timer;
            now.wall.since_unix_epoch += step;
            timer.reset();
            apply(broker->timer_fired(now));
        }
        now.wall.since_unix_epoch += until - now.monotonic;
        now.monotonic = until;
    }

    bool closed(ConnectionId id) { return peers[id.value].closed; }

    /// Publishes received by `id`, as (topic, payload) pairs, acknowledging QoS 1 ones.
    std::vector<Publish> received(ConnectionId id, bool ack = true) {
        auto pubs = take_all<Publish>(id);
        if (ack) {
            for (const auto& p : pubs) {
                if (p.qos == QoS::at_least_once) {
                    send(id, Ack{PacketType::puback, p.packet_id, ReasonCode::success, {}});
                }
            }
        }
        return pubs;
    }
};

using Harness = BasicHarness<Broker>;

}  // namespace iotsim::test
