"""What a check is: its cases, how to observe a student's answer, and how to judge it.

A check cell calls ``check("relu_backward", relu_backward)``; the check with that id is a
:class:`Spec` in ``backproplab.grading.course`` (one module per assignment). A spec says

- ``cases(rng)``: the inputs, as plain data (see :mod:`.wire`), drawn from ``rng``: the
  notebook draws them with the spec's fixed ``seed``, the grader with a seed it picks
  per run, so that answers hard-coded for the public cases do not pass;
- ``observe(subjects, *case)``: what to do with the student's objects (the arguments of
  ``check`` after the id) on one case, returning plain data. This runs in the student's
  kernel, so it only observes;
- ``reference(*case)`` (plain data to compare with) or ``judge(observed, *case)`` (a hint,
  or None when the observation is right): these run where the verdict is made, which
  under the grader is a process that never runs student code.
"""

from dataclasses import dataclass, field
from typing import Callable


def call_subject(subjects, *case):
    """The default observation: the student's function applied to the case."""
    return subjects[0](*case)


@dataclass(frozen=True)
class Spec:
    id: str  # the check id a check cell names (an exercise may have several checks)
    exercise: str
    points: int
    cases: Callable  # rng -> list of tuples of plain data
    subject: str  # what the hints call the student's object, e.g. "relu_backward"
    reference: Callable | None = None  # *case -> the expected plain data
    judge: Callable | None = None  # (observed, *case) -> hint or None
    observe: Callable = call_subject  # (subjects, *case) -> plain data
    names: object = None  # output names: "dx" or ("dx", "dw", "db")
    rtol: float = 1e-6
    atol: float = 1e-8
    regions: dict = field(default_factory=dict)  # text -> (*case -> boolean mask)
    compare: Callable | None = None  # (observed, expected) -> hint or None
    arg_names: tuple = ()  # names of the case's arguments, for the "mutated" hint
    seed: int = 0  # the notebook's seed for cases

    def __post_init__(self):
        if (self.reference is None) == (self.judge is None):
            raise ValueError(f"check {self.id!r}: give exactly one of reference and judge")
        if isinstance(self.points, bool) or not isinstance(self.points, int) or self.points <= 0:
            raise ValueError(f"check {self.id!r}: points must be a positive int")
