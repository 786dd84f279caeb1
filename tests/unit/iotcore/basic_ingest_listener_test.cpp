// Broker::listen_basic_ingest: `$aws/rules/<rule>/...` is dispatched to that rule's listener
// only; no subscriber and no filter listener sees it.

#include <boost/test/unit_test.hpp>

#include "harness.hpp"

namespace iotsim::test {

BOOST_AUTO_TEST_SUITE(broker_basic_ingest)

BOOST_AUTO_TEST_CASE(a_basic_ingest_message_is_dispatched_only_to_the_named_rules_listener) {
    Harness h;
    h.broker->listen(ListenerId{5}, "#");
    h.broker->listen_basic_ingest(ListenerId{9}, "myrule");
    h.broker->listen_basic_ingest(ListenerId{10}, "other");
    const auto dev = h.connect("dev");
    const auto app = h.connect("app");
    h.subscribe(app, "#");
    h.publish(dev, "$aws/rules/myrule/a/b", "x", QoS::at_least_once);
    BOOST_REQUIRE_EQUAL(h.dispatched.size(), 1U);
    BOOST_TEST(h.dispatched[0].listener.value == 9U);
    BOOST_TEST(h.dispatched[0].message->topic == "$aws/rules/myrule/a/b");
    BOOST_TEST(h.received(app).empty());
    h.publish(dev, "$aws/rules/myrule", "y", QoS::at_least_once);
    BOOST_TEST(h.dispatched.size() == 2U);
}

BOOST_AUTO_TEST_CASE(a_basic_ingest_message_for_an_unregistered_rule_is_dropped_and_still_acknowledged) {
    Harness h;
    h.broker->listen_basic_ingest(ListenerId{9}, "myrule");
    h.broker->unlisten_basic_ingest("myrule");
    const auto dev = h.connect("dev");
    h.publish(dev, "$aws/rules/myrule/a", "x", QoS::at_least_once, false, 3);
    BOOST_TEST(h.dispatched.empty());
    auto acks = h.take_all<Ack>(dev);
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(acks[0].packet_id == 3);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace iotsim::test
