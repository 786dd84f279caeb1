"""Grading results as Gradescope's results.json and as a readable Markdown report.

results.json follows Gradescope's documented autograder output ("Autograder Specifications",
section "Output Format"): a top-level ``score`` (or per-test scores), ``tests`` with ``name``,
``score``, ``max_score``, ``status``, ``output``, ``visibility`` ..., and the optional format and
visibility fields. ``GRADESCOPE_SCHEMA`` is that format as a JSON Schema; ``validate_results``
checks a document against it (with jsonschema when installed, by hand otherwise).
"""
from __future__ import annotations

import json

_VISIBILITY = ["hidden", "after_due_date", "after_published", "visible"]
_FORMATS = ["text", "html", "simple_format", "md", "ansi"]

GRADESCOPE_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Gradescope autograder results.json",
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": {"enum": _FORMATS},
        "test_output_format": {"enum": _FORMATS},
        "test_name_format": {"enum": _FORMATS},
        "visibility": {"enum": _VISIBILITY},
        "stdout_visibility": {"enum": _VISIBILITY},
        "extra_data": {"type": "object"},
        "leaderboard": {"type": "array", "items": {
            "type": "object", "required": ["name", "value"],
            "properties": {"name": {"type": "string"}, "value": {"type": ["number", "string"]},
                           "order": {"enum": ["asc", "desc"]}}}},
        "tests": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "score": {"type": "number"},
                "max_score": {"type": "number", "minimum": 0},
                "status": {"enum": ["passed", "failed"]},
                "name": {"type": "string"},
                "name_format": {"enum": _FORMATS},
                "number": {"type": "string"},
                "output": {"type": "string"},
                "output_format": {"enum": _FORMATS},
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": {"enum": _VISIBILITY},
                "extra_data": {"type": "object"},
            },
            "additionalProperties": False}},
    },
    "anyOf": [{"required": ["score"]}, {"required": ["tests"]}],
    "additionalProperties": False,
}


def validate_results(doc: dict) -> list[str]:
    """Problems of a results.json document against GRADESCOPE_SCHEMA (empty: valid)."""
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - Debian's python3-jsonschema is normally present
        return _validate_by_hand(doc)
    validator = jsonschema.Draft7Validator(GRADESCOPE_SCHEMA)
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(doc)]
    for i, t in enumerate(doc.get("tests", [])):
        if isinstance(t, dict) and "score" in t and "max_score" in t and t["score"] > t["max_score"] + 1e-9:
            problems.append(f"tests/{i}: score {t['score']} exceeds max_score {t['max_score']}")
    return problems


def _validate_by_hand(doc) -> list[str]:  # pragma: no cover
    problems = []
    if not isinstance(doc, dict) or not ("score" in doc or "tests" in doc):
        return ["<root>: an object with score or tests is required"]
    for k in doc:
        if k not in GRADESCOPE_SCHEMA["properties"]:
            problems.append(f"<root>: unknown key {k}")
    for i, t in enumerate(doc.get("tests", [])):
        for k, v in t.items():
            spec = GRADESCOPE_SCHEMA["properties"]["tests"]["items"]["properties"].get(k)
            if spec is None:
                problems.append(f"tests/{i}: unknown key {k}")
            elif "enum" in spec and v not in spec["enum"]:
                problems.append(f"tests/{i}/{k}: {v!r} is not one of {spec['enum']}")
    return problems


def results_json(graded) -> dict:
    """Gradescope's results.json for one graded submission (grader.Graded)."""
    tests = []
    for n, item in enumerate(graded.items, 1):
        t = {"name": item.name, "number": f"{n}", "score": item.score, "max_score": item.max_score,
             "status": "passed" if item.score >= item.max_score else "failed", "output": item.output,
             "output_format": "md", "visibility": item.visibility, "tags": list(item.tags),
             "extra_data": {"id": item.id, "kind": item.kind, "needs_review": item.needs_review}}
        tests.append(t)
    summary = f"**{graded.score:g} / {graded.max_score:g}** on {graded.lab_title}."
    if graded.needs_review:
        summary += " Some items are flagged for human review: " + ", ".join(graded.needs_review) + "."
    if graded.problems:
        summary += "\n\nProblems reading the submission:\n" + "\n".join(f"- {p}" for p in graded.problems)
    # No execution_time: it is optional, and without it the same submission gives the same file.
    return {"score": graded.score, "output": summary,
            "output_format": "md", "test_output_format": "md", "test_name_format": "text",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": tests,
            "extra_data": {"lab": graded.lab_id, "submission": graded.name, "max_score": graded.max_score,
                           "needs_review": graded.needs_review}}


def markdown(graded) -> str:
    """A readable report with feedback per check and question."""
    lines = [f"# {graded.lab_title}: {graded.name}", "",
             f"**Score: {graded.score:g} / {graded.max_score:g}**", ""]
    if graded.needs_review:
        lines += ["Flagged for human review: " + ", ".join(f"`{r}`" for r in graded.needs_review), ""]
    if graded.problems:
        lines += ["Problems reading the submission:", ""] + [f"- {p}" for p in graded.problems] + [""]
    lines += ["| # | Item | Score | |", "|---|---|---|---|"]
    for n, item in enumerate(graded.items, 1):
        mark = "pass" if item.score >= item.max_score else ("review" if item.needs_review else "FAIL")
        lines.append(f"| {n} | {item.name} | {item.score:g} / {item.max_score:g} | {mark} |")
    lines.append("")
    for n, item in enumerate(graded.items, 1):
        lines += [f"## {n}. {item.name} ({item.score:g} / {item.max_score:g})", "", item.output, ""]
    return "\n".join(lines)


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
