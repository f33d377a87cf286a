"""Residual connections (He et al., 2016): y = x + f(x).

The gradient has a path that skips f: dL/dx = dL/dy (1 + df/dx), so it does not
vanish however small df/dx becomes, which is why very deep networks train.
"""

from __future__ import annotations

from . import init
from .activation import ReLU
from .linear import Linear, as_tensor
from .module import Module

__all__ = ["Residual", "ResidualBlock"]


class Residual(Module):
    """y = x + f(x) for any module f that keeps the shape of x."""

    def __init__(self, module):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"Residual: expected a Module, got {type(module).__name__}")
        self.module = module

    def forward(self, x):
        x = as_tensor(x, "Residual")
        fx = self.module(x)
        if fx.shape != x.shape:
            raise ValueError(
                f"Residual: the wrapped {type(self.module).__name__} maps shape {x.shape} to "
                f"{fx.shape}; x + f(x) needs f to keep the shape"
            )
        return x + fx


class ResidualBlock(Module):
    """y = x + Linear2(act(Linear1(x))), X (N, dim) -> (N, dim), hidden width ``hidden``
    (default dim).

    ResidualBlock(dim, activation=None (ReLU), hidden=None, rng=None, dtype='float64', device=None)
    """

    def __init__(self, dim, activation=None, hidden=None, rng=None, dtype="float64", device=None):
        super().__init__()
        hidden = dim if hidden is None else hidden
        rng = init.default_rng(rng)
        self.fc1 = Linear(dim, hidden, rng=rng, dtype=dtype, device=device)
        self.activation = ReLU() if activation is None else activation
        self.fc2 = Linear(hidden, dim, rng=rng, dtype=dtype, device=device)

    def forward(self, x):
        x = as_tensor(x, "ResidualBlock")
        return x + self.fc2(self.activation(self.fc1(x)))
