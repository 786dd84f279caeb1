"""16 SigV4 on the HTTP APIs: with `iotsim serve --credentials FILE`, boto3 and the AWS CLI v2
signing with a listed key reach the control plane, iot-data and the rules API exactly as before;
a wrong secret, an unknown key and an unsigned request get AWS's 403 errors."""

import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest

from clients import aws_cli_v2, unique
from conftest import _launch

KEY_ID, SECRET = "AKIAIOTSIMSTUDENT1", "correct-horse-battery-staple"


@pytest.fixture(scope="module")
def signed_server(request, tmp_path_factory, pki_seed):
    tmp = tmp_path_factory.mktemp("sigv4")
    creds = tmp / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n\n"
                     "[other]\naws_access_key_id=AKIAOTHER\naws_secret_access_key=other-secret\n")
    return _launch(request, tmp, pki_seed, extra_args=["--credentials", str(creds)])


def client(srv, service, key_id=KEY_ID, secret=SECRET):
    boto3 = pytest.importorskip("boto3")
    return boto3.client(service, endpoint_url=srv.http_url, region_name="us-east-1",
                        aws_access_key_id=key_id, aws_secret_access_key=secret)


def error_code(call):
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_boto3_signing_with_a_listed_key_reaches_every_api(signed_server):
    srv = signed_server
    iot, data = client(srv, "iot"), client(srv, "iot-data")
    thing = unique("signed-")
    iot.create_thing(thingName=thing)
    assert thing in [t["thingName"] for t in iot.list_things(maxResults=250)["things"]]
    data.update_thing_shadow(thingName=thing, payload=json.dumps({"state": {"reported": {"ok": True}}}))
    assert json.loads(data.get_thing_shadow(thingName=thing)["payload"].read())["state"]["reported"] == {"ok": True}
    # A topic botocore percent-encodes ($, spaces) and a query string: the canonical forms agree.
    data.publish(topic=f"$aws/rules/none/odd topic/{thing}", qos=1, payload=b"{}")
    data.publish(topic="plain/topic", qos=0, retain=True, payload=b"{}")
    iot.create_topic_rule(ruleName=thing.replace("-", "_"), topicRulePayload={"sql": "SELECT * FROM 'x'", "actions": []})
    assert iot.list_topic_rules(topic="x")["rules"]
    other = client(srv, "iot", "AKIAOTHER", "other-secret")  # a second profile of the file
    assert other.describe_thing(thingName=thing)["thingName"] == thing


def test_a_wrong_secret_an_unknown_key_and_an_unsigned_request_get_awss_403s(signed_server):
    srv = signed_server
    assert error_code(lambda: client(srv, "iot", KEY_ID, "wrong").list_things()) == ("InvalidSignatureException", 403)
    assert error_code(lambda: client(srv, "iot-data", "AKIANOBODY", SECRET).get_thing_shadow(thingName="x")) == \
        ("UnrecognizedClientException", 403)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(srv.http_url + "/things/lamp/shadow", timeout=10)
    assert e.value.code == 403
    assert e.value.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException")
    assert json.loads(e.value.read())["message"] == "Missing Authentication Token"


def test_the_aws_cli_signs_and_a_wrong_secret_is_refused(signed_server, tmp_path):
    srv = signed_server
    env = {"PATH": os.confstr("CS_PATH"), "HOME": str(tmp_path), "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
    cmd = [aws_cli_v2(), "--endpoint-url", srv.http_url, "--output", "json", "iot", "describe-endpoint",
           "--endpoint-type", "iot:Data-ATS"]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["endpointAddress"]
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env={**env, "AWS_SECRET_ACCESS_KEY": "nope"})
    assert bad.returncode == 254 and "InvalidSignatureException" in bad.stderr


@pytest.mark.parametrize("content, fragment", [
    ("aws_access_key_id = orphan\n", "inside a [profile]"),
    ("[p]\naws_access_key_id = only-the-id\n", "needs aws_access_key_id and aws_secret_access_key"),
    ("# nothing\n", "no [profile]"),
])
def test_a_bad_credentials_file_is_refused_at_startup_with_exit_2(tmp_path, content, fragment):
    from conftest import iotsim_binary
    creds = tmp_path / "credentials"
    creds.write_text(content)
    p = subprocess.run([iotsim_binary(), "serve", "--data-dir", str(tmp_path / "d"), "--credentials", str(creds),
                        "--mqtt-port", "0", "--mqtts-port", "0", "--http-port", "0", "--https-port", "0", "--wss-port", "0"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert fragment in p.stderr and len(p.stderr.strip().splitlines()) == 1
