"""Check helpers called from the check cells of exercise notebooks.

A check passes by printing one fixed line, ``PASS <exercise> (<points>/<points>)``; that
line is what the grader (and nbval) compares with the output saved by the solution run. A check fails by
raising :class:`ExerciseFailure`, whose message starts with ``FAIL <exercise>: `` and says
what is wrong. Numbers appear only in failure hints, rounded, because printed floats
differ between CPUs and BLAS builds.

Students run the same check cells in Jupyter, so every message here is written for them.
"""

import copy
import inspect
import math

import numpy as np

from .. import backend

__all__ = ["ExerciseFailure", "check_function", "check_value", "check_true"]

# The stub that `backproplab exercises` writes raises NotImplementedError("<id>: ...").
STUB_MESSAGE = "{exercise}: replace this line with your code"


class ExerciseFailure(AssertionError):
    """A check that did not pass: ``FAIL <exercise>: <hint>``."""

    def __init__(self, exercise, hint):
        self.exercise = exercise
        self.hint = hint
        super().__init__(f"FAIL {exercise}: {hint}")


def check_function(exercise, student_fn, reference_fn, cases, points, *, rtol=1e-6,
                   atol=1e-8, regions=None, compare=None, names=None, copy_args=True):
    """Call ``student_fn`` and ``reference_fn`` on every case and compare the results.

    cases:   list of argument tuples; each function gets its own deep copy of them.
    regions: ``{"where x < 0": lambda x, dout: x < 0, ...}``: masks over the case's
             arguments, so that a wrong array can be described by where it is wrong.
    compare: ``compare(got, expected)`` returning None when they agree, else a hint;
             replaces the built-in comparison for unusual return values.
    names:   names of the outputs, e.g. ``("dx", "dw", "db")``; default "result".
    copy_args: give each function a deep copy of the case and report a student who
             changes an input in place (default). Pass False for arguments that cannot
             or need not be copied (a deep graph of Values): both then get the case as is.
    """
    _check_points(exercise, points)
    if not callable(student_fn):
        raise ExerciseFailure(exercise, f"expected a function to check, got "
                                        f"{_describe_type(student_fn)}")
    cases = list(cases)
    if not cases:
        raise ValueError(f"check_function({exercise!r}): cases is empty; give at least one "
                         f"tuple of arguments")
    fn_name = getattr(student_fn, "__name__", exercise)
    arg_names = _parameter_names(reference_fn)
    for index, case in enumerate(cases):
        if not isinstance(case, tuple):
            raise TypeError(f"check_function({exercise!r}): case {index} must be a tuple of "
                            f"arguments, got {_describe_type(case)}")
        where = f" (case {index + 1} of {len(cases)})" if len(cases) > 1 else ""
        student_args = copy.deepcopy(case) if copy_args else case
        got = _call_student(exercise, fn_name, student_fn, student_args, where)
        for position, (before, after) in enumerate(zip(case, student_args) if copy_args else ()):
            if not _identical(before, after):
                name = arg_names[position] if position < len(arg_names) else f"#{position + 1}"
                raise ExerciseFailure(
                    exercise, f"{fn_name} mutated its input {name}; compute a new array "
                              f"instead of changing {name} in place{where}")
        expected = reference_fn(*(copy.deepcopy(case) if copy_args else case))
        if got is None and expected is not None:
            raise ExerciseFailure(exercise,
                                  f"{fn_name} returned None — did you forget `return`?{where}")
        if compare is not None:
            hint = compare(got, expected)
        else:
            masks = {text: region(*case) for text, region in (regions or {}).items()}
            hint = _compare(got, expected, _output_names(names, expected), rtol, atol, masks)
        if hint is not None:
            raise ExerciseFailure(exercise, hint + where)
    _passed(exercise, points)


def check_value(exercise, got, expected, points, *, rtol=1e-6, atol=1e-8, name="answer"):
    """Compare one value (array, number, tuple, ...) with the expected one."""
    _check_points(exercise, points)
    if got is None and expected is not None:
        raise ExerciseFailure(exercise, f"{name} is None — did you forget `return` or to "
                                        f"assign {name}?")
    hint = _compare(got, expected, name, rtol, atol, {})
    if hint is not None:
        raise ExerciseFailure(exercise, hint)
    _passed(exercise, points)


