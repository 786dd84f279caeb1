// Interoperability: Clients wired to the real Sans-I/O Broker in-process, on one manual clock,
// through a zero-latency in-order "network" that a test can partition (bytes lost both ways,
// neither side told) or cut (both sides see the close).
#include "client_harness.hpp"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "iotsim/broker/broker.hpp"

using namespace iotsim;
using namespace iotsim::client_test;
namespace br = iotsim::broker;

namespace {

/// Allows everything unless a test refuses connections.
class SwitchAuthorizer final : public br::Authorizer {
public:
    bool refuse_connect = false;
    br::ConnectDecision authorize_connect(const br::PeerIdentity&, const Connect&) override {
        return refuse_connect ? br::ConnectDecision::not_authorized : br::ConnectDecision::allow;
    }
    bool authorize_publish(const br::ClientContext&, std::string_view, bool) override {
        return true;
    }
    bool authorize_subscribe(const br::ClientContext&, std::string_view) override { return true; }
    bool authorize_receive(const br::ClientContext&, std::string_view) override { return true; }
};

struct Device {
    Device(ClientOptions options, Rng rng) : client(std::move(options), rng) {}
    Client client;
    std::optional<Instant> timer;
    std::optional<br::ConnectionId> connection;  // the transport, once up
    bool opening = false;                        // OpenTransport not yet carried out
    bool partitioned = false;
    std::vector<Publish> messages;
    std::vector<PublishCompleted> published;
    std::vector<SubscribeCompleted> subscribed;
    std::vector<Connected> connected;
    std::vector<Disconnected> disconnected;
};

class Link {
public:
    explicit Link(br::BrokerConfig config = {})
        : broker(std::move(config), br::BrokerServices{auth, store, broker_rng}) {
        apply(broker.recover(now));
        run();
    }

    SwitchAuthorizer auth;
    br::MemoryStore store;
    Rng broker_rng{0xb0b};
    br::Broker broker;
    Now now{Instant{seconds(1'000)}, WallTime{seconds(1'700'000'000)}};
    std::optional<Instant> broker_timer;
    std::vector<br::Event> events;
    std::map<std::string, std::unique_ptr<Device>> devices;  // by name: a deterministic order
    std::map<std::uint64_t, Device*> by_connection;
    std::set<std::uint64_t> closed_by_broker;
    std::uint64_t next_connection = 1;
    std::deque<std::function<void()>> network;  // deliveries in flight, in order

    Device& add(const std::string& name, ClientOptions options) {
        auto d = std::make_unique<Device>(std::move(options), Rng::derive(0x5eed, name));
        Device& ref = *d;
        devices.emplace(name, std::move(d));
        return ref;
    }

    void start(Device& d) {
        apply(d, d.client.start(now));
        run();
    }

    std::uint64_t publish(Device& d, std::string topic, std::string payload, QoS qos) {
        ClientEffects fx;
        const std::uint64_t token =
            d.client.publish(std::move(topic), std::move(payload), qos, false, now, fx);
        apply(d, std::move(fx));
        run();
        return token;
    }

    void subscribe(Device& d, std::vector<SubscribeEntry> entries) {
        ClientEffects fx;
        (void)d.client.subscribe(std::move(entries), now, fx);
        apply(d, std::move(fx));
        run();
    }

    /// The transport breaks and both ends see it (a reset).
    void cut(Device& d) {
        BOOST_REQUIRE(d.connection.has_value());
        const br::ConnectionId c = *d.connection;
        forget(d);
        apply(broker.closed(c, now));
        apply(d, d.client.transport_closed(now));
        run();
    }

