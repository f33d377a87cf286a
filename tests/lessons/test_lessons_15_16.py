"""Tests of the exercise checks of lessons 15 (automatic differentiation in full) and 16
(backprop, the brain, and scale): each rejects plausible wrong answers with a hint that says
what is wrong. That every check passes on the solution, fails on the blank stub and draws cases
that change with the seed is tested for all exercises in test_every_exercise.py."""

from pathlib import Path

import numpy as np
import pytest

from backproplab import Tensor, grad, parallel
from backproplab.autograd import functional
from checking import assert_rejected, cells

ROOT = Path(__file__).resolve().parents[2]


# ---- lesson 15: automatic differentiation in full ----

L15 = "15_autodiff"


def _grad_np(f, w):
    w = Tensor(w, requires_grad=True)
    return grad(f(w), w)[0].numpy()


def _hvp_no_graph(f, w, v):
    # create_graph forgotten: the gradient has no graph, so it cannot be differentiated again
    w = Tensor(w, requires_grad=True)
    (g,) = grad(f(w), w)
    return grad((g * Tensor(v)).sum(), w)[0].numpy()


def _hvp_finite_differences(f, w, v):  # a coarse step: visibly off
    return (_grad_np(f, w + 1e-2 * v) - _grad_np(f, w - 1e-2 * v)) / 2e-2


@pytest.mark.parametrize("wrong, hint", [
    (lambda f, w, v: _grad_np(f, w), r"that is the gradient g\(w\)"),
    (lambda f, w, v: _grad_np(f, w) * v, r"that is the gradient scaled entry by entry"),
    (lambda f, w, v: functional.hvp(f, Tensor(w), Tensor(w))[1].numpy(),
     r"that is H w, not H v"),
    (_hvp_no_graph, r"error|raised|does not require grad"),
    (_hvp_finite_differences, r"Hv is wrong"),
    (lambda f, w, v: _grad_np(f, w)[:-1], r"Hv has shape"),
])
def test_hvp_double_backward_rejects(wrong, hint):
    assert_rejected(L15, "hvp_double_backward", hint, hvp_double_backward=wrong)


def _hyper(kind):
    def lr_hypergradient(f, w, lr):
        g0 = _grad_np(f, w)
        g1 = _grad_np(f, w - lr * g0)
        return {"sign": float(g1 @ g0), "at zero": -float(g0 @ g0), "g1 g1": -float(g1 @ g1),
                "array": -g1 * g0, "unit": -float(g1 @ g0) / float(np.linalg.norm(g0))}[kind]
    return lr_hypergradient


@pytest.mark.parametrize("kind, hint", [
    ("sign", r"the sign is flipped"),
    ("at zero", r"that is -g\(w\) \. g\(w\), the hypergradient at lr = 0"),
    ("g1 g1", r"that is -g\(w1\) \. g\(w1\)"),
    ("array", r"returned an array of shape"),
    ("unit", r"the hypergradient is .*, expected"),
])
def test_lr_hypergradient_rejects(kind, hint):
    assert_rejected(L15, "lr_hypergradient", hint, lr_hypergradient=_hyper(kind))


def _maml(kind):
    def maml_meta_gradient(w, xs, ys, xq, yq, inner_lr):
        mse_grad = lambda x, y, w: 2 * x.T @ (x @ w - y) / len(y)
        g = mse_grad(xs, ys, w)
        fast = w + inner_lr * g if kind == "uphill" else w - inner_lr * g
        gq = mse_grad(xq, yq, fast)
        hs = 2 * xs.T @ xs / len(ys)
        if kind == "first order":
            return gq
        if kind == "at w":
            return mse_grad(xq, yq, w)
        if kind in ("plus", "uphill"):  # uphill: d/dw L_q(w + a g(w)) = (I + a H_s) grad L_q
            return (np.eye(len(w)) + inner_lr * hs) @ gq
        return (np.eye(len(w)) - inner_lr * hs) @ gq
    return maml_meta_gradient


@pytest.mark.parametrize("kind, hint", [
    ("first order", r"that is first-order MAML"),
    ("at w", r"that is the query loss's gradient at w"),
    ("plus", r"meta_grad is wrong"),
    ("uphill", r"the inner step went uphill"),
])
def test_maml_meta_gradient_rejects(kind, hint):
    assert_rejected(L15, "maml_meta_gradient", hint, maml_meta_gradient=_maml(kind))


def test_maml_by_hand_is_the_closed_form():
    # the solution's Tensor answer equals (I - a H_s) grad L_q(w') by hand
    namespace = {}
    for info, source in cells("solutions", L15):
        if info.get("role") in ("setup", "answer"):
            exec(source, namespace)
    rng = np.random.default_rng(0)
    w, xs, ys, xq, yq = (rng.standard_normal(s) for s in [(3,), (5, 3), (5,), (4, 3), (4,)])
    hand = _maml("right")(w, xs, ys, xq, yq, 0.1)
    np.testing.assert_allclose(namespace["maml_meta_gradient"](w, xs, ys, xq, yq, 0.1), hand, rtol=1e-12)


# ---- lesson 16: backprop, the brain, and scale ----

L16 = "16_brain_and_scale"


def _fa(down="feedback", slope=True, mean=True):
    def feedback_alignment_grads(x, labels, w1, b1, w2, b2, feedback):
        n = len(labels)
        h = np.tanh(x @ w1 + b1)
        z = h @ w2 + b2
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(n), labels] -= 1.0
        dz = p / n if mean else p
        dh = dz @ (w2.T if down == "transpose" else feedback)
        da = dh * (1 - h * h) if slope else dh
        dw1 = x.T @ da if down != "zero" else np.zeros_like(w1)
        return dw1, da.sum(axis=0), h.T @ dz, dz.sum(axis=0)
    return feedback_alignment_grads


