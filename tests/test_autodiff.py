"""The engine's contract: order, accumulation, graph release, no_grad, devices,
and clear errors for bad input."""

import re

import numpy as np
import pytest

import backproplab as bp
from backproplab import Tensor, gradcheck, GradcheckError
from backproplab.autodiff import Function
from backproplab.tensor import _apply


def test_diamond_node_used_twice(xp):
    # y = a*b + a : a reaches y along two paths, dy/da = b + 1, dy/db = a
    a = Tensor(xp.asarray([2.0, -1.0]), requires_grad=True)
    b = Tensor(xp.asarray([3.0, 4.0]), requires_grad=True)
    h = a * b
    y = (h + a).sum()
    y.backward()
    np.testing.assert_allclose(bp.backend.to_numpy(a.grad), [4.0, 5.0])
    np.testing.assert_allclose(bp.backend.to_numpy(b.grad), [2.0, -1.0])


def test_intermediate_used_twice():
    # z = (x^2) * (x^2): the shared node must be finished before it is passed on
    x = Tensor([1.5], requires_grad=True)
    s = x * x
    z = (s * s).sum()
    z.backward()
    np.testing.assert_allclose(x.grad, 4 * 1.5**3)


def test_deep_chain_does_not_recurse():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001**20_000], rtol=1e-9)


def test_value_deep_chain_100k():
    x = bp.Value(0.5)
    y = x
    for _ in range(100_000):
        y = y + 0.0
    y.backward()
    assert x.grad == 1.0


def test_gradients_accumulate_over_two_backward_calls_on_fresh_graphs(xp):
    w = Tensor(xp.asarray([1.0, 2.0, 3.0]), requires_grad=True)
    (w * 2.0).sum().backward()
    (w * w).sum().backward()  # a new graph: adds 2w to the 2 already there
    np.testing.assert_allclose(bp.backend.to_numpy(w.grad), [4.0, 6.0, 8.0])


def test_second_backward_through_same_graph_raises():
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    first = w.grad.copy()
    with pytest.raises(RuntimeError, match="already backpropagated"):
        loss.backward()
    np.testing.assert_array_equal(w.grad, first)  # nothing was added before the error


def test_retain_graph_allows_a_second_pass():
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(w.grad, [4.0, 8.0])


def test_leaf_gradients_do_not_share_memory():
    # Add passes one array to both inputs; each leaf must own its .grad, or the
    # next accumulation into one would change the other.
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad += 10.0
    np.testing.assert_allclose(b.grad, [1.0, 1.0])


def test_upstream_gradient_array_is_not_aliased():
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    upstream = np.full((2, 2), 3.0)
    x.reshape(4).reshape(2, 2).backward(upstream)
    x.grad += 1.0
    np.testing.assert_array_equal(upstream, np.full((2, 2), 3.0))


def test_no_grad_records_nothing():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with bp.no_grad():
        y = (w * 3.0).sum()
        assert not bp.is_grad_enabled()
    assert bp.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_detach_cuts_the_graph():
    w = Tensor([2.0], requires_grad=True)
    y = (w * w.detach()).sum()  # d/dw = w.detach() only
    y.backward()
    np.testing.assert_allclose(w.grad, [2.0])


def test_retain_grad_keeps_intermediate_gradient():
    x = Tensor([1.0, -2.0], requires_grad=True)
    h = (x * 3.0).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * np.array([3.0, -6.0]))
    np.testing.assert_allclose(x.grad, 3 * 2 * np.array([3.0, -6.0]))


def test_float32_and_float64_mix_gives_each_input_its_own_dtype():
    a = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_default_dtype_and_integer_data():
    assert Tensor([1.0, 2.0]).dtype == np.float64
    assert Tensor([1, 2]).dtype == np.int64
    assert Tensor([1, 2], dtype="float32").dtype == np.float32


# ---- gradcheck: the tester is tested ----


class WrongTanh(Function):
    """tanh with the classic slip: 1 - x^2 instead of 1 - tanh(x)^2."""

    def forward(self, x):
        self.x = x
        return np.tanh(x)

    def backward(self, g):
        return (g * (1 - self.x**2),)


def test_gradcheck_catches_a_wrong_backward():
    x = Tensor(np.linspace(-1.5, 1.5, 6).reshape(2, 3), requires_grad=True)
    with pytest.raises(GradcheckError) as err:
        gradcheck(lambda t: _apply(WrongTanh, t), x)
    msg = str(err.value)
    assert "input 0" in msg and "shape (2, 3)" in msg
    assert re.search(r"worst at index \(\d, \d\): numerical -?[\d.e+-]+, analytic -?[\d.e+-]+", msg)
    assert "6 of 6" in msg or "of 6 gradient entries differ" in msg


