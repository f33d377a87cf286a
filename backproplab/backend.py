"""Where arrays live: the one module that knows about NumPy, CuPy and their devices.

Every op asks ``namespace(*arrays)`` for the array module of its inputs and
calls only functions of the Python array API standard on it, so the same code
runs on NumPy (CPU), CuPy (GPU) and any other standard library. There is no
global "current backend": the data decide. This module also holds the few
operations the standard lacks (scatter-add, seeded random numbers, moving data
between devices).
"""

from __future__ import annotations

import importlib

import numpy as np
import array_api_compat

__all__ = [
    "namespace",
    "device_of",
    "device_name",
    "check_same_device",
    "to_numpy",
    "to_device",
    "is_floating",
    "check_dtype",
    "resolve_dtype",
    "scatter_add",
    "random_generator",
]

# Dtypes a Tensor may hold. Gradients are defined for the floating ones only.
# bfloat16 (8 exponent bits like float32, 8 significand bits) is ml_dtypes' NumPy dtype.
FLOATING = ("float16", "bfloat16", "float32", "float64")
SUPPORTED = FLOATING + ("int8", "int16", "int32", "int64", "uint8", "bool")

# Names PyTorch and NumPy users write for dtypes. "float" is NumPy's (float64), not
# torch.float (float32): ``Tensor.float()`` is the PyTorch spelling of float32.
DTYPE_ALIASES = {"float": "float64", "double": "float64", "half": "float16", "int": "int64", "long": "int64"}


def _dtype_name(dtype) -> str:
    """The standard name ('float32', 'int64', 'bool', ...) of any spelling of a dtype.

    The one place that reads dtypes, for every library: a string ('float32', or an
    alias such as 'double'); a NumPy scalar type (``np.float32``) or dtype
    (``np.dtype('float32')``), which CuPy uses too; a Python type (``float`` is
    float64, as in NumPy); another array library's dtype object
    (``array_api_strict.float32`` prints as "array_api_strict.float32").
    """
    if isinstance(dtype, str):
        return DTYPE_ALIASES.get(dtype, dtype)
    if isinstance(dtype, np.dtype):
        return dtype.name
    if dtype is None:  # np.dtype(None) would quietly mean float64
        return "None"
    if isinstance(dtype, type) and issubclass(dtype, (np.generic, bool, int, float, complex)):
        return np.dtype(dtype).name  # np.float32 -> 'float32' (its .name is a descriptor)
    return str(dtype).rsplit(".", 1)[-1]


def is_floating(dtype) -> bool:
    return _dtype_name(dtype) in FLOATING


def check_dtype(dtype, what: str = "Tensor") -> None:
    """Raise a TypeError naming ``what`` if ``dtype`` is not one a Tensor supports."""
    if _dtype_name(dtype) not in SUPPORTED:
        raise TypeError(
            f"{what}: unsupported dtype {_dtype_name(dtype)}; "
            f"use one of {', '.join(SUPPORTED)}"
        )


def resolve_dtype(xp, dtype, what: str = "Tensor"):
    """The dtype object of array module ``xp`` for any spelling of a supported dtype:
    a NumPy dtype for NumPy and CuPy, ``xp.float32`` and the like elsewhere."""
    name = _dtype_name(dtype)
    check_dtype(name, what)
    if xp is np or array_api_compat.is_numpy_namespace(xp) or array_api_compat.is_cupy_namespace(xp):
        if name == "bfloat16":
            # Imported here, not at the top: registering the dtype takes ml_dtypes about
            # half a second, which every kernel and test process would otherwise pay.
            import ml_dtypes
            return np.dtype(ml_dtypes.bfloat16)
        return np.dtype(name)
    found = getattr(xp, name, None)
    if found is None:
        raise TypeError(
            f"{what}: dtype {name} is not available in the array library "
            f"{getattr(xp, '__name__', xp)}; use one of "
            f"{', '.join(n for n in SUPPORTED if hasattr(xp, n))}"
        )
    return found


def memory_owner(array):
    """(key, bytes) of the buffer that holds ``array``'s values: a view (a slice, a
    reshape, a broadcast) is charged to the array it looks into, so that memory
    shared by several arrays is counted once under one key."""
    owner = array
    while isinstance(getattr(owner, "base", None), type(owner)):
        owner = owner.base
    size = getattr(owner, "nbytes", None)
    if size is None:  # libraries without nbytes (array-api-strict)
        count = 1
        for n in owner.shape:
            count *= n
        size = count * np.dtype(_dtype_name(owner.dtype)).itemsize
    return id(owner), int(size)


def namespace(*arrays):
    """The array module (``xp``) shared by ``arrays``.

    Tensors get ``tensor.GraphNamespace``, whose functions are Tensor ops: an op's
    code run on Tensors records a graph (used by ``backward(create_graph=True)``).
    NumPy arrays get NumPy itself: NumPy 2 implements the standard in its main
    namespace, and calling it directly avoids a wrapper layer on the CPU hot
    path. Other libraries go through ``array_api_compat`` (CuPy, strict, ...).
    """
    if all(type(a) is np.ndarray for a in arrays):
        return np
    for a in arrays:  # Tensors present a namespace of Tensor ops (create_graph)
        graph_namespace = getattr(type(a), "_backproplab_namespace", None)
        if graph_namespace is not None:
            return graph_namespace
    try:
        return array_api_compat.array_namespace(*arrays)
    except TypeError as err:
        kinds = sorted({f"{type(a).__module__}.{type(a).__name__}" for a in arrays})
        raise TypeError(
            f"arrays from different array libraries cannot be mixed: {', '.join(kinds)}; "
            "move them to one device first with .to(...)"
        ) from err


