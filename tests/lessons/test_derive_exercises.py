"""The exercises of lessons 1-7 where the learner derives something the lesson does not print
(a backward the lesson did not show, a bug to find, a gradient to predict): each check passes
on the solution also on the cases of other seeds (as the grader draws them), and names
plausible wrong answers with a hint that says what is wrong and where. (That every check
passes on the solution and fails on the blank stub is tested for all exercises in
test_every_exercise.py.)

The cells run as they are stored in ``solutions/``: setup and answer cells into one namespace,
one answer swapped for a wrong one, then the exercise's check cells.
"""

import numpy as np
import pytest

from checking import ExerciseFailure, check_results
from backproplab.grading import course
from backproplab.grading.checks import run_check

# {(notebook, exercise): [(what is wrong, the wrong answer, a fragment of its hint), ...]}
WRONG = {
    ("01_derivatives", "second_difference"): [
        ("divides by 2h²", """
def second_difference(f, x, h):
    return (f(x + h) - 2 * f(x) + f(x - h)) / (2 * h ** 2)
""", "second derivative is"),
        ("divides by 2h²: the hint names the denominator", """
def second_difference(f, x, h):
    return (f(x + h) - 2 * f(x) + f(x - h)) / (2 * h ** 2)
""", "half the expected value: check the denominator"),
        ("one-sided, centred on x + h", """
def second_difference(f, x, h):
    return (f(x + 2 * h) - 2 * f(x + h) + f(x)) / h ** 2
""", "centred on x + h, not on x"),
        ("divides by h", """
def second_difference(f, x, h):
    return (f(x + h) - 2 * f(x) + f(x - h)) / h
""", "h times too large"),
    ],
    ("01_derivatives", "richardson_difference"): [
        ("plain average of the two steps", """
def richardson_difference(f, x, h):
    return (central_difference(f, x, h) + central_difference(f, x, 2 * h)) / 2
""", "keeps the h² term"),
        ("weights that cancel an O(h) error", """
def richardson_difference(f, x, h):
    return 2 * central_difference(f, x, h) - central_difference(f, x, 2 * h)
""", "2 D0(h) - D0(2h)"),
        ("the two weights swapped", """
def richardson_difference(f, x, h):
    return (4 * central_difference(f, x, 2 * h) - central_difference(f, x, h)) / 3
""", "weights of the two steps are swapped"),
    ],
    ("02_chain_rule", "two_path_gradient"): [
        ("only the path through u = x y", """
def two_path_gradient(x, y):
    g = np.exp(x * y) * np.tanh(x + y)
    return g * y, g * x
""", "only the path through u = x y"),
        ("only the path through v = x + y", """
def two_path_gradient(x, y):
    g = np.exp(x * y) * (1 - np.tanh(x + y) ** 2)
    return g, g
""", "only the path through v = x + y"),
        ("du/dx and du/dy swapped", """
def two_path_gradient(x, y):
    a, b = np.exp(x * y) * np.tanh(x + y), np.exp(x * y) * (1 - np.tanh(x + y) ** 2)
    return a * x + b, a * y + b
""", "df/dx is wrong"),
    ],
    ("02_chain_rule", "cross_entropy_backward"): [
        ("keeps the output sigmoid's slope", """
def cross_entropy_backward(X, W1, W2, D):
    H = 1 / (1 + np.exp(-(X @ W1.T)))
    Y = 1 / (1 + np.exp(-(H @ W2.T)))
    dZ2 = (Y - D) * Y * (1 - Y)
    dZ1 = (dZ2 @ W2) * H * (1 - H)
    return dZ1.T @ X, dZ2.T @ H
""", "do not multiply by it again"),
        ("sign flipped", """
def cross_entropy_backward(X, W1, W2, D):
    H = 1 / (1 + np.exp(-(X @ W1.T)))
    Y = 1 / (1 + np.exp(-(H @ W2.T)))
    dZ2 = D - Y
    dZ1 = (dZ2 @ W2) * H * (1 - H)
    return dZ1.T @ X, dZ2.T @ H
""", "its sign is flipped"),
        ("a mean over cases", """
def cross_entropy_backward(X, W1, W2, D):
    H = 1 / (1 + np.exp(-(X @ W1.T)))
    Y = 1 / (1 + np.exp(-(H @ W2.T)))
    dZ2 = (Y - D) / len(X)
    dZ1 = (dZ2 @ W2) * H * (1 - H)
    return dZ1.T @ X, dZ2.T @ H
""", "E is a sum over cases, not a mean"),
    ],
    ("03_scalar_engine", "div_backward"): [
        ("sign of dL/db flipped",
         "def div_backward(a, b, dout):\n    return dout / b, a * dout / b ** 2",
         "the sign of dL/db is flipped"),
        ("dL/db without a", "def div_backward(a, b, dout):\n    return dout / b, -dout / b ** 2",
         "dL/db lacks the factor a"),
        ("b instead of b²", "def div_backward(a, b, dout):\n    return dout / b, -a * dout / b",
         "dL/db has b where b² belongs"),
    ],
    ("03_scalar_engine", "used_three_times"): [
        ("counts the use in x y only", "def used_three_times(x, y):\n    return y * x, x * x",
         "at least one of the three uses of x"),
        ("forgets the outer factor x", "def used_three_times(x, y):\n    return y * x + x, x * x",
         "at least one of the three uses of x"),
        ("expands to x² y + x², then forgets the 2", "def used_three_times(x, y):\n"
         "    return x * y + x, x * x", "at least one of the three uses of x"),
        ("dL/dy taken as x", "def used_three_times(x, y):\n    return 2 * x * y + 2 * x, x",
         "dL/dy is"),
    ],
    ("04_tensors", "div_broadcast_backward"): [
        ("dy not summed over the broadcast axes", """
def div_broadcast_backward(dout, x, y):
    return dout / y, -dout * x / y ** 2
""", "dy has shape (5, 3), expected (3,)"),
        ("sign of dy flipped", """
def div_broadcast_backward(dout, x, y):
    return dout / y, sum_to_shape(dout * x / y ** 2, y.shape)
""", "its sign is flipped"),
        ("y instead of y²", """
def div_broadcast_backward(dout, x, y):
    return dout / y, sum_to_shape(-dout * x / y, y.shape)
""", "it has y where y² belongs"),
    ],
    ("04_tensors", "log_softmax_backward"): [
        ("the Jacobian's diagonal only", """
def log_softmax_backward(dout, z):
    return dout * (1 - softmax(z))
""", "depends on every z_k of its row"),
        ("assumes every row of dout sums to 1", """
def log_softmax_backward(dout, z):
    return dout - softmax(z)
""", "dz is wrong in the rows whose upstream gradient dout does not sum to 1"),
        ("the softmax backward instead", """
def log_softmax_backward(dout, z):
    p = softmax(z)
    return p * (dout - (dout * p).sum(axis=1, keepdims=True))
""", "dz is wrong"),
    ],
    ("05_layers", "row_max_backward"): [
        ("all of dout to the first of the tied entries", """
def row_max_backward(dout, x):
    dx = np.zeros_like(x)
    dx[np.arange(len(x)), x.argmax(axis=1)] = dout
    return dx
""", "dx is wrong where a row's maximum is tied"),
        ("all of dout to every tied entry", """
def row_max_backward(dout, x):
    return (x == x.max(axis=1, keepdims=True)) * dout[:, None]
""", "every tied entry got all of dout[n]"),
        ("dout passed where x is positive, as for a ReLU", """
def row_max_backward(dout, x):
    return (x > 0) * dout[:, None]
""", "dx is wrong"),
    ],
    ("05_layers", "softplus_backward"): [
        ("the given layer's bug", """
def softplus_backward(dout, out):
    return dout / (1.0 + np.exp(-out))
""", "the given layer's bug"),
        ("the derivative of e^x", """
def softplus_backward(dout, out):
    return dout * np.expm1(out)
""", "the derivative of e^x"),
        ("one minus the slope", """
def softplus_backward(dout, out):
    return dout * np.exp(-out)
""", "the complement of the slope"),
    ],
    ("06_training", "label_smoothing_backward"): [
        ("ignores the smoothing", """
def label_smoothing_backward(logits, labels, smoothing):
    n, c = logits.shape
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    p[np.arange(n), labels] -= 1
    return p / n
""", "the gradient without smoothing"),
        ("spreads eps over the wrong classes only", """
def label_smoothing_backward(logits, labels, smoothing):
    n, c = logits.shape
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    t = np.full((n, c), smoothing / (c - 1))
    t[np.arange(n), labels] = 1 - smoothing
    return (p - t) / n
""", "the C - 1 wrong classes only"),
        ("a sum over examples, not a mean", """
def label_smoothing_backward(logits, labels, smoothing):
    n, c = logits.shape
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    t = np.full((n, c), smoothing / c)
    t[np.arange(n), labels] += 1 - smoothing
    return e / e.sum(axis=1, keepdims=True) - t
""", "N times too large"),
    ],
    ("06_training", "weight_decay_grads"): [
        ("the bias decayed too", """
def weight_decay_grads(x, labels, w, b, weight_decay):
    n = len(labels)
    e = np.exp(x @ w + b - (x @ w + b).max(axis=1, keepdims=True))
    dz = e / e.sum(axis=1, keepdims=True)
    dz[np.arange(n), labels] -= 1
    dz /= n
    return x.T @ dz + weight_decay * w, dz.sum(axis=0) + weight_decay * b
""", "db is wrong"),
        ("the 1/2 of the penalty kept", """
def weight_decay_grads(x, labels, w, b, weight_decay):
    n = len(labels)
    e = np.exp(x @ w + b - (x @ w + b).max(axis=1, keepdims=True))
    dz = e / e.sum(axis=1, keepdims=True)
    dz[np.arange(n), labels] -= 1
    dz /= n
    return x.T @ dz + 0.5 * weight_decay * w, dz.sum(axis=0)
""", "the 2 of the square cancels the 1/2"),
        ("cross-entropy summed over examples", """
def weight_decay_grads(x, labels, w, b, weight_decay):
    n = len(labels)
    e = np.exp(x @ w + b - (x @ w + b).max(axis=1, keepdims=True))
    dz = e / e.sum(axis=1, keepdims=True)
    dz[np.arange(n), labels] -= 1
    return x.T @ dz + weight_decay * w, dz.sum(axis=0)
""", "cross-entropy part is N times too large"),
    ],
    ("07_vanishing_gradients", "batchnorm_backward"): [
        ("mean and variance treated as constants", """
def batchnorm_backward(dout, x, gamma, eps):
    inv = 1 / np.sqrt(x.var(axis=0) + eps)
    xhat = (x - x.mean(axis=0)) * inv
    return dout * gamma * inv, (dout * xhat).sum(axis=0), dout.sum(axis=0)
""", "treats the batch mean and variance as constants"),
        ("the path through the variance missing", """
def batchnorm_backward(dout, x, gamma, eps):
    inv = 1 / np.sqrt(x.var(axis=0) + eps)
    xhat = (x - x.mean(axis=0)) * inv
    dxhat = dout * gamma
    return (dxhat - dxhat.mean(axis=0)) * inv, (dout * xhat).sum(axis=0), dout.sum(axis=0)
""", "not the one through the variance"),
        ("unbiased variance", """
def batchnorm_backward(dout, x, gamma, eps):
    n = len(x)
    inv = 1 / np.sqrt(x.var(axis=0, ddof=1) + eps)
    xhat = (x - x.mean(axis=0)) * inv
    dxhat = dout * gamma
    dx = inv * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).sum(axis=0) / (n - 1))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
""", "divided by N - 1"),
        ("dgamma not summed over the batch", """
def batchnorm_backward(dout, x, gamma, eps):
    inv = 1 / np.sqrt(x.var(axis=0) + eps)
    xhat = (x - x.mean(axis=0)) * inv
    dxhat = dout * gamma
    dx = inv * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))
    return dx, dout * xhat, dout.sum(axis=0)
""", "dgamma has shape (8, 3), expected (3,)"),
    ],
    ("07_vanishing_gradients", "residual_backward"): [
        ("the identity path missing", """
def residual_backward(dout, x, w):
    dz = dout * (1 - np.tanh(x @ w) ** 2)
    return dz @ w.T, x.T @ dz
""", "it lacks the identity path"),
        ("tanh's slope left out", """
def residual_backward(dout, x, w):
    return dout + dout @ w.T, x.T @ dout
""", "leaves out tanh's slope"),
        ("dw transposed", """
def residual_backward(dout, x, w):
    dz = dout * (1 - np.tanh(x @ w) ** 2)
    return dout + dz @ w.T, dz.T @ x
""", "dw is wrong"),
    ],
}

