"""Grades answers against a lab's hidden rubric (labs/README.md, "Rubric").

Structured answers (exact, number, choice, multi_choice) are graded automatically. Free text is
scored by keyword criteria and always flagged for human review: a free-text answer is never
silently failed (a zero says so and asks a TA to read it).
"""
from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass
class Marked:
    score: float
    output: str
    needs_review: bool = False


def _norm(value, case_sensitive: bool) -> str:
    s = re.sub(r"\s+", " ", str(value).strip().strip("`'\""))
    return s if case_sensitive else s.lower()


def mark(question: dict, rubric: dict, answer) -> Marked:
    points = float(question["points"])
    kind = question["type"]
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        if kind == "free_text":
            return Marked(0.0, "No answer given. (Free text: a TA may still review this.)", True)
        return Marked(0.0, "No answer given.")
    hint = rubric.get("hint", "")
    if kind in ("exact", "choice"):
        cs = rubric.get("case_sensitive", False)
        accepted = {_norm(a, cs) for a in rubric["accept"]}
        if _norm(answer, cs) in accepted:
            return Marked(points, f"Correct: `{answer}`.")
        near = {_norm(a, False) for a in rubric["accept"]}
        why = " (check upper/lower case: topics and client ids are case-sensitive)" if _norm(answer, False) in near else ""
        return Marked(0.0, f"Your answer `{str(answer)[:200]}` is not correct{why}. {hint}".strip())
    if kind == "number":
        try:
            value = float(str(answer).strip())
        except ValueError:
            return Marked(0.0, f"`{str(answer)[:100]}` is not a number. {hint}".strip())
        tol = float(rubric.get("tolerance", 0))
        if any(abs(value - float(a)) <= tol for a in rubric["accept"]):
            return Marked(points, f"Correct: {answer}.")
        return Marked(0.0, f"{answer} is not correct. {hint}".strip())
    if kind == "multi_choice":
        given = answer if isinstance(answer, list) else re.split(r"[,\s]+", str(answer))
        given = {_norm(g, False) for g in given if str(g).strip()}
        accepted = {_norm(a, False) for a in rubric["accept"]}
        right, wrong = given & accepted, given - accepted
        if not rubric.get("partial", False):
            ok = given == accepted
            return Marked(points if ok else 0.0, "Correct." if ok else f"Not correct. {hint}".strip())
        per = points / len(accepted)
        score = max(0.0, per * len(right) - per * len(wrong))
        missing = accepted - given
        parts = [f"{len(right)}/{len(accepted)} correct"]
        if wrong:
            parts.append("wrong: " + ", ".join(sorted(wrong)))
        if missing:
            parts.append(f"{len(missing)} missing")
        return Marked(round(score, 2), "; ".join(parts) + (f". {hint}" if score < points and hint else "."))
    # free text: keyword criteria, flagged for review
    text = str(answer).lower()
    score, lines = 0.0, []
    for c in rubric.get("criteria", []):
        hit = next((k for k in c["any"] if k.lower() in text), None)
        if hit:
            score += c["points"]
            lines.append(f"- [x] {c['label']} ({c['points']} pt; matched \"{hit}\")")
        else:
            lines.append(f"- [ ] {c['label']} ({c['points']} pt)")
    score = min(points, score)
    head = ("Provisional score from rubric keywords; **flagged for human review** (a TA reads every free-text "
            "answer and may change this score).")
    if score == 0:
        head += " No rubric keyword was found: this answer is NOT failed, it waits for review."
    return Marked(round(score, 2), head + "\n\n" + "\n".join(lines), True)
