"""iotsim.Simulation from Python: determinism, QoS under a partition, the inspection methods, the
trace and scenarios."""
import json
import os
import re
import subprocess

import pytest

import iotsim
from support import (SCENARIOS, lamp_world, publish_times, received_at, records, run_python, sent_at_s, seqs)

HEX16 = re.compile(r"^[0-9a-f]{16}$")


def partitioned_lamp(seed, **options):
    sim = lamp_world(seed, **options)
    sim.partition(["lamp"], at_s=60, duration_s=90)
    sim.run_until(300)
    return sim


# ---------------------------------------------------------------------------------- determinism


def test_the_same_seed_gives_the_same_trace_hash_and_records_in_two_simulation_objects():
    a, b = partitioned_lamp(7), partitioned_lamp(7)
    assert HEX16.match(a.trace_hash)
    assert a.trace_hash == b.trace_hash
    assert a.trace_records() == b.trace_records()
    assert a.events_processed == b.events_processed > 0


def test_another_seed_gives_another_trace_hash():
    assert partitioned_lamp(7).trace_hash != partitioned_lamp(8).trace_hash


def test_the_seed_is_reported_back():
    assert partitioned_lamp(123456789).seed == 123456789
    assert iotsim.Simulation().seed == 1


def test_the_same_seed_gives_the_same_hash_in_another_interpreter_process():
    code = ("import support\n"
            "sim = support.lamp_world(7)\n"
            "sim.partition(['lamp'], at_s=60, duration_s=90)\n"
            "sim.run_until(300)\n"
            "print(sim.trace_hash)\n")
    p = run_python(code)  # another PYTHONHASHSEED, other addresses: neither may matter
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == partitioned_lamp(7).trace_hash


def test_running_in_steps_or_without_records_keeps_the_hash():
    whole = partitioned_lamp(7)
    stepped = lamp_world(7)
    stepped.partition(["lamp"], at_s=60, duration_s=90)
    for t in range(0, 301, 7):
        stepped.run_until(t)
    stepped.run_for(300 - stepped.now_s)
    quiet = partitioned_lamp(7, keep_trace=False)
    assert stepped.now_s == 300
    assert stepped.trace_hash == whole.trace_hash
    assert quiet.trace_hash == whole.trace_hash
    assert quiet.trace_records() == []


def test_a_fault_changes_the_trace_hash():
    plain = lamp_world(7)
    plain.run_until(300)
    assert plain.trace_hash != partitioned_lamp(7).trace_hash


# ---------------------------------------------------------------------------- QoS and sessions


def qos_world(*, clean_session):
    """The lamp subscribed at QoS 1 to commands sent by two apps, one at QoS 0 and one at QoS 1; the
    lamp is cut off from 60 s to 150 s (longer than its keep-alive, so both ends drop the connection)."""
    sim = iotsim.Simulation(seed=3)
    sim.add_device("lamp", subscribe=[("home/lamp/cmd/#", 1)], clean_session=clean_session, keep_alive_s=30)
    for q in (0, 1):
        sim.add_device(f"app-q{q}", publish=dict(topic=f"home/lamp/cmd/q{q}", interval_s=5, qos=q,
                                                  payload="{seq} {time_ms}"))
    sim.partition(["lamp"], at_s=60, duration_s=90)
    return sim


def reconnected_at(sim, device):
    """Virtual time the device's MQTT session was up again after the first disconnect."""
    return [r["t_s"] for r in records(sim, "device_connected", device)][1]


def test_qos1_commands_reach_a_persistent_session_lamp_after_the_partition_heals_in_order():
    sim = qos_world(clean_session=False)
    sim.run_until(140)
    during = sim.session("lamp")
    assert during["persistent"] and not during["connected"]
    assert during["queued"] > 0  # the broker holds QoS 1 commands for the offline session
    sim.run_until(300)
    sent = sim.device("app-q1")["published"]
    assert sent == 60
    first_seen = list(dict.fromkeys(seqs(sim, "lamp", "/q1")))  # QoS 1 may repeat a message; order the firsts
    assert first_seen == list(range(1, sent + 1))  # every one, in order
    back = reconnected_at(sim, "lamp")
    assert back > 150
    late = [t for t, topic, p in received_at(sim, "lamp") if topic.endswith("/q1") and 61 < sent_at_s(p) < 150]
    assert late and min(late) >= back  # sent during the partition, delivered after the reconnect
    assert sim.session("lamp")["queued"] == 0
    assert sim.violations() == []


