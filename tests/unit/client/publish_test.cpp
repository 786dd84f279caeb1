// Publishing (QoS 0 at most once, QoS 1 at least once across reconnects, the offline queue,
// the in-flight window) and receiving application messages.
#include "client_harness.hpp"

using namespace iotsim;
using namespace iotsim::client_test;

BOOST_AUTO_TEST_SUITE(client_publish)

BOOST_AUTO_TEST_CASE(qos0_publish_is_written_and_completed_at_once) {
    ClientHost h({.client_id = "d"});
    h.establish();
    const std::uint64_t token = h.publish("a/b", "hi", QoS::at_most_once);
    const unsigned char expected[] = {
        0x30, 7,                    // PUBLISH, QoS 0, remaining length 7
        0x00, 0x03, 'a', '/', 'b',  // topic
        'h',  'i',                  // payload
    };
    BOOST_TEST(h.wire == std::string(reinterpret_cast<const char*>(expected), sizeof expected));
    BOOST_REQUIRE_EQUAL(h.published.size(), 1U);
    BOOST_TEST(h.published[0].token == token);
    BOOST_TEST(h.published[0].reason == ReasonCode::success);
    BOOST_TEST(!h.published[0].dropped);
    BOOST_TEST(h.client.stats().publishes_sent == 1U);
}

BOOST_AUTO_TEST_CASE(qos0_publish_while_offline_is_dropped_and_counted) {
    ClientHost h({.client_id = "d"});
    const std::uint64_t token = h.publish("a/b", "hi", QoS::at_most_once);
    h.establish();
    BOOST_TEST(h.take_all<Publish>().empty());
    BOOST_REQUIRE_EQUAL(h.published.size(), 1U);
    BOOST_TEST(h.published[0].token == token);
    BOOST_TEST(h.published[0].dropped);
    BOOST_TEST(h.client.stats().qos0_dropped_offline == 1U);
}

BOOST_AUTO_TEST_CASE(qos1_publish_is_kept_until_its_puback) {
    ClientHost h({.client_id = "d"});
    h.establish();
    const std::uint64_t token = h.publish("a/b", "hi", QoS::at_least_once, true);
    const auto sent = h.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(sent.size(), 1U);
    BOOST_TEST(sent[0].qos == QoS::at_least_once);
    BOOST_TEST(sent[0].retain);
    BOOST_TEST(!sent[0].dup);
    BOOST_TEST(sent[0].packet_id != 0);
    BOOST_TEST(h.published.empty());
    BOOST_TEST(h.client.inflight() == 1U);
    h.puback(sent[0].packet_id);
    BOOST_REQUIRE_EQUAL(h.published.size(), 1U);
    BOOST_TEST(h.published[0].token == token);
    BOOST_TEST(h.published[0].reason == ReasonCode::success);
    BOOST_TEST(h.client.inflight() == 0U);
    BOOST_TEST(h.client.stats().publishes_acked == 1U);
}

BOOST_AUTO_TEST_CASE(puback_with_a_failure_reason_completes_the_publish_without_retry) {
    ClientHost h({.client_id = "d", .version = Version::v5});
    h.establish();
    const std::uint64_t token = h.publish("a/b", "hi", QoS::at_least_once);
    h.puback(h.take_all<Publish>().at(0).packet_id, ReasonCode::not_authorized);
    BOOST_REQUIRE_EQUAL(h.published.size(), 1U);
    BOOST_TEST(h.published[0].token == token);
    BOOST_TEST(h.published[0].reason == ReasonCode::not_authorized);
    BOOST_TEST(!h.published[0].dropped);
    BOOST_TEST(h.client.stats().publishes_failed == 1U);
    h.drop();
    h.establish();
    BOOST_TEST(h.take_all<Publish>().empty());
}

