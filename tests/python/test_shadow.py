"""Device Shadows from Python in the simulator: shadow-synced devices and the data-plane calls."""
import pytest

import iotsim


def lamp_sim(seed=1, **kw):
    sim = iotsim.Simulation(seed=seed, **kw)
    sim.add_device("lamp", protocol="5", keep_alive_s=30, shadow=dict(reported={"power": "off"}))
    return sim


def test_a_shadow_synced_device_reports_its_power_on_state():
    sim = lamp_sim()
    sim.run_until(5)
    doc = sim.get_shadow("lamp")
    assert doc["state"]["reported"] == {"power": "off"}
    assert doc["version"] == 1
    # Virtual wall time: the simulation's epoch (2026-01-01T00:00:00Z) plus the first seconds.
    assert 1767225600 <= doc["metadata"]["reported"]["power"]["timestamp"] <= 1767225605


def test_update_shadow_drives_the_device_and_returns_the_accepted_document():
    sim = lamp_sim()
    sim.run_until(5)
    accepted = sim.update_shadow("lamp", {"state": {"desired": {"power": "on"}}, "clientToken": "c1"})
    assert accepted["version"] == 2
    assert accepted["clientToken"] == "c1"
    sim.run_for(1)
    doc = sim.get_shadow("lamp")
    assert doc["state"]["reported"] == {"power": "on"}
    assert "delta" not in doc["state"]


def test_errors_raise_shadow_error_with_aws_code_and_message():
    sim = iotsim.Simulation(seed=1)
    with pytest.raises(iotsim.ShadowError) as e:
        sim.get_shadow("ghost")
    assert e.value.status == 404
    assert e.value.message == "No shadow exists with name: 'ghost'"
    with pytest.raises(iotsim.ShadowError) as e:
        sim.update_shadow("t", "not json")
    assert e.value.status == 400
    with pytest.raises(iotsim.ShadowError) as e:
        sim.update_shadow("t", {"state": {"desired": {"x": 1}}, "version": 5})
    assert e.value.status == 409
    with pytest.raises(iotsim.ShadowError) as e:
        sim.update_shadow("t", {"state": {"desired": {"x": "y" * 9000}}})
    assert e.value.status == 413


def test_named_shadows_are_listed_and_deleted():
    sim = iotsim.Simulation(seed=1)
    for name in ("b", "a", "c"):
        sim.update_shadow("thing", {"state": {"reported": {"n": name}}}, name=name)
    sim.update_shadow("thing", {"state": {"reported": {"classic": True}}})
    assert sim.list_named_shadows("thing") == ["a", "b", "c"]
    assert sim.delete_shadow("thing", name="b")["version"] == 1
    assert sim.list_named_shadows("thing") == ["a", "c"]


def test_the_convergence_check_passes_after_a_partition_and_fails_without_a_synced_device():
    sim = lamp_sim(seed=3, loss_probability=0.01)
    sim.add_device("dumb")
    sim.partition(["lamp"], at_s=10, duration_s=60)
    sim.run_until(20)
    sim.update_shadow("lamp", {"state": {"desired": {"power": "on"}}})
    sim.update_shadow("dumb", {"state": {"desired": {"power": "on"}}})
    sim.check_shadow_converged("lamp")
    sim.run_until(200)
    assert sim.get_shadow("lamp")["state"]["reported"]["power"] == "on"
    assert sim.violations() == []
    sim.check_shadow_converged("dumb")
    violations = sim.violations()
    assert len(violations) == 1 and "shadow dumb has not converged" in violations[0]


def test_shadow_runs_are_reproducible():
    def run():
        sim = lamp_sim(seed=9, loss_probability=0.05, split_probability=0.3)
        sim.crash_device("lamp", at_s=8, reboot_after_s=3)
        sim.run_until(4)
        sim.update_shadow("lamp", {"state": {"desired": {"power": "on"}}})
        sim.run_until(60)
        return sim.trace_hash, sim.get_shadow("lamp")["version"]
    assert run() == run()


def test_bad_shadow_device_options_are_value_errors():
    sim = iotsim.Simulation(seed=1)
    with pytest.raises(ValueError, match="unknown key 'colour'"):
        sim.add_device("a", shadow=dict(colour=1))
    with pytest.raises(ValueError, match="invalid thing name"):
        sim.add_device("b", shadow=dict(thing="no spaces"))
    with pytest.raises(ValueError, match="JSON object"):
        sim.add_device("c", shadow=dict(reported=[1]))
    with pytest.raises(ValueError, match="not both"):
        sim.add_device("d", shadow=dict(), behaviour=object())
