"""17 Authentication on the HTTP ports: every request is SigV4-signed, with the keys of
DATA_DIR/credentials (written on first start: `AWS_SHARED_CREDENTIALS_FILE=DATA_DIR/credentials
aws ...` just works) or of --credentials; on HTTPS an unsigned request may instead be
authenticated by a client certificate (AWS's port 8443), and then the certificate's IoT policies
decide each iot-data operation."""

import json
import os
import re
import ssl
import stat
import subprocess
import urllib.error
import urllib.request

import pytest

from clients import AWS_CREDS, aws_cli_v2, unique
from conftest import _launch
from test_13_registry_auth import ALLOW_ALL, boto_iot, device, policy


@pytest.fixture(scope="module")
def auth_server(request, tmp_path_factory, pki_seed):
    return _launch(request, tmp_path_factory.mktemp("rest-auth"), pki_seed)


def read_profile(path):
    text = path.read_text()
    key_id = re.search(r"^aws_access_key_id = (\S+)$", text, re.M).group(1)
    secret = re.search(r"^aws_secret_access_key = (\S+)$", text, re.M).group(1)
    return key_id, secret


def aws(srv, tmp_path, *args, env):
    cmd = [aws_cli_v2(), "--endpoint-url", srv.http_url, "--output", "json", *args]
    base = {"PATH": os.confstr("CS_PATH"), "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env={**base, **env}, cwd=str(tmp_path))


def https(srv, path, *, cert=None, method="GET", body=None):
    """(status, error type, body) of an unsigned HTTPS request, with a client certificate or none."""
    ctx = ssl.create_default_context(cafile=srv.ca)
    if cert is not None:
        ctx.load_cert_chain(cert["cert"], cert["key"])
    request = urllib.request.Request(f"https://localhost:{srv.https_port}{path}", data=body, method=method)
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=10) as r:
            return r.status, None, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("x-amzn-ErrorType"), e.read()


def test_first_start_writes_credentials_that_the_aws_cli_uses_unchanged(auth_server, tmp_path):
    srv = auth_server
    path = srv.data_dir / "credentials"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key_id, secret = read_profile(path)
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", key_id) and len(secret) == 40
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(path), "AWS_DEFAULT_REGION": "us-east-1"}
    thing = unique("cli-")
    p = aws(srv, tmp_path, "iot", "create-thing", "--thing-name", thing, env=env)
    assert p.returncode == 0, p.stderr
    p = aws(srv, tmp_path, "iot-data", "update-thing-shadow", "--thing-name", thing, "--cli-binary-format",
            "raw-in-base64-out", "--payload", '{"state":{"desired":{"on":true}}}', "/dev/stdout", env=env)
    assert p.returncode == 0 and '"version":1' in p.stdout.replace(" ", ""), p.stderr
    # The same keys again after a restart: the file is kept.
    srv.stop()
    srv.start()
    assert read_profile(path) == (key_id, secret)
    assert aws(srv, tmp_path, "iot", "describe-thing", "--thing-name", thing, env=env).returncode == 0


def test_a_wrong_secret_and_an_unsigned_request_are_refused_on_both_http_ports(auth_server, tmp_path):
    srv = auth_server
    key_id, _ = read_profile(srv.data_dir / "credentials")
    p = aws(srv, tmp_path, "iot", "list-things",
            env={"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": "not-the-secret", "AWS_DEFAULT_REGION": "us-east-1"})
    assert p.returncode != 0 and "InvalidSignatureException" in p.stderr, p.stderr
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(srv.http_url + "/things/lamp/shadow", timeout=10)
    assert e.value.code == 403 and e.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    status, kind, _ = https(srv, "/things/lamp/shadow")  # TLS without a client certificate
    assert (status, kind) == (403, "MissingAuthenticationTokenException")


def test_a_client_certificate_authenticates_https_and_its_policy_decides_each_operation(auth_server, tmp_path):
    srv = auth_server
    thing = unique("rest-")
    reader = device(srv, tmp_path, policy(
        {"Effect": "Allow", "Action": ["iot:GetThingShadow", "iot:Publish"],
         "Resource": [f"arn:aws:iot:us-east-1:123456789012:thing/{thing}",
                      f"arn:aws:iot:us-east-1:123456789012:topic/{thing}/telemetry"]}))
    writer = device(srv, tmp_path, policy(ALLOW_ALL))
    # The allow-all certificate writes the shadow over HTTPS without a signature.
    status, _, body = https(srv, f"/things/{thing}/shadow", cert=writer, method="POST",
                            body=b'{"state":{"reported":{"temp":21}}}')
    assert status == 200 and json.loads(body)["version"] == 1
    # The reader may read that thing's shadow and publish to its one topic, nothing else.
    status, _, body = https(srv, f"/things/{thing}/shadow", cert=reader)
    assert status == 200 and json.loads(body)["state"]["reported"] == {"temp": 21}
    assert https(srv, f"/topics/{thing}/telemetry?qos=1", cert=reader, method="POST", body=b"{}")[0] == 200
    for path, method in ((f"/things/{thing}/shadow", "POST"), (f"/things/{thing}/shadow", "DELETE"),
                         ("/things/other-thing/shadow", "GET"), (f"/topics/{thing}/other", "POST"),
                         (f"/topics/{thing}/telemetry?qos=0&retain=true", "POST"), ("/retainedMessage", "GET")):
        status, kind, body = https(srv, path, cert=reader, method=method, body=b"{}" if method == "POST" else None)
        assert (status, kind) == (403, "ForbiddenException"), (path, method, status, kind, body)
        assert json.loads(body)["message"] == "Forbidden"
    # The control plane takes SigV4 only: a certificate does not reach it.
    assert https(srv, f"/things/{thing}", cert=writer)[0] == 404
    # A deactivated certificate is refused every operation.
    boto_iot(srv).update_certificate(certificateId=writer["id"], newStatus="INACTIVE")
    assert https(srv, f"/things/{thing}/shadow", cert=writer)[:2] == (403, "ForbiddenException")


