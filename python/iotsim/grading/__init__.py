"""Grading of iotsim labs (labs/README.md): behaviour checks of the student's device code in
hidden scenarios (each in a sandboxed process), a rubric for the answers, signed evidence, and
Gradescope's results.json plus a Markdown report.

In a notebook, sign a run for the grader::

    from iotsim.grading import make_evidence
    make_evidence(sim, key=COURSE_KEY, lab="iot-core-lab")   # in a cell tagged `evidence`

Grade from the shell: ``python3 -m iotsim.grading --lab labs/iot-core-lab SUBMISSION...``.
"""
from .evidence import Evidence, make_evidence, verify_evidence
from .grader import Graded, grade_many, grade_submission
from .lab import Lab, LabError, load_lab
from .report import GRADESCOPE_SCHEMA, markdown, results_json, validate_results
from .submission import Submission, load_submission

__all__ = ["make_evidence", "verify_evidence", "Evidence", "load_lab", "Lab", "LabError", "load_submission",
           "Submission", "grade_submission", "grade_many", "Graded", "results_json", "markdown",
           "validate_results", "GRADESCOPE_SCHEMA"]
