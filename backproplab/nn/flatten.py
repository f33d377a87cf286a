"""``Flatten``: merge axes into one, e.g. a CNN's feature maps (N, C, H, W) into
the rows (N, C H W) that a ``Linear`` layer takes."""

from __future__ import annotations

from .linear import as_tensor
from .module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Axes start_dim..end_dim merged into one: (N, C, H, W) -> (N, C H W) by default.

    Flatten(start_dim=1, end_dim=-1). A reshape: the gradient is dY reshaped back.
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        x = as_tensor(x, "Flatten")
        ndim = max(x.ndim, 1)
        start, end = self.start_dim % ndim, self.end_dim % ndim
        if not (-ndim <= self.start_dim < ndim and -ndim <= self.end_dim < ndim) or start > end:
            raise ValueError(
                f"{self!r}: cannot flatten axes {self.start_dim}..{self.end_dim} of an input of shape {x.shape}"
            )
        if x.ndim == 0:
            return x.reshape(1)
        merged = 1
        for n in x.shape[start : end + 1]:
            merged *= n
        return x.reshape(x.shape[:start] + (merged,) + x.shape[end + 1 :])

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
