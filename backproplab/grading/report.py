"""Grading reports: per exercise, as a table, as JSON, and as a class gradebook (CSV).

Files are written once grading ends, each to a temporary file beside it that then
replaces it, so a reader never sees half a gradebook. Text that is not valid UTF-8 (a
file name with an odd byte, a lone surrogate in a hint) is written escaped.
"""

import csv
import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field

@dataclass
class ExerciseResult:
    exercise: str
    points: int
    max: int
    status: str  # pass, fail, error, timeout, blocked or flagged
    hint: str = ""
    flags: list = field(default_factory=list)  # what the static read found, with lines


@dataclass
class Report:
    """The grade of one submission; ``error`` is set when it could not be graded."""

    submission: str
    assignment: str | None = None
    exercises: list = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    student: str | None = None  # the notebook's own ``backproplab.student`` metadata
    cells: list = field(default_factory=list, repr=False)  # (role, exercise, source)

    @property
    def total(self):
        return sum(result.points for result in self.exercises)

    @property
    def max(self):
        return sum(result.max for result in self.exercises)

    def to_dict(self):
        return {"submission": self.submission, "assignment": self.assignment,
                "total": self.total, "max": self.max,
                "exercises": [asdict(result) for result in self.exercises],
                "error": self.error, "seconds": round(self.seconds, 3)}


def table(report):
    """A plain-text table of one report, for the terminal."""
    if report.error:
        return f"not graded: {report.error}"
    rows = [("exercise", "points", "status", "hint")]
    rows += [(r.exercise, f"{r.points}/{r.max}", r.status, r.hint) for r in report.exercises]
    rows.append(("total", f"{report.total}/{report.max}", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{report.submission} ({report.assignment})"]
    for i, row in enumerate(rows):
        cells = [row[j].ljust(widths[j]) for j in range(3)] + [row[3]]
        lines.append("  ".join(cells).rstrip())
        if i == 0 or i == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary(reports):
    """One line per submission, for a class."""
    width = max(len(r.submission) for r in reports)
    lines = []
    for r in reports:
        if r.error:
            reason = r.error.removeprefix(f"{r.submission}: ")
            lines.append(f"{r.submission.ljust(width)}  not graded: {reason}")
        else:
            states = ", ".join(f"{x.exercise} {x.status}" for x in r.exercises
                               if x.status != "pass")
            lines.append(f"{r.submission.ljust(width)}  {r.total}/{r.max}"
                         + (f"  ({states})" if states else ""))
    return "\n".join(lines)


def printable(text):
    """``text`` with anything that is not valid UTF-8 escaped (``\\xff``, ``\\ud800``)."""
    text = str(text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:  # a file name decoded with surrogateescape: show its original bytes
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _atomic_write(path, text):
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".backproplab-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(reports, path):
    """A list with one report per submission."""
    text = json.dumps([r.to_dict() for r in reports], indent=1, ensure_ascii=False)
    _atomic_write(path, printable(text) + "\n")


def write_csv(reports, path, students=None):
    """One row per submission, one column of points per exercise, then total and max.

    Exercise columns are those of every assignment graded, in notebook order; a
    submission that could not be graded has empty points and its reason in ``error``.
    students: one roster entry (or None) per report, adding student_id and name columns.
    """
    exercises = []
    for r in reports:
        exercises += [x.exercise for x in r.exercises if x.exercise not in exercises]
    f = io.StringIO()
    writer = csv.writer(f)
    who = ["student_id", "name"] if students is not None else []
    writer.writerow(["submission", *who, "assignment", *exercises, "total", "max", "error"])
    for index, r in enumerate(reports):
        points = {x.exercise: x.points for x in r.exercises}
        if students is not None:
            student = students[index]
            ids = [student.student_id, student.name] if student else ["", ""]
        else:
            ids = []
        if r.error:
            writer.writerow([r.submission, *ids, r.assignment or "", *[""] * len(exercises),
                             "", "", r.error])
        else:
            writer.writerow([r.submission, *ids, r.assignment,
                             *[points.get(x, "") for x in exercises],
                             r.total, r.max, ""])
    _atomic_write(path, printable(f.getvalue()))