def check_true(exercise, condition, points, hint):
    """Pass when ``condition`` holds, e.g. ``losses[-1] < losses[0]``; else fail with ``hint``."""
    _check_points(exercise, points)
    try:
        holds = bool(condition)
    except ValueError as exc:  # an array with more than one element is neither true nor false
        raise TypeError(f"check_true({exercise!r}): condition must be one truth value, got "
                        f"{_describe_type(condition)}; use .all() or .any()") from exc
    if not holds:
        raise ExerciseFailure(exercise, hint)
    _passed(exercise, points)


def _passed(exercise, points):
    print(f"PASS {exercise} ({points}/{points})")


def _check_points(exercise, points):
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise ValueError(f"check for {exercise!r}: points must be a positive int, "
                         f"got {points!r}")


def _call_student(exercise, fn_name, student_fn, args, where):
    try:
        return student_fn(*args)
    except NotImplementedError as exc:
        other = _stub_exercise(exc)
        if other is not None and other != exercise:
            raise ExerciseFailure(exercise, f"blocked by {other}, which is not implemented "
                                            f"yet") from exc
        raise ExerciseFailure(exercise, f"not implemented yet: replace the `raise "
                                        f"NotImplementedError` line in {fn_name}") from None
    except ExerciseFailure:
        raise
    except Exception as exc:
        raise ExerciseFailure(exercise, f"{fn_name} raised {type(exc).__name__}: "
                                        f"{_shorten(str(exc))}{where}") from exc


def _stub_exercise(exc):
    """The exercise id of a generated stub's NotImplementedError, or None."""
    text = str(exc)
    head, sep, tail = text.partition(": ")
    if sep and tail == STUB_MESSAGE.split(": ", 1)[1]:
        return head
    return None


def _parameter_names(fn):
    try:
        return [p.name for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):  # builtins without a signature
        return []


def _output_names(names, expected):
    if names is None:
        return "result"
    names = (names,) if isinstance(names, str) else tuple(names)
    if isinstance(expected, (tuple, list)):
        if len(names) != len(expected):
            raise ValueError(f"names={names!r} has {len(names)} entries but the reference "
                             f"returns {len(expected)} values")
        return names
    return names[0]


def _compare(got, expected, name, rtol, atol, masks):
    """None when ``got`` matches ``expected``, else a sentence saying what differs.

    ``name`` is a string, or a tuple of names when ``expected`` is a tuple or list.
    """
    if isinstance(expected, (tuple, list)):
        names = name if isinstance(name, tuple) else tuple(
            f"{name}[{i}]" for i in range(len(expected)))
        if not isinstance(got, (tuple, list)):
            return (f"returned {_describe_type(got)}, expected {len(expected)} values "
                    f"({', '.join(names)})")
        if len(got) != len(expected):
            return (f"returned {len(got)} values, expected {len(expected)} "
                    f"({', '.join(names)})")
        for item_got, item_expected, item_name in zip(got, expected, names):
            hint = _compare(item_got, item_expected, item_name, rtol, atol, masks)
            if hint is not None:
                return hint
        return None
    if expected is None:
        return None if got is None else f"{name} should be None, got {_describe_type(got)}"
    if got is None:
        return f"{name} is None — did you forget to compute it?"
    if isinstance(expected, dict):
        return _compare_dict(got, expected, name, rtol, atol, masks)
    if _is_number(expected) and _is_number(got):
        return _compare_numbers(got, expected, name, rtol, atol)
    if _is_array(expected) or _is_number(expected) and _is_array(got):
        return _compare_arrays(got, expected, name, rtol, atol, masks)
    try:
        if bool(got == expected):
            return None
    except Exception:  # an == that gives no single truth value: not equal here
        pass
    return f"{name} is {_shorten(repr(got))}, expected {_shorten(repr(expected))}"


def _compare_dict(got, expected, name, rtol, atol, masks):
    if not isinstance(got, dict):
        return f"{name} is {_describe_type(got)}, expected a dict"
    missing = [key for key in expected if key not in got]
    if missing:
        return f"{name} is missing the keys {', '.join(map(repr, missing))}"
    for key, value in expected.items():
        hint = _compare(got[key], value, f"{name}[{key!r}]", rtol, atol, masks)
        if hint is not None:
            return hint
    return None


def _compare_numbers(got, expected, name, rtol, atol):
    if math.isclose(complex(got).real, complex(expected).real, rel_tol=rtol, abs_tol=atol) \
            and math.isclose(complex(got).imag, complex(expected).imag, rel_tol=rtol,
                             abs_tol=atol):
        return None
    return f"{name} is {_round(got)}, expected {_round(expected)}"


