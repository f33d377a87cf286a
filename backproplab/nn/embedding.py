"""``Embedding``: a lookup table of learned vectors, one row per item."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor, zeros
from . import init
from ._device import array_like
from .module import Module, Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """y = W[i]: row i of the table W (num_embeddings, embedding_dim) for each index i.

    Indices of any shape S (integers in [0, num_embeddings)) give shape S + (dim,).
    It is the same as one_hot(i) @ W without building the one-hot matrix; the
    backward adds each upstream row into dW[i] (a scatter-add: an index used twice
    gets both gradients).

    Embedding(num_embeddings, embedding_dim, rng=None, dtype='float64', device=None);
    initial W ~ N(0, 1) (PyTorch's default) from ``rng``.
    """

    def __init__(self, num_embeddings, embedding_dim, rng=None, dtype="float64", device=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(zeros(num_embeddings, embedding_dim, dtype=dtype, device=device))
        init.normal_(self.weight, 0.0, 1.0, rng=init.default_rng(rng))

    def forward(self, indices):
        data = indices.data if isinstance(indices, Tensor) else indices
        if not hasattr(data, "dtype"):
            data = np.asarray(data)
        name = backend._dtype_name(data.dtype)
        if not name.startswith(("int", "uint")):
            raise TypeError(f"Embedding: indices must be integers, got dtype {name}")
        host = backend.to_numpy(data)
        if host.size and (host.min() < 0 or host.max() >= self.num_embeddings):
            bad = host[(host < 0) | (host >= self.num_embeddings)]
            raise IndexError(
                f"Embedding({self.num_embeddings}, {self.embedding_dim}): indices must be in "
                f"[0, {self.num_embeddings}), got {sorted(set(bad.tolist()))[:5]}"
            )
        return self.weight[Tensor._wrap(array_like(data, self.weight.data))]

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
