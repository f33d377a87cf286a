"""One table drives every op test: each row is an op with its NumPy reference and
the input shapes it is tried on (broadcasting included). Every row is checked
forward (against NumPy) and backward (gradcheck, float64 central differences)
on every backend of the ``xp`` fixture. A new op adds a row."""

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import backproplab as bp
from backproplab import Tensor, gradcheck, ops
from backproplab.nn.attention import safe_softmax
from backproplab.tensor import _apply


@dataclass
class Op:
    name: str
    fn: Callable  # on Tensors
    ref: Callable  # on NumPy arrays
    shapes: list  # list of tuples of input shapes
    domain: str = "real"  # "real", "positive" (log, sqrt), "nonzero" (divisors), "distinct" (max)
    grad: bool = True
    extra: dict = field(default_factory=dict)


def _stack_ref(arrays, axis):
    return np.stack(arrays, axis=axis)


def _softmax_ref(a):  # a fully masked (-inf) slice gives zeros
    m = np.max(a, axis=-1, keepdims=True)
    e = np.exp(a - np.where(np.isneginf(m), 0.0, m))
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total == 0, 1.0, total)


def _masked(a):  # -inf in a fixed pattern and in the whole first slice along axis 0
    keep = np.arange(int(np.prod(a.shape))).reshape(a.shape) % 3 != 1
    keep[0] = False
    if isinstance(a, np.ndarray):
        return np.where(keep, a, -np.inf)
    return bp.where(bp.nn._device.array_like(keep, a.data), a, -np.inf)


def _lstm_pointwise_ref(input_gates, hidden_gates, state):
    H = state.shape[1] // 2
    gates = input_gates + hidden_gates
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    i, f, g, o = sig(gates[:, :H]), sig(gates[:, H:2 * H]), np.tanh(gates[:, 2 * H:3 * H]), sig(gates[:, 3 * H:])
    c = f * state[:, H:] + i * g
    return np.concatenate([o * np.tanh(c), c], axis=1)


