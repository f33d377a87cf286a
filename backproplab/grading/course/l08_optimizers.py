"""Checks of exercise notebook 08_optimizers: references in backproplab.optim and sweep."""

import math

import numpy as np

from ... import nn, optim, sweep
from ..spec import Spec

REFERENCES = ("backproplab.optim", "backproplab.sweep", "backproplab.train",
              "backproplab.manual", "backproplab.numerics", "backproplab.diagnostics",
              "backproplab.grading")


def _one_step(opt_class, w, grad, state, **kwargs):
    # One step of a backproplab.optim class on a parameter w, started from the given state.
    p = nn.Parameter(np.array(w, dtype=float))
    p.grad = np.array(grad, dtype=float)
    opt = opt_class([p], **kwargs)
    saved = opt.state_dict()
    saved["state"] = [state]
    opt.load_state_dict(saved)
    opt.step()
    return p.numpy(), opt.state[0]


def _library_adam(w, grad, m, v, t, lr, beta1, beta2, eps, weight_decay=None):
    # t is the number of this step (1 for the first): the state holds t - 1 steps.
    kwargs = dict(lr=lr, betas=(beta1, beta2), eps=eps)
    if weight_decay is None:
        opt_class = optim.Adam
    else:
        opt_class, kwargs["weight_decay"] = optim.AdamW, weight_decay
    new_w, state = _one_step(opt_class, w, grad, {"t": t - 1, "m": m.copy(), "v": v.copy()}, **kwargs)
    return new_w, np.array(state["m"]), np.array(state["v"])


def _adam_cases(rng, decay=False):
    cases = []
    for shape, t, lr in [((3, 4), 1, 0.001), ((5,), 2, 0.01), ((2, 3), 10, 0.1),
                         ((4,), 1000, float(rng.uniform(0.001, 0.05)))]:
        w, g = rng.standard_normal(shape), rng.standard_normal(shape)
        if t == 1:
            m, v = np.zeros(shape), np.zeros(shape)
        else:
            m, v = 0.1 * rng.standard_normal(shape), 0.01 * rng.random(shape)
        case = (w, g, m, v, t, lr, 0.9, 0.999, 1e-8)
        cases.append(case + ((float(rng.uniform(0.05, 0.5)),) if decay else ()))
    w, g = rng.standard_normal(6), rng.standard_normal(6)
    other = (w, g, 0.2 * rng.standard_normal(6), 0.05 * rng.random(6), 3, 0.05, 0.8, 0.99, 1e-6)
    return cases + [other + ((0.1,) if decay else ())]


def _steps_hint(kind, first_step_note):
    # A compare for (w, m, v): say which output is wrong and what that points to.
    def compare(got, expected):
        names = ("w", "m", "v")
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            return f"return the three arrays (w, m, v), got {type(got).__name__}"
        wrong = []
        for name, mine, ref in zip(names, got, expected):
            mine = np.asarray(mine, dtype=float)
            if mine.shape != ref.shape:
                return f"{name} has shape {mine.shape}, expected {ref.shape}"
            if not np.allclose(mine, ref, rtol=1e-9, atol=1e-12):
                wrong.append(name)
        if not wrong:
            return None
        if wrong == ["w"]:
            return f"m and v are right but w is not: {first_step_note}"
        return (f"{' and '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} wrong: m <- beta1 m + "
                f"(1 - beta1) g and v <- beta2 v + (1 - beta2) g^2, with g the loss gradient"
                f"{' alone (the decay stays out of m and v)' if kind == 'adamw' else ''}")
    return compare


ADAM_NOTE = ("divide by the bias corrections, m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t), "
             "and step w - lr m_hat / (sqrt(v_hat) + eps)")
ADAMW_NOTE = ("decay first, w (1 - lr weight_decay), then the Adam step on that w with the bias "
              "corrections; the decay is multiplied by lr and never enters the gradient")


def _library_nesterov(w, grad, velocity, lr, momentum):
    new_w, state = _one_step(optim.SGD, w, grad, {"velocity": velocity.copy()}, lr=lr,
                             momentum=momentum, nesterov=True)
    return new_w, np.array(state["velocity"])


def _nesterov_cases(rng):
    return [(rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4)),
             float(rng.uniform(0.01, 0.5)), 0.9),
            (rng.standard_normal(5), rng.standard_normal(5), np.zeros(5), 0.1, 0.99),
            (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3)),
             float(rng.uniform(0.01, 0.1)), float(rng.uniform(0.3, 0.8)))]


def _nesterov_compare(got, expected):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"return the two arrays (w, velocity), got {type(got).__name__}"
    w, velocity = (np.asarray(x, dtype=float) for x in got)
    if velocity.shape != expected[1].shape or not np.allclose(velocity, expected[1], rtol=1e-9,
                                                               atol=1e-12):
        return "velocity is wrong: v <- momentum v + grad, as for plain momentum"
    if w.shape != expected[0].shape or not np.allclose(w, expected[0], rtol=1e-9, atol=1e-12):
        return ("velocity is right but w is not: Nesterov steps along grad + momentum v (the new v), "
                "w <- w - lr (grad + momentum v)")
    return None


