// The Device Shadow in the simulator: shadow-synced devices, the tutorial's lamp, the checks.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "iotsim/sim/shadow_device.hpp"
#include "sim_fixture.hpp"

using namespace iotsim;
using namespace iotsim::test;
using nlohmann::json;

namespace {

std::filesystem::path scenario_path(const char* name) {
    return std::filesystem::path(IOTSIM_SOURCE_DIR) / "sim" / "scenarios" / name;
}

sim::DeviceSpec shadow_lamp(const char* reported = R"({"power":"off"})") {
    auto lamp = device("lamp", mqtt::Version::v5);
    lamp.client.backoff.max = seconds(20);
    lamp.hooks = sim::make_shadow_sync({"", "", reported});
    return lamp;
}

json reported_of(sim::Simulation& s, const std::string& thing) {
    const auto r = s.shadow_get(thing);
    BOOST_REQUIRE_EQUAL(r.status, 200);
    return json::parse(r.document)["state"]["reported"];
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scenario_shadow)

BOOST_AUTO_TEST_CASE(a_shadow_synced_device_reports_its_state_when_it_connects) {
    const auto seed = test_seed(3);
    sim::SimulationOptions o;
    o.seed = seed;
    sim::Simulation s(o);
    s.add_device(shadow_lamp(R"({"power":"off","brightness":0})"));
    s.run_until(Instant{seconds(5)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(reported_of(s, "lamp") == json::parse(R"({"power":"off","brightness":0})"));
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(a_desired_change_through_the_data_plane_reaches_the_device_which_reports_back) {
    const auto seed = test_seed(4);
    sim::SimulationOptions o;
    o.seed = seed;
    o.check_shadow_converged = {{"lamp", ""}};
    sim::Simulation s(o);
    s.add_device(shadow_lamp());
    s.run_until(Instant{seconds(5)});
    const auto r = s.shadow_update("lamp", R"({"state":{"desired":{"power":"on"}}})");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(json::parse(r.document)["version"] == 2);  // 1 was the lamp's first report
    s.run_until(Instant{seconds(6)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(reported_of(s, "lamp")["power"] == "on");
        const auto doc = json::parse(s.shadow_get("lamp").document);
        BOOST_TEST(doc["version"] == 3);  // desired, then the lamp's report
        BOOST_TEST(!doc["state"].contains("delta"));
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(a_command_set_while_the_lamp_is_partitioned_is_applied_after_the_heal) {
    // Goal: the shadow keeps the control app's command while the lamp is offline, and the lamp
    // converges when it returns (the tutorial's answer to "what is a device shadow for?").
    // Method: partition the lamp, set desired, check it did not change during the partition and
    // that reported equals desired some time after the heal.
    const auto seed = test_seed(5);
    sim::SimulationOptions o;
    o.seed = seed;
    o.link.loss_probability = 0.02;
    o.link.split_probability = 0.3;
    o.check_shadow_converged = {{"lamp", ""}};
    sim::Simulation s(o);
    s.add_device(shadow_lamp());
    s.add_fault({sim::FaultKind::partition, Instant{seconds(10)}, {"lamp"}, seconds(120), {}, {}, 0});
    s.run_until(Instant{seconds(20)});
    BOOST_TEST(s.shadow_update("lamp", R"({"state":{"desired":{"power":"on","level":7}}})").status == 200);
    s.run_until(Instant{seconds(125)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(reported_of(s, "lamp")["power"] == "off");  // still away
    }
    s.run_until(Instant{minutes(4)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(reported_of(s, "lamp") == json::parse(R"({"power":"on","level":7})"));
        BOOST_TEST(s.device("lamp")->disconnects >= 1U);
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(a_crashed_device_forgets_its_state_and_converges_again_after_reboot) {
    const auto seed = test_seed(6);
    sim::SimulationOptions o;
    o.seed = seed;
    o.check_shadow_converged = {{"lamp", ""}};
    sim::Simulation s(o);
    s.add_device(shadow_lamp());
    s.run_until(Instant{seconds(5)});
    (void)s.shadow_update("lamp", R"({"state":{"desired":{"power":"on"}}})");
    s.add_fault({sim::FaultKind::device_crash, Instant{seconds(10)}, {"lamp"}, seconds(5), {}, {}, 0});
    s.run_until(Instant{minutes(2)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(reported_of(s, "lamp")["power"] == "on");
        // Rebooted in "off", reported it, got the delta back and turned on again: 3 more versions.
        BOOST_TEST(json::parse(s.shadow_get("lamp").document)["version"].get<int>() >= 5);
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(the_convergence_check_reports_a_device_that_never_applies_its_delta) {
    sim::SimulationOptions o;
    o.seed = 1;
    o.check_shadow_converged = {{"lamp", ""}, {"ghost", ""}};
    sim::Simulation s(o);
    s.add_device(device("lamp"));  // no shadow behaviour
    s.run_until(Instant{seconds(2)});
    (void)s.shadow_update("lamp", R"({"state":{"desired":{"power":"on"}}})");
    s.run_until(Instant{seconds(10)});
    const auto& v = s.finish_checks();
    BOOST_REQUIRE_EQUAL(v.size(), 2U);
    BOOST_TEST(v[0].find("shadow lamp has not converged") != std::string::npos);
    BOOST_TEST(v[1].find("shadow ghost does not exist") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(shadows_and_their_versions_survive_a_broker_crash) {
    const auto seed = test_seed(8);
    sim::SimulationOptions o;
    o.seed = seed;
    o.check_shadow_converged = {{"lamp", ""}};
    sim::Simulation s(o);
    s.add_device(shadow_lamp());
    s.run_until(Instant{seconds(5)});
    (void)s.shadow_update("lamp", R"({"state":{"desired":{"power":"on"}}})");
    s.add_fault({sim::FaultKind::broker_crash, Instant{seconds(10)}, {}, seconds(30), {}, {}, 0});
    s.run_until(Instant{seconds(20)});
    BOOST_TEST(s.shadow_get("lamp").status == 503);
    BOOST_TEST(s.shadow_update("lamp", R"({"state":{"desired":{"power":"off"}}})").status == 503);
    s.run_until(Instant{minutes(3)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        const auto doc = json::parse(s.shadow_get("lamp").document);
        BOOST_TEST(doc["state"]["reported"]["power"] == "on");
        BOOST_TEST(doc["version"].get<int>() >= 3);
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(a_fleet_of_shadow_synced_devices_keeps_state_per_device) {
    const auto seed = test_seed(9);
    sim::SimulationOptions o;
    o.seed = seed;
    sim::Simulation s(o);
    auto spec = device("bulb");
    spec.hooks = sim::make_shadow_sync({"", "", R"({"on":false})"});
    s.add_fleet("bulb", 20, spec);
    s.run_until(Instant{seconds(5)});
    (void)s.shadow_update("bulb-000007", R"({"state":{"desired":{"on":true}}})");
    s.run_until(Instant{seconds(10)});
    BOOST_TEST(reported_of(s, "bulb-000007")["on"] == true);
    BOOST_TEST(reported_of(s, "bulb-000008")["on"] == false);
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(the_lamp_shadow_scenario_converges_and_is_reproducible) {
    const auto sc = sim::load_scenario(scenario_path("lamp_shadow.json"));
    auto run = [&] {
        auto s = sim::build_simulation(sc);
        s->run_until(Instant{sc.duration});
        BOOST_TEST(s->finish_checks().empty());
        const auto doc = json::parse(s->shadow_get("lamp").document);
        BOOST_TEST(doc["state"]["reported"] == doc["state"]["desired"]);
        BOOST_TEST(doc["state"]["desired"]["brightness"] == 6);  // the app's sixth command
        return s->trace().hash_hex();
    };
    BOOST_TEST(run() == run());
}

BOOST_AUTO_TEST_CASE(the_shadow_fields_of_a_scenario_are_validated) {
    const auto parse = [](const char* text) { return sim::parse_scenario(text); };
    BOOST_CHECK_EXCEPTION(
        parse(R"({"version":1,"devices":[{"name":"a","shadow":{"reported":3}}]})"), sim::ScenarioError,
        [](const sim::ScenarioError& e) { return std::string(e.what()).find("devices[0].shadow.reported") != std::string::npos; });
    BOOST_CHECK_EXCEPTION(
        parse(R"({"version":1,"devices":[{"name":"a","shadow":{"thing":"bad name"}}]})"), sim::ScenarioError,
        [](const sim::ScenarioError& e) { return std::string(e.what()).find("invalid thing name") != std::string::npos; });
    BOOST_CHECK_EXCEPTION(
        parse(R"({"version":1,"devices":[{"name":"a","shadow":{"colour":1}}]})"), sim::ScenarioError,
        [](const sim::ScenarioError& e) { return std::string(e.what()).find("devices[0].shadow.colour: unknown field") != std::string::npos; });
}

BOOST_AUTO_TEST_SUITE_END()
