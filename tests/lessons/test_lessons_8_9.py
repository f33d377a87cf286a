"""The exercise checks of lessons 8 and 9 reject plausible wrong answers, with a hint that says
what to look at. That every check passes on the solution, fails on the blank stub and draws
cases that change with the seed is tested for all exercises in test_every_exercise.py."""

import math
from pathlib import Path

import numpy as np
import pytest

from checking import ExerciseFailure, assert_rejected, run_check

ROOT = Path(__file__).resolve().parents[2]


# ---- lesson 8: optimisers ----

L8 = "08_optimizers"


def _adam(correct=True, t_shift=0, eps_inside=False, return_hat=False, in_place=False,
          decay=None):
    """Adam (or AdamW with decay='decoupled' / 'l2' / 'no lr' / 'after') with one mistake."""
    def step(w, grad, m, v, t, lr, beta1, beta2, eps, weight_decay=0.0):
        if decay == "decoupled":
            w = w * (1 - lr * weight_decay)
        elif decay == "no lr":
            w = w * (1 - weight_decay)
        elif decay == "l2":
            grad = grad + weight_decay * w
        if in_place:
            m *= beta1
            m += (1 - beta1) * grad
        else:
            m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        tt = t + t_shift
        m_hat = m / (1 - beta1 ** tt) if correct else m
        v_hat = v / (1 - beta2 ** tt) if correct else v
        denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
        new_w = w - lr * m_hat / denom
        if decay == "after":
            new_w = new_w * (1 - lr * weight_decay)
        return (new_w, m_hat, v_hat) if return_hat else (new_w, m, v)
    return step


@pytest.mark.parametrize("wrong, hint", [
    (_adam(correct=False), "m and v are right but w is not: divide by the bias corrections"),
    (_adam(t_shift=-1), "m and v are right but w is not"),         # t - 1: the previous step's count
    (_adam(t_shift=1), "m and v are right but w is not"),          # t + 1
    (_adam(eps_inside=True), "m and v are right but w is not"),
    (_adam(return_hat=True), "m and v are wrong"),                 # returns the corrected averages
    (_adam(in_place=True), "mutated its input m"),
])
def test_adam_step_rejects(wrong, hint):
    assert_rejected(L8, "adam_step", hint, adam_step=wrong)


@pytest.mark.parametrize("wrong, hint", [
    (_adam(decay="l2"), r"m and v are wrong: .*the loss gradient alone \(the decay stays out"),
    (_adam(decay="no lr"), "m and v are right but w is not: decay first, w \\(1 - lr weight_decay\\)"),
    (_adam(decay="after"), "m and v are right but w is not: decay first"),
    (_adam(decay=None), "m and v are right but w is not"),        # no decay at all
])
def test_adamw_step_rejects(wrong, hint):
    assert_rejected(L8, "adamw_step", hint, adamw_step=wrong)


def test_adamw_is_not_adam_with_l2_on_the_check_cases():
    """The check tells the two apart, so the lesson's claim is what it grades."""
    from backproplab.grading import course
    spec = course.specs(L8)["adamw_step"]
    cases = spec.cases(np.random.default_rng(spec.seed))
    l2, decoupled = _adam(decay="l2"), _adam(decay="decoupled")
    assert all(not np.allclose(l2(*c)[0], decoupled(*c)[0]) for c in cases)


@pytest.mark.parametrize("wrong, hint", [
    (lambda w, g, v, lr, mu: (w - lr * (mu * v + g), mu * v + g),
     "velocity is right but w is not: Nesterov steps along grad \\+ momentum v"),  # plain momentum
    (lambda w, g, v, lr, mu: (w - lr * (g + mu * v), mu * v + g),
     "velocity is right but w is not"),                                          # the old velocity
    (lambda w, g, v, lr, mu: (w + mu * (mu * v - lr * g) - lr * g, mu * v - lr * g),
     "velocity is wrong: v <- momentum v \\+ grad"),                             # Sutskever's form
])
def test_nesterov_step_rejects(wrong, hint):
    assert_rejected(L8, "nesterov_step", hint, nesterov_step=wrong)


