"""Checks of exercise notebook 07_vanishing_gradients: references in backproplab.nn.init,
optim and diagnostics."""

import numpy as np

from ... import diagnostics, nn, numerics, optim
from ...nn import functional as F
from ...tensor import Tensor
from ..spec import Spec
from ._common import seed, seeded
from ._diagnose import diagnose

REFERENCES = ("backproplab.optim", "backproplab.diagnostics", "backproplab.nn.init",
              "backproplab.manual", "backproplab.numerics", "backproplab.train",
              "backproplab.grading")


def compare_weights(got, expected):
    # None when the weights equal the library's (same generator, same draws); otherwise say
    # how their shape, spread or range differ.
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"returned {type(got).__name__}, expected an array of shape {expected.shape}"
    if got.shape != expected.shape:
        return f"weights have shape {got.shape}, expected (fan_in, fan_out) = {expected.shape}"
    if np.allclose(got, expected, rtol=1e-10, atol=1e-12):
        return None
    return (f"weights differ from the library's drawn from the same generator: std "
            f"{got.std():.4g} (expected {expected.std():.4g}), range [{got.min():.4g}, "
            f"{got.max():.4g}] (expected [{expected.min():.4g}, {expected.max():.4g}])")


def _library_xavier_uniform(fan_in, fan_out, rng):
    return nn.init.xavier_uniform_(Tensor(np.zeros((fan_in, fan_out))), rng=rng).numpy()


def _library_he_normal(fan_in, fan_out, rng):
    weight = Tensor(np.zeros((fan_in, fan_out)))
    return nn.init.kaiming_normal_(weight, nonlinearity="relu", rng=rng).numpy()


class WithUnusedLayer(nn.Module):
    # A network with a layer that its forward pass skips: that layer gets no gradient.
    def __init__(self, body, rng):
        super().__init__()
        self.body = body
        self.unused = nn.Linear(2, 2, rng=rng)

    def forward(self, x):
        return self.body(x)


def _norms_after_backward(fn, depth, unused_layer, seed_):
    # Build a small deep sigmoid net from a seed, backpropagate a batch, then call fn(model).
    rng = np.random.default_rng(seed_)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(8, 8, rng=rng), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(8, 3, rng=rng))
    if unused_layer:
        model = WithUnusedLayer(model, rng)
    x, y = rng.standard_normal((16, 8)), rng.integers(0, 3, 16)
    F.cross_entropy(model(Tensor(x)), y).backward()
    return fn(model)


def _observe_norms(subjects, *case):
    norms = _norms_after_backward(subjects[0], *case)
    if not isinstance(norms, dict):
        return {"not a dict": type(norms).__name__}
    return {str(k): float(v) for k, v in norms.items()}


def _names_and_norms(got, expected):
    if "not a dict" in got:
        return f"returned {got['not a dict']}, expected a dict {{name: norm}}"
    if list(got) != list(expected):
        return f"keys {list(got)}, expected the parameter names {list(expected)}"
    for name, value in expected.items():
        mine = got[name]
        if np.isnan(value) != bool(np.isnan(mine)) or (
                not np.isnan(value) and not np.isclose(mine, value, rtol=1e-8, atol=0)):
            return f"the norm of {name!r} is {mine:.4g}, expected {value:.4g}"
    return None


