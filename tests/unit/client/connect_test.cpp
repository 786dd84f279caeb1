// Connecting: the CONNECT the client writes for each protocol version, what it takes from the
// CONNACK, refusals, timeouts, protocol errors from the server and the graceful end.
#include "client_harness.hpp"

using namespace iotsim;
using namespace iotsim::client_test;

BOOST_AUTO_TEST_SUITE(client_connect)

BOOST_AUTO_TEST_CASE(start_asks_for_a_transport_and_transport_up_writes_connect) {
    ClientHost h({.client_id = "c"});
    BOOST_TEST(h.client.state() == ClientState::idle);
    h.start();
    BOOST_TEST(h.opens == 1U);
    BOOST_TEST(h.client.state() == ClientState::connecting);
    BOOST_TEST(h.wire.empty());
    h.up();
    BOOST_TEST(h.client.state() == ClientState::awaiting_connack);
    const unsigned char expected[] = {
        0x10, 13,                        // CONNECT, remaining length 13
        0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
        0x04,                            // protocol level 4: MQTT 3.1.1
        0x02,                            // connect flags: clean session
        0x00, 0x3C,                      // keep alive 60 s
        0x00, 0x01, 'c',                 // client identifier
    };
    BOOST_TEST(h.wire == std::string(reinterpret_cast<const char*>(expected), sizeof expected));
}

BOOST_AUTO_TEST_CASE(v311_connect_carries_session_credentials_and_will) {
    ClientHost h({.client_id = "dev-1",
                  .clean_start = false,
                  .keep_alive_s = 45,
                  .will = Will{"dev/1/status", "offline", QoS::at_least_once, true, {}},
                  .username = "user",
                  .password = std::string("p\0ss", 4)});
    h.start();
    h.up();
    const Connect c = h.take_connect();
    BOOST_TEST(c.version == Version::v311);
    BOOST_TEST(!c.clean_start);
    BOOST_TEST(c.keep_alive == 45);
    BOOST_TEST(c.client_id == "dev-1");
    BOOST_TEST(c.username.value() == "user");
    BOOST_TEST(c.password.value() == std::string("p\0ss", 4));
    BOOST_REQUIRE(c.will.has_value());
    BOOST_TEST(c.will->topic == "dev/1/status");
    BOOST_TEST(c.will->payload == "offline");
    BOOST_TEST(c.will->qos == QoS::at_least_once);
    BOOST_TEST(c.will->retain);
    BOOST_TEST((c.properties == Properties{}));
}

