"""12 Device Shadow with real clients: the AWS CLI v2 and boto3 (iot-data, --endpoint-url) over the
REST API, mosquitto_pub/sub and paho over MQTT; both paths publish the same notifications; bad
input gets AWS's errors and the server keeps serving; an accepted update survives kill -9."""

import json
import os
import subprocess

import pytest

from clients import AWS_CREDS, MosquittoSub, PahoClient, aws_cli_v2, mosquitto_pub, unique

CREDS = AWS_CREDS


def aws(srv, tmp_path, *args, expect_rc=0):
    """Runs `aws --endpoint-url <server> iot-data ...`; returns (rc, stdout, stderr, outfile JSON)."""
    outfile = tmp_path / f"out-{unique()}.json"
    cmd = [aws_cli_v2(), "--endpoint-url", srv.http_url, "iot-data", *args]
    if args[0] in ("get-thing-shadow", "update-thing-shadow", "delete-thing-shadow"):
        cmd.append(str(outfile))  # these operations write their payload to an output file
    env = {"PATH": os.confstr("CS_PATH"), "HOME": str(tmp_path), **CREDS}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == expect_rc, f"{cmd}: rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    doc = json.loads(outfile.read_text()) if outfile.exists() else None
    return p, doc


@pytest.fixture
def boto(srv):
    boto3 = pytest.importorskip("boto3")
    return boto3.client("iot-data", endpoint_url=srv.http_url, region_name="us-east-1",
                        aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"])


# ---------------------------------------------------------------- AWS CLI v2

def test_aws_cli_updates_gets_lists_and_deletes_shadows(srv, tmp_path):
    thing = unique("cli-")
    _, doc = aws(srv, tmp_path, "update-thing-shadow", "--thing-name", thing, "--cli-binary-format",
                 "raw-in-base64-out", "--payload", '{"state":{"desired":{"color":"red"}},"clientToken":"c1"}')
    assert doc["version"] == 1 and doc["state"] == {"desired": {"color": "red"}} and doc["clientToken"] == "c1"
    _, doc = aws(srv, tmp_path, "get-thing-shadow", "--thing-name", thing)
    assert doc["state"]["delta"] == {"color": "red"}
    assert isinstance(doc["metadata"]["desired"]["color"]["timestamp"], int)
    for name in ("zeta", "alpha"):
        aws(srv, tmp_path, "update-thing-shadow", "--thing-name", thing, "--shadow-name", name,
            "--cli-binary-format", "raw-in-base64-out", "--payload", '{"state":{"reported":{"on":true}}}')
    p, _ = aws(srv, tmp_path, "list-named-shadows-for-thing", "--thing-name", thing)
    assert json.loads(p.stdout)["results"] == ["alpha", "zeta"]
    _, doc = aws(srv, tmp_path, "delete-thing-shadow", "--thing-name", thing, "--shadow-name", "alpha")
    assert doc["version"] == 1
    p, _ = aws(srv, tmp_path, "list-named-shadows-for-thing", "--thing-name", thing)
    assert json.loads(p.stdout)["results"] == ["zeta"]


def test_aws_cli_reports_resource_not_found_for_an_unknown_shadow(srv, tmp_path):
    p, _ = aws(srv, tmp_path, "get-thing-shadow", "--thing-name", unique("ghost-"), expect_rc=254)
    assert "ResourceNotFoundException" in p.stderr and "No shadow exists with name" in p.stderr
    p, _ = aws(srv, tmp_path, "delete-thing-shadow", "--thing-name", unique("ghost-"), expect_rc=254)
    assert "ResourceNotFoundException" in p.stderr


def test_aws_cli_reports_a_version_conflict(srv, tmp_path):
    thing = unique("conflict-")
    aws(srv, tmp_path, "update-thing-shadow", "--thing-name", thing, "--cli-binary-format", "raw-in-base64-out",
        "--payload", '{"state":{"reported":{"x":1}}}')
    p, _ = aws(srv, tmp_path, "update-thing-shadow", "--thing-name", thing, "--cli-binary-format",
               "raw-in-base64-out", "--payload", '{"state":{"reported":{"x":2}},"version":7}', expect_rc=254)
    assert "ConflictException" in p.stderr and "Version conflict" in p.stderr


# ---------------------------------------------------------------- boto3

def test_boto3_shadow_calls_match_the_aws_sdk_shapes(srv, boto):
    thing = unique("boto-")
    r = boto.update_thing_shadow(thingName=thing, payload=json.dumps({"state": {"reported": {"temp": 21}}}))
    assert json.loads(r["payload"].read())["version"] == 1
    r = boto.get_thing_shadow(thingName=thing)
    doc = json.loads(r["payload"].read())
    assert doc["state"] == {"reported": {"temp": 21}}
    boto.update_thing_shadow(thingName=thing, shadowName="sim1", payload=b'{"state":{"desired":{"a":1}}}')
    assert boto.list_named_shadows_for_thing(thingName=thing)["results"] == ["sim1"]
    r = boto.delete_thing_shadow(thingName=thing)
    assert json.loads(r["payload"].read())["version"] == 1
    with pytest.raises(boto.exceptions.ResourceNotFoundException):
        boto.get_thing_shadow(thingName=thing)


def test_boto3_publish_reaches_mqtt_subscribers_and_retained_messages_are_listed(srv, boto):
    topic = f"{unique('http-')}/status"
    sub = MosquittoSub(srv, [topic]).wait_subscribed()
    try:
        boto.publish(topic=topic, qos=1, payload=b"hello from https publish")
        msgs = sub.wait_messages(1)
        assert msgs[0][0] == topic and msgs[0][3] == "hello from https publish"
    finally:
        sub.kill()
    boto.publish(topic=topic, qos=1, retain=True, payload=b"kept")
    r = boto.get_retained_message(topic=topic)
    assert r["topic"] == topic and r["payload"] == b"kept" and r["qos"] == 1
    listed = boto.list_retained_messages()["retainedTopics"]
    assert any(t["topic"] == topic and t["payloadSize"] == 4 for t in listed)


def test_boto3_over_https_verifies_the_local_root_ca(srv):
    boto3 = pytest.importorskip("boto3")
    client = boto3.client("iot-data", endpoint_url=f"https://localhost:{srv.https_port}", region_name="us-east-1",
                          aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"], verify=srv.ca)
    thing = unique("tls-")
    client.update_thing_shadow(thingName=thing, payload=b'{"state":{"reported":{"secure":true}}}')
    assert json.loads(client.get_thing_shadow(thingName=thing)["payload"].read())["state"]["reported"] == {"secure": True}


# ---------------------------------------------------------------- REST and MQTT see the same notifications

def test_mosquitto_sub_on_the_delta_topic_sees_the_delta_of_a_rest_update(srv, tmp_path):
    thing = unique("lamp-")
    sub = MosquittoSub(srv, [f"$aws/things/{thing}/shadow/update/delta"]).wait_subscribed()
    try:
        aws(srv, tmp_path, "update-thing-shadow", "--thing-name", thing, "--cli-binary-format", "raw-in-base64-out",
            "--payload", '{"state":{"desired":{"power":"on"}}}')
        topic, _, _, payload = sub.wait_messages(1)[0]
        assert topic == f"$aws/things/{thing}/shadow/update/delta"
        doc = json.loads(payload)
        assert doc["state"] == {"power": "on"} and doc["version"] == 1
    finally:
        sub.kill()


def test_an_mqtt_update_from_mosquitto_pub_is_answered_on_accepted_documents_and_delta(srv):
    thing = unique("mqtt-")
    prefix = f"$aws/things/{thing}/shadow"
    sub = MosquittoSub(srv, [f"{prefix}/update/#"]).wait_subscribed()
    try:
        p = mosquitto_pub(srv, f"{prefix}/update", '{"state":{"desired":{"on":true},"reported":{"on":false}}}')
        assert p.returncode == 0, p.stderr
        # Not the request itself: on AWS `update/#` does not match `update` (§1.7).
        msgs = sub.wait_messages(3)
        topics = [m[0] for m in msgs]
        assert topics == [f"{prefix}/update/accepted", f"{prefix}/update/documents", f"{prefix}/update/delta"]
        documents = json.loads(msgs[1][3])
        assert documents["current"]["state"] == {"desired": {"on": True}, "reported": {"on": False}}
    finally:
        sub.kill()


def test_a_device_over_mqtt_and_an_app_over_rest_share_one_shadow(srv, boto):
    thing = unique("shared-")
    prefix = f"$aws/things/{thing}/shadow"
    with PahoClient(srv, thing) as dev:
        dev.connect()
        dev.subscribe([f"{prefix}/update/delta", f"{prefix}/get/accepted"], qos=1)
        boto.update_thing_shadow(thingName=thing, payload=b'{"state":{"desired":{"level":3}}}')
        delta = dev.expect_message(f"{prefix}/update/delta").json()
        assert delta["state"] == {"level": 3}
        dev.publish(f"{prefix}/update", json.dumps({"state": {"reported": delta["state"]}}).encode(), qos=1)
        dev.publish(f"{prefix}/get", b'{"clientToken":"g1"}', qos=1)
        got = dev.expect_message(f"{prefix}/get/accepted").json()
        assert got["clientToken"] == "g1" and got["version"] == 2 and "delta" not in got["state"]
    doc = json.loads(boto.get_thing_shadow(thingName=thing)["payload"].read())
    assert doc["state"] == {"desired": {"level": 3}, "reported": {"level": 3}}


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("payload, status, code", [
    (b"not json", 400, "InvalidRequestException"),
    (b'{"state":{"desired":5}}', 400, "InvalidRequestException"),
    (b'{"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}}}', 400, "InvalidRequestException"),
    (b'{"state":{"desired":{"big":"' + b"x" * 9000 + b'"}}}', 413, "RequestEntityTooLargeException"),
    (b'{"state":{"desired":{"a":1}},"version":"one"}', 400, "InvalidRequestException"),
])
def test_bad_rest_updates_get_aws_errors_and_the_server_keeps_serving(srv, observer, boto, payload, status, code):
    thing = unique("bad-")
    with pytest.raises(boto.exceptions.ClientError) as e:
        boto.update_thing_shadow(thingName=thing, payload=payload)
    err = e.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == status
    assert err["Error"]["Code"] == code
    observer.assert_still_served()


def test_bad_mqtt_updates_are_rejected_with_aws_error_documents(srv, observer):
    thing = unique("badmqtt-")
    prefix = f"$aws/things/{thing}/shadow"
    sub = MosquittoSub(srv, [f"{prefix}/update/rejected", f"{prefix}/get/rejected"]).wait_subscribed()
    try:
        mosquitto_pub(srv, f"{prefix}/update", "{not json")
        mosquitto_pub(srv, f"{prefix}/get", "")
        msgs = sub.wait_messages(2)
        docs = {m[0]: json.loads(m[3]) for m in msgs}
        assert docs[f"{prefix}/update/rejected"]["code"] == 400
        assert docs[f"{prefix}/get/rejected"]["code"] == 404
        assert "timestamp" in docs[f"{prefix}/get/rejected"]
    finally:
        sub.kill()
    observer.assert_still_served()


def test_malformed_http_requests_get_an_error_and_the_server_keeps_serving(srv, observer):
    import socket
    for raw in (b"GARBAGE\r\n\r\n", b"GET /things/x/shadow HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                b"POST /things/x/shadow HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"):
        with socket.create_connection((srv.host, srv.http_port), timeout=5) as s:
            s.sendall(raw)
            reply = s.recv(4096)
            assert reply.startswith(b"HTTP/1.1 4"), reply[:80]
    observer.assert_still_served()


# ---------------------------------------------------------------- persistence

def test_an_accepted_shadow_update_survives_kill_9(server, tmp_path):
    boto3 = pytest.importorskip("boto3")

    def client():
        return boto3.client("iot-data", endpoint_url=server.http_url, region_name="us-east-1",
                            aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"])
    c = client()
    for i in range(1, 6):
        c.update_thing_shadow(thingName="durable", payload=json.dumps({"state": {"reported": {"i": i}}}).encode())
    server.kill()
    server.start()
    doc = json.loads(client().get_thing_shadow(thingName="durable")["payload"].read())
    assert doc["version"] == 5 and doc["state"]["reported"] == {"i": 5}
