"""Tests of backproplab.manual, the hand-written forward/backward pairs of lessons 4 and 5.

Every backward is checked against float64 central differences with a random upstream
gradient, and against backproplab.Tensor's autodiff; every function runs on each array
backend (NumPy, array-api-strict on a non-default device, CuPy where there is a GPU) and
returns arrays of its input's library; bad input gets an error that names the shapes.
"""

import numpy as np
import pytest

from backproplab import Tensor, manual, numerical_gradient


def rel_error(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def away_from_zero(rng, shape, margin=0.1):
    """Normal entries with |x| >= margin: central differences must not straddle ReLU's kink."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-300) * margin, x)


# ---- gradient checks (float64 central differences, random upstream gradient) ----

# name -> (forward(x), backward(dout, x, out)), for the elementwise activations
ACTIVATIONS = {
    "relu": (manual.relu_forward, lambda dout, x, out: manual.relu_backward(dout, x)),
    "sigmoid": (manual.sigmoid_forward, lambda dout, x, out: manual.sigmoid_backward(dout, out)),
    "tanh": (manual.tanh_forward, lambda dout, x, out: manual.tanh_backward(dout, out)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(6, 5), (7,), (2, 3, 4)])
def test_activation_backward_matches_central_differences(name, shape):
    forward, backward = ACTIVATIONS[name]
    rng = np.random.default_rng(0)
    x = away_from_zero(rng, shape) * 2
    upstream = rng.standard_normal(shape)
    analytic = backward(upstream, x, forward(x))
    numeric = numerical_gradient(forward, x, upstream=upstream)
    assert analytic.shape == x.shape
    assert rel_error(analytic, numeric) < 1e-8


@pytest.mark.parametrize("n, d_in, d_out", [(5, 4, 3), (1, 3, 2), (6, 4, 4)])
def test_linear_backward_matches_central_differences(n, d_in, d_out):
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((n, d_in)), rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out)
    upstream = rng.standard_normal((n, d_out))
    dx, dw, db = manual.linear_backward(upstream, x, w)
    assert (dx.shape, dw.shape, db.shape) == (x.shape, w.shape, b.shape)
    assert rel_error(dx, numerical_gradient(lambda x_: manual.linear_forward(x_, w, b), x, upstream)) < 1e-8
    assert rel_error(dw, numerical_gradient(lambda w_: manual.linear_forward(x, w_, b), w, upstream)) < 1e-8
    assert rel_error(db, numerical_gradient(lambda b_: manual.linear_forward(x, w, b_), b, upstream)) < 1e-8


@pytest.mark.parametrize("n, c", [(8, 5), (1, 3), (4, 2)])
def test_softmax_cross_entropy_gradient_matches_central_differences(n, c):
    rng = np.random.default_rng(2)
    logits, y = rng.standard_normal((n, c)) * 3, rng.integers(0, c, size=n)
    loss, dlogits = manual.softmax_cross_entropy(logits, y)
    numeric = numerical_gradient(lambda z: manual.softmax_cross_entropy(z, y)[0], logits)
    assert rel_error(dlogits, numeric) < 1e-8
    p = manual.softmax(logits)
    np.testing.assert_allclose(loss, -np.mean(np.log(p[np.arange(n), y])), rtol=1e-12)
    np.testing.assert_allclose(dlogits, (p - np.eye(c)[y]) / n, rtol=1e-12, atol=1e-15)


def test_softmax_jacobian_matches_central_differences():
    rng = np.random.default_rng(3)
    z, upstream = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    p = manual.softmax(z)
    # d(sum G * p)/dz = p * (G - sum_j G_j p_j), row by row
    analytic = p * (upstream - np.sum(upstream * p, axis=1, keepdims=True))
    assert rel_error(analytic, numerical_gradient(manual.softmax, z, upstream=upstream)) < 1e-8


def test_mlp_gradients_match_central_differences_and_autodiff():
    rng = np.random.default_rng(4)
    sizes = (5, 7, 6, 3)
    params = [(rng.standard_normal((a, b)) * 0.7, rng.standard_normal(b) * 0.1)
              for a, b in zip(sizes[:-1], sizes[1:])]
    x, y = rng.standard_normal((9, 5)), rng.integers(0, 3, size=9)
    loss, grads = manual.mlp_loss_and_grads(x, y, params)
    np.testing.assert_allclose(loss, manual.softmax_cross_entropy(manual.mlp_forward(x, params), y)[0])

    def loss_with(k, which):
        def f(value):
            changed = [list(pair) for pair in params]
            changed[k][which] = value
            return manual.mlp_loss_and_grads(x, y, changed)[0]
        return f

    for k, (dw, db) in enumerate(grads):
        assert rel_error(dw, numerical_gradient(loss_with(k, 0), params[k][0])) < 1e-7
        assert rel_error(db, numerical_gradient(loss_with(k, 1), params[k][1])) < 1e-7

    tensors = [(Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)) for w, b in params]
    h = Tensor(x)
    for k, (w, b) in enumerate(tensors):
        h = h @ w + b
        if k < len(tensors) - 1:
            h = h.relu()
    shifted = h - h.max(axis=1, keepdims=True)
    log_p = shifted - shifted.exp().sum(axis=1, keepdims=True).log()
    loss_t = -log_p[np.arange(9), y].mean()
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    for (dw, db), (w, b) in zip(grads, tensors):
        np.testing.assert_allclose(dw, w.grad, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(db, b.grad, rtol=1e-10, atol=1e-13)


# ---- broadcasting: sum_to_shape is the backward of Tensor's broadcast ----

@pytest.mark.parametrize("shape", [(3,), (4, 1), (1, 3), (2, 1, 3), (), (2, 4, 3), (1, 1), (1,)])
def test_sum_to_shape_is_the_backward_of_broadcasting(shape):
    rng = np.random.default_rng(5)
    grad = rng.standard_normal((2, 4, 3))
    t = Tensor(rng.standard_normal(shape), requires_grad=True)
    (t + Tensor(np.zeros((2, 4, 3)))).backward(grad)
    ours = manual.sum_to_shape(grad, shape)
    assert ours.shape == shape
    np.testing.assert_allclose(ours, t.grad, rtol=1e-12)
    # the adjoint identity <G, broadcast(a)> = <sum_to_shape(G), a>
    a = rng.standard_normal(shape)
    assert np.sum(grad * np.broadcast_to(a, grad.shape)) == pytest.approx(np.sum(ours * a))


def test_sum_to_shape_keeps_a_gradient_of_the_right_shape_unchanged():
    grad = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(manual.sum_to_shape(grad, (2, 3)), grad)


# ---- the formulas by value, on small hand-made inputs ----

def test_relu_backward_passes_gradient_only_where_x_is_positive():
    x = np.array([-2.0, -0.0, 0.0, 1e-12, 3.0])
    dout = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(manual.relu_backward(dout, x), [0.0, 0.0, 0.0, 4.0, 5.0])
    np.testing.assert_array_equal(manual.relu_forward(x), [0.0, 0.0, 0.0, 1e-12, 3.0])


def test_sigmoid_is_stable_and_exact_at_the_extremes():
    x = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):  # underflow to 0 is fine
        y = manual.sigmoid_forward(x)
    np.testing.assert_allclose(y, [0.0, np.exp(-40.0), 0.5, 1.0, 1.0], rtol=1e-12, atol=0)
    np.testing.assert_allclose(manual.sigmoid_backward(np.ones(5), y), y * (1 - y))


def test_softmax_is_stable_for_large_logits():
    z = np.array([[1000.0, 999.0, 998.0], [-1000.0, -1000.0, -1000.0]])
    with np.errstate(over="raise", invalid="raise"):
        p = manual.softmax(z)
    np.testing.assert_allclose(p[0], manual.softmax(np.array([[2.0, 1.0, 0.0]]))[0], rtol=1e-12)
    np.testing.assert_allclose(p[1], [1 / 3] * 3, rtol=1e-12)
    loss, dlogits = manual.softmax_cross_entropy(z, np.array([0, 2]))
    assert np.isfinite(loss) and np.all(np.isfinite(dlogits))


def test_softmax_along_another_axis():
    z = np.random.default_rng(6).standard_normal((3, 4))
    np.testing.assert_allclose(manual.softmax(z, axis=0), manual.softmax(z.T).T, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_functions_keep_the_float_dtype(dtype):
    rng = np.random.default_rng(7)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in [(4, 3), (3, 2), (2,)])
    dout = rng.standard_normal((4, 2)).astype(dtype)
    outputs = [manual.linear_forward(x, w, b), *manual.linear_backward(dout, x, w),
               manual.relu_forward(x), manual.relu_backward(x, x),
               manual.sigmoid_forward(x), manual.sigmoid_backward(x, x),
               manual.tanh_forward(x), manual.tanh_backward(x, x), manual.softmax(x),
               *manual.softmax_cross_entropy(x, np.array([0, 1, 2, 0])),
               manual.sum_to_shape(x, (3,))]
    assert [o.dtype for o in outputs] == [dtype] * len(outputs)


def test_inputs_are_never_modified():
    rng = np.random.default_rng(8)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    dout, y = rng.standard_normal((4, 2)), np.array([0, 1, 1, 0])
    params = [(w, b)]
    before = [a.copy() for a in (x, w, b, dout, y)]
    manual.linear_forward(x, w, b)
    manual.linear_backward(dout, x, w)
    manual.relu_backward(x, x)
    manual.sigmoid_backward(x, x)
    manual.tanh_backward(x, x)
    manual.softmax(x)
    manual.softmax_cross_entropy(dout, y)
    manual.sum_to_shape(x, (3,))
    manual.mlp_loss_and_grads(x, y, params)
    for a, copy in zip((x, w, b, dout, y), before):
        np.testing.assert_array_equal(a, copy)


# ---- every array backend: same values, results stay in the input's library ----

def test_every_function_runs_on_the_backend(xp):
    rng = np.random.default_rng(9)
    arrays = {"x": rng.standard_normal((5, 4)), "w": rng.standard_normal((4, 3)),
              "b": rng.standard_normal(3), "dout": rng.standard_normal((5, 3)),
              "y": np.array([0, 2, 1, 1, 0])}
    on = {k: xp.asarray(v) for k, v in arrays.items()}
    calls = {
        "linear_forward": lambda a: manual.linear_forward(a["x"], a["w"], a["b"]),
        "linear_backward": lambda a: manual.linear_backward(a["dout"], a["x"], a["w"]),
        "relu": lambda a: (manual.relu_forward(a["x"]), manual.relu_backward(a["x"], a["x"])),
        "sigmoid": lambda a: (manual.sigmoid_forward(a["x"]), manual.sigmoid_backward(a["x"], a["x"])),
        "tanh": lambda a: (manual.tanh_forward(a["x"]), manual.tanh_backward(a["x"], a["x"])),
        "softmax": lambda a: (manual.softmax(a["x"]), manual.softmax(a["x"], axis=0)),
        "softmax_cross_entropy": lambda a: manual.softmax_cross_entropy(a["dout"], a["y"]),
        "sum_to_shape": lambda a: (manual.sum_to_shape(a["x"], (4,)), manual.sum_to_shape(a["x"], (5, 1)),
                                   manual.sum_to_shape(a["x"], ())),
        "mlp": lambda a: manual.mlp_loss_and_grads(a["x"], a["y"], [(a["w"], a["b"])]),
    }
    for name, call in calls.items():
        expected, got = _flatten(call(arrays)), _flatten(call(on))
        for e, g in zip(expected, got, strict=True):
            assert type(g).__module__.split(".")[0] == xp.xp.__name__.split(".")[0], name
            if xp.name != "numpy":
                assert g.device == xp.device, name
            np.testing.assert_allclose(_to_numpy(g), e, rtol=1e-12, atol=1e-14, err_msg=name)


def _flatten(value):
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _flatten(v)]
    return [value]


def _to_numpy(a):
    from backproplab import backend
    return backend.to_numpy(a)


# ---- clear errors for bad input ----

@pytest.mark.parametrize("call, message", [
    (lambda: manual.linear_forward(np.ones((32, 100)), np.ones((784, 128)), np.ones(128)),
     r"w of shape \(784, 128\) expects 784 input features, got 100 \(x shape \(32, 100\)\)"),
    (lambda: manual.linear_forward(np.ones((2, 3)), np.ones((3, 4)), np.ones(3)),
     r"b must have shape \(4,\) to match w of shape \(3, 4\), got \(3,\)"),
    (lambda: manual.linear_forward(np.ones(3), np.ones((3, 4)), np.ones(4)),
     r"x must be 2-D \(N, D_in\), got shape \(3,\)"),
    (lambda: manual.linear_backward(np.ones((2, 3)), np.ones((2, 3)), np.ones((3, 4))),
     r"dout must have the output's shape \(2, 4\).*got \(2, 3\)"),
    (lambda: manual.relu_backward(np.ones((2, 3)), np.ones((3, 2))),
     r"relu_backward: dout has shape \(2, 3\) but x has shape \(3, 2\)"),
    (lambda: manual.sigmoid_backward(np.ones(3), np.ones(4)),
     r"sigmoid_backward: dout has shape \(3,\) but out has shape \(4,\)"),
    (lambda: manual.tanh_backward(np.ones(3), np.ones((3, 1))), r"tanh_backward: dout has shape"),
    (lambda: manual.softmax_cross_entropy(np.ones((4, 3)), np.array([0, 1, 3, 2])),
     r"labels must be in 0..2 for 3 classes, got values from 0 to 3"),
    (lambda: manual.softmax_cross_entropy(np.ones((4, 3)), np.array([0, 1, 2])),
     r"one class label per row of logits, shape \(4,\), got \(3,\)"),
    (lambda: manual.softmax_cross_entropy(np.ones(3), np.array([0])), r"logits must be 2-D"),
    (lambda: manual.sum_to_shape(np.ones((4, 3)), (2,)),
     r"shape \(2,\) does not broadcast to the gradient's shape \(4, 3\)"),
    (lambda: manual.sum_to_shape(np.ones(3), (1, 3)),
     r"shape \(1, 3\) does not broadcast to the gradient's shape \(3,\)"),
    (lambda: manual.mlp_forward(np.ones((2, 3)), [(np.ones((3, 4)), np.ones(4)), (np.ones((5, 2)), np.ones(2))]),
     r"layer 1 has W of shape \(5, 2\), expecting 4 inputs from layer 0"),
    (lambda: manual.mlp_loss_and_grads(np.ones((2, 3)), np.array([0, 1]), []), r"non-empty list"),
])
def test_bad_input_gets_an_error_naming_the_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_float_labels_are_rejected():
    with pytest.raises(TypeError, match="y must be integer class labels, got dtype float64"):
        manual.softmax_cross_entropy(np.ones((2, 3)), np.array([0.0, 1.0]))
