"""`iotsim run`: determinism across processes and builds, and clear errors for bad input.

Run by CTest with IOTSIM_BIN (this build) and optionally IOTSIM_OTHER_BIN (a build of another
type, e.g. Release when this is Debug): the same scenario and seed must print the same
trace-hash from both.
"""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "sim" / "scenarios"
BIN = os.environ.get("IOTSIM_BIN", str(ROOT / "build" / "dev" / "iotsim"))
OTHER = os.environ.get("IOTSIM_OTHER_BIN", "")
QUICK = ["quick_connect.json", "lamp_partition.json", "revoked_device.json"]


def run(*args, binary=BIN, check=True):
    p = subprocess.run([binary, "run", *map(str, args)], capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stdout + p.stderr
    return p


def trace_hash(p):
    last = p.stdout.strip().splitlines()[-1]
    assert last.startswith("trace-hash: "), p.stdout
    return last.split()[1]


@pytest.mark.parametrize("name", QUICK)
def test_same_scenario_and_seed_print_the_same_hash_in_separate_processes(name):
    assert trace_hash(run(SCENARIOS / name)) == trace_hash(run(SCENARIOS / name))


@pytest.mark.parametrize("name", QUICK)
def test_another_seed_prints_another_hash(name):
    assert trace_hash(run(SCENARIOS / name, "--seed", 1)) != trace_hash(run(SCENARIOS / name, "--seed", 2))


@pytest.mark.skipif(not OTHER, reason="IOTSIM_OTHER_BIN not set (scripts/test.sh sets it to the Release build)")
@pytest.mark.parametrize("name", QUICK)
def test_debug_and_release_builds_print_the_same_hash(name):
    assert trace_hash(run(SCENARIOS / name)) == trace_hash(run(SCENARIOS / name, binary=OTHER))


def test_trace_export_writes_json_lines_and_keeps_the_hash(tmp_path):
    out = tmp_path / "trace.jsonl"
    plain = trace_hash(run(SCENARIOS / "lamp_partition.json"))
    recorded = run(SCENARIOS / "lamp_partition.json", "--trace", out)
    assert trace_hash(recorded) == plain
    import json
    lines = out.read_text().splitlines()
    assert len(lines) > 100
    records = [json.loads(l) for l in lines]
    kinds = {r["kind"] for r in records}
    assert {"fault", "bytes_to_broker", "bytes_to_device", "broker_event"} <= kinds
    assert any("PUBLISH q1" in r["detail"] for r in records)


def test_the_revoked_device_scenario_prints_its_refusals():
    import re
    p = run(SCENARIOS / "revoked_device.json")
    m = re.search(r"certificates: 3  tls handshakes refused: (\d+)  connects refused: (\d+)  revoked connections: (\d+)",
                  p.stdout)
    assert m, p.stdout
    tls, refused, revoked = map(int, m.groups())
    assert tls > 0 and refused > 0 and revoked == 1, p.stdout
    assert "checks: ok" in p.stdout


def test_until_overrides_the_duration():
    p = run(SCENARIOS / "quick_connect.json", "--until", "10s")
    assert "virtual time: 10 s" in p.stdout


@pytest.mark.parametrize("doc,expected", [
    ("{", "not valid JSON"),
    ('{"version":1,"devices":[{"name":"a"}],"faults":[{"type":"meteor","at":"1s","devices":["a"]}]}', "faults[0].type: unknown fault"),
    ('{"version":1,"duration":"-5s"}', "duration: must not be negative"),
    ('{"version":1,"devices":[{"name":"a"}],"faults":[{"type":"partition","at":"1s","devices":["ghost"]}]}', "unknown device \"ghost\""),
])
def test_a_bad_scenario_gets_one_clear_line_and_exit_code_2(tmp_path, doc, expected):
    f = tmp_path / "bad.json"
    f.write_text(doc)
    p = run(f, check=False)
    assert p.returncode == 2
    assert expected in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_a_missing_scenario_file_is_exit_code_2(tmp_path):
    p = run(tmp_path / "nope.json", check=False)
    assert p.returncode == 2 and "cannot read" in p.stderr


def test_a_negative_until_is_exit_code_2():
    p = run(SCENARIOS / "quick_connect.json", "--until", "-1m", check=False)
    assert p.returncode == 2 and "--until" in p.stderr


def test_a_check_violation_exits_1_with_the_seed_and_a_repro_line(tmp_path):
    # A QoS 0 publisher cannot satisfy an at-least-once check across a long partition.
    f = tmp_path / "violating.json"
    f.write_text("""{"version":1,"seed":5,"duration":"3m",
      "devices":[{"name":"sub","clean_session":false,"subscribe":[{"filter":"t","qos":1}]},
                 {"name":"pub","publish":{"topic":"t","interval":"1s","qos":1}}],
      "faults":[{"type":"power_loss","at":"30s","devices":["sub"]}],
      "checks":{"qos1_delivered":[{"publisher":"pub","subscriber":"sub"}]}}""")
    p = run(f, check=False)
    assert p.returncode == 1, p.stdout
    assert "qos1 at-least-once: sub never received" in p.stdout
    assert "repro: iotsim run" in p.stdout and "--seed 5" in p.stdout
