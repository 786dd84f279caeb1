"""01 connect: start-up contract, CONNECT/CONNACK, keep-alive clamp, client-id takeover, presence events."""

import os
import signal
import subprocess
import time

import pytest

import rawmqtt
from clients import (MQTTV311, MQTTV5, PahoClient, mosquitto_pub, raw, unique, wait_until)
from rawmqtt import MQTT5


# ---------------------------------------------------------------- start-up contract

def test_server_prints_ready_line_with_both_ports_and_data_dir(server):
    assert server.mqtt_port > 0 and server.mqtts_port > 0
    assert server.mqtt_port != server.mqtts_port
    assert server.host == "127.0.0.1"
    assert os.path.realpath(server.ready_line.split("data-dir=", 1)[1]) == os.path.realpath(server.data_dir)


def test_first_start_creates_root_ca_server_and_device_certificates(unseeded_server):
    server = unseeded_server
    for name in ("root-CA.crt", "root-CA.key", "server.cert.pem", "server.private.key",
                 "device.cert.pem", "device.private.key"):
        assert (server.data_dir / name).is_file(), f"{name} missing from the data directory"
    verify = subprocess.run(["openssl", "verify", "-CAfile", server.ca,
                             str(server.data_dir / "server.cert.pem"), server.device_cert],
                            capture_output=True, text=True, timeout=10)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    text = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName",
                           "-in", str(server.data_dir / "server.cert.pem")],
                          capture_output=True, text=True, timeout=10).stdout
    assert "DNS:localhost" in text and "IP Address:127.0.0.1" in text, text


def test_database_file_is_created_in_data_dir(server):
    with PahoClient(server) as c:
        c.connect()
        c.publish(f"db/{unique()}", b"x", qos=1, retain=True)
        c.disconnect()
    db = server.data_dir / "iotsim.db"
    wait_until(db.is_file, 2, message="iotsim.db")
    assert db.read_bytes()[:16] == b"SQLite format 3\x00"


def test_second_start_on_same_data_dir_keeps_the_ca(unseeded_server):
    server = unseeded_server
    before = (server.data_dir / "root-CA.crt").read_bytes()
    device = (server.data_dir / "device.cert.pem").read_bytes()
    with PahoClient(server, tls=server.tls_files) as c:
        c.connect()
        c.disconnect()
    assert server.stop() == 0
    server.start()
    assert (server.data_dir / "root-CA.crt").read_bytes() == before
    assert (server.data_dir / "device.cert.pem").read_bytes() == device
    with PahoClient(server, tls=server.tls_files) as c:  # the old device certificate still works
        c.connect()
        c.disconnect()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_server_exits_0_on_signal_even_with_clients_connected(server, sig):
    c = PahoClient(server)
    try:
        c.connect()
        assert server.stop(sig) == 0
        c.wait_closed_by_server()
    finally:
        c.close()


def test_sigterm_immediately_after_the_ready_line_exits_0(server):
    """The ready line promises a running server, its signal handling included."""
    for attempt in range(1, 6):
        if attempt > 1:
            server.start()
        rc = server.stop()  # SIGTERM as soon as the ready line was read
        assert rc == 0, f"attempt {attempt}: exit status {rc} (negative = killed by that signal)"


def test_server_logs_one_stderr_line_per_connect_and_disconnect(server):
    cid = unique("logged-")

    def lines():
        return [l for l in server.stderr_text().splitlines() if l.strip()]

    base = len(lines())
    c = PahoClient(server, cid)
    try:
        c.connect()
        wait_until(lambda: len(lines()) > base, 3, message="a stderr line for the connect")
        after_connect = len(lines())
        c.disconnect()
        wait_until(lambda: len(lines()) > after_connect, 3, message="a stderr line for the disconnect")
    finally:
        c.close()


# ---------------------------------------------------------------- CONNECT / CONNACK

def test_mqtt311_connect_is_accepted_with_return_code_0_and_no_session(srv):
    with raw(srv) as c:
        ack = c.connect(unique("raw311-"))
        assert ack.return_code == 0
        assert not ack.session_present
        assert len(ack.body) == 2


