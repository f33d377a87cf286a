"""Running a check cell in a test: checks print ``FAIL ...`` instead of raising, so the
tests turn that line back into an exception they can inspect."""

import contextlib
import io


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
