"""The architecture diagram of a running `iotsim serve` (GET /iotsim/world): its clients and their
subscriptions, retained topics, shadows, topic rules and registry, from Python and from
`iotsim diagram --endpoint`; and Simulation.world(), the same snapshot of a simulated world."""
import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

import iotsim
import iotsim.diagram as diagram
import iotsim.sigv4
from support import IOTSIM_PYTHONPATH, ROOT
from test_diagram import SIX, labels

paho = pytest.importorskip("paho.mqtt.client")
pytest.importorskip("boto3")

BINARY = os.environ.get("IOTSIM_BIN", str(ROOT / "build" / "dev" / "iotsim"))
if not os.path.exists(BINARY):
    pytest.skip(f"no iotsim binary at {BINARY}", allow_module_level=True)

KEYS = ("AKIDIOTSIMDIAGRAM", "diagram-secret")
MOTION_RULE = {"sql": "SELECT * FROM 'motion/+'", "actions": [
    {"republish": {"topic": "$$aws/things/lamp/shadow/update", "roleArn": "arn:aws:iam::123456789012:role/r"}}]}


def connect(srv, client_id, *, tls, clean=True):
    """A paho client connected (CONNACK 0) to the server: over mutual TLS with the demo device
    certificate, or to the plain port."""
    c = paho.Client(client_id=client_id, clean_session=clean, protocol=paho.MQTTv311)
    if tls:
        c.tls_set(ca_certs=srv.ca, certfile=srv.device_cert, keyfile=srv.device_key, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    connected = []
    c.on_connect = lambda client, userdata, flags, rc: connected.append(rc)
    c.connect(srv.host, srv.mqtts_port if tls else srv.mqtt_port, keepalive=60)
    c.loop_start()
    deadline = time.monotonic() + 10
    while not connected and time.monotonic() < deadline:
        time.sleep(0.02)
    assert connected == [0], f"{client_id}: CONNACK {connected}"
    return c


def subscribe(c, topic, qos):
    done = []
    c.on_subscribe = lambda client, userdata, mid, granted: done.append(granted)
    c.subscribe(topic, qos)
    deadline = time.monotonic() + 10
    while not done and time.monotonic() < deadline:
        time.sleep(0.02)
    assert done and done[0][0] == qos


@pytest.fixture(scope="module")
def lab_server():
    """A server with the home world inside: a lamp over mutual TLS subscribed to its commands, an
    offline persistent session, a retained status, the lamp's shadow, thing and motion rule."""
    with iotsim.LocalServer(binary=BINARY) as srv:
        iot = srv.client("iot")
        iot.create_thing(thingName="lamp", attributePayload={"attributes": {"room": "kitchen"}})
        iot.create_topic_rule(ruleName="motion", topicRulePayload=MOTION_RULE)
        iotsim.DataClient(srv).update_shadow("lamp", {"state": {"desired": {"on": True}}})
        lamp = connect(srv, "lamp", tls=True)
        subscribe(lamp, "home/lamp/cmd", 1)
        away = connect(srv, "away", tls=False, clean=False)
        subscribe(away, "home/away/#", 1)
        away.publish("home/status", "online", qos=1, retain=True).wait_for_publish(10)
        away.disconnect()
        away.loop_stop()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(not c["connected"] for c in srv.world()["clients"]):
                break
            time.sleep(0.05)
        try:
            yield srv
        finally:
            lamp.disconnect()
            lamp.loop_stop()


def test_the_world_of_a_running_server_lists_clients_subscriptions_shadows_rules_and_registry(lab_server):
    w = lab_server.world()
    by_id = {c["clientId"]: c for c in w["clients"]}
    assert set(by_id) == {"away", "lamp"}
    lamp = by_id["lamp"]
    assert lamp["connected"] and lamp["transport"] == "mqtts" and lamp["protocol"] == "MQTT 3.1.1"
    assert lamp["subscriptions"] == [{"filter": "home/lamp/cmd", "qos": 1}]
    cert_ids = [c["certificateId"] for c in w["registry"]["certificates"]]
    assert lamp["principal"] in cert_ids, "an mTLS client's principal is its certificate id"
    away = by_id["away"]
    assert not away["connected"] and away["persistent"] and "principal" not in away
    assert w["retainedTopics"] == ["home/status"]
    assert w["shadows"] == [{"thingName": "lamp", "version": 1,
                             "state": {"desired": {"on": True}, "delta": {"on": True}}}]
    assert [r["ruleName"] for r in w["rules"]] == ["motion"]
    assert w["registry"]["things"][0] == {"thingName": "lamp", "attributes": {"room": "kitchen"}, "principals": []}
    assert w["registry"]["policies"][0]["policyName"] == "iotsim-demo-policy"
    assert w["listeners"]["mqtts"] == lab_server.mqtts_port


def test_a_running_servers_diagram_names_the_six_components_and_what_is_inside(lab_server):
    dot = diagram.architecture(lab_server).dot
    found = "\n".join(labels(dot))
    for component in SIX:
        assert component in found
    for text in ("lamp\nMQTT 3.1.1 · mqtts · connected", "away\nMQTT 3.1.1 · offline, persistent session",
                 "home/lamp/cmd", "subscribed q1", "home/status\n(retained)", "rule motion", "lamp (classic)",
                 "delta: on", "thing lamp\nroom=kitchen", "policy iotsim-demo-policy", "mutual TLS as", "allows"):
        assert text in found, text
    # The rule's republish to the lamp's shadow topic ($$ is a literal $) points at the shadow.
    assert re.search(r'r0a0 -> s0 \[label="republish"', dot)


def test_the_same_server_state_draws_the_same_diagram(lab_server):
    url_dot = diagram.architecture(lab_server.http_url, credentials=lab_server.credentials).dot
    assert diagram.architecture(lab_server).dot == url_dot


def test_the_world_endpoint_answers_get_only():
    with iotsim.LocalServer(binary=BINARY) as srv:
        url = srv.http_url + diagram.WORLD_PATH
        request = urllib.request.Request(url, data=b"{}", method="POST",
                                         headers=iotsim.sigv4.sign("POST", url, srv.credentials, body=b"{}"))
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(request, timeout=10)
        assert e.value.code == 405
        assert e.value.headers["x-amzn-ErrorType"] == "MethodNotAllowedException"


def cli(*args, cwd=None, **env_vars):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (IOTSIM_PYTHONPATH, os.environ.get("PYTHONPATH")) if p))
    env.pop("AWS_SHARED_CREDENTIALS_FILE", None)
    env.update(env_vars)
    return subprocess.run([sys.executable, "-m", "iotsim.diagram", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env, cwd=cwd)


def test_cli_draws_a_server_only_with_the_right_credentials(tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = {KEYS[0]}\naws_secret_access_key = {KEYS[1]}\n")
    wrong = tmp_path / "wrong"
    wrong.write_text(f"[default]\naws_access_key_id = {KEYS[0]}\naws_secret_access_key = not-the-secret\n")
    with iotsim.LocalServer(binary=BINARY, args=["--credentials", str(creds)]) as srv:
        unsigned = cli("--endpoint", srv.http_url, "--format", "dot", cwd=tmp_path)  # no credentials file found
        assert unsigned.returncode == 1
        assert len(unsigned.stderr.strip().splitlines()) == 1, unsigned.stderr
        assert "HTTP 403 MissingAuthenticationTokenException" in unsigned.stderr
        bad = cli("--endpoint", srv.http_url, "--credentials", wrong, "--format", "dot", cwd=tmp_path)
        assert bad.returncode == 1 and "signature we calculated does not match" in bad.stderr, bad.stderr
        out = tmp_path / "server.svg"
        good = cli("--endpoint", srv.http_url, "--credentials", creds, "-o", out, cwd=tmp_path)
        assert good.returncode == 0, good.stderr
        assert out.read_text().lstrip().startswith("<?xml") and "Device gateway" in out.read_text()
        # Without --credentials: $AWS_SHARED_CREDENTIALS_FILE, as the AWS CLI reads it (here the
        # server's own DATA_DIR/credentials).
        from_env = cli("--endpoint", srv.http_url, "--format", "dot", cwd=tmp_path,
                       AWS_SHARED_CREDENTIALS_FILE=str(srv.data_dir / "credentials"))
        assert from_env.returncode == 0 and from_env.stdout.startswith("digraph"), from_env.stderr


def test_cli_draws_a_server_over_https_trusting_the_local_root_ca(lab_server, tmp_path):
    url = f"https://localhost:{lab_server.https_port}"
    creds = lab_server.data_dir / "credentials"
    done = cli("--endpoint", url, "--credentials", creds, "--ca", lab_server.ca, "--format", "dot", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("digraph") and "home/lamp/cmd" in done.stdout
    untrusted = cli("--endpoint", url, "--credentials", creds, "--format", "dot", cwd=tmp_path)  # no local CA here
    assert untrusted.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr, untrusted.stderr


@pytest.mark.parametrize("args, message", [
    (["--endpoint", "ftp://x"], "must be an http:// or https:// URL"),
    (["--endpoint", "http://127.0.0.1:1", "--kind", "sequence"], "architecture only"),
    (["--credentials", "c"], "give a scenario file or --endpoint"),
    (["--endpoint", "http://127.0.0.1:1", "--credentials", "/nonexistent"], "--credentials /nonexistent"),
])
def test_cli_endpoint_mistakes_exit_2_with_one_line(args, message):
    done = cli(*args)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert message in done.stderr


def test_cli_unreachable_endpoint_exits_1_with_one_line():
    done = cli("--endpoint", "http://127.0.0.1:1", "--format", "dot")
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "127.0.0.1:1" in done.stderr


def test_a_simulated_world_has_the_shape_of_a_running_servers():
    sim = iotsim.Simulation(seed=1)
    sim.add_device("lamp", protocol="5", subscribe=[("home/lamp/cmd", 1)], shadow=dict(reported={"power": "off"}))
    sim.add_device("app", publish=dict(topic="home/lamp/cmd", interval_s=2, qos=1, count=3))
    sim.run_until(10)
    w = sim.world()
    assert set(w) == {"broker", "clients", "retainedTopics", "shadows", "rules", "omitted", "registry"}
    assert set(w["registry"]) >= {"things", "certificates", "policies"}  # as GET /iotsim/world
    lamp = next(c for c in w["clients"] if c["clientId"] == "lamp")
    assert lamp["protocol"] == "MQTT 5" and lamp["transport"] == "simulated"
    assert {"filter": "home/lamp/cmd", "qos": 1} in lamp["subscriptions"]
    assert w["shadows"][0]["thingName"] == "lamp" and w["shadows"][0]["state"]["reported"] == {"power": "off"}
    assert json.dumps(w) == json.dumps(sim.world()), "a snapshot reads only"
    sim.crash_broker(at_s=sim.now_s + 1, restart_after_s=5)
    sim.run_for(2)
    assert sim.world() is None, "no world while the broker is down"
