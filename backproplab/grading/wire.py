"""Plain data across the trust boundary: JSON with NumPy arrays, and nothing that runs.

Check cases go from the grader into a student's kernel, and observations come back, as
JSON text: numbers, strings, booleans, None, lists, dicts with string keys, tuples, complex
numbers and arrays of booleans or numbers (raw bytes in base64). There is no pickle and
no class lookup, so decoding a student's observation can create nothing but these values.
"""

import base64
import json

import numpy as np

MAX_BYTES = 64 * 2**20  # an observation larger than this is not read
_KINDS = "biufc"  # array dtypes that may cross: bool, int, uint, float, complex


class WireError(ValueError):
    """Text that is not plain data of the kinds above."""


def encode(value):
    """``value`` as one line of JSON text (raises WireError for anything else)."""
    return json.dumps(_to_json(value, 0), separators=(",", ":"), allow_nan=True)


def decode(text):
    """The plain value that ``encode`` wrote; WireError for anything else."""
    if len(text) > MAX_BYTES:
        raise WireError(f"{len(text)} characters of data, more than the {MAX_BYTES} allowed")
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"not JSON: {exc}") from None
    return _from_json(raw, 0)


def _to_json(value, depth):
    if depth > 64:
        raise WireError("data nested more than 64 levels deep")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (complex, np.complexfloating)):
        return {"__complex__": [float(value.real), float(value.imag)]}
    if isinstance(value, np.ndarray):
        array = np.array(value, order="C", subok=False)  # (ascontiguousarray makes 0-d 1-d)
        if array.dtype.kind not in _KINDS:
            raise WireError(f"an array of dtype {array.dtype} cannot be sent; only numbers "
                            f"and booleans")
        return {"__array__": {"dtype": array.dtype.str, "shape": list(array.shape),
                              "data": base64.b64encode(array.tobytes()).decode("ascii")}}
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_to_json(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise WireError("dict keys must be strings")
        if any(k.startswith("__") and k.endswith("__") for k in value):
            raise WireError("dict keys may not look like __name__")
        return {k: _to_json(v, depth + 1) for k, v in value.items()}
    raise WireError(f"a {type(value).__module__}.{type(value).__name__} is not plain data")


def _from_json(raw, depth):
    if depth > 64:
        raise WireError("data nested more than 64 levels deep")
    if raw is None or isinstance(raw, (bool, int, float, str)):
        return raw
    if isinstance(raw, list):
        return [_from_json(v, depth + 1) for v in raw]
    if not isinstance(raw, dict):
        raise WireError(f"unexpected JSON value {type(raw).__name__}")
    if "__array__" in raw:
        return _array(raw["__array__"])
    if "__tuple__" in raw:
        items = raw["__tuple__"]
        if not isinstance(items, list):
            raise WireError("a tuple must hold a list")
        return tuple(_from_json(v, depth + 1) for v in items)
    if "__complex__" in raw:
        parts = raw["__complex__"]
        if not (isinstance(parts, list) and len(parts) == 2
                and all(isinstance(p, (int, float)) for p in parts)):
            raise WireError("a complex number must be [real, imag]")
        return complex(*parts)
    if any(k.startswith("__") and k.endswith("__") for k in raw):
        raise WireError(f"unknown marker among keys {sorted(raw)[:3]}")
    return {k: _from_json(v, depth + 1) for k, v in raw.items()}


def _array(spec):
    try:
        dtype = np.dtype(spec["dtype"])
        shape = tuple(int(n) for n in spec["shape"])
        data = base64.b64decode(spec["data"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(f"a malformed array: {exc}") from None
    if dtype.kind not in _KINDS or dtype.hasobject or dtype.fields:
        raise WireError(f"an array of dtype {dtype} is not plain data")
    if any(n < 0 for n in shape) or int(np.prod(shape, dtype=object)) * dtype.itemsize != len(data):
        raise WireError(f"array data of {len(data)} bytes does not fit shape {shape} of {dtype}")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