OPS = [
    Op("add", lambda a, b: a + b, np.add, [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (3,))]),
    Op("sub", lambda a, b: a - b, np.subtract, [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((5,), (2, 5))]),
    Op("mul", lambda a, b: a * b, np.multiply, [((3, 4), (3, 4)), ((3, 4), (3, 1)), ((2, 3, 4), (4,))]),
    Op("div", lambda a, b: a / b, np.divide, [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (2, 1))], domain="nonzero"),
    Op("neg", lambda a: -a, np.negative, [((3, 4),), ((5,),), ((),)]),
    Op("pow3", lambda a: a**3, lambda a: a**3, [((3, 4),), ((5,),), ((2, 2, 2),)]),
    Op("pow_half", lambda a: a**0.5, np.sqrt, [((3, 4),), ((5,),), ((),)], domain="positive"),
    Op("pow_neg", lambda a: a**-1.5, lambda a: a**-1.5, [((3, 4),), ((5,),), ((2, 3),)], domain="positive"),
    Op("scalar_ops", lambda a: (2.0 - a) * 3 / (1.5 + a * a) + 1, lambda a: (2.0 - a) * 3 / (1.5 + a * a) + 1,
       [((3, 4),), ((5,),), ((),)]),
    Op("rpow", lambda a: 2.0**a, lambda a: 2.0**a, [((3, 4),), ((5,),), ((),)]),
    Op("exp", lambda a: a.exp(), np.exp, [((3, 4),), ((5,),), ((2, 1, 3),)]),
    Op("log", lambda a: a.log(), np.log, [((3, 4),), ((5,),), ((2, 1, 3),)], domain="positive"),
    Op("tanh", lambda a: a.tanh(), np.tanh, [((3, 4),), ((5,),), ((2, 1, 3),)]),
    Op("sigmoid", lambda a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), [((3, 4),), ((5,),), ((2, 1, 3),)]),
    Op("relu", lambda a: a.relu(), lambda a: np.maximum(a, 0), [((3, 4),), ((5,),), ((2, 1, 3),)]),
    Op("abs", lambda a: a.abs(), np.abs, [((3, 4),), ((5,),), ((2, 3),)], domain="nonzero"),
    Op("sqrt", lambda a: a.sqrt(), np.sqrt, [((3, 4),), ((5,),)], domain="positive"),
    Op("sum_all", lambda a: a.sum(), np.sum, [((3, 4),), ((5,),), ((2, 3, 4),)]),
    Op("sum_axis0", lambda a: a.sum(axis=0), lambda a: a.sum(axis=0), [((3, 4),), ((5,),), ((2, 3, 4),)]),
    Op("sum_axes_keep", lambda a: a.sum(axis=(0, -1), keepdims=True), lambda a: a.sum(axis=(0, -1), keepdims=True),
       [((3, 4),), ((2, 3, 4),), ((2, 1, 3, 2),)]),
    Op("mean", lambda a: a.mean(axis=1), lambda a: a.mean(axis=1), [((3, 4),), ((2, 3, 4),), ((1, 5),)]),
    Op("var", lambda a: a.var(axis=-1, keepdims=True), lambda a: a.var(axis=-1, keepdims=True),
       [((3, 4),), ((2, 3, 4),), ((6,),)]),
    Op("max", lambda a: a.max(axis=1), lambda a: a.max(axis=1), [((3, 4),), ((2, 3, 4),), ((1, 5),)], domain="distinct"),
    Op("max_all", lambda a: a.max(), np.max, [((3, 4),), ((5,),), ((2, 3, 4),)], domain="distinct"),
    Op("min_keep", lambda a: a.min(axis=0, keepdims=True), lambda a: a.min(axis=0, keepdims=True),
       [((3, 4),), ((5,),), ((2, 3, 4),)], domain="distinct"),
    Op("reshape", lambda a: a.reshape(-1, 2), lambda a: a.reshape(-1, 2), [((3, 4),), ((6,),), ((2, 3, 2),)]),
    Op("flatten", lambda a: a.flatten(1), lambda a: a.reshape(a.shape[0], -1), [((3, 4),), ((2, 3, 4),), ((2, 1, 3, 2),)]),
    Op("T", lambda a: a.T, lambda a: a.T, [((3, 4),), ((5,),), ((2, 3, 4),)]),
    Op("transpose", lambda a: a.transpose(0, -1), lambda a: np.swapaxes(a, 0, -1), [((3, 4),), ((2, 3, 4),), ((2, 1, 3),)]),
    Op("mT", lambda a: a.mT, lambda a: np.swapaxes(a, -1, -2), [((3, 4),), ((2, 3, 4),), ((1, 2, 1),)]),
    Op("permute", lambda a: a.permute(1, 2, 0), lambda a: a.transpose(1, 2, 0), [((2, 3, 4),), ((1, 2, 3),), ((3, 1, 1),)]),
    Op("expand", lambda a: a.expand(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4)), [((3, 4),), ((4,),), ((3, 1),)]),
    Op("matmul", lambda a, b: a @ b, np.matmul,
       [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((2, 1, 3, 4), (5, 4, 2))]),
    Op("index_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [((3, 4),), ((4, 5),), ((2, 3, 4),)]),
    Op("index_int", lambda a: a[-1], lambda a: a[-1], [((3, 4),), ((5,),), ((2, 3, 4),)]),
    Op("index_repeated", lambda a: a[[0, 2, 0, 0]], lambda a: a[[0, 2, 0, 0]], [((3, 4),), ((3,),), ((3, 2, 2),)]),
    Op("index_pairs", lambda a: a[[0, 1, 1, 2], [1, 0, 0, 1]], lambda a: a[[0, 1, 1, 2], [1, 0, 0, 1]],
       [((3, 4),), ((3, 2),), ((3, 2, 2),)]),
    Op("index_mask", lambda a: a[a.data > 0], lambda a: a[a > 0], [((3, 4),), ((5,),), ((2, 3, 4),)], domain="nonzero"),
    Op("concatenate", lambda a, b: bp.concatenate([a, b, a], axis=-1), lambda a, b: np.concatenate([a, b, a], axis=-1),
       [((3, 4), (3, 2)), ((5,), (1,)), ((2, 3, 1), (2, 3, 4))]),
    Op("stack", lambda a, b: bp.stack([a, b], axis=1), lambda a, b: np.stack([a, b], axis=1),
       [((3, 4), (3, 4)), ((5,), (5,)), ((2, 3, 4), (2, 3, 4))]),
    Op("where", lambda a, b: bp.where(a.data > b.data, a, b), lambda a, b: np.where(a > b, a, b),
       [((3, 4), (3, 4)), ((3, 4), (4,)), ((5,), (2, 5))], domain="distinct"),
    Op("softmax", lambda a: safe_softmax(a), _softmax_ref, [((3, 4),), ((5,),), ((2, 3, 4),)]),
    Op("softmax_masked", lambda a: safe_softmax(_masked(a)), lambda a: _softmax_ref(_masked(a)),
       [((3, 4),), ((4, 1),), ((2, 3, 4),)]),
    Op("lstm_pointwise", lambda p, q, s: _apply(ops.LSTMPointwise, p, q, s), _lstm_pointwise_ref,
       [((3, 8), (3, 8), (3, 4)), ((1, 4), (1, 4), (1, 2)), ((2, 12), (2, 12), (2, 6))]),
]


