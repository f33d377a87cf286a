"""Checks of exercise notebook 16_brain_and_scale: references in backproplab.nn
(FeedbackAlignmentLinear) and backproplab.parallel (ring_all_reduce)."""

import numpy as np

from ... import nn, parallel
from ...nn import functional as F
from ...tensor import Tensor
from ..spec import Spec
from ._diagnose import diagnose

REFERENCES = ("backproplab",)


# ---- feedback_alignment_grads: a two-layer tanh MLP with the error sent down through B ----

def _fa_reference(x, labels, w1, b1, w2, b2, feedback):
    # The library's layers with the case's weights; the second layer's B is `feedback`.
    d, h = w1.shape
    c = w2.shape[1]
    first = nn.FeedbackAlignmentLinear(d, h, rng=np.random.default_rng(0))
    second = nn.FeedbackAlignmentLinear(h, c, rng=np.random.default_rng(0))
    for layer, w, b in ((first, w1, b1), (second, w2, b2)):
        layer.weight.data, layer.bias.data = w.copy(), b.copy()
    second.feedback.data = feedback.copy()
    F.cross_entropy(second(first(Tensor(x)).tanh()), labels).backward()
    return (first.weight.grad, first.bias.grad, second.weight.grad, second.bias.grad)


def _fa_slip(x, labels, w1, b1, w2, b2, feedback, down=None, slope=True, mean=True):
    n = len(labels)
    h = np.tanh(x @ w1 + b1)
    z = h @ w2 + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(n), labels] -= 1.0
    dz = p / n if mean else p
    dh = dz @ (feedback if down is None else down(w2, feedback))
    da = dh * (1 - h * h) if slope else dh
    return x.T @ da, da.sum(axis=0), h.T @ dz, dz.sum(axis=0)


FA_MISTAKES = [
    ("that is backprop's gradient: the error reached the hidden layer through W2^T; feedback "
     "alignment sends it down through the fixed matrix B instead, dH = dZ B",
     lambda *case: _fa_slip(*case, down=lambda w2, b: w2.T)),
    ("it leaves out tanh's slope (1 - h^2) on the way into the first layer",
     lambda *case: _fa_slip(*case, slope=False)),
    ("the gradient is N times too large: the loss is the mean over the N examples",
     lambda *case: _fa_slip(*case, mean=False)),
]


def _fa_cases(rng):
    cases = []
    for n, d, h, c in [(6, 5, 4, 3), (1, 3, 7, 2), (9, 8, 5, 10)]:
        cases.append((rng.standard_normal((n, d)), rng.integers(0, c, n),
                      rng.standard_normal((d, h)) / np.sqrt(d), 0.1 * rng.standard_normal(h),
                      rng.standard_normal((h, c)) / np.sqrt(h), 0.1 * rng.standard_normal(c),
                      rng.uniform(-1, 1, (c, h)) / np.sqrt(h)))
    return cases


# ---- alignment_angle: the angle between two updates, each a list of arrays ----

def _angle(a, b):
    a = np.concatenate([np.ravel(t) for t in a])
    b = np.concatenate([np.ravel(t) for t in b])
    cos = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def _angle_per_array(a, b):
    return float(np.mean([_angle([s], [t]) for s, t in zip(a, b)]))


def _angle_cases(rng):
    shapes = [(5, 4), (4,), (4, 3), (3,)]
    a = [rng.standard_normal(s) for s in shapes]
    noisy = [t + 0.5 * rng.standard_normal(t.shape) for t in a]
    big = [rng.standard_normal((6, 2)), 10 * rng.standard_normal(2)]
    tilted = [big[0] + rng.standard_normal((6, 2)), rng.standard_normal(2)]
    same = [rng.standard_normal(7)]
    return [(a, noisy), (big, tilted), (same, [3.0 * same[0]]), (same, [-same[0]]),
            ([rng.standard_normal((3, 3))], [rng.standard_normal((3, 3))])]


def _angle_judge(observed, a, b):
    expected = _angle(a, b)
    try:
        got = float(observed)
    except (TypeError, ValueError):
        return f"returned {type(observed).__name__}, expected the angle as a float in degrees"
    # arccos is ill-conditioned near cos = 1: parallel vectors give 0 to about 1e-6 degrees
    if np.isclose(got, expected, rtol=1e-7, atol=1e-4):
        return None
    hint = f"the angle is {got:.6g}, expected {expected:.6g} degrees"
    if np.isnan(got):
        return (hint + "; rounding can push the cosine of parallel vectors just past 1, "
                "where arccos is nan: clip it to [-1, 1]")
    if np.isclose(np.degrees(got), expected, rtol=1e-7, atol=1e-4):
        return hint + "; that is the angle in radians: convert it to degrees"
    if len(a) > 1 and np.isclose(got, _angle_per_array(a, b), rtol=1e-7, atol=1e-4):
        return (hint + "; it is the mean of the angles per array: the update is one long "
                "vector, so flatten every array and join them before taking one angle")
    return hint


