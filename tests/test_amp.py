"""Mixed precision: float16 and bfloat16 tensors, autocast, and loss scaling."""

import numpy as np
import pytest

import backproplab as bp
from backproplab import Tensor, amp, backend, nn, optim

from test_ops import OPS, _inputs


def _name(t):
    return backend._dtype_name(t.dtype)


# ---- 16-bit tensors wherever float32 works ----

# The Tensor primitives and their compositions (rows that other layers' ops add to the
# table are checked in 16 bits by their own tests).
CORE = {"add", "sub", "mul", "div", "neg", "pow3", "pow_half", "pow_neg", "scalar_ops", "rpow", "exp", "log",
        "tanh", "sigmoid", "relu", "abs", "sqrt", "sum_all", "sum_axis0", "sum_axes_keep", "mean", "var", "max",
        "max_all", "min_keep", "reshape", "flatten", "T", "transpose", "permute", "expand", "matmul",
        "index_slice", "index_int", "index_repeated", "index_pairs", "index_mask", "concatenate", "stack", "where"}
HALF_CASES = [pytest.param(op, op.shapes[0], dt, id=f"{op.name}-{dt}")
              for op in OPS if op.name in CORE for dt in ("float16", "bfloat16")]


@pytest.mark.parametrize("op, shapes, dtype", HALF_CASES)
def test_every_op_runs_forward_and_backward_in_16_bits(op, shapes, dtype):
    arrays = _inputs(op, shapes, seed=2)
    if op.domain == "distinct":  # keep the values apart after rounding to 8 significant bits
        arrays = [a * 4.0 for a in arrays]
    tensors = [Tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    out = op.fn(*tensors)
    assert _name(out) == dtype
    out.sum().backward()
    exact = [Tensor(t.data.astype(np.float64), requires_grad=True) for t in tensors]
    op.fn(*exact).sum().backward()
    tol = 2e-2 if dtype == "float16" else 6e-2
    np.testing.assert_allclose(out.numpy().astype(np.float64), op.fn(*[Tensor(e.data) for e in exact]).numpy(),
                               rtol=tol, atol=tol)
    for t, e in zip(tensors, exact):
        assert _name(Tensor(t.grad)) == dtype
        np.testing.assert_allclose(t.grad.astype(np.float64), e.grad, rtol=tol * 2, atol=tol * 2)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast")
def test_bfloat16_round_trip_and_range():
    values = np.array([1.0, -2.5, 0.15625, 3.0e38, 1.0e-30])
    x = Tensor(values, requires_grad=True)
    b = x.astype("bfloat16")
    assert _name(b) == "bfloat16" and b.requires_grad
    back = b.astype("float32")
    np.testing.assert_allclose(back.numpy(), values.astype(np.float32), rtol=2**-8)
    np.testing.assert_array_equal(back.numpy()[:3], values[:3])  # exactly representable
    assert np.isinf(x.half().numpy()[3])  # float16 overflows where bfloat16 does not
    assert x.half().numpy()[4] == 0.0  # and flushes what bfloat16 keeps
    back.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(5))


# ---- autocast ----


def test_autocast_runs_matmul_low_and_reductions_in_float32():
    w = Tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    x = Tensor(np.full((4, 3), 0.5, dtype=np.float32))
    with amp.autocast("float16"):
        h = x @ w
        assert _name(h) == "float16"
        assert _name(h.exp()) == "float32" and _name(h.sum()) == "float32" and _name(h**2) == "float32"
        assert _name(h.tanh()) == "float16"  # other ops: the dtype of their inputs
        loss = nn.functional.cross_entropy(h, np.array([0, 1, 0, 1]))
        assert _name(loss) == "float32"
        with amp.autocast("float16", enabled=False):
            assert _name(x @ w) == "float32"
        d = Tensor(np.ones((2, 3))) @ Tensor(np.ones((3, 2)))
        assert _name(d) == "float64"  # float64 is never cast
    assert _name(x @ w) == "float32"  # outside the block nothing changes
    loss.backward()
    assert _name(Tensor(w.grad)) == "float32"


def test_autocast_gradients_equal_the_explicit_casts():
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    x = Tensor(rng.standard_normal((4, 5)).astype(np.float32))
    with amp.autocast("bfloat16"):
        (x @ w).tanh().sum().backward()
    auto = w.grad.copy()
    w.grad = None
    (x.astype("bfloat16") @ w.astype("bfloat16")).tanh().astype("float32").sum().backward()
    np.testing.assert_array_equal(auto, w.grad)


