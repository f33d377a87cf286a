"""Tests of the library code behind lessons 6 and 7 (experiments, explore) and of the
exercise checks of those lessons: every check must reject a plausible wrong answer."""

import itertools
import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from backproplab import explore
from backproplab.experiments import mirror_weight_pattern, train_logistic_nets
from checking import ExerciseFailure, assert_rejected, run_check

matplotlib.use("Agg")


def mirror_patterns():
    x = np.array(list(itertools.product([0.0, 1.0], repeat=6)))
    return x, (x == x[:, ::-1]).all(axis=1).astype(float)


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_D = np.array([0.0, 1.0, 1.0, 0.0])


# ---- experiments: the batched 1986 runs ----

def test_batched_run_equals_one_seed_at_a_time():
    together = train_logistic_nets(XOR_X, XOR_D, 2, [3, 4, 5], lr=0.5, max_sweeps=300)
    for k, seed in enumerate([3, 4, 5]):
        alone = train_logistic_nets(XOR_X, XOR_D, 2, [seed], lr=0.5, max_sweeps=300)
        assert alone.sweeps[0] == together.sweeps[k]
        np.testing.assert_allclose(alone.W1[0], together.W1[k], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(alone.error[0], together.error[k, :alone.error.shape[1]],
                                   rtol=1e-12, atol=1e-14)


def test_first_sweep_is_eq9_with_summed_error():
    """One sweep by hand (eqs. 1-9 of the paper) against the batched engine."""
    run = train_logistic_nets(XOR_X, XOR_D, 2, [7], lr=0.5, momentum=0.9, max_sweeps=1,
                              tolerance=1e-9)
    rng = np.random.default_rng(7)
    W1, b1 = rng.uniform(-0.3, 0.3, (2, 2)), rng.uniform(-0.3, 0.3, (1, 2))
    W2, b2 = rng.uniform(-0.3, 0.3, (2, 1)), rng.uniform(-0.3, 0.3, (1, 1))
    sig = lambda x: 1 / (1 + np.exp(-x))
    h = sig(XOR_X @ W1 + b1)
    y = sig(h @ W2 + b2)
    dx2 = (y - XOR_D[:, None]) * y * (1 - y)          # dE/dx_j, eqs. 4-5, summed error
    dx1 = (dx2 @ W2.T) * h * (1 - h)                  # eq. 7 then 5
    W1_next = W1 - 0.5 * XOR_X.T @ dx1                # eq. 9 with Δw(0) = 0
    W2_next = W2 - 0.5 * h.T @ dx2
    np.testing.assert_allclose(run.W1[0], W1_next, rtol=1e-12)
    np.testing.assert_allclose(run.W2[0], W2_next, rtol=1e-12)
    np.testing.assert_allclose(run.error[0, 0], 0.5 * ((y - XOR_D[:, None]) ** 2).sum())


def test_learned_nets_meet_the_criterion_and_stop():
    run = train_logistic_nets(XOR_X, XOR_D, 2, 6, lr=0.5, max_sweeps=3000, tolerance=0.2)
    assert run.learned.sum() >= 4
    y = run.predict(XOR_X)[:, :, 0]
    assert (np.abs(y - XOR_D)[run.learned] < 0.2).all()
    for k in np.flatnonzero(run.learned):
        tail = run.error[k, run.sweeps[k]:]
        assert np.all(tail == tail[0])  # frozen once learned


def test_mirror_symmetry_learns_the_1_2_4_pattern():
    x, d = mirror_patterns()
    run = train_logistic_nets(x, d, 2, [1, 3], max_sweeps=4000, tolerance=0.2)
    assert run.learned.all()
    assert (run.sweeps > 300).all()  # the problem is not trivial at eps = 0.1
    for k in range(2):
        ratios, antisymmetry = mirror_weight_pattern(run.W1[k])
        np.testing.assert_allclose(ratios, [[1, 2, 4]] * 2, rtol=0.1)
        assert (antisymmetry < 0.02).all()


def test_mirror_weight_pattern_on_a_known_matrix():
    w = np.array([[1.0, -3.0], [2.0, -6.0], [4.0, 12.0], [-4.0, -12.0], [-2.0, 6.0],
                  [-1.0, 3.0]])
    ratios, antisymmetry = mirror_weight_pattern(w)
    np.testing.assert_allclose(ratios, [[1, 2, 4], [1, 2, 4]])
    np.testing.assert_allclose(antisymmetry, [0, 0])
    w[5, 0] = -0.5  # mirror pair (1, 6) no longer opposite: |1 - 0.5| / 4
    assert mirror_weight_pattern(w)[1][0] == pytest.approx(0.125)


@pytest.mark.parametrize("kwargs, message", [
    (dict(inputs=np.zeros((4, 2)), targets=np.zeros(3)), "same N"),
    (dict(hidden=0), "hidden"),
    (dict(seeds=[]), "seeds"),
    (dict(tolerance=0.0), "tolerance"),
])
def test_train_logistic_nets_rejects_bad_input(kwargs, message):
    args = dict(inputs=XOR_X, targets=XOR_D, hidden=2, seeds=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        train_logistic_nets(args.pop("inputs"), args.pop("targets"), args.pop("hidden"),
                            args.pop("seeds"), **args)


def test_mirror_weight_pattern_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\(6, H\).*\(5, 2\)"):
        mirror_weight_pattern(np.ones((5, 2)))


# ---- explore: gradient flow through a deep net ----


@pytest.mark.parametrize("activation, init, residual", [
    ("tanh", "xavier", False), ("sigmoid", "small", True), ("relu", "he", False)])
def test_gradient_flow_matches_backprop_by_hand(activation, init, residual):
    depth, width, batch, seed = 4, 5, 3, 11
    flow = explore.gradient_flow(depth, width, activation, init, residual, batch=batch, seed=seed)
    rng = np.random.default_rng(seed)  # the same draws, in the same order
    net = explore.deep_net(depth, width, activation, init, residual, rng=rng)
    x, g = rng.standard_normal((batch, width)), rng.standard_normal((batch, width))
    Ws = [lin.weight.numpy() for lin in explore._linears(net)]
    bs = [lin.bias.numpy() for lin in explore._linears(net)]
    f = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
         "relu": lambda z: np.maximum(z, 0)}[activation]
    df = {"tanh": lambda a: 1 - a**2, "sigmoid": lambda a: a * (1 - a),
          "relu": lambda a: (a > 0).astype(float)}[activation]
    hs, acts = [x], []
    for W, b in zip(Ws, bs):
        a = f(hs[-1] @ W + b)
        acts.append(a)
        hs.append(hs[-1] + a if residual else a)
    delta = g / batch  # dL/dh_depth for L = sum(h * G) / N
    expected, deltas = [], []
    for layer in reversed(range(depth)):
        deltas.append(np.linalg.norm(delta * batch) / np.sqrt(batch))
        dz = delta * df(acts[layer])
        expected.append(np.linalg.norm(hs[layer].T @ dz))
        delta = dz @ Ws[layer].T + (delta if residual else 0)
    np.testing.assert_allclose(flow.grad_norms, expected[::-1], rtol=1e-10)
    np.testing.assert_allclose(flow.delta_norms, deltas[::-1], rtol=1e-10)
    np.testing.assert_allclose(flow.activation_std, [np.std(h) for h in hs[1:]], rtol=1e-12)


def test_gradient_flow_shows_the_lessons_claims():
    sigmoid = explore.gradient_flow(20, activation="sigmoid", init="xavier")
    assert sigmoid.ratio < 1e-8  # vanishes: sigma' <= 1/4 in every layer
    assert 0.1 < explore.gradient_flow(20, activation="tanh", init="xavier").ratio < 10
    assert 0.1 < explore.gradient_flow(20, activation="relu", init="he").ratio < 10
    assert explore.gradient_flow(20, activation="sigmoid", init="xavier",
                                 residual=True).ratio > 0.1
    assert explore.gradient_flow(20, activation="sigmoid", init="xavier",
                                 norm="batchnorm").ratio > 0.1
    small = explore.gradient_flow(20, activation="tanh", init="small")
    assert small.activation_std[-1] < 1e-15 < small.activation_std[0]
    large = explore.gradient_flow(20, activation="tanh", init="large")
    assert large.ratio > 1e3  # exploding in the saturated (chaotic) regime


def test_gradient_flow_is_deterministic_and_seeded():
    a = explore.gradient_flow(6, activation="tanh", seed=3)
    b = explore.gradient_flow(6, activation="tanh", seed=3)
    c = explore.gradient_flow(6, activation="tanh", seed=4)
    np.testing.assert_array_equal(a.grad_norms, b.grad_norms)
    assert not np.allclose(a.grad_norms, c.grad_norms)


@pytest.mark.parametrize("init, std", [("small", 0.01), ("large", 1.0),
                                       ("xavier", np.sqrt(2 / 800)), ("he", np.sqrt(2 / 400))])
def test_init_weight_has_the_stated_std(init, std):
    from backproplab import nn
    lin = explore.init_weight(nn.Linear(400, 400, rng=np.random.default_rng(0)), init,
                              np.random.default_rng(1))
    assert np.std(lin.weight.numpy()) == pytest.approx(std, rel=0.01)
    assert np.all(lin.bias.numpy() == 0)


@pytest.mark.parametrize("kwargs, name", [({"activation": "softplus"}, "activation"),
                                          ({"init": "orthogonal"}, "init"),
                                          ({"norm": "groupnorm"}, "norm"),
                                          ({"depth": 0}, "depth")])
def test_deep_net_rejects_unknown_settings(kwargs, name):
    with pytest.raises(ValueError, match=name):
        explore.deep_net(**kwargs)


def test_deep_net_structure():
    net = explore.deep_net(3, 8, "relu", "he", residual=True, norm="layernorm",
                           rng=np.random.default_rng(0))
    assert len(net) == 3 and all(isinstance(b, explore.nn.Residual) for b in net)
    assert len(explore._linears(net)) == 3
    assert net(np.ones((2, 8))).shape == (2, 8)


def test_plot_gradient_flow_labels_everything():
    flows = [explore.gradient_flow(5, activation=a) for a in ("sigmoid", "relu")]
    ax = explore.plot_gradient_flow(flows)
    assert ax.get_yscale() == "log" and ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sigmoid, xavier",
                                                                   "relu, xavier"]
    with pytest.raises(ValueError, match="what"):
        explore.plot_gradient_flow(flows, what="weights")