def test_rest_policies_see_the_callers_address_and_no_client_id_or_connection_thing(auth_server, tmp_path):
    srv = auth_server
    thing = unique("ctx-")
    arn = "arn:aws:iot:us-east-1:123456789012"
    # aws:SourceIp is the caller's address: a Deny for loopback applies to REST as to MQTT.
    fenced = device(srv, tmp_path, policy(ALLOW_ALL, {"Effect": "Deny", "Action": "iot:*", "Resource": "*",
                                                      "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}))
    assert https(srv, f"/things/{thing}/shadow", cert=fenced)[:2] == (403, "ForbiddenException")
    # No client id over HTTPS (AWS: none exists): ${iot:ClientId} does not widen to topic/*.
    by_client = device(srv, tmp_path, policy({"Effect": "Allow", "Action": "iot:Publish",
                                              "Resource": f"{arn}:topic/${{iot:ClientId}}*"}))
    assert https(srv, "/topics/anything/else?qos=0", cert=by_client, method="POST", body=b"{}")[:2] == \
        (403, "ForbiddenException")
    # The connection thing variables are MQTT's: an exclusively attached thing does not bind them.
    by_thing = device(srv, tmp_path, policy({"Effect": "Allow", "Action": "iot:GetThingShadow",
                                             "Resource": f"{arn}:thing/${{iot:Connection.Thing.ThingName}}"}))
    boto_iot(srv).create_thing(thingName=thing)
    attach_exclusively(srv, thing, by_thing["arn"])
    https(srv, f"/things/{thing}/shadow", cert=fenced_free(srv, tmp_path), method="POST", body=b'{"state":{}}')
    status, kind, _ = https(srv, f"/things/{thing}/shadow", cert=by_thing)
    assert (status, kind) == (403, "ForbiddenException")


def fenced_free(srv, tmp_path):
    return device(srv, tmp_path, policy(ALLOW_ALL))


def attach_exclusively(srv, thing, principal):
    """AttachThingPrincipal with thingPrincipalType=EXCLUSIVE_THING, signed by hand (Debian's
    botocore predates the parameter)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{srv.http_url}/things/{thing}/principals?thingPrincipalType=EXCLUSIVE_THING"
    request = AWSRequest(method="PUT", url=url, data=b"", headers={"x-amzn-principal": principal})
    SigV4Auth(Credentials(AWS_CREDS["AWS_ACCESS_KEY_ID"], AWS_CREDS["AWS_SECRET_ACCESS_KEY"]), "iot",
              "us-east-1").add_auth(request)
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="PUT", headers=dict(request.headers)),
                                timeout=10) as r:
        assert r.status == 200


def test_a_signed_https_request_with_a_certificate_is_sigv4s(auth_server, tmp_path):
    boto3 = pytest.importorskip("boto3")
    srv = auth_server
    reader = device(srv, tmp_path, policy({"Effect": "Deny", "Action": "iot:*", "Resource": "*"}, ALLOW_ALL))
    client = boto3.client("iot-data", endpoint_url=f"https://localhost:{srv.https_port}", region_name="us-east-1",
                          aws_access_key_id=AWS_CREDS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=AWS_CREDS["AWS_SECRET_ACCESS_KEY"], verify=srv.ca,
                          config=__import__("botocore.config").config.Config(client_cert=(reader["cert"], reader["key"])))
    thing = unique("both-")
    client.update_thing_shadow(thingName=thing, payload=b'{"state":{"reported":{"x":1}}}')  # not the deny-all policy's


@pytest.mark.parametrize("text", ["[default]\naws_access_key_id = AKIAONLYTHEID\n", "garbage without a profile\n",
                                  "[]\n", "# only a comment\n"])
def test_a_corrupt_credentials_file_stops_the_start_with_one_line_naming_it(request, tmp_path, pki_seed, text):
    data = tmp_path / "data"
    data.mkdir()
    for name in os.listdir(pki_seed):
        if name != "credentials":
            (data / name).write_bytes((pki_seed / name).read_bytes())
    (data / "credentials").write_text(text)
    from conftest import iotsim_binary
    p = subprocess.run([iotsim_binary(), "serve", "--data-dir", str(data), "--mqtt-port", "0", "--mqtts-port", "0",
                        "--http-port", "0", "--https-port", "0", "--wss-port", "0"], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and str(data / "credentials") in lines[0], p.stderr
