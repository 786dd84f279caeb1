"""What the student's notebook does for Task 3: run the lamp through a partition and sign the run.

    IOTSIM_COURSE_KEY=... python3 make_evidence.py [DEVICE_DIR] [OUT]   (default: here, ./evidence.json)
"""
import importlib.util
import os
import pathlib
import sys

import iotsim
from iotsim.grading import make_evidence


def lamp_run(device_dir, seed=5):
    spec = importlib.util.spec_from_file_location("student_device", pathlib.Path(device_dir) / "device.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sim = iotsim.Simulation(seed=seed, latency_ms=20)
    sim.add_device("lamp", behaviour=module.LampController(), keep_alive_s=30)
    sim.partition(["lamp"], at_s=30, duration_s=60)
    sim.run_until(10)
    sim.update_shadow("lamp", {"state": {"desired": {"power": "on"}}})
    sim.run_until(45)
    sim.update_shadow("lamp", {"state": {"desired": {"brightness": 40}}})
    sim.run_until(180)
    return sim


def main():
    here = pathlib.Path(__file__).resolve().parent
    device_dir = sys.argv[1] if len(sys.argv) > 1 else here
    out = sys.argv[2] if len(sys.argv) > 2 else "evidence.json"
    sim = lamp_run(device_dir)
    make_evidence(sim, key=os.environ["IOTSIM_COURSE_KEY"], lab="iot-core-lab", devices=["lamp"]).save(out)


if __name__ == "__main__":
    main()
