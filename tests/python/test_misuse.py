"""Misuse raises a Python exception with a useful message; it never crashes the interpreter.

Checks that could crash run in a child interpreter (support.run_python), so that a crash fails one
test instead of the whole session.
"""
import json
import textwrap

import pytest

import iotsim
from support import SCENARIOS, run_python


def world():
    sim = iotsim.Simulation(seed=1)
    sim.add_device("lamp", subscribe=[("home/lamp/cmd", 1)])
    return sim


VALUE_ERRORS = {
    # QoS: AWS IoT Core has no QoS 2.
    "subscribe at qos 2": (lambda: world().add_device("x", subscribe=[("a", 2)]), "no QoS 2"),
    "publish plan at qos 2": (lambda: world().add_device("x", publish=dict(topic="a", interval_s=1, qos=2)),
                              "no QoS 2"),
    "will at qos 2": (lambda: world().add_device("x", will=dict(topic="a", qos=2)), "no QoS 2"),
    # Times are non-negative seconds.
    "partition at a negative time": (lambda: world().partition(["lamp"], at_s=-1), "at_s must be a non-negative"),
    "partition for a negative duration": (lambda: world().partition(["lamp"], at_s=1, duration_s=-1), "duration_s"),
    "crash_broker at NaN": (lambda: world().crash_broker(at_s=float("nan")), "at_s"),
    "device starting at a negative time": (lambda: world().add_device("x", start_at_s=-5), "start_at_s"),
    "run_until a negative time": (lambda: world().run_until(-1), "non-negative"),
    "run_for a negative duration": (lambda: world().run_for(-1), "non-negative"),
    "negative network latency": (lambda: iotsim.Simulation(latency_ms=-1), "must not be negative"),
    "loss probability of 1": (lambda: iotsim.Simulation(loss_probability=1.0), "loss_probability"),
    "session expiry of 0": (lambda: iotsim.Simulation(session_expiry_s=0), "session_expiry_s"),
    # Unknown options are named, with the known ones.
    "unknown link option": (lambda: world().add_device("x", link=dict(latency=3)), "unknown link option 'latency'"),
    "unknown degrade_link option": (lambda: world().degrade_link(["lamp"], at_s=1, drop=0.5),
                                    "unknown link option 'drop'"),
    "link loss of 1": (lambda: world().add_device("x", link=dict(loss_probability=1)), "loss_probability"),
    "unknown publish option": (lambda: world().add_device("x", publish=dict(topic="a", interval_s=1, colour=1)),
                               "unknown publish option 'colour'"),
    "publish plan without topic": (lambda: world().add_device("x", publish=dict(interval_s=1)), "needs a topic"),
    "publish plan every 0 s": (lambda: world().add_device("x", publish=dict(topic="a", interval_s=0)), "positive"),
    "will without topic": (lambda: world().add_device("x", will=dict(payload="bye")), "needs a topic"),
    "unknown protocol": (lambda: world().add_device("x", protocol="3"), "protocol must be"),
    "keep-alive beyond 65535 s": (lambda: world().add_device("x", keep_alive_s=70_000), "keep_alive_s"),
    "unknown swarm fault": (lambda: world().swarm(faults_per_minute=1, kinds=["meteor"], until_s=10), "'meteor'"),
    # Devices: unique names, and faults name existing ones.
    "duplicate device": (lambda: world().add_device("lamp"), "duplicate device name 'lamp'"),
    "device named broker": (lambda: world().add_device("broker"), "duplicate device name 'broker'"),
    "device without a name": (lambda: world().add_device(""), "needs a name"),
    "partition of an unknown device": (lambda: world().partition(["lamp", "ghost"], at_s=1), "unknown device 'ghost'"),
    "heal of an unknown device": (lambda: world().heal(["ghost"], at_s=1), "unknown device 'ghost'"),
    "crash of an unknown device": (lambda: world().crash_device("ghost", at_s=1), "unknown device 'ghost'"),
    "power loss of an unknown device": (lambda: world().crash_device("ghost", at_s=1, power_loss=True), "'ghost'"),
    "degraded link of an unknown device": (lambda: world().degrade_link(["ghost"], at_s=1, latency_ms=5), "'ghost'"),
    "clock skew of an unknown device": (lambda: world().clock_skew("ghost", at_s=1, skew_s=5), "'ghost'"),
    "crash_device of the broker": (lambda: world().crash_device("broker", at_s=1), "cannot target the broker"),
}