EXERCISES = sorted(WRONG)


def test_every_lesson_has_at_least_two_derive_exercises():
    per_lesson = {}
    for name, exercise in WRONG:
        per_lesson.setdefault(name, []).append(exercise)
    assert sorted(per_lesson) == sorted(n for n in course.ASSIGNMENTS if "01" <= n[:2] <= "07")
    assert all(len(found) >= 2 for found in per_lesson.values())


@pytest.mark.parametrize("name, exercise", EXERCISES)
def test_the_solution_passes_on_the_cases_of_other_seeds(name, exercise):
    spec = course.specs(name)[exercise]
    _, namespace = check_results(name, exercise)
    for grader_seed in (11, 12345, 2 ** 30):
        cases = spec.cases(np.random.default_rng(grader_seed))
        line = run_check(spec, (namespace[spec.subject],), cases=cases)
        assert line.startswith(f"PASS {exercise}"), line


CASES = [(name, exercise, what, source, hint)
         for (name, exercise), wrongs in WRONG.items() for what, source, hint in wrongs]


@pytest.mark.parametrize("name, exercise, what, source, hint", CASES,
                         ids=[f"{c[1]}: {c[2]}" for c in CASES])
def test_a_wrong_answer_fails_with_its_hint(name, exercise, what, source, hint):
    results, _ = check_results(name, exercise, answers={exercise: source})
    failures = [str(r) for r in results if isinstance(r, ExerciseFailure)]
    assert failures, f"the check of {exercise} accepted a wrong answer: {what}"
    assert any(hint in f for f in failures), failures


@pytest.mark.parametrize("name, exercise", EXERCISES)
def test_at_least_two_wrong_answers_each(name, exercise):
    assert len({source for _, source, _ in WRONG[(name, exercise)]}) >= 2
