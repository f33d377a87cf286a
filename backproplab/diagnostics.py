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
from .tensor import Tensor

__all__ = [
    "gradient_norms", "saturation_fraction", "dead_relu_fraction", "ActivationRecorder",
    "update_ratios", "find_nonfinite", "NonFiniteReport",
]


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


# ---- activations ----

def saturation_fraction(activations, kind: str = "sigmoid", eps: float = 0.01) -> float:
    """Share of units in the flat parts of a squashing function, where f' is tiny:
    sigmoid outputs y <= eps or y >= 1 - eps (f' = y(1-y) < eps); tanh outputs
    |y| >= 1 - eps (f' = 1 - y^2 < 2 eps). ``activations`` are the function's outputs."""
    a = backend.to_numpy(activations.data if isinstance(activations, Tensor) else activations)
    if kind == "sigmoid":
        return float(np.mean((a <= eps) | (a >= 1 - eps)))
    if kind == "tanh":
        return float(np.mean(np.abs(a) >= 1 - eps))
    raise ValueError(f"saturation_fraction: kind must be 'sigmoid' or 'tanh', got {kind!r}")


def dead_relu_fraction(activations) -> float:
    """Share of ReLU units that output 0 for every example of the batch: such a unit
    passes no gradient to its weights, so on this batch it cannot learn.
    ``activations``: ReLU outputs (N, D) (leading axes are examples)."""
    a = backend.to_numpy(activations.data if isinstance(activations, Tensor) else activations)
    a = a.reshape(-1, a.shape[-1])
    return float(np.mean(np.all(a <= 0, axis=0)))


def _kind(module):
    name = type(module).__name__
    return {"Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU": "relu"}.get(name)


class ActivationRecorder:
    """Record each layer's output statistics with forward hooks (no class is changed).

        with ActivationRecorder(model) as rec:
            model(x)
        rec.stats['1']     # {'mean': ..., 'std': ..., 'saturated': ...} for layer '1'
        rec.outputs['1']   # the NumPy output, e.g. for a histogram

    modules: names to watch (default: every module without children). Statistics:
    mean and std of the output; 'saturated' for Sigmoid/Tanh (saturation_fraction);
    'dead' for ReLU (dead_relu_fraction). The last forward pass wins.
    """

    def __init__(self, model, modules=None, eps: float = 0.01):
        named = dict(model.named_modules())
        if modules is None:
            modules = [n for n, m in named.items() if n and not list(m.children())]
        missing = [n for n in modules if n not in named]
        if missing:
            raise KeyError(f"ActivationRecorder: no module named {', '.join(map(repr, missing))} in the model; "
                           f"names are {', '.join(repr(n) for n in named if n)}")
        self.model, self.names, self.eps = model, list(modules), eps
        self.stats, self.outputs, self._handles = OrderedDict(), OrderedDict(), []
        self._modules = {n: named[n] for n in self.names}

    def _hook(self, name):
        def record(module, inputs, output):
            a = backend.to_numpy(output.data).astype(np.float64, copy=False)
            stats = {"mean": float(a.mean()), "std": float(a.std())}
            kind = _kind(module)
            if kind in ("sigmoid", "tanh"):
                stats["saturated"] = saturation_fraction(a, kind, self.eps)
            elif kind == "relu":
                stats["dead"] = dead_relu_fraction(a)
            self.stats[name] = stats
            self.outputs[name] = a
        return record

    def __enter__(self):
        self.stats.clear()
        self.outputs.clear()
        self._handles = [m.register_forward_hook(self._hook(n)) for n, m in self._modules.items()]
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []
        return False


# ---- updates ----

