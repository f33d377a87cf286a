"""Matrix product, the op that carries almost all of a network's FLOPs."""

from ..autodiff import Function
from ..backend import namespace


def _sum_to(g, shape):
    """Sum the leading (batch) axes that broadcasting added or stretched."""
    if g.shape == shape:
        return g
    xp = namespace(g)
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape[:-2]) if n == 1 and g.shape[lead + i] != 1
    )
    return xp.reshape(xp.sum(g, axis=axes, keepdims=True), shape)


class MatMul(Function):
    """Z = A @ B with A (..., n, k), B (..., k, m);
    dA = dZ @ B^T (shape of A),  dB = A^T @ dZ (shape of B)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        out = a @ b
        if out.dtype != a.dtype and a.dtype == b.dtype:  # ml_dtypes' bfloat16 @ gives float32
            out = namespace(out).astype(out, a.dtype)
        return out

    def backward(self, g):
        da = _sum_to(g @ self.b.mT, self.a.shape) if self.needs_input_grad[0] else None
        db = _sum_to(self.a.mT @ g, self.b.shape) if self.needs_input_grad[1] else None
        return da, db