def _compare_arrays(got, expected, name, rtol, atol, masks):
    expected = to_numpy(expected)
    try:
        got = to_numpy(got)
    except TypeError as exc:
        return f"{name} {exc}"
    if got.shape != expected.shape:
        return f"{name} has shape {got.shape}, expected {expected.shape}"
    if not _same_kind(got.dtype, expected.dtype):
        return (f"{name} has dtype {got.dtype}, expected {_kind_name(expected.dtype)} "
                f"({expected.dtype})")
    if got.dtype.kind in "fc" or expected.dtype.kind in "fc":
        wrong = ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        wrong = got != expected
    wrong = np.asarray(wrong)
    count = int(wrong.sum())
    if count == 0:
        return None
    total = wrong.size
    for text, mask in masks.items():
        try:  # a region describes the outputs of its own shape (dx, not dw)
            mask = np.broadcast_to(to_numpy(mask).astype(bool), wrong.shape)
        except ValueError:
            continue
        if not np.any(wrong & ~mask):
            return f"{name} is wrong {text}: {count} of {total} entries differ"
    index = np.unravel_index(int(np.argmax(wrong)), wrong.shape) if wrong.ndim else ()
    if got.dtype.kind in "iufc" and expected.dtype.kind in "iufc":
        where = f" at index {tuple(int(i) for i in index)}" if index else ""
        detail = f" (first{where}: got {_round(got[index])}, expected {_round(expected[index])})"
    else:
        detail = ""
    return f"{name} is wrong: {count} of {total} entries differ{detail}"


def to_numpy(value):
    """A NumPy array with the values of ``value``: a NumPy, CuPy or array-API array, a
    backproplab Tensor (through its ``numpy()``), a list or a number.

    Raises TypeError, its message starting "is <type>", for anything else.
    """
    method = getattr(value, "numpy", None)
    if callable(method) and not isinstance(value, (np.ndarray, np.generic)):
        try:
            value = method()
        except Exception:  # e.g. a tensor that must be detached first: try dlpack below
            pass
    try:
        array = backend.to_numpy(value)
    except Exception as exc:
        raise TypeError(f"is {_describe_type(value)}, which cannot be read as an array") from exc
    if array.dtype == object:
        raise TypeError(f"is {_describe_type(value)}, which cannot be read as an array of "
                        f"numbers")
    return array


def _is_array(value):
    return not isinstance(value, (str, bytes)) and (
        isinstance(value, np.ndarray) or hasattr(value, "shape") and hasattr(value, "dtype")
        or hasattr(value, "__array__") or hasattr(value, "__dlpack__"))


def _is_number(value):
    return isinstance(value, (int, float, complex, np.number, np.bool_)) and not (
        isinstance(value, np.ndarray))


def _identical(before, after):
    """Whether the student left an argument as it was (NaN equals NaN)."""
    if _is_array(before):
        try:
            a, b = to_numpy(before), to_numpy(after)
        except TypeError:
            return before is after or before == after
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
            a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(before, (tuple, list)):
        return (type(before) is type(after) and len(before) == len(after)
                and all(_identical(x, y) for x, y in zip(before, after)))
    if isinstance(before, dict):
        return (isinstance(after, dict) and before.keys() == after.keys()
                and all(_identical(before[k], after[k]) for k in before))
    if type(before).__eq__ is object.__eq__:
        # No value equality (a random Generator, a Module): a copy never equals the
        # original, and using such an argument (drawing numbers) is what it is for.
        return True
    try:
        return bool(before == after) or before is after
    except Exception:  # objects whose == is not a plain truth value
        return True


def _same_kind(got, expected):
    kinds = {"b": "b", "i": "i", "u": "i", "f": "f", "c": "c"}
    return kinds.get(got.kind, got.kind) == kinds.get(expected.kind, expected.kind)


def _kind_name(dtype):
    return {"b": "a boolean array", "i": "an integer array", "u": "an integer array",
            "f": "a floating-point array", "c": "a complex array"}.get(dtype.kind,
                                                                      f"dtype kind {dtype.kind}")


def _describe_type(value):
    """"a numpy.ndarray", "a list of 3", "None": a type as a hint names it."""
    if value is None:
        return "None"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    module = type(value).__module__.split(".")[0]
    name = type(value).__name__ if module == "builtins" else f"{module}.{type(value).__name__}"
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _round(number):
    """A number with 4 significant digits, for hints only (never compared)."""
    value = complex(number) if isinstance(number, (complex, np.complexfloating)) else number
    if isinstance(value, complex):
        return f"{value:.4g}"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.4g}"


def _shorten(text, limit=120):
    return text if len(text) <= limit else text[:limit - 1] + "…"
