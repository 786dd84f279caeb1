// The rules engine in the simulator: the motion_lamp scenario (the tutorial's third step) and the
// scenario format's "rules" section.

#include <boost/test/unit_test.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "sim_fixture.hpp"

namespace iotsim::test {

using nlohmann::json;

namespace {
std::filesystem::path scenario_path(const char* name) {
    return std::filesystem::path(IOTSIM_SOURCE_DIR) / "sim" / "scenarios" / name;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(scenario_rules)

BOOST_AUTO_TEST_CASE(a_motion_event_turns_the_lamp_on_through_a_republish_rule_reproducibly) {
    const auto sc = sim::load_scenario(scenario_path("motion_lamp.json"));
    auto run = [&] {
        auto s = sim::build_simulation(sc);
        s->run_until(Instant{sc.duration});
        BOOST_TEST(s->finish_checks().empty());
        const auto doc = json::parse(s->shadow_get("lamp").document);
        BOOST_TEST(doc["state"]["desired"]["on"] == true);
        BOOST_TEST(doc["state"]["reported"]["on"] == true);
        BOOST_TEST(!doc["state"].contains("delta"));
        const auto& rules = s->core()->rules().stats();
        BOOST_TEST(rules.matches == 8U);  // 4 events x 2 rules
        BOOST_TEST(rules.republishes == 4U);
        BOOST_TEST(rules.actions_emitted == 4U);
        return s->trace().hash_hex();
    };
    const auto first = run();
    BOOST_TEST(first == run());
}

BOOST_AUTO_TEST_CASE(the_rules_of_a_scenario_are_validated_as_create_topic_rule_does) {
    const auto error_of = [](const char* text) -> std::string {
        try {
            (void)sim::parse_scenario(text);
        } catch (const sim::ScenarioError& e) {
            return e.what();
        }
        return "";
    };
    BOOST_TEST(error_of(R"({"version":1,"rules":[{"name":"r","sql":"SELECT * FORM 'a'","actions":[]}]})").find(
                   "rules[0]: SqlParseException") != std::string::npos);
    BOOST_TEST(error_of(R"({"version":1,"rules":[{"name":"bad-name","sql":"SELECT * FROM 'a'","actions":[]}]})").find(
                   "rules[0]: InvalidRequestException") != std::string::npos);
    BOOST_TEST(error_of(R"({"version":1,"rules":[{"sql":"SELECT * FROM 'a'","actions":[]}]})").find("rules[0].name") !=
               std::string::npos);
    BOOST_TEST(error_of(R"({"version":1,"rules":[{"name":"r","sql":"SELECT * FROM 'a'","actions":[]}]})").empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace iotsim::test
