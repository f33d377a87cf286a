"""``DataLoader``: mini-batches of a dataset, shuffled by a seeded generator."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over a dataset in mini-batches of Tensors.

    DataLoader(data, batch_size=32, shuffle=False, rng=None, drop_last=False, device=None)

    data: a tuple of arrays with the same first axis, e.g. ``(X, y)`` with X (N, D)
        and y (N,) -> batches ``(xb, yb)`` of shapes (B, D) and (B,); a single
        array -> batches ``xb``; or an object with ``__len__`` and ``__getitem__``
        returning tuples of arrays (its items are stacked).
    shuffle: a new order every epoch (every ``for`` over the loader), drawn from
        ``rng`` (a ``numpy.random.Generator`` or an int seed). With ``rng=None`` a
        fresh unseeded generator is used: pass one to make runs reproducible.
    drop_last: skip a final batch smaller than batch_size.
    device: move each batch there ('cpu', 'cuda', ...).
    """

    def __init__(self, data, batch_size=32, shuffle=False, rng=None, drop_last=False, device=None):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        self.single = False
        if isinstance(data, (tuple, list)) and data and all(hasattr(a, "shape") or isinstance(a, Tensor) for a in data):
            arrays = tuple(a.data if isinstance(a, Tensor) else a for a in data)
        elif hasattr(data, "shape") or isinstance(data, Tensor):
            arrays, self.single = (data.data if isinstance(data, Tensor) else data,), True
        elif hasattr(data, "__len__") and hasattr(data, "__getitem__"):
            arrays = None
        else:
            raise TypeError(
                f"DataLoader: expected a tuple of arrays (X, y), an array, or a dataset with "
                f"__len__ and __getitem__, got {type(data).__name__}"
            )
        if arrays is not None:
            sizes = [a.shape[0] if a.ndim else None for a in arrays]
            if None in sizes or len(set(sizes)) != 1:
                shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
                raise ValueError(
                    f"DataLoader: the arrays must share their first axis (one row per example), "
                    f"got shapes {shapes}"
                )
        self.arrays, self.dataset = arrays, (None if arrays is not None else data)
        self.n = sizes[0] if arrays is not None else len(data)
        self.batch_size, self.shuffle, self.drop_last, self.device = batch_size, shuffle, drop_last, device
        self.rng = np.random.default_rng(rng) if rng is None or isinstance(rng, (int, np.integer)) else rng

    def __len__(self):
        full, rest = divmod(self.n, self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def _batch(self, index):
        if self.arrays is not None:
            parts = []
            for a in self.arrays:
                idx = index if type(a) is np.ndarray else backend.namespace(a).asarray(
                    index, device=backend.device_of(a))
                parts.append(a[idx] if self.shuffle else a[int(index[0]): int(index[-1]) + 1])
        else:
            items = [self.dataset[int(i)] for i in index]
            if not isinstance(items[0], tuple):
                items = [(it,) for it in items]
            parts = [np.stack([np.asarray(it[k]) for it in items]) for k in range(len(items[0]))]
        tensors = tuple(Tensor(p, device=self.device) for p in parts)
        return tensors[0] if self.single or len(tensors) == 1 else tensors

    def __iter__(self):
        order = self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        for b in range(len(self)):
            index = order[b * self.batch_size: (b + 1) * self.batch_size]
            yield self._batch(index)

    def __repr__(self):
        return (f"DataLoader({self.n} examples, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, {len(self)} batches)")