def update_ratios(model, optimizer) -> "OrderedDict[str, float]":
    """Take one ``optimizer.step()`` and return ``{name: ||W_after - W_before|| / ||W_before||}``.

    A rule of thumb (Karpathy's): around 1e-3 is healthy; 1e-1 means steps as big
    as the weights (lower the learning rate); 1e-6 means the layer barely moves.
    Parameters without a gradient report 0; a zero weight reports inf if it moved.
    """
    named = list(model.named_parameters())
    before = {name: np.array(backend.to_numpy(p.data), dtype=np.float64) for name, p in named}
    optimizer.step()
    ratios = OrderedDict()
    for name, p in named:
        delta = np.sqrt(np.sum((backend.to_numpy(p.data).astype(np.float64) - before[name]) ** 2))
        size = np.sqrt(np.sum(before[name] ** 2))
        ratios[name] = float(delta / size) if size > 0 else (0.0 if delta == 0 else float("inf"))
    return ratios


# ---- nan / inf ----

class NonFiniteReport:
    """Where non-finite values first appeared: ``forward`` (the first module, in the
    order they ran, whose output holds nan/inf), ``backward`` (the first module, in
    backward order, whose output gradient does) and ``parameters`` (names of
    parameters with a non-finite gradient). ``bool(report)`` is True if anything was found."""

    def __init__(self, forward=None, backward=None, parameters=(), input_nonfinite=False, loss=None):
        self.forward, self.backward, self.parameters = forward, backward, list(parameters)
        self.input_nonfinite, self.loss = input_nonfinite, loss

    def __bool__(self):
        return bool(self.input_nonfinite or self.forward or self.backward or self.parameters)

    def __str__(self):
        if not self:
            return "no nan or inf found in the forward or backward pass"
        lines = []
        if self.input_nonfinite:
            lines.append("the input itself contains nan/inf")
        if self.forward:
            lines.append(f"forward: the first non-finite output comes from layer '{self.forward}'")
        if self.backward:
            lines.append(f"backward: the first non-finite gradient reaches the output of layer '{self.backward}'")
        if self.parameters:
            lines.append(f"parameters with non-finite gradients: {', '.join(self.parameters)}")
        return "; ".join(lines)

    __repr__ = __str__


def _finite(array) -> bool:
    return bool(np.isfinite(backend.to_numpy(array)).all())


def find_nonfinite(model, x, loss_fn=None, target=None) -> NonFiniteReport:
    """Run ``model(x)`` with hooks on every module and name the first layer whose
    output holds nan/inf. If the forward pass is finite and ``loss_fn`` and
    ``target`` are given, also run the backward pass of ``loss_fn(model(x), target)``
    and name the first layer (in backward order) whose output gradient is
    non-finite: the layer consuming that output produced it. Parameters keep the
    ``.grad`` they had: the check's own gradients are removed afterwards."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    order, handles = [], []

    def hook_for(name):
        def hook(module, inputs, output):
            if isinstance(output, Tensor):
                if output.requires_grad:
                    output.retain_grad()
                order.append((name or f"{type(module).__name__} (the model's output)", output))
        return hook

    for name, module in model.named_modules():
        handles.append(module.register_forward_hook(hook_for(name)))
    saved_grads = {id(p): p.grad for p in model.parameters()}
    try:
        with np.errstate(all="ignore"):  # nan/inf are what we are looking for: no warnings
            for p in model.parameters():
                p.grad = None
            out = model(x)
            forward = next((name for name, t in order if not _finite(t.data)), None)
            backward, params, loss_value = None, [], None
            if forward is None and loss_fn is not None and target is not None and out.requires_grad:
                loss = loss_fn(out, target)
                loss_value = float(loss.item())
                loss.backward()
                backward = next((name for name, t in reversed(order)
                                 if t.grad is not None and not _finite(t.grad)), None)
                params = [n for n, p in model.named_parameters() if p.grad is not None and not _finite(p.grad)]
        return NonFiniteReport(forward, backward, params, not _finite(x.data), loss_value)
    finally:
        for h in handles:
            h.remove()
        for p in model.parameters():
            p.grad = saved_grads[id(p)]
