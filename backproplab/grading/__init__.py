"""Auto-grading of exercise notebooks.

A check cell calls the notebook's ``check`` (made by :func:`checker` in the setup cell);
its cases, observation and verdict are described by a :class:`~.spec.Spec` in
:mod:`.course`. ``backproplab exercises`` generates exercise notebooks from solutions
(:mod:`.generate`); ``backproplab grade`` grades hand-ins in stages: read and rebuild
(:mod:`.submission`), flag (:mod:`.flags`), run sandboxed (:mod:`.sandbox`,
:mod:`.runner`: the student's side, which only observes, :mod:`.observe`), judge
(:mod:`.judge`, in the grading process) and report (:mod:`.report`). Only the check
helpers are imported here, so a check cell does not pay for the grader's imports.
"""

from .checks import checker, run_check

__all__ = ["checker", "run_check"]
