"""The student's side of a check: run their code on the cases and report plain data.

Nothing here decides anything. Each case gives one record: ``{"value": ...}`` with what
the spec's ``observe`` returned, ``{"raised": {...}}`` with the exception's type, message,
the exercise whose stub raised it (if one did) and the functions in its traceback, or
``{"mutated": name}`` when the student's code changed an input in place.
"""

import copy
import traceback

import numpy as np

from . import wire

# The stub that `backproplab exercises` writes raises NotImplementedError("<id>: ...").
STUB_MESSAGE = "{exercise}: replace this line with your code"
OBSERVED = "BACKPROPLAB-OBSERVED"  # the line prefix the grader reads an observation from


def observe_cases(spec, subjects, cases):
    """One record per case (plain data)."""
    return [_observe_one(spec, subjects, case) for case in cases]


def _observe_one(spec, subjects, case):
    args = copy.deepcopy(case)
    try:
        value = spec.observe(subjects, *args)
        plain = wire.decode(wire.encode(_plain(value)))
    except RecursionError as exc:
        return {"raised": _raised(exc, recursion=True)}
    except Exception as exc:  # the student's code raised: a record, not a verdict
        return {"raised": _raised(exc)}
    for position, (before, after) in enumerate(zip(case, args)):
        if not _same(before, after):
            names = spec.arg_names
            return {"mutated": names[position] if position < len(names) else f"#{position + 1}"}
    return {"value": plain}


def _raised(exc, recursion=False):
    text = str(exc)
    head, sep, tail = text.partition(": ")
    stub = head if (isinstance(exc, NotImplementedError) and sep
                    and tail == STUB_MESSAGE.split(": ", 1)[1]) else None
    kind = "RecursionError" if recursion else type(exc).__name__
    functions, seen = [], set()
    while exc is not None and id(exc) not in seen:  # the cause chain too
        seen.add(id(exc))
        functions += [frame.name for frame in traceback.extract_tb(exc.__traceback__)]
        exc = exc.__cause__ or exc.__context__
    return {"type": kind, "message": text[:500], "stub": stub, "functions": functions[-50:]}


def _plain(value):
    """The student's result as plain data: arrays (of any library, or subclasses) become
    base NumPy arrays, tensors their values; anything else must already be plain."""
    if value is None or isinstance(value, (bool, int, float, complex, str, np.generic)):
        return value
    if isinstance(value, np.ndarray):
        return np.array(value, subok=False, copy=True)
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in value.items()}
    from .judge import to_numpy
    return to_numpy(value)


def _same(before, after):
    """Whether the student left an argument as it was (NaN equals NaN)."""
    if isinstance(before, np.ndarray):
        return (isinstance(after, np.ndarray) and before.shape == after.shape
                and before.dtype == after.dtype
                and np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"))
    if isinstance(before, (tuple, list)):
        return (type(before) is type(after) and len(before) == len(after)
                and all(_same(x, y) for x, y in zip(before, after)))
    if isinstance(before, dict):
        return (isinstance(after, dict) and before.keys() == after.keys()
                and all(_same(before[k], after[k]) for k in before))
    return type(before) is type(after) and (before == after or before != before)
