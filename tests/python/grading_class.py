"""A class of 30 submissions of labs/iot-core-lab, built the same way for test_grading.py and for
bench/grading_bench.py (which puts this directory on sys.path to import it).

The class: the reference solution (under two names), the known-bad submissions of submissions/, an
evidence bundle edited by hand, a submission without evidence, and reference variants up to 30.
Evidence is signed with KEY, the course key the grader must be given.
"""
import importlib.util
import json
import pathlib
import shutil

from iotsim import grading

from support import ROOT

LAB_DIR = ROOT / "labs" / "iot-core-lab"
REFERENCE = LAB_DIR / "reference"
SUBMISSIONS = pathlib.Path(__file__).resolve().parent / "submissions"
KEY = b"test-course-key"
KNOWN_BAD = sorted(p.name for p in SUBMISSIONS.iterdir() if p.is_dir())
CLASS_SIZE = 30


def evidence_run():
    """The reference lamp through a partition, as the student's notebook runs it."""
    spec = importlib.util.spec_from_file_location("reference_make_evidence", REFERENCE / "make_evidence.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lamp_run(REFERENCE)


def make_evidence():
    """A bundle as a student's notebook makes it, signed with KEY."""
    return grading.make_evidence(evidence_run(), key=KEY, lab="iot-core-lab", devices=["lamp"])


def submission(root, name, *, like=REFERENCE, evidence=None, answers=None, device=None):
    """A submission folder root/name: `like`'s device.py and answers.yaml, or the given texts."""
    d = pathlib.Path(root) / name
    d.mkdir(parents=True)
    shutil.copy(like / "device.py", d / "device.py")
    shutil.copy(like / "answers.yaml", d / "answers.yaml")
    if device is not None:
        (d / "device.py").write_text(device)
    if answers is not None:
        (d / "answers.yaml").write_text(answers)
    if evidence is not None:
        (d / "evidence.json").write_text(json.dumps(evidence))
    return d


def build_class(root, evidence):
    """Writes the class of CLASS_SIZE submissions into the (empty) folder `root`; returns their
    folders, sorted."""
    root = pathlib.Path(root)
    submission(root, "reference", evidence=evidence)
    submission(root, "reference-again", evidence=evidence)
    for name in KNOWN_BAD:
        d = submission(root, name, like=SUBMISSIONS / name, evidence=evidence)
        if name == "reads-hidden":  # point it at the lab being graded, wherever the checkout is
            text = (d / "device.py").read_text().replace("/work/main/labs/iot-core-lab", str(LAB_DIR))
            (d / "device.py").write_text(text)
    edited = json.loads(json.dumps(evidence))
    edited["trace_hash"] = "0123456789abcdef"  # "fixing" the evidence by hand
    submission(root, "edited-evidence", evidence=edited)
    submission(root, "no-evidence")
    n = 0
    while len(list(root.iterdir())) < CLASS_SIZE:
        n += 1
        answers = (REFERENCE / "answers.yaml").read_text() + f"\n# student {n}\n"
        submission(root, f"student-{n:02d}", evidence=evidence, answers=answers)
    return sorted(root.iterdir())