def test_gradcheck_catches_a_missing_accumulation():
    class AssigningAdd(Function):  # returns a gradient for one input only
        def forward(self, a, b):
            return a + b

        def backward(self, g):
            return g, None

    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(lambda a, b: _apply(AssigningAdd, a, b), a, b)


def test_gradcheck_does_not_mutate_inputs_and_accepts_arrays():
    x = np.array([[0.3, -0.2], [1.1, 0.5]])
    before = x.copy()
    assert gradcheck(lambda t: (t * t).tanh(), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_matches_known_derivative():
    x = np.array([0.5, -1.0, 2.0])
    g = bp.numerical_gradient(lambda v: np.sin(v), x, upstream=np.ones(3))
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-8)
    np.testing.assert_array_equal(x, [0.5, -1.0, 2.0])


# ---- bad input: clear errors naming the op and the shapes ----


def test_matmul_mismatch_names_shapes():
    a, b = Tensor(np.ones((32, 100))), Tensor(np.ones((784, 128)))
    with pytest.raises(ValueError, match=r"matmul: shapes \(32, 100\) and \(784, 128\) do not align.*100 columns.*784 rows"):
        a @ b


def test_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(3, 4\) and \(5,\) cannot be broadcast"):
        Tensor(np.ones((3, 4))) + Tensor(np.ones(5))
    with pytest.raises(ValueError, match=r"mul: shapes \(2, 3\) and \(3, 2\)"):
        Tensor(np.ones((2, 3))) * np.ones((3, 2))


def test_mixing_devices_is_an_error():
    strict = pytest.importorskip("array_api_strict")
    a = Tensor(np.ones(3))
    b = Tensor(strict.asarray([1.0, 2.0, 3.0], device=strict.Device("device1")))
    c = Tensor(strict.asarray([1.0, 2.0, 3.0], device=strict.Device("device2")))
    with pytest.raises((RuntimeError, TypeError), match="different"):
        a + b
    with pytest.raises(RuntimeError, match=r"add: operands are on different devices.*device1.*device2"):
        b + c
    with pytest.raises(RuntimeError, match="matmul: operands are on different devices"):
        b.reshape(3, 1) @ c.reshape(1, 3)


def test_requires_grad_on_integers_is_an_error():
    with pytest.raises(TypeError, match="requires_grad=True needs a floating-point tensor, got dtype int64"):
        Tensor(np.arange(3), requires_grad=True)


def test_backward_on_non_scalar_needs_upstream_gradient():
    y = Tensor(np.ones((3, 4)), requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match=r"non-scalar tensor of shape \(3, 4\) needs an upstream gradient"):
        y.backward()
    with pytest.raises(ValueError, match=r"grad has shape \(4, 3\), but the tensor has shape \(3, 4\)"):
        y.backward(np.ones((4, 3)))


@pytest.mark.parametrize("data", [np.ones(2, dtype=np.complex128), np.array(["a", "b"]), [[1, 2], [3]]])
def test_unsupported_dtype_is_an_error(data):
    with pytest.raises(TypeError, match="unsupported dtype|could not make a numeric array|expected numbers"):
        Tensor(data)


def test_index_out_of_range_names_axis_and_size():
    t = Tensor(np.ones((5, 3)), requires_grad=True)
    with pytest.raises(IndexError, match=r"index 7 is out of range for axis 0 of size 5"):
        t[np.array([0, 7])]


def test_reduction_axis_out_of_range():
    with pytest.raises(ValueError, match=r"sum: axis 2 is out of range for a tensor of shape \(3, 4\)"):
        Tensor(np.ones((3, 4))).sum(axis=2)


def test_reshape_mismatch():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(3, 4\) \(12 entries\) into \(5, -1\)"):
        Tensor(np.ones((3, 4))).reshape(5, -1)


def test_cuda_without_cupy_or_device_is_a_clear_error():
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy is installed here")
    except ImportError:
        pass
    with pytest.raises(RuntimeError, match="device 'cuda' needs CuPy"):
        Tensor([1.0], device="cuda")


@pytest.mark.gpu
def test_cuda_round_trip_and_gradients():
    x = Tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True).to("cuda")
    assert x.device.startswith("cuda") and x.requires_grad
    y = (x.tanh() * 2.0).sum()
    y.backward()
    np.testing.assert_allclose(bp.backend.to_numpy(x.grad), 2 * (1 - np.tanh(x.numpy()) ** 2), rtol=1e-12)
    assert type(x.grad).__module__.startswith("cupy")


def test_to_moves_between_devices_of_a_library():
    strict = pytest.importorskip("array_api_strict")
    t = Tensor([1.0, 2.0], requires_grad=True).to(strict.Device("device1"))
    assert "device1" in t.device and t.requires_grad
    back = t.to("cpu")
    assert back.device == "cpu" and isinstance(back.data, np.ndarray)
    np.testing.assert_array_equal(back.data, [1.0, 2.0])