BOOST_AUTO_TEST_CASE(
    unacknowledged_publishes_are_resent_after_reconnect_in_order_with_dup_before_new_ones) {
    // [MQTT-4.4.0-1] original packet ids; [MQTT-3.3.1-1] DUP=1; [MQTT-4.6.0-1] original order.
    ClientHost h({.client_id = "d", .clean_start = false});
    h.establish();
    h.publish("t", "A", QoS::at_least_once);
    h.publish("t", "B", QoS::at_least_once);
    h.publish("t", "C", QoS::at_least_once);
    const auto first = h.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(first.size(), 3U);
    h.puback(first[0].packet_id);
    h.drop();
    h.publish("t", "D", QoS::at_least_once);  // offline: queued behind the unacknowledged ones
    BOOST_TEST(h.client.queued() == 3U);
    h.establish(/*session_present=*/true);
    const auto again = h.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(again.size(), 3U);
    BOOST_TEST(again[0].payload == "B");
    BOOST_TEST(again[0].dup);
    BOOST_TEST(again[0].packet_id == first[1].packet_id);
    BOOST_TEST(again[1].payload == "C");
    BOOST_TEST(again[1].dup);
    BOOST_TEST(again[1].packet_id == first[2].packet_id);
    BOOST_TEST(again[2].payload == "D");
    BOOST_TEST(!again[2].dup);
    BOOST_TEST(h.client.stats().publishes_resent == 2U);
    for (const auto& p : again) {
        h.puback(p.packet_id);
    }
    BOOST_TEST(h.published.size() == 4U);
}

BOOST_AUTO_TEST_CASE(pubacks_out_of_order_complete_their_own_publishes_and_the_rest_are_resent_in_order) {
    // A broken peer may acknowledge out of order [MQTT-4.6.0-2]: each PUBACK completes the
    // publish with its id, and what stays unacknowledged keeps its order, ids and payloads for the
    // resend. Ten publishes: the queue's slots wrap and grow past the two kept inline.
    ClientHost h({.client_id = "d", .clean_start = false, .inflight_max = 8});
    h.establish();
    std::vector<std::uint64_t> tokens;
    for (int i = 0; i < 10; ++i) {
        tokens.push_back(h.publish("t", "m" + std::to_string(i), QoS::at_least_once));
    }
    const auto first = h.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(first.size(), 8U);
    BOOST_TEST(h.client.queued() == 2U);
    for (const int i : {5, 0, 7, 2}) {
        h.puback(first[static_cast<std::size_t>(i)].packet_id);
    }
    BOOST_REQUIRE_EQUAL(h.published.size(), 4U);
    BOOST_TEST(h.published[0].token == tokens[5]);
    BOOST_TEST(h.published[1].token == tokens[0]);
    BOOST_TEST(h.published[2].token == tokens[7]);
    BOOST_TEST(h.published[3].token == tokens[2]);
    const auto filled = h.take_all<Publish>();  // the window had room for the two queued ones
    BOOST_REQUIRE_EQUAL(filled.size(), 2U);
    BOOST_TEST(filled[0].payload == "m8");
    BOOST_TEST(filled[1].payload == "m9");
    h.puback(first[5].packet_id);  // twice: no longer outstanding
    BOOST_TEST(h.client.stats().unexpected_acks == 1U);
    h.drop();
    h.establish(/*session_present=*/true);
    const auto again = h.take_all<Publish>();
    const std::vector<int> owed = {1, 3, 4, 6};
    BOOST_REQUIRE_EQUAL(again.size(), owed.size() + 2);
    for (std::size_t k = 0; k < owed.size(); ++k) {
        const auto& sent = first[static_cast<std::size_t>(owed[k])];
        BOOST_TEST(again[k].payload == sent.payload);
        BOOST_TEST(again[k].packet_id == sent.packet_id);
        BOOST_TEST(again[k].dup);
    }
    BOOST_TEST(again[4].packet_id == filled[0].packet_id);
    BOOST_TEST(again[5].packet_id == filled[1].packet_id);
    for (auto it = again.rbegin(); it != again.rend(); ++it) {
        h.puback(it->packet_id);
    }
    BOOST_TEST(h.published.size() == 10U);
    BOOST_TEST(h.client.inflight() == 0U);
    BOOST_TEST(h.client.queued() == 0U);
}

