"""Loads a lab definition (labs/README.md): lab.yaml (or lab.json) and its hidden/ files."""
from __future__ import annotations

import dataclasses
import json
import pathlib

from .sandbox import Limits


class LabError(ValueError):
    """A lab definition that cannot be read or is invalid (the message names the file and field)."""


def _read(path: pathlib.Path):
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)


def _find(directory: pathlib.Path, stem: str) -> pathlib.Path | None:
    for ext in (".yaml", ".yml", ".json"):
        if (directory / (stem + ext)).is_file():
            return directory / (stem + ext)
    return None


@dataclasses.dataclass
class Lab:
    root: pathlib.Path
    id: str
    title: str
    submission: dict
    limits: Limits
    evidence: dict
    tasks: list[dict]
    checks: list[dict]
    questions: list[dict]
    scenarios: dict  # hidden: id -> {setup, expect}
    rubric: dict     # hidden: question id -> rubric entry

    @property
    def max_score(self) -> float:
        return float(sum(c["points"] for c in self.checks) + sum(q["points"] for q in self.questions))


def load_lab(path) -> Lab:
    """Loads the lab in directory `path` (or its lab.yaml/lab.json); LabError when invalid."""
    path = pathlib.Path(path)
    root = path if path.is_dir() else path.parent
    file = _find(root, "lab") if path.is_dir() else path
    if file is None:
        raise LabError(f"{root}: no lab.yaml or lab.json")
    doc = _read(file)
    if not isinstance(doc, dict) or doc.get("format") != "iotsim-lab/1":
        raise LabError(f"{file}: format must be iotsim-lab/1")
    hidden = root / "hidden"
    scen_file, rubric_file = _find(hidden, "scenarios"), _find(hidden, "rubric")
    scenarios = (_read(scen_file) or {}).get("scenarios", {}) if scen_file else {}
    rubric = (_read(rubric_file) or {}).get("questions", {}) if rubric_file else {}
    tasks = doc.get("tasks", [])
    task_ids = {t["id"] for t in tasks}
    seen = set()
    for kind, items in (("checks", doc.get("checks", [])), ("questions", doc.get("questions", []))):
        for i, item in enumerate(items):
            where = f"{file}: {kind}[{i}]"
            for field in ("id", "points", "task"):
                if field not in item:
                    raise LabError(f"{where}: missing field {field}")
            if item["id"] in seen:
                raise LabError(f"{where}: duplicate id {item['id']}")
            seen.add(item["id"])
            if item["task"] not in task_ids:
                raise LabError(f"{where}: unknown task {item['task']}")
            if not isinstance(item["points"], (int, float)) or item["points"] < 0:
                raise LabError(f"{where}: points must be a number >= 0")
            if kind == "checks":
                if item.get("kind") not in ("behaviour", "evidence"):
                    raise LabError(f"{where}: kind must be behaviour or evidence")
                if item["kind"] == "behaviour" and item.get("scenario") not in scenarios:
                    raise LabError(f"{where}: scenario {item.get('scenario')!r} is not in hidden/scenarios")
            else:
                if item.get("type") not in ("exact", "number", "choice", "multi_choice", "free_text"):
                    raise LabError(f"{where}: type must be exact, number, choice, multi_choice or free_text")
                if item["id"] not in rubric:
                    raise LabError(f"{where}: question {item['id']} has no entry in hidden/rubric")
    limits = Limits(**doc.get("limits", {}))
    return Lab(root=root.resolve(), id=doc["id"], title=doc.get("title", doc["id"]), submission=doc.get("submission", {}),
               limits=limits, evidence=doc.get("evidence", {}), tasks=tasks, checks=doc.get("checks", []),
               questions=doc.get("questions", []), scenarios=scenarios, rubric=rubric)
