"""Reads a submission: a folder (device.py, answers.yaml/.json, evidence.json) or a notebook.

Notebook cells are chosen by their tags (cell metadata "tags", Jupyter's View > Cell Toolbar > Tags):

* ``device``: code cells whose sources, in order, make device.py;
* ``answers``: one cell whose source is the answers as YAML (or JSON); a ```yaml fence is unwrapped;
* ``evidence``: a code cell whose output is the evidence bundle (the JSON that
  ``iotsim.grading.make_evidence`` returns and displays), or whose source is that JSON.

Nothing in a submission is executed here: the device code runs only in the sandbox.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import re


@dataclasses.dataclass
class Submission:
    name: str
    path: pathlib.Path
    device_source: str | None
    answers: dict | None
    evidence: dict | None
    problems: list[str]  # what could not be read, shown in the report


def is_submission(path: pathlib.Path) -> bool:
    if path.suffix == ".ipynb" and path.is_file():
        return True
    return path.is_dir() and any((path / n).exists() for n in
                                 ("device.py", "answers.yaml", "answers.yml", "answers.json", "evidence.json"))


def _parse_answers(text: str, problems: list[str], where: str):
    fence = re.search(r"```(?:ya?ml|json)?\s*\n(.*?)```", text, re.S)
    if fence:
        text = fence.group(1)
    try:
        import yaml

        doc = yaml.safe_load(text)
    except Exception as e:  # noqa: BLE001 - a student's syntax error is reported, not raised
        problems.append(f"{where}: the answers are not valid YAML/JSON ({e.__class__.__name__}: {str(e)[:200]})")
        return None
    if not isinstance(doc, dict):
        problems.append(f"{where}: the answers must be a mapping of question id to answer")
        return None
    return {str(k): v for k, v in doc.items()}


def _parse_evidence(text: str, problems: list[str], where: str):
    try:
        doc = json.loads(text)
    except ValueError as e:
        problems.append(f"{where}: the evidence is not JSON ({e})")
        return None
    if not isinstance(doc, dict):
        problems.append(f"{where}: the evidence must be a JSON object")
        return None
    return doc


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _cell_evidence(cell):
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        for mime in ("application/vnd.iotsim.evidence+json", "application/json"):
            if isinstance(data.get(mime), dict):
                return json.dumps(data[mime])
        for text in (data.get("text/plain"), out.get("text")):
            if text:
                text = "".join(text) if isinstance(text, list) else text
                start = text.find("{")
                if start >= 0:
                    return text[start:text.rfind("}") + 1]
    return _source(cell) if _source(cell).lstrip().startswith("{") else None


def load_notebook(path: pathlib.Path, lab_submission: dict | None = None) -> Submission:
    problems: list[str] = []
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (ValueError, KeyError, OSError) as e:
        return Submission(path.stem, path, None, None, None, [f"{path.name}: not a readable notebook ({e})"])

    def tagged(tag):
        return [c for c in cells if tag in (c.get("metadata", {}).get("tags") or [])]

    device = "\n\n".join(_source(c) for c in tagged("device") if c.get("cell_type") == "code") or None
    if device is None:
        problems.append(f"{path.name}: no code cell tagged `device`")
    answers = None
    if tagged("answers"):
        answers = _parse_answers(_source(tagged("answers")[0]), problems, f"{path.name} (cell tagged answers)")
    else:
        problems.append(f"{path.name}: no cell tagged `answers`")
    evidence = None
    if tagged("evidence"):
        text = _cell_evidence(tagged("evidence")[0])
        if text is None:
            problems.append(f"{path.name}: the cell tagged `evidence` has no evidence output (run it before saving)")
        else:
            evidence = _parse_evidence(text, problems, f"{path.name} (cell tagged evidence)")
    return Submission(path.stem, path, device, answers, evidence, problems)


def load_folder(path: pathlib.Path, lab_submission: dict | None = None) -> Submission:
    spec = lab_submission or {}
    problems: list[str] = []
    device_file = path / spec.get("device_file", "device.py")
    device = None
    if device_file.is_file():
        device = device_file.read_text(encoding="utf-8", errors="replace")
    else:
        problems.append(f"no {device_file.name}")
    answers = None
    for name in spec.get("answers_files", ["answers.yaml", "answers.yml", "answers.json"]):
        if (path / name).is_file():
            answers = _parse_answers((path / name).read_text(encoding="utf-8", errors="replace"), problems, name)
            break
    else:
        problems.append("no answers.yaml or answers.json")
    evidence = None
    ev_file = path / spec.get("evidence_file", "evidence.json")
    if ev_file.is_file():
        evidence = _parse_evidence(ev_file.read_text(encoding="utf-8", errors="replace"), problems, ev_file.name)
    return Submission(path.name, path, device, answers, evidence, problems)


def load_submission(path, lab_submission: dict | None = None) -> Submission:
    path = pathlib.Path(path)
    if path.suffix == ".ipynb":
        return load_notebook(path, lab_submission)
    return load_folder(path, lab_submission)


def expand(paths) -> list[pathlib.Path]:
    """Submission paths: each argument is a submission, or a folder of submissions (sorted)."""
    out = []
    for p in map(pathlib.Path, paths):
        if is_submission(p):
            out.append(p)
        elif p.is_dir():
            out += sorted(c for c in p.iterdir() if is_submission(c))
        else:
            raise FileNotFoundError(f"{p}: not a submission (a folder with device.py/answers, or a .ipynb)")
    return out