def _library_clip(grads, max_norm):
    # optim.clip_grad_norm_ on parameters holding copies of the gradients.
    params = [nn.Parameter(np.zeros(g.shape)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    total_norm = optim.clip_grad_norm_(params, max_norm)
    return [p.grad for p in params], total_norm


def _clip_cases(rng):
    shapes = [(4, 3), (3,), (3, 2), (2,)]
    return [([10 * rng.standard_normal(s) for s in shapes], 1.0),     # far above: clipped
            ([0.1 * rng.standard_normal(s) for s in shapes], 5.0),    # below: unchanged
            ([rng.standard_normal(s) for s in shapes], float(rng.uniform(1.5, 3.5))),
            ([np.full(4, 3.0)], 1.0)]


def _dead_cases(rng):
    cases = []
    for n, d, shift in [(32, 16, 0.0), (8, 50, -1.0), (100, 10, -2.5), (5, 7, 1.0), (1, 4, -0.5)]:
        z = rng.standard_normal((n, d)) + shift
        cases.append((np.maximum(z, 0.0),))
    cases.append((np.zeros((3, 4)),))
    return cases


def _batchnorm(x, gamma, beta, eps):
    mean = x.mean(axis=0, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=0, keepdims=True)
    return centred / (var + eps).sqrt() * gamma + beta


def _batchnorm_reference(dout, x, gamma, eps):
    beta = np.zeros_like(gamma)
    return numerics.tensor_grads(lambda x_, g_, b_: _batchnorm(x_, g_, b_, eps), x, gamma, beta,
                                 upstream=dout)


def _batchnorm_slip(dout, x, gamma, eps, mean_path=True, var_path=True, ddof=0):
    # the backward by hand, with one of its paths left out or the variance unbiased
    n = x.shape[0]
    mean = x.mean(axis=0)
    var = x.var(axis=0, ddof=ddof)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean) * inv
    dxhat = dout * gamma
    dx = dxhat * inv
    if mean_path:
        dx = dx - dxhat.mean(axis=0) * inv
    if var_path:
        dx = dx - xhat * (dxhat * xhat).sum(axis=0) * inv / (n - ddof)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def _batchnorm_cases(rng):
    return [(rng.standard_normal((n, d)), 3 * rng.standard_normal((n, d)) + rng.uniform(-2, 2, d),
             rng.uniform(0.5, 2.0, d), 1e-5)
            for n, d in [(8, 3), (4, 5), (16, 2)]]


BATCHNORM_MISTAKES = [
    ("it treats the batch mean and variance as constants: they depend on every x of the "
     "column too, so each dx[n, d] collects terms from the whole batch",
     lambda *case: _batchnorm_slip(*case, mean_path=False, var_path=False)),
    ("it has the path through the mean but not the one through the variance",
     lambda *case: _batchnorm_slip(*case, var_path=False)),
    ("it has the path through the variance but not the one through the mean",
     lambda *case: _batchnorm_slip(*case, mean_path=False)),
    ("it uses the unbiased variance (divided by N - 1); batch normalisation in training divides "
     "by N",
     lambda *case: _batchnorm_slip(*case, ddof=1)),
]


def _residual(x, w):
    return x + (x @ w).tanh()


def _residual_slip(dout, x, w, identity=True, slope=True):
    t = np.tanh(x @ w)
    dz = dout * (1 - t ** 2) if slope else dout
    return (dout if identity else 0.0) + dz @ w.T, x.T @ dz


def _residual_cases(rng):
    return [(rng.standard_normal((n, d)), rng.standard_normal((n, d)),
             rng.standard_normal((d, d)) / np.sqrt(d))
            for n, d in [(5, 4), (1, 3), (8, 6)]]


RESIDUAL_MISTAKES = [
    ("it lacks the identity path: y = x + tanh(x W) reaches x directly too, and that path "
     "passes dout through unchanged",
     lambda *case: _residual_slip(*case, identity=False)),
    ("it leaves out tanh's slope on the branch", lambda *case: _residual_slip(*case, slope=False)),
]


def _init_cases(shapes):
    return lambda rng: [(fan_in, fan_out, seed(rng)) for fan_in, fan_out in shapes]


SPECS = [
    Spec("xavier_uniform", "xavier_uniform", 2,
         _init_cases([(64, 64), (784, 128), (3, 10), (1, 1)]), subject="xavier_uniform",
         observe=lambda subjects, *case: seeded(subjects[0])(*case),
         reference=seeded(_library_xavier_uniform), compare=compare_weights, seed=71),
    Spec("he_normal", "he_normal", 2, _init_cases([(64, 64), (784, 128), (10, 3), (2, 5)]),
         subject="he_normal", observe=lambda subjects, *case: seeded(subjects[0])(*case),
         reference=seeded(_library_he_normal), compare=compare_weights, seed=75),
    Spec("gradient_norms_per_parameter", "gradient_norms_per_parameter", 2,
         lambda rng: [(3, False, seed(rng)), (6, False, seed(rng)), (2, True, seed(rng))],
         subject="gradient_norms_per_parameter", observe=_observe_norms,
         reference=lambda *case: _norms_after_backward(diagnostics.gradient_norms, *case),
         compare=_names_and_norms, seed=79),
    Spec("clip_grad_norm", "clip_grad_norm", 3, _clip_cases, subject="clip_grad_norm",
         reference=_library_clip, names=("clipped", "total_norm"),
         arg_names=("grads", "max_norm"), seed=82),
    Spec("dead_relu_fraction", "dead_relu_fraction", 2, _dead_cases,
         subject="dead_relu_fraction", reference=diagnostics.dead_relu_fraction,
         names="fraction", arg_names=("h",), seed=83),
    Spec("batchnorm_backward", "batchnorm_backward", 3, _batchnorm_cases,
         subject="batchnorm_backward",
         judge=diagnose(_batchnorm_reference, BATCHNORM_MISTAKES, names=("dx", "dgamma", "dbeta"),
                        rtol=1e-7, atol=1e-10),
         arg_names=("dout", "x", "gamma", "eps"), seed=84),
    Spec("residual_backward", "residual_backward", 3, _residual_cases,
         subject="residual_backward",
         judge=diagnose(lambda dout, x, w: numerics.tensor_grads(_residual, x, w, upstream=dout),
                        RESIDUAL_MISTAKES, names=("dx", "dw"), rtol=1e-8, atol=1e-11),
         arg_names=("dout", "x", "w"), seed=85),
]
