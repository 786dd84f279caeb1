#!/usr/bin/env python3
"""Grading a class: how long `iotsim grade` takes for the class of 30 submissions of
tests/python/test_grading.py (built by tests/python/grading_class.py), graded the way that test
grades it: grading.grade_many in this process, `iotsim grade`'s default number of submissions in
parallel (two), every scenario of every submission in its own sandboxed process.

    PYTHONPATH=build/dev/python IOTSIM_BIN=build/dev/iotsim /usr/bin/python3 bench/grading_bench.py

The iotsim package comes from PYTHONPATH, as for the tests (grading runs no iotsim binary;
IOTSIM_BIN is accepted for the same command line as the tests). Prints the number of submissions,
wall seconds, seconds per submission, the parallelism and whether bubblewrap isolated the
children; exits 1 if grading failed (an exception, a submission not graded, or the reference
solution not getting full marks, which would make the time meaningless). Target (BENCHMARKS.md):
30 submissions in <= 10 minutes on 2 cores.
"""
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))  # grading_class and its support module

from iotsim import grading  # noqa: E402
from iotsim.grading import sandbox  # noqa: E402
from iotsim.grading.__main__ import _parser  # noqa: E402

from grading_class import CLASS_SIZE, KEY, LAB_DIR, build_class, make_evidence  # noqa: E402

TARGET_S = 600.0


def main() -> int:
    jobs = _parser().get_default("jobs")  # `iotsim grade`'s default parallelism
    lab = grading.load_lab(LAB_DIR)
    evidence = make_evidence()
    bubblewrap = sandbox._bwrap() is not None
    with tempfile.TemporaryDirectory(prefix="iotsim-grading-bench-") as tmp:
        paths = build_class(tmp, evidence)
        started = time.monotonic()
        try:
            graded = grading.grade_many(lab, paths, key=KEY, jobs=jobs)
        except Exception as e:  # noqa: BLE001 - reported, then a failing exit status
            print(f"grading failed: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        wall_s = time.monotonic() - started
    done = [g for g in graded if g is not None]
    print(f"submissions:        {len(done)}")
    print(f"wall s:             {wall_s:.1f}")
    print(f"s per submission:   {wall_s / max(1, len(done)):.2f}")
    print(f"parallelism:        {jobs}")
    print(f"bubblewrap:         {'yes' if bubblewrap else 'no'}")
    print(f"cpus:               {os.cpu_count()}")
    print(f"target:             <= {TARGET_S:.0f} s for {CLASS_SIZE} ({wall_s / TARGET_S:.2f} of it)")
    ok = True
    if len(paths) != CLASS_SIZE or len(done) != len(paths):
        print(f"grading failed: {len(done)} of {len(paths)} submissions graded", file=sys.stderr)
        ok = False
    reference = next((g for g in done if g.name == "reference"), None)
    if reference is None or reference.score != reference.max_score:
        got = "missing" if reference is None else f"{reference.score}/{reference.max_score}"
        print(f"grading failed: the reference solution got {got}", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
