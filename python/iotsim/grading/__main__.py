"""``python3 -m iotsim.grading`` (and ``iotsim grade``): grade submissions of a lab.

    python3 -m iotsim.grading --lab labs/iot-core-lab [--key-file KEY] [--jobs 2] [--out DIR]
                              [--results-json PATH] [--report-md PATH] SUBMISSION...

A SUBMISSION is a folder (device.py, answers.yaml or answers.json, evidence.json), a notebook
(.ipynb, cells tagged device/answers/evidence), or a folder of those. Writes, per submission,
DIR/<name>/results.json (Gradescope's format) and DIR/<name>/report.md, then DIR/summary.json;
with one submission, --results-json/--report-md write those files exactly there instead (for
Gradescope: --results-json /autograder/results/results.json). Prints one line per submission.

The course key (to verify evidence) comes from --key-file, else the IOTSIM_COURSE_KEY environment
variable; it is never passed to the students' code. Exit status: 0 when every submission was
graded (whatever the scores), 2 for a bad lab, a missing submission or bad arguments.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

from .grader import grade_many
from .lab import LabError, load_lab
from .report import dumps, markdown, results_json, validate_results
from .submission import expand


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="iotsim grade", description="Grade iotsim lab submissions (labs/README.md).")
    p.add_argument("--lab", required=True, help="the lab: a directory with lab.yaml (or the file itself)")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                   help="a submission folder, a .ipynb, or a folder of submissions")
    p.add_argument("--key-file", help="the course key for evidence signatures (default: $IOTSIM_COURSE_KEY)")
    p.add_argument("--jobs", "-j", type=int, default=2, help="submissions graded in parallel (default 2)")
    p.add_argument("--out", default="grading-results", help="output directory (default ./grading-results)")
    p.add_argument("--results-json", help="one submission only: write results.json here")
    p.add_argument("--report-md", help="one submission only: write the Markdown report here")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-submission lines")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        lab = load_lab(args.lab)
    except (LabError, OSError, ValueError) as e:
        print(f"iotsim grade: bad lab: {e}", file=sys.stderr)
        return 2
    try:
        paths = expand(args.submissions)
    except FileNotFoundError as e:
        print(f"iotsim grade: {e}", file=sys.stderr)
        return 2
    if not paths:
        print("iotsim grade: no submissions found", file=sys.stderr)
        return 2
    if (args.results_json or args.report_md) and len(paths) != 1:
        print("iotsim grade: --results-json/--report-md need exactly one submission", file=sys.stderr)
        return 2
    key = None
    if args.key_file:
        key = pathlib.Path(args.key_file).read_bytes().strip()
    elif os.environ.get("IOTSIM_COURSE_KEY"):
        key = os.environ["IOTSIM_COURSE_KEY"].encode()

    def done(g):
        if not args.quiet:
            review = f"  (review: {', '.join(g.needs_review)})" if g.needs_review else ""
            print(f"{g.name}: {g.score:g}/{g.max_score:g}{review}", flush=True)

    graded = grade_many(lab, paths, key=key, jobs=args.jobs, on_done=done)
    out = pathlib.Path(args.out)
    summary = []
    for g in graded:
        doc = results_json(g)
        problems = validate_results(doc)
        if problems:  # a bug in the grader, not the student's fault
            print(f"iotsim grade: internal error: results.json of {g.name} is invalid: {problems}", file=sys.stderr)
            return 3
        if args.results_json or args.report_md:
            if args.results_json:
                pathlib.Path(args.results_json).parent.mkdir(parents=True, exist_ok=True)
                pathlib.Path(args.results_json).write_text(dumps(doc), encoding="utf-8")
            if args.report_md:
                pathlib.Path(args.report_md).parent.mkdir(parents=True, exist_ok=True)
                pathlib.Path(args.report_md).write_text(markdown(g), encoding="utf-8")
            continue
        d = out / g.name
        d.mkdir(parents=True, exist_ok=True)
        (d / "results.json").write_text(dumps(doc), encoding="utf-8")
        (d / "report.md").write_text(markdown(g), encoding="utf-8")
        summary.append({"submission": g.name, "score": g.score, "max_score": g.max_score,
                        "needs_review": g.needs_review})
    if summary:
        (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
