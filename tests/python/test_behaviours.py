"""Devices scripted in Python: a behaviour object's hooks see only virtual time and a seeded random
stream, can use MQTT through the context, and their exceptions come out of run_until."""
import time

import pytest

import iotsim
from support import WALL_EPOCH_MS, records


class Recorder:
    """Logs every hook call with the context's virtual clocks."""

    def __init__(self, *, sleep_s=0.0, draws=0):
        self.calls = []
        self.draws = []
        self.sleep_s = sleep_s
        self.n_draws = draws

    def on_start(self, ctx):
        self.calls.append(("start", ctx.now_s, ctx.name, ctx.connected))

    def on_connected(self, ctx, session_present):
        self.calls.append(("connected", ctx.now_s, session_present, ctx.connected))

    def on_message(self, ctx, topic, payload):
        self.calls.append(("message", ctx.now_s, topic, payload))

    def on_tick(self, ctx):
        if self.sleep_s:
            time.sleep(self.sleep_s)  # wall time passes; virtual time must not
        self.calls.append(("tick", ctx.now_s, ctx.wall_ms))
        self.draws += [ctx.random() for _ in range(self.n_draws)]


def ticks(rec):
    return [c for c in rec.calls if c[0] == "tick"]


def test_ctx_now_s_follows_virtual_time_not_wall_time():
    rec = Recorder(sleep_s=0.02)
    sim = iotsim.Simulation(seed=1)
    sim.add_device("sleepy", behaviour=rec, tick_s=10)
    sim.run_until(55)
    assert [t[1] for t in ticks(rec)] == [10.0, 20.0, 30.0, 40.0, 50.0]  # 20 ms of sleep per tick: invisible
    assert [t[2] for t in ticks(rec)] == [WALL_EPOCH_MS + 1000 * s for s in (10, 20, 30, 40, 50)]


def test_a_virtual_day_of_ticks_takes_far_less_than_a_day():
    rec = Recorder()
    sim = iotsim.Simulation(seed=1)
    sim.add_device("clock", behaviour=rec, tick_s=60)
    started = time.monotonic()
    sim.run_until(86_400)
    assert time.monotonic() - started < 10
    assert len(ticks(rec)) == 1440 and ticks(rec)[-1][1] == 86_400.0


def test_hooks_are_called_in_order_with_virtual_times():
    rec = Recorder()
    sim = iotsim.Simulation(seed=1, latency_ms=10)
    sim.add_device("scripted", behaviour=rec, subscribe=[("news", 0)], start_at_s=5, tick_s=30)
    sim.add_device("paper", publish=dict(topic="news", interval_s=20, payload="extra {seq}", count=2))
    sim.run_until(60)
    kinds = [c[0] for c in rec.calls]
    assert kinds[:2] == ["start", "connected"]
    assert rec.calls[0] == ("start", 5.0, "scripted", False)
    name, at, session_present, connected = rec.calls[1]
    assert 5 < at < 5.1 and session_present is False and connected is True
    messages = [c for c in rec.calls if c[0] == "message"]
    assert [(m[2], m[3]) for m in messages] == [("news", b"extra 1"), ("news", b"extra 2")]
    assert [c[1] for c in ticks(rec)] == [35.0]
    assert [c[1] for c in rec.calls] == sorted(c[1] for c in rec.calls)


def draws(seed, device, n=5):
    rec = Recorder(draws=n)
    sim = iotsim.Simulation(seed=seed)
    sim.add_device(device, behaviour=rec, tick_s=1)
    sim.run_until(1)
    return rec.draws


def test_ctx_random_is_reproducible_per_seed_and_differs_across_devices_and_seeds():
    a = draws(42, "die-a")
    assert len(a) == 5 and len(set(a)) == 5 and all(0 <= x < 1 for x in a)
    assert draws(42, "die-a") == a
    assert draws(42, "die-b") != a
    assert draws(43, "die-a") != a


def test_devices_in_one_world_have_independent_random_streams():
    recs = {name: Recorder(draws=3) for name in ("die-a", "die-b")}
    sim = iotsim.Simulation(seed=42)
    for name, rec in recs.items():
        sim.add_device(name, behaviour=rec, tick_s=1)
    sim.run_until(1)
    assert recs["die-a"].draws == draws(42, "die-a", 3)  # another device's draws do not shift this stream
    assert recs["die-a"].draws != recs["die-b"].draws