# ---- ring_bytes_sent: what each worker of the library's ring sends ----

def _ring_bytes(n, k, itemsize):
    dtype = {2: np.float16, 4: np.float32, 8: np.float64}[itemsize]
    _, stats = parallel.ring_all_reduce([np.zeros(n, dtype=dtype) for _ in range(k)])
    return [int(b) for b in stats.bytes_sent]


def _ring_bytes_cases(rng):
    return [(int(rng.integers(8, 40)) * 12, 4, 4),              # divisible: 2 (K-1)/K n each
            (int(rng.integers(50, 500)) * 2 + 1, 3, 8),        # odd: chunks of two sizes
            (int(rng.integers(20, 200)), int(rng.integers(5, 9)), 2),
            (int(rng.integers(3, 9)), 2, 8), (int(rng.integers(5, 50)), 1, 4)]


def _ring_bytes_judge(observed, n, k, itemsize):
    expected = _ring_bytes(n, k, itemsize)
    try:
        got = [int(b) for b in observed]
    except (TypeError, ValueError):
        return f"returned {type(observed).__name__}, expected a list of {k} integers (bytes)"
    if got == expected:
        return None
    hint = f"for n = {n}, K = {k}, {itemsize}-byte entries: {got}, expected {expected}"
    if got == [b // itemsize for b in expected]:
        return hint + "; those are entries, not bytes: multiply by itemsize"
    if k > 1 and got == [b // 2 for b in expected]:
        return hint + "; that is only the reduce-scatter half: the all-gather sends as much again"
    if got == [int(round(2 * (k - 1) / k * n * itemsize))] * k and n % k:
        return (hint + "; 2 (K - 1)/K n holds only when K divides n: the chunks then differ in "
                "size, and each worker sends the sizes of the chunks it actually passes on")
    return hint


# ---- reduce_scatter: the first half of the ring ----

def _reduce_scatter(vectors, direction=-1, steps=None):
    # parallel.ring_all_reduce's first K - 1 steps (direction=-1: worker w sends chunk w - s).
    k = len(vectors)
    work = [np.array(v, dtype=np.float64, copy=True) for v in vectors]
    chunks = parallel.chunk_bounds(len(work[0]), k)
    for s in range(k - 1 if steps is None else steps):
        messages = [(w, c, work[w][slice(*chunks[c])].copy())
                    for w, c in ((w, (w + direction * s) % k) for w in range(k))]
        for w, c, msg in messages:  # every worker sends, then all receive
            work[(w + 1) % k][slice(*chunks[c])] += msg
    return work


REDUCE_SCATTER_MISTAKES = [
    ("every worker holds the whole sum: that is the all-reduce's result; after the K - 1 "
     "reduce-scatter steps a worker holds the complete sum of one chunk only, and partial sums "
     "elsewhere", lambda vectors: [np.sum(vectors, axis=0)] * len(vectors)),
    ("worker w sent chunk (w + s) mod K in step s; in the ring of the lesson it sends "
     "chunk (w - s) mod K", lambda vectors: _reduce_scatter(vectors, direction=+1)),
    ("it ran K steps; the reduce-scatter has K - 1: after them every chunk's sum is complete "
     "somewhere, and one more step adds a complete sum into a partial one",
     lambda vectors: _reduce_scatter(vectors, steps=len(vectors))),
]


def _reduce_scatter_cases(rng):
    return [([rng.standard_normal(12) for _ in range(4)],),
            ([rng.integers(-5, 5, 7).astype(np.float64) for _ in range(3)],),
            ([rng.standard_normal(10) for _ in range(5)],),
            ([rng.standard_normal(4) for _ in range(2)],)]


def _observe_list(subjects, *case):
    result = subjects[0](*case)
    return list(result) if isinstance(result, (list, tuple)) else result


SPECS = [
    Spec("feedback_alignment_grads", "feedback_alignment_grads", 3, _fa_cases,
         subject="feedback_alignment_grads",
         judge=diagnose(_fa_reference, FA_MISTAKES, names=("dw1", "db1", "dw2", "db2"),
                        rtol=1e-8, atol=1e-11),
         arg_names=("x", "labels", "w1", "b1", "w2", "b2", "feedback"), seed=161),
    Spec("alignment_angle", "alignment_angle", 2, _angle_cases, subject="alignment_angle",
         judge=_angle_judge, arg_names=("a", "b"), seed=162),
    Spec("ring_bytes_sent", "ring_bytes_sent", 2, _ring_bytes_cases, subject="ring_bytes_sent",
         judge=_ring_bytes_judge, arg_names=("n", "k", "itemsize"), seed=163),
    Spec("reduce_scatter", "reduce_scatter", 3, _reduce_scatter_cases, subject="reduce_scatter",
         observe=_observe_list,
         judge=diagnose(lambda vectors: _reduce_scatter(vectors), REDUCE_SCATTER_MISTAKES,
                        names=None, rtol=1e-10, atol=1e-12),
         arg_names=("vectors",), seed=164),
]
