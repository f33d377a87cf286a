"""Read a submitted notebook and build the cells that the grader runs.

The pristine exercise notebook owns the setup and check cells: they are taken from it,
whatever the student did to them. The student owns the answer cells (matched by exercise
id, not by position; a missing one is the stub) and every other cell, which keeps its
place after the nearest setup, answer or check cell before it. So editing, deleting or moving a check cell, or saving outputs that show fake
passes, gains nothing and loses nothing.

Notebooks are read as plain JSON (the ipynb format): the grader does not need nbformat's
schema machinery to find cells, and it stays quick to start.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .assignment import AuthoringError, assignment_name, cell_info, cell_source, exercises


class SubmissionError(Exception):
    """A file that cannot be graded; the message is one line naming the file and why."""


@dataclass
class Cell:
    """A code cell to run, and where it came from."""

    source: str
    role: str = "student"  # setup, answer, check or student
    exercise: str | None = None
    points: int = 0
    requires: list = field(default_factory=list)


def read_notebook(path):
    """The notebook at ``path`` as a dict; SubmissionError when it is not one."""
    path = Path(path)
    if path.is_dir():
        raise SubmissionError(f"{path}: is a directory, not a notebook")
    if path.suffix != ".ipynb":
        raise SubmissionError(f"{path}: not a notebook (expected a .ipynb file)")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SubmissionError(f"{path}: no such file") from None
    except OSError as exc:
        raise SubmissionError(f"{path}: cannot be read ({exc})") from None
    return parse_notebook(data, path)


def parse_notebook(data, name):
    """The notebook in ``data`` (bytes of a .ipynb file) as a dict; SubmissionError naming
    ``name`` when it is not one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{name}: cannot be read ({exc})") from None
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{name}: broken JSON, not a readable notebook "
                              f"(line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise SubmissionError(f"{name}: JSON nested too deeply to be a notebook") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise SubmissionError(f"{name}: JSON without a list of cells, not a notebook")
    if nb.get("nbformat") != 4:
        raise SubmissionError(f"{name}: notebook format {nb.get('nbformat')!r}; "
                              f"only format 4 is graded")
    for index, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict):
            raise SubmissionError(f"{name}: cell {index} is not a JSON object")
        source = cell.get("source", "")
        if not (isinstance(source, str) or isinstance(source, list)
                and all(isinstance(line, str) for line in source)):
            raise SubmissionError(f"{name}: cell {index} has a source that is not text: "
                                  f"{source!r:.40}")
    return nb


@dataclass
class Assignment:
    """A pristine exercise notebook, read once and used for every submission."""

    name: str
    path: Path
    notebook: dict
    exercises: dict  # id -> assignment.Exercise

    @classmethod
    def load(cls, path):
        nb = read_notebook(path)
        name = assignment_name(nb)
        if name is None:
            raise SubmissionError(f"{path}: exercise notebook without backproplab "
                                  f"assignment metadata")
        try:
            found = exercises(nb, str(path))
        except AuthoringError as exc:
            raise SubmissionError(str(exc)) from None
        return cls(name, Path(path), nb, found)


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(source):
    """A cell source that can be sent to a kernel: lone surrogates (which no encoding
    can carry) written as their escape sequences, which mean the same in a literal."""
    return LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", source)


def _plain_key(value):
    """A metadata value usable as a key: a string, or None for anything else."""
    return value if isinstance(value, str) else None


def build_cells(assignment, submission):
    """The code cells to run for ``submission``, a notebook dict of ``assignment``."""
    skeleton = []  # (key, Cell) for every setup, answer and check cell, in pristine order
    known, by_id = set(), {}
    counts = {}
    for cell in assignment.notebook["cells"]:
        info = cell_info(cell)
        role = info.get("role")
        if role is None:
            continue
        exercise = info.get("exercise")
        n = counts.get((role, exercise), 0)
        counts[(role, exercise)] = n + 1
        key = (role, exercise, n)
        skeleton.append((key, Cell(
            source=cell_source(cell), role=role, exercise=exercise,
            points=info.get("points", 0) if role == "check" else 0,
            requires=list(info.get("requires", [])) if role == "check" else [])))
        known.add(key)
        if cell.get("id"):
            by_id[cell["id"]] = key

    # Walk the student's notebook: each pristine cell found becomes the anchor for the
    # student's cells that follow it.
    anchored = {None: []}
    answers = {}
    anchor = None
    counts = {}
    for cell in submission["cells"]:
        if cell.get("cell_type") != "code":
            continue
        info = cell_info(cell)
        role, exercise = _plain_key(info.get("role")), _plain_key(info.get("exercise"))
        key = None
        if role == "answer" and ("answer", exercise, 0) in known and exercise not in answers:
            key = ("answer", exercise, 0)
            answers[exercise] = _text(cell_source(cell))
        elif role in ("setup", "check"):
            key = by_id.get(_plain_key(cell.get("id")))
            if key is None or key[:2] != (role, exercise):
                n = counts.get((role, exercise), 0)
                counts[(role, exercise)] = n + 1
                key = (role, exercise, n)
            if key not in known or key in anchored:
                continue  # a locked cell the exercise notebook lacks, or a second copy
        if key is not None:
            anchor = key
            anchored[key] = []
            continue
        anchored[anchor].append(Cell(source=_text(cell_source(cell))))

    # A student's cells follow their anchor, and also the cells the student deleted right
    # after it: a student who deleted an answer cell and typed the answer into a new cell
    # there must not have it overwritten by the restored stub.
    cells, pending = [], anchored[None]
    for key, cell in skeleton:
        if key in anchored:
            cells += pending
            pending = anchored[key]
        if cell.role == "answer" and cell.exercise in answers:
            cell.source = answers[cell.exercise]
        cells.append(cell)
    return cells + pending
