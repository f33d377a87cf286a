"""backproplab.nondiff: straight-through estimators, the REINFORCE surrogate and FGSM.

The STE ops are checked exactly (forward against NumPy, backward against what the docstring
says it passes through), on every backend of the ``xp`` fixture. The REINFORCE estimate is
checked statistically: over many draws with a fixed seed its mean lies within 5 standard
errors of the exact gradient of the expected reward, the standard error computed from the
estimator's exact variance. FGSM is checked on a model trained on the digits."""

import numpy as np
import pytest

import backproplab as bp
from backproplab import Tensor, nn, optim
from backproplab import nondiff as nd
from backproplab.nn import functional as F

# values with the edge cases: the clip boundary +-1 itself, 0, halves (rounded to even)
EDGES = np.array([-3.0, -1.5, -1.0, -0.999, -0.5, -0.0, 0.0, 0.25, 0.5, 1.0, 1.0001, 2.5, 7.3])


def _xs(xp, seed=0):
    rng = np.random.default_rng(seed)
    return [EDGES, 2.0 * rng.standard_normal((4, 5)), rng.uniform(-1.5, 1.5, (2, 3, 4))]


def _backward(fn, x, xp, seed=1, dtype=None):
    t = Tensor(xp.asarray(x, dtype=dtype), requires_grad=True)
    out = fn(t)
    g = np.random.default_rng(seed).standard_normal(x.shape).astype(out.numpy().dtype)
    (out * Tensor(xp.asarray(g))).sum().backward()
    return t, out, g


@pytest.mark.parametrize("clip", [False, True])
def test_round_ste_forward_and_backward_exact(xp, clip):
    for x in _xs(xp):
        t, out, g = _backward(lambda a: nd.round_ste(a, clip=clip), x, xp)
        assert out.device == t.device, "result left the input's device"
        np.testing.assert_array_equal(out.numpy(), np.round(x))  # halves to even, as NumPy
        expected = g * (np.abs(x) <= 1) if clip else g
        np.testing.assert_array_equal(bp.backend.to_numpy(t.grad), expected)


@pytest.mark.parametrize("clip", [True, False])
def test_sign_ste_forward_and_backward_exact(xp, clip):
    for x in _xs(xp):
        t, out, g = _backward(lambda a: nd.sign_ste(a, clip=clip), x, xp)
        assert out.device == t.device
        np.testing.assert_array_equal(out.numpy(), np.where(x >= 0, 1.0, -1.0))  # sign(0) = +1
        assert set(np.unique(out.numpy())) <= {-1.0, 1.0}
        expected = g * (np.abs(x) <= 1) if clip else g
        np.testing.assert_array_equal(bp.backend.to_numpy(t.grad), expected)


def test_sign_ste_clips_by_default_and_round_ste_does_not():
    x = Tensor(np.array([-2.0, -1.0, 0.3, 1.0, 2.0]), requires_grad=True)
    nd.sign_ste(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])
    x.grad = None
    nd.round_ste(x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(5))


def test_ste_keeps_float32(xp):
    x = np.array([-1.2, -0.4, 0.6, 1.7])
    for fn in (nd.round_ste, nd.sign_ste):
        t, out, _ = _backward(fn, x, xp, dtype=np.float32)
        assert str(out.dtype).endswith("float32") and str(t.grad.dtype).endswith("float32")


def test_ste_is_not_the_true_derivative():
    # central differences of round and sign are 0 away from the jumps: what STE replaces
    x = np.array([-1.3, -0.2, 0.4, 2.2])
    assert np.all(bp.numerical_gradient(np.round, x) == 0)
    assert np.all(bp.numerical_gradient(lambda a: np.where(a >= 0, 1.0, -1.0), x) == 0)


def test_ste_inside_a_network_reaches_the_latent_weights():
    rng = np.random.default_rng(0)
    w = Tensor(rng.uniform(-1.5, 1.5, (3, 2)), requires_grad=True)
    x, dout = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    (Tensor(x) @ nd.sign_ste(w) * Tensor(dout)).sum().backward()
    np.testing.assert_array_equal(w.grad, (x.T @ dout) * (np.abs(w.data) <= 1))


