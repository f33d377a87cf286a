"""Activation functions as modules. Each is a composition of Tensor ops, so its
derivative comes from the engine; the docstrings give f and f' for the lessons.
All act elementwise on any shape (N, D) -> (N, D), except Softmax/LogSoftmax,
which normalise along ``axis``."""

from __future__ import annotations

import math

from ..tensor import where
from . import functional as F
from .linear import as_tensor
from .module import Module

__all__ = ["Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "GELU", "Softmax", "LogSoftmax"]


class Identity(Module):
    """f(x) = x;  f'(x) = 1."""

    def forward(self, x):
        return as_tensor(x, "Identity")


class Sigmoid(Module):
    """f(x) = 1 / (1 + e^-x);  f'(x) = f(x) (1 - f(x)), at most 1/4 (at x = 0)."""

    def forward(self, x):
        return as_tensor(x, "Sigmoid").sigmoid()


class Tanh(Module):
    """f(x) = tanh x = (e^x - e^-x) / (e^x + e^-x);  f'(x) = 1 - f(x)^2, at most 1."""

    def forward(self, x):
        return as_tensor(x, "Tanh").tanh()


class ReLU(Module):
    """f(x) = max(x, 0);  f'(x) = 1 for x > 0, 0 for x < 0 (0 is used at x = 0)."""

    def forward(self, x):
        return as_tensor(x, "ReLU").relu()


class LeakyReLU(Module):
    """f(x) = x for x > 0, a x otherwise (a = negative_slope);  f'(x) = 1 or a."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        x = as_tensor(x, "LeakyReLU")
        return where(x > 0, x, x * self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    """Gaussian error linear unit, tanh approximation (Hendrycks and Gimpel, 2016):

        f(x) = x/2 (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
        f'(x) = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2)

    (PyTorch's ``GELU(approximate='tanh')``; it differs from the exact x Phi(x) by
    less than 1e-3. The exact form needs erf, which the array API lacks.)
    """

    def forward(self, x):
        x = as_tensor(x, "GELU")
        u = (x + 0.044715 * x**3) * math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1 + u.tanh())

    def extra_repr(self):
        return "approximate='tanh'"


class Softmax(Module):
    """softmax(x)_i = e^{x_i} / sum_j e^{x_j} along ``axis`` (default the last, classes);
    d softmax_i / d x_j = s_i (delta_ij - s_j)."""

    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return F.softmax(as_tensor(x, "Softmax"), axis=self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


class LogSoftmax(Module):
    """log_softmax(x)_i = x_i - log sum_j e^{x_j} along ``axis``;  d/dx_j = delta_ij - s_j."""

    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return F.log_softmax(as_tensor(x, "LogSoftmax"), axis=self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"