def test_qos0_commands_sent_while_the_lamp_is_cut_off_are_lost():
    sim = qos_world(clean_session=False)
    sim.run_until(300)
    back = reconnected_at(sim, "lamp")
    sent = publish_times(sim, "app-q0")  # sent[n - 1]: when seq n left the app
    assert len(sent) == sim.device("app-q0")["published"] == 60
    got = set(seqs(sim, "lamp", "/q0"))
    lost = {n for n, t in enumerate(sent, 1) if 61 < t < back - 1}
    kept = {n for n, t in enumerate(sent, 1) if t < 59 or t > back + 1}
    assert len(lost) >= 18  # 90 s of partition at one command every 5 s
    assert not (lost & got)
    assert kept <= got  # and nothing else was lost


def test_without_a_persistent_session_qos1_commands_sent_during_the_partition_are_lost_too():
    sim = qos_world(clean_session=True)
    sim.run_until(300)
    assert not sim.session("lamp")["persistent"]
    sent = publish_times(sim, "app-q1")
    missing = set(range(1, 61)) - set(seqs(sim, "lamp", "/q1"))
    assert len(missing) >= 18
    assert all(59 < sent[n - 1] < reconnected_at(sim, "lamp") for n in missing)


# ------------------------------------------------------------------------------- inspection


def test_received_lists_topic_and_payload_bytes_in_arrival_order():
    sim = lamp_world(1)
    sim.run_until(60)
    got = sim.received("lamp")
    assert len(got) == 12
    assert all(isinstance(t, str) and isinstance(p, bytes) for t, p in got)
    assert {t for t, _ in got} == {"home/lamp/cmd/q1"}
    assert seqs(sim, "lamp") == list(range(1, 13))
    assert sim.received("app") == []


def test_device_and_device_stats_count_what_each_device_did():
    sim = lamp_world(1)
    sim.add_device("meter", publish=dict(topic="meter/kwh", interval_s=1, count=4))
    sim.run_until(60)
    stats = sim.device_stats()
    assert [d["name"] for d in stats] == ["lamp", "app", "meter"]
    assert stats[1] == sim.device("app")
    app, lamp, meter = sim.device("app"), sim.device("lamp"), sim.device("meter")
    assert set(app) == {"name", "connected", "connects", "disconnects", "published", "acked", "dropped",
                        "received", "duplicates", "crashes", "tls_failures", "connects_refused", "revocations"}
    assert app["published"] == app["acked"] == 12
    assert lamp["received"] == 12 and lamp["connected"] and lamp["connects"] == 1
    assert meter["published"] == 4  # count stops the plan
    assert sim.messages_delivered == sum(d["received"] for d in stats)


def test_broker_stats_count_what_the_broker_saw():
    sim = lamp_world(1)
    sim.run_until(60)
    b = sim.broker_stats()
    assert b["running"] is True
    assert b["connections"] == 2 and b["connections_accepted"] == 2
    assert b["publishes_received"] == sim.device("app")["published"]
    assert b["messages_delivered"] == sim.device("lamp")["received"]
    assert b["protocol_errors"] == 0


def test_session_shows_the_brokers_view_of_a_client():
    sim = lamp_world(1)
    sim.run_until(10)
    lamp = sim.session("lamp")
    assert lamp == {"client_id": "lamp", "connected": True, "persistent": True,
                    "subscriptions": [("home/lamp/cmd/#", 1)], "queued": 0, "inflight": 0}
    assert sim.session("app")["persistent"] is False
    assert sim.session("nobody") is None


def test_retained_topics_lists_only_topics_published_with_retain():
    sim = iotsim.Simulation(seed=1)
    sim.add_device("thermostat", publish=dict(topic="home/thermostat/state", interval_s=5, retain=True, count=1))
    sim.add_device("meter", publish=dict(topic="home/meter/kwh", interval_s=5, count=1))
    assert sim.retained_topics() == []
    sim.run_until(10)
    assert sim.retained_topics() == ["home/thermostat/state"]


