"""Checks of exercise notebook 02_chain_rule: references by backproplab.Tensor's backward()."""

import numpy as np

from ... import numerics
from ..spec import Spec
from ._diagnose import diagnose

REFERENCES = ("backproplab",)


def _two_layer_error(X, W1, W2, D):
    Y = ((X @ W1.T).sigmoid() @ W2.T).sigmoid()
    return 0.5 * ((Y - D) ** 2).sum()


def _two_paths(x, y):
    return (x * y).exp() * (x + y).tanh()


def _two_path_grads(x, y):
    return numerics.tensor_grads(_two_paths, x, y)


def _two_path_slips(x, y):
    # the two paths of f = exp(u) tanh(v), u = x y, v = x + y, to x and to y
    through_u = np.exp(x * y) * np.tanh(x + y)
    through_v = np.exp(x * y) * (1 - np.tanh(x + y) ** 2)
    return through_u, through_v


TWO_PATH_MISTAKES = [
    ("it has only the path through u = x y; x and y also reach f through v = x + y, and the "
     "multivariate chain rule (2.3) adds the paths",
     lambda x, y: (_two_path_slips(x, y)[0] * y, _two_path_slips(x, y)[0] * x)),
    ("it has only the path through v = x + y; x and y also reach f through u = x y, and the "
     "multivariate chain rule (2.3) adds the paths",
     lambda x, y: (_two_path_slips(x, y)[1], _two_path_slips(x, y)[1])),
    ("the local derivatives of u = x y are swapped: du/dx = y and du/dy = x",
     lambda x, y: (_two_path_slips(x, y)[0] * x + _two_path_slips(x, y)[1],
                   _two_path_slips(x, y)[0] * y + _two_path_slips(x, y)[1])),
]


def _cross_entropy_error(X, W1, W2, D):
    Y = ((X @ W1.T).sigmoid() @ W2.T).sigmoid()
    return -(D * Y.log() + (1.0 - D) * (1.0 - Y).log()).sum()


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _cross_entropy_slip(X, W1, W2, D, delta):
    # the backward of the two-layer net from a wrong output delta dE/dZ2
    H = _sig(X @ W1.T)
    Y = _sig(H @ W2.T)
    dZ2 = delta(Y, D)
    dZ1 = (dZ2 @ W2) * H * (1 - H)
    return dZ1.T @ X, dZ2.T @ H


CROSS_ENTROPY_MISTAKES = [
    ("it matches dE/dZ2 = (Y - D) Y (1 - Y): with this error the output sigmoid's slope "
     "cancels against dE/dY, so do not multiply by it again",
     lambda *case: _cross_entropy_slip(*case, lambda Y, D: (Y - D) * Y * (1 - Y))),
    ("its sign is flipped: E grows when Y moves away from D",
     lambda *case: _cross_entropy_slip(*case, lambda Y, D: D - Y)),
    ("it is divided by N: E is a sum over cases, not a mean",
     lambda *case: _cross_entropy_slip(*case, lambda Y, D: (Y - D) / len(Y))),
]


def _two_layer_cases(rng):
    return [(rng.standard_normal((5, 3)), rng.standard_normal((4, 3)),
             rng.standard_normal((2, 4)), rng.uniform(0, 1, (5, 2))) for _ in range(2)]


SPECS = [
    Spec("sigmoid_derivative", "sigmoid_derivative", 1,
         lambda rng: [(rng.standard_normal((3, 4)) * 3,), (rng.uniform(-8, 8, 9),)],
         subject="sigmoid_derivative",
         reference=lambda x: numerics.tensor_grads(lambda t: t.sigmoid(), x)[0],
         rtol=1e-8, atol=1e-12, names="derivative", arg_names=("x",)),
    Spec("chain_rule", "chain_rule", 2,
         lambda rng: [(rng.standard_normal(6) * 2,), (rng.uniform(-3, 3, 7),)],
         subject="chain_rule",
         reference=lambda x: numerics.tensor_grads(
             lambda t: ((t.tanh() ** 2).exp() + 1.0).log(), x)[0],
         rtol=1e-8, atol=1e-12, names="dy/dx", arg_names=("x",), seed=1),
    Spec("two_layer_backward", "two_layer_backward", 3,
         lambda rng: [(rng.standard_normal((5, 3)), rng.standard_normal((4, 3)),
                       rng.standard_normal((2, 4)), rng.uniform(0, 1, (5, 2))) for _ in range(2)],
         subject="two_layer_backward",
         reference=lambda X, W1, W2, D: numerics.tensor_grads(_two_layer_error, X, W1, W2, D)[1:3],
         rtol=1e-7, atol=1e-10, names=("dW1", "dW2"), arg_names=("X", "W1", "W2", "D"), seed=2),
    Spec("delta_rule_update", "delta_rule_update", 2,
         lambda rng: [(rng.standard_normal((3, 2)), rng.standard_normal((3, 2)),
                       rng.standard_normal((3, 2)), float(rng.uniform(0.05, 1)),
                       float(rng.uniform(0.5, 0.95))),
                      (rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(4),
                       float(rng.uniform(0.05, 1)), 0.0)],
         subject="delta_rule_update", reference=numerics.delta_rule_update,
         rtol=1e-10, atol=1e-12, names=("new_w", "delta"),
         arg_names=("w", "dE_dw", "prev_delta", "lr", "momentum"), seed=3),
    Spec("two_path_gradient", "two_path_gradient", 2,
         lambda rng: [(rng.uniform(-1.5, 1.5, 6), rng.uniform(-1.5, 1.5, 6)),
                      (rng.standard_normal(4), rng.uniform(-1, 1, 4))],
         subject="two_path_gradient",
         judge=diagnose(_two_path_grads, TWO_PATH_MISTAKES, names=("df/dx", "df/dy"),
                        rtol=1e-8, atol=1e-12),
         arg_names=("x", "y"), seed=6),
    Spec("cross_entropy_backward", "cross_entropy_backward", 3, _two_layer_cases,
         subject="cross_entropy_backward",
         judge=diagnose(lambda *case: numerics.tensor_grads(_cross_entropy_error, *case)[1:3],
                        CROSS_ENTROPY_MISTAKES, names=("dW1", "dW2"), rtol=1e-7, atol=1e-10),
         arg_names=("X", "W1", "W2", "D"), seed=7),
]
