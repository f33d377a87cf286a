"""Data-parallel backprop, simulated in one process: K workers and a ring all-reduce.

Data parallelism splits a batch of N examples into K shards, one per worker;
each worker holds a copy (replica) of the model, backpropagates its shard, and
the workers then average their gradients, so that every replica takes the same
step as one model trained on the whole batch. The averaging is an
*all-reduce*; the ring algorithm (Baidu's 2017 "ring allreduce", the scheme of
Horovod and of PyTorch DDP's NCCL backend) does it with K - 1 + K - 1 messages
per worker:

    cut each worker's gradient vector into K chunks
    reduce-scatter, K - 1 steps: in step s, worker k sends chunk (k - s) mod K to
        worker k + 1, which adds it to its own; afterwards worker k holds the
        complete sum of chunk (k + 1) mod K
    all-gather, K - 1 steps: in step s, worker k sends its completed chunk
        (k + 1 - s) mod K to worker k + 1, which stores it

Each worker sends 2 (K - 1) chunks of N/K entries, 2 (K - 1)/K of the gradient
size: almost independent of K, which is why the ring scales.

Unequal shards: a worker's loss is the mean over its n_k examples, so its
gradient is weighted by n_k / N before the sum; then the sum is the gradient of
the mean over all N examples, exactly the large-batch gradient.

This is a model for the lessons: the "workers" run one after another in this
process and "sending" is copying an array. Real multi-GPU and multi-machine
training (processes, NCCL or MPI, overlapping communication with backward) is
PyTorch's ``DistributedDataParallel``'s and Horovod's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from . import backend
from .autodiff import no_grad

__all__ = ["ring_all_reduce", "chunk_bounds", "RingStats", "DataParallel"]


@dataclass
class RingStats:
    """What one all-reduce moved: bytes sent by each worker and the number of steps."""

    bytes_sent: list = field(default_factory=list)
    steps: int = 0


def chunk_bounds(n, k):
    """K nearly equal pieces of range(n): the first n % K pieces one entry longer."""
    base, extra = divmod(n, k)
    bounds, start = [], 0
    for i in range(k):
        stop = start + base + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def ring_all_reduce(vectors):
    """Sum K 1-D arrays (one per worker) with the ring algorithm.

    Returns (the K workers' results, each the elementwise sum, RingStats). The
    inputs are not modified; each worker works on a copy of its vector.
    """
    k = len(vectors)
    if k == 0:
        raise ValueError("ring_all_reduce: needs at least one worker's vector")
    shape, dtype = tuple(vectors[0].shape), vectors[0].dtype
    for i, v in enumerate(vectors):
        if len(v.shape) != 1 or tuple(v.shape) != shape or v.dtype != dtype:
            raise ValueError(
                f"ring_all_reduce: worker {i} holds shape {tuple(v.shape)}, dtype {v.dtype}; every worker "
                f"must hold a 1-D vector of worker 0's shape {shape} and dtype {dtype}"
            )
    xp = backend.namespace(*vectors)
    work = [xp.asarray(v, copy=True) for v in vectors]
    chunks = chunk_bounds(shape[0], k)
    sent = [0] * k
    itemsize = backend.memory_owner(xp.ones((1,), dtype=dtype, device=backend.device_of(work[0])))[1]

    def send(src, c):
        lo, hi = chunks[c]
        sent[src] += (hi - lo) * itemsize
        return xp.asarray(work[src][lo:hi], copy=True)  # the message

    for s in range(k - 1):  # reduce-scatter
        messages = [(w, (w - s) % k, send(w, (w - s) % k)) for w in range(k)]  # all send at once
        for w, c, msg in messages:
            lo, hi = chunks[c]
            dst = (w + 1) % k
            work[dst][lo:hi] = work[dst][lo:hi] + msg
    for s in range(k - 1):  # all-gather
        messages = [(w, (w + 1 - s) % k, send(w, (w + 1 - s) % k)) for w in range(k)]
        for w, c, msg in messages:
            lo, hi = chunks[c]
            work[(w + 1) % k][lo:hi] = msg
    return work, RingStats(bytes_sent=sent, steps=2 * (k - 1))


class DataParallel:
    """K replicas of ``model`` that backpropagate shards of a batch and all-reduce
    their gradients into ``model``'s ``.grad``.

    DataParallel(model, world_size)

        dp = DataParallel(model, 4)
        opt.zero_grad()
        loss, stats = dp.backward(loss_fn, x, y)            # or shard_sizes=[...]
        opt.step()                                           # on model's parameters

    ``backward`` first gives every replica ``model``'s current weights (in DDP
    each worker applies the same update itself, so no bytes move for this), then
    each replica runs ``loss_fn(replica(x_k), y_k)`` (a mean over its shard) and
    backward; the gradients, weighted n_k / N, are summed by ``ring_all_reduce``.
    """

    def __init__(self, model, world_size):
        if not isinstance(world_size, int) or isinstance(world_size, bool) or world_size < 1:
            raise ValueError(f"DataParallel: world_size must be a positive integer, got {world_size!r}")
        self.model, self.world_size = model, world_size
        self.replicas = [copy.deepcopy(model) for _ in range(world_size)]

    def _shards(self, n, shard_sizes):
        if shard_sizes is None:
            if n < self.world_size:
                raise ValueError(f"DataParallel: a batch of {n} cannot be split over {self.world_size} workers")
            return [b - a for a, b in chunk_bounds(n, self.world_size)]
        sizes = list(shard_sizes)
        if len(sizes) != self.world_size or any(not isinstance(s, int) or s < 1 for s in sizes) or sum(sizes) != n:
            raise ValueError(
                f"DataParallel: shard_sizes {sizes} must be {self.world_size} positive integers "
                f"summing to the batch size {n}"
            )
        return sizes

    def backward(self, loss_fn, x, y, shard_sizes=None):
        """Backpropagate the batch (x, y) on the workers; returns (the mean loss over
        the whole batch, RingStats). Gradients are added into ``model``'s ``.grad``."""
        params = list(self.model.parameters())
        n = x.shape[0]
        sizes = self._shards(n, shard_sizes)
        with no_grad():
            for replica in self.replicas:  # the same weights everywhere
                for p, q in zip(params, replica.parameters()):
                    q.data = backend.namespace(p.data).asarray(p.data, copy=True)
                    q.grad = None
        vectors, total, start = [], 0.0, 0
        for replica, size in zip(self.replicas, sizes):
            xs = x[start : start + size]
            ys = y[start : start + size]
            start += size
            loss = loss_fn(replica(xs), ys)
            loss.backward()
            weight = size / n
            total += weight * loss.item()
            xp = backend.namespace(params[0].data)
            parts = [
                xp.reshape(q.grad, (-1,)) * weight if q.grad is not None
                else xp.zeros((q.size,), dtype=q.data.dtype, device=backend.device_of(q.data))
                for q in replica.parameters()
            ]
            vectors.append(xp.concat(parts) if len(parts) > 1 else parts[0])
        results, stats = ring_all_reduce(vectors)
        summed, offset = results[0], 0
        xp = backend.namespace(summed)
        for p in params:
            g = xp.reshape(summed[offset : offset + p.size], p.shape)
            offset += p.size
            g = xp.asarray(g, copy=True)
            if p.grad is None:
                p.grad = g
            else:
                p.grad += g
        return total, stats
