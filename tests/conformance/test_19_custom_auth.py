"""19 Custom authorizers (reference §5.4): the authorizer operations through the AWS CLI v2 and
boto3 (signatures verified), TestInvokeAuthorizer, and devices authenticated by a local function
(DATA_DIR/lambda/<name>, iotsim's stand-in for Lambda) on the WSS port (AWS's 443): MQTT with ALPN
"mqtt" and a username/password (awscrt as the Device SDK's custom-authorizer builder connects,
paho, mosquitto_pub), MQTT over WebSocket with the token in the upgrade's headers. A signed token
is verified before the function runs; the function's policies decide every later operation."""

import base64
import json
import os
import queue
import shutil
import ssl
import stat
import subprocess
import textwrap
import urllib.parse

import pytest

from clients import AWS_CREDS, PahoClient, aws_cli_v2, unique, wait_until
from conftest import _launch

awscrt = pytest.importorskip("awscrt")
from awscrt import io, mqtt  # noqa: E402
from paho.mqtt.client import MQTTv5  # noqa: E402

ACCOUNT_ARN = "arn:aws:iot:us-east-1:123456789012:"
FUNCTION = "iotsim-test-authorizer"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"

# The function: allows the token "allow" or the MQTT password "letmein", for client ids ca-* and
# the topics custom/*; logs every event it gets.
FUNCTION_SOURCE = textwrap.dedent("""\
    #!/usr/bin/python3
    import base64, json, os, sys
    event = json.load(sys.stdin)
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl"), "a") as log:
        log.write(json.dumps(event) + "\\n")
    mqtt = event.get("protocolData", {}).get("mqtt", {})
    password = base64.b64decode(mqtt.get("password", "")).decode("utf-8", "replace")
    if event.get("token") != "allow" and password != "letmein":
        print(json.dumps({"isAuthenticated": False}))
        sys.exit(0)
    arn = "ACCOUNT_ARN"
    print(json.dumps({
        "isAuthenticated": True, "principalId": "tester42",
        "disconnectAfterInSeconds": 3600, "refreshAfterInSeconds": 300,
        "policyDocuments": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": arn + "client/ca-*"},
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": arn + "topic/custom/*"},
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": arn + "topicfilter/custom/*"}]}]}))
    """).replace("ACCOUNT_ARN", ACCOUNT_ARN)


@pytest.fixture(scope="module")
def ca_server(request, tmp_path_factory, pki_seed):
    srv = _launch(request, tmp_path_factory.mktemp("custom-auth"), pki_seed)
    lam = srv.data_dir / "lambda"
    lam.mkdir(exist_ok=True)
    fn = lam / FUNCTION
    fn.write_text(FUNCTION_SOURCE)
    fn.chmod(fn.stat().st_mode | stat.S_IXUSR)
    broken = lam / "iotsim-broken-authorizer"
    broken.write_text("#!/bin/sh\necho 'this is not JSON'\n")
    broken.chmod(0o755)
    return srv


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """An RSA 2048 key pair for token signatures (openssl, as AWS's guide makes one)."""
    openssl = shutil.which("openssl", path=os.confstr("CS_PATH"))
    if openssl is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("keys")
    subprocess.run([openssl, "genrsa", "-out", str(d / "key.pem"), "2048"], check=True, capture_output=True)
    subprocess.run([openssl, "rsa", "-in", str(d / "key.pem"), "-pubout", "-out", str(d / "pub.pem")], check=True,
                   capture_output=True)

    def sign(token):
        out = subprocess.run([openssl, "dgst", "-sha256", "-sign", str(d / "key.pem")], input=token.encode(),
                             check=True, capture_output=True).stdout
        return base64.b64encode(out).decode()
    return {"public": (d / "pub.pem").read_text(), "sign": sign}


def boto_iot(srv, secret=AWS_CREDS["AWS_SECRET_ACCESS_KEY"]):
    boto3 = pytest.importorskip("boto3")
    return boto3.client("iot", endpoint_url=srv.http_url, region_name="us-east-1",
                        aws_access_key_id=AWS_CREDS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=secret)


def aws(srv, tmp_path, *args):
    env = {"PATH": os.confstr("CS_PATH"), "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_DEFAULT_REGION": "us-east-1", **AWS_CREDS}
    return subprocess.run([aws_cli_v2(), "--endpoint-url", srv.http_url, "--output", "json", *args],
                          capture_output=True, text=True, timeout=60, env=env, cwd=str(tmp_path))


