"""Dtypes: one function names every spelling of a dtype, and converting between
floating dtypes is an op of the graph (the gradient comes back in the source dtype)."""

import numpy as np
import pytest
import array_api_strict

import backproplab as bp
from backproplab import Tensor, backend, gradcheck

NAMES = [
    # NumPy scalar types: their .name is a descriptor of the class, not a string
    (np.float16, "float16"), (np.float32, "float32"), (np.float64, "float64"),
    (np.int8, "int8"), (np.int32, "int32"), (np.int64, "int64"), (np.uint8, "uint8"), (np.bool_, "bool"),
    # NumPy (and CuPy) dtype objects
    (np.dtype("float16"), "float16"), (np.dtype("float32"), "float32"), (np.dtype(np.int64), "int64"),
    (np.dtype(bool), "bool"),
    # Python types, as NumPy reads them
    (float, "float64"), (int, "int64"), (bool, "bool"),
    # strings, with PyTorch's and NumPy's aliases
    ("float32", "float32"), ("float64", "float64"), ("double", "float64"), ("half", "float16"),
    ("float", "float64"), ("long", "int64"), ("int", "int64"), ("bool", "bool"),
    # array-api-strict's dtype objects
    (array_api_strict.float32, "float32"), (array_api_strict.float64, "float64"),
    (array_api_strict.int64, "int64"), (array_api_strict.bool, "bool"),
    # dtypes of arrays
    (np.zeros(1, dtype=np.float32).dtype, "float32"), (array_api_strict.asarray([1.0]).dtype, "float64"),
    # not a dtype: a name that no check accepts (np.dtype(None) would mean float64)
    (None, "None"),
]


@pytest.mark.parametrize("dtype, name", NAMES, ids=[repr(n) for n, _ in NAMES])
def test_dtype_name(dtype, name):
    assert backend._dtype_name(dtype) == name
    assert backend.is_floating(dtype) == (name in ("float16", "float32", "float64"))


@pytest.mark.parametrize("dtype", [np.float32, np.dtype("float32"), "float32", "float", np.float64, float])
def test_resolve_dtype_gives_the_library_dtype(dtype, xp):
    target = backend.resolve_dtype(xp.xp, dtype)
    assert target == xp.asarray(np.zeros(1, dtype=backend._dtype_name(dtype))).dtype


def test_unsupported_dtype_names_itself():
    with pytest.raises(TypeError, match="astype: unsupported dtype complex64"):
        Tensor([1.0]).astype(np.complex64)
    with pytest.raises(TypeError, match="unsupported dtype None"):
        backend.check_dtype(None)


def test_dtype_missing_from_a_library_says_so():
    x = Tensor(array_api_strict.asarray([1.0, 2.0], device=array_api_strict.Device("device1")), requires_grad=True)
    with pytest.raises(TypeError, match="float16 is not available in the array library array_api_strict"):
        x.half()


@pytest.mark.parametrize("target", [np.float32, "float32", np.dtype("float32"), "float"])
def test_astype_to_floating_keeps_the_graph(target, xp):
    x = Tensor(xp.asarray([1.0, -2.0, 3.0]), requires_grad=True)
    y = x.astype(target)
    assert y.requires_grad and not y.is_leaf or y is x
    (y * 2).sum().backward()
    assert backend._dtype_name(x.grad.dtype) == "float64"  # back in the source dtype
    np.testing.assert_array_equal(backend.to_numpy(x.grad), [2.0, 2.0, 2.0])


@pytest.mark.parametrize("method, name", [("float", "float32"), ("double", "float64"), ("half", "float16")])
def test_float_double_half_keep_requires_grad(method, name, xp):
    if name == "float16" and xp.name == "array_api_strict":
        pytest.skip("the array API standard has no float16")
    source = "float32" if name == "float64" else "float64"
    x = Tensor(xp.asarray(np.array([0.5, -1.5, 2.0], dtype=source)), requires_grad=True)
    y = getattr(x, method)()
    assert y.requires_grad
    assert backend._dtype_name(y.dtype) == name
    (y * y).sum().backward()
    assert backend._dtype_name(x.grad.dtype) == source
    np.testing.assert_allclose(backend.to_numpy(x.grad), 2 * np.array([0.5, -1.5, 2.0]))


def test_same_dtype_returns_the_tensor_itself():
    x = Tensor([1.0], requires_grad=True)
    assert x.double() is x and x.astype(np.float64) is x


@pytest.mark.parametrize("target", ["int64", np.int32, "bool"])
def test_astype_to_integer_is_a_detach(target, xp):
    x = Tensor(xp.asarray([1.7, -2.2, 0.0]), requires_grad=True)
    i = x.astype(target)
    assert not i.requires_grad and i.is_leaf
    assert backend._dtype_name(i.dtype) == backend._dtype_name(target)
    # the integer branch contributes no gradient; the floating branch still does
    ((x * 3).sum() + i.astype("float64").sum()).backward()
    np.testing.assert_array_equal(backend.to_numpy(x.grad), [3.0, 3.0, 3.0])


def test_integer_to_float_is_a_constant():
    i = Tensor(np.array([1, 2, 3]))
    f = i.float()
    assert backend._dtype_name(f.dtype) == "float32" and not f.requires_grad


def _grid(shape, seed):
    # Values exact in float32 (multiples of 1/32 below 4): with eps = 2**-16, x +- eps
    # is still exact in float32, so central differences see no float32 rounding.
    return np.random.default_rng(seed).integers(-128, 128, size=shape) / 32.0


CHAINS = [
    ("f64-f32-f64", lambda x: (x.astype(np.float32) * 2.0).astype(np.float64).tanh()),
    ("float-double", lambda x: x.float().reshape(-1).double().sigmoid() * x.reshape(-1)),
    ("twice", lambda x: x.float().double().float().double().exp()),
]


@pytest.mark.parametrize("name, fn", CHAINS, ids=[c[0] for c in CHAINS])
def test_gradcheck_cast_chains(name, fn, xp):
    x = Tensor(xp.asarray(_grid((3, 4), seed=1)), requires_grad=True)
    assert gradcheck(fn, x, eps=2.0**-16)


def test_gradcheck_catches_a_cast_that_drops_the_gradient(monkeypatch):
    # the check above can fail: a Cast whose backward loses the gradient is caught
    monkeypatch.setattr(bp.ops.Cast, "backward", lambda self, g: (g * 0,))
    x = Tensor(_grid((3,), seed=2), requires_grad=True)
    with pytest.raises(bp.GradcheckError):
        gradcheck(CHAINS[0][1], x, eps=2.0**-16)


def test_float16_compute_float32_master_weight():
    # mixed precision in one line: float32 weights, float16 compute, float32 gradient
    w = Tensor(np.array([[0.5, -0.25], [1.0, 2.0]], dtype=np.float32), requires_grad=True)
    x = Tensor(np.array([[1.0, 2.0]], dtype=np.float16))
    (x @ w.half()).sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad, [[1.0, 1.0], [2.0, 2.0]])


def test_to_dtype_keeps_requires_grad_for_floating_targets():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert x.to(dtype=np.float32).requires_grad
    assert not x.to(dtype=np.int64).requires_grad
