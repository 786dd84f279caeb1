"""Every notebook in notebooks/ runs headless without errors, draws its figure, and prints the
trace hash of the world it builds: the same hash as building that world directly here
(determinism across the notebook boundary). Notebooks are committed without outputs."""
import html
import json
import os
import re
import sys

import pytest

import iotsim
from support import IOTSIM_PYTHONPATH, ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402 (after the importorskip)
from jupyter_client.manager import KernelManager  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))  # instructor versions (notebooks/student/ is generated)
TIMEOUT_S = 120


def qos_under_partition():
    """The world of 01_qos_under_partition.ipynb, run in one go rather than in steps."""
    sim = iotsim.Simulation(seed=2026)
    sim.add_device("dashboard", clean_session=False, keep_alive_s=30, subscribe=[("sensors/#", 1)])
    sim.add_device("sensor-qos0", publish=dict(topic="sensors/qos0", interval_s=2, qos=0))
    sim.add_device("sensor-qos1", publish=dict(topic="sensors/qos1", interval_s=2, qos=1))
    sim.partition(["dashboard"], at_s=60, duration_s=90)
    sim.run_until(240)
    return sim


def architecture():
    """The world of 02_architecture.ipynb (Task 1): broker, shadow, a partitioned lamp."""
    sim = iotsim.Simulation(seed=2026, latency_ms=25, loss_probability=0.01)
    sim.add_device("sensor", publish=dict(topic="home/livingroom/temperature", interval_s=5, qos=1,
                                          payload='{"device":"{device}","seq":{seq},"celsius":21}'))
    sim.add_device("dashboard", subscribe=[("home/+/temperature", 1)])
    sim.add_device("lamp", protocol="5", keep_alive_s=30, shadow=dict(reported={"power": "off"}))
    sim.partition(["lamp"], at_s=30, duration_s=120)
    sim.run_until(40)
    sim.update_shadow("lamp", {"state": {"desired": {"power": "on", "brightness": 80}}})
    sim.run_until(240)
    # Step 3: motion -> rules -> the lamp's shadow, an S3 bucket and an SNS topic.
    role = "arn:aws:iam::123456789012:role/iot-lab"
    sim.update_shadow("lamp", {"state": {"desired": {"power": "off"}}})
    sim.create_topic_rule("motion_lamp_on", sql_version="2016-03-23",
                          sql="SELECT VALUE {'state': {'desired': {'power': 'on'}}} FROM 'home/motion' WHERE motion = true",
                          actions=[{"republish": {"topic": "$$aws/things/lamp/shadow/update", "qos": 1, "roleArn": role}}])
    sim.create_topic_rule("motion_archive", sql="SELECT *, topic() AS topic FROM 'home/motion'",
                          actions=[{"s3": {"bucketName": "motion-archive", "key": "${device}/${seq}.json", "roleArn": role}},
                                   {"sns": {"targetArn": "arn:aws:sns:us-east-1:123456789012:motion-alerts",
                                            "roleArn": role}}])
    sim.add_device("motion-sensor", start_at_s=260, publish=dict(
        topic="home/motion", interval_s=30, qos=1, count=2, payload='{"device":"{device}","seq":{seq},"motion":true}'))
    sim.add_device("quiet-sensor", start_at_s=250, publish=dict(
        topic="home/motion", interval_s=30, qos=1, count=2, payload='{"device":"{device}","seq":{seq},"motion":false}'))
    sim.run_until(320)
    return sim


def fault_injection():
    """The reference run printed by 04_fault_injection.ipynb: experiment 1's world."""
    sim = iotsim.Simulation(seed=2026, latency_ms=20, keep_trace=False)
    sim.add_device("watcher", subscribe=[("devices/+/status", 1)])
    sim.add_device("sensor", keep_alive_s=60, will=dict(topic="devices/sensor/status", payload="offline", qos=1),
                   publish=dict(topic="devices/sensor/data", interval_s=5, qos=0))
    sim.partition(["sensor"], at_s=60.0, duration_s=3600)
    sim.run_until(300)
    return sim


#: Each notebook's world, built directly. A new notebook adds its own here; None for a notebook
#: that drives a real local server (`iotsim serve`) instead of the simulator.
WORLDS = {"01_qos_under_partition.ipynb": qos_under_partition, "02_architecture.ipynb": architecture,
          "03_connect_a_device.ipynb": None, "04_fault_injection.ipynb": fault_injection}