def test_mqtt5_connack_advertises_maximum_qos_1(srv):
    with raw(srv, MQTT5) as c:
        ack = c.connect(unique("raw5-"))
        assert ack.reason == 0
        assert ack.properties.get(rawmqtt.PROP_MAXIMUM_QOS) == 1, ack.properties


@pytest.mark.parametrize("asked,granted", [(5, 30), (1, 30), (0, 1200), (3600, 1200), (65535, 1200)])
def test_mqtt5_connack_returns_server_keep_alive_clamped_to_30_1200(srv, asked, granted):
    with raw(srv, MQTT5) as c:
        ack = c.connect(unique("ka-"), keepalive=asked)
        assert ack.properties.get(rawmqtt.PROP_SERVER_KEEP_ALIVE) == granted, ack.properties


@pytest.mark.parametrize("asked", [30, 60, 1200])
def test_mqtt5_keep_alive_within_range_is_kept(srv, asked):
    with raw(srv, MQTT5) as c:
        ack = c.connect(unique("ka-"), keepalive=asked)
        assert ack.properties.get(rawmqtt.PROP_SERVER_KEEP_ALIVE, asked) == asked, ack.properties


def test_mqtt311_keep_alive_1_is_raised_so_client_survives_3_seconds_of_silence(srv):
    """Keep-alive 1 is raised to 30: the broker must not drop the client after 1.5 x 1 s."""
    with raw(srv) as c:
        c.connect(unique("ka1-"), keepalive=1)
        with pytest.raises(AssertionError, match="kept the connection open"):
            c.collect_until_closed(timeout=3.0)
        assert c.is_open(2.0)


def test_pingreq_is_answered_with_pingresp(srv):
    with raw(srv) as c:
        c.connect(unique("ping-"))
        c.send(rawmqtt.pingreq())
        c.expect(rawmqtt.PINGRESP)


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_pub_connects_and_publishes(srv, version):
    r = mosquitto_pub(srv, f"connect/{unique()}", "hello", "-d", version=version)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "received CONNACK (0)" in r.stdout, r.stdout


@pytest.mark.parametrize("version", [MQTTV311, MQTTV5], ids=["v311", "v5"])
def test_paho_connects_and_disconnects_cleanly(srv, version):
    with PahoClient(srv, version=version) as c:
        ack = c.connect()
        assert ack["rc"] == 0 and not ack["session_present"]
        c.disconnect()


# ---------------------------------------------------------------- client-id takeover

def test_second_connection_with_same_client_id_takes_over_and_first_is_closed(srv):
    cid = unique("dup-")
    with raw(srv) as first, raw(srv) as second:
        first.connect(cid)
        second.connect(cid)
        sent = first.collect_until_closed(3)
        assert not sent, f"old connection got {sent} before being closed"
        assert second.is_open(1.0), "the new connection must survive the takeover"


def test_mqtt5_takeover_sends_disconnect_session_taken_over_to_old_connection(srv):
    cid = unique("dup5-")
    with raw(srv, MQTT5) as first, raw(srv, MQTT5) as second:
        first.connect(cid)
        second.connect(cid)
        sent = first.collect_until_closed(3)
        assert sent and sent[-1].type == rawmqtt.DISCONNECT, sent
        assert sent[-1].reason == 0x8E, f"DISCONNECT reason 0x{sent[-1].reason:02x}"
        assert second.is_open(1.0)


def test_paho_takeover_closes_the_old_paho_client(srv):
    cid = unique("dup-paho-")
    with PahoClient(srv, cid, MQTTV5) as a, PahoClient(srv, cid, MQTTV5) as b:
        a.connect()
        b.connect()
        a.wait_closed_by_server()
        assert a.disconnect_rc == 0x8E, a.disconnect_rc
        t = f"takeover/{unique()}"
        b.subscribe(t)
        b.publish(t, b"still here")
        assert b.expect_message(t).payload == b"still here"


# ---------------------------------------------------------------- presence lifecycle events

