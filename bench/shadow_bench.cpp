// Device Shadow engine benchmark (wall time measured here, in bench/, never in unit tests):
// shadow updates per second through the in-process core, ShadowService + MemoryShadowStore, on
// one thread. Every update goes the whole way: request parsing and validation, merge, metadata,
// version, the store's copy, and the notifications built and serialised (/update/accepted,
// /update/documents with previous and current, /update/delta). As an MQTT caller, it reads the
// notifications and not the REST body (ShadowOptions::update_response_document off).
//
// The document: ~1 KB of state (desired ~10 fields, reported ~30 fields with a few nested
// objects), 64 things updated round robin. Each update changes one or two reported fields and,
// every fourth time, one desired field, so the delta is never empty.
//
// Usage: iotsim_shadow_bench [updates] [things] [parts|hash]     (defaults 1,000,000 and 64)
// Prints one JSON line; with `parts`, a second one with the cost of the pieces of an update;
// with `hash`, payload_hash covers every byte published (slower: to compare two builds' output).
// updates_per_cpu_s divides by the process's CPU time, which a shared machine does not distort.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/common/rng.hpp"
#include "iotsim/shadow/document.hpp"
#include "iotsim/shadow/service.hpp"
#include "iotsim/shadow/store.hpp"

using namespace iotsim;
using namespace iotsim::shadow;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// CPU time of this process: on a shared machine the wall time also counts other processes.
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// The cost of the pieces an update is made of, on the benchmark's document (ns per call).
template <typename F>
double ns_per_call(std::uint64_t n, F&& f) {
    const double c0 = cpu_seconds();
    for (std::uint64_t i = 0; i < n; ++i) {
        f(i);
    }
    return (cpu_seconds() - c0) * 1e9 / static_cast<double>(n);
}

void parts(const ShadowRecord& record, const std::vector<std::string>& requests) {
    std::uint64_t sink = 0;
    const std::uint64_t n = 20'000;
    const double parse = ns_per_call(n, [&](std::uint64_t i) {
        sink += json::parse(requests[i % requests.size()], nullptr, false).size();
    });
    const double dump_state =
        ns_per_call(n, [&](std::uint64_t) { sink += to_payload(record.state).size(); });
    const double dump_metadata =
        ns_per_call(n, [&](std::uint64_t) { sink += to_payload(record.metadata).size(); });
    const double nlohmann_dump = ns_per_call(n, [&](std::uint64_t) {
        sink += record.state.dump().size() + record.metadata.dump().size();
    });
    const double copy = ns_per_call(n, [&](std::uint64_t) {
        const ShadowRecord copied = record;
        sink += copied.state.size();
    });
    const double delta =
        ns_per_call(n, [&](std::uint64_t) { sink += compute_delta(record.state)->size(); });
    const double equal =
        ns_per_call(n, [&](std::uint64_t) { sink += record.metadata == record.metadata ? 1 : 0; });
    std::printf(
        "{\"bench\":\"shadow_parts_ns\",\"parse_request\":%.0f,\"to_payload_state\":%.0f,"
        "\"to_payload_metadata\":%.0f,\"nlohmann_dump_both\":%.0f,\"copy_record\":%.0f,"
        "\"compute_delta\":%.0f,\"compare_metadata\":%.0f,\"metadata_bytes\":%zu,\"sink\":%llu}\n",
        parse, dump_state, dump_metadata, nlohmann_dump, copy, delta, equal,
        to_payload(record.metadata).size(), static_cast<unsigned long long>(sink & 1));
}

// ~1 KB of state: desired with 10 fields (some differ from reported, so there is a delta from
// the start), reported with 30 fields including nested objects and an array.
json initial_state() {
    json reported = json::object();
    reported["firmware"] = "1.4.2-build.7731";
    reported["model"] = "smart-lamp-21";
    reported["serial"] = "SL21-0007-4451-AB";
    reported["power"] = "on";
    reported["brightness"] = 72;
    reported["colorTemperature"] = 4000;
    reported["mode"] = "auto";
    reported["uptime_s"] = 86400;
    reported["rssi"] = -61;
    reported["temperature"] = 21.5;
    reported["humidity"] = 43.2;
    reported["voltage"] = 229.8;
    reported["current"] = 0.043;
    reported["energy_wh"] = 1834.25;
    reported["errors"] = 0;
    reported["lastBoot"] = "2026-01-01T00:00:00Z";
    reported["location"] = {{"building", "B7"}, {"floor", 3}, {"room", "3.14"}};
    reported["network"] = {{"ssid", "iot-lab"},
                           {"ip", "10.0.3.17"},
                           {"gateway", "10.0.3.1"},
                           {"dns", {"10.0.0.2", "10.0.0.3"}}};
    reported["color"] = {{"r", 255}, {"g", 180}, {"b", 90}};
    reported["schedule"] = {{"on", "07:00"}, {"off", "23:30"}, {"days", {1, 2, 3, 4, 5}}};
    reported["sensor"] = {{"lux", 312}, {"motion", false}, {"occupied", true}};
    reported["alarm"] = false;
    reported["fanSpeed"] = 2;
    reported["dimRate"] = 5;
    reported["group"] = "east-wing";
    reported["tags"] = {"lab", "lamp", "demo"};
    reported["otaState"] = "idle";
    reported["certExpiry"] = "2027-06-30";
    reported["heartbeat"] = 60;
    reported["sequence"] = 0;

    json desired = json::object();
    desired["power"] = "on";
    desired["brightness"] = 80;  // differs
    desired["colorTemperature"] = 4000;
    desired["mode"] = "scene";                               // differs
    desired["color"] = {{"r", 255}, {"g", 200}, {"b", 90}};  // g differs
    desired["schedule"] = {{"on", "07:00"}, {"off", "23:30"}};
    desired["fanSpeed"] = 2;
    desired["dimRate"] = 5;
    desired["heartbeat"] = 30;  // differs
    desired["otaState"] = "idle";
    return json{{"desired", std::move(desired)}, {"reported", std::move(reported)}};
}

