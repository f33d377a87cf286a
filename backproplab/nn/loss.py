"""Losses as modules: ``loss_fn = nn.CrossEntropyLoss(); loss = loss_fn(logits, y)``.
Each calls the function of the same name in ``backproplab.nn.functional``, where
the formulas and shapes are documented."""

from __future__ import annotations

from . import functional as F
from .module import Module

__all__ = ["MSELoss", "SumSquaredError", "BCEWithLogitsLoss", "CrossEntropyLoss"]


class _Loss(Module):
    default_reduction = "mean"

    def __init__(self, reduction=None):
        super().__init__()
        self.reduction = self.default_reduction if reduction is None else reduction
        if self.reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """L = (1/n) sum_i (y_i - d_i)^2 over all n entries (reduction='mean')."""

    def forward(self, pred, target):
        return F.mse_loss(pred, target, self.reduction)


class SumSquaredError(_Loss):
    """E = 1/2 sum_c sum_j (y_jc - d_jc)^2 (Rumelhart, Hinton and Williams, 1986);
    reduction='sum' by default; dE/dy_jc = y_jc - d_jc."""

    default_reduction = "sum"

    def forward(self, pred, target):
        return F.sum_squared_error(pred, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """l = softplus(z) - t z = -t log sigmoid(z) - (1 - t) log(1 - sigmoid(z)), from logits z."""

    def forward(self, logits, target):
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """L_i = -sum_c t_ic log softmax(z_i)_c from logits Z (N, C); targets are class
    labels (N,) (integers) or probabilities (N, C)."""

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, self.reduction)
