"""iotsim.diagram: the architecture and message-sequence diagrams of a simulated world, and the
`python3 -m iotsim.diagram` command line."""
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import iotsim
import iotsim.diagram as diagram
from support import IOTSIM_PYTHONPATH, SCENARIOS

needs_dot = pytest.mark.skipif(shutil.which("dot") is None and not os.path.exists("/usr/bin/dot"),
                               reason="Graphviz is not installed (apt-get install -y graphviz)")

SIX = ("Identity and access", "Device gateway", "Message broker", "Rules engine", "Device Shadow", "Registry")


def home_world(seed=1):
    """The tutorial's lamp (shadow-synced, subscribed to its commands), an app commanding it and a
    console client on '#'."""
    sim = iotsim.Simulation(seed=seed)
    sim.add_device("lamp", protocol="5", subscribe=[("home/lamp/cmd", 1)], shadow=dict(reported={"power": "off"}))
    sim.add_device("app", publish=dict(topic="home/lamp/cmd", interval_s=2, qos=1, count=3))
    sim.add_device("console", subscribe=[("#", 0)])
    sim.run_until(10)
    return sim


def labels(dot):
    """Every label="..." of a DOT text, unescaped."""
    unescape = {"n": "\n", '"': '"', "\\": "\\"}
    return [re.sub(r"\\(.)", lambda e: unescape.get(e.group(1), e.group(0)), m)
            for m in re.findall(r'label="((?:[^"\\]|\\.)*)"', dot)]


# ------------------------------------------------------------------------------------ architecture

def test_architecture_names_the_six_components_and_every_device():
    dot = diagram.architecture(home_world()).dot
    found = labels(dot)
    for component in SIX:
        assert component in found
    for device in ("lamp", "app", "console"):
        assert any(label.split("\n")[0] == device for label in found), device


def test_architecture_draws_subscriptions_publications_shadows_and_routes():
    dot = diagram.architecture(home_world()).dot
    found = labels(dot)
    assert "home/lamp/cmd" in found and "#" in found
    assert "subscribed q1" in found and "subscribed q0" in found and "publish q1" in found
    assert any(label.startswith("lamp (classic)\nversion ") for label in found)
    assert "thing lamp" in found
    # The console's '#' matches the app's topic, but not the lamp's $aws shadow topics.
    assert found.count("matches") == 1