@pytest.mark.parametrize("fn, clip", [(nd.round_ste, False), (nd.round_ste, True), (nd.sign_ste, True)])
def test_ste_gradients_of_gradients(fn, clip):
    # y = sum(ste(x * w) * w): dy/dx = w^2 m (m the 0/1 mask at x * w), so d(sum dy/dx)/dw = 2 w m
    x = Tensor(np.array([-2.0, -0.5, 0.3, 1.2, 0.8]), requires_grad=True)
    w = Tensor(np.array([0.5, 1.0, -1.5, 2.0, 0.9]), requires_grad=True)
    y = (fn(x * w, clip=clip) * w).sum()
    (gx,) = bp.grad(y, [x], create_graph=True)
    mask = (np.abs(x.data * w.data) <= 1) if clip else np.ones(5)
    np.testing.assert_array_equal(gx.numpy(), w.data ** 2 * mask)
    (gw,) = bp.grad(gx.sum(), [w])
    np.testing.assert_array_equal(gw.numpy(), 2 * w.data * mask)


# ---- REINFORCE ----

P_LOGITS = np.array([0.3, -0.2, 1.0, 0.0])
REWARDS = np.array([1.0, 3.0, -2.0, 0.5]) + 10.0  # a common offset: the baseline's case


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def _exact(logits, r, b):
    """The exact gradient of E[R] = sum_k p_k r_k, and the exact per-draw covariance of
    g(a) = (r_a - b)(e_a - p)."""
    p = _softmax(logits)
    grad = p * (r - p @ r)
    centred = np.eye(len(p)) - p          # row k: e_k - p
    second = np.einsum("k,ki,kj->ij", p * (r - b) ** 2, centred, centred)
    return grad, second - np.outer(grad, grad)


def test_reinforce_surrogate_value_and_gradient_closed_form():
    rng = np.random.default_rng(3)
    actions = rng.integers(0, 4, 7)
    rewards = rng.standard_normal(7)
    for logits_shape, b in [((4,), 0.0), ((4,), 0.7), ((7, 4), rng.standard_normal(7))]:
        z = rng.standard_normal(logits_shape)
        t = Tensor(z, requires_grad=True)
        s = nd.reinforce_surrogate(t, actions, rewards, baseline=b)
        s.backward()
        zz = np.broadcast_to(z, (7, 4))
        logp = zz - np.log(np.exp(zz).sum(axis=1, keepdims=True))
        adv = rewards - b
        np.testing.assert_allclose(s.item(), np.mean(logp[np.arange(7), actions] * adv), rtol=1e-12)
        per_draw = adv[:, None] * (np.eye(4)[actions] - np.exp(logp)) / 7
        expected = per_draw.sum(axis=0) if len(logits_shape) == 1 else per_draw
        np.testing.assert_allclose(t.grad, expected, rtol=1e-10, atol=1e-14)


def test_reinforce_rewards_and_baseline_are_constants():
    z = Tensor(P_LOGITS, requires_grad=True)
    r = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    nd.reinforce_surrogate(z, np.array([0, 2]), r, baseline=Tensor(np.array(0.5))).backward()
    assert r.grad is None and z.grad is not None


def test_reinforce_on_the_strict_backend(xp):
    z = Tensor(xp.asarray(P_LOGITS), requires_grad=True)
    nd.reinforce_surrogate(z, np.array([0, 2, 2, 1]), np.array([1.0, -1.0, 2.0, 0.5])).backward()
    ref = Tensor(P_LOGITS, requires_grad=True)
    nd.reinforce_surrogate(ref, np.array([0, 2, 2, 1]), np.array([1.0, -1.0, 2.0, 0.5])).backward()
    np.testing.assert_allclose(bp.backend.to_numpy(z.grad), ref.grad, rtol=1e-12)


@pytest.mark.parametrize("baseline", ["none", "mean reward", "off"])
def test_reinforce_mean_matches_exact_gradient(baseline):
    p = _softmax(P_LOGITS)
    b = {"none": 0.0, "mean reward": float(p @ REWARDS), "off": 4.0}[baseline]
    grad, cov = _exact(P_LOGITS, REWARDS, b)
    n = 20_000
    rng = np.random.default_rng(14)
    actions = nd.sample_categorical(P_LOGITS, rng, size=n)
    # one row of logits per draw: row n's gradient is draw n's estimate / N
    z = Tensor(np.tile(P_LOGITS, (n, 1)), requires_grad=True)
    nd.reinforce_surrogate(z, actions, REWARDS[actions], baseline=b).backward()
    per_draw = z.grad * n
    mean = per_draw.mean(axis=0)
    stderr = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(mean - grad) < 5 * stderr), (mean, grad, stderr)
    # the sample variance matches the exact one within a few percent at this N
    np.testing.assert_allclose(per_draw.var(axis=0), np.diag(cov), rtol=0.1)
    # and the one-distribution surrogate gives the same mean in one backward
    t = Tensor(P_LOGITS, requires_grad=True)
    nd.reinforce_surrogate(t, actions, REWARDS[actions], baseline=b).backward()
    np.testing.assert_allclose(t.grad, mean, rtol=1e-9, atol=1e-12)


