"""Checks of exercise notebook 09_generalization: references in backproplab.nn (Dropout and its
backward through the engine) and the early-stopping rule of backproplab.train.fit."""

import math

import numpy as np

from ... import nn
from ...tensor import Tensor
from ..spec import Spec
from ._common import seed

REFERENCES = ("backproplab.nn.dropout", "backproplab.nn.Dropout", "backproplab.train",
              "backproplab.sweep", "backproplab.optim", "backproplab.manual",
              "backproplab.numerics", "backproplab.diagnostics", "backproplab.grading")


def _close(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-12, atol=1e-14)


# ---- dropout, forward ----

def _library_dropout(x, p, seed_):
    # nn.Dropout's output and the entries it kept, for a generator of this seed.
    y = nn.Dropout(p, rng=np.random.default_rng(seed_))(Tensor(x)).numpy()
    keep = np.random.default_rng(seed_).random(x.shape) >= p   # the draws nn.Dropout made
    return y, keep


def _dropout_cases(rng):
    return [(rng.standard_normal((4, 6)), 0.5, seed(rng)), (rng.standard_normal((3, 5)), 0.2, seed(rng)),
            (rng.standard_normal((2, 8)), float(rng.uniform(0.6, 0.9)), seed(rng)),
            (rng.standard_normal(7), 0.0, seed(rng))]


def _observe_dropout(subjects, x, p, seed_):
    result = subjects[0](x, p, np.random.default_rng(seed_))
    if isinstance(result, (tuple, list)) and len(result) == 2:
        y, keep = result
        return np.asarray(y, dtype=float), np.asarray(keep).astype(bool)
    return result


def _dropout_judge(got, x, p, seed_):
    y_ref, keep_ref = _library_dropout(x, p, seed_)
    if not isinstance(got, tuple) or len(got) != 2:
        return f"return (y, keep), the output and the boolean mask; got {type(got).__name__}"
    y, keep = got
    if keep.shape != x.shape or not np.array_equal(keep, keep_ref):
        share = float(np.mean(keep)) if keep.size else 0.0
        return (f"keep is not the library's mask (p = {p:g}; you kept {share:.0%} of the entries): draw "
                f"rng.random(x.shape) once and keep the entries where it is >= p")
    if not _close(y, y_ref):
        return (f"keep is right but y is not (p = {p:g}): inverted dropout scales the kept entries "
                f"by 1 / (1 - p) and sets the others to 0")
    return None


# ---- dropout, backward ----

def _library_dropout_backward(dout, p, seed_):
    # dL/dx through nn.Dropout with this seed's mask, by the engine's backward.
    x = Tensor(np.ones(dout.shape), requires_grad=True)
    nn.Dropout(p, rng=np.random.default_rng(seed_))(x).backward(Tensor(dout))
    return np.array(x.grad)


def _keep(shape, p, seed_):
    return np.random.default_rng(seed_).random(shape) >= p


def _backward_cases(rng):
    return [(rng.standard_normal((4, 6)), 0.5, seed(rng)), (rng.standard_normal((5, 3)), 0.25, seed(rng)),
            (rng.standard_normal(9), float(rng.uniform(0.6, 0.9)), seed(rng))]


def _observe_backward(subjects, dout, p, seed_):
    return subjects[0](dout, _keep(dout.shape, p, seed_), p)


def _backward_judge(got, dout, p, seed_):
    expected = _library_dropout_backward(dout, p, seed_)
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"return dx, an array of dout's shape; got {type(got).__name__}"
    if got.shape != expected.shape:
        return f"dx has shape {got.shape}, expected {expected.shape}"
    if _close(got, expected):
        return None
    keep = _keep(dout.shape, p, seed_)
    if not np.allclose(got[~keep], 0):
        return "dx is wrong where the unit was dropped: a dropped unit passes no gradient (0 there)"
    return (f"dx is wrong where the unit was kept (p = {p:g}): the forward multiplied by 1 / (1 - p) "
            f"there, so the backward does too: dx = dout * keep / (1 - p)")


# ---- early stopping ----

def early_stopping_reference(val_losses, patience, min_delta):
    """(best_epoch, stop_epoch) of train.fit's rule on these validation losses: epochs count
    from 1; an epoch improves when its loss is below the best so far minus min_delta; after
    `patience` epochs in a row without improvement training stops (stop_epoch is that epoch),
    and stop_epoch is None when it never stops."""
    best, best_epoch, waited = math.inf, None, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best - min_delta:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    return best_epoch, None


def _curve(rng, n, turn):
    # a validation curve that falls, turns at epoch `turn` and rises, with noise
    t = np.arange(1, n + 1)
    return 0.3 + 2.0 * np.exp(-t / 4) + 0.004 * np.maximum(t - turn, 0) + 0.01 * rng.standard_normal(n)


