// MQTT over WebSocket (reference §5.3): RFC 6455 framing on the server side, the GET /mqtt
// handshake and its SigV4 presigned URL.

#include "http_harness.hpp"
#include "iotsim/http/sigv4.hpp"
#include "iotsim/http/websocket.hpp"

namespace iotsim::http::test {
namespace {

/// A client frame: FIN + opcode, masked with `key`, as RFC 6455 §5.3 requires of clients.
std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin = true, bool masked = true) {
    const std::array<std::uint8_t, 4> key{0x37, 0xfa, 0x21, 0x3d};
    std::string out;
    out.push_back(static_cast<char>((fin ? 0x80 : 0x00) | opcode));
    const std::uint8_t mask_bit = masked ? 0x80 : 0x00;
    if (payload.size() < 126) {
        out.push_back(static_cast<char>(mask_bit | payload.size()));
    } else if (payload.size() <= 0xFFFF) {
        out.push_back(static_cast<char>(mask_bit | 126));
        out.push_back(static_cast<char>(payload.size() >> 8));
        out.push_back(static_cast<char>(payload.size() & 0xFF));
    } else {
        out.push_back(static_cast<char>(mask_bit | 127));
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> shift) & 0xFF));
        }
    }
    if (masked) {
        out.append(reinterpret_cast<const char*>(key.data()), 4);
    }
    for (std::size_t i = 0; i < payload.size(); ++i) {
        out.push_back(masked ? static_cast<char>(payload[i] ^ static_cast<char>(key[i & 3])) : payload[i]);
    }
    return out;
}

/// awscrt's presigned handshake for GET /mqtt (AwsSigningConfig with HTTP_REQUEST_QUERY_PARAMS,
/// service iotdevicegateway, the documented example keys, 2026-11-26T12:00:00Z), produced by
/// python3-awscrt: an independent implementation to check the verifier against.
constexpr const char* awscrt_presigned_query =
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261126%2Fus-east-1%2Fiotdevicegateway%2F"
    "aws4_request&X-Amz-Date=20261126T120000Z&X-Amz-SignedHeaders=host&X-Amz-Signature="
    "bc4b6c98fdb41fff873fc4f8ceeede66d873606de839db7e2b9af9cbfe359dd8";

Request handshake(std::string query) {
    Request r;
    r.method = "GET";
    r.path = "/mqtt";
    r.query = std::move(query);
    r.target = r.path + (r.query.empty() ? "" : "?" + r.query);
    r.headers = {{"Host", "127.0.0.1:4443"},
                 {"Upgrade", "websocket"},
                 {"Connection", "keep-alive, Upgrade"},
                 {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                 {"Sec-WebSocket-Version", "13"},
                 {"Sec-WebSocket-Protocol", "mqtt"}};
    return r;
}

SigV4Options example_keys() {
    SigV4Options o;
    o.secrets = {{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}};
    return o;
}

const WallTime signed_at{std::chrono::seconds(1795694400)};  // 2026-11-26T12:00:00Z

}  // namespace

BOOST_AUTO_TEST_SUITE(websocket)

