"""Checks of exercise notebook 02_chain_rule: references by backproplab.Tensor's backward()."""

from ... import numerics
from ..spec import Spec

REFERENCES = ("backproplab",)


def _two_layer_error(X, W1, W2, D):
    Y = ((X @ W1.T).sigmoid() @ W2.T).sigmoid()
    return 0.5 * ((Y - D) ** 2).sum()


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
]
