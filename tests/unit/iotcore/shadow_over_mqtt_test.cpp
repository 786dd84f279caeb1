// The composition of the broker with the Device Shadow service: shadow requests published by
// devices reach the service through the broker's routing, and its answers are ordinary
// publications that every subscriber sees. Also the broker's listener mechanism underneath.

#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace iotsim::test {
namespace {

using CoreHarness = BasicHarness<iotcore::IotCore>;
using nlohmann::json;

std::vector<std::string> topics_of(const std::vector<Publish>& pubs) {
    std::vector<std::string> out;
    for (const auto& p : pubs) {
        out.push_back(p.topic);
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(iotcore_shadow_over_mqtt)

BOOST_AUTO_TEST_CASE(a_device_update_is_acknowledged_first_then_answered_on_accepted_documents_and_delta) {
    CoreHarness h;
    const auto lamp = h.connect("lamp");
    h.subscribe(lamp, "$aws/things/lamp/shadow/update/#", QoS::at_least_once, 1);
    h.publish(lamp, "$aws/things/lamp/shadow/update", R"({"state":{"desired":{"on":true}},"clientToken":"t1"})",
              QoS::at_least_once, false, 7);
    auto packets = h.take(lamp);
    BOOST_REQUIRE_EQUAL(packets.size(), 4U);
    BOOST_REQUIRE(std::holds_alternative<Ack>(packets[0]));
    BOOST_TEST(std::get<Ack>(packets[0]).packet_id == 7);
    std::vector<std::string> topics;
    for (std::size_t i = 1; i < packets.size(); ++i) {
        BOOST_REQUIRE(std::holds_alternative<Publish>(packets[i]));
        topics.push_back(std::get<Publish>(packets[i]).topic);
    }
    const std::vector<std::string> expected{"$aws/things/lamp/shadow/update/accepted",
                                            "$aws/things/lamp/shadow/update/documents",
                                            "$aws/things/lamp/shadow/update/delta"};
    BOOST_TEST(topics == expected, boost::test_tools::per_element());
    const auto accepted = json::parse(std::get<Publish>(packets[1]).payload);
    BOOST_TEST(accepted["version"] == 1);
    BOOST_TEST(accepted["clientToken"] == "t1");
    const auto delta = json::parse(std::get<Publish>(packets[3]).payload);
    BOOST_TEST(delta["state"] == json::parse(R"({"on":true})"));
    BOOST_TEST(h.broker->stats().shadow_requests == 1U);
}

BOOST_AUTO_TEST_CASE(shadow_answers_reach_every_subscriber_of_their_topic_not_only_the_requester) {
    CoreHarness h;
    const auto app = h.connect("app");
    const auto lamp = h.connect("lamp");
    h.subscribe(lamp, "$aws/things/lamp/shadow/update/delta");
    h.publish(app, "$aws/things/lamp/shadow/update", R"({"state":{"desired":{"color":"red"}}})", QoS::at_least_once);
    auto pubs = h.received(lamp);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(pubs[0].topic == "$aws/things/lamp/shadow/update/delta");
    BOOST_TEST(json::parse(pubs[0].payload)["state"]["color"] == "red");
    BOOST_TEST((pubs[0].qos == QoS::at_least_once));
    // The requester did not subscribe to anything: it gets only its PUBACK.
    BOOST_TEST(h.received(app).empty());
}

BOOST_AUTO_TEST_CASE(a_qos0_subscription_gets_shadow_answers_at_qos0) {
    CoreHarness h;
    const auto lamp = h.connect("lamp");
    h.subscribe(lamp, "$aws/things/lamp/shadow/get/+", QoS::at_most_once);
    h.publish(lamp, "$aws/things/lamp/shadow/get", "", QoS::at_most_once);
    auto pubs = h.received(lamp);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(pubs[0].topic == "$aws/things/lamp/shadow/get/rejected");
    BOOST_TEST((pubs[0].qos == QoS::at_most_once));
    const auto doc = json::parse(pubs[0].payload);
    BOOST_TEST(doc["code"] == 404);
    BOOST_TEST(doc["message"] == "No shadow exists with name: 'lamp'");
}

BOOST_AUTO_TEST_CASE(a_named_shadow_request_is_answered_on_the_named_shadow_topics) {
    CoreHarness h;
    const auto dev = h.connect("mySimulatedThing");
    h.subscribe(dev, "$aws/things/mySimulatedThing/shadow/name/simShadow1/update/accepted");
    h.subscribe(dev, "$aws/things/mySimulatedThing/shadow/update/accepted", QoS::at_least_once, 2);
    h.publish(dev, "$aws/things/mySimulatedThing/shadow/name/simShadow1/update",
              R"({"state":{"reported":{"color":"green"}}})", QoS::at_least_once);
    auto pubs = h.received(dev);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(pubs[0].topic == "$aws/things/mySimulatedThing/shadow/name/simShadow1/update/accepted");
    BOOST_TEST(h.broker->shadows().find({"mySimulatedThing", "simShadow1"}) != nullptr);
    BOOST_TEST(h.broker->shadows().find({"mySimulatedThing", ""}) == nullptr);
}

BOOST_AUTO_TEST_CASE(subscribers_to_a_request_topic_see_the_request_as_well_as_the_service) {
    CoreHarness h;
    const auto watcher = h.connect("watcher");
    const auto dev = h.connect("dev");
    h.subscribe(watcher, "$aws/things/+/shadow/update");
    h.publish(dev, "$aws/things/dev/shadow/update", R"({"state":{"reported":{"t":1}}})", QoS::at_least_once);
    auto pubs = h.received(watcher);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(pubs[0].topic == "$aws/things/dev/shadow/update");
    BOOST_REQUIRE(h.broker->shadows().find({"dev", ""}) != nullptr);
    BOOST_TEST(h.broker->shadows().find({"dev", ""})->version == 1);
}

BOOST_AUTO_TEST_CASE(a_hash_subscriber_does_not_receive_shadow_topics_because_they_start_with_dollar) {
    CoreHarness h;
    const auto all = h.connect("all");
    const auto dev = h.connect("dev");
    h.subscribe(all, "#");
    h.publish(dev, "$aws/things/dev/shadow/update", R"({"state":{"desired":{"x":1}}})", QoS::at_least_once);
    BOOST_TEST(h.received(all).empty());
}

BOOST_AUTO_TEST_CASE(topics_under_a_shadow_that_are_not_requests_get_no_answer) {
    CoreHarness h;
    const auto dev = h.connect("dev");
    h.subscribe(dev, "$aws/things/dev/shadow/#");
    h.publish(dev, "$aws/things/dev/shadow/bogus", "{}", QoS::at_least_once);
    auto pubs = h.received(dev);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);  // its own publish, nothing from the service
    BOOST_TEST(pubs[0].topic == "$aws/things/dev/shadow/bogus");
    BOOST_TEST(h.broker->stats().shadow_requests == 0U);
}

BOOST_AUTO_TEST_CASE(a_publish_the_authorizer_denies_never_reaches_the_shadow_service) {
    CoreHarness h;
    h.auth.deny_publish_topics.push_back("$aws/things/dev/shadow/update");
    const auto dev = h.connect("dev", Version::v5);
    h.publish(dev, "$aws/things/dev/shadow/update", R"({"state":{"desired":{"x":1}}})", QoS::at_least_once);
    auto acks = h.take_all<Ack>(dev);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(static_cast<int>(acks[0].reason) == 0x87);
    BOOST_TEST(h.broker->shadows().find({"dev", ""}) == nullptr);
}

BOOST_AUTO_TEST_CASE(an_offline_persistent_device_receives_the_delta_queued_while_it_was_away) {
    CoreHarness h;
    auto lamp = h.connect("lamp", Version::v311, false);
    h.subscribe(lamp, "$aws/things/lamp/shadow/update/delta");
    h.disconnect(lamp);
    const auto app = h.connect("app");
    h.publish(app, "$aws/things/lamp/shadow/update", R"({"state":{"desired":{"on":true}}})", QoS::at_least_once);
    lamp = h.connect("lamp", Version::v311, false);
    BOOST_TEST(h.last_connack.session_present);
    auto pubs = h.received(lamp);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(pubs[0].topic == "$aws/things/lamp/shadow/update/delta");
    BOOST_TEST(json::parse(pubs[0].payload)["state"]["on"] == true);
}

BOOST_AUTO_TEST_CASE(shadows_survive_a_crash_of_the_process_through_their_store) {
    CoreHarness h;
    const auto dev = h.connect("dev");
    h.publish(dev, "$aws/things/dev/shadow/update", R"({"state":{"reported":{"v":1}}})", QoS::at_least_once);
    h.publish(dev, "$aws/things/dev/shadow/update", R"({"state":{"reported":{"v":2}}})", QoS::at_least_once);
    h.crash_and_restart();
    BOOST_REQUIRE(h.broker->shadows().find({"dev", ""}) != nullptr);
    BOOST_TEST(h.broker->shadows().find({"dev", ""})->version == 2);
    const auto again = h.connect("dev");
    h.subscribe(again, "$aws/things/dev/shadow/update/accepted");
    h.publish(again, "$aws/things/dev/shadow/update", R"({"state":{"reported":{"v":3}}})", QoS::at_least_once);
    auto pubs = h.received(again);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(json::parse(pubs[0].payload)["version"] == 3);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(iotcore_shadow_data_plane)

BOOST_AUTO_TEST_CASE(a_rest_update_publishes_accepted_documents_and_delta_like_an_mqtt_update) {
    CoreHarness h;
    const auto sub = h.connect("sub");
    h.subscribe(sub, "$aws/things/lamp/shadow/update/#");
    auto r = h.broker->shadow_update({"lamp", ""}, R"({"state":{"desired":{"on":true}}})", h.now);
    BOOST_TEST(r.response.status == 200);
    BOOST_TEST(r.response.document["version"] == 1);
    h.apply(std::move(r.effects));
    auto pubs = h.received(sub);
    const std::vector<std::string> expected{"$aws/things/lamp/shadow/update/accepted",
                                            "$aws/things/lamp/shadow/update/documents",
                                            "$aws/things/lamp/shadow/update/delta"};
    const auto topics = topics_of(pubs);
    BOOST_TEST(topics == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_rest_get_of_an_unknown_shadow_answers_404_and_publishes_nothing) {
    CoreHarness h;
    const auto sub = h.connect("sub");
    h.subscribe(sub, "$aws/things/ghost/shadow/#");
    auto r = h.broker->shadow_get({"ghost", ""}, "", h.now);
    BOOST_TEST(r.response.status == 404);
    BOOST_TEST(r.effects.empty());
    BOOST_TEST(h.received(sub).empty());
}

BOOST_AUTO_TEST_CASE(a_rest_delete_publishes_delete_accepted_and_a_later_get_is_404) {
    CoreHarness h;
    const auto sub = h.connect("sub");
    h.subscribe(sub, "$aws/things/lamp/shadow/delete/accepted");
    h.apply(h.broker->shadow_update({"lamp", ""}, R"({"state":{"reported":{"on":false}}})", h.now).effects);
    auto del = h.broker->shadow_delete({"lamp", ""}, "", h.now);
    BOOST_TEST(del.response.status == 200);
    h.apply(std::move(del.effects));
    auto pubs = h.received(sub);
    BOOST_REQUIRE_EQUAL(pubs.size(), 1U);
    BOOST_TEST(json::parse(pubs[0].payload)["version"] == 1);
    BOOST_TEST(h.broker->shadow_get({"lamp", ""}, "", h.now).response.status == 404);
}

BOOST_AUTO_TEST_CASE(named_shadows_are_listed_through_the_data_plane) {
    CoreHarness h;
    h.apply(h.broker->shadow_update({"t", "b"}, R"({"state":{"reported":{"x":1}}})", h.now).effects);
    h.apply(h.broker->shadow_update({"t", "a"}, R"({"state":{"reported":{"x":1}}})", h.now).effects);
    h.apply(h.broker->shadow_update({"t", ""}, R"({"state":{"reported":{"x":1}}})", h.now).effects);
    const auto list = h.broker->list_named_shadows("t", "", std::nullopt, h.now);
    BOOST_TEST(list.status == 200);
    BOOST_TEST(list.document["results"] == json::parse(R"(["a","b"])"));
}

BOOST_AUTO_TEST_CASE(shadow_timestamps_come_from_the_hosts_wall_clock) {
    CoreHarness h;
    h.now.wall = WallTime{seconds(1'800'000'000)};
    auto r = h.broker->shadow_update({"t", ""}, R"({"state":{"reported":{"x":1}}})", h.now);
    BOOST_TEST(r.response.document["timestamp"] == 1'800'000'000);
    BOOST_TEST(r.response.document["metadata"]["reported"]["x"]["timestamp"] == 1'800'000'000);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(broker_listeners)

BOOST_AUTO_TEST_CASE(a_listener_gets_one_dispatch_per_message_however_many_of_its_filters_match) {
    Harness h;
    h.broker->listen(ListenerId{7}, "a/+");
    h.broker->listen(ListenerId{7}, "a/#");
    const auto dev = h.connect("dev");
    h.publish(dev, "a/b", "x", QoS::at_least_once);
    BOOST_REQUIRE_EQUAL(h.dispatched.size(), 1U);
    BOOST_TEST(h.dispatched[0].listener.value == 7U);
    BOOST_TEST(h.dispatched[0].message->topic == "a/b");
    BOOST_TEST(h.dispatched[0].message->publisher == "dev");
}

BOOST_AUTO_TEST_CASE(a_listener_sees_messages_from_inside_the_service_and_lifecycle_events) {
    Harness h;
    h.broker->listen(ListenerId{1}, "$aws/events/presence/connected/+");
    h.broker->listen(ListenerId{1}, "internal/+");
    Message m;
    m.topic = "internal/x";
    h.apply(h.broker->publish(std::move(m), h.now));
    (void)h.connect("dev");
    BOOST_REQUIRE_EQUAL(h.dispatched.size(), 2U);
    BOOST_TEST(h.dispatched[0].message->topic == "internal/x");
    BOOST_TEST(h.dispatched[1].message->topic == "$aws/events/presence/connected/dev");
}

BOOST_AUTO_TEST_CASE(an_unlistened_filter_stops_dispatching_and_basic_ingest_is_never_routed_to_listeners) {
    Harness h;
    h.broker->listen(ListenerId{3}, "a/b");
    h.broker->listen(ListenerId{3}, "$aws/rules/r/a/b");
    h.broker->unlisten(ListenerId{3}, "a/b");
    const auto dev = h.connect("dev");
    h.publish(dev, "a/b", "x");
    h.publish(dev, "$aws/rules/r/a/b", "x");
    BOOST_TEST(h.dispatched.empty());
}

BOOST_AUTO_TEST_CASE(listeners_are_not_sessions_and_never_count_as_subscribers) {
    Harness h;
    h.broker->listen(ListenerId{2}, "a/b");
    BOOST_TEST(!h.broker->session("$listener/2").has_value());
    BOOST_TEST(h.broker->connection_count() == 0U);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace iotsim::test
