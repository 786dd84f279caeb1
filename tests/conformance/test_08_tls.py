"""08 tls: the mqtts port requires a client certificate signed by the data directory's root CA."""

import socket
import ssl
import subprocess
import time

import pytest

import rawmqtt
from clients import (MQTTV311, MQTTV5, MosquittoSub, PahoClient, client_tls_context,
                     make_foreign_ca_client_cert, make_self_signed_client_cert, mosquitto_pub, raw,
                     tls_mqtt_connect_refused, unique)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    return make_foreign_ca_client_cert(tmp_path_factory.mktemp("foreign-ca"))


def device_ctx(srv, **kw):
    return client_tls_context(srv.ca, srv.device_cert, srv.device_key, **kw)


# ---------------------------------------------------------------- accepted

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_pub_and_sub_work_over_mtls_with_the_device_certificate(srv, version, host):
    t = unique("tls/")
    with MosquittoSub(srv, [t], version=version, tls=True, host=host) as s:
        s.wait_subscribed()
        r = mosquitto_pub(srv, t, "over tls", version=version, tls=True, host=host)
        assert r.returncode == 0, r.stdout + r.stderr
        assert s.wait_messages(1)[0] == (t, False, 1, "over tls")


@pytest.mark.parametrize("version", [MQTTV311, MQTTV5], ids=["v311", "v5"])
def test_paho_over_mtls_publishes_and_receives(srv, version):
    t = unique("tls/")
    with PahoClient(srv, version=version, tls=srv.tls_files, host="localhost") as c:
        c.connect()
        c.subscribe(t, 1)
        c.publish(t, b"paho tls", qos=1)
        assert c.expect_message(t).payload == b"paho tls"


def test_tls_client_and_plain_client_exchange_messages(srv):
    t1, t2 = unique("tls/"), unique("plain/")
    with PahoClient(srv, tls=srv.tls_files) as secure, PahoClient(srv) as plain:
        secure.connect()
        plain.connect()
        secure.subscribe(t2, 1)
        plain.subscribe(t1, 1)
        secure.publish(t1, b"from tls", qos=1)
        plain.publish(t2, b"from plain", qos=1)
        assert plain.expect_message(t1).payload == b"from tls"
        assert secure.expect_message(t2).payload == b"from plain"


@pytest.mark.parametrize("tls_version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["TLS1.2", "TLS1.3"])
def test_tls_1_2_and_1_3_are_both_accepted(srv, tls_version):
    ctx = device_ctx(srv, min_version=tls_version, max_version=tls_version)
    with raw(srv, tls_ctx=ctx, host="127.0.0.1") as c:
        assert c.sock.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[tls_version]
        c.connect(unique("tlsver-"))
        assert c.is_open()


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_server_certificate_verifies_against_root_ca_for_localhost_and_127_0_0_1(srv, name):
    ctx = device_ctx(srv)  # verify_mode CERT_REQUIRED and check_hostname on
    c = rawmqtt.RawClient("127.0.0.1", srv.mqtts_port, ssl_context=ctx, server_hostname=name)
    try:
        c.connect(unique("san-"))
    finally:
        c.close()


def test_mqtt_connection_over_tls_reports_the_device_as_principal(srv):
    """The connected lifecycle event of a certificate client carries a principal identifier."""
    cid = unique("tlsev-")
    with PahoClient(srv) as ev:
        ev.connect()
        ev.subscribe(f"$aws/events/presence/connected/{cid}", 1)
        with PahoClient(srv, cid, tls=srv.tls_files) as c:
            c.connect()
            doc = ev.expect_message(f"$aws/events/presence/connected/{cid}").json()
            c.disconnect()
    assert doc["clientId"] == cid and doc["principalIdentifier"]


# ---------------------------------------------------------------- refused

def test_tls_connection_without_client_certificate_is_refused(srv, observer):
    how = tls_mqtt_connect_refused(srv, client_tls_context(srv.ca))
    assert how
    observer.assert_still_served()


def test_client_certificate_from_another_ca_is_refused(srv, observer, foreign):
    how = tls_mqtt_connect_refused(srv, client_tls_context(srv.ca, foreign["cert"], foreign["key"]))
    assert how
    observer.assert_still_served()


def test_self_signed_client_certificate_is_refused(srv, observer, tmp_path):
    own = make_self_signed_client_cert(tmp_path)
    how = tls_mqtt_connect_refused(srv, client_tls_context(srv.ca, own["cert"], own["key"]))
    assert how
    observer.assert_still_served()


def test_mosquitto_pub_without_client_certificate_fails(srv, observer):
    r = subprocess.run(["mosquitto_pub", "-h", "localhost", "-p", str(srv.mqtts_port), "--cafile", srv.ca,
                        "-t", unique("tls/"), "-m", "nope", "-q", "1", "-d"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "received CONNACK (0)" not in r.stdout, r.stdout
    observer.assert_still_served()


@pytest.mark.parametrize("version", [MQTTV311, MQTTV5], ids=["v311", "v5"])
def test_paho_with_foreign_client_certificate_cannot_connect(srv, observer, foreign, version):
    tls = {"ca": srv.ca, "cert": foreign["cert"], "key": foreign["key"]}
    with PahoClient(srv, version=version, tls=tls) as c:
        try:
            ack = c.connect(expect_success=False, timeout=3)
        except (ssl.SSLError, OSError):
            ack = None
        except AssertionError:
            ack = None  # timed out or closed without CONNACK
        assert not ack or ack.get("rc") != 0, f"connected with a foreign certificate: {ack}"
    observer.assert_still_served()


def test_plain_mqtt_bytes_on_the_tls_port_are_refused(srv, observer):
    sock = socket.create_connection(("127.0.0.1", srv.mqtts_port), timeout=3)
    received = b""
    try:
        sock.sendall(rawmqtt.connect(unique("plain-on-tls-")))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            if not chunk:
                break
            received += chunk
        else:
            raise AssertionError("plain MQTT on the TLS port: connection neither refused nor closed")
    finally:
        sock.close()
    assert not received.startswith(b"\x20"), f"got a CONNACK over plain TCP on the TLS port: {received!r}"
    observer.assert_still_served()


def test_tls_port_keeps_serving_after_refused_handshakes(srv, foreign):
    for _ in range(3):
        tls_mqtt_connect_refused(srv, client_tls_context(srv.ca))
        tls_mqtt_connect_refused(srv, client_tls_context(srv.ca, foreign["cert"], foreign["key"]))
    with PahoClient(srv, tls=srv.tls_files) as c:
        c.connect()
        t = unique("tls/")
        c.subscribe(t, 1)
        c.publish(t, b"ok", qos=1)
        assert c.expect_message(t).payload == b"ok"