BOOST_AUTO_TEST_CASE(v5_connect_carries_session_expiry_packet_size_properties_and_will_properties) {
    Properties extra;
    extra.user_properties.push_back({"fleet", "a"});
    extra.session_expiry_interval = 7;  // overridden by session_expiry_s
    Will will{"dev/2/status", "gone", QoS::at_most_once, false, {}};
    will.properties.will_delay_interval = 5;
    ClientHost h({.client_id = "dev-2",
                  .version = Version::v5,
                  .clean_start = false,
                  .session_expiry_s = 3600,
                  .will = will,
                  .connect_properties = extra,
                  .packet_bytes_max = 65'536});
    h.start();
    h.up();
    const Connect c = h.take_connect();
    BOOST_TEST(c.version == Version::v5);
    BOOST_TEST(!c.clean_start);
    BOOST_TEST(c.properties.session_expiry_interval.value() == 3600U);
    BOOST_TEST(c.properties.maximum_packet_size.value() == 65'536U);
    BOOST_REQUIRE_EQUAL(c.properties.user_properties.size(), 1U);
    BOOST_TEST(c.properties.user_properties[0].key == "fleet");
    BOOST_REQUIRE(c.will.has_value());
    BOOST_TEST(c.will->properties.will_delay_interval.value() == 5U);
}

BOOST_AUTO_TEST_CASE(v5_connect_without_session_expiry_sends_none) {
    ClientHost h({.client_id = "d", .version = Version::v5});
    h.start();
    h.up();
    const Connect c = h.take_connect();
    BOOST_TEST(!c.properties.session_expiry_interval.has_value());  // absent means 0
    BOOST_TEST(!c.properties.maximum_packet_size.has_value());
}

BOOST_AUTO_TEST_CASE(accepted_connack_reports_connected_with_session_present) {
    ClientHost h({.client_id = "d", .clean_start = false});
    h.establish(/*session_present=*/true);
    BOOST_TEST(h.client.state() == ClientState::connected);
    BOOST_REQUIRE_EQUAL(h.connected.size(), 1U);
    BOOST_TEST(h.connected[0].session_present);
    BOOST_TEST(h.connected[0].connack.session_present);
    BOOST_TEST(h.client.stats().connects == 1U);
    BOOST_TEST(h.client.stats().reconnects == 0U);
}

BOOST_AUTO_TEST_CASE(server_keep_alive_replaces_the_clients_keep_alive) {
    // [MQTT-3.2.2-21]
    ClientHost h({.client_id = "d", .version = Version::v5, .keep_alive_s = 60});
    Properties p;
    p.server_keep_alive = 30;
    h.establish(false, p);
    BOOST_TEST(h.client.keep_alive_s() == 30);
    h.advance(seconds(29));
    BOOST_TEST(h.take().empty());
    h.advance(seconds(1));
    BOOST_TEST(h.take_all<Pingreq>().size() == 1U);
}

BOOST_AUTO_TEST_CASE(assigned_client_identifier_is_adopted_and_sent_on_reconnect) {
    ClientHost h(
        {.client_id = "", .version = Version::v5, .clean_start = false, .session_expiry_s = 600});
    Properties p;
    p.assigned_client_identifier = "auto-7f3a";
    const Connect first = h.establish(false, p);
    BOOST_TEST(first.client_id.empty());
    BOOST_TEST(h.client.client_id() == "auto-7f3a");
    h.drop();
    h.advance_until_open();
    h.up();
    // Without the assigned id the persistent session could never be resumed.
    BOOST_TEST(h.take_connect().client_id == "auto-7f3a");
}

BOOST_AUTO_TEST_CASE(v5_connack_refusal_reports_its_code_and_the_device_keeps_retrying) {
    ClientHost h({.client_id = "d", .version = Version::v5});
    h.start();
    for (std::size_t attempt = 1; attempt <= 5; ++attempt) {
        BOOST_TEST_CONTEXT("attempt " << attempt) {
            h.advance_until_open();
            h.up();
            h.take_connect();
            h.connack(false, 0x87);
            BOOST_REQUIRE_EQUAL(h.disconnected.size(), attempt);
            const Disconnected& d = h.disconnected.back();
            BOOST_TEST(d.cause == DisconnectCause::connack_refused);
            BOOST_TEST(d.code == 0x87);
            BOOST_TEST(d.reason == "CONNACK 0x87 Not authorized");
            BOOST_TEST(!d.was_connected);
            BOOST_TEST(h.closes == attempt);
            BOOST_TEST(h.client.state() == ClientState::backing_off);
        }
    }
    BOOST_TEST(h.opens == 5U);
    BOOST_TEST(h.client.stats().connects_refused == 5U);
    BOOST_TEST(h.connected.empty());
}

BOOST_AUTO_TEST_CASE(v311_connack_return_code_is_reported_with_its_311_name) {
    ClientHost h({.client_id = "d"});
    h.start();
    h.up();
    h.take_connect();
    h.connack(false, 0x05);
    BOOST_REQUIRE_EQUAL(h.disconnected.size(), 1U);
    BOOST_TEST(h.disconnected[0].code == 0x05);
    BOOST_TEST(h.disconnected[0].reason == "CONNACK 0x05 Not authorized");
    BOOST_TEST(h.closes == 1U);
    BOOST_TEST(h.client.state() == ClientState::backing_off);
}

BOOST_AUTO_TEST_CASE(v5_connack_reason_string_is_appended_to_the_reason) {
    ClientHost h({.client_id = "d", .version = Version::v5});
    h.start();
    h.up();
    h.take_connect();
    Properties p;
    p.reason_string = "policy denies iot:Connect";
    h.connack(false, 0x87, p);
    BOOST_TEST(h.disconnected.at(0).reason ==
               "CONNACK 0x87 Not authorized: policy denies iot:Connect");
}

BOOST_AUTO_TEST_CASE(no_connack_within_connect_timeout_closes_and_backs_off) {
    ClientHost h({.client_id = "d", .connect_timeout = seconds(10)});
    h.start();
    h.up();
    h.take_connect();
    h.advance(seconds(9));
    BOOST_TEST(h.closes == 0U);
    h.advance(seconds(1));
    BOOST_TEST(h.closes == 1U);
    BOOST_REQUIRE_EQUAL(h.disconnected.size(), 1U);
    BOOST_TEST(h.disconnected[0].cause == DisconnectCause::connect_timeout);
    BOOST_TEST(h.disconnected[0].reason == "connect timeout: no CONNACK within 10s");
    BOOST_TEST(h.client.state() == ClientState::backing_off);
    BOOST_TEST(h.client.stats().connect_timeouts == 1U);
    h.advance_until_open();
    BOOST_TEST(h.opens == 2U);
}

BOOST_AUTO_TEST_CASE(transport_not_up_within_connect_timeout_cancels_the_attempt) {
    ClientHost h({.client_id = "d", .connect_timeout = seconds(10)});
    h.start();
    h.advance(seconds(10));
    BOOST_TEST(h.closes == 1U);  // CloseTransport cancels the pending open
    BOOST_TEST(h.disconnected.at(0).reason == "connect timeout: transport not up within 10s");
    // A late answer for the cancelled attempt is ignored.
    BOOST_TEST(h.client.transport_up(h.now).empty());
    BOOST_TEST(h.client.state() == ClientState::backing_off);
}

BOOST_AUTO_TEST_CASE(first_packet_other_than_connack_is_a_protocol_error) {
    // [MQTT-3.2.0-1]; MQTT 5 tells the server why before closing.
    ClientHost h({.client_id = "d", .version = Version::v5});
    h.start();
    h.up();
    h.take_connect();
    h.send(Pingresp{});
    const auto sent = h.take_all<Disconnect>();
    BOOST_REQUIRE_EQUAL(sent.size(), 1U);
    BOOST_TEST(sent[0].reason == ReasonCode::protocol_error);
    BOOST_TEST(h.closes == 1U);
    BOOST_TEST(h.disconnected.at(0).cause == DisconnectCause::protocol_error);
    BOOST_TEST(h.client.stats().protocol_errors == 1U);
}

BOOST_AUTO_TEST_CASE(malformed_bytes_from_a_v311_broker_close_the_transport) {
    ClientHost h({.client_id = "d"});
    h.establish();
    h.send_raw(std::string("\xF0\x00", 2));  // type 15 is reserved in MQTT 3.1.1
    BOOST_TEST(h.closes == 1U);
    BOOST_TEST(h.take().empty());  // 3.1.1 has no way to say why
    BOOST_TEST(h.disconnected.at(0).cause == DisconnectCause::protocol_error);
    BOOST_TEST(h.disconnected.at(0).was_connected);
    BOOST_TEST(h.client.state() == ClientState::backing_off);
}

BOOST_AUTO_TEST_CASE(malformed_bytes_from_a_v5_broker_get_disconnect_0x81_before_the_close) {
    ClientHost h({.client_id = "d", .version = Version::v5});
    h.establish();
    h.kinds.clear();
    h.send_raw(std::string("\x30\xFF\xFF\xFF\xFF", 5));  // remaining length of five bytes
    const auto sent = h.take_all<Disconnect>();
    BOOST_REQUIRE_EQUAL(sent.size(), 1U);
    BOOST_TEST(sent[0].reason == ReasonCode::malformed_packet);
    // SendBytes, then CloseTransport, then Disconnected.
    BOOST_REQUIRE_GE(h.kinds.size(), 3U);
    BOOST_TEST(h.kinds[0] == effect_index<SendBytes>());
    BOOST_TEST(h.kinds[1] == effect_index<CloseTransport>());
    BOOST_TEST(h.kinds[2] == effect_index<Disconnected>());
    BOOST_TEST(h.disconnected.at(0).code == 0x81);
}

BOOST_AUTO_TEST_CASE(packet_beyond_packet_bytes_max_is_refused_before_it_is_buffered) {
    ClientHost h({.client_id = "d", .version = Version::v5, .packet_bytes_max = 1024});
    h.establish();
    // Only the fixed header of a 4 KB PUBLISH arrives: the length alone is enough to refuse it.
    h.send_raw(std::string("\x30\x80\x20", 3));
    BOOST_TEST(h.take_all<Disconnect>().at(0).reason == ReasonCode::packet_too_large);
    BOOST_TEST(h.closes == 1U);
}

BOOST_AUTO_TEST_CASE(v5_server_disconnect_ends_the_connection_with_its_reason) {
    ClientHost h({.client_id = "d", .version = Version::v5});
    h.establish();
    Disconnect d{ReasonCode::session_taken_over, {}};
    d.properties.reason_string = "another connection used this client id";
    h.send(d);
    BOOST_REQUIRE_EQUAL(h.disconnected.size(), 1U);
    BOOST_TEST(h.disconnected[0].cause == DisconnectCause::server_disconnect);
    BOOST_TEST(h.disconnected[0].code == 0x8E);
    BOOST_TEST(h.disconnected[0].reason ==
               "server DISCONNECT 0x8E Session taken over: another connection used this client id");
    BOOST_TEST(h.disconnected[0].was_connected);
    BOOST_TEST(h.closes == 1U);
    BOOST_TEST(h.take().empty());  // the client answers a DISCONNECT with nothing
    BOOST_TEST(h.client.stats().server_disconnects == 1U);
    h.advance_until_open();  // and comes back, as AWS's devices do
    BOOST_TEST(h.opens == 2U);
}

BOOST_AUTO_TEST_CASE(disconnect_sends_disconnect_closes_and_never_reconnects) {
    ClientHost h({.client_id = "d", .version = Version::v5});
    h.establish();
    h.disconnect();
    const auto sent = h.take_all<Disconnect>();
    BOOST_REQUIRE_EQUAL(sent.size(), 1U);
    BOOST_TEST(sent[0].reason == ReasonCode::success);  // normal: the server discards the will
    BOOST_TEST(h.closes == 1U);
    BOOST_TEST(h.client.state() == ClientState::stopped);
    BOOST_TEST(h.disconnected.at(0).cause == DisconnectCause::client_disconnect);
    BOOST_TEST(h.client.stats().connection_losses == 0U);
    h.advance(hours(1));
    BOOST_TEST(h.opens == 1U);
    // A stopped client starts again on request.
    h.start();
    BOOST_TEST(h.opens == 2U);
}

BOOST_AUTO_TEST_CASE(bytes_split_anywhere_are_reassembled) {
    ClientHost h({.client_id = "d"});
    h.start();
    h.up();
    h.take_connect();
    std::string stream;
    encode(Connack{false, 0, {}}, Version::v311, stream);
    encode(Publish{false, QoS::at_least_once, false, "a/b", 9, "one", {}}, Version::v311, stream);
    encode(Publish{false, QoS::at_most_once, false, "a/c", 0, "two", {}}, Version::v311, stream);
    for (const char byte : stream) {
        h.send_raw(std::string_view(&byte, 1));
    }
    BOOST_TEST(h.client.state() == ClientState::connected);
    BOOST_REQUIRE_EQUAL(h.messages.size(), 2U);
    BOOST_TEST(h.messages[0].payload == "one");
    BOOST_TEST(h.messages[1].payload == "two");
    const auto acks = h.take_all<Ack>();
    BOOST_REQUIRE_EQUAL(acks.size(), 1U);
    BOOST_TEST(acks[0].packet_id == 9);
}

BOOST_AUTO_TEST_CASE(coalesced_packets_in_one_read_are_all_handled_with_one_send) {
    ClientHost h({.client_id = "d"});
    h.start();
    h.up();
    h.take_connect();
    std::string stream;
    encode(Connack{false, 0, {}}, Version::v311, stream);
    for (std::uint16_t id = 1; id <= 3; ++id) {
        encode(Publish{false, QoS::at_least_once, false, "a/b", id, "m", {}}, Version::v311,
               stream);
    }
    const std::size_t sends_before = h.sends;
    h.send_raw(stream);
    BOOST_TEST(h.messages.size() == 3U);
    BOOST_TEST(h.sends == sends_before + 1);  // three PUBACKs, one write
    BOOST_TEST(h.take_all<Ack>().size() == 3U);
}

BOOST_AUTO_TEST_CASE(second_connack_is_a_protocol_error) {
    ClientHost h({.client_id = "d"});
    h.establish();
    h.connack();
    BOOST_TEST(h.disconnected.at(0).cause == DisconnectCause::protocol_error);
    BOOST_TEST(h.disconnected.at(0).reason == "protocol error: unexpected CONNACK from the server");
}

BOOST_AUTO_TEST_CASE(bytes_after_the_client_gave_up_are_ignored) {
    ClientHost h({.client_id = "d"});
    h.establish();
    h.drop();
    const auto fx = h.client.receive(std::string("\xD0\x00", 2), h.now);
    BOOST_TEST(fx.empty());
    BOOST_TEST(h.client.transport_closed(h.now).empty());
}

BOOST_AUTO_TEST_SUITE_END()