def test_baseline_lowers_the_variance():
    p = _softmax(P_LOGITS)
    _, without = _exact(P_LOGITS, REWARDS, 0.0)
    _, with_b = _exact(P_LOGITS, REWARDS, float(p @ REWARDS))
    assert np.trace(with_b) < np.trace(without) / 20  # the offset of 10 dominates without


def test_sample_categorical_frequencies_and_seed():
    p = _softmax(P_LOGITS)
    n = 50_000
    a = nd.sample_categorical(P_LOGITS, np.random.default_rng(0), size=n)
    assert a.shape == (n,) and a.dtype.kind == "i"
    freq = np.bincount(a, minlength=4) / n
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n))
    again = nd.sample_categorical(P_LOGITS, np.random.default_rng(0), size=n)
    np.testing.assert_array_equal(a, again)
    rows = nd.sample_categorical(np.tile(P_LOGITS, (n, 1)), np.random.default_rng(1))
    assert rows.shape == (n,)
    assert np.all(np.abs(np.bincount(rows, minlength=4) / n - p) < 5 * np.sqrt(p * (1 - p) / n))
    # a certain choice
    assert np.all(nd.sample_categorical(np.array([0.0, 50.0, 0.0]), np.random.default_rng(2), 100) == 1)


# ---- FGSM ----

@pytest.fixture(scope="module")
def digits_model():
    X, y, Xt, yt = bp.data.load_digits(seed=0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(64, 32, rng=rng), nn.Tanh(), nn.Linear(32, 10, rng=rng))
    opt = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(150):
        opt.zero_grad()
        F.cross_entropy(model(Tensor(X)), y).backward()
        opt.step()
    for p in model.parameters():
        p.grad = None
    return model, Xt, yt


def _loss(model, x, y):
    with bp.no_grad():
        return F.cross_entropy(model(Tensor(x)), y).item()


def test_fgsm_increases_the_loss_of_a_trained_model(digits_model):
    model, X, y = digits_model
    with bp.no_grad():
        clean_acc = bp.train.accuracy(model(Tensor(X)), y)
    assert clean_acc > 0.9  # trained
    clean = _loss(model, X, y)
    previous = clean
    for eps in (0.02, 0.05, 0.1, 0.2):
        adv = nd.fgsm(model, F.cross_entropy, X, y, eps)
        assert np.max(np.abs(adv - X)) <= eps + 1e-12
        loss = _loss(model, adv, y)
        assert loss > previous
        previous = loss
    with bp.no_grad():
        assert bp.train.accuracy(model(Tensor(adv)), y) < clean_acc - 0.3
    # a random sign step of the same size hurts far less
    noise = X + 0.2 * np.sign(np.random.default_rng(0).standard_normal(X.shape))
    assert _loss(model, noise, y) < (clean + previous) / 2
    for p in model.parameters():  # the attack leaves the model's gradients alone
        assert p.grad is None


def test_fgsm_is_x_plus_eps_sign_of_the_input_gradient(digits_model):
    model, X, y = digits_model
    X, y = X[:6], y[:6]
    g = nd.input_gradient(model, F.cross_entropy, X, y)
    numerical = bp.numerical_gradient(lambda a: _loss(model, a, y), X)
    np.testing.assert_allclose(g, numerical, rtol=1e-5, atol=1e-9)
    np.testing.assert_array_equal(nd.fgsm(model, F.cross_entropy, X, y, 0.1), X + 0.1 * np.sign(g))
    clipped = nd.fgsm(model, F.cross_entropy, X, y, 0.3, clip=(0.0, 1.0))
    np.testing.assert_array_equal(clipped, np.clip(X + 0.3 * np.sign(g), 0.0, 1.0))
    with bp.no_grad():   # the attack asks for a gradient, so it records its graph anyway
        np.testing.assert_array_equal(nd.fgsm(model, F.cross_entropy, X, y, 0.1), X + 0.1 * np.sign(g))
    as_tensor = nd.fgsm(model, F.cross_entropy, Tensor(X), y, 0.1)
    assert isinstance(as_tensor, Tensor) and not as_tensor.requires_grad
    np.testing.assert_array_equal(as_tensor.numpy(), X + 0.1 * np.sign(g))


def test_exported():
    assert bp.nondiff.fgsm is nd.fgsm
    assert bp.nondiff.sign_ste is nd.sign_ste
