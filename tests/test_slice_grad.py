"""Slices send their gradient back as a ``SliceGrad``, which the engine adds into one
buffer in place; gradients it did not allocate itself are never changed in place."""

import numpy as np
import pytest

import backproplab as bp
from backproplab import Tensor
from backproplab.autodiff import SliceGrad, _add_grad
from backproplab.ops import Index
from backproplab.tensor import _apply


def _slice(t, key):
    return _apply(Index, t, key=key, advanced=False)


def test_many_row_blocks_of_one_tensor_get_their_own_gradients(xp):
    """T row blocks of one array, each used in its own product (the steps of a sequence)."""
    rng = np.random.default_rng(0)
    x0, w0 = rng.standard_normal((12, 3)), rng.standard_normal((3, 2))
    x = Tensor(xp.asarray(x0), requires_grad=True)
    w = Tensor(xp.asarray(w0), requires_grad=True)
    loss = None
    for t in range(6):
        part = (_slice(x, (slice(2 * t, 2 * t + 2), Ellipsis)) @ w).sum() * float(t + 1)
        loss = part if loss is None else loss + part
    loss.backward()
    scale = np.repeat(np.arange(1, 7), 2)[:, None]
    np.testing.assert_allclose(bp.backend.to_numpy(x.grad), scale * w0.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(bp.backend.to_numpy(w.grad), (scale * x0).sum(axis=0)[:, None] * np.ones((1, 2)),
                               rtol=1e-12)


def test_overlapping_slices_integer_indices_and_steps_add_up():
    x0 = np.arange(20.0).reshape(4, 5)
    x = Tensor(x0, requires_grad=True)
    loss = x[0:3].sum() + x[1:4].sum() * 2.0 + x[2].sum() * 3.0 + x[:, ::2].sum() * 4.0 + x[1, 1] * 5.0
    loss.backward()
    expected = np.zeros((4, 5))
    expected[0:3] += 1
    expected[1:4] += 2
    expected[2] += 3
    expected[:, ::2] += 4
    expected[1, 1] += 5
    np.testing.assert_array_equal(x.grad, expected)


def test_slices_match_central_differences():
    x0 = np.random.default_rng(1).standard_normal((6, 4))
    assert bp.gradcheck(lambda x: (x[0:4].tanh() * x[2:6] + x[1:5, 1:3].sum() * x[3]).sum(), Tensor(x0, requires_grad=True))


def test_a_gradient_shared_with_another_input_is_not_changed_in_place():
    """Add's backward hands the same array to both inputs; a slice's gradient added to
    one of them afterwards must not reach the other."""
    a = Tensor(np.zeros((3, 2)), requires_grad=True)
    b = Tensor(np.zeros((3, 2)), requires_grad=True)
    loss = (a + b).sum() + a[0:2].sum() * 3.0
    loss.backward()
    np.testing.assert_array_equal(b.grad, np.ones((3, 2)))
    np.testing.assert_array_equal(a.grad, [[4.0, 4.0], [4.0, 4.0], [1.0, 1.0]])


def test_the_upstream_gradient_given_to_backward_is_not_changed():
    x = Tensor(np.zeros((4, 2)), requires_grad=True)
    y = x * 1.0
    out = bp.concatenate([y[0:2], y[1:3]], axis=0)  # (4, 2): y's gradient from two slices
    g = np.arange(8.0).reshape(4, 2)
    keep = g.copy()
    out.backward(g)
    np.testing.assert_array_equal(g, keep)
    np.testing.assert_array_equal(x.grad, [[0, 1], [2 + 4, 3 + 5], [6, 7], [0, 0]])


def test_slice_contributions_go_into_one_buffer_in_place():
    grads, owned = {}, set()
    values = [np.full((2, 3), float(t)) for t in range(5)]
    _add_grad(grads, owned, 7, SliceGrad((10, 3), (slice(0, 2), Ellipsis), values[0]))
    buffer = grads[7]
    for t in range(1, 5):
        _add_grad(grads, owned, 7, SliceGrad((10, 3), (slice(2 * t, 2 * t + 2), Ellipsis), values[t]))
    assert grads[7] is buffer
    np.testing.assert_array_equal(buffer, np.repeat(np.arange(5.0), 2)[:, None] * np.ones((1, 3)))
    assert all(v[0, 0] == t for t, v in enumerate(values))  # the contributions themselves are untouched


def test_a_dense_gradient_it_did_not_make_is_copied_before_a_slice_is_added():
    grads, owned = {}, set()
    given = np.ones((4, 2))
    _add_grad(grads, owned, 1, given)
    _add_grad(grads, owned, 1, SliceGrad((4, 2), (slice(1, 2), Ellipsis), np.full((1, 2), 5.0)))
    np.testing.assert_array_equal(given, np.ones((4, 2)))
    np.testing.assert_array_equal(grads[1], [[1, 1], [6, 6], [1, 1], [1, 1]])


def test_sums_of_dense_gradients_are_added_in_place_after_the_first_one():
    grads, owned = {}, set()
    first, second, third = np.ones(3), np.full(3, 2.0), np.full(3, 3.0)
    _add_grad(grads, owned, 1, first)
    _add_grad(grads, owned, 1, second)
    total = grads[1]
    _add_grad(grads, owned, 1, third)
    assert grads[1] is total and total is not first and total is not second
    np.testing.assert_array_equal(total, [6.0, 6.0, 6.0])
    np.testing.assert_array_equal(first, np.ones(3))
    np.testing.assert_array_equal(second, np.full(3, 2.0))


def test_gradients_of_gradients_through_slices():
    """Under create_graph a slice's backward is a recorded op (no buffer changed in place)."""
    x0 = np.random.default_rng(2).standard_normal(5)
    x = Tensor(x0, requires_grad=True)
    (gx,) = bp.grad((x[0:3] ** 3).sum() + (x[2:5] ** 3).sum(), [x], create_graph=True)
    (hx,) = bp.grad(gx.sum(), [x])
    counts = np.array([1, 1, 2, 1, 1])
    np.testing.assert_allclose(gx.numpy(), 3 * counts * x0**2, rtol=1e-12)
    np.testing.assert_allclose(hx.numpy(), 6 * counts * x0, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_slice_of_another_dtype_is_cast_to_its_input(dtype):
    x = Tensor(np.ones((3, 2)), requires_grad=True, dtype=dtype)
    other = "float64" if dtype == "float32" else "float32"
    loss = (x[0:2].astype(other) * 2.0).sum()
    loss.backward()
    assert x.grad.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(x.grad, [[2, 2], [2, 2], [0, 0]])


def test_a_zero_dimensional_tensor_used_many_times_gets_every_contribution():
    """NumPy returns the sum of two 0-d arrays as a scalar: nothing to add in place."""
    x = Tensor(np.asarray(0.5), requires_grad=True)
    loss = x * 1.0 + x * 2.0 + x * 3.0 + x[()] * 4.0 + x[...] * 5.0
    loss.backward()
    assert float(x.grad) == 15.0
