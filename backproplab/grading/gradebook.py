"""Who handed in what, and gradebooks a learning-management system imports.

A roster (``--roster roster.csv``) maps hand-ins to students. Its header names the columns;
``file`` and ``student_id`` are required, the others optional::

    file,student_id,name,email,section,login,canvas_id
    alice.ipynb,s1001,"Lovelace, Ada",ada@example.edu,A,alovelace,4711

``file`` matches a hand-in by its file name (``alice.ipynb``), its stem (``alice``) or the
notebook's own metadata ``{"backproplab": {"student": "alice"}}``. A hand-in the roster
does not name is reported with a warning and keyed by its file name; a roster that names
one key twice, or two rows that match one hand-in, is refused before anything is graded.

Formats (``--csv-format``):

- ``wide`` (default): one row per hand-in, one column of points per exercise.
- ``canvas``: Canvas's gradebook import: the columns ``Student, ID, SIS User ID,
  SIS Login ID, Section`` and one column per assignment, with a ``Points Possible`` row
  under the header, as Canvas's own gradebook export writes them.
- ``moodle``: Moodle's CSV grade import: an identifier column (``ID number``, also
  ``Email address``), ``Full name``, and one column per assignment; Moodle's import form
  maps the identifier and the grade columns.

In ``canvas`` and ``moodle`` each student has one row across every assignment graded at
once; their points are the best of their hand-ins of that assignment.
"""

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from .report import _atomic_write, printable

FORMATS = ("wide", "canvas", "moodle")
ROSTER_COLUMNS = ("file", "student_id", "name", "email", "section", "login", "canvas_id")


class RosterError(ValueError):
    """A roster that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Student:
    student_id: str
    name: str = ""
    email: str = ""
    section: str = ""
    login: str = ""
    canvas_id: str = ""


def read_roster(path):
    """``{key: Student}`` from a roster CSV; RosterError for a bad one."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"roster {printable(path)}: cannot be read ({exc})") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    header = [h.strip() for h in (csv.reader(io.StringIO(text)).__next__() if text else [])]
    missing = [c for c in ("file", "student_id") if c not in header]
    if missing:
        raise RosterError(f"roster {printable(path)}: needs the columns file and student_id "
                          f"(missing {', '.join(missing)}; has {', '.join(header) or 'none'})")
    roster = {}
    for number, row in enumerate(rows, start=2):
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        key, sid = row.get("file", ""), row.get("student_id", "")
        if not key or not sid:
            raise RosterError(f"roster {printable(path)}, line {number}: file and student_id "
                              f"must not be empty")
        if key in roster:
            raise RosterError(f"roster {printable(path)}, line {number}: {key!r} is named twice")
        roster[key] = Student(sid, *(row.get(c, "") for c in ROSTER_COLUMNS[2:]))
    return roster


def match(roster, path, metadata_key=None):
    """The Student of a hand-in, or None; RosterError when two rows match it."""
    path = Path(path)
    keys = [k for k in dict.fromkeys([path.name, path.stem, metadata_key]) if k in roster]
    students = {roster[k] for k in keys}
    if len(students) > 1:
        raise RosterError(f"roster rows {', '.join(map(repr, keys))} all match "
                          f"{printable(path)}; a hand-in must match one student")
    return students.pop() if students else None


def identities(roster, paths, metadata_keys):
    """(Student or None per path, warnings); RosterError when the roster is ambiguous."""
    found, warnings = [], []
    for path, key in zip(paths, metadata_keys):
        student = match(roster, path, key) if roster is not None else None
        if roster is not None and student is None:
            warnings.append(f"{printable(path)} is not in the roster; its row is keyed by "
                            f"its file name")
        found.append(student)
    return found, warnings


def write_lms_csv(reports, students, path, fmt):
    """One row per student across every assignment of ``reports`` (canvas or moodle)."""
    assignments = list(dict.fromkeys(r.assignment for r in reports if r.assignment
                                     and not r.error))
    maxima = {a: next(r.max for r in reports if r.assignment == a and not r.error)
              for a in assignments}
    rows = {}  # key -> (Student or None, file stem, {assignment: best points})
    for report, student in zip(reports, students):
        key = student.student_id if student else Path(report.submission).stem
        entry = rows.setdefault(key, (student, Path(report.submission).stem, {}))
        if report.error or report.assignment not in maxima:
            continue
        best = entry[2].get(report.assignment)
        entry[2][report.assignment] = max(report.total, best or 0)
    f = io.StringIO()
    writer = csv.writer(f)
    if fmt == "canvas":
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *assignments])
        writer.writerow(["Points Possible", "", "", "", "", *(maxima[a] for a in assignments)])
        for key, (student, stem, points) in rows.items():
            s = student or Student(stem, stem)
            writer.writerow([s.name or s.student_id, s.canvas_id, s.student_id, s.login,
                             s.section, *(points.get(a, "") for a in assignments)])
    elif fmt == "moodle":
        writer.writerow(["ID number", "Email address", "Full name", *assignments])
        for key, (student, stem, points) in rows.items():
            s = student or Student(stem, stem)
            writer.writerow([s.student_id, s.email, s.name,
                             *(points.get(a, "") for a in assignments)])
    else:
        raise ValueError(f"unknown LMS format {fmt!r}; choose canvas or moodle")
    _atomic_write(path, printable(f.getvalue()))