def events(srv):
    path = srv.data_dir / "lambda" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def ensure_authorizer(srv, name, *, keys=None):
    """An ACTIVE authorizer running the test function: signed (token key "Token") or not."""
    iot = boto_iot(srv)
    try:
        iot.describe_authorizer(authorizerName=name)
        return
    except iot.exceptions.ResourceNotFoundException:
        pass
    if keys is None:
        iot.create_authorizer(authorizerName=name, authorizerFunctionArn=FUNCTION_ARN, signingDisabled=True,
                              status="ACTIVE")
    else:
        iot.create_authorizer(authorizerName=name, authorizerFunctionArn=FUNCTION_ARN, tokenKeyName="Token",
                              tokenSigningPublicKeys={"key1": keys["public"]}, status="ACTIVE")


def crt_connection(srv, client_id, username, password):
    """awscrt over TLS with ALPN "mqtt" on the WSS port: what the Device SDK's
    mqtt_connection_builder.direct_with_custom_authorizer builds (port 443, ALPN mqtt)."""
    options = io.TlsContextOptions()
    options.override_default_trust_store_from_path(None, srv.ca)
    options.alpn_list = ["mqtt"]
    client = mqtt.Client(io.ClientBootstrap.get_or_create_static_default(), io.ClientTlsContext(options))
    return mqtt.Connection(client=client, host_name="localhost", port=srv.wss_port, client_id=client_id,
                           username=username, password=password, keep_alive_secs=30)


def paho_alpn(srv, client_id, username, password, version=MQTTv5):
    c = PahoClient(srv, client_id=client_id, version=version, host="localhost")
    ctx = ssl.create_default_context(cafile=srv.ca)
    ctx.set_alpn_protocols(["mqtt"])
    c.c.tls_set_context(ctx)
    c.c.username_pw_set(username, password)
    c.port = srv.wss_port
    return c


def test_authorizer_operations_through_the_aws_cli_and_boto3(ca_server, tmp_path, keys):
    srv = ca_server
    name = unique("cli-auth-")
    pub = tmp_path / "pub.pem"
    pub.write_text(keys["public"])
    r = aws(srv, tmp_path, "iot", "create-authorizer", "--authorizer-name", name, "--authorizer-function-arn",
            FUNCTION_ARN, "--token-key-name", "Token", "--token-signing-public-keys", f"key1={keys['public']}",
            "--status", "ACTIVE")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"authorizerName": name, "authorizerArn": f"{ACCOUNT_ARN}authorizer/{name}"}
    r = aws(srv, tmp_path, "iot", "describe-authorizer", "--authorizer-name", name)
    described = json.loads(r.stdout)["authorizerDescription"]
    assert described["tokenKeyName"] == "Token" and described["status"] == "ACTIVE"
    assert described["signingDisabled"] is False and "BEGIN PUBLIC KEY" in described["tokenSigningPublicKeys"]["key1"]
    r = aws(srv, tmp_path, "iot", "list-authorizers", "--status", "ACTIVE")
    assert name in [a["authorizerName"] for a in json.loads(r.stdout)["authorizers"]]

    # TestInvokeAuthorizer runs the function with the token once the signature verifies.
    token = "allow"
    r = aws(srv, tmp_path, "iot", "test-invoke-authorizer", "--authorizer-name", name, "--token", token,
            "--token-signature", keys["sign"](token))
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert answer["isAuthenticated"] is True and answer["principalId"] == "tester42"
    assert answer["disconnectAfterInSeconds"] == 3600 and answer["refreshAfterInSeconds"] == 300
    assert "iot:Connect" in answer["policyDocuments"][0]
    assert events(srv)[-1]["token"] == token and events(srv)[-1]["signatureVerified"] is True
    before = len(events(srv))
    r = aws(srv, tmp_path, "iot", "test-invoke-authorizer", "--authorizer-name", name, "--token", token,
            "--token-signature", keys["sign"]("another token"))
    assert r.returncode != 0 and "InvalidRequestException" in r.stderr
    assert len(events(srv)) == before, "the function ran for a token whose signature does not verify"

    # Deleting needs INACTIVE; signingDisabled never changes.
    r = aws(srv, tmp_path, "iot", "delete-authorizer", "--authorizer-name", name)
    assert r.returncode != 0 and "DeleteConflictException" in r.stderr
    iot = boto_iot(srv)
    iot.update_authorizer(authorizerName=name, status="INACTIVE")
    assert iot.describe_authorizer(authorizerName=name)["authorizerDescription"]["status"] == "INACTIVE"
    iot.delete_authorizer(authorizerName=name)
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.describe_authorizer(authorizerName=name)

    # The default authorizer.
    other = unique("default-auth-")
    iot.create_authorizer(authorizerName=other, authorizerFunctionArn=FUNCTION_ARN, signingDisabled=True)
    r = aws(srv, tmp_path, "iot", "set-default-authorizer", "--authorizer-name", other)
    assert r.returncode == 0, r.stderr
    assert iot.describe_default_authorizer()["authorizerDescription"]["authorizerName"] == other
    iot.clear_default_authorizer()
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.describe_default_authorizer()

    # A wrong secret is refused before anything happens.
    bad = boto_iot(srv, secret="not-the-secret")
    with pytest.raises(Exception, match="InvalidSignatureException|UnrecognizedClient|signature"):
        bad.create_authorizer(authorizerName=unique("x-"), authorizerFunctionArn=FUNCTION_ARN, signingDisabled=True)


