#!/usr/bin/env python3
"""Student notebooks from the instructor notebooks, so the two never drift.

    python3 scripts/make_student_notebooks.py [--check]

Every cell of notebooks/*.ipynb tagged `solution` (cell metadata "tags") is replaced in
notebooks/student/ by a cell of the same type asking for the student's work: a markdown answer
placeholder or an empty code cell with a comment. Everything else is copied unchanged. --check
exits 1 when a student notebook is missing or differs (the test suite runs it).
"""
import argparse
import copy
import pathlib
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks"
TARGET = SOURCE / "student"

ANSWER_MD = "**Your answer:** _write it here, citing the evidence on this page (outputs, diagrams, trace hash)._"
ANSWER_CODE = "# Your code here (see the task above).\n"


def student_version(nb):
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "solution" in tags:
            if cell.cell_type == "markdown":
                cells.append(nbformat.v4.new_markdown_cell(ANSWER_MD, metadata={"tags": ["answer"]}))
            else:
                cells.append(nbformat.v4.new_code_cell(ANSWER_CODE, metadata={"tags": ["answer"]}))
        else:
            cells.append(cell)
    out.cells = cells
    for i, cell in enumerate(out.cells):  # stable ids: the output must not change between runs
        cell["id"] = f"cell-{i:03d}"
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = ap.parse_args(argv)
    TARGET.mkdir(exist_ok=True)
    stale = []
    for path in sorted(SOURCE.glob("*.ipynb")):
        text = nbformat.writes(student_version(nbformat.read(path, as_version=4))) + "\n"
        target = TARGET / path.name
        if args.check:
            if not target.exists() or target.read_text() != text:
                stale.append(target.relative_to(ROOT))
        else:
            target.write_text(text)
    if stale:
        print("out of date (run scripts/make_student_notebooks.py): " + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
