// describe_world: the snapshot of an IotCore that the architecture diagram of a running server
// (GET /iotsim/world) and of a simulated world (Simulation.world()) draw.

#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "iotsim/iotcore/world.hpp"

namespace iotsim::test {
namespace {

using CoreHarness = BasicHarness<iotcore::IotCore>;
using nlohmann::json;

}  // namespace

BOOST_AUTO_TEST_SUITE(iotcore_world)

BOOST_AUTO_TEST_CASE(the_world_lists_each_client_with_its_protocol_principal_and_subscriptions_in_client_id_order) {
    CoreHarness h;
    const auto lamp = h.connect("lamp", Version::v5);
    h.subscribe(lamp, "home/lamp/cmd", QoS::at_least_once);
    h.subscribe(lamp, "$aws/things/lamp/shadow/update/delta", QoS::at_most_once, 2);
    (void)h.connect("app");

    const json world = iotcore::describe_world(*h.broker);
    BOOST_REQUIRE_EQUAL(world["clients"].size(), 2U);
    const json& app = world["clients"][0];
    const json& l = world["clients"][1];
    BOOST_TEST(app["clientId"] == "app");
    BOOST_TEST(app["protocol"] == "MQTT 3.1.1");
    BOOST_TEST(l["clientId"] == "lamp");
    BOOST_TEST(l["protocol"] == "MQTT 5");
    BOOST_TEST(l["connected"] == true);
    BOOST_TEST(l["principal"] == "test-principal");
    const json expected = json::parse(R"([{"filter":"$aws/things/lamp/shadow/update/delta","qos":0},
                                          {"filter":"home/lamp/cmd","qos":1}])");
    BOOST_TEST(l["subscriptions"] == expected);
    BOOST_TEST(world["broker"]["connections"] == 2);
    BOOST_TEST(world["broker"]["sessions"] == 2);
    BOOST_TEST(world["omitted"]["clients"] == 0);
}

BOOST_AUTO_TEST_CASE(an_offline_persistent_session_is_listed_disconnected_without_a_principal) {
    CoreHarness h;
    const auto dev = h.connect("dev", Version::v311, /*clean=*/false);
    h.subscribe(dev, "cmd/dev");
    h.disconnect(dev);

    const json world = iotcore::describe_world(*h.broker);
    BOOST_REQUIRE_EQUAL(world["clients"].size(), 1U);
    const json& c = world["clients"][0];
    BOOST_TEST(c["connected"] == false);
    BOOST_TEST(c["persistent"] == true);
    BOOST_TEST(!c.contains("principal"));
    BOOST_TEST(c["subscriptions"][0]["filter"] == "cmd/dev");
    BOOST_TEST(world["broker"]["connections"] == 0);
}

BOOST_AUTO_TEST_CASE(the_world_carries_retained_topics_live_shadows_and_topic_rules) {
    CoreHarness h;
    const auto dev = h.connect("dev");
    h.publish(dev, "status/b", "on", QoS::at_most_once, /*retain=*/true);
    h.publish(dev, "status/a", "on", QoS::at_most_once, /*retain=*/true);
    h.publish(dev, "$aws/things/lamp/shadow/update", R"({"state":{"desired":{"on":true}}})", QoS::at_least_once);
    h.publish(dev, "$aws/things/lamp/shadow/name/cfg/update", R"({"state":{"reported":{"x":1}}})", QoS::at_least_once);
    h.publish(dev, "$aws/things/gone/shadow/update", R"({"state":{"reported":{"x":1}}})", QoS::at_least_once);
    h.publish(dev, "$aws/things/gone/shadow/delete", "", QoS::at_least_once);
    h.broker->rules().create("motion", R"({"sql":"SELECT * FROM 'motion/+'","actions":[
        {"republish":{"topic":"lamp/cmd","roleArn":"arn:aws:iam::123456789012:role/r"}}]})", h.now.wall);

    const json world = iotcore::describe_world(*h.broker);
    BOOST_TEST(world["retainedTopics"] == json::parse(R"(["status/a","status/b"])"));
    BOOST_TEST(world["broker"]["retained"] == 2);
    // Deleted shadows (tombstones) are not shown; the classic shadow comes before named ones.
    BOOST_REQUIRE_EQUAL(world["shadows"].size(), 2U);
    BOOST_TEST(world["shadows"][0]["thingName"] == "lamp");
    BOOST_TEST(!world["shadows"][0].contains("shadowName"));
    BOOST_TEST(world["shadows"][0]["state"]["desired"]["on"] == true);
    BOOST_TEST(world["shadows"][0]["version"] == 1);
    BOOST_TEST(world["shadows"][0]["state"]["delta"]["on"] == true);
    BOOST_TEST(!world["shadows"][1]["state"].contains("delta"));
    BOOST_TEST(world["shadows"][1]["shadowName"] == "cfg");
    BOOST_REQUIRE_EQUAL(world["rules"].size(), 1U);
    BOOST_TEST(world["rules"][0]["ruleName"] == "motion");
    BOOST_TEST(world["rules"][0]["sql"] == "SELECT * FROM 'motion/+'");
    BOOST_TEST(world["rules"][0]["actions"][0]["republish"]["topic"] == "lamp/cmd");
}

BOOST_AUTO_TEST_CASE(lists_beyond_the_limits_are_cut_and_what_was_cut_is_counted) {
    CoreHarness h;
    for (const char* id : {"c", "a", "b"}) {
        (void)h.connect(id);
    }
    iotcore::WorldLimits limits;
    limits.clients_max = 2;
    limits.rules_max = 0;
    h.broker->rules().create("r", R"({"sql":"SELECT * FROM 'x'","actions":[]})", h.now.wall);
    const json world = iotcore::describe_world(*h.broker, limits);
    BOOST_REQUIRE_EQUAL(world["clients"].size(), 2U);
    BOOST_TEST(world["clients"][0]["clientId"] == "a");
    BOOST_TEST(world["clients"][1]["clientId"] == "b");
    BOOST_TEST(world["omitted"]["clients"] == 1);
    BOOST_TEST(world["rules"].empty());
    BOOST_TEST(world["omitted"]["rules"] == 1);
    BOOST_TEST(world["broker"]["sessions"] == 3);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace iotsim::test