def test_test_invoke_authorizer_reports_an_answer_outside_aws_format_as_invalid_response(ca_server):
    iot = boto_iot(ca_server)
    name = unique("broken-")
    iot.create_authorizer(authorizerName=name, signingDisabled=True,
                          authorizerFunctionArn="arn:aws:lambda:us-east-1:123456789012:function:iotsim-broken-authorizer")
    with pytest.raises(Exception, match="InvalidResponseException"):
        iot.test_invoke_authorizer(authorizerName=name, mqttContext={"username": "u", "password": b"p",
                                                                      "clientId": "c"})


def test_the_device_sdks_custom_authorizer_connection_publishes_and_receives_its_own_messages(ca_server):
    srv = ca_server
    name = "open-authorizer"
    ensure_authorizer(srv, name)
    topic = unique("custom/") + "/crt"
    conn = crt_connection(srv, unique("ca-crt-"), f"alice?x-amz-customauthorizer-name={name}&SDK=Python", "letmein")
    conn.connect().result(10)
    try:
        got = queue.Queue()
        sub, _ = conn.subscribe(topic, mqtt.QoS.AT_LEAST_ONCE, callback=lambda topic, payload, **kw: got.put(payload))
        sub.result(10)
        sent = [json.dumps(f"Hello World! [{n}]").encode() for n in range(1, 4)]
        for payload in sent:
            conn.publish(topic, payload, mqtt.QoS.AT_LEAST_ONCE)[0].result(10)
        assert [got.get(timeout=10) for _ in sent] == sent
    finally:
        conn.disconnect().result(10)
    event = events(srv)[-1]
    assert event["protocols"] == ["tls", "mqtt"]
    assert event["protocolData"]["mqtt"]["username"].startswith("alice?")
    assert base64.b64decode(event["protocolData"]["mqtt"]["password"]) == b"letmein"
    assert event["protocolData"]["tls"]["serverName"] == "localhost"
    assert event["signatureVerified"] is False and event["connectionMetadata"]["id"]


def test_a_refusing_function_gets_connack_bad_user_name_or_password(ca_server):
    srv = ca_server
    ensure_authorizer(srv, "open-authorizer")
    c = paho_alpn(srv, unique("ca-"), "bob?x-amz-customauthorizer-name=open-authorizer", "wrong")
    try:
        connack = c.connect(expect_success=False)
        assert connack.get("rc") == 134  # 0x86 Bad User Name or Password
    finally:
        c.close()
    # MQTT 3.1.1: AWS closes the connection without a CONNACK.
    c = paho_alpn(srv, unique("ca-"), "bob?x-amz-customauthorizer-name=open-authorizer", "wrong", version=4)
    try:
        assert not c.connect(expect_success=False)
        c.wait_closed_by_server()
    finally:
        c.close()


def test_the_functions_policies_decide_connect_publish_and_subscribe(ca_server):
    srv = ca_server
    ensure_authorizer(srv, "open-authorizer")
    user = "u?x-amz-customauthorizer-name=open-authorizer"
    outsider = paho_alpn(srv, unique("other-"), user, "letmein")  # client id outside client/ca-*
    try:
        assert outsider.connect(expect_success=False).get("rc") == 135  # 0x87 Not authorized
    finally:
        outsider.close()
    c = paho_alpn(srv, unique("ca-"), user, "letmein")
    try:
        c.connect()
        assert c.subscribe(["custom/ok", "elsewhere/#"]) == [1, 135]
        info = c.c.publish("elsewhere/x", b"no", qos=1)
        info.wait_for_publish(10)
        c.publish("custom/ok", b"yes", qos=1)
        assert c.expect_message("custom/ok").payload == b"yes"
        wait_until(lambda: f"publish_denied conn=" in srv.stderr_text() and "(elsewhere/x)" in srv.stderr_text())
    finally:
        c.close()


