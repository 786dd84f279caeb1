"""iotsim: AWS IoT Core, offline, free and reproducible.

The deterministic simulator (the real broker, virtual devices, a virtual network, faults) from
Python. Same arguments and seed, same ``trace_hash``::

    import iotsim
    sim = iotsim.Simulation(seed=1)
    sim.add_device("lamp", subscribe=[("home/lamp/cmd", 1)], clean_session=False)
    sim.add_device("app", publish=dict(topic="home/lamp/cmd", interval_s=5, qos=1))
    sim.partition(["lamp"], at_s=60, duration_s=90)
    sim.run_until(300)
    sim.trace_hash

Device Shadows in the simulator (``shadow=`` devices apply deltas and report back) and against a
running server (:class:`DataClient`)::

    sim.add_device("bulb", shadow=dict(reported={"on": False}))
    sim.run_until(5)
    sim.update_shadow("bulb", {"state": {"desired": {"on": True}}})
    sim.run_for(1)
    sim.get_shadow("bulb")["state"]["reported"]   # {'on': True}

Topic rules with boto3's shapes, and what their actions wrote (:mod:`iotsim.rules`)::

    sim.create_topic_rule("hot", sql="SELECT * FROM 'sensors/+' WHERE temp > 30",
                          actions=[{"sqs": {"queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/alerts",
                                            "roleArn": "arn:aws:iam::123456789012:role/r"}}])
    sim.run_for(60)
    sim.action_outputs().sqs["alerts"]             # [{'body': '{"temp":31}'}, ...]
"""
from ._core import DeviceContext, ScenarioError, Simulation
from .rules import RuleError, SimulationRules
from .server import LocalServer
from .shadow import DataClient, ShadowError, SimulationShadows

__all__ = ["Simulation", "DeviceContext", "ScenarioError", "ShadowError", "DataClient", "RuleError", "Outputs",
           "read_outputs", "LocalServer", "trace_frame", "load_scenario"]
__version__ = "0.1.0"


def trace_frame(sim):
    """The trace as a pandas DataFrame (columns t_s, kind, node, connection, detail)."""
    import pandas as pd  # optional dependency: only this helper needs it

    return pd.DataFrame(sim.trace_records(), columns=["t_s", "kind", "node", "connection", "detail"])


def load_scenario(path, *, seed=None, keep_trace=True):
    """Builds a scenario file's simulation; returns (simulation, duration_s)."""
    return Simulation.from_scenario(str(path), seed=seed, keep_trace=keep_trace)


def _repr_html_(sim):  # pragma: no cover - notebook display
    stats = sim.device_stats()
    rows = "".join(
        f"<tr><td>{d['name']}</td><td>{d['connected']}</td><td>{d['published']}</td><td>{d['received']}</td></tr>"
        for d in stats[:20])
    return (f"<b>iotsim.Simulation</b> seed={sim.seed} now={sim.now_s:.3f}s trace_hash=<code>{sim.trace_hash}</code>"
            f"<table><tr><th>device</th><th>connected</th><th>published</th><th>received</th></tr>{rows}</table>")


def _world(self):
    """What is inside the simulated AWS IoT Core now (clients and their subscriptions, retained
    topics, shadows, topic rules), in the shape of a running server's ``GET /iotsim/world``;
    None while the broker is down (crashed)."""
    import json

    return json.loads(self._world())


Simulation._repr_html_ = _repr_html_
Simulation.world = _world
for _name in ("get_shadow", "update_shadow", "delete_shadow", "list_named_shadows"):
    setattr(Simulation, _name, getattr(SimulationShadows, _name))
for _name in ("create_topic_rule", "replace_topic_rule", "get_topic_rule", "list_topic_rules", "enable_topic_rule",
              "disable_topic_rule", "delete_topic_rule", "add_lambda", "action_outputs"):
    setattr(Simulation, _name, getattr(SimulationRules, _name))
del _name


def __getattr__(name):
    # Outputs and read_outputs load on first use: `python -m iotsim.outputs` (`iotsim outputs`)
    # then runs that module once, not after the package imported it.
    if name in ("Outputs", "read_outputs"):
        from . import outputs

        return getattr(outputs, name)
    raise AttributeError(f"module 'iotsim' has no attribute {name!r}")
