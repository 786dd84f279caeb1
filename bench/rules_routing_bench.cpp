// Routing cost of a message with 1 topic rule vs 1 matching + 1,000 non-matching rules installed.
// Each rule listens in the broker on its own FROM filter, so non-matching rules should cost
// (almost) nothing per message. Target: ratio <= 1.5.
//
//   iotsim_rules_routing_bench [messages]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "iotsim/iotcore/iotcore.hpp"

namespace {

using namespace iotsim;
using Clock = std::chrono::steady_clock;

double run(int extra_rules, int messages) {
    broker::AllowAllAuthorizer auth;
    broker::MemoryStore store;
    shadow::MemoryShadowStore shadows;
    Rng rng{1};
    iotcore::IotCore core({}, iotcore::IotCoreServices{auth, store, shadows, rng});
    const Now now{Instant{std::chrono::seconds(1)}, WallTime{std::chrono::seconds(1'700'000'000)}};
    (void)core.recover(now);
    const std::string action = R"([{"republish":{"topic":"out/${topic(2)}","roleArn":"r"}}])";
    for (int i = 0; i < extra_rules; ++i) {
        core.rules().create("other" + std::to_string(i),
                            R"({"sql":"SELECT * FROM 'site/)" + std::to_string(i) +
                                R"(/+/data' WHERE temp > 30","actions":)" + action + "}",
                            now.wall);
    }
    core.rules().create("match", R"({"sql":"SELECT temp FROM 'dev/+/data' WHERE temp > 30","actions":)" + action + "}",
                        now.wall);
    const auto start = Clock::now();
    for (int i = 0; i < messages; ++i) {
        broker::Message m;
        m.topic = "dev/d" + std::to_string(i % 100) + "/data";
        m.payload = R"({"temp":35,"hum":40})";
        auto fx = core.publish(std::move(m), now);
        (void)fx;
    }
    const double ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
    if (core.rules().stats().evaluations != static_cast<std::uint64_t>(messages)) {
        std::fprintf(stderr, "unexpected evaluations: %llu\n",
                     static_cast<unsigned long long>(core.rules().stats().evaluations));
        std::exit(1);
    }
    return ns / messages;
}

}  // namespace

int main(int argc, char** argv) {
    const int messages = argc > 1 ? std::atoi(argv[1]) : 200000;
    (void)run(0, messages / 10);  // warm-up
    double best1 = 1e18;
    double best1000 = 1e18;
    for (int round = 0; round < 3; ++round) {
        const double a = run(0, messages);
        const double b = run(1000, messages);
        best1 = a < best1 ? a : best1;
        best1000 = b < best1000 ? b : best1000;
    }
    std::printf("1 rule:                    %8.0f ns/message (%.0f msg/s)\n", best1, 1e9 / best1);
    std::printf("1 + 1,000 non-matching:    %8.0f ns/message (%.0f msg/s)\n", best1000, 1e9 / best1000);
    std::printf("ratio: %.2fx (target <= 1.5x)\n", best1000 / best1);
    return 0;
}
