"""``check(...)``: what a check cell calls, in a learner's notebook and under the grader.

The setup cell of an exercise notebook makes the notebook's check function::

    from backproplab.grading import checker
    check = checker("05_layers")

and each check cell calls it with the check's id and the learner's objects::

    check("relu_backward", relu_backward)

In a learner's own notebook the check draws the spec's cases with its fixed seed, runs
the learner's code, judges the result against the library's reference and prints one
line: ``PASS relu_backward (3/3)`` or ``FAIL relu_backward: <what is wrong>``. It never
raises, so Run All goes through every cell.

Under the grader (``BACKPROPLAB_CASES`` names a folder of case files the grader wrote)
the check only observes: it runs the learner's code on the grader's cases and prints the
results as one line of plain data, which the grader judges in its own process.
"""

import os
from pathlib import Path

from . import course, judge, observe, wire
from .observe import OBSERVED, STUB_MESSAGE

__all__ = ["checker", "run_check", "STUB_MESSAGE"]

CASES_ENV = "BACKPROPLAB_CASES"


def checker(assignment):
    """The ``check(check_id, *subjects)`` function of one assignment's notebook."""
    specs = course.specs(assignment)

    def check(check_id, *subjects):
        spec = specs.get(check_id)
        if spec is None:
            print(f"FAIL {check_id}: no check named {check_id!r} in {assignment}; the "
                  f"check cell was changed")
            return
        folder = os.environ.get(CASES_ENV)
        if folder:
            _observe_for_grader(spec, subjects, Path(folder))
        else:
            print(run_check(spec, subjects))

    check.__name__ = "check"
    check.__qualname__ = "check"
    return check


def run_check(spec, subjects, cases=None, owners=None):
    """Observe and judge in this process; returns the line a check prints."""
    import numpy as np

    if cases is None:
        cases = spec.cases(np.random.default_rng(spec.seed))
    records = wire.decode(wire.encode(observe.observe_cases(spec, subjects, cases)))
    verdict = judge.judge_observation(spec, cases, records, owners)
    if verdict.status == "pass":
        return f"PASS {spec.exercise} ({spec.points}/{spec.points})"
    return f"FAIL {spec.exercise}: {verdict.hint}"


def _observe_for_grader(spec, subjects, folder):
    try:
        cases = wire.decode((folder / f"{spec.id}.json").read_text(encoding="utf-8"))
    except (OSError, wire.WireError) as exc:
        print(f"FAIL {spec.exercise}: the grader's cases could not be read ({exc})")
        return
    records = observe.observe_cases(spec, subjects, cases)
    try:
        line = wire.encode(records)
    except wire.WireError as exc:
        line = wire.encode([{"raised": {"type": "TypeError", "message": str(exc),
                                        "stub": None, "functions": []}}] * len(cases))
    print(f"{OBSERVED} {spec.id} {line}")