@pytest.mark.parametrize("filter, expected", [
    ("home/thermostat/state", [("home/thermostat/state", b"21.5")]),
    ("home/#", []),  # AWS IoT Core: no retained messages for wildcard filters (unlike MQTT brokers)
])
def test_a_late_subscriber_gets_the_retained_message_only_for_the_exact_topic(filter, expected):
    sim = iotsim.Simulation(seed=1)
    sim.add_device("thermostat", publish=dict(topic="home/thermostat/state", interval_s=5, retain=True,
                                              payload="21.5", count=1))
    sim.add_device("phone", subscribe=[(filter, 0)], start_at_s=30)
    sim.run_until(40)
    assert sim.retained_topics() == ["home/thermostat/state"]
    assert sim.received("phone") == expected


def test_violations_is_empty_when_the_checks_hold_and_names_the_lost_messages_otherwise(tmp_path):
    scenario = json.loads((SCENARIOS / "lamp_partition.json").read_text())
    ok, duration = iotsim.load_scenario(SCENARIOS / "lamp_partition.json")
    ok.run_until(duration)
    assert ok.violations() == []
    scenario["devices"][0]["clean_session"] = True  # no persistent session: the partition loses commands
    del scenario["devices"][0]["session_expiry_s"]
    broken_path = tmp_path / "clean_lamp.json"
    broken_path.write_text(json.dumps(scenario))
    broken, duration = iotsim.load_scenario(broken_path)
    broken.run_until(duration)
    v = broken.violations()
    assert len(v) == 1 and "qos1 at-least-once: lamp never received" in v[0]
    assert records(broken, "check_failed")


def test_add_fleet_adds_numbered_devices_that_publish():
    sim = iotsim.Simulation(seed=1)
    sim.add_device("dashboard", subscribe=[("fleet/+/telemetry", 0)])
    sim.add_fleet("sensor", 3, publish=dict(topic="fleet/{device}/telemetry", interval_s=10))
    sim.run_until(60)
    assert [d["name"] for d in sim.device_stats()] == ["dashboard", "sensor-000001", "sensor-000002",
                                                       "sensor-000003"]
    assert {t for t, _ in sim.received("dashboard")} == {f"fleet/sensor-00000{i}/telemetry" for i in (1, 2, 3)}


def test_start_at_s_delays_a_device_and_run_for_advances_virtual_time():
    sim = iotsim.Simulation(seed=1)
    sim.add_device("late", start_at_s=20)
    sim.run_for(10)
    assert sim.now_s == 10
    assert sim.device("late")["connects"] == 0
    sim.run_for(15)
    assert sim.now_s == 25
    assert sim.device("late")["connected"]
    assert records(sim, "device_start", "late")[0]["t_s"] == 20


def test_repr_names_seed_devices_time_and_hash_and_html_repr_is_a_table():
    sim = lamp_world(5)
    sim.run_until(10)
    text = repr(sim)
    assert "seed=5" in text and "devices=2" in text and sim.trace_hash in text
    html = sim._repr_html_()
    assert "<table>" in html and "lamp" in html and sim.trace_hash in html


# ------------------------------------------------------------------------------------ trace


def test_trace_records_are_dicts_in_time_order_naming_nodes():
    sim = partitioned_lamp(7)
    recs = sim.trace_records()
    assert recs and all(set(r) == {"t_s", "kind", "node", "connection", "detail"} for r in recs)
    times = [r["t_s"] for r in recs]
    assert times == sorted(times) and times[-1] <= 300
    assert {r["node"] for r in recs} == {"broker", "lamp", "app"}
    kinds = {r["kind"] for r in recs}
    assert {"device_start", "connection_open", "bytes_to_broker", "bytes_to_device", "broker_event",
            "device_connected", "device_disconnected", "message_received", "publish_completed", "fault"} <= kinds
    faults = [(r["t_s"], r["detail"]) for r in records(sim, "fault")]
    assert faults == [(60.0, "partition lamp"), (150.0, "heal lamp")]
    assert any("PUBLISH q1" in r["detail"] for r in records(sim, "bytes_to_device"))