BOOST_AUTO_TEST_CASE(clients_sharing_a_pool_write_into_its_buffers_and_give_them_back) {
    // A simulator's clients write into one pool of spare strings (see share_spare_bytes()).
    SpareStrings pool(8);
    std::string spare;
    spare.reserve(200);
    const char* const buffer = spare.data();
    ClientHost h({.client_id = "d"});
    h.establish();
    h.client.share_spare_bytes(&pool);

    // QoS 0: the PUBLISH is written into the pool's string, which comes back with recycle().
    pool.keep(std::move(spare));
    ClientEffects fx;
    h.client.publish("t", "zero", QoS::at_most_once, false, h.now, fx);
    const auto* send = std::get_if<SendBytes>(&fx.at(0));
    BOOST_REQUIRE(send != nullptr);
    BOOST_TEST(static_cast<const void*>(send->bytes.data()) == static_cast<const void*>(buffer));
    h.client.recycle(fx);
    std::string back = pool.take();
    BOOST_TEST(static_cast<const void*>(back.data()) == static_cast<const void*>(buffer));
    BOOST_TEST(back.empty());

    // QoS 1: the kept copy is encoded into a pooled string, which returns to the pool with the
    // PUBACK (the written copy is the host's until it recycles it).
    pool.keep(std::move(back));
    h.publish("t", "one", QoS::at_least_once);
    BOOST_TEST(pool.take().capacity() <= 15U);  // the pool gave its only buffer away
    const auto sent = h.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(sent.size(), 1U);
    h.puback(sent[0].packet_id);
    BOOST_REQUIRE_EQUAL(h.published.size(), 1U);
    back = pool.take();
    BOOST_TEST(static_cast<const void*>(back.data()) == static_cast<const void*>(buffer));

    h.client.share_spare_bytes(nullptr);  // its own spares again: the pool is not touched
    pool.keep(std::move(back));
    h.publish("t", "two", QoS::at_most_once);
    BOOST_TEST(static_cast<const void*>(pool.take().data()) == static_cast<const void*>(buffer));
}

BOOST_AUTO_TEST_CASE(a_host_publishing_on_connected_does_not_overtake_the_resends) {
    ClientHost h({.client_id = "d", .clean_start = false});
    h.establish();
    h.publish("t", "old", QoS::at_least_once);
    h.take();
    h.drop();
    h.advance_until_open();
    h.up();
    h.take_connect();
    std::string connack;
    encode(Connack{true, 0, {}}, Version::v311, connack);
    ClientEffects fx = h.client.receive(connack, h.now);
    BOOST_REQUIRE(!fx.empty());
    BOOST_TEST(fx.front().index() == effect_index<SendBytes>());  // the resend comes first
    // A host that carries out each effect as it goes and publishes as soon as it is connected.
    for (ClientEffect& e : fx) {
        const bool connected = std::holds_alternative<Connected>(e);
        ClientEffects one;
        one.push_back(std::move(e));
        h.apply(std::move(one));
        if (connected) {
            ClientEffects more;
            (void)h.client.publish("t", "new", QoS::at_least_once, false, h.now, more);
            h.apply(std::move(more));
        }
    }
    const auto sent = h.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(sent.size(), 2U);
    BOOST_TEST(sent[0].payload == "old");
    BOOST_TEST(sent[0].dup);
    BOOST_TEST(sent[1].payload == "new");
}

BOOST_AUTO_TEST_CASE(publishes_are_resent_even_when_the_new_session_is_clean) {
    // At least once means across any reconnect, as the AWS IoT Device SDKs do.
    ClientHost h({.client_id = "d", .version = Version::v5});
    h.establish();
    h.publish("t", "A", QoS::at_least_once);
    h.take();
    h.drop();
    h.establish(/*session_present=*/false);
    const auto again = h.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(again.size(), 1U);
    BOOST_TEST(again[0].dup);
}

BOOST_AUTO_TEST_CASE(offline_qos1_publishes_queue_up_to_the_bound) {
    ClientHost h({.client_id = "d", .offline_queue_max = 3});
    std::vector<std::uint64_t> tokens;
    for (int i = 0; i < 5; ++i) {
        tokens.push_back(h.publish("t", std::to_string(i), QoS::at_least_once));
    }
    BOOST_TEST(h.client.queued() == 3U);
    BOOST_REQUIRE_EQUAL(h.published.size(), 2U);
    BOOST_TEST(h.published[0].token == tokens[3]);
    BOOST_TEST(h.published[0].reason == ReasonCode::quota_exceeded);
    BOOST_TEST(h.published[0].dropped);
    BOOST_TEST(h.client.stats().qos1_dropped_queue_full == 2U);
    h.establish();
    const auto sent = h.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(sent.size(), 3U);
    BOOST_TEST(sent[0].payload == "0");
    BOOST_TEST(sent[2].payload == "2");
    BOOST_TEST(!sent[0].dup);  // never sent before
}

