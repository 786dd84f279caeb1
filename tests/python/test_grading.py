"""Grading a lab (labs/README.md, python/iotsim/grading): the reference solution gets full marks,
known-bad submissions (tests/python/submissions/) fail exactly the right checks with clear
feedback, every results.json is valid Gradescope output, grading is deterministic, evidence edited
by hand is caught, and a class of 30 submissions is graded two at a time, each isolated.

Grading the class of 30 (grading_class.py) is the slow part; it runs by default, so CTest's
`python` test includes it, and the other tests reuse its results. How long it takes is a benchmark,
not a test: bench/grading_bench.py, figures in BENCHMARKS.md ("Grading a class")."""
import json
import os
import subprocess
import sys

import pytest

from support import IOTSIM_PYTHONPATH

grading = pytest.importorskip("iotsim.grading")

from grading_class import (CLASS_SIZE, KEY, KNOWN_BAD, LAB_DIR, REFERENCE, build_class,  # noqa: E402
                           evidence_run, make_evidence, submission)

BEHAVIOUR = ["quick-connect-echo", "lamp-applies-delta", "lamp-converges-partition", "lamp-reconnect-resync"]
LAMP = BEHAVIOUR[1:]
FREE_TEXT = ["aws-iot-role", "device-shadow", "credentials", "connect-real-device"]


@pytest.fixture(scope="module")
def lab():
    return grading.load_lab(LAB_DIR)


@pytest.fixture(scope="module")
def evidence():
    """A bundle as a student's notebook makes it (the reference lamp through a partition)."""
    return make_evidence()


@pytest.fixture(scope="module")
def class_of_30(lab, evidence, tmp_path_factory):
    """30 submissions (grading_class.build_class): the reference (under two names), the known-bad
    ones, an edited evidence bundle, and reference variants; graded with `iotsim grade`'s defaults
    (two at a time), by name."""
    paths = build_class(tmp_path_factory.mktemp("class"), evidence)
    graded = grading.grade_many(lab, paths, key=KEY, jobs=2)
    return {g.name: g for g in graded}


def items(g):
    return {i.id: i for i in g.items}


def failed(g):
    return sorted(i.id for i in g.items if i.score < i.max_score)


def test_a_class_of_30_is_graded_two_at_a_time_each_isolated(class_of_30):
    assert len(class_of_30) == CLASS_SIZE == 30
    assert {"reference", "reference-again", "edited-evidence", "no-evidence", *KNOWN_BAD} <= set(class_of_30)
    assert all(g.items for g in class_of_30.values())


def test_the_reference_solution_gets_full_marks(class_of_30, lab):
    g = class_of_30["reference"]
    assert g.score == g.max_score == lab.max_score == 100, failed(g)
    assert g.problems == []
    # Free text is always flagged for review, even at full marks; nothing else is.
    assert g.needs_review == FREE_TEXT


def test_same_submission_same_results_twice(class_of_30):
    graded = class_of_30
    a, b = (grading.results_json(graded[n]) for n in ("reference", "reference-again"))
    for doc in (a, b):
        doc["extra_data"].pop("submission")
    assert a == b
    variants = [grading.results_json(g) for n, g in graded.items() if n.startswith("student-")]
    assert all(v["tests"] == a["tests"] for v in variants)


def test_grading_one_submission_twice_writes_identical_files(tmp_path, evidence):
    sub = submission(tmp_path, "twice", evidence=evidence)
    outs = []
    for run in ("one", "two"):
        out = tmp_path / run
        rc = cli("--lab", str(LAB_DIR), "--out", str(out), "-q", str(sub))
        assert rc.returncode == 0, rc.stderr
        outs.append(((out / "twice" / "results.json").read_bytes(), (out / "twice" / "report.md").read_bytes()))
    assert outs[0] == outs[1]


@pytest.mark.parametrize("name, fails, says", [
    ("ignores-delta", LAMP, "still has a delta"),
    ("never-reconnects", ["lamp-converges-partition", "lamp-reconnect-resync"], "did not catch up"),
    ("wrong-topic", ["quick-connect-echo", "topic"], "instead: check the topic"),
    ("raises", LAMP, "a hook raised KeyError"),
    ("infinite-loop", BEHAVIOUR, "infinite loop"),
    ("reads-hidden", BEHAVIOUR, "hidden/scenarios.yaml"),
])
def test_a_known_bad_submission_fails_the_right_checks_with_clear_feedback(class_of_30, name, fails, says):
    g = class_of_30[name]
    assert failed(g) == sorted(fails)
    for check in fails:
        assert says in items(g)[check].output or check == "topic", items(g)[check].output
    assert g.score == g.max_score - sum(items(g)[c].max_score for c in fails)