def test_a_signed_token_in_the_username_verifies_and_a_forged_one_never_reaches_the_function(ca_server, keys):
    srv = ca_server
    name = "signed-authorizer"
    ensure_authorizer(srv, name, keys=keys)
    sig = urllib.parse.quote(keys["sign"]("allow"), safe="")
    good = f"?x-amz-customauthorizer-name={name}&Token=allow&x-amz-customauthorizer-signature={sig}"
    c = paho_alpn(srv, unique("ca-"), good, None)
    try:
        c.connect()
    finally:
        c.close()
    assert events(srv)[-1]["token"] == "allow" and events(srv)[-1]["signatureVerified"] is True
    before = len(events(srv))
    forged = urllib.parse.quote(keys["sign"]("something else"), safe="")
    c = paho_alpn(srv, unique("ca-"), f"?x-amz-customauthorizer-name={name}&Token=allow"
                  f"&x-amz-customauthorizer-signature={forged}", None)
    try:
        assert c.connect(expect_success=False).get("rc") == 134
    finally:
        c.close()
    assert len(events(srv)) == before


def test_mosquitto_pub_connects_with_alpn_mqtt_and_the_default_authorizer(ca_server):
    srv = ca_server
    tool = shutil.which("mosquitto_pub", path=os.confstr("CS_PATH"))
    if tool is None:
        pytest.skip("mosquitto_pub is not installed")
    ensure_authorizer(srv, "open-authorizer")
    iot = boto_iot(srv)
    iot.set_default_authorizer(authorizerName="open-authorizer")
    try:
        watcher = PahoClient(srv, client_id=unique("watch-"))
        watcher.connect()
        watcher.subscribe("custom/mosquitto")
        r = subprocess.run([tool, "--tls-alpn", "mqtt", "--cafile", srv.ca, "-h", "localhost", "-p",
                            str(srv.wss_port), "-i", unique("ca-mosq-"), "-u", "carol", "-P", "letmein",
                            "-t", "custom/mosquitto", "-m", "hi", "-q", "1", "-V", "mqttv5"],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r.stderr
        assert watcher.expect_message("custom/mosquitto").payload == b"hi"
        watcher.close()
    finally:
        iot.clear_default_authorizer()


def test_a_websocket_with_the_token_in_its_upgrade_headers_is_decided_by_the_authorizer(ca_server, keys):
    srv = ca_server
    name = "signed-authorizer"
    ensure_authorizer(srv, name, keys=keys)

    def headers(token, signature):
        def transform(transform_args, **kwargs):
            h = transform_args.http_request.headers
            h.add("x-amz-customauthorizer-name", name)
            h.add("Token", token)
            h.add("x-amz-customauthorizer-signature", signature)
            transform_args.set_done()
        return transform

    def connection(transform, tls):
        ctx = None
        if tls:
            options = io.TlsContextOptions()
            options.override_default_trust_store_from_path(None, srv.ca)
            ctx = io.ClientTlsContext(options)
        client = mqtt.Client(io.ClientBootstrap.get_or_create_static_default(), ctx)
        return mqtt.Connection(client=client, host_name="localhost", port=srv.wss_port if tls else srv.http_port,
                               client_id=unique("ca-ws-"), use_websockets=True,
                               websocket_handshake_transform=transform, keep_alive_secs=30)

    for tls in (False, True):
        conn = connection(headers("allow", keys["sign"]("allow")), tls)
        conn.connect().result(10)
        conn.publish("custom/ws", b"over websocket", mqtt.QoS.AT_LEAST_ONCE)[0].result(10)
        conn.disconnect().result(10)
        assert events(srv)[-1]["protocols"][-2:] == ["http", "mqtt"]
        assert events(srv)[-1]["protocolData"]["http"]["headers"]["Token"] == "allow"
    conn = connection(headers("allow", keys["sign"]("forged")), False)
    with pytest.raises(Exception):
        conn.connect().result(10)


def test_alpn_mqtt_without_sni_is_refused_as_aws_refuses_it(ca_server):
    ensure_authorizer(ca_server, "open-authorizer")
    import socket
    ctx = ssl.create_default_context(cafile=ca_server.ca)
    ctx.check_hostname = False
    ctx.set_alpn_protocols(["mqtt"])
    raw = socket.create_connection(("127.0.0.1", ca_server.wss_port), timeout=10)
    with ctx.wrap_socket(raw) as s:  # an IP address: no SNI is sent
        assert s.selected_alpn_protocol() == "mqtt"
        body = b"\x00\x04MQTT\x04\xc2\x00\x3c" + b"\x00\x04ca-1" + b"\x00\x01u" + b"\x00\x07letmein"
        s.sendall(bytes([0x10, len(body)]) + body)
        try:
            assert s.recv(16) == b"", "a CONNACK came back without SNI"
        except (ConnectionResetError, ssl.SSLError):
            pass


def test_an_unsigned_websocket_is_refused_when_no_authorizer_is_active(srv):
    """The shared server has no authorizer: an unsigned upgrade gets 403 as before."""
    import socket
    with socket.create_connection((srv.host, srv.http_port), timeout=10) as s:
        s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                  b"Sec-WebSocket-Protocol: mqtt\r\nx-amz-customauthorizer-name: nobody\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 403")