def test_explorer_update_sets_controls_and_redraws_once(monkeypatch):
    pytest.importorskip("ipywidgets")
    calls = []
    real = explore.gradient_flow
    monkeypatch.setattr(explore, "gradient_flow",
                        lambda **kw: calls.append(kw) or real(**kw))
    panel, update = explore.gradient_flow_explorer(depth=6)
    assert len(calls) == 1 and calls[0]["depth"] == 6  # it opens showing its start
    fig = update(depth=8, activation="relu", init="he", residual=True)
    assert len(calls) == 2
    assert calls[1]["depth"] == 8 and calls[1]["residual"] is True
    assert "relu, he, residual" in fig._suptitle.get_text()
    assert len(fig.axes) == 2 and fig.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="unknown settings"):
        update(width=3)
    depth_slider = panel.children[0].children[0]
    depth_slider.value = 5  # what moving the slider in a live kernel does
    assert len(calls) == 3 and calls[2]["depth"] == 5 and calls[2]["activation"] == "relu"


def test_explorer_norm_control_reads_none_and_maps_to_no_norm(monkeypatch):
    pytest.importorskip("ipywidgets")
    calls = []
    real = explore.gradient_flow
    monkeypatch.setattr(explore, "gradient_flow",
                        lambda **kw: calls.append(kw) or real(**kw))
    panel, update = explore.gradient_flow_explorer(depth=4)
    norm = panel.children[1].children[1]
    assert norm.description == "norm" and norm.label == "none"  # not blank
    assert calls[-1]["norm"] is None
    update(norm="layernorm")
    assert norm.label == "LayerNorm" and calls[-1]["norm"] == "layernorm"
    update(norm=None)
    assert norm.label == "none" and calls[-1]["norm"] is None
    with pytest.raises(ValueError, match="norm"):
        update(norm="groupnorm")
    assert "static figure" in repr(panel) and len(repr(panel)) < 110  # what a page without a kernel shows


