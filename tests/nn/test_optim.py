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


def test_adagrad():
    # s1 = g0^2 = [1, 4];  w1 = w0 - 0.1 g0 / sqrt(s1) = [1 - 0.1, -0.5 + 0.1] = [0.9, -0.4]
    # g1 = a*w1 = [0.9, -1.6];  s2 = s1 + g1^2 = [1.81, 6.56]
    # w2 = w1 - 0.1 g1 / sqrt(s2)
    w1, w2 = run(lambda p: optim.AdaGrad(p, lr=0.1, eps=0.0))
    np.testing.assert_allclose(w1, [0.9, -0.4], rtol=1e-14)
    np.testing.assert_allclose(w2, [0.9 - 0.1 * 0.9 / math.sqrt(1.81), -0.4 + 0.1 * 1.6 / math.sqrt(6.56)], rtol=1e-14)


def test_rmsprop():
    # s1 = 0.99*0 + 0.01 g0^2 = [0.01, 0.04];  w1 = w0 - 0.01 g0 / sqrt(s1) = [1 - 0.1, -0.5 + 0.1]
    # g1 = [0.9, -1.6];  s2 = 0.99 s1 + 0.01 g1^2 = [0.0099 + 0.0081, 0.0396 + 0.0256] = [0.018, 0.0652]
    # w2 = w1 - 0.01 g1 / sqrt(s2)
    w1, w2 = run(lambda p: optim.RMSprop(p, lr=0.01, alpha=0.99, eps=0.0))
    np.testing.assert_allclose(w1, [0.9, -0.4], rtol=1e-14)
    np.testing.assert_allclose(w2, [0.9 - 0.01 * 0.9 / math.sqrt(0.018), -0.4 + 0.01 * 1.6 / math.sqrt(0.0652)],
                               rtol=1e-13)


def test_adam():
    # t=1: m = 0.1 g0 = [0.1, -0.2];  v = 0.001 g0^2 = [0.001, 0.004]
    #      m^ = m / (1 - 0.9) = g0;  v^ = v / (1 - 0.999) = g0^2;  w1 = w0 - 0.1 g0/|g0| = [0.9, -0.4]
    # t=2: g1 = [0.9, -1.6];  m = 0.9 m + 0.1 g1 = [0.18, -0.34]
    #      v = 0.999 v + 0.001 g1^2 = [0.000999 + 0.00081, 0.003996 + 0.00256] = [0.001809, 0.006556]
    #      m^ = m / (1 - 0.81) = m / 0.19;  v^ = v / (1 - 0.998001) = v / 0.001999
    w1, w2 = run(lambda p: optim.Adam(p, lr=0.1, betas=(0.9, 0.999), eps=0.0))
    np.testing.assert_allclose(w1, [0.9, -0.4], rtol=1e-14)
    step = [(0.18 / 0.19) / math.sqrt(0.001809 / 0.001999), (-0.34 / 0.19) / math.sqrt(0.006556 / 0.001999)]
    np.testing.assert_allclose(w2, [0.9 - 0.1 * step[0], -0.4 - 0.1 * step[1]], rtol=1e-12)


def test_adam_eps_is_added_to_the_root():
    # t=1 with eps=0.5: w1 = w0 - 0.1 g0 / (|g0| + 0.5) = [1 - 0.1/1.5, -0.5 + 0.2/2.5]
    (w1,) = run(lambda p: optim.Adam(p, lr=0.1, eps=0.5), steps=1)
    np.testing.assert_allclose(w1, [1 - 0.1 / 1.5, -0.5 + 0.2 / 2.5], rtol=1e-12)


