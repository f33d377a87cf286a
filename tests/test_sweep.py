"""backproplab.sweep: many runs at once must be the optimizer classes, run by run, and the
batched two-layer network must have autograd's gradient."""

import numpy as np
import pytest

from backproplab import Tensor, gradcheck, nn, optim, sweep
from backproplab.nn import functional as F

CLASSES = {
    "sgd": lambda p, lr, **hp: optim.SGD(p, lr=lr, **hp),
    "momentum": lambda p, lr, **hp: optim.SGD(p, lr=lr, momentum=0.9, **hp),
    "nesterov": lambda p, lr, **hp: optim.SGD(p, lr=lr, momentum=0.9, nesterov=True, **hp),
    "adagrad": lambda p, lr, **hp: optim.Adagrad(p, lr=lr, **hp),
    "rmsprop": lambda p, lr, **hp: optim.RMSprop(p, lr=lr, **hp),
    "adam": lambda p, lr, **hp: optim.Adam(p, lr=lr, **hp),
    "adamw": lambda p, lr, **hp: optim.AdamW(p, lr=lr, **hp),
}


@pytest.mark.parametrize("rule", sweep.RULES)
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_update_is_the_optimizer_class_for_every_rate(rule, weight_decay):
    rng = np.random.default_rng(3)
    lrs = np.array([0.001, 0.03, 0.5])
    w0 = rng.standard_normal((2, 5))
    grads = [rng.standard_normal((3, 2, 5)) for _ in range(6)]
    w, state = np.broadcast_to(w0, (3, 2, 5)).copy(), {}
    for g in grads:
        w = sweep.update(rule, w, g, state, lrs[:, None, None], weight_decay=weight_decay)
    for k, lr in enumerate(lrs):
        p = nn.Parameter(w0.copy())
        opt = CLASSES[rule]([p], lr, weight_decay=weight_decay)
        for g in grads:
            p.grad = g[k].copy()
            opt.step()
        np.testing.assert_allclose(w[k], p.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("rule", ["momentum", "adam", "adamw"])
def test_update_takes_one_weight_decay_per_run(rule):
    rng = np.random.default_rng(5)
    decays = np.array([0.0, 0.01, 0.3])
    w0, grads = rng.standard_normal(4), rng.standard_normal((3, 3, 4))
    w, state = np.tile(w0, (3, 1)), {}
    for g in grads:
        w = sweep.update(rule, w, g, state, 0.05, weight_decay=decays[:, None])
    for k, decay in enumerate(decays):
        alone, state = w0.copy(), {}
        for g in grads:
            alone = sweep.update(rule, alone, g[k], state, 0.05, weight_decay=float(decay))
        np.testing.assert_allclose(w[k], alone, rtol=1e-13, atol=1e-15)


def test_update_rejects_unknown_rules_and_hyperparameters():
    with pytest.raises(ValueError, match="unknown rule 'lion'"):
        sweep.update("lion", np.zeros(2), np.zeros(2), {}, 0.1)
    with pytest.raises(ValueError, match="sgd has no hyperparameter betas"):
        sweep.update("sgd", np.zeros(2), np.zeros(2), {}, 0.1, betas=(0.9, 0.99))


def test_train_runs_records_every_step_and_keeps_diverged_runs():
    curvature = 4.0
    losses, w = sweep.train_runs("sgd", [0.1, 0.6], np.ones((3, 1)),
                                 lambda w, t: (0.5 * curvature * (w ** 2).sum(-1), curvature * w),
                                 steps=10)
    assert losses.shape == (2, 3, 11) and w.shape == (2, 3, 1)
    np.testing.assert_allclose(w[0, :, 0], (1 - 0.4) ** 10)  # w_t = (1 - lr lambda)^t w_0
    np.testing.assert_allclose(losses[1, :, -1], 0.5 * curvature * 1.4 ** 20)  # |1 - 2.4| > 1
    with pytest.raises(ValueError, match=r"\(runs, weights\)"):
        sweep.train_runs("sgd", [0.1], np.ones(3), lambda w, t: (w, w), 2)


def test_train_runs_schedule_scales_the_rate():
    losses, w = sweep.train_runs("sgd", [0.1], np.ones((1, 1)), lambda w, t: (w[..., 0], np.ones_like(w)),
                                 steps=4, lr_schedule=lambda t: t)
    np.testing.assert_allclose(w[0, 0, 0], 1 - 0.1 * (0 + 1 + 2 + 3))


def test_steps_to_stay_below():
    losses = np.array([[5, 1, 3, 0.5, 0.4], [5, 4, 3, 2, 1], [0.1, 0.1, 0.1, 0.1, 0.1],
                       [5, 0.1, np.nan, 0.1, 0.1]])
    np.testing.assert_array_equal(sweep.steps_to_stay_below(losses, 1.0), [3, 4, 0, 3])
    assert sweep.steps_to_stay_below([5, 4, 3], 1.0) == np.inf


def test_lr_window_is_the_contiguous_run_around_the_best():
    lrs = 10.0 ** np.arange(-4, 1)
    assert sweep.lr_window(lrs, [1.0, 0.3, 0.2, 0.35, 0.5]) == (1e-3, 1e-1)
    assert sweep.lr_window(lrs, [0.3, 1.0, 0.2, 0.35, np.nan]) == (1e-2, 1e-1)   # a gap
    assert sweep.lr_window(lrs, [np.nan, 0.3, np.inf, 0.2, 0.3]) == (1e-1, 1.0)  # diverged
    assert sweep.lr_window(lrs, [9, 9, 0.2, 9, 9], factor=100) == (1e-4, 1.0)
    with pytest.raises(ValueError, match="every run diverged"):
        sweep.lr_window(lrs, [np.nan] * 5)
    with pytest.raises(ValueError, match="one non-empty shape"):
        sweep.lr_window(lrs, [1.0, 2.0])


def _library_mlp(seed, d_in=6, hidden=4, d_out=3):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(d_in, hidden, rng=rng), nn.Tanh(), nn.Linear(hidden, d_out, rng=rng))