def _library_warmup_cosine(t, warmup, total, lr_max):
    # optim.LinearWarmup from 0 for the first `warmup` steps, then optim.CosineAnnealingLR
    # from lr_max to 0 over the remaining total - warmup steps (and 0 after them).
    if t < warmup:
        opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=lr_max)
        return optim.LinearWarmup(opt, warmup_steps=warmup, start_factor=0.0).lr_at(t)
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=lr_max)
    return optim.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=0.0).lr_at(t - warmup)


def _warmup_cases(rng):
    warmup = int(rng.integers(3, 8))
    total = warmup + int(rng.integers(10, 30))
    lr_max = float(rng.uniform(0.01, 1.0))
    ts = [0, 1, warmup - 1, warmup, warmup + 1, (warmup + total) // 2, total - 1, total, total + 5]
    return [(t, warmup, total, lr_max) for t in ts] + [(50, 100, 1000, 0.003), (700, 100, 1000, 0.003)]


def _warmup_compare(got, expected, case=None):
    if not isinstance(got, (int, float, np.floating, np.integer)):
        return f"return a float, got {type(got).__name__}"
    if math.isclose(float(got), expected, rel_tol=1e-9, abs_tol=1e-12):
        return None
    return f"the rate is {float(got):.6g}, expected {expected:.6g}"


def _warmup_judge(got, t, warmup, total, lr_max):
    hint = _warmup_compare(got, _library_warmup_cosine(t, warmup, total, lr_max))
    if hint is None:
        return None
    phase = ("during the warm-up (lr_max t / warmup, from 0)" if t < warmup else
             "after the end (0 from t = total on)" if t >= total else
             "during the cosine part (t - warmup steps into total - warmup)")
    return f"at t = {t} (warmup {warmup}, total {total}) {hint}: check the rate {phase}"


def _window_cases(rng):
    cases = []
    lrs = 10.0 ** np.arange(-4, 1.01, 0.25)
    for center, width, diverge_above in [(-2.0, 0.8, 0.0), (-1.0, 1.5, 0.5), (-3.0, 0.4, -1.0)]:
        x = np.log10(lrs)
        losses = 0.05 * np.exp(((x - center - rng.uniform(-0.3, 0.3)) / width) ** 2)
        losses *= np.exp(0.05 * rng.standard_normal(lrs.size))
        losses[x > diverge_above] = np.where(rng.random(np.sum(x > diverge_above)) < 0.5, np.nan,
                                             np.inf)
        cases.append((lrs, losses, 2.0))
    gap = np.array([1.0, 0.3, 0.25, 5.0, 0.26, 0.9])          # a second good stretch, cut off
    cases.append((10.0 ** np.arange(-3, 3), gap, 2.0))
    cases.append((10.0 ** np.arange(-3, 3), np.array([np.nan, 0.4, 0.2, 0.3, 0.5, 0.39]), 2.0))
    cases.append((np.array([0.001, 0.01, 0.1]), np.array([3.0, 1.0, 2.0]), 10.0))
    return cases


def _observe_window(subjects, lrs, losses, factor):
    result = subjects[0](lrs, losses, factor)
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return tuple(float(x) for x in result)
    return result


def _window_judge(got, lrs, losses, factor):
    expected = sweep.lr_window(lrs, losses, factor)
    if not isinstance(got, tuple) or len(got) != 2:
        return f"return (lowest, highest), two floats; got {type(got).__name__}"
    if np.allclose(got, expected, rtol=1e-12):
        return None
    best = int(np.nanargmin(np.where(np.isfinite(losses), losses, np.nan)))
    diverged = int(np.sum(~np.isfinite(losses)))
    return (f"with {lrs.size} rates ({diverged} diverged: nan or inf), the best loss "
            f"{losses[best]:.3g} at lr {lrs[best]:.3g} and factor {factor:g}, the window is "
            f"{expected[0]:.3g} to {expected[1]:.3g}, got {got[0]:.3g} to {got[1]:.3g}: nan and "
            f"inf never count, and the window is the unbroken run of good rates around the best")


SPECS = [
    Spec("adam_step", "adam_step", 3, _adam_cases, subject="adam_step",
         reference=_library_adam, compare=_steps_hint("adam", ADAM_NOTE),
         arg_names=("w", "grad", "m", "v", "t", "lr", "beta1", "beta2", "eps"), seed=80),
    Spec("adamw_step", "adamw_step", 3, lambda rng: _adam_cases(rng, decay=True),
         subject="adamw_step", reference=_library_adam, compare=_steps_hint("adamw", ADAMW_NOTE),
         arg_names=("w", "grad", "m", "v", "t", "lr", "beta1", "beta2", "eps", "weight_decay"),
         seed=81),
    Spec("nesterov_step", "nesterov_step", 2, _nesterov_cases, subject="nesterov_step",
         reference=_library_nesterov, compare=_nesterov_compare,
         arg_names=("w", "grad", "velocity", "lr", "momentum"), seed=82),
    Spec("warmup_cosine_lr", "warmup_cosine_lr", 2, _warmup_cases, subject="warmup_cosine_lr",
         judge=_warmup_judge, seed=83),
    Spec("lr_window", "lr_window", 2, _window_cases, subject="lr_window",
         observe=_observe_window, judge=_window_judge,
         arg_names=("lrs", "final_losses", "factor"), seed=84),
]