def test_adamw_decay_is_decoupled():
    # t=1: g0 = a*w0 = [1, -2] (before decay);  w <- w0 (1 - 0.1*0.1) = [0.99, -0.495]
    #      Adam step = 0.1 g0/|g0|:  w1 = [0.89, -0.395]
    # t=2: g1 = a*w1 = [0.89, -1.58];  w <- 0.99 w1 = [0.8811, -0.39105]
    #      m = 0.9 [0.1, -0.2] + 0.1 g1 = [0.179, -0.338]
    #      v = 0.999 [0.001, 0.004] + 0.001 g1^2 = [0.000999 + 0.0007921, 0.003996 + 0.0024964]
    w1, w2 = run(lambda p: optim.AdamW(p, lr=0.1, weight_decay=0.1, eps=0.0))
    np.testing.assert_allclose(w1, [0.89, -0.395], rtol=1e-14)
    step = [(0.179 / 0.19) / math.sqrt(0.0017911 / 0.001999), (-0.338 / 0.19) / math.sqrt(0.0064924 / 0.001999)]
    np.testing.assert_allclose(w2, [0.8811 - 0.1 * step[0], -0.39105 - 0.1 * step[1]], rtol=1e-12)


def test_adam_l2_weight_decay_enters_the_moments():
    # g0 = a*w0 + 0.5 w0 = [1.5, -2.25]; the first Adam step is still lr * sign(g0)
    # t=2: w1 = [0.9, -0.4], g1 = a*w1 + 0.5 w1 = [1.35, -1.8]
    #      m = 0.9*0.1*g0 + 0.1 g1 = [0.135 + 0.135, -0.2025 - 0.18] = [0.27, -0.3825]
    #      v = 0.999*0.001*g0^2 + 0.001 g1^2 = [0.00224775 + 0.0018225, 0.0050574375 + 0.00324]
    w1, w2 = run(lambda p: optim.Adam(p, lr=0.1, weight_decay=0.5, eps=0.0))
    np.testing.assert_allclose(w1, [0.9, -0.4], rtol=1e-14)
    step = [(0.27 / 0.19) / math.sqrt(0.00407025 / 0.001999), (-0.3825 / 0.19) / math.sqrt(0.0082974375 / 0.001999)]
    np.testing.assert_allclose(w2, [0.9 - 0.1 * step[0], -0.4 - 0.1 * step[1]], rtol=1e-12)


def test_optimizer_state_dict_roundtrip_continues_identically():
    def train(opt_state=None, steps=3):
        w = nn.Parameter(W0)
        opt = optim.Adam([w], lr=0.05)
        if opt_state is not None:
            w.data = opt_state[0].copy()
            opt.load_state_dict(opt_state[1])
        for _ in range(steps):
            opt.zero_grad()
            (0.5 * (Tensor(A) * w * w).sum()).backward()
            opt.step()
        return w, opt

    w_all, _ = train(steps=6)
    w_half, opt_half = train(steps=3)
    snapshot = (w_half.numpy().copy(), opt_half.state_dict())
    w_rest, _ = train(snapshot, steps=3)
    np.testing.assert_array_equal(w_rest.numpy(), w_all.numpy())


def test_optimizers_on_every_backend(xp):
    for make in (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
                 lambda p: optim.AdaGrad(p), lambda p: optim.RMSprop(p, weight_decay=0.1),
                 lambda p: optim.Adam(p, weight_decay=0.1), lambda p: optim.AdamW(p)):
        expected = run(make)
        w = nn.Parameter(xp.asarray(W0))
        opt = make([w])
        for _ in range(2):
            opt.zero_grad()
            (0.5 * (Tensor(xp.asarray(A)) * w * w).sum()).backward()
            opt.step()
        assert type(w.data) is type(w.grad)
        np.testing.assert_allclose(w.numpy(), expected[-1], rtol=1e-12)


# ---- clipping ----

def _with_grads(*grads):
    params = [nn.Parameter(np.zeros(np.shape(g))) for g in grads]
    for p, g in zip(params, grads):
        p.grad = np.array(g, dtype=float)
    return params