@pytest.mark.parametrize("wrong, hint", [
    (_fa(down="transpose"), r"that is backprop's gradient: the error reached the hidden layer through W2\^T"),
    (_fa(slope=False), r"leaves out tanh's slope"),
    (_fa(mean=False), r"N times too large"),
    (_fa(down="zero"), r"dw1 is wrong: \d+ of \d+ entries differ"),
    (lambda x, labels, w1, b1, w2, b2, feedback: (w1, b1, w2), r"returned 3 values, expected 4"),
])
def test_feedback_alignment_grads_rejects(wrong, hint):
    assert_rejected(L16, "feedback_alignment_grads", hint, feedback_alignment_grads=wrong)


def _flat(a):
    return np.concatenate([np.ravel(t) for t in a])


def _cos(a, b):
    u, v = _flat(a), _flat(b)
    return u @ v / (np.linalg.norm(u) * np.linalg.norm(v))


@pytest.mark.parametrize("wrong, hint", [
    (lambda a, b: float(np.arccos(np.clip(_cos(a, b), -1, 1))), r"that is the angle in radians"),
    (lambda a, b: float(np.mean([np.degrees(np.arccos(np.clip(_cos([s], [t]), -1, 1)))
                                 for s, t in zip(a, b)])), r"mean of the angles per array"),
    (lambda a, b: float(np.degrees(np.arccos(min(1.0, abs(_cos(a, b)))))),
     r"the angle is .*, expected 180 degrees"),
    (lambda a, b: float(_cos(a, b)), r"the angle is .*, expected .* degrees"),
    (lambda a, b: float("nan"), r"clip it to \[-1, 1\]"),
])
def test_alignment_angle_rejects(wrong, hint):
    assert_rejected(L16, "alignment_angle", hint, alignment_angle=wrong)


def _bounds(n, k):
    return [(i * n // k, (i + 1) * n // k) for i in range(k)]  # not the library's cut


@pytest.mark.parametrize("wrong, hint", [
    (lambda n, k, itemsize: [2 * (k - 1) * (n // k) for _ in range(k)], r"those are entries, not bytes|expected"),
    (lambda n, k, itemsize: [round(2 * (k - 1) / k * n * itemsize)] * k,
     r"2 \(K - 1\)/K n holds only when K divides n"),
    (lambda n, k, itemsize: [(k - 1) * n // k * itemsize] * k, r"only the reduce-scatter half|expected"),
    (lambda n, k, itemsize: [2 * n * itemsize] * k, r"expected \["),
])
def test_ring_bytes_sent_rejects(wrong, hint):
    assert_rejected(L16, "ring_bytes_sent", hint, ring_bytes_sent=wrong)


def test_ring_bytes_sent_names_entries_and_the_missing_half():
    from backproplab.grading.course.l16_brain_and_scale import _ring_bytes

    assert_rejected(L16, "ring_bytes_sent", "those are entries, not bytes: multiply by itemsize",
                    ring_bytes_sent=lambda n, k, itemsize: [b // itemsize for b in _ring_bytes(n, k, itemsize)])
    assert_rejected(L16, "ring_bytes_sent", "only the reduce-scatter half",
                    ring_bytes_sent=lambda n, k, itemsize: [b // 2 for b in _ring_bytes(n, k, itemsize)])


def _ring_rs(direction=-1, steps=None):
    from backproplab.grading.course.l16_brain_and_scale import _reduce_scatter
    return lambda vectors: _reduce_scatter(vectors, direction=direction, steps=steps)


@pytest.mark.parametrize("wrong, hint", [
    (lambda vectors: [np.sum(vectors, axis=0) for _ in vectors], r"that is the all-reduce's result"),
    (_ring_rs(direction=+1), r"it sends chunk \(w - s\) mod K"),
    (_ring_rs(steps=0), r"is wrong"),
    (lambda vectors: _ring_rs(steps=len(vectors))(vectors), r"it ran K steps; the reduce-scatter has K - 1"),
    (lambda vectors: [np.array(v) for v in vectors], r"is wrong"),
    (lambda vectors: vectors[0], r"returned|expected"),
])
def test_reduce_scatter_rejects(wrong, hint):
    assert_rejected(L16, "reduce_scatter", hint, reduce_scatter=wrong)


def test_reduce_scatter_reference_is_the_first_half_of_the_librarys_ring():
    """The check's reference, followed by an all-gather of each worker's completed chunk, is
    parallel.ring_all_reduce's result, and each worker's completed chunk is the full sum."""
    from backproplab.grading.course.l16_brain_and_scale import _reduce_scatter
    from backproplab.parallel import chunk_bounds as chunks

    rng = np.random.default_rng(0)
    for n, k in [(12, 4), (7, 3), (10, 5), (3, 2), (5, 1)]:
        vectors = [rng.standard_normal(n) for _ in range(k)]
        scattered = _reduce_scatter(vectors)
        total = np.sum(vectors, axis=0)
        gathered = np.empty(n)
        for w in range(k):
            start, stop = chunks(n, k)[(w + 1) % k]
            np.testing.assert_allclose(scattered[w][start:stop], total[start:stop], rtol=1e-13)
            gathered[start:stop] = scattered[w][start:stop]
        results, _ = parallel.ring_all_reduce(vectors)
        for r in results:
            np.testing.assert_array_equal(r, gathered)
