"""Faults from Python: each one has the effect it promises, visible in the stats, the broker's view
and the trace."""
import iotsim
from support import WALL_EPOCH_MS, lamp_world, publish_times, received_at, records, sent_at_s, seqs


def broker_disconnect_times(sim, client_id):
    return [r["t_s"] for r in records(sim, "broker_event") if r["detail"].startswith(f"disconnected {client_id} ")]


def test_crash_device_resets_the_connection_and_the_device_reboots_into_its_persistent_session():
    sim = lamp_world(1)
    sim.crash_device("lamp", at_s=30, reboot_after_s=10)
    sim.run_until(31)
    lamp = sim.device("lamp")
    assert lamp["crashes"] == 1 and not lamp["connected"]
    assert sim.session("lamp")["connected"] is False  # the OS reset reached the broker at once
    assert broker_disconnect_times(sim, "lamp") == [30.01]
    sim.run_until(120)
    assert [r["detail"] for r in records(sim, "device_start", "lamp")] == ["boot 1", "boot 2"]
    assert [r["detail"] for r in records(sim, "device_connected", "lamp")] == ["new session", "session present"]
    assert sim.device("lamp")["connected"] and sim.device("lamp")["connects"] == 2
    assert seqs(sim, "lamp") == list(range(1, 25))  # commands sent while it was down came afterwards


def test_crash_device_without_reboot_leaves_the_device_off():
    sim = lamp_world(1)
    sim.crash_device("app", at_s=30)
    sim.run_until(120)
    app = sim.device("app")
    assert not app["connected"] and app["connects"] == 1
    assert app["published"] == 6  # nothing after the crash
    assert sim.session("app") is None  # a clean session ends with its connection


def test_power_loss_leaves_a_half_open_connection_until_the_broker_keep_alive_expires():
    sim = lamp_world(1, keep_alive_s=30)
    sim.crash_device("lamp", at_s=30, power_loss=True)
    sim.run_until(40)
    assert sim.device("lamp")["crashes"] == 1
    assert sim.session("lamp")["connected"] is True  # no reset reached the broker: it cannot tell yet
    sim.run_until(120)
    (gone,) = broker_disconnect_times(sim, "lamp")
    assert 30 + 30 <= gone <= 30 + 45  # 1.5 x keep-alive after the lamp's last packet
    assert "MQTT_KEEP_ALIVE_TIMEOUT" in records(sim, "broker_event")[-1]["detail"]
    assert sim.session("lamp")["connected"] is False and sim.session("lamp")["queued"] > 0


def test_an_unexpected_disconnect_publishes_the_devices_will():
    sim = iotsim.Simulation(seed=3)
    sim.add_device("lamp", keep_alive_s=30, will=dict(topic="home/lamp/status", payload="offline", qos=1))
    sim.add_device("app", subscribe=[("home/lamp/status", 1)])
    sim.crash_device("lamp", at_s=10, power_loss=True)
    sim.run_until(40)
    assert sim.received("app") == []
    sim.run_until(80)
    assert sim.received("app") == [("home/lamp/status", b"offline")]


def test_crash_broker_stops_the_broker_and_a_restarted_broker_keeps_persistent_sessions():
    sim = lamp_world(1)
    sim.crash_broker(at_s=30, restart_after_s=5)
    sim.run_until(32)
    assert sim.broker_stats() == {"running": False}
    assert sim.session("lamp") is None and sim.retained_topics() == []
    assert not sim.device("lamp")["connected"] and not sim.device("app")["connected"]
    sim.run_until(120)
    assert sim.broker_stats()["running"] is True
    assert [r["detail"] for r in records(sim, "fault")] == ["broker_crash", "broker_restart"]
    assert [r["detail"] for r in records(sim, "device_connected", "lamp")] == ["new session", "session present"]
    assert sim.device("app")["connects"] == 2
    assert set(seqs(sim, "lamp")) == set(range(1, sim.device("app")["acked"] + 1))


def test_crash_broker_with_no_restart_keeps_it_down():
    sim = lamp_world(1)
    sim.crash_broker(at_s=30, restart_after_s=0)
    sim.run_until(300)
    assert sim.broker_stats() == {"running": False}
    assert len(records(sim, "connect_failed")) > 4  # both devices keep retrying


def latencies(sim):
    """(send time, one-way delay) of each command the lamp received."""
    sent = publish_times(sim, "app")
    return [(sent[int(p.split()[0]) - 1], t - sent[int(p.split()[0]) - 1]) for t, _, p in received_at(sim, "lamp")]


