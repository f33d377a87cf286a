"""Reductions. The adjoint of summing is copying back: dL/dx = dL/dz broadcast
over the reduced axes."""

from ..autodiff import Function
from ..backend import namespace


def _keepdims_shape(shape, axis):
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


class Sum(Function):
    """z = sum of x over ``axis`` (a tuple of non-negative axes);  dz/dx_i = 1."""

    def forward(self, x, axis, keepdims):
        self.shape, self.axis = x.shape, axis
        return namespace(x).sum(x, axis=axis, keepdims=keepdims)

    def backward(self, g):
        xp = namespace(g)
        g = xp.reshape(g, _keepdims_shape(self.shape, self.axis))
        return (xp.broadcast_to(g, self.shape),)


class Max(Function):
    """z = max of x over ``axis``;  dz/dx_i = 1/k at the k entries that reach the
    maximum (ties share the gradient), 0 elsewhere."""

    def forward(self, x, axis, keepdims):
        xp = namespace(x)
        self.shape, self.axis = x.shape, axis
        m = xp.max(x, axis=axis, keepdims=True)
        is_max = xp.astype(x == m, x.dtype)
        self.share = is_max / xp.sum(is_max, axis=axis, keepdims=True)
        return m if keepdims else xp.reshape(m, tuple(n for i, n in enumerate(x.shape) if i not in axis))

    def backward(self, g):
        xp = namespace(g)
        return (xp.reshape(g, _keepdims_shape(self.shape, self.axis)) * self.share,)
