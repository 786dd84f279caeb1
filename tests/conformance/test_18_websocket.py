"""18 MQTT over WebSocket (reference §5.3): GET /mqtt with a SigV4 presigned URL, as the AWS IoT
Device SDK's websocket builder signs it (awscrt, service iotdevicegateway) and as MQTT.js connects
to a presigned URL; on the plain HTTP port and on the WSS port (AWS's 443: no client certificate
requested). A wrong key or an unsigned handshake gets 403, and the connection is an ordinary MQTT
client: its messages reach mTLS subscribers and its lifecycle events say so."""

import datetime
import json
import os
import queue
import shutil
import socket
import subprocess

import pytest

from clients import AWS_CREDS, MosquittoSub, unique

awscrt = pytest.importorskip("awscrt")
from awscrt import auth, http, io, mqtt  # noqa: E402


def signer(key_id=AWS_CREDS["AWS_ACCESS_KEY_ID"], secret=AWS_CREDS["AWS_SECRET_ACCESS_KEY"]):
    """The Device SDK's websocket handshake transform (awsiot.mqtt_connection_builder)."""
    creds = auth.AwsCredentialsProvider.new_static(key_id, secret)

    def transform(transform_args, **kwargs):
        try:
            config = auth.AwsSigningConfig(algorithm=auth.AwsSigningAlgorithm.V4,
                                           signature_type=auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS,
                                           credentials_provider=creds, region="us-east-1",
                                           service="iotdevicegateway", omit_session_token=True)
            future = auth.aws_sign_request(http_request=transform_args.http_request, signing_config=config)
            future.add_done_callback(lambda f: transform_args.set_done(f.exception()))
        except Exception as e:  # noqa: BLE001 - handed back to the CRT, as the SDK does
            transform_args.set_done(e)
    return transform


def ws_connection(srv, port, client_id, *, tls, transform=None):
    ctx = None
    if tls:
        options = io.TlsContextOptions()
        options.override_default_trust_store_from_path(None, srv.ca)
        ctx = io.ClientTlsContext(options)
    client = mqtt.Client(io.ClientBootstrap.get_or_create_static_default(), ctx)
    return mqtt.Connection(client=client, host_name="localhost", port=port, client_id=client_id,
                           use_websockets=True, websocket_handshake_transform=transform or signer(),
                           keep_alive_secs=30)


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
def test_the_device_sdks_websocket_client_publishes_and_receives_its_own_messages(srv, tls):
    topic = unique("ws/") + "/sdk"
    port = srv.wss_port if tls else srv.http_port
    watcher = MosquittoSub(srv, [topic], tls=True).wait_subscribed()
    conn = ws_connection(srv, port, unique("ws-"), tls=tls)
    try:
        conn.connect().result(10)
        got = queue.Queue()
        sub, _ = conn.subscribe(topic, mqtt.QoS.AT_LEAST_ONCE, callback=lambda topic, payload, **kw: got.put(payload))
        sub.result(10)
        sent = [json.dumps(f"Hello World! [{n}]").encode() for n in range(1, 4)] + [b"x" * 70_000]
        for payload in sent:
            conn.publish(topic, payload, mqtt.QoS.AT_LEAST_ONCE)[0].result(10)
        assert [got.get(timeout=10) for _ in sent] == sent  # a 70 KB message spans several frames
        conn.disconnect().result(10)
        seen = watcher.wait_messages(len(sent), timeout=10)
        assert [m[3] for m in seen[:3]] == [p.decode() for p in sent[:3]]
    finally:
        watcher.kill()


def test_a_wrong_secret_or_an_unsigned_handshake_is_refused_with_403(srv):
    conn = ws_connection(srv, srv.http_port, unique("ws-bad-"), tls=False,
                         transform=signer(secret="not-the-secret"))
    with pytest.raises(Exception, match="WEBSOCKET_UPGRADE_FAILURE"):
        conn.connect().result(10)
    with socket.create_connection((srv.host, srv.http_port), timeout=10) as s:
        s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                  b"Sec-WebSocket-Protocol: mqtt\r\n\r\n")
        head = s.recv(4096).split(b"\r\n")
    assert head[0] == b"HTTP/1.1 403 Forbidden"
    assert b"x-amzn-ErrorType: MissingAuthenticationTokenException" in head


