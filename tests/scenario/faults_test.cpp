// Scenario tests: the real broker and virtual devices under faults, in virtual time.
#include "sim_fixture.hpp"

#include <nlohmann/json.hpp>

using namespace iotsim;
using namespace iotsim::test;
using sim::FaultKind;

BOOST_AUTO_TEST_SUITE(scenario_faults)

BOOST_AUTO_TEST_CASE(qos1_redelivered_after_partition_heals) {
    // Goal: an acknowledged QoS 1 command reaches a device with a persistent session even though
    // it was cut off when the command was sent.
    // Method: partition the lamp for 90 s while the app publishes every 5 s; check every
    // acknowledged command arrived once the partition healed, in order.
    const auto seed = test_seed(7);
    sim::SimulationOptions o;
    o.seed = seed;
    o.link.latency = {sim::LatencyModel::Kind::normal, milliseconds(30), milliseconds(5), 0};
    o.link.loss_probability = 0.01;
    o.link.split_probability = 0.2;
    o.check_qos1_delivered = {{"app", "lamp"}};
    sim::Simulation s(o);
    auto lamp = device("lamp", mqtt::Version::v5);
    lamp.client.clean_start = false;
    lamp.client.session_expiry_s = 3600;
    lamp.subscribe = {{"home/lamp/cmd", {mqtt::QoS::at_least_once}}};
    s.add_device(lamp);
    auto app = device("app");
    app.publish = plan("home/lamp/cmd", seconds(5), mqtt::QoS::at_least_once);
    s.add_device(app);
    s.add_fault({FaultKind::partition, Instant{seconds(60)}, {"lamp"}, seconds(90), {}, {}, 0});
    s.run_until(Instant{seconds(140)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(s.received("lamp").size() < 30U);  // the partition really held messages back
    }
    s.run_until(Instant{minutes(5)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(s.device("app")->acked == 60U);
        BOOST_TEST(s.received("lamp").size() >= 60U);
        BOOST_TEST(s.device("lamp")->disconnects >= 1U);  // keep-alive ended the half-open link
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(qos0_messages_sent_during_a_partition_are_lost_but_qos1_are_not) {
    // Goal: the difference between QoS 0 and QoS 1 across a partition that outlives keep-alive.
    // Method: two publishers, QoS 0 and QoS 1, to a persistent subscriber cut off for 2 minutes.
    const auto seed = test_seed(11);
    sim::SimulationOptions o;
    o.seed = seed;
    sim::Simulation s(o);
    auto sub = device("sub");
    sub.client.clean_start = false;
    sub.subscribe = {{"q0", {mqtt::QoS::at_least_once}}, {"q1", {mqtt::QoS::at_least_once}}};
    s.add_device(sub);
    auto p0 = device("p0");
    p0.publish = plan("q0", seconds(1), mqtt::QoS::at_most_once);
    s.add_device(p0);
    auto p1 = device("p1");
    p1.publish = plan("q1", seconds(1), mqtt::QoS::at_least_once);
    s.add_device(p1);
    s.add_fault({FaultKind::partition, Instant{seconds(30)}, {"sub"}, minutes(2), {}, {}, 0});
    s.run_until(Instant{minutes(4)});
    std::size_t got0 = 0;
    std::size_t got1 = 0;
    for (const auto& [topic, payload] : s.received("sub")) {
        (topic == "q0" ? got0 : got1) += 1;
    }
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(got1 >= s.device("p1")->acked);
        BOOST_TEST(got0 + 60 < s.device("p0")->published);  // well over a minute of QoS 0 lost
    }
    check_no_violations(s, seed);
}

namespace {

/// Publishes the payloads it is given, one per tick, as a device whose software misnumbers.
class Scripted final : public sim::DeviceHooks {
public:
    explicit Scripted(std::vector<std::uint64_t> seqs) : seqs_(std::move(seqs)) {}
    void on_tick(sim::DeviceContext& ctx) override {
        if (next_ < seqs_.size() && ctx.connected()) {
            ctx.publish("tele/odd", R"({"device":"odd","seq":)" + std::to_string(seqs_[next_++]) + "}", 1, false);
        }
    }

private:
    std::vector<std::uint64_t> seqs_;
    std::size_t next_ = 0;
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_order_checker_reports_a_first_arrival_behind_a_later_seq_and_lets_repeats_pass) {
    // Goal: the per-publisher order invariant fires exactly for a sequence number that arrives
    // for the first time after a higher one, and a repeat (a QoS 1 redelivery) never fires it,
    // however far behind: sequence numbers near, and far (past 64 and thousands) behind.
    const auto seed = test_seed(3);
    sim::SimulationOptions o;
    o.seed = seed;
    sim::Simulation s(o);
    auto sink = device("sink");
    sink.subscribe = {{"tele/#", {mqtt::QoS::at_least_once}}};
    s.add_device(sink);
    auto odd = device("odd");
    odd.start_at = seconds(1);
    odd.tick_interval = milliseconds(100);
    // in order, 3 late, 2 again, jumps, 100 late, 100 and 3 again, 5000 late, 63 and 64 late,
    // 10000 and 71 again (71 left the newest 64 long before)
    odd.hooks = std::make_shared<Scripted>(std::vector<std::uint64_t>{
        1, 2, 70, 71, 3, 2, 200, 10'000, 100, 100, 3, 5'000, 10'001, 63, 64, 10'000, 71});
    s.add_device(odd);
    s.run_until(Instant{seconds(10)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(s.device("sink")->received == 17U);
        std::vector<std::string> late;
        for (const auto& v : s.violations()) {
            const auto at = v.find("seq ");
            BOOST_REQUIRE(at != std::string::npos);
            late.push_back(v.substr(at, v.find(" for the first time") - at));
        }
        const std::vector<std::string> expected = {"seq 3", "seq 100", "seq 5000", "seq 63", "seq 64"};
        BOOST_TEST(late == expected, boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(a_sink_with_thousands_of_segments_in_flight_gets_every_message_in_publisher_order) {
    // Goal: a connection carrying thousands of segments at once (a slow link into a busy sink,
    // then a partition shorter than keep-alive, whose backlog TCP delivers at the heal) loses
    // nothing and reorders nothing.
    // Method: 100 devices publish 50 messages each at 10 msg/s over a 200 ms link to one QoS 0
    // subscriber, cut off for 8 s in the middle while the broker keeps writing to it; every
    // message must arrive once and the per-publisher order checker must stay quiet.
    const auto seed = test_seed(17);
    sim::SimulationOptions o;
    o.seed = seed;
    o.link.latency = {sim::LatencyModel::Kind::constant, milliseconds(200), Duration::zero(), 0};
    o.link.split_probability = 0.1;
    sim::Simulation s(o);
    auto sink = device("sink");
    sink.client.keep_alive_s = 60;
    sink.subscribe = {{"tele/#", {mqtt::QoS::at_most_once}}};
    s.add_device(sink);
    auto d = device("d");
    d.start_at = seconds(2);
    d.publish = plan("tele/{device}", milliseconds(100), mqtt::QoS::at_least_once);
    d.publish->count = 50;
    s.add_fleet("dev", 100, d);
    s.add_fault({FaultKind::partition, Instant{seconds(4)}, {"sink"}, seconds(8), {}, {}, 0});
    s.run_until(Instant{seconds(11)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(s.device("sink")->received < 2'000U);  // the partition really held them back
    }
    s.run_until(Instant{minutes(1)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(s.device("sink")->received == 5'000U);
        BOOST_TEST(s.device("sink")->disconnects == 0U);
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(will_is_published_after_power_loss_once_keep_alive_expires) {
    // Goal: a device that loses power leaves a half-open connection; the broker notices at 1.5x
    // keep-alive and publishes the will.
    // Method: power off a device with keep-alive 30 s and a will; the watcher sees the will
    // between 30 s and 45 s + latency after the failure, not before.
    const auto seed = test_seed(3);
    sim::SimulationOptions o;
    o.seed = seed;
    o.keep_trace = true;
    sim::Simulation s(o);
    auto dev = device("dev");
    dev.client.will = mqtt::Will{"status/dev", "offline", mqtt::QoS::at_least_once, false, {}};
    s.add_device(dev);
    auto watcher = device("watcher");
    watcher.client.keep_alive_s = 1200;
    watcher.subscribe = {{"status/dev", {mqtt::QoS::at_least_once}}};
    s.add_device(watcher);
    s.add_fault({FaultKind::power_loss, Instant{seconds(10)}, {"dev"}, Duration::zero(), {}, {}, 0});
    s.run_until(Instant{seconds(39)});
    BOOST_TEST_CONTEXT(repro(seed)) { BOOST_TEST(s.received("watcher").empty()); }
    s.run_until(Instant{seconds(60)});
    const auto got = s.received("watcher");
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_REQUIRE_EQUAL(got.size(), 1U);
        BOOST_TEST(got[0].second == "offline");
    }
}

BOOST_AUTO_TEST_CASE(persistent_sessions_and_queued_messages_survive_a_broker_crash) {
    // Goal: the broker's store survives a crash; sessions resume and queued QoS 1 arrives.
    // Method: crash the broker while a persistent subscriber is offline with messages queued.
    const auto seed = test_seed(5);
    sim::SimulationOptions o;
    o.seed = seed;
    o.check_qos1_delivered = {{"pub", "sub"}};
    sim::Simulation s(o);
    auto sub = device("sub");
    sub.client.clean_start = false;
    sub.subscribe = {{"data", {mqtt::QoS::at_least_once}}};
    s.add_device(sub);
    auto pub = device("pub");
    pub.publish = plan("data", seconds(2), mqtt::QoS::at_least_once);
    s.add_device(pub);
    s.add_fault({FaultKind::device_crash, Instant{seconds(20)}, {"sub"}, seconds(60), {}, {}, 0});
    s.add_fault({FaultKind::broker_crash, Instant{seconds(50)}, {}, seconds(5), {}, {}, 0});
    s.run_until(Instant{minutes(3)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(s.device("pub")->acked >= 85U);
        BOOST_TEST(s.device("sub")->crashes == 1U);
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(rebooted_clean_session_device_resubscribes) {
    // Goal: a device that lost its state reconnects and subscribes again (clean session).
    const auto seed = test_seed(9);
    sim::SimulationOptions o;
    o.seed = seed;
    sim::Simulation s(o);
    auto sub = device("sub");
    sub.subscribe = {{"t", {mqtt::QoS::at_most_once}}};
    s.add_device(sub);
    auto pub = device("pub");
    pub.publish = plan("t", seconds(1), mqtt::QoS::at_most_once);
    s.add_device(pub);
    s.add_fault({FaultKind::device_crash, Instant{seconds(30)}, {"sub"}, seconds(10), {}, {}, 0});
    s.run_until(Instant{seconds(30)});
    const auto before = s.received("sub").size();
    s.run_until(Instant{seconds(90)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(before >= 28U);
        // ~30 before the crash, ~50 after the reboot; without resubscribing it would stay at ~30.
        BOOST_TEST(s.device("sub")->received >= 40U);
    }
}

BOOST_AUTO_TEST_CASE(broker_clock_skew_shifts_lifecycle_timestamps_only) {
    // Goal: clock faults act on the wall clock: timestamps move, keep-alive timing does not.
    const auto seed = test_seed(13);
    sim::SimulationOptions o;
    o.seed = seed;
    sim::Simulation s(o);
    auto watcher = device("watcher");
    watcher.subscribe = {{"$aws/events/presence/connected/+", {mqtt::QoS::at_least_once}}};
    s.add_device(watcher);
    auto late = device("late");
    late.start_at = seconds(30);
    s.add_device(late);
    s.add_fault({FaultKind::clock_skew, Instant{seconds(10)}, {"broker"}, Duration::zero(), {}, hours(1), 0});
    s.run_until(Instant{seconds(40)});
    const auto got = s.received("watcher");
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_REQUIRE_GE(got.size(), 1U);
        const std::string& p = got.back().second;
        const auto pos = p.find("\"timestamp\":");
        BOOST_REQUIRE(pos != std::string::npos);
        const std::int64_t ts = std::stoll(p.substr(pos + 12));
        // Epoch 2026-01-01T00:00:00Z + ~30 s + 1 h of skew.
        BOOST_TEST(ts > 1'767'225'600'000 + 3'600'000);
        BOOST_TEST(ts < 1'767'225'600'000 + 3'600'000 + 60'000);
    }
}

BOOST_AUTO_TEST_CASE(swarm_of_random_faults_keeps_every_invariant) {
    // Goal: random partitions, crashes and degraded links never break ordering or delivery
    // guarantees. Method: 50 devices, 20 faults a minute for 5 minutes, several seeds.
    for (std::uint64_t k = 0; k < 3; ++k) {
        const auto seed = test_seed(100) + k;
        sim::SimulationOptions o;
        o.seed = seed;
        o.link.split_probability = 0.1;
        o.link.loss_probability = 0.01;
        sim::Simulation s(o);
        auto dash = device("dashboard", mqtt::Version::v5);
        dash.client.clean_start = false;
        dash.client.session_expiry_s = 3600;
        dash.subscribe = {{"fleet/+/t", {mqtt::QoS::at_least_once}}};
        s.add_device(dash);
        auto sensor = device("s");
        sensor.publish = plan("fleet/{device}/t", seconds(3), mqtt::QoS::at_least_once);
        s.add_fleet("sensor", 50, sensor);
        sim::SwarmOptions swarm;
        swarm.faults_per_minute = 20;
        swarm.until = Instant{minutes(5)};
        s.enable_swarm(swarm);
        s.run_until(Instant{minutes(7)});
        BOOST_TEST_CONTEXT(repro(seed)) { BOOST_TEST(s.messages_delivered() > 1000U); }
        check_no_violations(s, seed);
    }
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

/// Subscribes to two filters on connect and drops one of them at 10 s.
class Unsubscriber final : public sim::DeviceHooks {
public:
    std::string drop;
    void on_connected(sim::DeviceContext& ctx, bool session_present) override {
        if (!session_present && !done_) {
            ctx.subscribe("room/a/temp", 0);
            ctx.subscribe("room/+/temp", 0);
        }
    }
    void on_tick(sim::DeviceContext& ctx) override {
        if (!done_ && ctx.monotonic_ns() >= 10'000'000'000) {
            ctx.unsubscribe(drop);
            done_ = true;
        }
    }

private:
    bool done_ = false;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(scenario_unsubscribe)

BOOST_AUTO_TEST_CASE(unsubscribing_one_of_two_overlapping_filters_keeps_delivery_and_the_checker_quiet) {
    // Goal: the delivery-after-unsubscribe checker flags nothing a remaining filter still covers.
    // Method: a behaviour subscribed to two overlapping filters drops one of them at 10 s while
    // the publisher keeps publishing every second; the other filter keeps the messages coming,
    // which the checker must not flag.
    const auto seed = test_seed(21);
    for (const char* dropped : {"room/+/temp", "room/a/temp"}) {
        sim::SimulationOptions o;
        o.seed = seed;
        sim::Simulation s(o);
        auto hooks = std::make_shared<Unsubscriber>();
        hooks->drop = dropped;
        auto listener = device("listener");
        listener.hooks = hooks;
        listener.tick_interval = seconds(1);
        s.add_device(listener);
        auto pub = device("pub");
        pub.publish = plan("room/a/temp", seconds(1), mqtt::QoS::at_most_once);
        s.add_device(pub);
        s.run_until(Instant{seconds(30)});
        BOOST_TEST_CONTEXT(repro(seed) << " dropped " << dropped) {
            // One filter remains, so messages keep coming (one copy each: the broker delivers
            // once per client even with overlapping filters).
            BOOST_TEST(s.device("listener")->received >= 27U);
        }
        check_no_violations(s, seed);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(scenario_unsubscribe_all)

BOOST_AUTO_TEST_CASE(delivery_stops_after_unsubscribing_the_last_matching_filter) {
    // Goal: after the UNSUBACK for the only matching filter no message arrives any more.
    const auto seed = test_seed(22);
    sim::SimulationOptions o;
    o.seed = seed;
    sim::Simulation s(o);
    class Once final : public sim::DeviceHooks {
    public:
        void on_connected(sim::DeviceContext& ctx, bool) override { ctx.subscribe("room/a/temp", 0); }
        void on_tick(sim::DeviceContext& ctx) override {
            if (!done && ctx.monotonic_ns() >= 10'000'000'000) {
                ctx.unsubscribe("room/a/temp");
                done = true;
            }
        }
        bool done = false;
    };
    auto listener = device("listener");
    listener.hooks = std::make_shared<Once>();
    listener.tick_interval = seconds(1);
    s.add_device(listener);
    auto pub = device("pub");
    pub.publish = plan("room/a/temp", seconds(1), mqtt::QoS::at_most_once);
    s.add_device(pub);
    s.run_until(Instant{seconds(12)});
    const auto at_unsubscribe = s.device("listener")->received;
    s.run_until(Instant{seconds(60)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(at_unsubscribe >= 8U);
        BOOST_TEST(s.device("listener")->received == at_unsubscribe);
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(scenario_telemetry)

BOOST_AUTO_TEST_CASE(a_telemetry_template_substitutes_each_placeholder_once) {
    // Goal: {seq}, {device} and {time_ms} are replaced in the payload and {device} in the topic,
    // and what a placeholder becomes is not scanned again (a device named "m{time_ms}" publishes its
    // name as it is). Method: one publisher, one subscriber, three messages.
    const auto seed = test_seed(3);
    sim::SimulationOptions o;
    o.seed = seed;
    sim::Simulation s(o);
    auto sink = device("sink");
    sink.subscribe = {{"t/#", {mqtt::QoS::at_least_once}}};
    s.add_device(sink);
    auto meter = device("m{time_ms}");
    meter.start_at = seconds(2);
    meter.publish = plan("t/{device}/{seq}", seconds(1), mqtt::QoS::at_least_once);
    meter.publish->payload = R"({"d":"{device}","n":{seq},"{x}":{time_ms}})";
    meter.publish->count = 3;
    s.add_device(meter);
    s.run_until(Instant{seconds(10)});
    const auto got = s.received("sink");
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_REQUIRE_EQUAL(got.size(), 3U);
        for (std::size_t i = 0; i < got.size(); ++i) {
            BOOST_TEST(got[i].first == "t/m{time_ms}/{seq}");
            const auto body = nlohmann::json::parse(got[i].second);
            BOOST_TEST(body["d"] == "m{time_ms}");
            BOOST_TEST(body["n"] == i + 1);
            BOOST_TEST(body["{x}"].is_number_integer());
        }
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(a_behaviour_reading_the_inbox_in_on_message_sees_the_message_it_is_called_for) {
    // Goal: a device's inbox already holds a message when its behaviour's on_message runs (a
    // Python hook may call sim.received() there). Method: a hook that reads received() for its
    // own device on each of three messages.
    const auto seed = test_seed(5);
    sim::SimulationOptions o;
    o.seed = seed;
    sim::Simulation s(o);
    struct Reader final : sim::DeviceHooks {
        sim::Simulation* sim = nullptr;
        std::vector<std::pair<std::string, std::string>> last_seen;  // (payload given, inbox's last)
        void on_message(sim::DeviceContext& ctx, const std::string&, const std::string& payload) override {
            const auto inbox = sim->received(ctx.name());
            last_seen.emplace_back(payload, inbox.empty() ? std::string("<empty>") : inbox.back().second);
        }
    };
    auto reader = std::make_shared<Reader>();
    reader->sim = &s;
    auto sink = device("sink");
    sink.subscribe = {{"t/#", {mqtt::QoS::at_least_once}}};
    sink.hooks = reader;
    s.add_device(sink);
    auto meter = device("meter");
    meter.start_at = seconds(2);
    meter.publish = plan("t/{device}", seconds(1), mqtt::QoS::at_least_once);
    meter.publish->payload = "{seq}";
    meter.publish->count = 3;
    s.add_device(meter);
    s.run_until(Instant{seconds(10)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_REQUIRE_EQUAL(reader->last_seen.size(), 3U);
        for (std::size_t i = 0; i < 3; ++i) {
            BOOST_TEST(reader->last_seen[i].first == std::to_string(i + 1));
            BOOST_TEST(reader->last_seen[i].second == std::to_string(i + 1));
        }
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(a_device_keeps_its_last_messages_in_arrival_order_up_to_its_inbox_size) {
    // Goal: received() gives the last inbox_max messages, oldest first, once the inbox has
    // wrapped around (its slots are reused). Method: 12 messages into an inbox of 5.
    const auto seed = test_seed(4);
    sim::SimulationOptions o;
    o.seed = seed;
    sim::Simulation s(o);
    auto sink = device("sink");
    sink.subscribe = {{"t/#", {mqtt::QoS::at_least_once}}};
    sink.inbox_max = 5;
    s.add_device(sink);
    auto meter = device("meter");
    meter.start_at = seconds(2);
    meter.publish = plan("t/{device}", seconds(1), mqtt::QoS::at_least_once);
    meter.publish->payload = "{seq}";
    meter.publish->count = 12;
    s.add_device(meter);
    s.run_until(Instant{seconds(5)});
    const auto early = s.received("sink");  // not yet full
    s.run_until(Instant{seconds(30)});
    const auto got = s.received("sink");
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(s.device("sink")->received == 12U);
        BOOST_REQUIRE(!early.empty());
        BOOST_REQUIRE_LT(early.size(), 5U);
        BOOST_TEST(early.front().second == "1");
        BOOST_REQUIRE_EQUAL(got.size(), 5U);
        for (std::size_t i = 0; i < got.size(); ++i) {
            BOOST_TEST(got[i].first == "t/meter");
            BOOST_TEST(got[i].second == std::to_string(8 + i));
        }
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_SUITE_END()
