"""Checks of the demo assignment 00_demo: three exercises in a few lines, which the
grader's tests grade and which show an author how a check is written."""

import numpy as np

from ..spec import Spec

REFERENCES = ("backproplab",)


def _two_layer_reference(dout, x, w1, w2):
    h_pre = x @ w1
    dh = (dout @ w2.T) * (h_pre > 0)
    return x.T @ dh, np.maximum(h_pre, 0.0).T @ dout


SPECS = [
    Spec("relu_backward", "relu_backward", 2,
         lambda rng: [(rng.standard_normal((4, 6)), rng.standard_normal((4, 6)))
                      for _ in range(3)],
         subject="relu_backward", reference=lambda dout, x: np.where(x > 0, dout, 0.0),
         names="dx", arg_names=("dout", "x"),
         regions={"where x < 0": lambda dout, x: x < 0, "where x > 0": lambda dout, x: x > 0}),
    Spec("sigmoid_backward", "sigmoid_backward", 2,
         lambda rng: [(rng.standard_normal((5, 3)), rng.uniform(0.01, 0.99, (5, 3)))
                      for _ in range(3)],
         subject="sigmoid_backward", reference=lambda dout, y: dout * y * (1.0 - y),
         names="dx", arg_names=("dout", "y"), seed=1),
    Spec("two_layer_backward", "two_layer_backward", 3,
         lambda rng: [(rng.standard_normal((8, 2)), rng.standard_normal((8, 3)),
                       rng.standard_normal((3, 4)), rng.standard_normal((4, 2)))
                      for _ in range(2)],
         subject="two_layer_backward", reference=_two_layer_reference, names=("dw1", "dw2"),
         arg_names=("dout", "x", "w1", "w2"), seed=2),
]
