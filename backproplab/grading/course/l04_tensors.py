"""Checks of exercise notebook 04_tensors: references in backproplab.manual."""

import numpy as np

from ... import manual, numerics
from ..spec import Spec
from ._diagnose import diagnose

REFERENCES = ("backproplab",)


def _linear_cases(rng):
    return [(rng.standard_normal((n, d_out)), rng.standard_normal((n, d_in)),
             rng.standard_normal((d_in, d_out)))
            for n, d_in, d_out in [(5, 4, 3), (1, 3, 2), (7, 4, 4), (6, 2, 5)]]


def _sum_cases(rng):
    return [(rng.standard_normal(g), s) for g, s in [
        ((5, 3), (3,)), ((5, 3), (5, 1)), ((5, 3), (1, 3)), ((2, 4, 3), (4, 1)),
        ((2, 4, 3), (2, 1, 3)), ((2, 4, 3), ()), ((4, 3), (4, 3)), ((3, 1, 2), (1, 1))]]


def _softmax_cases(rng):
    return [(rng.standard_normal((4, 5)),), (rng.standard_normal((1, 3)) * 10,),
            (np.array([[1000.0, 999.0, 998.0], [-1000.0, 0.0, 5.0]]) + rng.uniform(-1, 1),),
            (rng.standard_normal((3, 2)) + 800.0,)]


def _cross_entropy_cases(rng):
    cases = [(rng.standard_normal((n, c)) * 3, rng.integers(0, c, size=n))
             for n, c in [(8, 5), (1, 3), (6, 2)]]
    cases.append((np.array([[1000.0, 0.0, -1000.0], [3.0, 3.0, 3.0]]), rng.integers(0, 3, 2)))
    return cases


def _div_cases(rng):
    cases = []
    for x_shape, y_shape in [((5, 3), (3,)), ((4, 3), (4, 1)), ((2, 3, 4), (3, 1)),
                             ((3, 2), (3, 2))]:
        y = rng.uniform(0.5, 2.0, y_shape) * rng.choice([-1.0, 1.0], y_shape)
        cases.append((rng.standard_normal(x_shape), rng.standard_normal(x_shape), y))
    return cases


def _div_reference(dout, x, y):
    return numerics.tensor_grads(lambda x, y: x / y, x, y, upstream=dout)


DIV_MISTAKES = [
    ("its sign is flipped: what is the sign of d(1/y)/dy?",
     lambda dout, x, y: (dout / y, manual.sum_to_shape(dout * x / y ** 2, y.shape))),
    ("it has y where y² belongs: d(1/y)/dy = -1/y²",
     lambda dout, x, y: (dout / y, manual.sum_to_shape(-dout * x / y, y.shape))),
    ("it lacks the factor x: z = x * (1/y)",
     lambda dout, x, y: (dout / y, manual.sum_to_shape(-dout / y ** 2, y.shape))),
]


def _log_softmax(z):
    m = z.detach().numpy().max(axis=1, keepdims=True)  # a constant shift: no gradient
    return z - ((z - m).exp().sum(axis=1, keepdims=True)).log() - m


def _log_softmax_cases(rng):
    cases = []
    for n, c in [(4, 5), (3, 3), (6, 2)]:
        dout = rng.standard_normal((n, c))
        dout[0] = rng.dirichlet(np.ones(c))  # a row whose upstream gradient sums to 1
        cases.append((dout, 2 * rng.standard_normal((n, c))))
    cases.append((-np.eye(3)[rng.integers(0, 3, 4)] / 4, rng.standard_normal((4, 3))))
    return cases


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


LOG_SOFTMAX_MISTAKES = [
    ("every log p_j depends on every z_k of its row through the normaliser, so each entry "
     "of dz collects the upstream gradients of the whole row, not only its own",
     lambda dout, z: dout * (1 - _softmax(z))),
    ("the normaliser's term is p times the row's total upstream gradient, sum_j dout_j, "
     "which is 1 only when the upstream gradients of the row happen to sum to 1",
     lambda dout, z: dout - _softmax(z)),
]


SPECS = [
    Spec("linear_backward", "linear_backward", 3, _linear_cases, subject="linear_backward",
         reference=manual.linear_backward, names=("dx", "dw", "db"),
         arg_names=("dout", "x", "w"), seed=40),
    Spec("sum_to_shape", "sum_to_shape", 3, _sum_cases, subject="sum_to_shape",
         reference=manual.sum_to_shape, names="gradient", arg_names=("grad", "shape"), seed=42),
    Spec("softmax", "softmax", 2, _softmax_cases, subject="softmax", reference=manual.softmax,
         names="p", arg_names=("x",), seed=43),
    Spec("softmax_cross_entropy_backward", "softmax_cross_entropy_backward", 3,
         _cross_entropy_cases, subject="softmax_cross_entropy_backward",
         reference=lambda logits, y: manual.softmax_cross_entropy(logits, y)[1], names="dlogits",
         regions={"at the true classes (entries [n, y[n]])":
                  lambda logits, y: np.arange(logits.shape[1]) == y[:, None],
                  "at the wrong classes (entries [n, j] with j != y[n])":
                  lambda logits, y: np.arange(logits.shape[1]) != y[:, None]},
         arg_names=("logits", "y"), seed=44),
    Spec("div_broadcast_backward", "div_broadcast_backward", 3, _div_cases,
         subject="div_broadcast_backward",
         judge=diagnose(_div_reference, DIV_MISTAKES, names=("dx", "dy"), rtol=1e-8,
                        atol=1e-10),
         arg_names=("dout", "x", "y"), seed=46),
    Spec("log_softmax_backward", "log_softmax_backward", 3, _log_softmax_cases,
         subject="log_softmax_backward",
         judge=diagnose(lambda dout, z: numerics.tensor_grads(_log_softmax, z, upstream=dout)[0],
                        LOG_SOFTMAX_MISTAKES, names="dz", rtol=1e-8, atol=1e-10,
                        regions={"in the rows whose upstream gradient dout does not sum to 1":
                                 lambda dout, z: ~np.isclose(dout.sum(axis=1, keepdims=True),
                                                             1.0)}),
         arg_names=("dout", "z"), seed=47),
]
