"""Grades submissions: behaviour checks in the sandbox, evidence, answers; then the reports."""
from __future__ import annotations

import concurrent.futures
import dataclasses
import pathlib
import time

from . import checks, rubric
from .evidence import verify_evidence
from .lab import Lab
from .sandbox import run_scenario
from .submission import Submission, load_submission


@dataclasses.dataclass
class Item:
    id: str
    kind: str  # behaviour, evidence, question
    name: str
    score: float
    max_score: float
    output: str
    visibility: str = "visible"
    needs_review: bool = False
    tags: tuple = ()


@dataclasses.dataclass
class Graded:
    lab_id: str
    lab_title: str
    name: str
    items: list[Item]
    problems: list[str]
    wall_s: float

    @property
    def score(self) -> float:
        return round(sum(i.score for i in self.items), 2)

    @property
    def max_score(self) -> float:
        return round(sum(i.max_score for i in self.items), 2)

    @property
    def needs_review(self) -> list[str]:
        return [i.id for i in self.items if i.needs_review]


def _behaviour(lab: Lab, check: dict, sub: Submission) -> Item:
    points = float(check["points"])
    base = dict(id=check["id"], kind="behaviour", name=check["name"], max_score=points,
                visibility=check.get("visibility", "visible"), tags=(check["task"],))
    if sub.device_source is None:
        return Item(**base, score=0.0, output="Failed: the submission has no device code (device.py, or notebook "
                                              "cells tagged `device`).")
    scenario = lab.scenarios[check["scenario"]]
    result = run_scenario(sub.device_source, scenario["setup"], lab.limits, deny=[str(lab.root)])
    passed, text = checks.evaluate(result, scenario["expect"], lab.limits)
    return Item(**base, score=points if passed else 0.0, output=text, needs_review=result.status == "violation")


def _evidence(lab: Lab, check: dict, sub: Submission, key) -> Item:
    points = float(check["points"])
    base = dict(id=check["id"], kind="evidence", name=check["name"], max_score=points,
                visibility=check.get("visibility", "visible"), tags=(check["task"],))
    ev = sub.evidence
    if ev is None:
        return Item(**base, score=0.0, output="Failed: no evidence (evidence.json, or a notebook cell tagged "
                                              "`evidence` showing `iotsim.grading.make_evidence(sim, key=...)`).")
    if key is None:
        return Item(**base, score=0.0, needs_review=True,
                    output="Not verified: the grader was given no course key (--key-file or IOTSIM_COURSE_KEY). "
                           "Flagged for review.")
    ok, why = verify_evidence(ev, key)
    if not ok:
        return Item(**base, score=0.0, output=f"Failed: {why}. Evidence must come unchanged from make_evidence.",
                    needs_review=True)
    problems = []
    if ev.get("lab") not in ("", None, lab.id):
        problems.append(f"it was made for lab {ev.get('lab')!r}, not {lab.id!r}")
    records = ev.get("trace_excerpt", [])
    for kind in lab.evidence.get("required_kinds", []):
        if not any(r.get("kind") == kind for r in records):
            problems.append(f"the trace excerpt has no `{kind}` event")
    for topic in lab.evidence.get("required_topics", []):
        if not any(r.get("kind") == "message_received" and str(r.get("detail", "")).startswith(topic + " ")
                   for r in records):
            problems.append(f"the trace excerpt shows no message received on `{topic}`")
    if problems:
        return Item(**base, score=0.0, output="Failed: the signature is valid, but " + "; ".join(problems) + ".")
    return Item(**base, score=points, output=f"Passed: signed with the course key; trace hash `{ev.get('trace_hash')}`, "
                                             f"seed {ev.get('seed')}, {len(records)} excerpt records.")


def _question(lab: Lab, q: dict, sub: Submission) -> Item:
    answer = (sub.answers or {}).get(q["id"])
    m = rubric.mark(q, lab.rubric[q["id"]], answer)
    return Item(id=q["id"], kind="question", name=f"Question {q['id']}: {q['prompt']}", score=m.score,
                max_score=float(q["points"]), output=m.output, visibility=q.get("visibility", "visible"),
                needs_review=m.needs_review, tags=(q["task"], q["type"]))


def grade_submission(lab: Lab, submission, *, key=None) -> Graded:
    """Grades one submission (a Submission, or a path to a folder or notebook)."""
    started = time.monotonic()
    sub = submission if isinstance(submission, Submission) else load_submission(submission, lab.submission)
    items = []
    for check in lab.checks:
        items.append(_behaviour(lab, check, sub) if check["kind"] == "behaviour" else _evidence(lab, check, sub, key))
    items += [_question(lab, q, sub) for q in lab.questions]
    if sub.answers is None:
        for item in items:
            if item.kind == "question" and "No answer" in item.output:
                item.output += " (No answers file was found.)"
    return Graded(lab.id, lab.title, sub.name, items, list(sub.problems), time.monotonic() - started)


def grade_many(lab: Lab, paths, *, key=None, jobs: int = 2, on_done=None) -> list[Graded]:
    """Grades submissions, `jobs` at a time (each scenario is its own sandboxed process); results in
    the order of `paths`."""
    paths = [pathlib.Path(p) for p in paths]
    out: list[Graded | None] = [None] * len(paths)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_submission, lab, p, key=key): i for i, p in enumerate(paths)}
        for f in concurrent.futures.as_completed(futures):
            out[futures[f]] = f.result()
            if on_done:
                on_done(out[futures[f]])
    return out