def _events(srv, topic_filter):
    ev = PahoClient(srv, unique("events-"))
    ev.connect()
    ev.subscribe(topic_filter, 1)
    return ev


def _event_for(ev, topic, timeout=5):
    m = ev.expect_message(topic, timeout)
    return m.json()


def test_connected_event_is_published_with_aws_fields(srv):
    cid = unique("presence-")
    ev = _events(srv, "$aws/events/presence/connected/+")
    try:
        before = int(time.time() * 1000)
        c = PahoClient(srv, cid)
        c.connect()
        after = int(time.time() * 1000)
        doc = _event_for(ev, f"$aws/events/presence/connected/{cid}")
        c.disconnect()
    finally:
        ev.close()
    assert doc["clientId"] == cid
    assert doc["eventType"] == "connected"
    assert isinstance(doc["timestamp"], int) and before - 5000 <= doc["timestamp"] <= after + 5000, doc
    assert isinstance(doc["sessionIdentifier"], str) and doc["sessionIdentifier"]
    assert isinstance(doc["principalIdentifier"], str)
    assert doc["ipAddress"] == "127.0.0.1"
    assert isinstance(doc["versionNumber"], int)
    assert "disconnectReason" not in doc and "clientInitiatedDisconnect" not in doc


def _disconnected(srv, make_client_go_away, version=MQTTV311):
    cid = unique("gone-")
    ev = _events(srv, f"$aws/events/presence/+/{cid}")
    try:
        c = PahoClient(srv, cid, version)
        c.connect()
        connected = _event_for(ev, f"$aws/events/presence/connected/{cid}")
        make_client_go_away(c, cid)
        doc = _event_for(ev, f"$aws/events/presence/disconnected/{cid}")
        c.close()
    finally:
        ev.close()
    assert doc["clientId"] == cid and doc["eventType"] == "disconnected"
    assert isinstance(doc["timestamp"], int)
    assert "ipAddress" not in doc
    return connected, doc


def test_disconnected_event_reports_client_initiated_disconnect(srv):
    _, doc = _disconnected(srv, lambda c, cid: c.disconnect())
    assert doc["clientInitiatedDisconnect"] is True
    assert doc["disconnectReason"] == "CLIENT_INITIATED_DISCONNECT"


def test_disconnected_event_reports_connection_lost_when_socket_closes_without_disconnect(srv):
    _, doc = _disconnected(srv, lambda c, cid: c.drop())
    assert doc["clientInitiatedDisconnect"] is False
    assert doc["disconnectReason"] == "CONNECTION_LOST"


def test_disconnected_event_reports_duplicate_clientid_for_the_replaced_connection(srv):
    newer = []

    def take_over(c, cid):
        n = PahoClient(srv, cid)
        newer.append(n)
        n.connect()

    try:
        _, doc = _disconnected(srv, take_over)
    finally:
        for n in newer:
            n.close()
    assert doc["clientInitiatedDisconnect"] is False
    assert doc["disconnectReason"] == "DUPLICATE_CLIENTID"


def test_disconnected_event_reports_client_error_after_a_second_connect(srv):
    cid = unique("twice-")
    ev = _events(srv, f"$aws/events/presence/disconnected/{cid}")
    try:
        with raw(srv) as c:
            c.connect(cid)
            c.send(rawmqtt.connect(cid))
            c.collect_until_closed(3)
        doc = _event_for(ev, f"$aws/events/presence/disconnected/{cid}")
    finally:
        ev.close()
    assert doc["clientInitiatedDisconnect"] is False
    assert doc["disconnectReason"] == "CLIENT_ERROR"


def test_connected_and_disconnected_events_of_one_connection_share_session_and_version(srv):
    connected, disconnected = _disconnected(srv, lambda c, cid: c.disconnect())
    assert connected["sessionIdentifier"] == disconnected["sessionIdentifier"]
    assert connected["versionNumber"] == disconnected["versionNumber"]
    assert connected["principalIdentifier"] == disconnected["principalIdentifier"]
