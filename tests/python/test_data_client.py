"""iotsim.DataClient against a running `iotsim serve`: the iot-data REST API from the standard
library, the same documents and errors as in the simulator."""
import os
import pathlib
import re
import signal
import subprocess
import time

import pytest

import iotsim
import iotsim.sigv4
from support import ROOT

READY = re.compile(r"http=[0-9.]+:(\d+)")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """A DataClient for a fresh `iotsim serve`."""
    binary = os.environ.get("IOTSIM_BIN", str(ROOT / "build" / "dev" / "iotsim"))
    if not pathlib.Path(binary).exists():
        pytest.skip(f"no iotsim binary at {binary}")
    data = tmp_path_factory.mktemp("serve")
    proc = subprocess.Popen([binary, "serve", "--data-dir", str(data), "--mqtt-port", "0", "--mqtts-port", "0",
                             "--http-port", "0", "--https-port", "0", "--wss-port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()
        m = READY.search(line)
        assert m, f"no ready line: {line!r}"
        # Requests are SigV4-signed with the keys the server wrote on first start.
        yield iotsim.DataClient(f"http://127.0.0.1:{m.group(1)}",
                                credentials=iotsim.sigv4.read_credentials(data / "credentials"))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def test_update_get_list_and_delete_shadows_over_rest(endpoint):
    c = endpoint
    accepted = c.update_shadow("lamp", {"state": {"desired": {"on": True}}, "clientToken": "t"})
    assert accepted["version"] == 1 and accepted["clientToken"] == "t"
    doc = c.get_shadow("lamp")
    assert doc["state"]["delta"] == {"on": True}
    c.update_shadow("lamp", {"state": {"reported": {"x": 1}}}, name="cfg")
    assert c.list_named_shadows("lamp") == ["cfg"]
    assert c.delete_shadow("lamp", name="cfg")["version"] == 1
    assert c.list_named_shadows("lamp") == []


def test_rest_errors_raise_shadow_error_with_the_status(endpoint):
    c = endpoint
    with pytest.raises(iotsim.ShadowError) as e:
        c.get_shadow("nobody-home")
    assert e.value.status == 404 and "No shadow exists" in e.value.message
    with pytest.raises(iotsim.ShadowError) as e:
        c.update_shadow("t", b"{nope")
    assert e.value.status == 400


def test_publish_with_retain_is_listed_and_read_back(endpoint):
    c = endpoint
    c.publish("dc/status", b"up", qos=1, retain=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(t["topic"] == "dc/status" for t in c.list_retained_messages()):
        time.sleep(0.05)
    assert any(t["topic"] == "dc/status" for t in c.list_retained_messages())
    got = c.get_retained_message("dc/status")
    assert got["topic"] == "dc/status" and got["qos"] == 1


def test_an_unsigned_or_wrongly_signed_client_is_refused_with_awss_403(endpoint):
    for credentials in (None, (endpoint.credentials[0], "not-the-secret")):
        c = iotsim.DataClient(endpoint.endpoint_url, credentials=credentials)
        c.credentials = credentials  # no fallback to a credentials file of the working directory
        with pytest.raises(iotsim.ShadowError) as e:
            c.get_shadow("lamp")
        assert e.value.status == 403


def test_sigv4_signs_like_the_aws_documentation_example():
    # AWS's SigV4 example (IAM ListUsers, 2015-08-30T12:36:00Z, the documented example keys).
    import datetime

    headers = iotsim.sigv4.sign("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
                                ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), service="iam",
                                now=datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc),
                                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                                content_sha256=False)
    assert headers["X-Amz-Date"] == "20150830T123600Z"
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")


def test_default_credentials_are_looked_up_as_the_aws_sdks_do(tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert iotsim.sigv4.default_credentials() is None
    (tmp_path / ".iotsim").mkdir()
    (tmp_path / ".iotsim" / "credentials").write_text("[default]\naws_access_key_id = AKIALOCAL\n"
                                                      "aws_secret_access_key = 100%local\n")  # '%' is no interpolation
    assert iotsim.sigv4.default_credentials() == ("AKIALOCAL", "100%local")
    shared = tmp_path / "shared"
    shared.write_text("[default]\naws_access_key_id = AKIAD\naws_secret_access_key = d\n"
                      "[lab]\naws_access_key_id = AKIALAB\naws_secret_access_key = l\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    assert iotsim.sigv4.default_credentials() == ("AKIAD", "d")
    monkeypatch.setenv("AWS_PROFILE", "lab")
    assert iotsim.sigv4.default_credentials() == ("AKIALAB", "l")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "e")
    assert iotsim.sigv4.default_credentials() == ("AKIAENV", "e")


def test_paths_with_dot_and_empty_segments_sign_as_the_server_verifies_them(endpoint):
    # The server removes dot segments and empty segments before checking the signature, as
    # botocore does before signing; the client must agree.
    endpoint.update_shadow("norm", {"state": {"reported": {"x": 1}}})
    status, body = endpoint._call("GET", "/things/./norm/shadow")
    assert status in (200, 404), body  # signed correctly: not a 403
    status, body = endpoint._call("GET", "/things//norm/../norm/shadow")
    assert status != 403, body