BOOST_AUTO_TEST_CASE(receive_maximum_bounds_publishes_in_flight_and_the_excess_waits) {
    // [MQTT-3.3.4-7]
    ClientHost h({.client_id = "d", .version = Version::v5});
    Properties p;
    p.receive_maximum = 2;
    h.establish(false, p);
    for (int i = 0; i < 5; ++i) {
        h.publish("t", std::to_string(i), QoS::at_least_once);
    }
    auto sent = h.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(sent.size(), 2U);
    BOOST_TEST(h.client.inflight() == 2U);
    BOOST_TEST(h.client.queued() == 3U);
    h.puback(sent[0].packet_id);
    auto next = h.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(next.size(), 1U);
    BOOST_TEST(next[0].payload == "2");
    h.puback(sent[1].packet_id);
    h.puback(next[0].packet_id);
    BOOST_TEST(h.take_all<Publish>().size() == 2U);
    BOOST_TEST(h.client.queued() == 0U);
}

BOOST_AUTO_TEST_CASE(inflight_max_bounds_a_v311_connection) {
    ClientHost h({.client_id = "d", .inflight_max = 3});
    h.establish();
    for (int i = 0; i < 10; ++i) {
        h.publish("t", "x", QoS::at_least_once);
    }
    BOOST_TEST(h.take_all<Publish>().size() == 3U);
    BOOST_TEST(h.client.queued() == 7U);
}

BOOST_AUTO_TEST_CASE(missing_puback_within_ack_timeout_drops_the_connection_and_resends) {
    ClientHost h({.client_id = "d", .keep_alive_s = 300, .ack_timeout = seconds(20)});
    h.establish();
    h.advance(seconds(5));
    h.publish("t", "x", QoS::at_least_once);
    const auto first = h.take_all<Publish>();
    h.advance(seconds(19));
    BOOST_TEST(h.closes == 0U);
    h.advance(seconds(1));
    BOOST_TEST(h.closes == 1U);
    BOOST_REQUIRE_EQUAL(h.disconnected.size(), 1U);
    BOOST_TEST(h.disconnected[0].cause == DisconnectCause::ack_timeout);
    BOOST_TEST(h.disconnected[0].reason == "ack timeout: packet id " +
                                               std::to_string(first.at(0).packet_id) +
                                               " unacknowledged for 20s");
    BOOST_TEST(h.client.stats().ack_timeouts == 1U);
    h.establish();
    const auto again = h.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(again.size(), 1U);
    BOOST_TEST(again[0].dup);
}