def test_feedback_names_the_students_line_not_the_graders(class_of_30):
    out = items(class_of_30["raises"])["lamp-applies-delta"].output
    assert 'File "device.py", line' in out and "doc[\"versions\"]" in out
    assert "_child.py" not in out and "/tmp" not in out


def test_an_attempt_to_read_the_hidden_checks_is_stopped_and_flagged(class_of_30):
    g = class_of_30["reads-hidden"]
    for check in BEHAVIOUR:
        assert "sandbox forbids" in items(g)[check].output
        assert items(g)[check].needs_review
    assert items(g)["evidence-signed"].score == 10  # only the behaviour checks are lost


def test_structured_answers_are_marked_and_free_text_is_flagged_never_silently_failed(class_of_30):
    g = class_of_30["bad-answers"]
    it = items(g)
    for q in ("topic", "client-id", "mqtts-port", "delta-topic"):
        assert it[q].score == 0 and not it[q].needs_review
    assert "case-sensitive" in it["client-id"].output  # basicpubsub vs basicPubSub
    assert it["shadow-sections"].score == 0 and "wrong: actual" in it["shadow-sections"].output
    for q in FREE_TEXT:
        assert it[q].needs_review
    assert it["aws-iot-role"].score == 0 and "No answer" in it["aws-iot-role"].output
    assert it["credentials"].score == 0 and "NOT failed" in it["credentials"].output
    assert it["device-shadow"].score == 0 and "a TA reads every free-text answer" in it["device-shadow"].output
    assert failed(g) == sorted(["topic", "client-id", "mqtts-port", "delta-topic", "shadow-sections", *FREE_TEXT])


def test_evidence_edited_by_hand_or_missing_fails_the_evidence_check_only(class_of_30):
    edited = class_of_30["edited-evidence"]
    assert failed(edited) == ["evidence-signed"]
    assert "changed after it was signed" in items(edited)["evidence-signed"].output
    missing = class_of_30["no-evidence"]
    assert failed(missing) == ["evidence-signed"] and "no evidence" in items(missing)["evidence-signed"].output


def test_every_results_json_is_valid_gradescope_output(class_of_30):
    for g in class_of_30.values():
        doc = grading.results_json(g)
        assert grading.validate_results(doc) == []
        assert doc["score"] == sum(t["score"] for t in doc["tests"])
        assert all(t["status"] in ("passed", "failed") and t["output"] for t in doc["tests"])


def test_the_schema_check_rejects_what_gradescope_rejects():
    assert grading.validate_results({"tests": [{"score": 1, "max_score": 1, "name": "x"}]}) == []
    bad = {"score": "10", "tests": [{"score": 3, "max_score": 2, "status": "ok", "visibility": "public", "nme": "x"}],
           "output_format": "markdown"}
    problems = " | ".join(grading.validate_results(bad))
    for what in ("'10' is not of type 'number'", "'ok' is not one of", "'public' is not one of", "'nme'",
                 "'markdown' is not one of", "exceeds max_score"):
        assert what in problems
    assert grading.validate_results({"output": "no score, no tests"})


def test_evidence_verifies_with_the_course_key_only(evidence):
    assert grading.verify_evidence(evidence, KEY) == (True, "")
    assert not grading.verify_evidence(evidence, b"another key")[0]
    changed = dict(evidence, note="edited")
    ok, why = grading.verify_evidence(changed, KEY)
    assert not ok and "changed after it was signed" in why
    unsigned = {k: v for k, v in evidence.items() if k != "signature"}
    assert "not signed" in grading.verify_evidence(unsigned, KEY)[1]
    assert evidence["trace_hash"] == evidence_run().trace_hash  # the bundle is deterministic too
    assert evidence["diagram"].startswith("sequenceDiagram")
    assert json.loads(repr(evidence)) == dict(evidence)  # displays as JSON in a notebook


