"""Checks of exercise notebook 15_autodiff: references from the library's gradients of
gradients (backproplab.grad with create_graph, backproplab.autograd.functional.hvp).

The student's functions receive a loss ``f``, a Python function of one Tensor; the cases
carry only plain data (which loss and its arrays), and ``f`` is rebuilt from them on each
side."""

import numpy as np

from ...autodiff import grad
from ...autograd import functional
from ...tensor import Tensor
from ..spec import Spec
from ._diagnose import diagnose

REFERENCES = ("backproplab.autograd", "backproplab.optim", "backproplab.numerics",
              "backproplab.manual", "backproplab.gradcheck", "backproplab.grading")


# ---- the losses the cases name ----

def _rosenbrock(w):
    # sum_i 100 (w[i+1] - w[i]^2)^2 + (1 - w[i])^2, the n-d Rosenbrock valley
    return (100.0 * (w[1:] - w[:-1] ** 2) ** 2 + (1.0 - w[:-1]) ** 2).sum()


def _tanh_regression(x, y):
    return lambda w: (((Tensor(x) @ w).tanh() - Tensor(y)) ** 2).mean()


def _quartic(a):
    # sum(w^4)/4 + w^T A w / 2, with A symmetric
    return lambda w: (w ** 4).sum() / 4.0 + (w * (Tensor(a) @ w)).sum() / 2.0


def loss(kind, arrays):
    """The loss a case names, as a function of one Tensor w."""
    if kind == "rosenbrock":
        return _rosenbrock
    if kind == "tanh_regression":
        return _tanh_regression(*arrays)
    if kind == "quartic":
        return _quartic(*arrays)
    raise ValueError(f"no loss {kind!r}")


def _loss_cases(rng, extra):
    d = int(rng.integers(3, 7))
    a = rng.standard_normal((d, d))
    n, k = int(rng.integers(5, 12)), int(rng.integers(2, 6))
    return [("rosenbrock", [], rng.uniform(-1.5, 1.5, int(rng.integers(2, 6))), *extra(rng)),
            ("tanh_regression", [rng.standard_normal((n, k)), rng.uniform(-0.9, 0.9, n)],
             0.5 * rng.standard_normal(k), *extra(rng)),
            ("quartic", [(a + a.T) / 2], rng.standard_normal(d), *extra(rng))]


def _numbers(x):
    return np.asarray(x.numpy() if isinstance(x, Tensor) else x, dtype=np.float64)


# ---- hvp_double_backward: H v by backprop through a backward pass ----

def _hvp_cases(rng):
    cases = _loss_cases(rng, lambda r: ())
    return [(kind, arrays, w, rng.standard_normal(w.shape)) for kind, arrays, w in cases]


def _observe_hvp(subjects, kind, arrays, w, v):
    return _numbers(subjects[0](loss(kind, arrays), w.copy(), v.copy()))


def _hvp_reference(kind, arrays, w, v):
    return functional.hvp(loss(kind, arrays), Tensor(w), Tensor(v))[1].numpy()


def _gradient(kind, arrays, w):
    w = Tensor(w, requires_grad=True)
    return grad(loss(kind, arrays)(w), w)[0].numpy()


HVP_MISTAKES = [
    ("that is the gradient g(w): differentiate g(w) . v once more with respect to w",
     lambda kind, arrays, w, v: _gradient(kind, arrays, w)),
    ("that is the gradient scaled entry by entry, g * v; H v comes from differentiating the "
     "scalar g . v with respect to w (keep g's graph with create_graph=True)",
     lambda kind, arrays, w, v: _gradient(kind, arrays, w) * v),
    ("that is H w, not H v: the vector dotted with the gradient must be v",
     lambda kind, arrays, w, v: _hvp_reference(kind, arrays, w, w)),
]


# ---- lr_hypergradient: d L(w - lr g(w)) / d lr ----

def _hyper_cases(rng):
    return [(kind, arrays, w, float(rng.uniform(2e-5, 2e-4) if kind == "rosenbrock"
                                    else rng.uniform(0.05, 0.5)))
            for kind, arrays, w in _loss_cases(rng, lambda r: ())]


def _observe_hyper(subjects, kind, arrays, w, lr):
    result = subjects[0](loss(kind, arrays), w.copy(), lr)
    return float(_numbers(result)) if np.size(_numbers(result)) == 1 else _numbers(result)


def _hyper_reference(kind, arrays, w, lr):
    # backprop through the update w1 = w - lr g(w) to a learning rate that requires grad
    f = loss(kind, arrays)
    g0 = _gradient(kind, arrays, w)
    eta = Tensor(np.array(lr), requires_grad=True)
    f(Tensor(w) - eta * Tensor(g0)).backward()
    return float(eta.grad)