// A pool of update requests, built before the clock starts. Reported-only updates change one or
// two telemetry fields; every fourth request also sets a desired field (brightness or a color
// channel), which keeps the delta non-empty and moving.
std::vector<std::string> make_requests(std::size_t count, Rng& rng) {
    std::vector<std::string> requests;
    requests.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        json reported = json::object();
        reported["sequence"] = i;
        switch (rng.uniform(4)) {
            case 0:
                reported["temperature"] = 20.0 + static_cast<double>(rng.uniform(100)) / 10.0;
                break;
            case 1:
                reported["rssi"] = -40 - static_cast<int>(rng.uniform(50));
                break;
            case 2:
                reported["sensor"] = {{"lux", rng.uniform(1000)}};
                break;
            default:
                reported["brightness"] = rng.uniform(101);
                break;
        }
        json state = {{"reported", std::move(reported)}};
        if (i % 4 == 0) {
            json desired = json::object();
            if (rng.uniform(2) == 0) {
                desired["brightness"] = rng.uniform(101);
            } else {
                desired["color"] = {{"g", rng.uniform(256)}};
            }
            state["desired"] = std::move(desired);
        }
        json request = {{"state", std::move(state)}};
        if (i % 2 == 0) {
            request["clientToken"] = "bench-" + std::to_string(i);
        }
        requests.push_back(request.dump());
    }
    return requests;
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint64_t updates = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    const std::size_t things = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 64;

    ShadowOptions options;
    options.limits.requests_per_second_per_thing = 0;  // measure the engine, not the throttle
    // As an MQTT caller: the notifications are published, the REST body is never read.
    options.update_response_document = false;
    MemoryShadowStore store;
    ShadowService service(store, options);
    WallTime now{seconds(1'767'225'600)};

    std::vector<ShadowKey> keys;
    const std::string initial = json{{"state", initial_state()}}.dump();
    for (std::size_t i = 0; i < things; ++i) {
        keys.push_back(ShadowKey{"lamp-" + std::to_string(i), ""});
        if (!service.update(keys.back(), initial, now, RequestOrigin::mqtt).accepted()) {
            std::fprintf(stderr, "initial update rejected\n");
            return 1;
        }
    }
    const std::size_t state_bytes = service.find(keys.front())->state.dump().size();

    Rng rng(42);
    const std::vector<std::string> requests = make_requests(4096, rng);

    std::uint64_t notification_bytes = 0;
    std::uint64_t deltas = 0;
    std::uint64_t payload_hash = 0xcbf29ce484222325ULL;
    const bool hash = argc > 3 && std::string(argv[3]) == "hash";
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    for (std::uint64_t i = 0; i < updates; ++i) {
        // One wall-clock second per 15 updates of every thing: under AWS's 20 requests per
        // second per thing, so the throttle is consulted but never refuses.
        if (i % (15 * things) == 0) {
            now = WallTime{now.since_unix_epoch + seconds(1)};
        }
        const ShadowResponse response = service.update(
            keys[i % things], requests[i % requests.size()], now, RequestOrigin::mqtt);
        if (!response.accepted()) {
            std::fprintf(stderr, "update %llu rejected: %s\n", static_cast<unsigned long long>(i),
                         response.document.dump().c_str());
            return 1;
        }
        for (const auto& n : response.notifications) {
            notification_bytes += n.payload.size();
            if (hash) {  // FNV-1a: the same hash means the same bytes
                for (const char ch : n.payload) {
                    payload_hash =
                        (payload_hash ^ static_cast<unsigned char>(ch)) * 0x100000001b3ULL;
                }
            }
        }
        deltas += response.notifications.size() == 3 ? 1 : 0;
    }
    const double s = seconds_since(t0);
    const double cpu = cpu_seconds() - c0;
    std::printf(
        "{\"bench\":\"shadow_update\",\"updates\":%llu,\"things\":%zu,\"state_bytes\":%zu,"
        "\"seconds\":%.3f,\"cpu_seconds\":%.3f,\"updates_per_s\":%.0f,\"updates_per_cpu_s\":%.0f,"
        "\"cpu_ns_per_update\":%.0f,"
        "\"notification_bytes_per_update\":%.0f,\"with_delta\":%llu,\"payload_hash\":\"%016llx\"}"
        "\n",
        static_cast<unsigned long long>(updates), things, state_bytes, s, cpu,
        static_cast<double>(updates) / s, static_cast<double>(updates) / cpu,
        cpu * 1e9 / static_cast<double>(updates),
        static_cast<double>(notification_bytes) / static_cast<double>(updates),
        static_cast<unsigned long long>(deltas), static_cast<unsigned long long>(payload_hash));
    if (argc > 3 && std::string(argv[3]) == "parts") {
        parts(*service.find(keys.front()), requests);
    }
    return 0;
}