def test_gradient_flow_figure_leaves_the_explorer_alone():
    pytest.importorskip("ipywidgets")
    panel, update = explore.gradient_flow_explorer(depth=6)
    depth_slider = panel.children[0].children[0]
    fig = explore.gradient_flow_figure(depth=9, activation="tanh", residual=True)
    assert depth_slider.value == 6
    assert "tanh, xavier, residual, depth 9" in fig._suptitle.get_text()
    assert [ax.get_xlabel() for ax in fig.axes] == ["layer l (1 = next to the input)"] * 2


def test_sweeps_to_reads_looser_criteria_off_one_run():
    strict = train_logistic_nets(XOR_X, XOR_D, 2, 5, lr=0.5, max_sweeps=2000, tolerance=0.1)
    loose = train_logistic_nets(XOR_X, XOR_D, 2, 5, lr=0.5, max_sweeps=2000, tolerance=0.4)
    np.testing.assert_array_equal(strict.sweeps_to(0.4), loose.sweeps)
    np.testing.assert_array_equal(strict.sweeps_to(0.1), strict.sweeps)
    assert (strict.sweeps_to(0.4)[strict.learned] <= strict.sweeps[strict.learned]).all()


# ---- exercise checks: the solution passes, the stub and plausible wrong answers fail ----


