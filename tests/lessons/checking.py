"""Running a check cell in a test: checks print ``FAIL ...`` instead of raising, so the
tests turn that line back into an exception they can inspect."""

import contextlib
import io
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