HYPER_MISTAKES = [
    ("the sign is flipped: w1 = w - lr g0, so dL(w1)/dlr = -g(w1) . g0",
     lambda kind, arrays, w, lr: -_hyper_reference(kind, arrays, w, lr)),
    ("that is -g(w) . g(w), the hypergradient at lr = 0: the second gradient is taken at the "
     "updated weights w1 = w - lr g(w)",
     lambda kind, arrays, w, lr: -float(_gradient(kind, arrays, w) @ _gradient(kind, arrays, w))),
    ("that is -g(w1) . g(w1): the step's direction is the first gradient g(w), so the "
     "hypergradient is -g(w1) . g(w)",
     lambda kind, arrays, w, lr: -float(np.sum(_gradient(kind, arrays, w - lr * _gradient(kind, arrays, w)) ** 2))),
]


def _hyper_judge(observed, *case):
    expected = _hyper_reference(*case)
    if np.ndim(observed) != 0:
        return f"returned an array of shape {np.shape(observed)}, expected one number (a float)"
    got = float(observed)
    if np.isclose(got, expected, rtol=1e-7, atol=1e-10):
        return None
    hint = f"the hypergradient is {got:.6g}, expected {expected:.6g}"
    for text, wrong in HYPER_MISTAKES:
        if np.isclose(got, wrong(*case), rtol=1e-7, atol=1e-10):
            return f"{hint}; {text}"
    return hint


# ---- maml_meta_gradient: one-step MAML for linear regression ----

def _mse(x, y):
    return lambda w: ((Tensor(x) @ w - Tensor(y)) ** 2).mean()


def _maml_reference(w, xs, ys, xq, yq, inner_lr, second_order=True, inner_sign=-1.0):
    w = Tensor(w, requires_grad=True)
    (g,) = grad(_mse(xs, ys)(w), w, create_graph=second_order)
    fast = w + inner_sign * inner_lr * (g if second_order else g.detach())
    return grad(_mse(xq, yq)(fast), w)[0].numpy()


def _query_grad_at_w(w, xs, ys, xq, yq, inner_lr):
    w = Tensor(w, requires_grad=True)
    return grad(_mse(xq, yq)(w), w)[0].numpy()


MAML_MISTAKES = [
    ("that is first-order MAML: it treats the inner gradient as a constant; the meta-gradient "
     "of one-step MAML also carries (I - inner_lr H_support), so keep the inner step's graph "
     "(create_graph=True)",
     lambda *case: _maml_reference(*case, second_order=False)),
    ("that is the query loss's gradient at w; MAML differentiates the query loss at the "
     "adapted weights w - inner_lr grad L_support(w)", _query_grad_at_w),
    ("the inner step went uphill (w + inner_lr g): the adapted weights are w - inner_lr g",
     lambda *case: _maml_reference(*case, inner_sign=+1.0)),
]


def _maml_cases(rng):
    cases = []
    for d, ks, kq in [(3, 5, 7), (1, 4, 4), (6, 10, 8)]:
        w_task = rng.standard_normal(d)
        xs, xq = rng.standard_normal((ks, d)), rng.standard_normal((kq, d))
        cases.append((rng.standard_normal(d), xs, xs @ w_task + 0.1 * rng.standard_normal(ks),
                      xq, xq @ w_task, float(rng.uniform(0.05, 0.3))))
    return cases


def _observe_maml(subjects, *case):
    return _numbers(subjects[0](*(a.copy() if isinstance(a, np.ndarray) else a for a in case)))


SPECS = [
    Spec("hvp_double_backward", "hvp_double_backward", 3, _hvp_cases,
         subject="hvp_double_backward", observe=_observe_hvp,
         judge=diagnose(_hvp_reference, HVP_MISTAKES, names="Hv", rtol=1e-8, atol=1e-10),
         arg_names=("f", "w", "v"), seed=151),
    Spec("lr_hypergradient", "lr_hypergradient", 2, _hyper_cases, subject="lr_hypergradient",
         observe=_observe_hyper, judge=_hyper_judge, arg_names=("f", "w", "lr"), seed=152),
    Spec("maml_meta_gradient", "maml_meta_gradient", 3, _maml_cases,
         subject="maml_meta_gradient", observe=_observe_maml,
         judge=diagnose(_maml_reference, MAML_MISTAKES, names="meta_grad", rtol=1e-8, atol=1e-11),
         arg_names=("w", "xs", "ys", "xq", "yq", "inner_lr"), seed=153),
]
