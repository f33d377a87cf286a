"""Running a check cell in a test: checks print ``FAIL ...`` instead of raising, so the
tests turn that line back into an exception they can inspect."""

import contextlib
import io
import json
import re
import textwrap
from pathlib import Path


class ExerciseFailure(AssertionError):
    """A check that printed ``FAIL <exercise>: <hint>``; str() is that line."""


def exec_check(source, namespace):
    """Run a check cell's ``source`` in ``namespace``; its stdout, or ExerciseFailure."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(source, namespace)
    text = out.getvalue()
    print(text, end="")  # for tests that read what the check printed
    failed = [line for line in text.splitlines() if line.startswith("FAIL ")]
    if failed:
        raise ExerciseFailure(failed[0])
    return text


def notebook_path(folder, name):
    """A course notebook: ``lessons/`` or ``solutions/`` in the repository; for
    ``exercises`` the pristine copy in the package, never the learner's own copy in
    ``exercises/`` (which may hold their answers)."""
    from backproplab.grading.generate import PRISTINE

    root = Path(__file__).resolve().parents[2]
    folder = PRISTINE if folder == "exercises" else root / folder
    return folder / f"{name}.ipynb"


def cells(folder, name):
    """``(backproplab metadata, source)`` of every cell of a course notebook."""
    nb = json.loads(notebook_path(folder, name).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        source = cell["source"]
        yield (cell["metadata"].get("backproplab", {}),
               "".join(source) if isinstance(source, list) else source)


def check_results(name, exercise, folder="solutions", answers=None, **student):
    """Run the setup and answer cells of ``folder/name`` in one namespace, then the check
    cells of ``exercise``. ``answers`` ({exercise: source}) replaces answer cells by other
    source; ``student`` gives the exercise's functions directly (its answer cell is then
    not run). Returns (one result per check cell: what it printed or the ExerciseFailure
    it raised, the namespace)."""
    namespace = {"__name__": "__main__"}
    for info, source in cells(folder, name):
        role = info.get("role")
        if role == "setup":
            exec(source, namespace)
        elif role == "answer" and not (student and info.get("exercise") == exercise):
            exec(textwrap.dedent((answers or {}).get(info.get("exercise"), source)), namespace)
    namespace.update(student)
    results = []
    for info, source in cells(folder, name):
        if info.get("role") == "check" and info.get("exercise") == exercise:
            try:
                results.append(exec_check(source, namespace))
            except ExerciseFailure as failure:
                results.append(failure)
    assert results, f"no check cell for {exercise} in {name}"
    return results, namespace


def run_check(name, exercise, folder="solutions", **student):
    """What the check cells of ``exercise`` printed (see ``check_results``), or
    ExerciseFailure with the first FAIL line."""
    results, _ = check_results(name, exercise, folder, **student)
    for result in results:
        if isinstance(result, ExerciseFailure):
            raise result
    return "".join(results)


def course_exercises():
    """``(assignment, exercise, points)`` for every exercise of every solution notebook,
    read from the notebooks' metadata (so a new exercise is tested without a new list)."""
    import nbformat

    from backproplab.grading import course
    from backproplab.grading.assignment import exercises

    found = []
    for name in course.ASSIGNMENTS:
        path = notebook_path("solutions", name)
        if path.exists():
            nb = nbformat.read(path, as_version=4)
            found += [(name, exercise, info.points) for exercise, info in exercises(nb, name).items()]
    return found


def assert_rejected(name, exercise, hint="", **student):
    """The check of ``exercise`` prints a FAIL line whose hint matches ``hint`` (a regex)."""
    import pytest

    with pytest.raises(ExerciseFailure, match=f"^FAIL {exercise}: ") as failure:
        run_check(name, exercise, **student)
    rest = str(failure.value)[len(f"FAIL {exercise}: "):]
    assert re.search(hint, rest), str(failure.value)
