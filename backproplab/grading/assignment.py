"""The authoring contract: what the ``backproplab`` metadata of a notebook and its cells means.

Notebook metadata ``{"backproplab": {"assignment": "NN_name"}}`` names the assignment.
Cell metadata ``{"backproplab": {...}}`` gives a cell its role:

- ``{"role": "setup"}``: code students must not change; the grader restores it.
- ``{"role": "answer", "exercise": id}``: the cell a student edits.
- ``{"role": "check", "exercise": id, "points": int, "requires": [ids]}``: a graded check;
  its stored output is the reference that nbval compares.
"""

import re
from dataclasses import dataclass, field

ROLES = ("setup", "answer", "check")
PASS_LINE = re.compile(r"^PASS (?P<exercise>\S+) \((?P<points>\d+)/(?P=points)\)$")


class AuthoringError(ValueError):
    """A notebook that does not follow the authoring contract."""


@dataclass
class Exercise:
    """One exercise id: its points (over all its check cells) and what it depends on."""

    id: str
    points: int = 0
    requires: list = field(default_factory=list)
    answer_cells: int = 0
    check_cells: int = 0


def assignment_name(nb):
    """The assignment a notebook belongs to, or None when its metadata does not say."""
    metadata = nb.get("metadata")
    info = metadata.get("backproplab") if isinstance(metadata, dict) else None
    name = info.get("assignment") if isinstance(info, dict) else None
    return name if isinstance(name, str) and name else None


def cell_info(cell):
    """The cell's ``backproplab`` metadata (empty for ordinary cells)."""
    metadata = cell.get("metadata")
    info = metadata.get("backproplab") if isinstance(metadata, dict) else None
    return info if isinstance(info, dict) else {}


def cell_role(cell):
    return cell_info(cell).get("role")


def cell_exercise(cell):
    return cell_info(cell).get("exercise")


def cell_source(cell):
    """A cell's source as one string (notebook JSON may store a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def exercises(nb, source="notebook"):
    """``{id: Exercise}`` in notebook order, after checking the metadata of every cell.

    Raises AuthoringError naming ``source``, the cell and the offending value.
    """
    found = {}
    for index, cell in enumerate(nb["cells"]):
        info = cell_info(cell)
        if not info:
            continue
        where = f"{source}: cell {index}"
        role = info.get("role")
        if role not in ROLES:
            raise AuthoringError(f"{where}: backproplab role must be one of {ROLES}, "
                                 f"got {role!r}")
        if cell.get("cell_type") != "code":
            raise AuthoringError(f"{where}: a {role} cell must be a code cell, got "
                                 f"{cell.get('cell_type')!r}")
        if role == "setup":
            continue
        exercise = info.get("exercise")
        if not isinstance(exercise, str) or not re.fullmatch(r"[A-Za-z_][\w.-]*", exercise):
            raise AuthoringError(f"{where}: a {role} cell needs an exercise id (letters, "
                                 f"digits, _ . -), got {exercise!r}")
        entry = found.setdefault(exercise, Exercise(exercise))
        if role == "answer":
            entry.answer_cells += 1
            if entry.answer_cells > 1:
                raise AuthoringError(f"{where}: exercise {exercise!r} has a second answer "
                                     f"cell; use one answer cell per exercise")
            continue
        points = info.get("points")
        if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
            raise AuthoringError(f"{where}: check cell of {exercise!r} needs positive int "
                                 f"points, got {points!r}")
        requires = info.get("requires", [])
        if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
            raise AuthoringError(f"{where}: requires of {exercise!r} must be a list of "
                                 f"exercise ids, got {requires!r}")
        entry.points += points
        entry.check_cells += 1
        entry.requires += [r for r in requires if r not in entry.requires]
    for entry in found.values():
        if entry.check_cells == 0:
            raise AuthoringError(f"{source}: exercise {entry.id!r} has an answer cell but no "
                                 f"check cell, so it can earn no points")
        unknown = [r for r in entry.requires if r not in found or r == entry.id]
        if unknown:
            raise AuthoringError(f"{source}: exercise {entry.id!r} requires {unknown!r}, "
                                 f"which are not other exercises of this notebook")
    return found


def stdout_text(cell):
    """The text a code cell printed on stdout (what a check cell's grade depends on)."""
    return "".join(
        "".join(out.get("text", "")) for out in cell.get("outputs", [])
        if out.get("output_type") == "stream" and out.get("name") == "stdout")
