"""Optimizers against their published update equations, worked by hand for two steps.

Every test uses the loss L(w) = 1/2 sum_i a_i w_i^2, whose gradient g = a * w is
easy to follow by hand, and writes the arithmetic out instead of calling the
implementation twice.
"""

import math

import numpy as np
import pytest

from backproplab import Tensor, nn, optim

A = np.array([1.0, 4.0])
W0 = np.array([1.0, -0.5])


def run(make_opt, steps=2):
    w = nn.Parameter(W0)
    opt = make_opt([w])
    history = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (Tensor(A) * w * w).sum()).backward()
        opt.step()
        history.append(w.numpy().copy())
    return history


def test_sgd_plain():
    # g0 = a*w0 = [1, -2];  w1 = w0 - 0.1 g0 = [0.9, -0.3]
    # g1 = a*w1 = [0.9, -1.2];  w2 = w1 - 0.1 g1 = [0.81, -0.18]
    w1, w2 = run(lambda p: optim.SGD(p, lr=0.1))
    np.testing.assert_allclose(w1, [0.9, -0.3], rtol=1e-14)
    np.testing.assert_allclose(w2, [0.81, -0.18], rtol=1e-14)


def test_sgd_momentum():
    # v1 = g0 = [1, -2];  w1 = w0 - 0.1 v1 = [0.9, -0.3]
    # g1 = [0.9, -1.2];  v2 = 0.9 v1 + g1 = [1.8, -3.0];  w2 = w1 - 0.1 v2 = [0.72, 0.0]
    w1, w2 = run(lambda p: optim.SGD(p, lr=0.1, momentum=0.9))
    np.testing.assert_allclose(w1, [0.9, -0.3], rtol=1e-14)
    np.testing.assert_allclose(w2, [0.72, 0.0], rtol=1e-14, atol=1e-15)


def test_sgd_nesterov():
    # v1 = g0 = [1, -2];  step0 = g0 + 0.9 v1 = [1.9, -3.8];  w1 = w0 - 0.1 step0 = [0.81, -0.12]
    # g1 = a*w1 = [0.81, -0.48];  v2 = 0.9 v1 + g1 = [1.71, -2.28]
    # step1 = g1 + 0.9 v2 = [2.349, -2.532];  w2 = w1 - 0.1 step1 = [0.5751, 0.1332]
    w1, w2 = run(lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True))
    np.testing.assert_allclose(w1, [0.81, -0.12], rtol=1e-14)
    np.testing.assert_allclose(w2, [0.5751, 0.1332], rtol=1e-13)


def test_sgd_weight_decay():
    # g = a*w + 0.5 w:  g0 = [1.5, -2.25];  w1 = w0 - 0.1 g0 = [0.85, -0.275]
    # g1 = [0.85 + 0.425, -1.1 - 0.1375] = [1.275, -1.2375];  w2 = [0.7225, -0.15125]
    w1, w2 = run(lambda p: optim.SGD(p, lr=0.1, weight_decay=0.5))
    np.testing.assert_allclose(w1, [0.85, -0.275], rtol=1e-14)
    np.testing.assert_allclose(w2, [0.7225, -0.15125], rtol=1e-14)


def test_step_skips_parameters_without_gradient_and_zero_grad_clears():
    used, unused = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([used, unused], lr=0.5)
    (used * 2).sum().backward()
    opt.step()
    np.testing.assert_array_equal(used.numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(unused.numpy(), [1.0, 1.0])
    opt.zero_grad()
    assert used.grad is None


def test_optimizer_refuses_bad_arguments():
    p = nn.Parameter(np.ones(2))
    with pytest.raises(TypeError, match="wrap it in a list"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="does not require grad"):
        optim.SGD([Tensor(np.ones(2))], lr=0.1)
    with pytest.raises(ValueError, match="learning rate must be a number >= 0"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)


def test_gradient_accumulation_four_micro_batches_equal_one_batch():
    """backward() adds into .grad: four micro-batches of 32, each loss scaled by 1/4,
    give the gradients of one batch of 128 (to float64 rounding)."""
    r = np.random.default_rng(0)
    X, y = r.standard_normal((128, 10)), r.integers(0, 3, 128)

    def model(seed):
        return nn.Sequential(nn.Linear(10, 16, rng=np.random.default_rng(seed)), nn.Tanh(),
                             nn.Linear(16, 3, rng=np.random.default_rng(seed + 1)))

    whole, parts = model(5), model(5)
    nn.functional.cross_entropy(whole(Tensor(X)), y).backward()
    for k in range(4):
        sl = slice(32 * k, 32 * (k + 1))
        (nn.functional.cross_entropy(parts(Tensor(X[sl])), y[sl]) / 4).backward()
    for (name, a), (_, b) in zip(whole.named_parameters(), parts.named_parameters()):
        np.testing.assert_allclose(b.grad, a.grad, rtol=1e-12, atol=1e-15, err_msg=name)
    # and one SGD step then lands on the same weights
    for m in (whole, parts):
        optim.SGD(m.parameters(), lr=0.1).step()
    for (name, a), (_, b) in zip(whole.named_parameters(), parts.named_parameters()):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-12, err_msg=name)
