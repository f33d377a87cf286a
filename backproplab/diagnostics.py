"""Looking inside a network while it trains: the tools of the vanishing-gradient lesson.

    gradient_norms(model)            ||dL/dW|| per parameter, after backward()
    ActivationRecorder(model)        mean, std, saturation, dead units per layer (forward hooks)
    update_ratios(model, optimizer)  ||delta W|| / ||W|| per parameter around one step
    find_nonfinite(model, x, ...)    the first layer whose output (or gradient) is nan/inf

Everything is read off the arrays with NumPy after the fact, so nothing here
changes what the network computes.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from . import backend

__all__ = ["gradient_norms"]


def _norm(array) -> float:
    a = backend.to_numpy(array).astype(np.float64, copy=False)
    return float(np.sqrt(np.sum(a * a)))


def gradient_norms(model) -> "OrderedDict[str, float]":
    """``{parameter name: ||grad||_2}`` for every parameter, in the model's order.

    Call after ``loss.backward()``. A parameter without a gradient (not used in
    the forward pass, or gradients zeroed) gets ``nan``, so it stands out in a plot.
    In a deep sigmoid network the norms of '0.weight' are orders of magnitude
    below those of the last layer: the gradient vanishes on its way down.
    """
    return OrderedDict(
        (name, float("nan") if p.grad is None else _norm(p.grad))
        for name, p in model.named_parameters()
    )