def _cosine_part(t, warmup, total, lr_max, span):
    return 0.5 * lr_max * (1 + math.cos(math.pi * (t - warmup) / span))


@pytest.mark.parametrize("wrong, hint", [
    (lambda t, w, T, lr: lr * (t + 1) / w if t < w else _cosine_part(min(t, T), w, T, lr, T - w),
     "at t = 0 .* check the rate during the warm-up"),
    (lambda t, w, T, lr: lr * t / w if t < w else _cosine_part(min(t, T), w, T, lr, T),
     "check the rate during the cosine part"),                                   # over total
    (lambda t, w, T, lr: lr * t / w if t < w else _cosine_part(t, w, T, lr, T - w),
     "check the rate after the end"),                                            # no clamp
    (lambda t, w, T, lr: _cosine_part(min(t, T), 0, T, lr, T),
     "check the rate during the warm-up"),                                       # no warm-up
])
def test_warmup_cosine_lr_rejects(wrong, hint):
    assert_rejected(L8, "warmup_cosine_lr", hint, warmup_cosine_lr=wrong)


def _window(best_fn=np.argmin, contiguous=True, additive=False, indices=False):
    def lr_window(lrs, losses, factor):
        best = int(best_fn(losses))
        good = losses <= (losses[best] + factor if additive else factor * losses[best])
        if not contiguous:
            hits = np.flatnonzero(good)
            low, high = hits.min(), hits.max()
        else:
            low = high = best
            while low > 0 and good[low - 1]:
                low -= 1
            while high < len(lrs) - 1 and good[high + 1]:
                high += 1
        return (float(low), float(high)) if indices else (float(lrs[low]), float(lrs[high]))
    return lr_window


@pytest.mark.parametrize("wrong, hint", [
    (_window(best_fn=np.argmin), "nan and inf never count"),                 # argmin picks a nan
    (_window(best_fn=np.nanargmin, contiguous=False), "the unbroken run of good rates"),
    (_window(best_fn=np.nanargmin, additive=True), "the window is"),
    (_window(best_fn=np.nanargmin, indices=True), "the window is"),
])
def test_lr_window_rejects(wrong, hint):
    def safe(lrs, losses, factor):  # np.argmin on inf-free data: make inf look like nan for it
        return wrong(lrs, np.where(np.isinf(losses), np.nan, losses), factor)
    assert_rejected(L8, "lr_window", hint, lr_window=safe)


def test_lr_window_hint_names_the_losses_and_both_windows():
    with pytest.raises(ExerciseFailure, match=r"the window is .* to .*, got .* to .*"):
        run_check(L8, "lr_window", lr_window=lambda lrs, losses, factor: (float(lrs[0]), float(lrs[-1])))


# ---- lesson 9: generalisation ----

L9 = "09_generalization"


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, p, rng: (x * (rng.random(x.shape) >= p), rng.random(x.shape) >= p),
     "keep is not the library's mask"),                           # two draws: a different mask
    (lambda x, p, rng: (lambda k: (x * k, k))(rng.random(x.shape) >= p),
     "keep is right but y is not .* scales the kept entries by 1 / \\(1 - p\\)"),   # no scaling
    (lambda x, p, rng: (lambda k: (x * k * (1 - p), k))(rng.random(x.shape) >= p),
     "keep is right but y is not"),                               # scaled the wrong way
    (lambda x, p, rng: (lambda k: (x * k / (1 - p), k))(rng.random(x.shape) < p),
     "keep is not the library's mask"),                           # keeps with probability p
    (lambda x, p, rng: (lambda k: (x * k / (1 - p), k))(rng.random(x.shape) < 1 - p),
     "draw rng.random\\(x.shape\\) once and keep the entries where it is >= p"),  # same law, other draws
])
def test_dropout_forward_rejects(wrong, hint):
    assert_rejected(L9, "dropout_forward", hint, dropout_forward=wrong)


