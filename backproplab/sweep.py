"""Many small training runs at once: learning-rate sweeps, seeds and restarts.

Every update rule of ``backproplab.optim`` is elementwise: each weight's step depends on
its own gradient history only. So many independent runs can share one array, stacked
along leading axes (learning rates x seeds x weights), and take their steps together in a
few NumPy calls instead of one optimizer object per run. Lesson 8 measures the optimisers
this way; lesson 9 uses it for restarts of one small network.

    lrs = np.logspace(-4, 1, 21)
    w = np.broadcast_to(w0, (len(lrs),) + w0.shape).copy()    # (L, S, D): runs x weights
    state = {}
    for t in range(steps):
        loss, g = loss_and_grad(w)
        w = update("adam", w, g, state, lr=lrs[:, None, None])

``update`` is the same arithmetic, in the same order, as the optimizer classes (the tests
compare them step by step), with ``lr`` a number or an array that broadcasts against w.

``mlp_init`` and ``mlp_loss_and_grad`` are lesson 5's two-layer network, Linear -> tanh ->
Linear -> softmax cross-entropy, on flat weight vectors theta (..., P), batched over the
leading axes; ``mlp_init`` copies the weights of ``nn.Linear`` layers drawn from a seed,
so a run here starts where the same ``nn.Sequential`` would.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RULES", "HYPERPARAMETERS", "update", "train_runs", "steps_to_stay_below",
           "lr_window", "mlp_sizes", "mlp_init", "mlp_unflatten", "mlp_loss_and_grad"]

# The defaults of the optimizer classes (PyTorch's).
HYPERPARAMETERS = {
    "sgd": {"weight_decay": 0.0},
    "momentum": {"momentum": 0.9, "weight_decay": 0.0},
    "nesterov": {"momentum": 0.9, "weight_decay": 0.0},
    "adagrad": {"eps": 1e-10, "weight_decay": 0.0},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0},
    "adam": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0},
    "adamw": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01},
}
RULES = tuple(HYPERPARAMETERS)


def update(rule, w, g, state, lr, **hyperparameters):
    """One step of ``rule`` on weights w with gradient g; returns the new weights.

    state: a dict, empty before the first step, that this function fills and updates
    (velocity, running averages, step count t). lr and weight_decay: numbers, or arrays
    broadcasting against w (one per run). Hyperparameters default to those of the classes.
    """
    if rule not in HYPERPARAMETERS:
        raise ValueError(f"update: unknown rule {rule!r}; choose one of {', '.join(RULES)}")
    hp = dict(HYPERPARAMETERS[rule])
    unknown = set(hyperparameters) - set(hp)
    if unknown:
        raise ValueError(f"update: {rule} has no hyperparameter {', '.join(sorted(unknown))}")
    hp.update(hyperparameters)
    decay = hp["weight_decay"]                              # a number, or an array (one per run)
    if np.any(decay) and rule != "adamw":
        g = g + decay * w                                   # L2: the penalty's gradient
    if rule == "sgd":
        return w - lr * g
    if rule in ("momentum", "nesterov"):
        mu = hp["momentum"]
        v = state["velocity"] = g * 1 if "velocity" not in state else mu * state["velocity"] + g
        return w - lr * (g + mu * v if rule == "nesterov" else v)
    if rule == "adagrad":
        s = state["sum_sq"] = state.get("sum_sq", 0.0) + g * g
        return w - lr * g / (np.sqrt(s) + hp["eps"])
    if rule == "rmsprop":
        a = hp["alpha"]
        s = state["mean_sq"] = a * state.get("mean_sq", 0.0) + (1 - a) * g * g
        return w - lr * g / (np.sqrt(s) + hp["eps"])
    b1, b2 = hp["betas"]
    if rule == "adamw" and np.any(decay):
        w = w * (1 - lr * decay)                            # decoupled: outside m and v
    t = state["t"] = state.get("t", 0) + 1
    m = state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
    v = state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + hp["eps"])


def train_runs(rule, lrs, w0, loss_and_grad, steps, lr_schedule=None, **hyperparameters):
    """Run ``rule`` from w0 (S, D) (S runs, seeds) once per learning rate in ``lrs``.

    loss_and_grad(w, t) -> (loss (L, S), gradient (L, S, D)) for w (L, S, D) at step t.
    lr_schedule: an optional function t -> factor multiplying every rate at step t.
    Returns the losses (L, S, steps + 1), the last after the last step, and the final
    weights (L, S, D). Runs that diverge continue as inf or nan (no warnings).
    """
    lrs = np.asarray(lrs, dtype=float)
    w0 = np.asarray(w0, dtype=float)
    if w0.ndim != 2:
        raise ValueError(f"train_runs: w0 must be (runs, weights), got shape {w0.shape}")
    lr = lrs.reshape(-1, 1, 1)
    w = np.broadcast_to(w0, (lr.shape[0],) + w0.shape).copy()
    losses = np.empty((lr.shape[0], w0.shape[0], steps + 1))
    state = {}
    with np.errstate(all="ignore"):
        for t in range(steps):
            losses[:, :, t], g = loss_and_grad(w, t)
            factor = 1.0 if lr_schedule is None else lr_schedule(t)
            w = update(rule, w, g, state, lr * factor, **hyperparameters)
        losses[:, :, steps] = loss_and_grad(w, steps)[0]
    return losses, w


def steps_to_stay_below(losses, target):
    """The first step from which the loss stays at or below ``target`` until the last
    step recorded (inf where it never does). losses (..., T) -> (...,) floats."""
    losses = np.asarray(losses, dtype=float)
    above = ~(losses <= target)                   # nan counts as above
    T = losses.shape[-1]
    last_above = np.where(above.any(axis=-1), T - 1 - np.argmax(above[..., ::-1], axis=-1), -1)
    return np.where(last_above < T - 1, last_above + 1.0, np.inf)


def lr_window(lrs, final_losses, factor=2.0):
    """The learning rates whose final loss is within ``factor`` of the best one.

    lrs: increasing rates (L,); final_losses (L,), nan or inf for runs that diverged
    (they never count). Returns (lowest, highest) of the contiguous run of good rates
    around the best one: a rate is good when its loss is <= factor x the best loss.
    The window's width in decades is log10(highest / lowest).
    """
    lrs = np.asarray(lrs, dtype=float)
    losses = np.asarray(final_losses, dtype=float)
    if lrs.shape != losses.shape or lrs.ndim != 1 or lrs.size == 0:
        raise ValueError(f"lr_window: lrs {lrs.shape} and final_losses {losses.shape} must be "
                         f"one non-empty shape (L,)")
    finite = np.isfinite(losses)
    if not finite.any():
        raise ValueError("lr_window: every run diverged (no finite loss)")
    best = int(np.argmin(np.where(finite, losses, np.inf)))
    good = finite & (losses <= factor * losses[best])
    low = high = best
    while low > 0 and good[low - 1]:
        low -= 1
    while high < lrs.size - 1 and good[high + 1]:
        high += 1
    return float(lrs[low]), float(lrs[high])


# ---- lesson 5's two-layer network on flat weight vectors ----

def mlp_sizes(d_in, hidden, d_out):
    """[(name, shape)] of the flat vector's pieces, in nn.Sequential's parameter order."""
    return [("W1", (d_in, hidden)), ("b1", (hidden,)), ("W2", (hidden, d_out)),
            ("b2", (d_out,))]


def mlp_unflatten(theta, sizes):
    """{name: view of theta (..., P) as (..., *shape)} for the pieces in ``sizes``
    (theta an array, or a Tensor for a graph through the pieces)."""
    theta = theta if hasattr(theta, "shape") else np.asarray(theta)  # arrays or Tensors
    total = sum(int(np.prod(shape)) for _, shape in sizes)
    if theta.shape[-1] != total:
        raise ValueError(f"mlp_unflatten: theta has {theta.shape[-1]} weights, sizes need {total}")
    out, start = {}, 0
    for name, shape in sizes:
        n = int(np.prod(shape))
        out[name] = theta[..., start:start + n].reshape(theta.shape[:-1] + tuple(shape))
        start += n
    return out


def mlp_init(d_in, hidden, d_out, seeds):
    """(S, P): for each seed the weights of nn.Linear(d_in, hidden), nn.Linear(hidden,
    d_out) drawn from numpy.random.default_rng(seed), flattened."""
    from . import nn

    rows = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        first, second = nn.Linear(d_in, hidden, rng=rng), nn.Linear(hidden, d_out, rng=rng)
        rows.append(np.concatenate([p.numpy().ravel() for layer in (first, second)
                                    for p in layer.parameters()]))
    return np.array(rows)


def mlp_loss_and_grad(theta, x, y, sizes):
    """Mean softmax cross-entropy of Linear -> tanh -> Linear and its gradient.

    theta (..., P) weights of many runs; x (N, D_in) or (..., N, D_in); y (N,) integer
    labels. Returns loss (...,) and dL/dtheta (..., P), by lesson 5's backward:
    dZ2 = (P - T)/N, dW2 = H^T dZ2, dH = dZ2 W2^T, dZ1 = dH (1 - H^2), dW1 = X^T dZ1.
    """
    p = mlp_unflatten(theta, sizes)
    h = np.tanh(x @ p["W1"] + p["b1"][..., None, :])
    z = h @ p["W2"] + p["b2"][..., None, :]
    z = z - z.max(axis=-1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    n = y.shape[0]
    loss = -np.take_along_axis(log_probs, np.broadcast_to(y[:, None], log_probs.shape[:-1] + (1,)),
                               axis=-1)[..., 0].mean(axis=-1)
    dz = np.exp(log_probs)
    np.put_along_axis(dz, np.broadcast_to(y[:, None], dz.shape[:-1] + (1,)),
                      np.take_along_axis(dz, np.broadcast_to(y[:, None], dz.shape[:-1] + (1,)),
                                         axis=-1) - 1.0, axis=-1)
    dz /= n
    dh = (dz @ np.swapaxes(p["W2"], -1, -2)) * (1 - h * h)
    xt = np.swapaxes(x, -1, -2)
    grads = {"W1": xt @ dh, "b1": dh.sum(axis=-2), "W2": np.swapaxes(h, -1, -2) @ dz,
             "b2": dz.sum(axis=-2)}
    lead = np.broadcast_shapes(theta.shape[:-1], grads["W1"].shape[:-2])
    flat = [np.broadcast_to(grads[name], lead + tuple(shape)).reshape(lead + (-1,))
            for name, shape in sizes]
    return loss, np.concatenate(flat, axis=-1)
