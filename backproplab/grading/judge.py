"""The verdict of a check: compare what was observed with what is expected.

This is the trusted side. Under the grader it runs in the grading process, which never
runs student code: observations arrive as plain data (:mod:`.wire`), expected values
come from the library's references, and hints are written here. In a learner's own
notebook the same functions judge in the learner's kernel.

Numbers appear only in hints, rounded, because printed floats differ between CPUs and
BLAS builds.
"""

import math
from typing import NamedTuple

import numpy as np

from .. import backend


class Verdict(NamedTuple):
    """What a check found: status (pass, fail or error), a hint, and the other exercises
    that may be to blame (a stub of theirs raised, or their functions are in the traceback)."""

    status: str
    hint: str = ""
    blamed: frozenset = frozenset()


PASSED = Verdict("pass")


def judge_observation(spec, cases, records, owners=None):
    """The Verdict of ``records`` (one per case, from :mod:`.observe`) for ``spec``.

    owners: ``{function name: exercise}`` of the answer cells, to blame an exercise whose
    function raised inside this one's.
    """
    if not isinstance(records, list) or len(records) != len(cases):
        return Verdict("error", "the check reported no result for some cases")
    for index, (case, record) in enumerate(zip(cases, records)):
        where = f" (case {index + 1} of {len(cases)})" if len(cases) > 1 else ""
        verdict = _judge_case(spec, case, record, owners or {}, where)
        if verdict is not PASSED:
            return verdict
    return PASSED


def _judge_case(spec, case, record, owners, where):
    name = spec.subject
    if not isinstance(record, dict) or len(record) != 1:
        return Verdict("error", f"the check reported something unreadable{where}")
    if "raised" in record:
        return _raised_verdict(spec, record["raised"], owners, where)
    if "mutated" in record:
        arg = str(record["mutated"])
        return Verdict("fail", f"{name} mutated its input {arg}; compute a new array instead "
                               f"of changing {arg} in place{where}")
    if "value" not in record:
        return Verdict("error", f"the check reported something unreadable{where}")
    got = record["value"]
    if spec.judge is not None:
        hint = spec.judge(got, *case)
    else:
        expected = spec.reference(*case)
        if got is None and expected is not None:
            hint = f"{name} returned None — did you forget `return`?"
        elif spec.compare is not None:
            hint = spec.compare(got, expected)
        else:
            masks = {text: region(*case) for text, region in spec.regions.items()}
            hint = _compare(got, expected, _output_names(spec.names, expected), spec.rtol,
                            spec.atol, masks)
    return PASSED if hint is None else Verdict("fail", hint + where)


def _raised_verdict(spec, raised, owners, where):
    if not isinstance(raised, dict):
        return Verdict("error", f"the check reported something unreadable{where}")
    stub = raised.get("stub")
    functions = raised.get("functions") if isinstance(raised.get("functions"), list) else []
    blamed = frozenset(owners[f] for f in functions if isinstance(f, str) and f in owners)
    blamed -= {spec.exercise}
    if stub == spec.exercise:
        return Verdict("fail", f"not implemented yet: replace the `raise NotImplementedError` "
                               f"line in {spec.subject}")
    if isinstance(stub, str) and stub:
        return Verdict("fail", f"blocked by {stub}, which is not implemented yet",
                       blamed | {stub})
    kind, message = str(raised.get("type", "")), str(raised.get("message", ""))
    hint = f"{spec.subject} raised {kind}: {_shorten(message)}{where}"
    if kind == "RecursionError":
        hint += "; a deep graph needs a loop with a stack, not recursion"
    return Verdict("fail", hint, blamed)


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
    return np.array(array, subok=False)


def _is_array(value):
    return isinstance(value, np.ndarray)


def _is_number(value):
    return isinstance(value, (int, float, complex, np.number, np.bool_))


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
