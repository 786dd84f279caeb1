// The worked sequence of ../shared/reference/aws-iot-core.md §2.10 (AWS's tutorial
// using-device-shadows.html), step by step, in a fresh account: versions 1-3 where the tutorial,
// run in an account with history, shows 3-5.
#include "shadow_harness.hpp"

using namespace iotsim::shadow;
using namespace iotsim::shadow::test;

BOOST_AUTO_TEST_SUITE(shadow_worked_sequence)

BOOST_AUTO_TEST_CASE(aws_tutorial_sequence_reproduced_step_by_step) {
    Fixture f;
    const ShadowKey key = named("mySimulatedThing", "simShadow1");
    const auto topic = [&key](const ShadowResponse& r, std::size_t i) {
        return shadow_topic(key, r.notifications.at(i).suffix);
    };

    // 1. The device asks for a shadow that does not exist yet.
    f.now = at_s(1591140000);
    const auto step1 = f.service.handle_publish(
        "$aws/things/mySimulatedThing/shadow/name/simShadow1/get", "{}", f.now);
    BOOST_REQUIRE(step1);
    BOOST_TEST(step1->status == 404);
    BOOST_TEST(topic(*step1, 0) ==
               "$aws/things/mySimulatedThing/shadow/name/simShadow1/get/rejected");
    BOOST_TEST(payload(*step1, "get/rejected") ==
               json({{"code", 404},
                     {"message", "No shadow exists with name: 'simShadow1'"},
                     {"timestamp", 1591140000}}));

    // 2. The device reports its initial state.
    f.now = at_s(1591140517);
    const auto step2 = f.service.handle_publish(
        "$aws/things/mySimulatedThing/shadow/name/simShadow1/update",
        R"({"state":{"reported":{"ID":"SmartLamp21","ColorRGB":[128,128,128]}},)"
        R"("clientToken":"426bfd96-e720-46d3-95cd-014e3ef12bb6"})",
        f.now);
    BOOST_REQUIRE(step2);
    BOOST_REQUIRE(step2->accepted());
    BOOST_TEST(topic(*step2, 0) ==
               "$aws/things/mySimulatedThing/shadow/name/simShadow1/update/accepted");
    const std::int64_t t2 = 1591140517;
    BOOST_TEST(
        payload(*step2, "update/accepted") ==
        json(
            {{"state", {{"reported", {{"ID", "SmartLamp21"}, {"ColorRGB", {128, 128, 128}}}}}},
             {"metadata", {{"reported", {{"ID", ts(t2)}, {"ColorRGB", {ts(t2), ts(t2), ts(t2)}}}}}},
             {"version", 1},
             {"timestamp", t2},
             {"clientToken", "426bfd96-e720-46d3-95cd-014e3ef12bb6"}}));
    BOOST_TEST(!published(*step2, "update/delta"));

    // 3. The app asks for a new colour through UpdateThingShadow (REST).
    f.now = at_s(1591141596);
    const std::int64_t t3 = 1591141596;
    const auto step3 = f.service.update(key,
                                        R"({"state":{"desired":{"ColorRGB":[255,255,0]}},)"
                                        R"("clientToken":"21b21b21-bfd2-4279-8c65-e2f697ff4fab"})",
                                        f.now, RequestOrigin::rest);
    BOOST_REQUIRE(step3.accepted());
    BOOST_TEST(step3.document ==
               json({{"state", {{"desired", {{"ColorRGB", {255, 255, 0}}}}}},
                     {"metadata", {{"desired", {{"ColorRGB", {ts(t3), ts(t3), ts(t3)}}}}}},
                     {"version", 2},
                     {"timestamp", t3},
                     {"clientToken", "21b21b21-bfd2-4279-8c65-e2f697ff4fab"}}));
    BOOST_TEST(payload(step3, "update/delta") ==
               json({{"version", 2},
                     {"timestamp", t3},
                     {"state", {{"ColorRGB", {255, 255, 0}}}},
                     {"metadata", {{"ColorRGB", {ts(t3), ts(t3), ts(t3)}}}},
                     {"clientToken", "21b21b21-bfd2-4279-8c65-e2f697ff4fab"}}));

    // 4. The device applies the colour and reports it: no delta is left.
    f.now = at_s(1591142747);
    const std::int64_t t4 = 1591142747;
    const auto step4 =
        f.service.handle_publish("$aws/things/mySimulatedThing/shadow/name/simShadow1/update",
                                 R"({"state":{"reported":{"ColorRGB":[255,255,0]}},)"
                                 R"("clientToken":"a4dc2227-9213-4c6a-a6a5-053304f60258"})",
                                 f.now);
    BOOST_REQUIRE(step4);
    BOOST_REQUIRE(step4->accepted());
    BOOST_TEST(step4->document["version"] == 3);
    BOOST_TEST(!published(*step4, "update/delta"));
    BOOST_TEST(payload(*step4, "update/documents") ==
               json({{"previous",
                      {{"state",
                        {{"desired", {{"ColorRGB", {255, 255, 0}}}},
                         {"reported", {{"ID", "SmartLamp21"}, {"ColorRGB", {128, 128, 128}}}}}},
                       {"metadata",
                        {{"desired", {{"ColorRGB", {ts(t3), ts(t3), ts(t3)}}}},
                         {"reported", {{"ID", ts(t2)}, {"ColorRGB", {ts(t2), ts(t2), ts(t2)}}}}}},
                       {"version", 2}}},
                     {"current",
                      {{"state",
                        {{"desired", {{"ColorRGB", {255, 255, 0}}}},
                         {"reported", {{"ID", "SmartLamp21"}, {"ColorRGB", {255, 255, 0}}}}}},
                       {"metadata",
                        {{"desired", {{"ColorRGB", {ts(t3), ts(t3), ts(t3)}}}},
                         {"reported", {{"ID", ts(t2)}, {"ColorRGB", {ts(t4), ts(t4), ts(t4)}}}}}},
                       {"version", 3}}},
                     {"timestamp", t4},
                     {"clientToken", "a4dc2227-9213-4c6a-a6a5-053304f60258"}}));

    // 5. The app reads the shadow (GetThingShadow): desired is kept, there is no delta.
    f.now = at_s(1591143000);
    const auto step5 = f.service.get(key, "", f.now, RequestOrigin::rest);
    BOOST_REQUIRE(step5.accepted());
    BOOST_TEST(step5.notifications.empty());
    BOOST_TEST(step5.document ==
               json({{"state",
                      {{"desired", {{"ColorRGB", {255, 255, 0}}}},
                       {"reported", {{"ID", "SmartLamp21"}, {"ColorRGB", {255, 255, 0}}}}}},
                     {"metadata",
                      {{"desired", {{"ColorRGB", {ts(t3), ts(t3), ts(t3)}}}},
                       {"reported", {{"ID", ts(t2)}, {"ColorRGB", {ts(t4), ts(t4), ts(t4)}}}}}},
                     {"version", 3},
                     {"timestamp", 1591143000}}));
}

BOOST_AUTO_TEST_SUITE_END()
