"""Softmax cross-entropy from logits as one fused primitive.

Composing ``-sum(t * log(softmax(z)))`` from ops works in exact arithmetic, but
softmax can underflow to 0 for a very negative logit and log(0) = -inf (the
gradient then becomes inf * 0 = nan). Fusing lets the forward use the
log-sum-exp form, which never leaves the finite range, and the backward use the
short closed form s - t instead of going through the softmax Jacobian.
"""

from __future__ import annotations

from ..autodiff import Function
from ..backend import namespace


class SoftmaxCrossEntropy(Function):
    """Per-row loss of logits Z (N, C) against target probabilities T (N, C):

        log s_ic = z_ic - m_i - log sum_j e^{z_ij - m_i}      (m_i = max_j z_ij, for stability)
        L_i      = -sum_c t_ic log s_ic                       -> (N,)

        dL_i/dz_ic = s_ic sum_c' t_ic' - t_ic   (= s_ic - t_ic when the row of T sums to 1)
        dL_i/dt_ic = -log s_ic
    """

    def forward(self, z, t):
        xp = namespace(z, t)
        shifted = z - xp.max(z, axis=1, keepdims=True)
        log_s = shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
        self.t = t
        self.log_s = log_s
        return -xp.sum(t * log_s, axis=1)

    def backward(self, g):
        xp = namespace(g)
        g = g[:, None]
        dz = dt = None
        if self.needs_input_grad[0]:
            s = xp.exp(self.log_s)
            dz = g * (s * xp.sum(self.t, axis=1, keepdims=True) - self.t)
        if self.needs_input_grad[1]:
            dt = -g * self.log_s
        return dz, dt