def test_trace_frame_is_a_pandas_dataframe_of_the_records():
    pd = pytest.importorskip("pandas")
    sim = partitioned_lamp(7)
    df = iotsim.trace_frame(sim)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["t_s", "kind", "node", "connection", "detail"]
    assert len(df) == len(sim.trace_records())
    assert df["t_s"].dtype.kind == "f" and df["connection"].dtype.kind in "iu"
    got = df[(df.kind == "message_received") & (df.node == "lamp")]
    assert len(got) == sim.device("lamp")["received"]
    empty = iotsim.trace_frame(partitioned_lamp(7, keep_trace=False))
    assert list(empty.columns) == list(df.columns) and len(empty) == 0


# -------------------------------------------------------------------------------- scenarios


def test_load_scenario_builds_lamp_partition_with_its_seed_and_duration():
    sim, duration_s = iotsim.load_scenario(SCENARIOS / "lamp_partition.json")
    assert duration_s == 300.0
    assert sim.seed == 7
    assert [d["name"] for d in sim.device_stats()] == ["lamp", "control-app"]
    sim.run_until(duration_s)
    assert [(r["t_s"], r["detail"]) for r in records(sim, "fault")] == [(60.0, "partition lamp"), (150.0, "heal lamp")]
    assert sim.session("lamp")["persistent"]
    published = sim.device("control-app")["acked"]
    assert published == 60
    lamp_got = {json.loads(p)["seq"] for _, p in sim.received("lamp")}
    assert lamp_got == set(range(1, published + 1))
    assert sim.violations() == []


def test_load_scenario_seed_override_changes_the_hash_and_keep_trace_does_not():
    def run(**kw):
        sim, duration_s = iotsim.load_scenario(SCENARIOS / "lamp_partition.json", **kw)
        sim.run_until(duration_s)
        return sim

    default, seven, other, quiet = run(), run(seed=7), run(seed=8), run(keep_trace=False)
    assert default.trace_hash == seven.trace_hash == quiet.trace_hash
    assert other.seed == 8 and other.trace_hash != default.trace_hash
    assert quiet.trace_records() == []
    sim, duration_s = iotsim.Simulation.from_scenario(str(SCENARIOS / "lamp_partition.json"))
    sim.run_until(duration_s)
    assert sim.trace_hash == default.trace_hash


def iotsim_bin():
    path = os.environ.get("IOTSIM_BIN", "")
    return path if path and os.access(path, os.X_OK) else None


@pytest.mark.skipif(iotsim_bin() is None, reason="IOTSIM_BIN (the iotsim CLI) not set; CTest sets it")
@pytest.mark.parametrize("seed", [7, 99])
def test_python_and_the_iotsim_cli_give_the_same_hash_for_a_scenario(seed):
    path = SCENARIOS / "lamp_partition.json"
    p = subprocess.run([iotsim_bin(), "run", str(path), "--seed", str(seed)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    cli_hash = p.stdout.strip().splitlines()[-1].split()[-1]
    sim, duration_s = iotsim.load_scenario(path, seed=seed)
    sim.run_until(duration_s)
    assert sim.trace_hash == cli_hash


def test_a_revoked_and_an_expired_certificate_show_in_device_stats_and_the_world():
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[2]
    sim, duration_s = iotsim.load_scenario(root / "sim" / "scenarios" / "revoked_device.json")
    sim.run_until(duration_s)
    stats = {d["name"]: d for d in sim.device_stats()}
    assert stats["sdk-java"]["revocations"] == 1 and stats["sdk-java"]["connects_refused"] > 0
    assert stats["sdk-nodejs-1"]["tls_failures"] > 0
    assert stats["basicPubSub"]["connects_refused"] == 0 and stats["basicPubSub"]["tls_failures"] == 0
    statuses = {c["certificateId"]: c["status"] for c in sim.world()["registry"]["certificates"]}
    assert sorted(statuses.values()) == ["ACTIVE", "ACTIVE", "REVOKED"]
