"""13 Registry and authorization end to end (the quick-connect lab, reference §6.2): the AWS CLI v2 and
boto3 (`iot`, --endpoint-url) create a thing, a certificate and a policy on the same HTTP port as
iot-data; a device connects with that certificate over mutual TLS and IoT policies allow or refuse
it (reference §1.10 on the wire per MQTT version); certificate status, errors and a restart."""

import json
import os
import subprocess

import pytest

import rawmqtt
from clients import AWS_CREDS, PahoClient, aws_iot, client_tls_context, make_foreign_ca_client_cert, openssl, raw, \
    tls_mqtt_connect_refused, unique, wait_until

CREDS = AWS_CREDS
ARN = "arn:aws:iot:us-east-1:123456789012"


def lab_policy() -> str:
    """The policy the console generates for the quick-connect kit (reference §6.2)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
             "Resource": [f"{ARN}:topic/sdk/test/java", f"{ARN}:topic/sdk/test/python",
                          f"{ARN}:topic/sdk/test/js"]},
            {"Effect": "Allow", "Action": "iot:Subscribe",
             "Resource": [f"{ARN}:topicfilter/sdk/test/java", f"{ARN}:topicfilter/sdk/test/python",
                          f"{ARN}:topicfilter/sdk/test/js"]},
            {"Effect": "Allow", "Action": "iot:Connect",
             "Resource": [f"{ARN}:client/sdk-java", f"{ARN}:client/basicPubSub",
                          f"{ARN}:client/sdk-nodejs-*"]},
        ]})


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW_ALL = {"Effect": "Allow", "Action": "iot:*", "Resource": "*"}


# ---------------------------------------------------------------- clients

iot = aws_iot  # (process, parsed stdout or None)


def boto_iot(srv):
    boto3 = pytest.importorskip("boto3")
    return boto3.client("iot", endpoint_url=srv.http_url, region_name="us-east-1",
                        aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"])


def device(srv, tmp_path, document, thing=None, exclusive=False):
    """boto3: a new ACTIVE certificate (CreateKeysAndCertificate) with a new policy attached, and
    optionally attached to a new thing. Returns dict(cert=, key=, id=, arn=, policy=, tls=)."""
    client = boto_iot(srv)
    made = client.create_keys_and_certificate(setAsActive=True)
    d = tmp_path / unique("dev-")
    d.mkdir()
    (d / "cert.pem").write_text(made["certificatePem"])
    (d / "private.key").write_text(made["keyPair"]["PrivateKey"])
    name = unique("policy-")
    client.create_policy(policyName=name, policyDocument=document)
    client.attach_policy(policyName=name, target=made["certificateArn"])
    if thing:
        client.create_thing(thingName=thing)
        kw = {"thingPrincipalType": "EXCLUSIVE_THING"} if exclusive else {}
        client.attach_thing_principal(thingName=thing, principal=made["certificateArn"], **kw)
    out = {"cert": str(d / "cert.pem"), "key": str(d / "private.key"), "id": made["certificateId"],
           "arn": made["certificateArn"], "policy": name}
    out["tls"] = {"ca": srv.ca, "cert": out["cert"], "key": out["key"]}
    return out


def tls_raw(srv, dev, version=rawmqtt.MQTT311):
    return raw(srv, version=version, tls_ctx=client_tls_context(srv.ca, dev["cert"], dev["key"]),
               host="127.0.0.1")


def refused_without_connack_or_0x87(srv, dev, client_id, version):
    """CONNECT over mTLS; the broker must refuse (3.1.1: close, no CONNACK; 5: CONNACK 0x87)."""
    c = tls_raw(srv, dev, version)
    try:
        c.send(rawmqtt.connect(client_id, version=version))
        packets = c.collect_until_closed()
    finally:
        c.close()
    if version == rawmqtt.MQTT311:
        assert packets == [], f"MQTT 3.1.1 refusal must close without CONNACK: {packets}"
    else:
        assert len(packets) == 1 and packets[0].type == rawmqtt.CONNACK, packets
        assert packets[0].return_code == 0x87, packets


def connects(srv, dev, client_id, version=rawmqtt.MQTT311) -> bool:
    c = tls_raw(srv, dev, version)
    try:
        c.send(rawmqtt.connect(client_id, version=version))
        try:
            pkt = c.read_packet(5)
        except (rawmqtt.Closed, TimeoutError):
            return False
        return pkt.type == rawmqtt.CONNACK and pkt.return_code == 0
    finally:
        c.close()


def sign_with_local_ca(srv, directory, cn="unregistered-device") -> dict:
    """A client certificate signed by the server's own root CA but never registered."""
    d = str(directory)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-sha256",
            "-subj", f"/CN={cn}", "-keyout", "u.key", "-out", "u.csr", cwd=d)
    with open(os.path.join(d, "u.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", "u.csr", "-CA", srv.ca, "-CAkey", str(srv.data_dir / "root-CA.key"),
            "-CAcreateserial", "-CAserial", "u.srl", "-days", "30", "-sha256", "-extfile", "u.ext",
            "-out", "u.pem", cwd=d)
    return {"cert": os.path.join(d, "u.pem"), "key": os.path.join(d, "u.key")}


# ---------------------------------------------------------------- the lab with the AWS CLI v2

def test_quick_connect_lab_with_the_aws_cli_then_mtls_publish_and_receive(srv, tmp_path):
    thing = unique("TutorialTestThing-")
    _, out = iot(srv, tmp_path, "create-thing", "--thing-name", thing)
    assert out["thingName"] == thing and out["thingArn"] == f"{ARN}:thing/{thing}"
    _, cert = iot(srv, tmp_path, "create-keys-and-certificate", "--set-as-active",
                  "--certificate-pem-outfile", "lab.cert.pem", "--private-key-outfile", "lab.private.key",
                  "--public-key-outfile", "lab.public.key")
    assert len(cert["certificateId"]) == 64 and cert["certificateArn"] == f"{ARN}:cert/{cert['certificateId']}"
    assert "BEGIN RSA PRIVATE KEY" in cert["keyPair"]["PrivateKey"] or \
        "BEGIN PRIVATE KEY" in cert["keyPair"]["PrivateKey"]
    verify = subprocess.run(["openssl", "verify", "-CAfile", srv.ca, str(tmp_path / "lab.cert.pem")],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    policy_name = f"{thing}-Policy"
    _, out = iot(srv, tmp_path, "create-policy", "--policy-name", policy_name, "--policy-document", lab_policy())
    assert out["policyVersionId"] == "1"
    iot(srv, tmp_path, "attach-policy", "--policy-name", policy_name, "--target", cert["certificateArn"])
    iot(srv, tmp_path, "attach-thing-principal", "--thing-name", thing, "--principal", cert["certificateArn"])
    _, out = iot(srv, tmp_path, "describe-endpoint", "--endpoint-type", "iot:Data-ATS")
    assert out["endpointAddress"]
    _, out = iot(srv, tmp_path, "list-thing-principals", "--thing-name", thing)
    assert out["principals"] == [cert["certificateArn"]]
    _, out = iot(srv, tmp_path, "describe-certificate", "--certificate-id", cert["certificateId"])
    assert out["certificateDescription"]["status"] == "ACTIVE"

    tls = {"ca": srv.ca, "cert": str(tmp_path / "lab.cert.pem"), "key": str(tmp_path / "lab.private.key")}
    # As the kit's pubsub.py: client basicPubSub, clean_session=False, QoS 1 on sdk/test/python.
    with PahoClient(srv, "basicPubSub", clean=False, tls=tls) as c:
        c.connect()
        assert c.subscribe("sdk/test/python", 1) == [1]
        c.publish("sdk/test/python", json.dumps("Hello World! [1]"), qos=1)
        assert c.expect_message("sdk/test/python").payload == b'"Hello World! [1]"'
        c.disconnect()


def test_awscrt_like_the_kits_pubsub_sample_connects_with_a_created_certificate(srv, tmp_path):
    pytest.importorskip("awscrt")
    from awscrt import io, mqtt
    dev = device(srv, tmp_path, lab_policy())
    tls_options = io.TlsContextOptions.create_client_with_mtls_from_path(dev["cert"], dev["key"])
    tls_options.override_default_trust_store_from_path(None, srv.ca)
    client = mqtt.Client(io.ClientBootstrap.get_or_create_static_default(), io.ClientTlsContext(tls_options))
    conn = mqtt.Connection(client=client, host_name="localhost", port=srv.mqtts_port, client_id="basicPubSub",
                           clean_session=False, keep_alive_secs=30)
    conn.connect().result(10)
    try:
        got = []
        sub, _ = conn.subscribe("sdk/test/python", mqtt.QoS.AT_LEAST_ONCE,
                                callback=lambda topic, payload, **kw: got.append(bytes(payload)))
        assert sub.result(10)["qos"] == mqtt.QoS.AT_LEAST_ONCE
        pub, _ = conn.publish("sdk/test/python", json.dumps("Hello World! [1]"), mqtt.QoS.AT_LEAST_ONCE)
        pub.result(10)
        wait_until(lambda: got, 5, message="the sample's own message")
        assert got[0] == b'"Hello World! [1]"'
    finally:
        conn.disconnect().result(10)


# ---------------------------------------------------------------- policies on the wire

@pytest.mark.parametrize("version", [rawmqtt.MQTT311, rawmqtt.MQTT5], ids=["v311", "v5"])
def test_lab_policy_refuses_another_client_id_and_emits_connect_failed(srv, tmp_path, version):
    dev = device(srv, tmp_path, lab_policy())
    cid = unique("not-in-policy-")
    with PahoClient(srv, unique("watch-")) as watcher:  # the plain port: allowed everything
        watcher.connect()
        watcher.subscribe(f"$aws/events/presence/connect_failed/{cid}", 1)
        refused_without_connack_or_0x87(srv, dev, cid, version)
        event = json.loads(watcher.expect_message(f"$aws/events/presence/connect_failed/{cid}").payload)
    assert event["eventType"] == "connect_failed" and event["clientId"] == cid
    assert event["principalIdentifier"] == dev["id"]


@pytest.mark.parametrize("version", [rawmqtt.MQTT311, rawmqtt.MQTT5], ids=["v311", "v5"])
def test_explicit_deny_of_the_client_id_wins_over_allow_all(srv, tmp_path, version):
    denied = unique("blocked-")
    dev = device(srv, tmp_path, policy(ALLOW_ALL, {"Effect": "Deny", "Action": "iot:Connect",
                                                   "Resource": f"{ARN}:client/blocked-*"}))
    refused_without_connack_or_0x87(srv, dev, denied, version)
    assert connects(srv, dev, unique("fine-"), version)


def test_mqtt311_publish_to_a_denied_topic_closes_the_connection(srv, tmp_path):
    dev = device(srv, tmp_path, lab_policy())
    c = tls_raw(srv, dev)
    try:
        c.connect("sdk-java")
        assert c.publish_qos1("sdk/test/java", b"ok").type == rawmqtt.PUBACK
        c.send(rawmqtt.publish("not/allowed", b"x", qos=1, packet_id=2))
        assert c.collect_until_closed() == []
    finally:
        c.close()


def test_mqtt5_publish_to_a_denied_topic_gets_puback_0x87_and_stays_connected(srv, tmp_path):
    dev = device(srv, tmp_path, lab_policy())
    c = tls_raw(srv, dev, rawmqtt.MQTT5)
    try:
        c.connect("sdk-java")
        assert c.publish_qos1("not/allowed", b"x", packet_id=3).reason == 0x87
        assert c.publish_qos1("sdk/test/java", b"ok", packet_id=4).reason == 0
        assert c.is_open()
    finally:
        c.close()


@pytest.mark.parametrize("version,code", [(rawmqtt.MQTT311, 0x80), (rawmqtt.MQTT5, 0x87)], ids=["v311", "v5"])
def test_subscribe_outside_the_policy_is_refused_per_filter(srv, tmp_path, version, code):
    dev = device(srv, tmp_path, lab_policy())
    c = tls_raw(srv, dev, version)
    try:
        c.connect("sdk-java")
        # Wildcards are literal in policies: sdk/test/# is not sdk/test/java.
        assert c.subscribe([("sdk/test/java", 1), ("sdk/test/#", 1)]) == [1, code]
    finally:
        c.close()


def test_receive_is_checked_on_delivery(srv, tmp_path):
    doc = policy({"Effect": "Allow", "Action": ["iot:Connect", "iot:Subscribe"], "Resource": "*"},
                 {"Effect": "Allow", "Action": "iot:Receive", "Resource": f"{ARN}:topic/rx/yes"})
    dev = device(srv, tmp_path, doc)
    with PahoClient(srv, unique("rx-"), tls=dev["tls"]) as c, PahoClient(srv, unique("pub-")) as p:
        c.connect()
        p.connect()
        assert c.subscribe("rx/#", 1) == [1]
        p.publish("rx/no", b"hidden", qos=1)
        p.publish("rx/yes", b"shown", qos=1)
        assert c.expect_message().topic == "rx/yes"
        assert c.messages_on("rx/no") == []


def test_thing_policy_variables_bind_the_thing_named_like_the_client(srv, tmp_path):
    thing = unique("lamp-")
    doc = policy({"Effect": "Allow", "Action": "iot:Connect",
                  "Resource": f"{ARN}:client/${{iot:Connection.Thing.ThingName}}"},
                 {"Effect": "Allow", "Action": "iot:Publish",
                  "Resource": f"{ARN}:topic/things/${{iot:Connection.Thing.ThingName}}/*"})
    dev = device(srv, tmp_path, doc, thing=thing)
    c = tls_raw(srv, dev, rawmqtt.MQTT5)
    try:
        c.connect(thing)
        assert c.publish_qos1(f"things/{thing}/telemetry", b"{}", packet_id=1).reason == 0
        assert c.publish_qos1("things/other/telemetry", b"{}", packet_id=2).reason == 0x87
    finally:
        c.close()
    # Another client id binds no thing: the variable does not resolve, nothing is allowed.
    refused_without_connack_or_0x87(srv, dev, unique("not-the-thing-"), rawmqtt.MQTT5)


def test_certificate_id_variable_and_policy_changes_apply_to_the_next_connect(srv, tmp_path):
    dev = device(srv, tmp_path, policy({"Effect": "Allow", "Action": "iot:Connect",
                                        "Resource": f"{ARN}:client/only-this"}))
    assert not connects(srv, dev, "by-cert-id")
    client = boto_iot(srv)
    client.create_policy_version(policyName=dev["policy"], setAsDefault=True, policyDocument=policy(
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{ARN}:client/*",
         "Condition": {"StringEquals": {"iot:CertificateId": dev["id"]}}}))
    assert connects(srv, dev, "by-cert-id")


# ---------------------------------------------------------------- certificates

def test_update_certificate_inactive_refuses_the_next_connect_and_active_restores_it(srv, tmp_path):
    dev = device(srv, tmp_path, policy(ALLOW_ALL))
    cid = unique("status-")
    assert connects(srv, dev, cid)
    iot(srv, tmp_path, "update-certificate", "--certificate-id", dev["id"], "--new-status", "INACTIVE")
    refused_without_connack_or_0x87(srv, dev, cid, rawmqtt.MQTT5)
    refused_without_connack_or_0x87(srv, dev, cid, rawmqtt.MQTT311)
    iot(srv, tmp_path, "update-certificate", "--certificate-id", dev["id"], "--new-status", "ACTIVE")
    assert connects(srv, dev, cid)
    iot(srv, tmp_path, "update-certificate", "--certificate-id", dev["id"], "--new-status", "REVOKED")
    refused_without_connack_or_0x87(srv, dev, cid, rawmqtt.MQTT5)


@pytest.mark.parametrize("status", ["INACTIVE", "REVOKED"])
def test_a_connected_device_whose_certificate_leaves_active_is_disconnected_at_once(srv, tmp_path, status):
    dev = device(srv, tmp_path, policy(ALLOW_ALL))
    other = device(srv, tmp_path, policy(ALLOW_ALL))
    c5, c311, bystander = tls_raw(srv, dev, rawmqtt.MQTT5), tls_raw(srv, dev), tls_raw(srv, other)
    try:
        for conn, version, cid in ((c5, rawmqtt.MQTT5, unique("v5-")), (c311, rawmqtt.MQTT311, unique("v311-")),
                                   (bystander, rawmqtt.MQTT311, unique("other-"))):
            conn.send(rawmqtt.connect(cid, version=version))
            assert conn.read_packet(5).return_code == 0
        boto_iot(srv).update_certificate(certificateId=dev["id"], newStatus=status)
        # MQTT 5: DISCONNECT 0x87 (Not authorized), then closed; MQTT 3.1.1: closed.
        packets = c5.collect_until_closed()
        assert [(p.type, p.body[:1]) for p in packets] == [(rawmqtt.DISCONNECT, b"\x87")], packets
        assert c311.collect_until_closed() == []
        # Another certificate's connection is untouched.
        bystander.send(rawmqtt.pingreq())
        assert bystander.read_packet(5).type == rawmqtt.PINGRESP
    finally:
        for conn in (c5, c311, bystander):
            conn.close()


def test_certificate_without_policies_cannot_connect(srv, tmp_path):
    client = boto_iot(srv)
    made = client.create_keys_and_certificate(setAsActive=True)
    (tmp_path / "c.pem").write_text(made["certificatePem"])
    (tmp_path / "k.pem").write_text(made["keyPair"]["PrivateKey"])
    dev = {"cert": str(tmp_path / "c.pem"), "key": str(tmp_path / "k.pem")}
    refused_without_connack_or_0x87(srv, dev, unique("no-policy-"), rawmqtt.MQTT5)


def test_unregistered_certificate_of_the_local_ca_is_refused_at_connect(srv, tmp_path):
    dev = sign_with_local_ca(srv, tmp_path)
    refused_without_connack_or_0x87(srv, dev, unique("unregistered-"), rawmqtt.MQTT311)
    refused_without_connack_or_0x87(srv, dev, unique("unregistered-"), rawmqtt.MQTT5)


def test_certificate_of_another_ca_fails_the_handshake_or_the_connect(srv, tmp_path):
    foreign = make_foreign_ca_client_cert(tmp_path)
    assert tls_mqtt_connect_refused(srv, client_tls_context(srv.ca, foreign["cert"], foreign["key"]))


def test_create_certificate_from_csr_then_connect(srv, tmp_path):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=csr-device", "-keyout", "csr.key",
            "-out", "device.csr", cwd=str(tmp_path))
    _, out = iot(srv, tmp_path, "create-certificate-from-csr", "--set-as-active",
                 "--certificate-signing-request", "file://device.csr")
    (tmp_path / "csr.pem").write_text(out["certificatePem"])
    text = subprocess.run(["openssl", "x509", "-noout", "-subject", "-enddate", "-in", str(tmp_path / "csr.pem")],
                          capture_output=True, text=True).stdout
    assert "csr-device" in text and "2049" in text
    name = unique("csr-policy-")
    iot(srv, tmp_path, "create-policy", "--policy-name", name, "--policy-document", policy(
        {"Effect": "Allow", "Action": "iot:Connect",
         "Resource": f"{ARN}:client/${{iot:Certificate.Subject.CommonName}}"}))
    iot(srv, tmp_path, "attach-policy", "--policy-name", name, "--target", out["certificateArn"])
    dev = {"cert": str(tmp_path / "csr.pem"), "key": str(tmp_path / "csr.key")}
    assert connects(srv, dev, "csr-device")
    assert not connects(srv, dev, "someone-else")


def test_demo_device_certificate_is_registered_active_with_the_demo_policy(srv, tmp_path):
    client = boto_iot(srv)
    der = subprocess.run(["openssl", "x509", "-in", srv.device_cert, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    import hashlib
    cert_id = hashlib.sha256(der).hexdigest()
    desc = client.describe_certificate(certificateId=cert_id)["certificateDescription"]
    assert desc["status"] == "ACTIVE"
    arn = desc["certificateArn"]
    assert [p["policyName"] for p in client.list_attached_policies(target=arn)["policies"]] == \
        ["iotsim-demo-policy"]
    with PahoClient(srv, unique("demo-"), tls=srv.tls_files) as c:
        c.connect()
        c.disconnect()


# ---------------------------------------------------------------- errors through the CLI

def test_errors_come_back_through_the_cli(srv, tmp_path):
    p, _ = iot(srv, tmp_path, "describe-thing", "--thing-name", unique("ghost-"), expect_rc=254)
    assert "ResourceNotFoundException" in p.stderr
    p, _ = iot(srv, tmp_path, "create-policy", "--policy-name", unique("bad-"), "--policy-document",
               '{"Version": "2012-10-17", "Statement": [', expect_rc=254)
    assert "MalformedPolicyException" in p.stderr
    dev = device(srv, tmp_path, policy(ALLOW_ALL))
    p, _ = iot(srv, tmp_path, "delete-policy", "--policy-name", dev["policy"], expect_rc=254)
    assert "DeleteConflictException" in p.stderr
    p, _ = iot(srv, tmp_path, "delete-certificate", "--certificate-id", dev["id"], expect_rc=254)
    assert "CertificateStateException" in p.stderr
    iot(srv, tmp_path, "update-certificate", "--certificate-id", dev["id"], "--new-status", "INACTIVE")
    p, _ = iot(srv, tmp_path, "delete-certificate", "--certificate-id", dev["id"], expect_rc=254)
    assert "DeleteConflictException" in p.stderr  # a policy is still attached
    iot(srv, tmp_path, "detach-policy", "--policy-name", dev["policy"], "--target", dev["arn"])
    iot(srv, tmp_path, "delete-certificate", "--certificate-id", dev["id"])
    iot(srv, tmp_path, "delete-policy", "--policy-name", dev["policy"])


def test_iot_data_paths_still_reach_the_shadow_service(srv, tmp_path):
    """`/things/{name}` is the registry's, `/things/{name}/shadow` stays iot-data's."""
    thing = unique("both-")
    iot(srv, tmp_path, "create-thing", "--thing-name", thing)
    boto3 = pytest.importorskip("boto3")
    data = boto3.client("iot-data", endpoint_url=srv.http_url, region_name="us-east-1",
                        aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"])
    data.update_thing_shadow(thingName=thing, payload=b'{"state":{"desired":{"on":true}}}')
    assert json.loads(data.get_thing_shadow(thingName=thing)["payload"].read())["version"] == 1
    assert boto_iot(srv).describe_thing(thingName=thing)["thingName"] == thing


def test_control_plane_over_https_verifies_the_local_root_ca(srv):
    boto3 = pytest.importorskip("boto3")
    client = boto3.client("iot", endpoint_url=f"https://localhost:{srv.https_port}", region_name="us-east-1",
                          aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"], verify=srv.ca)
    assert client.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]


# ---------------------------------------------------------------- restart

def test_registry_certificates_and_policies_survive_a_restart(server, tmp_path):
    thing = unique("durable-")
    dev = device(server, tmp_path, lab_policy(), thing=thing)
    inactive = device(server, tmp_path, policy(ALLOW_ALL))
    boto_iot(server).update_certificate(certificateId=inactive["id"], newStatus="INACTIVE")
    server.restart()
    client = boto_iot(server)
    assert client.describe_thing(thingName=thing)["thingName"] == thing
    assert client.list_thing_principals(thingName=thing)["principals"] == [dev["arn"]]
    assert client.describe_certificate(certificateId=inactive["id"])["certificateDescription"]["status"] == "INACTIVE"
    assert client.get_policy(policyName=dev["policy"])["policyDocument"] == lab_policy()
    with PahoClient(server, "basicPubSub", clean=False, tls=dev["tls"]) as c:
        c.connect()
        assert c.subscribe("sdk/test/python", 1) == [1]
        c.publish("sdk/test/python", b'"after restart"', qos=1)
        assert c.expect_message("sdk/test/python").payload == b'"after restart"'
        c.disconnect()
    refused_without_connack_or_0x87(server, inactive, unique("still-inactive-"), rawmqtt.MQTT5)
    refused_without_connack_or_0x87(server, dev, unique("not-in-policy-"), rawmqtt.MQTT311)
    # The demo identity is seeded once: it is not registered again (nor duplicated) on restart.
    names = [p["policyName"] for p in client.list_policies()["policies"]]
    assert names.count("iotsim-demo-policy") == 1
    with PahoClient(server, unique("demo-"), tls=server.tls_files) as c:
        c.connect()
        c.disconnect()


def test_plain_policy_makes_the_plain_port_obey_an_iot_policy(request, tmp_path_factory, pki_seed, tmp_path):
    """`--plain-policy NAME`: the plain port's clients are authorized by that policy (here
    client ids plain-* and topics plain/*) instead of being allowed everything."""
    from conftest import _launch
    srv = _launch(request, tmp_path_factory.mktemp("plain-policy"), pki_seed,
                  extra_args=["--plain-policy", "plain-lab", "--plain-principal", "lab-bench"])
    outsider = PahoClient(srv, client_id=unique("other-"))
    try:
        assert not outsider.connect(expect_success=False), "connected before the policy exists"
    finally:
        outsider.close()
    boto_iot(srv).create_policy(policyName="plain-lab", policyDocument=policy(
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": ARN + ":client/plain-*"},
        {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive", "iot:Subscribe"], "Resource": "*"}))
    c = PahoClient(srv, client_id=unique("plain-"), version=5)
    try:
        c.connect()
        c.subscribe("plain/t")
        c.publish("plain/t", b"ok")
        assert c.expect_message("plain/t").payload == b"ok"
    finally:
        c.close()
    refused = PahoClient(srv, client_id=unique("other-"), version=5)
    try:
        assert refused.connect(expect_success=False).get("rc") == 135
    finally:
        refused.close()
