"""``Linear``: the affine layer Y = X W + b."""

from __future__ import annotations

import math

from ..tensor import Tensor, zeros
from . import init
from .module import Module, Parameter

__all__ = ["Linear", "as_tensor"]


def as_tensor(x, what: str) -> Tensor:
    """``x`` itself if it is a Tensor, else a constant Tensor made from the array/lists."""
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(x)
    except TypeError as err:
        raise TypeError(f"{what}: expected a Tensor or an array, got {type(x).__name__}") from err


class Linear(Module):
    """Y = X W + b, with X (N, D_in), W (D_in, D_out), b (D_out,), Y (N, D_out).

    Gradients (from the engine, no code here): dW = X^T dY, db = sum_n dY, dX = dY W^T.

    Linear(in_features, out_features, bias=True, rng=None, dtype='float64', device=None)

    The weight is stored as (D_in, D_out), the layout of the lessons' equations
    (PyTorch stores the transpose, (D_out, D_in), and computes X W^T). Any leading
    axes of X are batch axes: X (..., D_in) -> Y (..., D_out).

    Initial values: W and b ~ U(-1/sqrt(D_in), 1/sqrt(D_in)) (PyTorch's default),
    drawn from ``rng``; with ``rng=None`` a fresh unseeded generator is used, so
    pass ``numpy.random.default_rng(seed)`` to make a run reproducible. Call the
    functions of ``backproplab.nn.init`` on ``.weight`` for another scheme.
    """

    def __init__(self, in_features, out_features, bias=True, rng=None, dtype="float64", device=None):
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"Linear: {name} must be a positive integer, got {n!r}")
        self.in_features, self.out_features = in_features, out_features
        rng = init.default_rng(rng)
        bound = 1.0 / math.sqrt(in_features)
        self.weight = Parameter(zeros(in_features, out_features, dtype=dtype, device=device))
        init.uniform_(self.weight, -bound, bound, rng=rng)
        if bias:
            self.bias = Parameter(zeros(out_features, dtype=dtype, device=device))
            init.uniform_(self.bias, -bound, bound, rng=rng)
        else:
            self.bias = None

    def forward(self, x):
        y = self._input(x) @ self.weight
        return y if self.bias is None else y + self.bias

    def _input(self, x):
        """x as a Tensor with in_features in its last axis, or a ValueError naming the layer."""
        x = as_tensor(x, repr(self))
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            got = x.shape[-1] if x.ndim else "a 0-d tensor"
            raise ValueError(
                f"{type(self).__name__}({self.in_features}, {self.out_features}) expects "
                f"{self.in_features} input features, got {got} (input shape {x.shape})"
            )
        return x

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
