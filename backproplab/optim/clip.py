"""Gradient clipping: call between ``loss.backward()`` and ``optimizer.step()``."""

from __future__ import annotations

import math

from .. import backend

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(params):
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(params, max_norm: float) -> float:
    """Scale all gradients together so that their global norm
    ||g|| = sqrt(sum over every parameter and entry of g^2) is at most ``max_norm``.

    The direction of the step is kept; only its length is capped. Returns the
    norm before clipping (a number worth logging: spikes announce divergence).
    A non-finite norm (nan/inf gradients) is returned without touching the gradients.
    """
    if max_norm <= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be > 0, got {max_norm}")
    params = list(params)
    grads = _grads(params)
    if not grads:
        return 0.0
    total = 0.0
    for g in grads:
        xp = backend.namespace(g)
        total += float(xp.sum(g * g))
    norm = math.sqrt(total)
    if math.isfinite(norm) and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for p in params:
            # Assigned, not `*=`: a 0-d gradient may be a NumPy scalar, which has no
            # in-place multiply and would stay unclipped.
            if p.grad is not None:
                p.grad = p.grad * scale
    return norm


def clip_grad_value_(params, clip_value: float) -> None:
    """Clip every gradient entry to [-clip_value, clip_value] (in place)."""
    if clip_value <= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be > 0, got {clip_value}")
    for p in params:
        if p.grad is not None:
            xp = backend.namespace(p.grad)
            p.grad = xp.clip(p.grad, -clip_value, clip_value)