def test_a_websocket_connection_appears_in_lifecycle_events_as_its_access_key(srv):
    client_id = unique("ws-life-")
    monitor = MosquittoSub(srv, [f"$aws/events/presence/connected/{client_id}"], tls=True).wait_subscribed()
    conn = ws_connection(srv, srv.http_port, client_id, tls=False)
    try:
        conn.connect().result(10)
        event = json.loads(monitor.wait_messages(1, timeout=10)[0][3])
        assert event["principalIdentifier"] == AWS_CREDS["AWS_ACCESS_KEY_ID"]
        conn.disconnect().result(10)
    finally:
        monitor.kill()


@pytest.fixture(scope="module")
def mqtt_js(tmp_path_factory):
    """MQTT.js from the npm registry, installed once per run."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are not installed")
    prefix = tmp_path_factory.mktemp("mqttjs")
    # The registry may be unreachable from where the tests run (no network, or a proxy whose CA
    # this environment does not pass to Node): that is the environment's, not iotsim's, so the
    # test is skipped with the reason instead of failing, and npm is not left to retry for long.
    env = dict(os.environ)
    if "NODE_EXTRA_CA_CERTS" not in env and os.path.exists("/etc/ssl/certs/ca-certificates.crt"):
        env["NODE_EXTRA_CA_CERTS"] = "/etc/ssl/certs/ca-certificates.crt"  # Debian's CA store (e.g. a proxy's CA)
    try:
        p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--fetch-retries=1", "--fetch-timeout=20000",
                            "--prefix", str(prefix), "mqtt@5"], capture_output=True, text=True, timeout=90, env=env)
    except subprocess.TimeoutExpired:
        pytest.skip("npm install mqtt did not finish within 90 s (is the npm registry reachable?)")
    if p.returncode != 0:
        pytest.skip(f"npm install mqtt failed: {p.stderr.strip().splitlines()[-1:]}")
    return prefix


def presigned_url(scheme, port):
    request = http.HttpRequest("GET", "/mqtt", http.HttpHeaders([("Host", f"localhost:{port}")]))
    config = auth.AwsSigningConfig(
        algorithm=auth.AwsSigningAlgorithm.V4, signature_type=auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS,
        credentials_provider=auth.AwsCredentialsProvider.new_static(AWS_CREDS["AWS_ACCESS_KEY_ID"],
                                                                    AWS_CREDS["AWS_SECRET_ACCESS_KEY"]),
        region="us-east-1", service="iotdevicegateway", omit_session_token=True,
        date=datetime.datetime.now(datetime.timezone.utc))
    auth.aws_sign_request(http_request=request, signing_config=config).result(10)
    return f"{scheme}://localhost:{port}{request.path}"


MQTT_JS_CLIENT = r"""
const mqtt = require('mqtt');
const fs = require('fs');
const [url, topic, clientId, ca] = process.argv.slice(2);
const client = mqtt.connect(url, { clientId, protocolVersion: 5, ca: ca ? fs.readFileSync(ca) : undefined,
                                   reconnectPeriod: 0, connectTimeout: 10000 });
const timer = setTimeout(() => { console.log('timeout'); process.exit(2); }, 20000);
client.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });
client.on('connect', () => {
  client.subscribe(topic, { qos: 1 }, (err) => {
    if (err) { console.log('suback ' + err.message); process.exit(1); }
    client.publish(topic, 'from MQTT.js', { qos: 1 });
  });
});
client.on('message', (t, payload) => {
  console.log('received ' + t + ' ' + payload.toString());
  clearTimeout(timer);
  client.end(false, () => process.exit(0));
});
"""


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
def test_mqtt_js_connects_to_a_presigned_url_and_receives_its_own_message(srv, mqtt_js, tmp_path, tls):
    script = tmp_path / "client.js"
    script.write_text(MQTT_JS_CLIENT)
    topic = unique("ws/") + "/js"
    url = presigned_url("wss" if tls else "ws", srv.wss_port if tls else srv.http_port)
    p = subprocess.run(["node", str(script), url, topic, unique("mqttjs-"), srv.ca if tls else ""],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "NODE_PATH": str(mqtt_js / "node_modules")})
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"received {topic} from MQTT.js" in p.stdout