def test_autocast_rejects_other_dtypes():
    with pytest.raises(ValueError, match="autocast: dtype must be float16 or bfloat16, got float64"):
        with amp.autocast("float64"):
            pass


# ---- GradScaler ----


def _tiny_problem():
    rng = np.random.default_rng(1)
    w = Tensor(rng.standard_normal((8, 1)).astype(np.float32) * 0.1, requires_grad=True)
    x = Tensor(rng.standard_normal((16, 8)).astype(np.float32))
    return w, x


def test_small_gradients_underflow_in_float16_and_the_scaler_recovers_them():
    w, x = _tiny_problem()

    def loss_fn():
        with amp.autocast("float16"):
            return (x @ w).tanh().mean() * 2.0**-24  # gradients around 1e-8: below float16's 6e-8

    loss_fn().backward()
    assert np.all(w.grad == 0)  # flushed to zero on the way back through float16
    exact = Tensor(w.data.astype(np.float64), requires_grad=True)
    ((Tensor(x.data.astype(np.float64)) @ exact).tanh().mean() * 2.0**-24).backward()
    assert np.abs(exact.grad).max() > 0

    w.grad = None
    opt = optim.SGD([w], lr=0.0)
    scaler = amp.GradScaler(init_scale=2.0**24)
    scaler.scale(loss_fn()).backward()
    scaler.unscale_(opt)
    np.testing.assert_allclose(w.grad, exact.grad, rtol=2e-2, atol=1e-11)


def test_a_step_with_inf_is_skipped_and_the_scale_backs_off_then_grows():
    w, x = _tiny_problem()
    opt = optim.SGD([w], lr=0.1)
    scaler = amp.GradScaler(init_scale=1024.0, growth_interval=2)
    before = w.data.copy()
    w.grad = np.full(w.shape, np.inf, dtype=np.float32)
    assert scaler.step(opt) is None
    np.testing.assert_array_equal(w.data, before)
    scaler.update()
    assert scaler.get_scale() == 512.0
    for expected in (512.0, 1024.0, 1024.0, 2048.0):  # doubles after 2 good steps in a row
        w.grad = np.ones(w.shape, dtype=np.float32) * scaler.get_scale()
        scaler.step(opt)
        scaler.update()
        assert scaler.get_scale() == expected
    np.testing.assert_allclose(w.data, before - 4 * 0.1, rtol=1e-6)  # each step saw gradient 1


def test_scaler_errors():
    w = Tensor(np.ones(3), requires_grad=True)
    w.grad = np.ones(3)
    with pytest.raises(TypeError, match="parameter 0 \\(shape \\(3,\\)\\) is float64; loss scaling is not needed"):
        amp.GradScaler().unscale_(optim.SGD([w], lr=0.1))
    v = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    v.grad = np.ones(3, dtype=np.float32)
    opt, scaler = optim.SGD([v], lr=0.1), amp.GradScaler()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        scaler.unscale_(opt)
    with pytest.raises(ValueError, match="backoff_factor must be in"):
        amp.GradScaler(backoff_factor=2.0)


def _train_digits(dtype, scaler, epochs=15):
    split = bp.data.load_digits(seed=0, dtype="float32")
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(64, 64, rng=rng, dtype="float32"), nn.ReLU(),
                          nn.Linear(64, 10, rng=rng, dtype="float32"))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    X, y = split.X_train, split.y_train
    order = np.random.default_rng(1)
    for _ in range(epochs):
        idx = order.permutation(len(X))
        for k in range(0, len(X), 64):
            b = idx[k:k + 64]
            opt.zero_grad()
            if dtype is None:
                loss = nn.functional.cross_entropy(model(Tensor(X[b])), y[b])
            else:
                with amp.autocast(dtype):
                    loss = nn.functional.cross_entropy(model(Tensor(X[b])), y[b])
            if scaler is None:
                loss.backward()
                opt.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
    with bp.no_grad():
        pred = model(Tensor(split.X_test)).numpy().argmax(axis=1)
    for p in model.parameters():
        assert _name(p) == "float32"  # master weights stay float32
    return float((pred == split.y_test).mean())


def test_digits_in_float16_with_the_scaler_and_in_bfloat16_match_float32():
    full = _train_digits(None, None)
    half = _train_digits("float16", amp.GradScaler())
    brain = _train_digits("bfloat16", None)
    assert full > 0.9
    assert abs(half - full) <= 0.02
    assert abs(brain - full) <= 0.03
