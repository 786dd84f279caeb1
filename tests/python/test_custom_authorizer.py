"""A Python callable as a custom authorizer's function (LocalServer.add_lambda): the server runs it
for each connection on the WSS port (AWS's 443) with ALPN "mqtt", and its answer decides."""

import json
import queue
import ssl

import pytest

import iotsim

paho = pytest.importorskip("paho.mqtt.client")


def connect(srv, client_id, username, password):
    """paho MQTT 5 over TLS with ALPN "mqtt": the CONNACK's reason code and the client."""
    acks = queue.Queue()
    c = paho.Client(client_id, protocol=paho.MQTTv5)
    ctx = ssl.create_default_context(cafile=srv.ca)
    ctx.set_alpn_protocols(["mqtt"])
    c.tls_set_context(ctx)
    c.username_pw_set(username, password)
    c.on_connect = lambda client, userdata, flags, rc, properties=None: acks.put(rc.value)
    c.connect("localhost", srv.wss_port)
    c.loop_start()
    try:
        return acks.get(timeout=15), c
    except queue.Empty:
        c.loop_stop()
        raise AssertionError("no CONNACK") from None


def test_a_python_callable_decides_who_connects_and_what_it_may_do():
    seen = []

    def authorizer(event):
        seen.append(event)
        password = event["protocolData"]["mqtt"].get("password", "")
        if password != "b3Blbi1zZXNhbWU=":  # base64("open-sesame")
            return {"isAuthenticated": False}
        arn = "arn:aws:iot:us-east-1:123456789012:"
        return {"isAuthenticated": True, "principalId": "pyuser",
                "disconnectAfterInSeconds": 3600, "refreshAfterInSeconds": 600,
                "policyDocuments": [json.dumps({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "iot:Connect", "Resource": arn + "client/${iot:ClientId}"},
                    {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
                     "Resource": arn + "topic/py/${iot:ClientId}"},
                    {"Effect": "Allow", "Action": "iot:Subscribe",
                     "Resource": arn + "topicfilter/py/${iot:ClientId}"}]})]}

    with iotsim.LocalServer() as srv:
        srv.add_lambda("py-authorizer", authorizer)
        iot = srv.client("iot")
        iot.create_authorizer(authorizerName="py", signingDisabled=True, status="ACTIVE",
                              authorizerFunctionArn="arn:aws:lambda:us-east-1:123456789012:function:py-authorizer")
        answer = iot.test_invoke_authorizer(authorizerName="py", mqttContext={
            "username": "u", "password": b"open-sesame", "clientId": "c1"})
        assert answer["isAuthenticated"] and answer["principalId"] == "pyuser"

        rc, refused = connect(srv, "dev-1", "u?x-amz-customauthorizer-name=py", "wrong")
        refused.loop_stop()
        assert rc == 134  # Bad User Name or Password

        rc, c = connect(srv, "dev-1", "u?x-amz-customauthorizer-name=py", "open-sesame")
        try:
            assert rc == 0
            got = queue.Queue()
            c.on_message = lambda client, userdata, msg: got.put((msg.topic, msg.payload))
            subscribed = queue.Queue()
            c.on_subscribe = lambda client, userdata, mid, codes, properties=None: subscribed.put(
                [code.value for code in codes])
            c.subscribe([("py/dev-1", 1), ("py/dev-2", 1)])
            assert subscribed.get(timeout=10) == [1, 135]  # ${iot:ClientId} is dev-1
            c.publish("py/dev-1", b"hello", qos=1)
            assert got.get(timeout=10) == ("py/dev-1", b"hello")
        finally:
            c.disconnect()
            c.loop_stop()
        event = seen[-1]
        assert event["protocols"] == ["tls", "mqtt"] and event["protocolData"]["mqtt"]["clientId"] == "dev-1"


def test_a_failing_callable_refuses_the_connection():
    def broken(event):
        raise RuntimeError("the authorizer is down")

    with iotsim.LocalServer() as srv:
        srv.add_lambda("broken", broken)
        srv.client("iot").create_authorizer(
            authorizerName="b", signingDisabled=True,
            authorizerFunctionArn="arn:aws:lambda:us-east-1:123456789012:function:broken")
        rc, c = connect(srv, "dev-1", "u?x-amz-customauthorizer-name=b", "x")
        c.loop_stop()
        assert rc == 134
        assert "the authorizer function failed" in srv.log_path.read_text()