    /// Carries out the effects of one client input.
    void apply(Device& d, ClientEffects fx) {
        for (ClientEffect& e : fx) {
            if (std::holds_alternative<OpenTransport>(e)) {
                BOOST_REQUIRE(!d.opening && !d.connection);
                d.opening = true;
                network.emplace_back([this, &d] { open(d); });
            } else if (auto* s = std::get_if<SendBytes>(&e)) {
                BOOST_REQUIRE_MESSAGE(d.connection.has_value(), "SendBytes without a transport");
                if (!d.partitioned) {
                    const br::ConnectionId c = *d.connection;
                    network.emplace_back([this, c, bytes = std::move(s->bytes)] {
                        if (!closed_by_broker.contains(c.value)) {
                            apply(broker.receive(c, bytes, now));
                        }
                    });
                }
            } else if (std::holds_alternative<CloseTransport>(e)) {
                d.opening = false;
                if (d.connection) {
                    const br::ConnectionId c = *d.connection;
                    forget(d);
                    if (!d.partitioned) {  // under a partition the FIN is lost too
                        network.emplace_back([this, c] {
                            if (!closed_by_broker.contains(c.value)) {
                                apply(broker.closed(c, now));
                            }
                        });
                    }
                }
            } else if (auto* t = std::get_if<ArmTimer>(&e)) {
                d.timer = t->deadline;
            } else if (auto* m = std::get_if<MessageReceived>(&e)) {
                d.messages.push_back(std::move(m->publish));
            } else if (auto* p = std::get_if<PublishCompleted>(&e)) {
                d.published.push_back(*p);
            } else if (auto* sc = std::get_if<SubscribeCompleted>(&e)) {
                d.subscribed.push_back(std::move(*sc));
            } else if (auto* cn = std::get_if<Connected>(&e)) {
                d.connected.push_back(std::move(*cn));
            } else if (auto* dc = std::get_if<Disconnected>(&e)) {
                d.disconnected.push_back(std::move(*dc));
            }
        }
    }

    /// Carries out the broker's effects.
    void apply(br::Effects fx) {
        for (br::Effect& e : fx) {
            if (auto* s = std::get_if<br::Send>(&e)) {
                const br::ConnectionId c = s->connection;
                auto more = broker.drained(c, s->bytes.size(), now);  // the network writes at once
                auto it = by_connection.find(c.value);
                if (it != by_connection.end() && !it->second->partitioned) {
                    Device* d = it->second;
                    network.emplace_back([this, d, c, bytes = std::move(s->bytes)] {
                        if (d->connection == c) {
                            apply(*d, d->client.receive(bytes, now));
                        }
                    });
                }
                apply(std::move(more));
            } else if (auto* cl = std::get_if<br::Close>(&e)) {
                closed_by_broker.insert(cl->connection.value);
                auto it = by_connection.find(cl->connection.value);
                if (it != by_connection.end()) {
                    Device* d = it->second;
                    if (!d->partitioned) {
                        const br::ConnectionId c = cl->connection;
                        network.emplace_back([this, d, c] {
                            if (d->connection == c) {
                                forget(*d);
                                apply(*d, d->client.transport_closed(now));
                            }
                        });
                    }
                }
            } else if (auto* t = std::get_if<br::ArmTimer>(&e)) {
                broker_timer = t->deadline;
            } else if (auto* ev = std::get_if<br::Event>(&e)) {
                BOOST_CHECK_MESSAGE(ev->severity != br::Severity::error,
                                    "error event: " + ev->kind + " " + ev->detail);
                events.push_back(*ev);
            }
        }
    }

    void run() {
        while (!network.empty()) {
            auto deliver = std::move(network.front());
            network.pop_front();
            deliver();
        }
    }

    /// Advances virtual time, firing the broker's and the devices' timers in deadline order
    /// (the broker first on a tie, then devices by name).
    void advance(Duration d) {
        const Instant until = now.monotonic + d;
        while (true) {
            std::optional<Instant>* next = nullptr;
            Device* device = nullptr;
            if (broker_timer && *broker_timer <= until) {
                next = &broker_timer;
            }
            for (auto& [name, dev] : devices) {
                if (dev->timer && *dev->timer <= until &&
                    (next == nullptr || *dev->timer < **next)) {
                    next = &dev->timer;
                    device = dev.get();
                }
            }
            if (next == nullptr) {
                break;
            }
            now.wall.since_unix_epoch += **next - now.monotonic;
            now.monotonic = **next;
            next->reset();
            if (device == nullptr) {
                apply(broker.timer_fired(now));
            } else {
                apply(*device, device->client.timer_fired(now));
            }
            run();
        }
        now.wall.since_unix_epoch += until - now.monotonic;
        now.monotonic = until;
    }

private:
    void open(Device& d) {
        if (!d.opening) {
            return;  // cancelled by a CloseTransport
        }
        d.opening = false;
        if (d.partitioned) {
            apply(d, d.client.transport_failed(now));
            return;
        }
        const br::ConnectionId c{next_connection++};
        d.connection = c;
        by_connection[c.value] = &d;
        br::PeerIdentity peer;
        peer.transport = br::Transport::simulated;
        peer.address = "192.0.2.7";
        peer.principal = "device";
        apply(broker.accept(c, peer, now));
        apply(d, d.client.transport_up(now));
    }

