"""``FeedbackAlignmentLinear``: Y = X W + b, with a fixed random matrix B in place of W^T
in the backward pass (Lillicrap, Cownden, Tweed and Akerman 2016, "Random synaptic feedback
weights support error backpropagation for deep learning", Nature Communications 7, 13276).

Backprop sends the error down through the transpose of the forward weights,
dX = dY W^T: the backward pass has to know W (the "weight-transport problem", why
backprop is not believed to be how a brain learns). Feedback alignment sends it down
through a fixed random matrix instead,

    dX = dY B        B (D_out, D_in), drawn once, never trained,

while each layer still updates its own weights from its own input and the error it
receives, dW = X^T dY and db = sum_n dY, as backprop does. The forward weights then
come to align with B^T, so that dY B points roughly where dY W^T would.
"""

from __future__ import annotations

import math

from ..autodiff import Function
from ..backend import namespace
from ..tensor import _apply, zeros
from . import init
from .linear import Linear

__all__ = ["FeedbackAlignmentLinear", "FeedbackAlignmentMatMul", "feedback_alignment_matmul"]


class FeedbackAlignmentMatMul(Function):
    """Z = X @ W with X (..., D_in), W (D_in, D_out) and a fixed B (D_out, D_in);
    dX = dZ @ B (not dZ @ W^T),  dW = X^T @ dZ summed over the batch axes,  no dB."""

    def forward(self, x, w, feedback):
        self.x, self.feedback = x, feedback
        return x @ w

    def backward(self, g):
        xp = namespace(g)
        dx = g @ self.feedback if self.needs_input_grad[0] else None
        dw = None
        if self.needs_input_grad[1]:
            x2 = xp.reshape(self.x, (-1, self.x.shape[-1]))
            g2 = xp.reshape(g, (-1, g.shape[-1]))
            dw = x2.mT @ g2
        return dx, dw, None


def feedback_alignment_matmul(x, weight, feedback):
    """X @ W whose backward sends dZ @ feedback to X (see ``FeedbackAlignmentMatMul``)."""
    return _apply(FeedbackAlignmentMatMul, x, weight, feedback)


class FeedbackAlignmentLinear(Linear):
    """Y = X W + b as ``Linear``; in backward dX = dY B with a fixed random B (D_out, D_in).

    FeedbackAlignmentLinear(in_features, out_features, bias=True, rng=None,
                            dtype='float64', device=None)

    W and b are drawn first, exactly as ``Linear`` draws them from the same generator (so
    a backprop net and a feedback-alignment net built from one seed start equal); then
    B ~ U(-1/sqrt(D_in), 1/sqrt(D_in)), W's range, stored as the buffer ``feedback``:
    saved by ``state_dict``, moved by ``to``, not returned by ``parameters()`` (an
    optimizer never changes it). dW = X^T dY and db = sum_n dY are backprop's.
    """

    def __init__(self, in_features, out_features, bias=True, rng=None, dtype="float64", device=None):
        rng = init.default_rng(rng)
        super().__init__(in_features, out_features, bias=bias, rng=rng, dtype=dtype, device=device)
        bound = 1.0 / math.sqrt(in_features)
        feedback = zeros(out_features, in_features, dtype=dtype, device=device)
        init.uniform_(feedback, -bound, bound, rng=rng)
        self.register_buffer("feedback", feedback)

    def forward(self, x):
        y = feedback_alignment_matmul(self._input(x), self.weight, self.feedback)
        return y if self.bias is None else y + self.bias
