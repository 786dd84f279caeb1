"""08 tls, AWS client: awscrt (the AWS IoT Device SDK v2 runtime) against the mqtts port.

The connection is built the way the SDK's `mqtt_connection_builder.mtls_from_path` builds it for the
quick-connect sample (`pubsub.py --endpoint localhost --port <mqtts> --cert device.cert.pem
--key device.private.key --ca_file root-CA.crt --client_id basicPubSub`): mTLS from files, the ALPN
protocol `x-amzn-mqtt-ca`, a metrics user name, clean_session False, keep-alive 30 s.
"""

import json
import selectors
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from awscrt import mqtt  # Debian: python3-awscrt

from clients import TIMEOUT, AwsClient, PahoClient, unique


def test_basic_pubsub_sample_receives_its_own_hello_world_messages(srv):
    """What the quick-connect sample does: subscribe sdk/test/python, publish 10 JSON strings, get them back."""
    topic = "sdk/test/python"
    with AwsClient(srv, "basicPubSub") as c:
        c.connect()
        sub = c.subscribe(topic, mqtt.QoS.AT_LEAST_ONCE)
        assert sub["qos"] == mqtt.QoS.AT_LEAST_ONCE and sub["topic"] == topic
        sent = [json.dumps(f"Hello World! [{n}]") for n in range(1, 11)]
        for payload in sent:
            result = c.publish(topic, payload, mqtt.QoS.AT_LEAST_ONCE)
            assert result["packet_id"] is not None
        got = [c.expect(topic) for _ in sent]
        c.disconnect()
    assert sorted(p.decode() for _, p, _, _ in got) == sorted(sent)
    assert all(q == 1 and not r for _, _, q, r in got)
    assert json.loads(got[0][1]).startswith("Hello World! [")


def test_basic_pubsub_client_is_reachable_from_a_plain_mqtt_client(srv):
    topic = f"sdk/test/{unique()}"
    with AwsClient(srv, unique("aws-")) as c, PahoClient(srv) as p:
        c.connect()
        c.subscribe(topic)
        p.connect()
        p.subscribe(topic + "/reply", 1)
        p.publish(topic, b'"from paho"', qos=1)
        assert c.expect(topic)[1] == b'"from paho"'
        c.publish(topic + "/reply", b'"from awscrt"')
        assert p.expect_message(topic + "/reply").payload == b'"from awscrt"'


def test_awscrt_qos0_publish_is_delivered_at_qos0(srv):
    topic = f"sdk/qos0/{unique()}"
    with AwsClient(srv, unique("aws0-")) as c:
        c.connect()
        assert c.subscribe(topic, mqtt.QoS.AT_MOST_ONCE)["qos"] == mqtt.QoS.AT_MOST_ONCE
        c.publish(topic, b"zero", mqtt.QoS.AT_MOST_ONCE)
        _, payload, qos, _ = c.expect(topic)
        assert (payload, qos) == (b"zero", 0)


def test_awscrt_subscribe_with_qos2_is_granted_qos1(srv):
    with AwsClient(srv, unique("aws2-")) as c:
        c.connect()
        assert c.subscribe(f"sdk/qos2/{unique()}", mqtt.QoS.EXACTLY_ONCE)["qos"] == mqtt.QoS.AT_LEAST_ONCE


def test_awscrt_retained_message_is_delivered_to_a_later_exact_subscriber(srv):
    topic = f"sdk/retained/{unique()}"
    with AwsClient(srv, unique("awsr-")) as c:
        c.connect()
        c.publish(topic, b"retained by awscrt", retain=True)
        c.disconnect()
    with AwsClient(srv, unique("awsr2-")) as c:
        c.connect()
        c.subscribe(topic)
        _, payload, _, retain = c.expect(topic)
        assert (payload, retain) == (b"retained by awscrt", True)


def test_awscrt_persistent_session_redelivers_qos1_messages_published_while_offline(srv):
    cid, topic = unique("awsp-"), f"sdk/persist/{unique()}"
    with AwsClient(srv, cid, clean_session=False) as c:
        assert c.connect()["session_present"] is False
        c.subscribe(topic)
        c.disconnect()
    with PahoClient(srv) as p:
        p.connect()
        for i in range(3):
            p.publish(topic, f"offline {i}".encode(), qos=1)
    with AwsClient(srv, cid, clean_session=False, catch_all=True) as c:
        assert c.connect()["session_present"] is True
        got = sorted(c.expect(topic)[1] for _ in range(3))
        assert got == [b"offline 0", b"offline 1", b"offline 2"]


WILL_CLIENT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[1])
    from clients import aws_connection
    from awscrt import mqtt

    class Srv:
        pass
    srv = Srv()
    srv.device_cert, srv.device_key, srv.ca, srv.mqtts_port = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    will = mqtt.Will(topic=sys.argv[6], qos=mqtt.QoS.AT_LEAST_ONCE, payload=b"device lost", retain=False)
    conn = aws_connection(srv, sys.argv[7], clean_session=False, will=will)
    conn.connect().result(10)
    print("connected", flush=True)
    time.sleep(60)
""")


def read_line(proc, timeout):
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        if not sel.select(timeout):
            return "<nothing within %s s>" % timeout
        return proc.stdout.readline()
    finally:
        sel.close()


def test_awscrt_will_is_published_when_the_device_process_is_killed(srv, tmp_path):
    topic = f"sdk/will/{unique()}"
    script = tmp_path / "will_client.py"
    script.write_text(WILL_CLIENT)
    here = str(Path(__file__).resolve().parent)
    with PahoClient(srv) as watcher:
        watcher.connect()
        watcher.subscribe(topic, 1)
        proc = subprocess.Popen([sys.executable, str(script), here, srv.device_cert, srv.device_key, srv.ca,
                                 str(srv.mqtts_port), topic, unique("awsw-")],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = read_line(proc, TIMEOUT)
            assert line.strip() == "connected", f"awscrt will client did not connect: {line!r}"
            proc.send_signal(signal.SIGKILL)
            proc.wait(TIMEOUT)
            assert watcher.expect_message(topic).payload == b"device lost"
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(TIMEOUT)


def test_awscrt_clean_disconnect_does_not_publish_the_will(srv):
    topic = f"sdk/will/{unique()}"
    with PahoClient(srv) as watcher:
        watcher.connect()
        watcher.subscribe(topic, 1)
        will = mqtt.Will(topic=topic, qos=mqtt.QoS.AT_LEAST_ONCE, payload=b"should not appear", retain=False)
        with AwsClient(srv, unique("awswc-"), will=will) as c:
            c.connect()
            c.disconnect()
        watcher.barrier()
        assert watcher.messages_on(topic) == []