def test_degrade_link_slows_a_devices_link_for_its_duration():
    sim = lamp_world(1)  # 10 ms each way by default
    sim.degrade_link(["app"], at_s=30, duration_s=30, latency_ms=500)
    sim.run_until(120)
    delays = latencies(sim)
    slow = [d for t, d in delays if 31 < t < 59]
    fast = [d for t, d in delays if t < 29 or t > 61]
    assert slow and fast
    assert all(d >= 0.5 for d in slow)
    assert all(d < 0.1 for d in fast)
    assert [r["detail"] for r in records(sim, "fault")] == ["link app", "link app"]  # applied, then restored


def test_degrade_link_with_loss_costs_retransmissions_but_qos1_still_arrives():
    clean, lossy = lamp_world(1), lamp_world(1)
    lossy.degrade_link(["lamp"], at_s=0, loss_probability=0.3)
    for sim in (clean, lossy):
        sim.run_until(300)
    assert lossy.trace_hash != clean.trace_hash

    def slowest_delivery_s(sim):
        # From the publisher's timestamp in the payload to the first arrival of each command.
        first = {}
        for t, _, payload in received_at(sim, "lamp"):
            first.setdefault(payload, t - sent_at_s(payload))
        return max(first.values())

    # A lost segment waits for a retransmission timeout (200 ms, doubling); without loss a
    # delivery takes the link's latency only.
    assert slowest_delivery_s(clean) < 0.2
    assert slowest_delivery_s(lossy) >= 0.2
    assert set(seqs(lossy, "lamp")) >= set(range(1, 55))


def test_clock_skew_shifts_a_devices_wall_clock_but_not_virtual_time():
    class Clock:
        def __init__(self):
            self.readings = []

        def on_tick(self, ctx):
            self.readings.append((ctx.now_s, ctx.wall_ms))

    c = Clock()
    sim = iotsim.Simulation(seed=1)
    sim.add_device("rtc", behaviour=c, tick_s=10)
    sim.add_device("ntp", behaviour=Clock(), tick_s=10)
    sim.clock_skew("rtc", at_s=25, skew_s=3600)
    sim.clock_skew("broker", at_s=25, skew_s=-60)  # the broker's clock can be skewed too
    sim.run_until(50)
    assert [now for now, _ in c.readings] == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert [wall - WALL_EPOCH_MS - 1000 * now for now, wall in c.readings] == [0, 0, 3_600_000, 3_600_000, 3_600_000]
    assert [r["detail"] for r in records(sim, "fault")] == ["clock_skew rtc", "clock_skew broker"]


def test_clock_skew_shows_in_the_payload_time_a_device_stamps():
    sim = lamp_world(1)
    sim.clock_skew("app", at_s=30, skew_s=-600)
    sim.run_until(60)
    sent = publish_times(sim, "app")
    offsets_s = {round((int(stamp) - WALL_EPOCH_MS) / 1000 - sent[int(seq) - 1])
                 for _, _, p in received_at(sim, "lamp") for seq, stamp in [p.split()]}
    assert offsets_s == {0, -600}  # the app's clock runs 10 minutes behind from 30 s on


def swarmed(seed, **kw):
    sim = lamp_world(seed)
    sim.swarm(faults_per_minute=6, until_s=300, **kw)
    sim.run_until(400)
    return sim


def test_swarm_draws_random_faults_from_the_seed():
    a, b, c = swarmed(1), swarmed(1), swarmed(2)
    fa = [(r["t_s"], r["detail"]) for r in records(a, "fault")]
    assert len(fa) > 10
    assert all(t <= 300 or d.startswith(("heal", "link")) for t, d in fa)  # new faults only until until_s
    assert {d.split()[0] for _, d in fa} <= {"partition", "heal", "device_crash", "link"}
    assert a.trace_hash == b.trace_hash and fa == [(r["t_s"], r["detail"]) for r in records(b, "fault")]
    assert c.trace_hash != a.trace_hash
    assert sum(d["crashes"] for d in a.device_stats()) > 0


def test_swarm_uses_only_the_fault_kinds_asked_for():
    sim = swarmed(1, kinds=["broker_crash"], duration_max_s=5)
    kinds = {r["detail"] for r in records(sim, "fault")}
    assert kinds == {"broker_crash", "broker_restart"}
    assert sim.broker_stats()["running"] is True


def test_swarm_power_loss_and_partitions_keep_qos1_order_for_a_persistent_session():
    sim = swarmed(5, kinds=["partition", "power_loss"])
    assert {r["detail"].split()[0] for r in records(sim, "fault")} >= {"partition", "power_loss"}
    assert sim.violations() == []  # per-publisher order held through the faults
