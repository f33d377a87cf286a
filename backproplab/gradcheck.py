"""Gradient checking: compare backprop's gradients with central differences.

For a function f with inputs x and a random upstream gradient v, the scalar
L(x) = sum(v * f(x)) has dL/dx_i = sum(v * df/dx_i), which backprop computes in
one backward pass. Central differences estimate the same number from two
forward passes,

    dL/dx_i  ~  (L(x + eps e_i) - L(x - eps e_i)) / (2 eps),

with an error of order eps^2 (truncation) plus machine-epsilon / eps (rounding).
In float64 the best eps is about 1e-6 and the estimate is good to ~1e-9;
float32 rounding swamps it, which is why checks run in float64.
"""

from __future__ import annotations

import numpy as np

from . import backend
from .autodiff import no_grad
from .tensor import Tensor

__all__ = ["gradcheck", "numerical_gradient", "GradcheckError", "TOLERANCES"]

# dtype -> (eps, rtol, atol). float32 checks are coarse: use them to smoke-test a
# float32 code path, never to prove a backward correct.
TOLERANCES = {
    "float64": (1e-6, 1e-5, 1e-7),
    "float32": (1e-2, 2e-2, 2e-3),
}


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with the numerical one."""


def numerical_gradient(f, x, upstream=None, eps=1e-6):
    """Central-difference estimate of d(sum(upstream * f(x)))/dx for a NumPy array x.

    ``f`` maps an array to an array (or number); ``x`` is never modified: each
    perturbation is made on a private float64 copy.
    """
    x = np.array(x, dtype=np.float64)  # private copy
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = np.asarray(f(x.copy()), dtype=np.float64)
        flat[i] = old - eps
        minus = np.asarray(f(x.copy()), dtype=np.float64)
        flat[i] = old
        diff = plus - minus
        if upstream is not None:
            diff = diff * upstream
        grad.reshape(-1)[i] = np.sum(diff) / (2 * eps)
    return grad


def gradcheck(fn, *inputs, dtype="float64", eps=None, rtol=None, atol=None, seed=0):
    """Check backprop's gradients of ``fn(*inputs)`` against central differences.

    inputs: Tensors or arrays. Floating Tensors with requires_grad=True (and all
        floating arrays) are checked; other inputs are passed through unchanged.
        The caller's tensors and arrays are never modified: the check works on
        copies converted to ``dtype`` on the same device.
    fn: maps the inputs (as Tensors) to a Tensor of any shape.
    dtype: 'float64' (default; a real check) or 'float32' (a coarse smoke test).

    Returns True, or raises GradcheckError naming the input, the index of the worst
    entry, the numerical and analytic values and how many entries differ.
    """
    if dtype not in TOLERANCES:
        raise ValueError(f"gradcheck: dtype must be one of {sorted(TOLERANCES)}, got {dtype!r}")
    d_eps, d_rtol, d_atol = TOLERANCES[dtype]
    eps, rtol, atol = eps or d_eps, rtol or d_rtol, atol or d_atol

    tensors, checked = [], []
    for i, x in enumerate(inputs):
        is_tensor = isinstance(x, Tensor)
        data = x.data if is_tensor else x
        if not hasattr(data, "dtype") or not backend.is_floating(data.dtype):
            tensors.append(x)
            continue
        wants = x.requires_grad if is_tensor else True
        xp = backend.namespace(data)
        copy = xp.astype(data, backend.resolve_dtype(xp, dtype, "gradcheck"), copy=True)
        tensors.append(Tensor(copy, requires_grad=wants))
        if wants:
            checked.append(i)
    if not checked:
        raise ValueError("gradcheck: no floating-point input requires grad, so there is nothing to check")

    out = fn(*tensors)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    xp = backend.namespace(out.data)
    dev = backend.device_of(out.data)
    rng = np.random.default_rng(seed)
    upstream_np = rng.standard_normal(out.shape)
    upstream = xp.asarray(upstream_np, dtype=out.dtype, device=dev)
    if out.requires_grad:
        out.backward(upstream)

    def loss():
        with no_grad():
            value = fn(*tensors)
        return float(np.sum(backend.to_numpy(value.data).astype(np.float64) * upstream_np))

    for i in checked:
        t = tensors[i]
        analytic = t.grad
        analytic = np.zeros(t.shape) if analytic is None else backend.to_numpy(analytic).astype(np.float64)
        numeric = np.zeros(t.shape)
        original = t.data
        flat = xp.reshape(xp.asarray(original, copy=True), (-1,))
        for j in range(t.size):
            old = float(flat[j])
            flat[j] = old + eps
            t.data = xp.reshape(flat, t.shape)
            plus = loss()
            flat[j] = old - eps
            t.data = xp.reshape(flat, t.shape)
            minus = loss()
            flat[j] = old
            numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        t.data = original
        _compare(i, t.shape, numeric, analytic, rtol, atol)
    return True


def _compare(i, shape, numeric, analytic, rtol, atol):
    bad = ~(np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric))
    if not bad.any():
        return
    rel = np.abs(analytic - numeric) / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1e-12)
    worst = np.unravel_index(np.argmax(np.where(bad, rel, -1)), shape) if shape else ()
    raise GradcheckError(
        f"gradcheck failed for input {i} (shape {shape}): {int(bad.sum())} of {bad.size} "
        f"gradient entries differ; worst at index {tuple(int(k) for k in worst)}: numerical "
        f"{numeric[worst]:.6g}, analytic {analytic[worst]:.6g} (relative error {rel[worst]:.2e})"
    )