def _inputs(op, shapes, seed):
    rng = np.random.default_rng(seed)
    arrays = []
    for k, shape in enumerate(shapes):
        a = rng.standard_normal(shape)
        if op.domain == "positive":
            a = np.abs(a) + 0.5
        elif op.domain == "nonzero":
            a = np.sign(a) * (np.abs(a) + 0.5)
        elif op.domain == "distinct":
            # well-separated values, offset per input: no ties within or across inputs
            a = (rng.permutation(a.size) * 0.37 - a.size * 0.2 + 0.1 * k).reshape(shape)
        arrays.append(a)
    return arrays


CASES = [pytest.param(op, shapes, id=f"{op.name}-{i}") for op in OPS for i, shapes in enumerate(op.shapes)]


@pytest.mark.parametrize("op, shapes", CASES)
def test_forward_matches_numpy(op, shapes, xp):
    arrays = _inputs(op, shapes, seed=0)
    tensors = [Tensor(xp.asarray(a)) for a in arrays]
    out = op.fn(*tensors)
    assert isinstance(out, Tensor)
    assert out.device == tensors[0].device, "result left the inputs' device"
    expected = op.ref(*arrays)
    got = out.numpy()
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op, shapes", CASES)
def test_gradcheck(op, shapes, xp):
    arrays = _inputs(op, shapes, seed=1)
    tensors = [Tensor(xp.asarray(a), requires_grad=True) for a in arrays]
    assert gradcheck(op.fn, *tensors)
    for t, a in zip(tensors, arrays):  # the caller's inputs are left as they were
        np.testing.assert_array_equal(t.numpy(), a)
        assert t.grad is None


@pytest.mark.parametrize("op, shapes", [c for c in CASES if c.values[0].name in ("mul", "matmul", "tanh", "sum_axis0")])
def test_float32_path(op, shapes, xp):
    """float32 in, float32 out, float32 gradients; values close to float64."""
    arrays = _inputs(op, shapes, seed=2)
    tensors = [Tensor(xp.asarray(a, dtype=np.float32), requires_grad=True) for a in arrays]
    out = op.fn(*tensors)
    assert str(out.dtype).endswith("float32")
    out.sum().backward()
    for t in tensors:
        assert str(t.grad.dtype).endswith("float32")
    np.testing.assert_allclose(out.numpy(), op.ref(*arrays), rtol=1e-5, atol=1e-5)
    assert gradcheck(op.fn, *tensors, dtype="float32")