@pytest.mark.parametrize("wrong, hint", [
    (lambda dout, keep, p: dout * keep, "wrong where the unit was kept .* dx = dout \\* keep / \\(1 - p\\)"),
    (lambda dout, keep, p: dout / (1 - p), "wrong where the unit was dropped: a dropped unit passes no gradient"),
    (lambda dout, keep, p: dout * keep * (1 - p), "wrong where the unit was kept"),
    (lambda dout, keep, p: dout, "wrong where the unit was dropped"),
])
def test_dropout_backward_rejects(wrong, hint):
    assert_rejected(L9, "dropout_backward", hint, dropout_backward=wrong)


def _stopper(strict=True, zero_based=False, reset=True, delta=True, compare_previous=False, late=0):
    def early_stopping(val_losses, patience, min_delta):
        best, best_epoch, waited, previous = math.inf, None, 0, math.inf
        for k, loss in enumerate(val_losses):
            epoch = k if zero_based else k + 1
            reference = previous if compare_previous else best
            margin = min_delta if delta else 0.0
            better = loss < reference - margin if strict else loss <= reference - margin
            previous = loss
            if better:
                best, best_epoch = loss, epoch
                waited = 0 if reset else waited
            else:
                waited += 1
                if waited >= patience + late:
                    return best_epoch, epoch
        return best_epoch, None
    return early_stopping


@pytest.mark.parametrize("wrong, hint", [
    (_stopper(zero_based=True), "epochs count from 1"),
    (_stopper(strict=False), "an epoch improves only when its loss is below"),   # an equal loss counts
    (_stopper(delta=False), "min_delta"),
    (_stopper(reset=False), "stop_epoch is .* expected"),
    (_stopper(late=1), "stop at the epoch that makes"),                           # patience + 1
    (_stopper(compare_previous=True), "expected"),                               # against last epoch
])
def test_early_stopping_rejects(wrong, hint):
    assert_rejected(L9, "early_stopping", hint, early_stopping=wrong)


def test_early_stopping_reference_is_train_fit():
    """The check's rule is the one train.fit applies: on a real run, the same best and last epoch."""
    from backproplab import nn, optim
    from backproplab.data import DataLoader, load_digits
    from backproplab.grading.course.l09_generalization import early_stopping_reference
    from backproplab.train import fit

    X, y, X_val, y_val = load_digits(seed=0, scale="standard")
    for patience, min_delta in ((3, 0.0), (5, 0.01)):
        rng = np.random.default_rng(1)
        model = nn.Sequential(nn.Linear(64, 32, rng=rng), nn.Tanh(), nn.Linear(32, 10, rng=rng))
        history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01),
                      DataLoader((X[:60], y[:60]), 60), epochs=200, val_data=(X_val, y_val),
                      patience=patience, min_delta=min_delta, progress=False)
        assert history.stopped_early
        assert early_stopping_reference(history.val_loss, patience, min_delta) == (
            history.best_epoch, history.epochs)


@pytest.mark.parametrize("wrong, hint", [
    (lambda loss, wa, wb, alphas: np.array([loss(a * wa + (1 - a) * wb) for a in alphas]),
     "the line runs the wrong way"),
    (lambda loss, wa, wb, alphas: np.array([loss(wa + a * wb) for a in alphas]),
     "differ from loss\\(\\(1 - alpha\\) w_a \\+ alpha w_b\\)"),
    (lambda loss, wa, wb, alphas: np.array([loss((1 - a) * wa + a * wb) for a in alphas[:1]]),
     "one loss per alpha"),
    (lambda loss, wa, wb, alphas: loss(np.outer(1 - alphas, wa) + np.outer(alphas, wb)),
     "raised ValueError: loss takes one weight vector"),
])
def test_line_losses_rejects(wrong, hint):
    assert_rejected(L9, "line_losses", hint, line_losses=wrong)