def _stopping_cases(rng):
    cases = [(_curve(rng, 60, int(rng.integers(10, 25))), 5, 0.0),
             (_curve(rng, 60, int(rng.integers(10, 25))), 10, 0.01),
             (_curve(rng, 40, 35), 3, 0.0)]
    plateau = [1.0, 0.8, 0.8, 0.8, 0.79, 0.75, 0.75, 0.76, 0.77, 0.78]
    cases += [(np.array(plateau), 3, 0.0),        # an equal loss is no improvement
              (np.array(plateau), 3, 0.02),       # 0.79 is not 0.02 better than 0.8
              (np.linspace(2.0, 1.0, 12), 2, 0.0),  # always improving: never stops
              (np.array([0.5, 0.6, 0.4, 0.7, 0.8]), 2, 0.0)]
    return [(np.asarray(losses, dtype=float), int(patience), float(delta)) for losses, patience, delta in cases]


def _observe_stopping(subjects, losses, patience, min_delta):
    result = subjects[0](losses, patience, min_delta)
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return tuple(None if r is None else int(r) for r in result)
    return result


def _stopping_judge(got, losses, patience, min_delta):
    expected = early_stopping_reference(losses, patience, min_delta)
    if not isinstance(got, tuple) or len(got) != 2:
        return f"return (best_epoch, stop_epoch); got {type(got).__name__}"
    if got == expected:
        return None
    where = f"(patience {patience}, min_delta {min_delta:g}, {len(losses)} epochs)"
    if got[0] != expected[0]:
        return (f"best_epoch is {got[0]}, expected {expected[0]} {where}: epochs count from 1, and an "
                f"epoch improves only when its loss is below the best so far minus min_delta")
    if expected[1] is None:
        return (f"stop_epoch is {got[1]}, expected None {where}: training never went {patience} epochs "
                f"in a row without improving")
    return (f"stop_epoch is {got[1]}, expected {expected[1]} {where}: stop at the epoch that makes "
            f"{patience} epochs in a row without improvement since the best")


# ---- the loss on a line ----

def quadratic_loss(A, c):
    """L(w) = 1/2 (w - c)^T A (w - c) for one weight vector w of shape (P,)."""
    def loss(w):
        w = np.asarray(w, dtype=float)
        if w.shape != c.shape:
            raise ValueError(f"loss takes one weight vector of shape {c.shape}, got shape {w.shape}")
        e = w - c
        return float(0.5 * e @ A @ e)
    return loss


def _line_reference(A, c, w_a, w_b, alphas):
    loss = quadratic_loss(A, c)
    return np.array([loss((1 - a) * w_a + a * w_b) for a in alphas])


def _line_cases(rng):
    cases = []
    for p, alphas in [(4, np.linspace(0, 1, 11)), (3, np.linspace(-0.5, 1.5, 9)), (6, np.array([0.25]))]:
        M = rng.standard_normal((p, p))
        cases.append((M @ M.T + 0.1 * np.eye(p), rng.standard_normal(p), rng.standard_normal(p),
                      rng.standard_normal(p), alphas))
    return cases


def _observe_line(subjects, A, c, w_a, w_b, alphas):
    result = subjects[0](quadratic_loss(A, c), w_a, w_b, alphas)
    try:
        return np.asarray(result, dtype=float)
    except (TypeError, ValueError):
        return result


def _line_judge(got, A, c, w_a, w_b, alphas):
    expected = _line_reference(A, c, w_a, w_b, alphas)
    if not isinstance(got, np.ndarray):
        return f"return an array of {len(alphas)} losses, one per alpha; got {type(got).__name__}"
    if got.shape != expected.shape:
        return f"the losses have shape {got.shape}, expected {expected.shape}: one loss per alpha"
    if np.allclose(got, expected, rtol=1e-10, atol=1e-12):
        return None
    reversed_ = _line_reference(A, c, w_b, w_a, alphas)
    if np.allclose(got, reversed_, rtol=1e-10, atol=1e-12):
        return "the line runs the wrong way: alpha = 0 is w_a and alpha = 1 is w_b"
    return ("the losses differ from loss((1 - alpha) w_a + alpha w_b): at alpha = 0 the loss is "
            f"that of w_a ({expected[0]:.4g} for the first alpha here, got {got[0]:.4g})")


SPECS = [
    Spec("dropout_forward", "dropout_forward", 2, _dropout_cases, subject="dropout_forward",
         observe=_observe_dropout, judge=_dropout_judge, arg_names=("x", "p"), seed=90),
    Spec("dropout_backward", "dropout_backward", 2, _backward_cases, subject="dropout_backward",
         observe=_observe_backward, judge=_backward_judge, arg_names=("dout",), seed=91),
    Spec("early_stopping", "early_stopping", 3, _stopping_cases, subject="early_stopping",
         observe=_observe_stopping, judge=_stopping_judge,
         arg_names=("val_losses", "patience", "min_delta"), seed=92),
    Spec("line_losses", "line_losses", 2, _line_cases, subject="line_losses",
         observe=_observe_line, judge=_line_judge, arg_names=("A", "c", "w_a", "w_b", "alphas"),
         seed=93),
]