    void forget(Device& d) {
        by_connection.erase(d.connection->value);
        d.connection.reset();
    }
};

std::vector<std::string> payloads(const std::vector<Publish>& messages) {
    std::vector<std::string> out;
    for (const auto& m : messages) {
        out.push_back(m.payload);
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(client_broker_interop)

BOOST_AUTO_TEST_CASE(
    devices_connect_subscribe_and_exchange_qos0_and_qos1_messages_through_the_broker) {
    for (const Version v : {Version::v311, Version::v5}) {
        BOOST_TEST_MESSAGE("protocol level " << static_cast<int>(v));
        Link link;
        Device& app = link.add("app", {.client_id = "app", .version = v});
        Device& sensor = link.add("sensor", {.client_id = "sensor", .version = v});
        link.start(app);
        link.start(sensor);
        BOOST_REQUIRE_EQUAL(app.connected.size(), 1U);
        BOOST_REQUIRE_EQUAL(sensor.connected.size(), 1U);
        BOOST_TEST(app.client.state() == ClientState::connected);

        link.subscribe(app, {entry("sensors/#")});
        BOOST_REQUIRE_EQUAL(app.subscribed.size(), 1U);
        BOOST_TEST(app.subscribed[0].reasons == (std::vector<std::uint8_t>{0x01}));
        BOOST_TEST(link.broker.session("app")->subscriptions.at(0).filter == "sensors/#");

        link.publish(sensor, "sensors/t1", "21.5", QoS::at_most_once);
        link.publish(sensor, "sensors/t1", "22.0", QoS::at_least_once);
        BOOST_REQUIRE_EQUAL(sensor.published.size(), 2U);
        BOOST_TEST(sensor.published[1].reason == ReasonCode::success);
        BOOST_TEST(!sensor.published[1].dropped);
        BOOST_TEST(sensor.client.inflight() == 0U);
        BOOST_TEST(payloads(app.messages) == (std::vector<std::string>{"21.5", "22.0"}));
        BOOST_TEST(app.messages[1].qos == QoS::at_least_once);
        BOOST_TEST(link.broker.session("app")->inflight == 0U);  // the app's PUBACK arrived
        BOOST_TEST(link.broker.stats().protocol_errors == 0U);
        BOOST_TEST(app.client.stats().protocol_errors == 0U);
    }
}

BOOST_AUTO_TEST_CASE(persistent_session_messages_are_redelivered_after_a_transport_drop) {
    Link link;
    Device& app = link.add("app", {.client_id = "app", .clean_start = false});
    Device& sensor = link.add("sensor", {.client_id = "sensor"});
    link.start(app);
    link.start(sensor);
    link.subscribe(app, {entry("cmd/app")});
    link.cut(app);
    BOOST_TEST(app.client.state() == ClientState::backing_off);
    for (const char* p : {"1", "2", "3"}) {
        link.publish(sensor, "cmd/app", p, QoS::at_least_once);
    }
    BOOST_TEST(link.broker.session("app")->queued == 3U);
    link.advance(minutes(2));
    BOOST_REQUIRE_EQUAL(app.connected.size(), 2U);
    BOOST_TEST(app.connected[1].session_present);
    BOOST_TEST(app.client.stats().resubscribes == 0U);  // the session kept the subscription
    BOOST_TEST(payloads(app.messages) == (std::vector<std::string>{"1", "2", "3"}));
    BOOST_TEST(link.broker.session("app")->queued == 0U);
    BOOST_TEST(link.broker.session("app")->inflight == 0U);
}

BOOST_AUTO_TEST_CASE(clean_session_reconnect_resubscribes_and_delivery_resumes) {
    Link link;
    Device& app = link.add("app", {.client_id = "app", .version = Version::v5});
    Device& sensor = link.add("sensor", {.client_id = "sensor", .version = Version::v5});
    link.start(app);
    link.start(sensor);
    link.subscribe(app, {entry("a/#"), entry("b")});
    link.cut(app);
    link.advance(minutes(2));
    BOOST_REQUIRE_EQUAL(app.connected.size(), 2U);
    BOOST_TEST(!app.connected[1].session_present);
    BOOST_TEST(app.client.stats().resubscribes == 1U);
    BOOST_TEST(link.broker.session("app")->subscriptions.size() == 2U);
    link.publish(sensor, "a/x", "after", QoS::at_least_once);
    BOOST_TEST(payloads(app.messages) == (std::vector<std::string>{"after"}));
}

BOOST_AUTO_TEST_CASE(keep_alive_pingreqs_are_answered_by_the_broker) {
    for (const Version v : {Version::v311, Version::v5}) {
        Link link;
        Device& d = link.add("d", {.client_id = "d", .version = v, .keep_alive_s = 30});
        link.start(d);
        link.advance(minutes(10));
        BOOST_TEST(d.client.state() == ClientState::connected);
        BOOST_TEST(d.disconnected.empty());
        BOOST_TEST(d.client.stats().pings_sent == 20U);
        BOOST_TEST(link.broker.connection_count() == 1U);
    }
}

BOOST_AUTO_TEST_CASE(partition_is_detected_by_keep_alive_and_the_device_reconnects_after_it_heals) {
    Link link;
    Device& d = link.add("d", {.client_id = "d", .keep_alive_s = 60});
    link.start(d);
    d.partitioned = true;
    link.advance(seconds(90));  // PINGREQ at 60 s, no PINGRESP by 90 s
    BOOST_REQUIRE_EQUAL(d.disconnected.size(), 1U);
    BOOST_TEST(d.disconnected[0].cause == DisconnectCause::keep_alive_timeout);
    link.advance(minutes(5));  // attempts fail while the partition lasts
    BOOST_TEST(d.client.stats().transport_failures >= 3U);
    BOOST_TEST(link.broker.connection_count() == 0U);  // the broker gave up at 1.5 x keep-alive
    d.partitioned = false;
    link.advance(minutes(2));
    BOOST_TEST(d.client.state() == ClientState::connected);
    BOOST_TEST(link.broker.connection_count() == 1U);
}

BOOST_AUTO_TEST_CASE(qos1_publish_lost_in_a_partition_is_resent_and_delivered_once_it_heals) {
    Link link;
    Device& app = link.add("app", {.client_id = "app"});
    Device& sensor = link.add("sensor", {.client_id = "sensor", .ack_timeout = seconds(20)});
    link.start(app);
    link.start(sensor);
    link.subscribe(app, {entry("data/#")});
    sensor.partitioned = true;
    const std::uint64_t token = link.publish(sensor, "data/1", "lost?", QoS::at_least_once);
    link.advance(seconds(20));
    BOOST_REQUIRE_EQUAL(sensor.disconnected.size(), 1U);
    BOOST_TEST(sensor.disconnected[0].cause == DisconnectCause::ack_timeout);
    link.advance(minutes(3));
    BOOST_TEST(app.messages.empty());
    sensor.partitioned = false;
    link.advance(minutes(2));
    BOOST_TEST(sensor.client.state() == ClientState::connected);
    BOOST_REQUIRE_EQUAL(sensor.published.size(), 1U);
    BOOST_TEST(sensor.published[0].token == token);
    BOOST_TEST(sensor.published[0].reason == ReasonCode::success);
    BOOST_TEST(sensor.client.stats().publishes_resent == 1U);
    BOOST_TEST(payloads(app.messages) == (std::vector<std::string>{"lost?"}));
}

BOOST_AUTO_TEST_CASE(will_in_connect_is_published_by_the_broker_when_the_device_vanishes) {
    Link link;
    Device& app = link.add("app", {.client_id = "app"});
    Device& d = link.add("d", {.client_id = "d",
                               .keep_alive_s = 60,
                               .will = Will{"status/d", "offline", QoS::at_least_once, false, {}}});
    link.start(app);
    link.start(d);
    link.subscribe(app, {entry("status/#")});
    d.partitioned = true;
    link.advance(seconds(91));  // the broker's 1.5 x keep-alive
    BOOST_TEST(payloads(app.messages) == (std::vector<std::string>{"offline"}));
}

BOOST_AUTO_TEST_CASE(graceful_disconnect_suppresses_the_will) {
    Link link;
    Device& app = link.add("app", {.client_id = "app", .version = Version::v5});
    Device& d = link.add("d", {.client_id = "d",
                               .version = Version::v5,
                               .will = Will{"status/d", "offline", QoS::at_least_once, false, {}}});
    link.start(app);
    link.start(d);
    link.subscribe(app, {entry("status/#")});
    link.apply(d, d.client.disconnect(link.now));
    link.run();
    link.advance(minutes(5));
    BOOST_TEST(app.messages.empty());
    BOOST_TEST(link.broker.connection_count() == 1U);
}

BOOST_AUTO_TEST_CASE(broker_receive_maximum_bounds_the_devices_window) {
    Link link;
    Device& d = link.add("d", {.client_id = "d", .version = Version::v5, .inflight_max = 500});
    link.start(d);
    BOOST_REQUIRE(d.connected.at(0).connack.properties.receive_maximum.has_value());
    ClientEffects fx;
    for (int i = 0; i < 150; ++i) {
        (void)d.client.publish("t/" + std::to_string(i % 3), std::to_string(i), QoS::at_least_once,
                               false, link.now, fx);
    }
    BOOST_TEST(d.client.inflight() == 100U);  // AWS's (and the broker's) Receive Maximum
    BOOST_TEST(d.client.queued() == 50U);
    link.apply(d, std::move(fx));
    link.run();
    BOOST_TEST(d.published.size() == 150U);
    BOOST_TEST(d.client.stats().publishes_acked == 150U);
    BOOST_TEST(link.broker.stats().publishes_received == 150U);
    BOOST_TEST(link.broker.stats().protocol_errors == 0U);
}

BOOST_AUTO_TEST_CASE(second_device_with_the_same_client_id_takes_over_with_0x8E) {
    Link link;
    Device& first = link.add("first", {.client_id = "twin", .version = Version::v5});
    Device& second = link.add("second", {.client_id = "twin", .version = Version::v5});
    link.start(first);
    link.start(second);
    BOOST_REQUIRE_EQUAL(first.disconnected.size(), 1U);
    BOOST_TEST(first.disconnected[0].cause == DisconnectCause::server_disconnect);
    BOOST_TEST(first.disconnected[0].code == 0x8E);
    BOOST_TEST(first.client.state() == ClientState::backing_off);
    BOOST_TEST(second.client.state() == ClientState::connected);
}

BOOST_AUTO_TEST_CASE(broker_assigned_client_identifier_is_adopted) {
    Link link;
    Device& d = link.add("d", {.client_id = "", .version = Version::v5});
    link.start(d);
    BOOST_REQUIRE(d.client.state() == ClientState::connected);
    BOOST_TEST(!d.client.client_id().empty());
    BOOST_TEST(link.broker.session(d.client.client_id()).has_value());
}

BOOST_AUTO_TEST_CASE(refused_device_keeps_retrying_and_connects_once_allowed) {
    Link link;
    link.auth.refuse_connect = true;
    Device& d = link.add("d", {.client_id = "d", .version = Version::v5});
    link.start(d);
    link.advance(minutes(5));
    BOOST_TEST(d.client.stats().connects_refused >= 5U);
    BOOST_TEST(d.disconnected.at(0).reason ==
               "CONNACK 0x87 Not authorized: not authorized to connect");
    link.auth.refuse_connect = false;
    link.advance(minutes(2));
    BOOST_TEST(d.client.state() == ClientState::connected);
}

BOOST_AUTO_TEST_CASE(refused_v311_device_sees_the_close_without_connack_and_keeps_retrying) {
    // AWS closes a 3.1.1 connection it does not authorise without a CONNACK.
    Link link;
    link.auth.refuse_connect = true;
    Device& d = link.add("d", {.client_id = "d"});
    link.start(d);
    link.advance(minutes(5));
    BOOST_TEST(d.client.stats().connect_attempts >= 5U);
    BOOST_TEST(d.disconnected.at(0).cause == DisconnectCause::transport_closed);
    BOOST_TEST(!d.disconnected.at(0).was_connected);
}

BOOST_AUTO_TEST_SUITE_END()
