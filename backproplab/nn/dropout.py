"""Dropout (Srivastava et al., 2014), inverted: scaled at training time."""

from __future__ import annotations

from .. import backend
from ..tensor import Tensor
from . import init
from .linear import as_tensor
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """In training mode each entry is kept with probability 1 - p and scaled:

        y = x * m / (1 - p),  m_i ~ Bernoulli(1 - p);   dy/dx = m / (1 - p)

    so E[y] = x and eval mode (or p = 0) is the identity, with no rescaling there.
    The mask is drawn from ``rng`` (a NumPy or ``backend.random_generator``
    generator; None means a fresh unseeded one): the same generator state gives
    the same mask.

    Dropout(p=0.5, rng=None)
    """

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = init.default_rng(rng)

    def forward(self, x):
        x = as_tensor(x, "Dropout")
        if not self.training or self.p == 0:
            return x
        xp = backend.namespace(x.data)
        keep = init.random_like(self.rng, "uniform", x.shape, x.data) >= self.p
        mask = xp.astype(keep, x.dtype) / (1.0 - self.p)
        return x * Tensor._wrap(mask)

    def extra_repr(self):
        return f"p={self.p}"
