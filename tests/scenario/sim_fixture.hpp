#pragma once

// Helpers for scenario tests: every failure prints the seed and a one-line repro command.

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <string>

#include "iotsim/sim/scenario.hpp"
#include "iotsim/sim/simulation.hpp"

namespace iotsim::test {

/// The seed a test uses: IOTSIM_SEED overrides the test's default, so a failure found with
/// another seed can be replayed exactly.
inline std::uint64_t test_seed(std::uint64_t fallback) {
    if (const char* s = std::getenv("IOTSIM_SEED")) {
        return std::strtoull(s, nullptr, 0);
    }
    return fallback;
}

inline std::string repro(std::uint64_t seed) {
    const auto& tc = boost::unit_test::framework::current_test_case();
    return "seed=" + std::to_string(seed) + " repro: IOTSIM_SEED=" + std::to_string(seed) +
           " ctest --test-dir build/dev -R scenario_test --output-on-failure  (test " + tc.p_name.get() + ")";
}

inline sim::DeviceSpec device(std::string name, mqtt::Version v = mqtt::Version::v311) {
    sim::DeviceSpec d;
    d.name = std::move(name);
    d.client.version = v;
    d.client.keep_alive_s = 30;
    return d;
}

inline sim::PublishPlan plan(std::string topic, Duration interval, mqtt::QoS qos) {
    sim::PublishPlan p;
    p.topic = std::move(topic);
    p.interval = interval;
    p.qos = qos;
    return p;
}

inline void check_no_violations(sim::Simulation& s, std::uint64_t seed) {
    const auto& v = s.finish_checks();
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(v.empty(), (v.empty() ? std::string{} : v.front()));
    }
}

}  // namespace iotsim::test