class Thermostat:
    """Subscribes on connect, publishes a reading on each tick, stops listening after 3 messages."""

    def __init__(self):
        self.heard = []

    def on_connected(self, ctx, session_present):
        ctx.subscribe("home/+/temperature", qos=1)

    def on_tick(self, ctx):
        ctx.publish(f"home/{ctx.name}/temperature", f"{20 + 5 * ctx.random():.2f}", qos=1, retain=True)

    def on_message(self, ctx, topic, payload):
        self.heard.append(topic)
        if len(self.heard) == 3:
            ctx.unsubscribe("home/+/temperature")


def thermostat_world(seed):
    t = Thermostat()
    sim = iotsim.Simulation(seed=seed)
    sim.add_device("kitchen", behaviour=t, tick_s=10)
    sim.add_device("display", subscribe=[("home/#", 1)])
    sim.run_until(65)
    return sim, t


def test_a_behaviour_publishes_subscribes_and_unsubscribes_through_its_context():
    sim, t = thermostat_world(1)
    assert sim.device("kitchen")["published"] == 6 and sim.device("kitchen")["acked"] == 6
    readings = [p for topic, p in sim.received("display") if topic == "home/kitchen/temperature"]
    assert len(readings) == 6 and all(20 <= float(p) < 25 for p in readings)
    assert t.heard == ["home/kitchen/temperature"] * 3  # then it unsubscribed
    assert sim.session("kitchen")["subscriptions"] == []
    assert sim.retained_topics() == ["home/kitchen/temperature"]


def test_a_python_behaviour_is_as_deterministic_as_a_builtin_one():
    (a, _), (b, _), (c, _) = thermostat_world(1), thermostat_world(1), thermostat_world(2)
    assert a.trace_hash == b.trace_hash
    assert a.received("display") == b.received("display")
    assert a.received("display") != c.received("display")  # the readings come from ctx.random()


def test_a_rebooted_device_starts_its_behaviour_again_and_ticks_stop_while_it_is_off():
    rec = Recorder()
    sim = iotsim.Simulation(seed=1)
    sim.add_device("flaky", behaviour=rec, tick_s=10)
    sim.crash_device("flaky", at_s=25, reboot_after_s=20)
    sim.run_until(70)
    assert [c[1] for c in rec.calls if c[0] == "start"] == [0.0, 45.0]
    assert [c[1] for c in ticks(rec)] == [10.0, 20.0, 55.0, 65.0]


class Boom(Exception):
    """An exception type only this test raises."""


class Raiser:
    def __init__(self, hook):
        self.hook = hook

    def _maybe(self, name, ctx):
        if name == self.hook:
            raise Boom(f"{name} at {ctx.now_s}")

    def on_start(self, ctx):
        self._maybe("on_start", ctx)

    def on_connected(self, ctx, session_present):
        self._maybe("on_connected", ctx)

    def on_message(self, ctx, topic, payload):
        self._maybe("on_message", ctx)

    def on_tick(self, ctx):
        self._maybe("on_tick", ctx)


@pytest.mark.parametrize("hook", ["on_start", "on_connected", "on_message", "on_tick"])
def test_an_exception_raised_in_a_behaviour_propagates_out_of_run_until_as_itself(hook):
    sim = iotsim.Simulation(seed=1)
    sim.add_device("faulty", behaviour=Raiser(hook), subscribe=[("ping", 0)], tick_s=5, start_at_s=1)
    sim.add_device("pinger", publish=dict(topic="ping", interval_s=3))
    with pytest.raises(Boom, match=f"^{hook} at ") as info:
        sim.run_until(30)
    raised_at = float(str(info.value).split(" at ")[1])
    assert 1 <= raised_at < 30
    assert sim.now_s == raised_at  # stopped at the failing event, not at 30
    assert sim.device("pinger")["name"] == "pinger"  # the simulation can still be inspected


def test_hooks_a_behaviour_does_not_define_are_skipped():
    class OnlyTicks:
        def __init__(self):
            self.n = 0

        def on_tick(self, ctx):
            self.n += 1

    b = OnlyTicks()
    sim = iotsim.Simulation(seed=1)
    sim.add_device("minimal", behaviour=b, tick_s=1, subscribe=[("x", 0)])
    sim.add_device("noisy", publish=dict(topic="x", interval_s=1))
    sim.run_until(10)
    assert b.n == 10
    assert sim.device("minimal")["received"] >= 9
    assert records(sim, "device_connected", "minimal")
