"""Running a check cell in a test: checks print ``FAIL ...`` instead of raising, so the
tests turn that line back into an exception they can inspect."""

import contextlib
import io
import json
import re
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


def run_check(name, exercise, folder="solutions", **student):
    """Run the setup cells of ``folder/name``, then the answer cell of ``exercise`` (unless
    ``student`` gives its functions), then its check cells; what the checks printed, or
    ExerciseFailure with the first FAIL line."""
    namespace = {}
    for info, source in cells(folder, name):
        if info.get("role") == "setup":
            exec(source, namespace)
    if student:
        namespace.update(student)
    else:
        for info, source in cells(folder, name):
            if info.get("role") == "answer" and info.get("exercise") == exercise:
                exec(source, namespace)
    checks = [source for info, source in cells(folder, name)
              if info.get("role") == "check" and info.get("exercise") == exercise]
    assert checks, f"no check cell for {exercise} in {name}"
    return "".join(exec_check(source, namespace) for source in checks)


def assert_rejected(name, exercise, hint="", **student):
    """The check of ``exercise`` prints a FAIL line whose hint matches ``hint`` (a regex)."""
    import pytest

    with pytest.raises(ExerciseFailure, match=f"^FAIL {exercise}: ") as failure:
        run_check(name, exercise, **student)
    rest = str(failure.value)[len(f"FAIL {exercise}: "):]
    assert re.search(hint, rest), str(failure.value)