def test_architecture_shows_the_rules_given_and_their_actions():
    rules = [{"name": "motion_to_lamp", "sql": "SELECT motion FROM 'home/motion/+' WHERE motion = true",
              "actions": [{"republish": {"topic": "$$aws/things/lamp/shadow/update", "qos": 1}},
                          {"lambda": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f"}}]}]
    dot = diagram.architecture(home_world(), rules=rules, things=["bulb"]).dot
    found = labels(dot)
    assert any(label.startswith("rule motion_to_lamp\nSELECT motion FROM") for label in found)
    assert "home/motion/+" in found and "SELECT ... FROM" in found and "republish" in found
    assert any(label.startswith("lambda\n") for label in found)
    assert "thing bulb" in found and "no rules" not in found


def test_architecture_of_an_empty_world_still_has_the_six_components():
    dot = diagram.architecture(iotsim.Simulation(seed=1)).dot
    found = labels(dot)
    assert all(component in found for component in SIX)
    assert {"no devices", "no rules", "no shadows", "no things given"} <= set(found)


def test_architecture_collapses_devices_beyond_max_devices():
    sim = iotsim.Simulation(seed=1)
    sim.add_fleet("sensor", 30, publish=dict(topic="fleet/{device}/t", interval_s=5))
    sim.run_until(6)
    found = labels(diagram.architecture(sim, max_devices=10).dot)
    assert "… and 20 more devices" in found
    assert sum(label.startswith("sensor-") for label in found) == 10


def test_architecture_is_deterministic():
    assert diagram.architecture(home_world()).dot == diagram.architecture(home_world()).dot
    sim = home_world()
    assert diagram.architecture(sim).dot == diagram.architecture(sim).dot


def test_labels_with_quotes_and_special_characters_are_escaped():
    nasty = 'a"b\\c<d>&e{f}|g'
    sim = iotsim.Simulation(seed=1)
    sim.add_device(nasty, subscribe=[('t/"quoted"/<x>&', 0)])
    sim.run_until(2)
    rules = [{"name": 'r"1', "sql": "SELECT * FROM 'x/\"y\"'", "actions": ['s3 "bucket"\nnext']}]
    dot = diagram.architecture(sim, rules=rules).dot
    assert diagram.quote('say "hi"\\\n') == '"say \\"hi\\"\\\\\\n"'
    assert nasty in [label.split("\n")[0] for label in labels(dot)]
    assert 't/"quoted"/<x>&' in labels(dot)
    # No unescaped quote ends a label early: every line is balanced.
    for line in dot.splitlines():
        assert len(re.findall(r'(?<!\\)(?:\\\\)*"', line)) % 2 == 0, line


@needs_dot
def test_special_characters_render_to_valid_svg():
    sim = iotsim.Simulation(seed=1)
    sim.add_device('a"b\\c<d>&', subscribe=[("t/<x>&", 0)])
    sim.run_until(2)
    root = ET.fromstring(diagram.architecture(sim).svg())
    text = "".join(root.itertext())
    assert 'a"b\\c<d>&' in text and "t/<x>&" in text


@needs_dot
def test_svg_and_png_are_valid_and_saved_by_extension(tmp_path):
    d = diagram.architecture(home_world())
    svg = d.svg()
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "Message broker" in "".join(root.itertext())
    assert d._repr_svg_().startswith("<?xml")
    assert d.png().startswith(b"\x89PNG\r\n\x1a\n")
    for name in ("a.svg", "a.png", "a.dot"):
        d.save(tmp_path / name)
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "a.dot").read_text() == d.dot
    with pytest.raises(ValueError, match="unknown extension"):
        d.save(tmp_path / "a.txt")


def test_a_broken_dot_source_raises_diagram_error():
    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed")
    with pytest.raises(diagram.DiagramError, match="dot -Tsvg failed"):
        diagram.Diagram("digraph { a -> }").svg()


# ---------------------------------------------------------------------------------------- sequence

def quick_connect(until_s=5):
    sim, _ = iotsim.load_scenario(SCENARIOS / "quick_connect.json")
    sim.run_until(until_s)
    return sim


def arrows(dot):
    """(label, colour) of each message arrow's label node (m<k>) in a sequence diagram."""
    return [labels(line)[0] for line in dot.splitlines() if re.match(r"\s*m\d+ \[", line)]


def test_sequence_draws_the_handshake_and_the_publish_arrows():
    sim = quick_connect()
    msgs = arrows(diagram.sequence(sim).dot)
    assert "CONNECT v3.1.1 id=basicPubSub clean=0 ka=30" in msgs
    assert "CONNACK rc=0 sp=0" in msgs
    assert "SUBSCRIBE id=1 sdk/test/python:q1" in msgs and "SUBSCRIBE id=1 #:q0" in msgs
    assert "PUBACK id=2" in msgs
    # Each of the 5 messages: published by the device, delivered to both subscribers.
    published = [m for m in msgs if m.startswith("PUBLISH q1") and "sdk/test/python" in m]
    assert len(published) == 10
    assert sum(m.startswith("PUBLISH q0 sdk/test/python") for m in msgs) == 5
    dot = diagram.sequence(sim).dot
    for lane in ("basicPubSub", "broker", "iotconsole-test-client"):
        assert f'label="{lane}"' in dot


def test_sequence_respects_the_time_window():
    sim = quick_connect()
    dot = diagram.sequence(sim, start_s=1, end_s=2).dot
    times = [float(t) for t in re.findall(r'label="(\d+\.\d+) s"', dot)]
    assert times and all(1 <= t <= 2 for t in times)
    msgs = arrows(dot)
    assert not any(m.startswith(("CONNECT", "SUBSCRIBE")) for m in msgs)
    assert sum(m.startswith("PUBLISH") for m in msgs) == 3  # one publish, delivered twice


def test_sequence_respects_max_messages_and_says_how_many_more():
    sim = quick_connect()
    everything = len(arrows(diagram.sequence(sim).dot))
    dot = diagram.sequence(sim, max_messages=7).dot
    assert len(arrows(dot)) == 7
    assert f"… {everything - 7} more packets in the window (max_messages=7)" in labels(dot)
    assert arrows(diagram.sequence(sim, max_messages=0).dot) == []


def test_sequence_keeps_only_the_nodes_asked_for():
    dot = diagram.sequence(quick_connect(), nodes=["iotconsole-test-client"]).dot
    assert 'label="basicPubSub"' not in dot
    assert all("sdk/test/python:q1" not in m for m in arrows(dot))
    assert "SUBSCRIBE id=1 #:q0" in arrows(dot)


def test_sequence_shows_faults_and_disconnections_as_notes():
    sim, duration_s = iotsim.load_scenario(SCENARIOS / "lamp_partition.json")
    sim.run_until(duration_s)
    found = labels(diagram.sequence(sim, start_s=59, end_s=120).dot)
    assert "fault: partition lamp" in found
    assert any(label.startswith("disconnected: keep-alive") for label in found)


def test_sequence_is_deterministic_and_checks_its_arguments():
    assert diagram.sequence(quick_connect()).dot == diagram.sequence(quick_connect()).dot
    with pytest.raises(ValueError):
        diagram.sequence(quick_connect(), start_s=3, end_s=2)
    with pytest.raises(ValueError):
        diagram.sequence(quick_connect(), max_messages=-1)


@needs_dot
def test_sequence_renders_to_svg():
    root = ET.fromstring(diagram.sequence(quick_connect(), max_messages=20).svg())
    assert "CONNACK rc=0 sp=0" in "".join(root.itertext())


def test_topic_matching_follows_aws():
    m = diagram.topic_matches
    assert m("a/#", "a/b/c") and not m("a/#", "a")
    assert m("a/+/c", "a/b/c") and not m("a/+", "a/b/c")
    assert m("#", "x") and not m("#", "$aws/things/t/shadow/update")
    assert m("$aws/things/+/shadow/update", "$aws/things/t/shadow/update")


def test_durations_parse_as_in_scenarios():
    assert diagram.parse_duration("5m") == 300 and diagram.parse_duration("250ms") == 0.25
    assert diagram.parse_duration("12") == 12
    with pytest.raises(ValueError):
        diagram.parse_duration("soon")


# -------------------------------------------------------------------------------------------- CLI

def cli(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (IOTSIM_PYTHONPATH, os.environ.get("PYTHONPATH")) if p))
    return subprocess.run([sys.executable, "-m", "iotsim.diagram", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env)


@needs_dot
def test_cli_writes_an_architecture_svg(tmp_path):
    out = tmp_path / "qc.svg"
    done = cli(SCENARIOS / "quick_connect.json", "--until", "5s", "-o", out)
    assert done.returncode == 0, done.stderr
    text = "".join(ET.parse(out).getroot().itertext())
    assert "basicPubSub" in text and "Device gateway" in text


@needs_dot
def test_cli_writes_a_sequence_png(tmp_path):
    out = tmp_path / "seq.png"
    done = cli(SCENARIOS / "quick_connect.json", "--seed", "3", "--until", "5s", "--kind", "sequence",
               "--max-messages", "20", "-o", out)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"\x89PNG")


def test_cli_writes_dot_to_standard_output():
    done = cli(SCENARIOS / "quick_connect.json", "--until", "3s", "--format", "dot")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("digraph iotsim_architecture {")
    assert done.stdout == cli(SCENARIOS / "quick_connect.json", "--until", "3s", "--format", "dot").stdout


@pytest.mark.parametrize("args, message", [
    (["--kind", "flow"], "argument --kind: invalid choice"),
    (["--until", "soon"], "not a duration"),
    (["--format", "gif"], "argument --format: invalid choice"),
    (["-o", "out.txt"], "cannot tell the format"),
    (["--kind", "sequence", "--nodes", "ghost"], "no device named 'ghost'"),
    (["--kind", "sequence", "--start", "3s", "--end", "2s"], "is before start_s"),
    (["--max-messages", "-1"], "--max-messages must be >= 0"),
])
def test_cli_bad_arguments_exit_2_with_one_line(args, message):
    done = cli(SCENARIOS / "quick_connect.json", "--until", "1s", *args)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert message in done.stderr


def test_cli_bad_scenario_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "devices": [{"name": "x", "publish": {"topic": "t", "qos": 2}}]}')
    for args in ([bad], [tmp_path / "missing.json"], []):
        done = cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
