"""Tests of the exercise checks of lessons 15 (automatic differentiation in full) and 16
(backprop, the brain, and scale): every check passes on the solution, fails on the blank stub of
``exercises/`` and on plausible wrong answers, each with a hint that says what is wrong; the
checks' cases change with the seed. (The lessons themselves run under nbval-lax; solutions
scoring full marks under ``backproplab grade`` is tested for every assignment in tests/grading.)"""

import json
from pathlib import Path

import numpy as np
import pytest

from backproplab import parallel
from backproplab.grading import course
from checking import ExerciseFailure, exec_check

ROOT = Path(__file__).resolve().parents[2]


def _cells(folder, name):
    nb = json.loads((ROOT / folder / f"{name}.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        source = cell["source"]
        yield cell["metadata"].get("backproplab", {}), "".join(source) if isinstance(source, list) else source


def run_check(name, exercise, folder="solutions", **student):
    """Run the setup cells of ``folder/name``, then the answer cell of ``exercise`` (unless
    ``student`` gives its functions), then its check cells; returns what the checks printed."""
    namespace = {}
    for info, source in _cells(folder, name):
        if info.get("role") == "setup":
            exec(source, namespace)
    if student:
        namespace.update(student)
    else:
        for info, source in _cells(folder, name):
            if info.get("role") == "answer" and info.get("exercise") == exercise:
                exec(source, namespace)
    checks = [source for info, source in _cells(folder, name)
              if info.get("role") == "check" and info.get("exercise") == exercise]
    assert checks, f"no check cell for {exercise} in {name}"
    return "".join(exec_check(source, namespace) for source in checks)


def assert_rejected(name, exercise, hint, **student):
    """The check fails with a FAIL line for ``exercise`` whose hint matches ``hint``."""
    with pytest.raises(ExerciseFailure, match=f"^FAIL {exercise}: .*{hint}"):
        run_check(name, exercise, **student)


def _cases_change_with_the_seed(assignment):
    for spec in course.specs(assignment).values():
        a, b = spec.cases(np.random.default_rng(1)), spec.cases(np.random.default_rng(2))
        assert repr(a) != repr(b), f"{spec.id}: its cases do not depend on the seed"


# ---- lesson 16: backprop, the brain, and scale ----

L16 = "16_brain_and_scale"
L16_EXERCISES = ["feedback_alignment_grads", "alignment_angle", "ring_bytes_sent", "reduce_scatter"]


@pytest.mark.parametrize("exercise", L16_EXERCISES)
def test_lesson16_solution_passes(exercise):
    assert run_check(L16, exercise).startswith(f"PASS {exercise} (")


@pytest.mark.parametrize("exercise", L16_EXERCISES)
def test_lesson16_blank_exercise_fails(exercise):
    assert_rejected(L16, exercise, "not implemented yet", folder="exercises")


def test_lesson16_cases_change_with_the_seed():
    _cases_change_with_the_seed(L16)


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
    from backproplab.grading.course.l16_brain_and_scale import _bounds as chunks, _reduce_scatter

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