ROOT = Path(__file__).resolve().parents[2]


L6 = "06_training"


def _paper_form_step(w, grad, velocity, lr, momentum):
    velocity = momentum * velocity - lr * grad  # eq. 9's step Δw, not PyTorch's velocity
    return w + velocity, velocity


def _momentum_ignored_in_step(w, grad, velocity, lr, momentum):
    velocity = momentum * velocity + grad
    return w - lr * grad, velocity


def _velocity_not_returned(w, grad, velocity, lr, momentum):
    return w - lr * (momentum * velocity + grad), velocity


@pytest.mark.parametrize("wrong", [_paper_form_step, _momentum_ignored_in_step,
                                   _velocity_not_returned])
def test_sgd_momentum_step_rejects(wrong):
    assert_rejected(L6, "sgd_momentum_step", sgd_momentum_step=wrong)


def _not_shuffled(n, batch_size, rng):
    return [np.arange(n)[i:i + batch_size] for i in range(0, n, batch_size)]


def _with_replacement(n, batch_size, rng):
    order = rng.integers(0, n, n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _drops_last(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


@pytest.mark.parametrize("wrong", [_not_shuffled, _with_replacement, _drops_last])
def test_minibatch_indices_rejects(wrong):
    assert_rejected(L6, "minibatch_indices", minibatch_indices=wrong)


@pytest.mark.parametrize("wrong", [
    lambda logits, labels: float(np.mean(logits.argmax() == labels)),     # flat argmax
    lambda logits, labels: float(np.sum(logits.argmax(axis=1) == labels)),  # a count
    lambda logits, labels: float(np.mean(logits.max(axis=1) == labels)),   # max, not argmax
])
def test_accuracy_rejects(wrong):
    assert_rejected(L6, "accuracy", accuracy=wrong)


@pytest.mark.parametrize("wrong", [
    lambda t, T, hi, lo: lo + (hi - lo) * (1 + math.cos(math.pi * min(t, T) / T)),  # no 1/2
    lambda t, T, hi, lo: lo + 0.5 * (hi - lo) * (1 + math.cos(min(t, T) / T)),      # no pi
    lambda t, T, hi, lo: lo + 0.5 * (hi - lo) * (1 + math.cos(math.pi * t / T)),    # no clamp
    lambda t, T, hi, lo: hi - (hi - lo) * min(t, T) / T,                             # linear
])
def test_cosine_lr_rejects(wrong):
    assert_rejected(L6, "cosine_lr", cosine_lr=wrong)


def _accumulate(scale, zero_first=True, zero_each=False):
    from backproplab import Tensor
    from backproplab.nn import functional as F

    def accumulate_gradients(model, x, y, micro_batch_size):
        if zero_first:
            model.zero_grad()
        n, k = len(y), math.ceil(len(y) / micro_batch_size)
        for start in range(0, n, micro_batch_size):
            if zero_each:
                model.zero_grad()
            yb = y[start:start + micro_batch_size]
            loss = F.cross_entropy(model(Tensor(x[start:start + micro_batch_size])), yb)
            (loss * scale(len(yb), n, k)).backward()
    return accumulate_gradients


@pytest.mark.parametrize("wrong", [
    _accumulate(lambda nb, n, k: 1.0),                   # the 1/k forgotten: k times too large
    _accumulate(lambda nb, n, k: 1.0 / k),               # 1/k: wrong when the last is shorter
    _accumulate(lambda nb, n, k: nb / n, zero_first=False),  # stale gradients kept
    _accumulate(lambda nb, n, k: nb / n, zero_each=True),    # assigns instead of accumulating
])
def test_accumulate_gradients_rejects(wrong):
    assert_rejected(L6, "accumulate_gradients", accumulate_gradients=wrong)


def test_a_correct_alternative_accumulation_passes(capsys):
    run_check(L6, "accumulate_gradients",
              accumulate_gradients=_accumulate(lambda nb, n, k: nb / n))
    assert "PASS accumulate_gradients" in capsys.readouterr().out


L7 = "07_vanishing_gradients"


@pytest.mark.parametrize("wrong", [
    lambda fan_in, fan_out, rng: rng.uniform(-np.sqrt(6 / fan_in), np.sqrt(6 / fan_in),
                                             size=(fan_in, fan_out)),       # fan_in only
    lambda fan_in, fan_out, rng: rng.uniform(-np.sqrt(2 / (fan_in + fan_out)),
                                             np.sqrt(2 / (fan_in + fan_out)),
                                             size=(fan_in, fan_out)),       # std used as bound
    lambda fan_in, fan_out, rng: rng.normal(0, np.sqrt(2 / (fan_in + fan_out)),
                                            size=(fan_in, fan_out)),        # normal, not uniform
    lambda fan_in, fan_out, rng: rng.uniform(-np.sqrt(6 / (fan_in + fan_out)),
                                             np.sqrt(6 / (fan_in + fan_out)),
                                             size=(fan_out, fan_in)),       # PyTorch's layout
])
def test_xavier_uniform_rejects(wrong):
    assert_rejected(L7, "xavier_uniform", xavier_uniform=wrong)


@pytest.mark.parametrize("wrong", [
    lambda fan_in, fan_out, rng: rng.normal(0, 2 / fan_in, size=(fan_in, fan_out)),  # variance as std
    lambda fan_in, fan_out, rng: rng.normal(0, np.sqrt(1 / fan_in), size=(fan_in, fan_out)),  # LeCun
    lambda fan_in, fan_out, rng: rng.normal(0, np.sqrt(2 / fan_out), size=(fan_in, fan_out)),  # fan_out
])
def test_he_normal_rejects(wrong):
    assert_rejected(L7, "he_normal", he_normal=wrong)


def test_init_check_explains_the_difference():
    with pytest.raises(ExerciseFailure, match=r"std .* \(expected .*\), range"):
        run_check(L7, "he_normal",
                  he_normal=lambda fan_in, fan_out, rng: rng.normal(0, 1.0, (fan_in, fan_out)))
    with pytest.raises(ExerciseFailure, match=r"shape \(64,\), expected"):
        run_check(L7, "xavier_uniform",
                  xavier_uniform=lambda fan_in, fan_out, rng: rng.uniform(-1, 1, fan_in))


@pytest.mark.parametrize("wrong", [
    lambda model: {n: float(np.sum(p.grad ** 2)) for n, p in model.named_parameters()
                   if p.grad is not None},                                       # squared norm
    lambda model: {n: float(np.sqrt(np.sum(p.data ** 2))) for n, p in model.named_parameters()},  # weights
    lambda model: {n: float(np.abs(p.grad).max()) if p.grad is not None else float("nan")
                   for n, p in model.named_parameters()},                        # max norm
    lambda model: {n: float(np.sqrt(np.sum(p.grad ** 2))) for n, p in model.named_parameters()
                   if p.grad is not None},                                       # unused one dropped
])
def test_gradient_norms_per_parameter_rejects(wrong):
    assert_rejected(L7, "gradient_norms_per_parameter", gradient_norms_per_parameter=wrong)


def _clip(scale_each=False, always=False, no_sqrt=False, in_place=False):
    def clip_grad_norm(grads, max_norm):
        norms = [float(np.sqrt(np.sum(g ** 2))) for g in grads]
        total = float(np.sum([n ** 2 for n in norms]))
        total = total if no_sqrt else float(np.sqrt(total))
        if scale_each:  # per tensor, not global
            return [g * min(1.0, max_norm / (n + 1e-6)) for g, n in zip(grads, norms)], total
        scale = max_norm / (total + 1e-6) if (always or total > max_norm) else 1.0
        if in_place:
            for g in grads:
                g *= scale
            return grads, total
        return [g * scale for g in grads], total
    return clip_grad_norm


@pytest.mark.parametrize("wrong", [_clip(scale_each=True), _clip(always=True), _clip(no_sqrt=True),
                                   _clip(in_place=True)])
def test_clip_grad_norm_rejects(wrong):
    assert_rejected(L7, "clip_grad_norm", clip_grad_norm=wrong)


@pytest.mark.parametrize("wrong", [
    lambda a: float(np.mean(a <= 0)),                    # share of zero entries
    lambda a: float(np.mean(np.any(a <= 0, axis=0))),    # zero for some example, not all
    lambda a: float(np.mean(np.all(a <= 0, axis=1))),    # over examples, not units
    lambda a: float(np.sum(np.all(a <= 0, axis=0))),     # a count
])
def test_dead_relu_fraction_rejects(wrong):
    assert_rejected(L7, "dead_relu_fraction", dead_relu_fraction=wrong)