def test_an_https_publish_with_the_token_in_headers_or_query_is_decided_by_the_authorizer(ca_server, keys):
    """HTTPS publish with custom authentication (only Publish is supported that way, as on AWS)."""
    import urllib.error
    import urllib.request
    srv = ca_server
    name = "signed-authorizer"
    ensure_authorizer(srv, name, keys=keys)
    watcher = PahoClient(srv, client_id=unique("watch-"))
    watcher.connect()
    watcher.subscribe("custom/http")
    ctx = ssl.create_default_context(cafile=srv.ca)

    def call(path, headers, method="POST", body=b"from https"):
        request = urllib.request.Request(f"https://localhost:{srv.wss_port}{path}", data=body, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, context=ctx, timeout=15) as r:
                return r.status, None
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("x-amzn-ErrorType")

    sig = keys["sign"]("allow")
    good = {"x-amz-customauthorizer-name": name, "Token": "allow", "x-amz-customauthorizer-signature": sig}
    try:
        assert call("/topics/custom/http?qos=1", good) == (200, None)
        assert watcher.expect_message("custom/http").payload == b"from https"
        query = urllib.parse.urlencode({"qos": "1", "x-amz-customauthorizer-name": name, "Token": "allow",
                                        "x-amz-customauthorizer-signature": sig})
        assert call(f"/topics/custom/http?{query}", {}) == (200, None)
        assert watcher.expect_message("custom/http").payload == b"from https"
        # The function refuses another token (signed, so it runs): 401.
        other = {**good, "Token": "deny", "x-amz-customauthorizer-signature": keys["sign"]("deny")}
        assert call("/topics/custom/http", other) == (401, "UnauthorizedException")
        # Its policies decide: a topic outside them is 403. Other operations are not offered
        # with custom authentication ("only publish is supported over HTTP"): they ask for SigV4.
        assert call("/topics/elsewhere", good) == (403, "ForbiddenException")
        assert call("/things/lamp/shadow", good, method="GET", body=None) == (403, "MissingAuthenticationTokenException")
        # Nor is it offered on the HTTPS port 8443 (AWS: "custom authentication can't be used").
        request = urllib.request.Request(f"https://localhost:{srv.https_port}/topics/custom/http", data=b"x",
                                         method="POST", headers=good)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, context=ctx, timeout=15)
        assert refused.value.headers.get("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
        # A forged signature never reaches the function.
        before = len(events(srv))
        forged = {**good, "x-amz-customauthorizer-signature": keys["sign"]("forged")}
        assert call("/topics/custom/http", forged) == (401, "UnauthorizedException")
        assert len(events(srv)) == before
    finally:
        watcher.close()


def test_an_operation_iotsim_does_not_implement_is_named_in_the_error(ca_server, tmp_path):
    r = aws(ca_server, tmp_path, "iot", "list-jobs")
    assert r.returncode != 0
    assert "NotImplementedException" in r.stderr and "iotsim does not implement ListJobs" in r.stderr
    iot = boto_iot(ca_server)
    with pytest.raises(Exception, match="CreateRoleAlias"):
        iot.create_role_alias(roleAlias="a", roleArn="arn:aws:iam::123456789012:role/r")