def device_of(array):
    return array_api_compat.device(array)


def device_name(array) -> str:
    """A short, readable device name: 'cpu', 'cuda:0', or the library's own."""
    if type(array) is np.ndarray:
        return "cpu"
    dev = device_of(array)
    if array_api_compat.is_cupy_array(array):
        return f"cuda:{dev.id}"
    return str(dev)


def check_same_device(op: str, *arrays) -> None:
    """Raise if ``arrays`` do not all live on one device of one library."""
    if all(type(a) is np.ndarray for a in arrays):
        return
    names = [device_name(a) for a in arrays]
    libs = {type(a).__module__.split(".")[0] for a in arrays}
    if len(set(names)) > 1 or len(libs) > 1:
        raise RuntimeError(
            f"{op}: operands are on different devices ({', '.join(names)}); "
            "move them to one device with .to(device) first"
        )


def to_numpy(array) -> np.ndarray:
    """A NumPy copy (or view, on the CPU) of any supported array."""
    if isinstance(array, np.ndarray):
        return array
    if array_api_compat.is_cupy_array(array):
        return array.get()
    if isinstance(array, (int, float, bool, list, tuple, np.generic)):
        return np.asarray(array)
    return np.from_dlpack(array)


def _cupy():
    try:
        import cupy
    except ImportError:  # pragma: no cover - depends on the machine
        raise RuntimeError(
            "device 'cuda' needs CuPy: install backproplab with the gpu extra "
            "(pip install -e \".[gpu]\") on a machine with an NVIDIA GPU"
        ) from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # CUDA driver missing or broken
        count = 0
    if count == 0:
        raise RuntimeError("device 'cuda': CuPy is installed but finds no CUDA device")
    return cupy


def parse_device(device):
    """Normalise a device spec: None/'cpu' -> 'cpu', 'cuda'/'cuda:N' -> ('cuda', N),
    anything else (a library's own device object) is passed through."""
    if device is None or device == "cpu":
        return "cpu"
    if isinstance(device, str):
        if device == "cuda":
            return ("cuda", 0)
        if device.startswith("cuda:") and device[5:].isdigit():
            return ("cuda", int(device[5:]))
        raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'")
    return device


def to_device(array, device):
    """``array`` moved (or copied) to ``device``: 'cpu', 'cuda', 'cuda:N', or a
    library device object (the array then stays in its own library)."""
    spec = parse_device(device)
    if spec == "cpu":
        return to_numpy(array)
    if isinstance(spec, tuple):
        cupy = _cupy()
        with cupy.cuda.Device(spec[1]):
            return cupy.asarray(array)
    # A library's own device object: make the array in that library, on that device.
    library = importlib.import_module(type(spec).__module__.split(".")[0])
    if not hasattr(library, "asarray"):
        raise ValueError(f"unknown device {spec!r}: use 'cpu', 'cuda' or 'cuda:N'")
    if type(array).__module__.split(".")[0] != library.__name__:
        array = to_numpy(array)
    return library.asarray(array, device=spec)


def scatter_add(xp, shape, index, values):
    """Zeros of ``shape`` with ``out[index[k]] += values[k]`` along axis 0 for every k,
    repeated indices summed: the backward of gathering rows ``x[index]``.

    ``index`` is 1-D; ``values`` has shape ``(len(index),) + shape[1:]``. NumPy and
    CuPy have an unbuffered add for this; other array libraries get an exact
    one-hot product, which costs O(len(index) * shape[0]) memory and is meant
    for tests of backend independence.
    """
    shape = tuple(shape)
    if getattr(xp, "records_graph", False):  # Tensors: the differentiable op
        return xp.scatter_add(shape, index, values)
    if xp is np or array_api_compat.is_numpy_namespace(xp):
        out = np.zeros(shape, dtype=values.dtype)
        np.add.at(out, index, values)
        return out
    if array_api_compat.is_cupy_namespace(xp):
        import cupyx

        out = xp.zeros(shape, dtype=values.dtype)
        cupyx.scatter_add(out, index, values)
        return out
    rows = xp.arange(shape[0], device=device_of(values))
    one_hot = xp.astype(rows[:, None] == index[None, :], values.dtype)  # (rows, n)
    width = 1
    for n in shape[1:]:
        width *= n
    return xp.reshape(one_hot @ xp.reshape(values, (index.shape[0], width)), shape)


def random_generator(seed=None, device="cpu"):
    """A seeded random generator on ``device`` with NumPy's Generator methods."""
    spec = parse_device(device)
    if isinstance(spec, tuple):
        cupy = _cupy()
        with cupy.cuda.Device(spec[1]):
            return cupy.random.default_rng(seed)
    return np.random.default_rng(seed)


def sliding_window_view(x, window_shape, axis):
    """A read-only view of every window of ``window_shape`` along ``axis`` (a tuple),
    the window axes appended at the end, with no copy: NumPy's and CuPy's
    ``sliding_window_view``. None for libraries without strided views (the array
    standard has none); callers then build the windows from slices.
    """
    if type(x) is np.ndarray:
        return np.lib.stride_tricks.sliding_window_view(x, window_shape, axis=axis)
    if array_api_compat.is_cupy_array(x):
        from cupy.lib.stride_tricks import sliding_window_view as cupy_windows

        return cupy_windows(x, window_shape, axis=axis)
    return None