@pytest.mark.parametrize("call, message", VALUE_ERRORS.values(), ids=VALUE_ERRORS.keys())
def test_invalid_arguments_raise_value_error_naming_the_problem(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


def test_a_rejected_fault_leaves_the_simulation_unchanged():
    sim, reference = world(), world()
    with pytest.raises(ValueError):
        sim.partition(["lamp", "ghost"], at_s=1)
    sim.run_until(30)
    reference.run_until(30)
    assert sim.trace_hash == reference.trace_hash


@pytest.mark.parametrize("method", ["device", "received"])
def test_asking_about_an_unknown_device_raises_key_error(method):
    with pytest.raises(KeyError, match="no device named 'ghost'"):
        getattr(world(), method)("ghost")


def test_running_backwards_raises_value_error_and_keeps_the_time():
    sim = world()
    sim.run_until(10)
    with pytest.raises(ValueError, match="cannot run backwards"):
        sim.run_until(5)
    assert sim.now_s == 10
    sim.run_until(10)  # staying put is fine
    assert sim.now_s == 10


def test_arguments_are_keyword_only_where_bound_so():
    with pytest.raises(TypeError):
        iotsim.Simulation(1)
    with pytest.raises(TypeError):
        world().partition(["lamp"], 10)
    with pytest.raises(TypeError):
        world().add_device("x", "5")


def test_arguments_of_the_wrong_type_raise_type_error():
    with pytest.raises(TypeError):
        iotsim.Simulation(seed=-1)  # an unsigned 64-bit seed
    with pytest.raises(TypeError):
        world().partition("lamp", at_s=1)  # a list of names, not a name
    with pytest.raises(TypeError):
        world().add_device("x", subscribe=["home/#"])  # (filter, qos) pairs


def write(tmp_path, text):
    path = tmp_path / "scenario.json"
    path.write_text(text)
    return path


def lamp_scenario(**changes):
    scenario = json.loads((SCENARIOS / "lamp_partition.json").read_text())
    scenario.update(changes)
    return json.dumps(scenario)


BAD_SCENARIOS = {
    "missing file": (None, "cannot read"),
    "not JSON": ("{devices: [", "not valid JSON"),
    "unknown field": (lamp_scenario(colour="blue"), "colour: unknown field"),
    "bad duration": (lamp_scenario(duration="soon"), "duration"),
    "bad device": (lamp_scenario(devices=[{"name": "a", "protocol": "9"}]), "devices[0].protocol"),
    "fault on unknown device": (lamp_scenario(faults=[{"type": "partition", "at": "1s", "devices": ["ghost"]}]),
                                "ghost"),
}


@pytest.mark.parametrize("text, message", BAD_SCENARIOS.values(), ids=BAD_SCENARIOS.keys())
def test_a_bad_scenario_file_raises_scenario_error_a_value_error(tmp_path, text, message):
    path = tmp_path / "missing.json" if text is None else write(tmp_path, text)
    with pytest.raises(iotsim.ScenarioError) as info:
        iotsim.load_scenario(path)
    assert isinstance(info.value, ValueError)
    assert message in str(info.value)


def test_scenario_error_is_the_bound_exception_type():
    assert issubclass(iotsim.ScenarioError, ValueError)
    assert iotsim.ScenarioError is iotsim._core.ScenarioError


def test_a_behaviour_publishing_at_qos_2_gets_value_error_out_of_run_until():
    class Greedy:
        def on_connected(self, ctx, session_present):
            ctx.publish("a", "b", qos=2)

    sim = iotsim.Simulation(seed=1)
    sim.add_device("greedy", behaviour=Greedy())
    with pytest.raises(ValueError, match="no QoS 2"):
        sim.run_until(5)


def test_a_child_interpreter_survives_every_misuse_above():
    """The same misuse in a fresh process exits normally: no abort, no segfault."""
    code = textwrap.dedent("""
        import iotsim
        sim = iotsim.Simulation(seed=1)
        sim.add_device("lamp", subscribe=[("a", 1)])
        bad = [lambda: sim.add_device("x", subscribe=[("a", 2)]), lambda: sim.partition(["ghost"], at_s=1),
               lambda: sim.run_until(-1), lambda: sim.device("ghost"), lambda: iotsim.load_scenario("/nonexistent"),
               lambda: sim.degrade_link(["lamp"], at_s=0, bogus=1)]
        for call in bad:
            try:
                call()
            except (ValueError, KeyError):
                pass
        sim.run_until(10)
        print("alive", sim.device("lamp")["connected"])
    """)
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "alive True"


# Regression tests for gaps found in python/src/bind_sim.cpp (now fixed).


def test_a_context_kept_after_its_hook_returns_raises_instead_of_crashing():
    code = textwrap.dedent("""
        import iotsim
        kept = []
        class Hoarder:
            def on_start(self, ctx):
                kept.append(ctx)
        sim = iotsim.Simulation(seed=1)
        sim.add_device("hoarder", behaviour=Hoarder())
        sim.run_until(5)
        try:
            kept[0].now_s
        except UnicodeError:
            print("garbage")
        except Exception as e:
            print("raised", type(e).__name__)
        else:
            print("no error")
    """)
    p = run_python(code)
    assert p.returncode == 0, f"interpreter died with {p.returncode}: {p.stderr[-500:]}"
    assert p.stdout.startswith("raised"), p.stdout


def test_a_time_beyond_the_simulated_range_raises_value_error():
    with pytest.raises(ValueError):
        world().partition(["lamp"], at_s=1e300)


def test_a_negative_link_latency_raises_value_error():
    with pytest.raises(ValueError):
        world().add_device("x", link=dict(latency_ms=-50))