def notebook(path, evidence, *, answers=None):
    def cell(kind, source, tags, outputs=None):
        c = {"cell_type": kind, "metadata": {"tags": tags}, "source": source}
        if kind == "code":
            c.update(outputs=outputs or [], execution_count=1)
        return c
    device = (REFERENCE / "device.py").read_text()
    cells = [cell("markdown", "# My lab", []),
             cell("code", device[:device.index("class QuickConnectDevice")], ["device"]),
             cell("code", "print('not part of the device')", []),
             cell("code", device[device.index("class QuickConnectDevice"):], ["device"]),
             cell("raw", answers or (REFERENCE / "answers.yaml").read_text(), ["answers"]),
             cell("code", "make_evidence(sim, key=KEY, lab='iot-core-lab')", ["evidence"],
                  [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                    "data": {"application/json": evidence, "text/plain": repr(evidence)}}])]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_a_notebook_submission_is_read_from_its_tagged_cells(tmp_path, lab, evidence):
    sub = grading.load_submission(notebook(tmp_path / "alice.ipynb", evidence))
    assert sub.problems == [] and "import json" in sub.device_source and "not part" not in sub.device_source
    assert sub.answers["topic"] == "sdk/test/python" and sub.evidence == dict(evidence)
    g = grading.grade_submission(lab, sub, key=KEY)
    assert g.score == 100, failed(g)


def test_a_notebook_without_tags_is_graded_zero_with_the_reasons(tmp_path, lab):
    path = tmp_path / "bob.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": []}],
                                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    g = grading.grade_submission(lab, path, key=KEY)
    assert g.score == 0
    assert any("tagged `device`" in p for p in g.problems) and any("tagged `answers`" in p for p in g.problems)
    assert "no device code" in items(g)["lamp-applies-delta"].output


def test_the_child_sees_neither_the_course_key_nor_the_expectations(lab, monkeypatch):
    monkeypatch.setenv("IOTSIM_COURSE_KEY", KEY.decode())
    spy = ("import os, sys\n"
           "assert not any('KEY' in k for k in os.environ), sorted(os.environ)\n"
           "SEEN = sys.stdin.read() if not sys.stdin.closed else ''\n"
           + (REFERENCE / "device.py").read_text())
    scenario = lab.scenarios["lamp-steady"]
    result = grading.sandbox.run_scenario(spy, scenario["setup"], lab.limits, deny=[str(lab.root)])
    assert result.status == "ok", result.stderr
    assert "expect" not in json.dumps(result.observations)


@pytest.mark.parametrize("code, status", [
    ("import subprocess\n", "violation"),
    ("import socket\n", "violation"),
    ("import sys\nsys.modules['iotsim'].shadow.urllib.request.socket.socket()\n", "violation"),
    ("open('/etc/passwd').read()\n", "violation"),
    ("import os\nos.listdir('/')\n", "violation"),
    ("import os, json\nos.open(json.__file__, os.O_WRONLY)\n", "violation"),  # the stdlib is read-only
    ("x = bytearray(4 << 30)\n", "memory"),
    ("def f(:\n", "import_error"),
    ("while True:\n    print('spam' * 1000)\n", "output_limit"),
])
def test_the_sandbox_stops_what_device_code_must_not_do(lab, code, status):
    result = grading.sandbox.run_scenario(code, lab.scenarios["lamp-steady"]["setup"], lab.limits)
    assert result.status == status, (result.status, result.stderr[-500:])


def cli(*args):
    env = dict(os.environ, PYTHONPATH=IOTSIM_PYTHONPATH, IOTSIM_COURSE_KEY=KEY.decode())
    return subprocess.run([sys.executable, "-m", "iotsim.grading", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_the_command_line_writes_results_json_and_a_report(tmp_path, evidence):
    sub = submission(tmp_path, "carol", evidence=evidence)
    res, md = tmp_path / "results" / "results.json", tmp_path / "report.md"
    rc = cli("--lab", str(LAB_DIR), "--results-json", str(res), "--report-md", str(md), str(sub))
    assert rc.returncode == 0, rc.stderr
    assert rc.stdout.startswith("carol: 100/100")
    doc = json.loads(res.read_text())
    assert grading.validate_results(doc) == [] and doc["score"] == 100
    assert md.read_text().startswith("# ") and "**Score: 100 / 100**" in md.read_text()


def test_the_command_line_refuses_a_bad_lab_or_a_missing_submission(tmp_path):
    (tmp_path / "lab.yaml").write_text("format: something-else\n")
    rc = cli("--lab", str(tmp_path), str(REFERENCE))
    assert rc.returncode == 2 and "bad lab" in rc.stderr
    rc = cli("--lab", str(LAB_DIR), str(tmp_path / "nobody"))
    assert rc.returncode == 2 and "not a submission" in rc.stderr
