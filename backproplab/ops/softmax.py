"""Softmax as one primitive, safe for masked entries (attention's softmax).

Composed from ops, a softmax over a row whose every entry is masked to -inf is
0/0 = nan (the shift m = max x is -inf, and x - m = -inf - (-inf) = nan), and the
nan spreads through the whole backward pass. As one op the forward can treat a
fully masked row explicitly, and the backward uses the closed form below.
"""

from ..autodiff import Function
from ..backend import namespace


class Softmax(Function):
    """s_i = e^{x_i - m} / sum_j e^{x_j - m} along ``axis``, m = max_j x_j (no overflow);

        dL/dx_i = s_i (g_i - sum_j g_j s_j)        (g = dL/ds; from ds_i/dx_j = s_i (delta_ij - s_j))

    Entries equal to -inf (masked out) get s_i = 0 and gradient 0. A slice whose
    entries are all -inf (a query that may attend to nothing) gives s = 0 everywhere
    and gradient 0, finite, instead of nan: the same value as PyTorch's attention.
    """

    def forward(self, x, axis):
        xp = namespace(x)
        m = xp.max(x, axis=axis, keepdims=True)
        m = xp.where(m == -float("inf"), 0.0, m)  # a fully masked slice: shift by 0, e = 0
        e = xp.exp(x - m)
        total = xp.sum(e, axis=axis, keepdims=True)
        self.out = e / xp.where(total == 0, 1.0, total)
        self.axis = axis
        return self.out

    def backward(self, g):
        xp = namespace(g)
        s = self.out
        return (s * (g - xp.sum(g * s, axis=self.axis, keepdims=True)),)
