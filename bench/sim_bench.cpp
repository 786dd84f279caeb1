// Simulator benchmarks (wall time measured here, in bench/, never in unit tests):
//   scheduler    the bare event queue: events per second (hold model, 10,000 pending events)
//   fanout       messages delivered per wall second through the real broker, 10,000 devices
//   hour         1,000 devices publishing 1 msg/s for one simulated hour: wall seconds
//   memory       100,000 connected devices: resident memory
//   linear       the same world with 1x, 10x, 100x the messages: wall time per message
// Usage: iotsim_sim_bench [scheduler|fanout|hour|memory|linear|all]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "iotsim/common/rng.hpp"
#include "iotsim/sim/event_queue.hpp"
#include "iotsim/sim/simulation.hpp"

using namespace iotsim;
using namespace iotsim::sim;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

long rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stol(line.substr(6));
        }
    }
    return -1;
}

void scheduler() {
    EventQueue q;
    Rng rng(1);
    constexpr int pending = 10'000;
    for (int i = 0; i < pending; ++i) {
        q.push(Instant{Duration(static_cast<std::int64_t>(rng.uniform(1'000'000)))}, EventKind::noop);
    }
    constexpr std::uint64_t n = 20'000'000;
    const auto t0 = Clock::now();
    std::uint64_t sink = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        const Event e = q.pop();
        sink += e.sequence();
        q.push(e.at + Duration(static_cast<std::int64_t>(1 + (sink & 0xFFFF))), EventKind::noop);
    }
    const double s = seconds_since(t0);
    std::printf("{\"bench\":\"scheduler\",\"events\":%llu,\"seconds\":%.3f,\"events_per_s\":%.0f,\"sink\":%llu}\n",
                static_cast<unsigned long long>(n), s, static_cast<double>(n) / s, static_cast<unsigned long long>(sink & 1));
}

DeviceSpec dev(std::string name) {
    DeviceSpec d;
    d.name = std::move(name);
    d.client.keep_alive_s = 1200;
    return d;
}

void fanout() {
    // 10,000 devices: 9,990 subscribers of "news", 10 publishers at 10 msg/s each (QoS 0):
    // every publish fans out to 9,990 devices.
    SimulationOptions o;
    o.seed = 1;
    Simulation s(o);
    DeviceSpec sub = dev("sub");
    sub.subscribe = {{"news", {mqtt::QoS::at_most_once}}};
    s.add_fleet("sub", 9'990, sub);
    DeviceSpec pub = dev("pub");
    pub.start_at = seconds(5);
    pub.publish = PublishPlan{"news", milliseconds(100), mqtt::QoS::at_most_once, false, "{\"seq\":{seq}}", 0};
    s.add_fleet("pub", 10, pub);
    s.run_until(Instant{seconds(5)});  // everyone connected and subscribed
    const auto before = s.messages_delivered();
    const auto t0 = Clock::now();
    s.run_until(Instant{seconds(15)});
    const double w = seconds_since(t0);
    const auto n = s.messages_delivered() - before;
    std::printf("{\"bench\":\"fanout\",\"devices\":10000,\"delivered\":%llu,\"wall_s\":%.3f,\"delivered_per_wall_s\":%.0f}\n",
                static_cast<unsigned long long>(n), w, static_cast<double>(n) / w);
}

double hour_run(int devices, Duration interval, Duration length, std::uint64_t* delivered,
                mqtt::QoS qos = mqtt::QoS::at_least_once) {
    SimulationOptions o;
    o.seed = 2;
    Simulation s(o);
    DeviceSpec sink = dev("sink");
    sink.subscribe = {{"tele/#", {mqtt::QoS::at_most_once}}};
    s.add_device(sink);
    DeviceSpec d = dev("d");
    d.client.keep_alive_s = 60;
    d.publish = PublishPlan{"tele/{device}", interval, qos, false,
                            R"({"device":"{device}","seq":{seq},"t":{time_ms}})", 0};
    s.add_fleet("dev", static_cast<std::size_t>(devices), d);
    const auto t0 = Clock::now();
    s.run_until(Instant{length});
    *delivered = s.messages_delivered();
    return seconds_since(t0);
}

void hour() {
    std::uint64_t delivered = 0;
    const double w = hour_run(1000, seconds(1), hours(1), &delivered);
    std::printf("{\"bench\":\"hour\",\"devices\":1000,\"simulated_s\":3600,\"wall_s\":%.3f,\"delivered\":%llu,\"speedup\":%.0f}\n", w,
                static_cast<unsigned long long>(delivered), 3600.0 / w);
}

void memory() {
    const long base = rss_kib();
    SimulationOptions o;
    o.seed = 3;
    Simulation s(o);
    DeviceSpec d = dev("d");
    d.subscribe = {{"cmd/all", {mqtt::QoS::at_least_once}}};
    s.add_fleet("dev", 100'000, d);
    const auto t0 = Clock::now();
    s.run_until(Instant{seconds(30)});
    const double w = seconds_since(t0);
    std::size_t connected = 0;
    for (const auto& st : s.device_stats()) {
        connected += st.connected ? 1 : 0;
    }
    const long rss = rss_kib();
    std::printf("{\"bench\":\"memory\",\"devices\":100000,\"connected\":%zu,\"rss_mib\":%.1f,\"growth_mib\":%.1f,\"bytes_per_device\":%.0f,\"wall_s\":%.2f}\n",
                connected, static_cast<double>(rss) / 1024.0, static_cast<double>(rss - base) / 1024.0,
                static_cast<double>(rss - base) * 1024.0 / 100000.0, w);
}

void linear() {
    for (int factor : {1, 10, 100}) {
        std::uint64_t delivered = 0;
        const double w = hour_run(100, milliseconds(1000 / factor > 0 ? 1000 / factor : 1), minutes(5), &delivered);
        std::printf("{\"bench\":\"linear\",\"factor\":%d,\"delivered\":%llu,\"wall_s\":%.3f,\"ns_per_message\":%.0f}\n", factor,
                    static_cast<unsigned long long>(delivered), w, w * 1e9 / static_cast<double>(delivered));
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::string what = argc > 1 ? argv[1] : "all";
    if (what == "scheduler" || what == "all") scheduler();
    if (what == "fanout" || what == "all") fanout();
    if (what == "hour" || what == "all") hour();
    if (what == "linear" || what == "all") linear();
    if (what == "memory" || what == "all") memory();
    if (what == "hour_qos0") {
        std::uint64_t delivered = 0;
        const double w = hour_run(1000, seconds(1), hours(1), &delivered, mqtt::QoS::at_most_once);
        std::printf("{\"bench\":\"hour_qos0\",\"devices\":1000,\"simulated_s\":3600,\"wall_s\":%.3f,\"delivered\":%llu,\"speedup\":%.0f}\n",
                    w, static_cast<unsigned long long>(delivered), 3600.0 / w);
    }
    if (what == "hour10m" || what == "hour10m_qos0") {  // for profilers: 10 simulated minutes
        std::uint64_t delivered = 0;
        const double w = hour_run(1000, seconds(1), minutes(10), &delivered,
                                  what == "hour10m" ? mqtt::QoS::at_least_once : mqtt::QoS::at_most_once);
        std::printf("{\"bench\":\"hour10m\",\"wall_s\":%.3f,\"delivered\":%llu}\n", w, static_cast<unsigned long long>(delivered));
    }
    return 0;
}
