"""Checks of exercise notebook 04_tensors: references in backproplab.manual."""

import numpy as np

from ... import manual
from ..spec import Spec

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
]