def test_there_are_notebooks_and_each_has_a_reference_world():
    assert NOTEBOOKS
    assert {nb.name for nb in NOTEBOOKS} == set(WORLDS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebook_is_committed_clean_and_small(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert path.stat().st_size < 50_000
    assert nb.cells[0].cell_type == "markdown" and nb.cells[-1].cell_type == "markdown"


def kernel_manager(tmp_path):
    """A kernel running this very interpreter (Debian's python3 under CTest), seeing the same iotsim.

    A private kernelspec, rather than whatever "python3" resolves to on this machine, with
    PYTHONPATH for iotsim and matplotlib's inline backend (CTest sets MPLBACKEND=Agg, which would
    make plt.show() draw nothing)."""
    spec_dir = tmp_path / "kernels" / "iotsim-test"
    spec_dir.mkdir(parents=True)
    env = {
        "PYTHONPATH": os.pathsep.join(p for p in (IOTSIM_PYTHONPATH, os.environ.get("PYTHONPATH")) if p),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "iotsim test", "language": "python", "env": env,
    }))
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return KernelManager(kernel_name="iotsim-test", kernel_spec_manager=specs)


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=lambda p: p.name)
def executed(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nb")
    nb = nbformat.read(request.param, as_version=4)
    client = nbclient.NotebookClient(nb, km=kernel_manager(tmp), timeout=TIMEOUT_S, startup_timeout=60,
                                     resources={"metadata": {"path": str(tmp)}})
    client.execute()
    return request.param.name, nb


def outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def stdout(nb):
    return "".join(o.text for o in outputs(nb) if o.output_type == "stream" and o.name == "stdout")


def test_a_notebook_runs_without_errors(executed):
    _, nb = executed
    assert [o for o in outputs(nb) if o.output_type == "error"] == []
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")


def test_a_notebook_draws_a_figure(executed):
    name, nb = executed
    if WORLDS[name] is None:
        pytest.skip("a live-server notebook shows clients' output, not plots")
    images = [o for o in outputs(nb) if o.output_type == "display_data" and "image/png" in o.data]
    assert images
    assert all(len(o.data["image/png"]) > 10_000 for o in images)  # base64 of a real plot, not a blank


def test_a_notebook_prints_the_same_seed_and_trace_hash_as_its_world_built_directly(executed):
    name, nb = executed
    if WORLDS[name] is None:
        pytest.skip("a live-server notebook has no simulated world")
    text = stdout(nb)
    seed = re.search(r"^seed: (\d+)$", text, re.M)
    trace_hash = re.search(r"^trace_hash: ([0-9a-f]{16})$", text, re.M)
    assert seed and trace_hash, text
    direct = WORLDS[name]()
    assert int(seed.group(1)) == direct.seed
    assert trace_hash.group(1) == direct.trace_hash


def test_the_student_notebooks_are_generated_from_the_instructor_notebooks():
    """notebooks/student/ = the instructor notebooks with every `solution` cell replaced by an
    answer placeholder (scripts/make_student_notebooks.py), so the two never drift."""
    import subprocess
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_student_notebooks.py"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for path in NOTEBOOKS:
        teacher = nbformat.read(path, as_version=4)
        student = nbformat.read(ROOT / "notebooks" / "student" / path.name, as_version=4)
        solutions = [c for c in teacher.cells if "solution" in c.metadata.get("tags", [])]
        answers = [c for c in student.cells if "answer" in c.metadata.get("tags", [])]
        assert len(solutions) == len(answers)
        assert not any("solution" in c.metadata.get("tags", []) for c in student.cells)
        student_text = nbformat.writes(student)
        assert all(c.source[:60] not in student_text for c in solutions)


def test_the_architecture_notebook_answers_both_questions_from_its_evidence(executed):
    name, nb = executed
    if name != "02_architecture.ipynb":
        pytest.skip("Task 1 only")
    answers = [c.source for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert len(answers) == 2 and all(len(a) > 200 for a in answers)
    svgs = [o for o in outputs(nb) if o.output_type in ("display_data", "execute_result") and "image/svg+xml" in o.data]
    assert len(svgs) >= 2  # the architecture and the sequence diagrams, inline
    architecture_svg = svgs[0].data["image/svg+xml"]
    for component in ("Identity and access", "Device gateway", "Message broker", "Rules engine", "Device Shadow",
                      "Registry"):
        assert component in architecture_svg
    text = stdout(nb)
    assert "violations: []" in text
    assert re.search(r"lamp converged at (\d+) s", text)
    # Step 3: the rule turned the lamp on after the motion sensor's first event (260 s), and the
    # archive rule stored both sensors' events (WHERE filtered only the lamp rule).
    turned_on = re.search(r"turned on by the rule at (\d+) s", text)
    # (a device's first publish falls at a seeded phase of its 30 s interval)
    assert turned_on and 260 < int(turned_on.group(1)) <= 292, text
    assert "S3 objects: ['motion-archive/motion-sensor/1.json', 'motion-archive/motion-sensor/2.json', " \
           "'motion-archive/quiet-sensor/1.json', 'motion-archive/quiet-sensor/2.json']" in text
    assert "SNS notifications: 4" in text
    assert "rule actions failed: []" in text
    rules_svg = svgs[-1].data["image/svg+xml"]
    assert "motion_lamp_on" in rules_svg and "motion_archive" in rules_svg


def test_the_connect_a_device_notebook_runs_the_quick_connect_flow_and_every_failure(executed):
    name, nb = executed
    if name != "03_connect_a_device.ipynb":
        pytest.skip("Task 2 only")
    answers = [c.source for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert len(answers) == 3 and all(len(a) > 200 for a in answers)
    text = stdout(nb)
    # The SDK's pubsub sample receives its own five messages; the test client on '#' sees them.
    expected = [f"Hello World! [{n}]" for n in range(1, 6)]
    assert f"device received: {expected}" in text
    assert "watcher saw: " + repr([("sdk/test/python", f'"{m}"') for m in expected]) in text
    outcomes = dict(re.findall(r"^(.+?)\s+-> (.+)$", text, re.M))
    assert outcomes["wrong root CA"].startswith("TLS handshake failed")
    for refused in ("unknown certificate", "inactive certificate", "client id not in the policy"):
        assert outcomes[refused].startswith(("refused", "TLS handshake failed")), (refused, outcomes)
    assert outcomes["topic not in the policy"] == "connected; the publish to sdk/test/java closed the connection"
    assert outcomes["all correct"] == "connected"
    assert "server exit code: 0" in text
    # The running endpoint's architecture: the SDK client's persistent session and its
    # subscription, the test client on '#', the thing with its certificate and policy.
    assert re.search(r"^basicPubSub\s+connected=False persistent=True\s+subscriptions=\['sdk/test/python'\]$", text, re.M)
    assert re.search(r"^console-test-client\s+connected=True .*subscriptions=\['#'\]$", text, re.M)
    svgs = [o for o in outputs(nb) if o.output_type in ("display_data", "execute_result") and "image/svg+xml" in o.data]
    assert len(svgs) == 1
    svg = html.unescape(svgs[0].data["image/svg+xml"])  # Graphviz writes "-" as &#45;
    for component in ("Identity and access", "Device gateway", "Message broker", "Rules engine", "Device Shadow",
                      "Registry"):
        assert component in svg
    for text_in_svg in ("basicPubSub", "console-test-client", "thing TutorialTestThing",
                        "policy TutorialTestThing-Policy", "mutual TLS as"):
        assert text_in_svg in svg, text_in_svg


def test_the_fault_injection_notebook_measures_each_experiment(executed):
    name, nb = executed
    if name != "04_fault_injection.ipynb":
        pytest.skip("fault injection only")
    text = stdout(nb)
    images = [o for o in outputs(nb) if o.output_type == "display_data" and "image/png" in o.data]
    assert len(images) == 2  # the will detection and the shadow catch-up plots
    # The will comes within 1.5 x keep-alive of the cut (the broker counts from the last packet).
    for keep_alive, low, high in ((30, 30, 45), (60, 75, 90), (120, 165, 180), (300, 435, 450)):
        row = re.search(rf"^{keep_alive}\s+([\d.]+)\s+([\d.]+)$", text, re.M)
        assert row and low <= float(row.group(1)) <= float(row.group(2)) <= high, (keep_alive, text)
    # A persistent session misses nothing; a clean one misses what was published while away.
    persistent = re.search(r"^True\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", text, re.M)
    clean = re.search(r"^False\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", text, re.M)
    assert persistent and float(persistent.group(3)) == 0.0
    assert clean and float(clean.group(3)) > 30
    assert "every seed: no violations" in text