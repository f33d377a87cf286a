"""Auto-grading of exercise notebooks.

Check cells call the helpers exported here (``check_function``, ``check_value``,
``check_true``); ``backproplab exercises`` generates exercise notebooks from solutions
(:mod:`.generate`); ``backproplab grade`` rebuilds each submission from its exercise
notebook, runs it in a kernel of the grader's own Python and reports per exercise
(:mod:`.submission`, :mod:`.runner`, :mod:`.grader`, :mod:`.report`). Only the check helpers are imported here, so a
check cell does not pay for the grader's imports.
"""

from .checks import ExerciseFailure, check_function, check_true, check_value, to_numpy

__all__ = ["ExerciseFailure", "check_function", "check_value", "check_true", "to_numpy"]
