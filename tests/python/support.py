"""Helpers shared by the Python binding tests (imported as `support`; pytest puts this directory
on sys.path because it has no __init__.py)."""
import os
import pathlib
import subprocess
import sys

import iotsim

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "sim" / "scenarios"
#: Virtual wall-clock time at virtual time zero (SimulationOptions::wall_epoch_unix_ms).
WALL_EPOCH_MS = 1_767_225_600_000
#: The directory `import iotsim` found the package in (build/<preset>/python).
IOTSIM_PYTHONPATH = str(pathlib.Path(iotsim.__file__).resolve().parents[1])


def lamp_world(seed=1, *, clean_session=False, keep_alive_s=30, **options):
    """The tutorial's lamp (a QoS 1 subscription, a persistent session unless clean_session) and an
    app commanding it at QoS 1 every 5 s. Payloads are "<seq> <publisher wall ms>"."""
    sim = iotsim.Simulation(seed=seed, **options)
    sim.add_device("lamp", subscribe=[("home/lamp/cmd/#", 1)], clean_session=clean_session,
                   keep_alive_s=keep_alive_s)
    sim.add_device("app", publish=dict(topic="home/lamp/cmd/q1", interval_s=5, qos=1, payload="{seq} {time_ms}"))
    return sim


def records(sim, kind, node=None):
    """Trace records of one kind (and node)."""
    return [r for r in sim.trace_records() if r["kind"] == kind and (node is None or r["node"] == node)]


def received_at(sim, device):
    """(t_s, topic, payload) of each message `device` received, from the trace."""
    out = []
    for r in records(sim, "message_received", device):
        topic, _, payload = r["detail"].partition(" ")
        out.append((r["t_s"], topic, payload))
    return out


def sent_at_s(payload):
    """Virtual publish time (s) of a "<seq> <wall ms>" payload, from the publisher's wall clock."""
    return (int(payload.split()[1]) - WALL_EPOCH_MS) / 1000


def seqs(sim, device, topic_suffix=""):
    """Sequence numbers of "<seq> ..." payloads `device` received, in order of arrival."""
    return [int(p.decode().split()[0]) for t, p in sim.received(device) if t.endswith(topic_suffix)]


def run_python(code, timeout=60):
    """Runs `code` in a fresh interpreter (this one) importing the same iotsim (and support) as this process.

    For checks that could crash the interpreter: a crash then fails one test, not the session.
    """
    env = dict(os.environ)
    here = str(pathlib.Path(__file__).resolve().parent)  # so that the child can import support
    env["PYTHONPATH"] = os.pathsep.join(p for p in (IOTSIM_PYTHONPATH, here, env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env)


def publish_times(sim, device):
    """Virtual times at which `device` wrote each PUBLISH packet to its connection (from the trace's
    decoded packet summaries); for a publisher without retransmissions, entry n - 1 is seq n."""
    out = []
    for r in records(sim, "bytes_to_broker", device):
        out += [r["t_s"]] * sum(p.startswith("PUBLISH") for p in r["detail"].split("; "))
    return out
