"""Stochastic gradient descent, with momentum and weight decay."""

from __future__ import annotations

from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD(params, lr, momentum=0, nesterov=False, weight_decay=0)

    With g = dL/dw + weight_decay * w (L2 penalty) and velocity v (start 0):

        plain:     w <- w - lr g
        momentum:  v <- momentum v + g ;  w <- w - lr v
        nesterov:  v <- momentum v + g ;  w <- w - lr (g + momentum v)

    (PyTorch's form.) The 1986 paper writes momentum as
    dw(t) = -lr dE/dw + alpha dw(t-1); for a constant lr that is the same sequence
    of weights, with dw = -lr v.
    """

    hyperparameters = ("momentum", "nesterov", "weight_decay")

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr)
        if momentum < 0:
            raise ValueError(f"SGD: momentum must be >= 0, got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"SGD: weight_decay must be >= 0, got {weight_decay}")
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def _update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            if "velocity" not in state:
                state["velocity"] = g * 1  # a copy: g may be p.grad, which the caller owns
            else:
                v = state["velocity"]
                v *= self.momentum
                v += g
            v = state["velocity"]
            g = g + self.momentum * v if self.nesterov else v
        p.data -= self.lr * g