def test_clip_grad_norm_scales_all_gradients_together_and_returns_the_old_norm():
    params = _with_grads([3.0, 4.0], [12.0])  # global norm sqrt(9 + 16 + 144) = 13
    norm = optim.clip_grad_norm_(params, 6.5)
    assert norm == 13.0
    scale = 6.5 / (13.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad, [3 * scale, 4 * scale])
    np.testing.assert_allclose(params[1].grad, [12 * scale])
    params = _with_grads([3.0, 4.0])
    assert optim.clip_grad_norm_(params, 10.0) == 5.0
    np.testing.assert_array_equal(params[0].grad, [3.0, 4.0])  # under the limit: unchanged


def test_clip_grad_value():
    params = _with_grads([-3.0, 0.5, 2.0])
    optim.clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad, [-1.0, 0.5, 1.0])


# ---- schedules ----

def _lrs(make_sched, steps):
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    sched = make_sched(opt)
    lrs = [opt.lr]
    for _ in range(steps):
        sched.step()
        lrs.append(opt.lr)
    return lrs


def test_step_lr():
    assert _lrs(lambda o: optim.StepLR(o, step_size=2, gamma=0.5), 5) == [1, 1, 0.5, 0.5, 0.25, 0.25]


def test_exponential_lr():
    np.testing.assert_allclose(_lrs(lambda o: optim.ExponentialLR(o, gamma=0.9), 3), [1, 0.9, 0.81, 0.729])


def test_cosine_annealing_lr():
    # eta_min + (1 - eta_min)(1 + cos(pi t / 4)) / 2 with eta_min = 0.1, then flat
    got = _lrs(lambda o: optim.CosineAnnealingLR(o, T_max=4, eta_min=0.1), 5)
    c = math.cos(math.pi / 4)
    np.testing.assert_allclose(got, [1, 0.1 + 0.9 * (1 + c) / 2, 0.55, 0.1 + 0.9 * (1 - c) / 2, 0.1, 0.1])


def test_linear_warmup():
    np.testing.assert_allclose(_lrs(lambda o: optim.LinearWarmup(o, warmup_steps=4), 5),
                               [0, 0.25, 0.5, 0.75, 1, 1])
    np.testing.assert_allclose(_lrs(lambda o: optim.LinearWarmup(o, 2, start_factor=0.5), 2), [0.5, 0.75, 1])


def test_load_state_dict_copies_the_callers_arrays():
    from backproplab import nn, optim

    p = nn.Parameter(np.ones(3))
    p.grad = np.ones(3)
    velocity = np.full(3, 0.5)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    state = opt.state_dict()
    state["state"] = [{"velocity": velocity}]
    opt.load_state_dict(state)
    opt.step()
    np.testing.assert_array_equal(velocity, np.full(3, 0.5))


def test_clip_grad_norm_clips_a_zero_d_parameter_too():
    # A 0-d gradient can be a NumPy scalar, which `*=` would leave as it was.
    from backproplab import nn, optim
    p = nn.Parameter(np.array(2.0))
    p.grad = np.float64(400.0)
    q = nn.Parameter(np.zeros(3))
    q.grad = np.full(3, 3.0)
    norm = optim.clip_grad_norm_([p, q], 1.0)
    assert norm == pytest.approx(np.sqrt(400.0**2 + 27.0))
    total = np.sqrt(float(p.grad) ** 2 + float(np.sum(q.grad ** 2)))
    assert total == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("owner", ["module", "optimizer"])
def test_zero_grad_set_to_none_false_keeps_the_arrays_and_zeroes_them(owner):
    model = nn.Linear(3, 2, rng=np.random.default_rng(0))
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(Tensor(np.ones((4, 3)))).sum().backward()
    before = [p.grad for p in model.parameters()]
    (model if owner == "module" else opt).zero_grad(set_to_none=False)
    assert all(p.grad is g for p, g in zip(model.parameters(), before))
    assert all(not np.any(p.grad) for p in model.parameters())
    model(Tensor(np.ones((4, 3)))).sum().backward()  # adds into the kept arrays
    assert all(p.grad is g and np.any(p.grad) for p, g in zip(model.parameters(), before))
    (model if owner == "module" else opt).zero_grad()  # PyTorch's default: None
    assert all(p.grad is None for p in model.parameters())
