"""Checks of exercise notebook 05_layers: references in backproplab.manual."""

import numpy as np

from ... import manual, numerics
from ..spec import Spec
from ._diagnose import diagnose

REFERENCES = ("backproplab",)


def _relu_cases(rng):
    with_zeros = rng.standard_normal((2, 5))
    with_zeros.flat[[0, 3, 6]] = 0.0  # the kink itself, where the slope is taken to be 0
    return [(rng.standard_normal((4, 6)), rng.standard_normal((4, 6))),
            (rng.standard_normal((3, 2, 5)), rng.standard_normal((3, 2, 5))),
            (rng.standard_normal((2, 5)), with_zeros)]


def _run_layer(subjects, x, w, b, dout):
    layer = subjects[0](w, b)
    out, cache = layer.forward(x)
    return (out, *layer.backward(dout, cache))


def _layer_cases(rng):
    return [(rng.standard_normal((n, d_in)), rng.standard_normal((d_in, d_out)),
             rng.standard_normal(d_out), rng.standard_normal((n, d_out)))
            for n, d_in, d_out in [(5, 4, 3), (1, 2, 6), (6, 3, 3)]]


def _flatten(grads):
    if not isinstance(grads, (list, tuple)) or not all(
            isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in grads):
        raise TypeError("mlp_backward must return a list of (dw, db) pairs, one per Linear "
                        "layer")
    return tuple(g for pair in grads for g in pair)


def _mlp_grads(subjects, x, y, params):
    mlp_backward, build_mlp, mlp_forward = subjects
    layers = build_mlp(params)
    scores, caches = mlp_forward(layers, x)
    _, dscores = manual.softmax_cross_entropy(scores, y)
    return _flatten(mlp_backward(layers, dscores, caches))


def _mlp_cases(rng):
    cases = []
    for n, sizes in [(7, (5, 8, 6, 3)), (1, (4, 3, 3, 2))]:
        params = [(rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out))
                  for d_in, d_out in zip(sizes[:-1], sizes[1:])]
        cases.append((rng.standard_normal((n, sizes[0])), rng.integers(0, sizes[-1], size=n),
                      params))
    return cases


def _row_max_cases(rng):
    ties = rng.integers(0, 3, (6, 4)).astype(np.float64)  # small integers: many ties
    ties[0] = 2.0                                         # a row that is all one value
    return [(rng.standard_normal(5), rng.standard_normal((5, 3))),
            (rng.standard_normal(6), ties),
            (rng.standard_normal(3), rng.integers(-2, 2, (3, 5)).astype(np.float64))]


def _at_max(dout, x):
    return x == x.max(axis=1, keepdims=True)


def _tied(dout, x):
    at = _at_max(dout, x)
    return at & (at.sum(axis=1, keepdims=True) > 1)


ROW_MAX_MISTAKES = [
    ("all of dout[n] went to one of the tied entries; where several entries tie, the "
     "convention of this exercise splits dout[n] equally among them",
     lambda dout, x: np.eye(x.shape[1])[x.argmax(axis=1)] * dout[:, None]),
    ("every tied entry got all of dout[n], so a row passes back more than dout[n]",
     lambda dout, x: _at_max(dout, x) * dout[:, None]),
]


def _softplus_cases(rng):
    cases = []
    for shape, spread in [((4, 5), 3.0), ((7,), 1.0), ((2, 3, 2), 5.0)]:
        x = spread * rng.standard_normal(shape)
        cases.append((rng.standard_normal(shape), np.logaddexp(0.0, x)))
    return cases


def _softplus_reference(dout, out):
    x = np.log(np.expm1(out))  # the input that gave out = log(1 + e^x)
    return numerics.tensor_grads(lambda t: (t.exp() + 1.0).log(), x, upstream=dout)[0]


SOFTPLUS_MISTAKES = [
    ("it matches dout * sigmoid(out), the given layer's bug: the slope of softplus is the "
     "sigmoid of the input x, and the cache holds the output",
     lambda dout, out: dout / (1.0 + np.exp(-out))),
    ("it matches dout * e^x, the derivative of e^x rather than of log(1 + e^x)",
     lambda dout, out: dout * np.expm1(out)),
    ("it matches dout * e^(-out) = dout * (1 - sigmoid(x)), the complement of the slope",
     lambda dout, out: dout * np.exp(-out)),
]


SPECS = [
    Spec("relu_backward", "relu_backward", 3, _relu_cases, subject="relu_backward",
         reference=manual.relu_backward, names="dx", arg_names=("dout", "x"), seed=50,
         regions={"where x < 0": lambda dout, x: x < 0, "where x > 0": lambda dout, x: x > 0,
                  "where x == 0 (the slope there is taken to be 0)": lambda dout, x: x == 0,
                  "where x <= 0": lambda dout, x: x <= 0}),
    Spec("sigmoid_backward", "sigmoid_backward", 2,
         lambda rng: [(rng.standard_normal(s), manual.sigmoid_forward(3 * rng.standard_normal(s)))
                      for s in [(4, 6), (5,), (2, 3, 4)]],
         subject="sigmoid_backward", reference=manual.sigmoid_backward, names="dx",
         arg_names=("dout", "out"), seed=51),
    Spec("tanh_backward", "tanh_backward", 2,
         lambda rng: [(rng.standard_normal(s), np.tanh(2 * rng.standard_normal(s)))
                      for s in [(4, 6), (7,), (2, 2, 3)]],
         subject="tanh_backward", reference=manual.tanh_backward, names="dx",
         arg_names=("dout", "out"), seed=52),
    Spec("linear_layer", "linear_layer", 3, _layer_cases, subject="Linear", observe=_run_layer,
         reference=lambda x, w, b, dout: (manual.linear_forward(x, w, b),
                                          *manual.linear_backward(dout, x, w)),
         names=("out", "dx", "dw", "db"), arg_names=("x", "w", "b", "dout"), seed=53),
    Spec("mlp_backward", "mlp_backward", 3, _mlp_cases, subject="mlp_backward",
         observe=_mlp_grads,
         reference=lambda x, y, params: _flatten(manual.mlp_loss_and_grads(x, y, params)[1]),
         names=("dW1", "db1", "dW2", "db2", "dW3", "db3"), arg_names=("x", "y", "params"),
         seed=54),
    Spec("row_max_backward", "row_max_backward", 3, _row_max_cases,
         subject="row_max_backward",
         judge=diagnose(lambda dout, x: numerics.tensor_grads(lambda t: t.max(axis=1), x,
                                                              upstream=dout)[0],
                        ROW_MAX_MISTAKES, names="dx", rtol=1e-10, atol=1e-12,
                        regions={"where a row's maximum is tied (several entries equal it)":
                                 _tied,
                                 "at the row maxima": _at_max,
                                 "away from the row maxima": lambda dout, x: ~_at_max(dout, x)}),
         arg_names=("dout", "x"), seed=56),
    Spec("softplus_backward", "softplus_backward", 2, _softplus_cases,
         subject="softplus_backward",
         judge=diagnose(_softplus_reference, SOFTPLUS_MISTAKES, names="dx", rtol=1e-8,
                        atol=1e-10),
         arg_names=("dout", "out"), seed=57),
]