BOOST_AUTO_TEST_CASE(invalid_topics_and_qos2_are_refused_locally) {
    ClientHost h({.client_id = "d"});
    h.establish();
    h.publish("a/+/b", "x", QoS::at_least_once);
    h.publish("", "x", QoS::at_most_once);
    h.publish(std::string("a\0b", 3), "x", QoS::at_most_once);
    h.publish(std::string(70'000, 'a'), "x", QoS::at_most_once);
    h.publish("a/b", "x", QoS::exactly_once);
    BOOST_TEST(h.wire.empty());
    BOOST_REQUIRE_EQUAL(h.published.size(), 5U);
    for (std::size_t i = 0; i < 4; ++i) {
        BOOST_TEST(h.published[i].reason == ReasonCode::topic_name_invalid);
        BOOST_TEST(h.published[i].dropped);
    }
    BOOST_TEST(h.published[4].reason == ReasonCode::qos_not_supported);
    BOOST_TEST(h.client.stats().publishes_rejected == 5U);
    BOOST_TEST(h.client.state() == ClientState::connected);
}

BOOST_AUTO_TEST_CASE(publish_beyond_the_servers_maximum_packet_size_is_refused) {
    // [MQTT-3.2.2-15]
    ClientHost h({.client_id = "d", .version = Version::v5});
    Properties p;
    p.maximum_packet_size = 100;
    h.establish(false, p);
    h.publish("t", std::string(200, 'x'), QoS::at_most_once);
    h.publish("t", std::string(200, 'x'), QoS::at_least_once);
    h.publish("t", "small", QoS::at_least_once);
    const auto sent = h.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(sent.size(), 1U);
    BOOST_TEST(sent[0].payload == "small");
    BOOST_REQUIRE_EQUAL(h.published.size(), 2U);
    BOOST_TEST(h.published[0].reason == ReasonCode::packet_too_large);
    BOOST_TEST(h.published[1].reason == ReasonCode::packet_too_large);
}

BOOST_AUTO_TEST_CASE(a_burst_of_publishes_into_one_effects_vector_is_one_write) {
    ClientHost h({.client_id = "d"});
    h.establish();
    ClientEffects fx;
    for (int i = 0; i < 10; ++i) {
        (void)h.client.publish("t", "x", i % 2 == 0 ? QoS::at_most_once : QoS::at_least_once, false,
                               h.now, fx);
    }
    std::size_t sends = 0;
    for (const auto& e : fx) {
        sends += std::holds_alternative<SendBytes>(e) ? 1U : 0U;
    }
    BOOST_TEST(sends == 1U);
    h.apply(std::move(fx));
    BOOST_TEST(h.take_all<Publish>().size() == 10U);
}

BOOST_AUTO_TEST_CASE(v5_publish_properties_are_written_and_ignored_for_v311) {
    Properties props;
    props.user_properties.push_back({"k", "v"});
    props.message_expiry_interval = 60;
    ClientHost h5({.client_id = "d", .version = Version::v5});
    h5.establish();
    h5.publish("t", "x", QoS::at_least_once, false, props);
    const auto sent = h5.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(sent.size(), 1U);
    BOOST_TEST(sent[0].properties.user_properties.size() == 1U);
    BOOST_TEST(sent[0].properties.message_expiry_interval.value() == 60U);
    ClientHost h3({.client_id = "d"});
    h3.establish();
    h3.publish("t", "x", QoS::at_least_once, false, props);
    BOOST_TEST(h3.take_all<Publish>().size() == 1U);
}

BOOST_AUTO_TEST_CASE(packet_ids_wrap_and_skip_ids_still_in_flight) {
    ClientHost h({.client_id = "d"});
    h.establish();
    // The oldest publish stays unacknowledged while 70 000 others come and go.
    h.publish("t", "old", QoS::at_least_once);
    const std::uint16_t held = h.take_all<Publish>().at(0).packet_id;
    for (int i = 0; i < 70'000; ++i) {
        h.publish("t", "x", QoS::at_least_once);
        const auto sent = h.take_all<Publish>();
        BOOST_REQUIRE_EQUAL(sent.size(), 1U);
        BOOST_REQUIRE_NE(sent[0].packet_id, held);
        BOOST_REQUIRE_NE(sent[0].packet_id, 0);
        h.puback(sent[0].packet_id);
    }
    BOOST_TEST(h.client.inflight() == 1U);
}

BOOST_AUTO_TEST_CASE(incoming_qos1_publish_is_acknowledged_before_it_is_reported) {
    ClientHost h({.client_id = "d"});
    h.establish();
    h.kinds.clear();
    h.send(Publish{false, QoS::at_least_once, false, "cmd/d", 321, "reboot", {}});
    const auto acks = h.take_all<Ack>();
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(acks[0].type == PacketType::puback);
    BOOST_TEST(acks[0].packet_id == 321);
    BOOST_REQUIRE_EQUAL(h.kinds.size(), 2U);
    BOOST_TEST(h.kinds[0] == effect_index<SendBytes>());
    BOOST_TEST(h.kinds[1] == effect_index<MessageReceived>());
    BOOST_REQUIRE_EQUAL(h.messages.size(), 1U);
    BOOST_TEST(h.messages[0].topic == "cmd/d");
    BOOST_TEST(h.messages[0].payload == "reboot");
    BOOST_TEST(h.client.stats().messages_received == 1U);
}

BOOST_AUTO_TEST_CASE(messages_decoded_into_recycled_strings_carry_only_their_own_bytes) {
    // A host that hands its effects back (recycle()) lends the client the strings of earlier
    // messages to decode the next ones into: long after short, short after long, they must hold
    // exactly the new message.
    ClientHost h({.client_id = "d"});
    h.establish();
    ClientEffects fx;
    for (int i = 0; i < 40; ++i) {
        const std::string topic = i % 3 == 0 ? "cmd/d/a-rather-long-topic-name/" + std::to_string(i) : "c/" + std::to_string(i);
        const std::string payload(static_cast<std::size_t>((i * 37) % 300), static_cast<char>('a' + i % 26));
        std::string bytes;
        encode(Packet{Publish{false, QoS::at_most_once, false, topic, 0, payload, {}}}, Version::v311, bytes);
        fx.clear();
        h.client.receive(bytes, h.now, fx);
        const MessageReceived* m = nullptr;
        for (const auto& e : fx) {
            m = m != nullptr ? m : std::get_if<MessageReceived>(&e);
        }
        BOOST_REQUIRE(m != nullptr);
        BOOST_TEST(m->publish.topic == topic);
        BOOST_TEST(m->publish.payload == payload);
        h.client.recycle(fx);  // the strings go back, as the simulator hands them back
    }
    BOOST_TEST(h.client.stats().messages_received == 40U);
}

BOOST_AUTO_TEST_CASE(redelivered_publish_is_reported_again_and_counted_as_a_duplicate) {
    ClientHost h({.client_id = "d"});
    h.establish();
    h.send(Publish{false, QoS::at_least_once, false, "cmd/d", 5, "x", {}});
    h.send(Publish{true, QoS::at_least_once, false, "cmd/d", 5, "x", {}});
    BOOST_TEST(h.messages.size() == 2U);
    BOOST_TEST(h.take_all<Ack>().size() == 2U);
    BOOST_TEST(h.client.stats().messages_received == 2U);
    BOOST_TEST(h.client.stats().duplicates_received == 1U);
}

BOOST_AUTO_TEST_CASE(incoming_qos2_publish_is_a_protocol_error) {
    ClientHost h({.client_id = "d", .version = Version::v5});
    h.establish();
    h.send(Publish{false, QoS::exactly_once, false, "t", 1, "x", {}});
    BOOST_TEST(h.take_all<Disconnect>().at(0).reason == ReasonCode::qos_not_supported);
    BOOST_TEST(h.closes == 1U);
    BOOST_TEST(h.messages.empty());
}

BOOST_AUTO_TEST_CASE(incoming_topic_alias_is_a_protocol_error) {
    // [MQTT-3.1.2-27]: the client's CONNECT allows no topic aliases.
    ClientHost h({.client_id = "d", .version = Version::v5});
    h.establish();
    Publish p{false, QoS::at_most_once, false, "t", 0, "x", {}};
    p.properties.topic_alias = 1;
    h.send(p);
    BOOST_TEST(h.take_all<Disconnect>().at(0).reason == ReasonCode::topic_alias_invalid);
    BOOST_TEST(h.messages.empty());
}

BOOST_AUTO_TEST_CASE(puback_for_no_outstanding_publish_is_counted_and_ignored) {
    ClientHost h({.client_id = "d"});
    h.establish();
    h.puback(77);
    BOOST_TEST(h.client.stats().unexpected_acks == 1U);
    BOOST_TEST(h.client.state() == ClientState::connected);
    BOOST_TEST(h.published.empty());
}

BOOST_AUTO_TEST_CASE(unacknowledged_publishes_survive_disconnect_and_go_out_after_start) {
    ClientHost h({.client_id = "d", .clean_start = false});
    h.establish();
    const std::uint64_t token = h.publish("t", "x", QoS::at_least_once);
    h.take();
    h.disconnect();
    BOOST_TEST(h.take_all<Disconnect>().size() == 1U);
    BOOST_TEST(h.client.queued() == 1U);
    h.establish(true);
    const auto again = h.take_all<Publish>();
    BOOST_REQUIRE_EQUAL(again.size(), 1U);
    h.puback(again[0].packet_id);
    BOOST_TEST(h.published.at(0).token == token);
}

BOOST_AUTO_TEST_SUITE_END()