BOOST_AUTO_TEST_CASE(the_accept_key_is_rfc_6455s_example) {
    BOOST_TEST(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

BOOST_AUTO_TEST_CASE(binary_frames_are_unmasked_in_any_split_and_fragments_join) {
    ws::ServerFramer framer;
    const std::string mqtt_connect("\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00", 14);
    std::string wire = client_frame(0x2, mqtt_connect.substr(0, 5), /*fin=*/false) +
                       client_frame(0x0, mqtt_connect.substr(5)) + client_frame(0x2, std::string(70000, 'x'));
    std::string data;
    for (const char c : wire) {  // one byte at a time
        const ws::FramerOutput out = framer.receive(std::string_view(&c, 1));
        BOOST_REQUIRE(!out.close);
        data += out.data;
    }
    BOOST_TEST(data == mqtt_connect + std::string(70000, 'x'));
}

BOOST_AUTO_TEST_CASE(a_ping_is_answered_with_a_pong_and_a_close_with_a_close) {
    ws::ServerFramer framer;
    ws::FramerOutput out = framer.receive(client_frame(0x9, "hi"));
    BOOST_TEST(out.reply == std::string("\x8a\x02hi", 4));
    out = framer.receive(client_frame(0x8, std::string("\x03\xe8", 2)));
    BOOST_TEST(out.close);
    BOOST_TEST(out.error.empty());
    BOOST_TEST(out.reply == std::string("\x88\x02\x03\xe8", 4));
    BOOST_TEST(framer.receive(client_frame(0x2, "late")).data.empty());  // nothing after close
}

BOOST_AUTO_TEST_CASE(protocol_errors_close_with_rfc_6455s_codes) {
    const auto code_of = [](const std::string& wire) {
        ws::ServerFramer framer(1024);
        const ws::FramerOutput out = framer.receive(wire);
        BOOST_REQUIRE(out.close);
        BOOST_REQUIRE_GE(out.reply.size(), 4U);
        return (static_cast<std::uint8_t>(out.reply[2]) << 8) | static_cast<std::uint8_t>(out.reply[3]);
    };
    BOOST_TEST(code_of(client_frame(0x1, "text")) == 1003);                        // MQTT is binary
    BOOST_TEST(code_of(client_frame(0x2, "x", true, /*masked=*/false)) == 1002);  // clients must mask
    BOOST_TEST(code_of(client_frame(0x9, std::string(126, 'p'))) == 1002);       // control frame > 125
    BOOST_TEST(code_of(client_frame(0x0, "orphan")) == 1002);                     // continuation of nothing
    BOOST_TEST(code_of(client_frame(0x2, std::string(2000, 'b'))) == 1009);      // beyond the frame limit
    BOOST_TEST(code_of(client_frame(0x8, "x")) == 1002);                          // 1-byte close payload
    BOOST_TEST(code_of(client_frame(0x8, std::string("\x03\xed", 2))) == 1002);   // 1005 is never sent
}

BOOST_AUTO_TEST_CASE(server_frames_use_the_shortest_length_encoding) {
    BOOST_TEST(ws::binary_frame("ab") == std::string("\x82\x02" "ab", 4));
    BOOST_TEST(ws::binary_frame(std::string(300, 'z')).substr(0, 4) == std::string("\x82\x7e\x01\x2c", 4));
    BOOST_TEST(ws::binary_frame(std::string(70000, 'z')).size() == 70000U + 10U);
}

BOOST_AUTO_TEST_CASE(awscrts_presigned_handshake_verifies_and_names_its_key) {
    std::string key_id;
    BOOST_TEST(!verify_sigv4_query(handshake(awscrt_presigned_query), example_keys(), signed_at, &key_id));
    BOOST_TEST(key_id == "AKIDEXAMPLE");
    // A session token appended after signing (the SDKs' omit_session_token) does not matter.
    BOOST_TEST(!verify_sigv4_query(handshake(std::string(awscrt_presigned_query) + "&X-Amz-Security-Token=abc%2F1"),
                                   example_keys(), signed_at));
}

BOOST_AUTO_TEST_CASE(a_wrong_key_a_changed_query_a_stale_date_or_no_signature_is_refused) {
    SigV4Options other = example_keys();
    other.secrets = {{"AKIDEXAMPLE", "not-the-secret"}};
    BOOST_TEST(verify_sigv4_query(handshake(awscrt_presigned_query), other, signed_at)->type == "InvalidSignatureException");
    std::string changed = awscrt_presigned_query;
    changed.replace(changed.find("SignedHeaders=host"), 18, "SignedHeaders=host%3Bupgrade");
    BOOST_TEST(verify_sigv4_query(handshake(changed), example_keys(), signed_at).has_value());
    // The host header must be signed by name, not as part of another name.
    std::string x_host = awscrt_presigned_query;
    x_host.replace(x_host.find("SignedHeaders=host"), 18, "SignedHeaders=x-host");
    Request with_x_host = handshake(x_host);
    with_x_host.headers.push_back({"x-host", "anything"});
    BOOST_TEST(verify_sigv4_query(with_x_host, example_keys(), signed_at)->type == "IncompleteSignatureException");
    // AWS: presigned URLs live at most 7 days.
    BOOST_TEST(verify_sigv4_query(handshake(std::string(awscrt_presigned_query) + "&X-Amz-Expires=604801"),
                                  example_keys(), signed_at)
                   ->type == "IncompleteSignatureException");
    const WallTime later{std::chrono::seconds(1795694400 + 16 * 60)};
    BOOST_TEST(verify_sigv4_query(handshake(awscrt_presigned_query), example_keys(), later)->type ==
               "InvalidSignatureException");
    BOOST_TEST(verify_sigv4_query(handshake(""), example_keys(), signed_at)->type ==
               "MissingAuthenticationTokenException");
}

BOOST_FIXTURE_TEST_CASE(get_mqtt_answers_101_with_the_accept_key_and_the_mqtt_subprotocol, Fixture) {
    RouterOptions options;
    options.sigv4 = example_keys();
    Router signed_router(plane, rng, options);
    Response r = signed_router.handle(handshake(awscrt_presigned_query), Now{Instant{}, signed_at});
    BOOST_TEST(r.status == 101);
    BOOST_TEST(r.upgrade);
    BOOST_TEST(r.principal == "AKIDEXAMPLE");
    BOOST_TEST(*r.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    BOOST_TEST(*r.header("Sec-WebSocket-Protocol") == "mqtt");
    const std::string wire = encode_response(r, false, {});
    BOOST_TEST(wire.find("Connection: Upgrade\r\n") != std::string::npos);
    BOOST_TEST(wire.find("Content-Length") == std::string::npos);
    // Unsigned: 403; not a WebSocket handshake: 400; without the mqtt subprotocol: 400.
    BOOST_TEST(signed_router.handle(handshake(""), Now{Instant{}, signed_at}).status == 403);
    Request plain_get = handshake(awscrt_presigned_query);
    plain_get.headers.erase(plain_get.headers.begin() + 1);  // no Upgrade
    BOOST_TEST(signed_router.handle(plain_get, Now{Instant{}, signed_at}).status == 400);
    Request no_mqtt = handshake(awscrt_presigned_query);
    no_mqtt.headers.pop_back();
    BOOST_TEST(signed_router.handle(no_mqtt, Now{Instant{}, signed_at}).status == 400);
}

BOOST_FIXTURE_TEST_CASE(frames_right_behind_the_handshake_are_handed_over_however_the_stream_is_split, Fixture) {
    const std::string wire = "GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                             "Sec-WebSocket-Protocol: mqtt\r\n\r\n" +
                             client_frame(0x2, "MQTT-BYTES");
    for (const std::size_t split : {wire.size(), std::size_t{7}}) {
        HttpConnection connection(router);  // no secrets: the handshake needs no signature
        ws::ServerFramer framer;
        std::string data;
        bool upgraded = false;
        for (std::size_t at = 0; at < wire.size(); at += split) {
            const std::string_view chunk = std::string_view(wire).substr(at, split);
            if (upgraded) {
                data += framer.receive(chunk).data;
                continue;
            }
            const ConnectionOutput out = connection.receive(chunk, now);
            if (out.upgrade) {
                BOOST_TEST(out.bytes.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
                upgraded = true;
                data += framer.receive(out.leftover).data;
            }
        }
        BOOST_TEST(upgraded);
        BOOST_TEST(data == "MQTT-BYTES");
    }
}

BOOST_FIXTURE_TEST_CASE(frames_behind_a_handshake_that_follows_another_request_are_still_handed_over, Fixture) {
    HttpConnection connection(router);
    const ConnectionOutput out = connection.receive(
        "GET /retainedMessage HTTP/1.1\r\nHost: localhost\r\n\r\n"
        "GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: mqtt\r\n\r\n" + client_frame(0x2, "MQTT"),
        now);
    BOOST_TEST(out.upgrade);
    BOOST_TEST(out.bytes.starts_with("HTTP/1.1 200 OK\r\n"));
    ws::ServerFramer framer;
    BOOST_TEST(framer.receive(out.leftover).data == "MQTT");
}

BOOST_FIXTURE_TEST_CASE(an_upgrade_header_on_another_path_does_not_stop_pipelined_requests, Fixture) {
    const auto responses = exchange(
        "GET /retainedMessage HTTP/1.1\r\nHost: localhost\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
        "GET /retainedMessage HTTP/1.1\r\nHost: localhost\r\n\r\n");
    BOOST_REQUIRE_EQUAL(responses.size(), 2U);
    BOOST_TEST(responses[0].status == 200);
    BOOST_TEST(responses[1].status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace iotsim::http::test
