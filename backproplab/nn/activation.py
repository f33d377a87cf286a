"""Activation functions as modules. Each is a composition of Tensor ops, so its
derivative comes from the engine; the docstrings give f and f' for the lessons.
All act elementwise on any shape (N, D) -> (N, D), except Softmax/LogSoftmax,
which normalise along ``axis``."""

from __future__ import annotations

import math

from ..autodiff import Function
from ..backend import namespace
from ..tensor import _apply, where
from . import functional as F
from .linear import as_tensor
from .module import Module

__all__ = ["Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "GELU", "Softmax", "LogSoftmax",
           "erf"]


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


# erf(x) = 2/sqrt(pi) int_0^x e^{-t^2} dt. The array API standard has no erf, so it is
# computed here from two classical expansions (Abramowitz and Stegun 7.1.6 and 7.1.14):
#
#   |x| < 1.5:  erf(x)  = 2/sqrt(pi) e^{-x^2} sum_{n>=0} 2^n x^{2n+1} / (1 3 5 ... (2n+1))
#               (every term positive: no cancellation; 40 terms reach float64 rounding)
#   |x| >= 1.5: erfc(x) = e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
#               (the continued fraction cut after 100 levels, evaluated from the bottom up)
#
# e^{-x^2} is formed as e^{-hi^2} e^{-(x^2 - hi^2)} with hi the upper half of x's bits,
# so hi^2 is exact and the rounding of x^2 is not amplified by the exponential.
# Measured against math.erf (tests/nn/test_gelu.py, 200,001 points in [-7, 7] and 2,001
# in [1e-300, 1]): at most 5.6e-16 absolute error and 5 ulp (units in the last place),
# both near |x| = 1.49; the same against scipy.special.erf. float32 inputs are computed in
# float32 (within 5e-7).
_SERIES_TERMS, _FRACTION_LEVELS, _SWITCH = 40, 100, 1.5
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _exp_minus_square(xp, a):
    """e^{-a^2} for a >= 0 (a <= 10), without the rounding of a*a (Dekker's split)."""
    split = 134217729.0 if xp.finfo(a.dtype).eps < 1e-10 else 4097.0  # 2^27 + 1, 2^12 + 1
    big = a * split
    hi = big - (big - a)
    lo = a - hi
    return xp.exp(-(hi * hi)) * xp.exp(-(2.0 * hi * lo + lo * lo))


def erf_array(x):
    """erf of an array, elementwise, with only array API calls (any backend)."""
    xp = namespace(x)
    a = xp.abs(x)
    a = xp.where(a > 10.0, xp.ones_like(a) * 10.0, a)  # erf(10) = 1 in float64; NaN stays NaN
    gauss = _exp_minus_square(xp, a)
    # the series, for small |x|, nested from its last term: a (1 + 2a^2/3 (1 + 2a^2/5 (1 + ...)))
    two_a2 = 2.0 * a * a
    nested = xp.ones_like(a)
    for n in range(_SERIES_TERMS - 1, 0, -1):
        nested = 1.0 + nested * two_a2 / (2 * n + 1)
    small = _TWO_OVER_SQRT_PI * gauss * (a * nested)
    # continued fraction, for large |x| (its value at small a is never used)
    b = xp.where(a < _SWITCH, xp.ones_like(a) * _SWITCH, a)
    t = b
    for k in range(_FRACTION_LEVELS, 0, -1):
        t = b + (k / 2.0) / t
    large = 1.0 - (gauss / math.sqrt(math.pi)) / t
    result = xp.where(a < _SWITCH, small, large)
    return xp.where(x < 0, -result, result)


class Erf(Function):
    """erf(x), elementwise;  d erf/dx = 2/sqrt(pi) e^{-x^2}  (exact, not the derivative of
    the approximation). Forward: ``erf_array``."""

    def forward(self, x):
        self.x = x
        return erf_array(x)

    def backward(self, grad):
        xp = namespace(grad)
        return (grad * _TWO_OVER_SQRT_PI * xp.exp(-(self.x * self.x)),)


def erf(x):
    """The error function of a Tensor, elementwise, differentiable (see ``Erf``)."""
    return _apply(Erf, as_tensor(x, "erf"))


class GELU(Module):
    """Gaussian error linear unit (Hendrycks and Gimpel, 2016), as PyTorch's ``nn.GELU``.

    approximate='none' (the default): the exact form with Phi the standard normal CDF,

        f(x) = x Phi(x) = x/2 (1 + erf(x / sqrt 2)),   f'(x) = Phi(x) + x phi(x),
        phi(x) = e^{-x^2/2} / sqrt(2 pi);

    erf is ``erf`` above (a series and a continued fraction written with array API calls;
    within 5.6e-16 of math.erf in float64). approximate='tanh': the tanh approximation,

        f(x) = x/2 (1 + tanh u),  u = sqrt(2/pi) (x + 0.044715 x^3)
        f'(x) = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2),

    which differs from the exact form by at most 4.8e-4 (near |x| = 2.7).
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        x = as_tensor(x, "GELU")
        if self.approximate == "tanh":
            u = (x + 0.044715 * x**3) * math.sqrt(2.0 / math.pi)
            return 0.5 * x * (1 + u.tanh())
        return 0.5 * x * (1 + erf(x * (1.0 / math.sqrt(2.0))))

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


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