def test_mlp_matches_nn_sequential_and_its_backward():
    sizes = sweep.mlp_sizes(6, 4, 3)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((7, 6)), rng.integers(0, 3, 7)
    theta = sweep.mlp_init(6, 4, 3, seeds=[1, 2])
    loss, grad = sweep.mlp_loss_and_grad(theta, x, y, sizes)
    assert loss.shape == (2,) and grad.shape == theta.shape
    for k, seed in enumerate([1, 2]):
        model = _library_mlp(seed)
        out = F.cross_entropy(model(Tensor(x)), y)
        out.backward()
        np.testing.assert_allclose(loss[k], out.item(), rtol=1e-12)
        expected = np.concatenate([p.grad.ravel() for p in model.parameters()])
        np.testing.assert_allclose(grad[k], expected, rtol=1e-10, atol=1e-14)


def test_mlp_gradient_is_gradchecked_and_batched_over_runs_and_data():
    sizes = sweep.mlp_sizes(5, 3, 4)
    rng = np.random.default_rng(4)
    theta = rng.standard_normal((2, 3, 5 * 3 + 3 + 3 * 4 + 4))
    x, y = rng.standard_normal((2, 3, 6, 5)), rng.integers(0, 4, 6)  # a batch of its own per run
    _, grad = sweep.mlp_loss_and_grad(theta, x, y, sizes)
    # the flat vector against central differences, through the Tensor engine's gradcheck
    t = Tensor(theta[1, 2].copy(), requires_grad=True)

    def loss_of(w):
        p = sweep.mlp_unflatten(w, sizes)
        h = (Tensor(x[1, 2]) @ p["W1"] + p["b1"]).tanh()
        return F.cross_entropy(h @ p["W2"] + p["b2"], y)

    assert gradcheck(loss_of, t)
    loss_of(t).backward()
    np.testing.assert_allclose(grad[1, 2], t.grad, rtol=1e-10, atol=1e-14)
    eps, k = 1e-6, 7
    bumped = theta.copy()
    bumped[0, 1, k] += eps
    lo = sweep.mlp_loss_and_grad(theta, x, y, sizes)[0][0, 1]
    hi = sweep.mlp_loss_and_grad(bumped, x, y, sizes)[0][0, 1]
    assert (hi - lo) / eps == pytest.approx(grad[0, 1, k], rel=1e-4)


def test_mlp_unflatten_checks_the_length():
    with pytest.raises(ValueError, match="theta has 5 weights, sizes need 34"):
        sweep.mlp_unflatten(np.zeros(5), sweep.mlp_sizes(5, 3, 4))
