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
from support import ROOT

READY = re.compile(r"http=[0-9.]+:(\d+)")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    binary = os.environ.get("IOTSIM_BIN", str(ROOT / "build" / "dev" / "iotsim"))
    if not pathlib.Path(binary).exists():
        pytest.skip(f"no iotsim binary at {binary}")
    data = tmp_path_factory.mktemp("serve")
    proc = subprocess.Popen([binary, "serve", "--data-dir", str(data), "--mqtt-port", "0", "--mqtts-port", "0",
                             "--http-port", "0", "--https-port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()
        m = READY.search(line)
        assert m, f"no ready line: {line!r}"
        yield f"http://127.0.0.1:{m.group(1)}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def test_update_get_list_and_delete_shadows_over_rest(endpoint):
    c = iotsim.DataClient(endpoint)
    accepted = c.update_shadow("lamp", {"state": {"desired": {"on": True}}, "clientToken": "t"})
    assert accepted["version"] == 1 and accepted["clientToken"] == "t"
    doc = c.get_shadow("lamp")
    assert doc["state"]["delta"] == {"on": True}
    c.update_shadow("lamp", {"state": {"reported": {"x": 1}}}, name="cfg")
    assert c.list_named_shadows("lamp") == ["cfg"]
    assert c.delete_shadow("lamp", name="cfg")["version"] == 1
    assert c.list_named_shadows("lamp") == []


def test_rest_errors_raise_shadow_error_with_the_status(endpoint):
    c = iotsim.DataClient(endpoint)
    with pytest.raises(iotsim.ShadowError) as e:
        c.get_shadow("nobody-home")
    assert e.value.status == 404 and "No shadow exists" in e.value.message
    with pytest.raises(iotsim.ShadowError) as e:
        c.update_shadow("t", b"{nope")
    assert e.value.status == 400


def test_publish_with_retain_is_listed_and_read_back(endpoint):
    c = iotsim.DataClient(endpoint)
    c.publish("dc/status", b"up", qos=1, retain=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(t["topic"] == "dc/status" for t in c.list_retained_messages()):
        time.sleep(0.05)
    assert any(t["topic"] == "dc/status" for t in c.list_retained_messages())
    got = c.get_retained_message("dc/status")
    assert got["topic"] == "dc/status" and got["qos"] == 1
