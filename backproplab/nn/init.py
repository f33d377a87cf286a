"""Weight initialisation: fill a tensor in place, reproducibly, and return it.

Every random initialiser takes an explicit generator ``rng`` (a
``numpy.random.Generator``, or ``backproplab.backend.random_generator(seed,
device)`` for a GPU), so a run with the same seed gives the same weights.

Fans follow this library's layout ``W: (D_in, D_out)`` (``Y = X W + b``): for a
2-D weight ``fan_in = shape[0]`` and ``fan_out = shape[1]``, the opposite of
PyTorch's ``(out, in)`` layout but the same numbers for the same layer.

    xavier (Glorot, 2010):   Var(w) = gain^2 * 2 / (fan_in + fan_out)
    kaiming (He, 2015):      Var(w) = gain^2 / fan_in      (gain sqrt(2) for ReLU)
    lecun (LeCun, 1998):     Var(w) = 1 / fan_in
A uniform(-a, a) distribution has variance a^2 / 3, so a = sqrt(3 Var).
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._device import array_like

__all__ = [
    "calculate_gain", "fans", "zeros_", "constant_", "normal_", "uniform_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "lecun_normal_", "random_like", "default_rng",
]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance steady through a layer followed by
    ``nonlinearity``: 1 for linear/sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + slope^2)) for leaky_relu (slope = ``param``, default 0.01)."""
    gains = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0)}
    if nonlinearity in gains:
        return gains[nonlinearity]
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(
        f"calculate_gain: unknown nonlinearity {nonlinearity!r}; "
        f"use one of {sorted(gains) + ['leaky_relu']}"
    )


def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape``.

    A matrix is (D_in, D_out), as ``nn.Linear`` stores it: (shape[0], shape[1]). A
    convolution's weight is PyTorch's (C_out, C_in / groups, kH, kW, ...): each output
    sees C_in / groups * kH * kW inputs, each input feeds C_out * kH * kW outputs.
    """
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(
            f"fan_in and fan_out need a weight with at least 2 axes, got shape {shape} "
            "(initialise biases with zeros_, constant_, normal_ or uniform_)"
        )
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = 1
    for n in shape[2:]:
        receptive *= n
    return shape[1] * receptive, shape[0] * receptive


def random_like(rng, kind: str, shape, like):
    """Standard-normal (``kind='normal'``) or uniform [0, 1) (``'uniform'``) numbers of
    ``shape`` from ``rng``, as an array of ``like``'s library, device and dtype."""
    if rng is None or not hasattr(rng, "random"):
        raise TypeError(
            f"expected a random generator (numpy.random.default_rng(seed) or "
            f"backproplab.backend.random_generator(seed, device)), got {type(rng).__name__}"
        )
    shape = tuple(shape)
    sample = rng.standard_normal(shape) if kind == "normal" else rng.random(shape)
    xp = backend.namespace(like)
    sample = array_like(sample, like)
    return xp.astype(sample, like.dtype) if sample.dtype != like.dtype else sample


def _check(tensor, what):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what}: expected a Tensor or Parameter, got {type(tensor).__name__}")


def _fill(tensor, values):
    # Replaces the data array (same library, device, dtype); the graph is not involved.
    tensor.data = values
    return tensor


def zeros_(tensor):
    """w = 0."""
    _check(tensor, "zeros_")
    return _fill(tensor, backend.namespace(tensor.data).zeros_like(tensor.data))


def constant_(tensor, value: float):
    """w = value."""
    _check(tensor, "constant_")
    return _fill(tensor, backend.namespace(tensor.data).full_like(tensor.data, value))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, *, rng):
    """w ~ N(mean, std^2)."""
    _check(tensor, "normal_")
    return _fill(tensor, mean + std * random_like(rng, "normal", tensor.shape, tensor.data))


def uniform_(tensor, a: float = 0.0, b: float = 1.0, *, rng):
    """w ~ U(a, b)."""
    _check(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"uniform_: need a <= b, got a={a}, b={b}")
    return _fill(tensor, a + (b - a) * random_like(rng, "uniform", tensor.shape, tensor.data))


def xavier_uniform_(tensor, gain: float = 1.0, *, rng):
    """w ~ U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    fan_in, fan_out = fans(tensor.shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, rng=rng)


def xavier_normal_(tensor, gain: float = 1.0, *, rng):
    """w ~ N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(tensor.shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng=rng)


def _kaiming_std(shape, mode, nonlinearity, a):
    fan_in, fan_out = fans(shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "relu", *, rng):
    """w ~ U(-b, b), b = gain * sqrt(3 / fan) (He et al., 2015); gain sqrt(2) for relu,
    sqrt(2 / (1 + a^2)) for leaky_relu with slope ``a``."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor.shape, mode, nonlinearity, a)
    return uniform_(tensor, -bound, bound, rng=rng)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "relu", *, rng):
    """w ~ N(0, std^2), std = gain / sqrt(fan) (He et al., 2015)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor.shape, mode, nonlinearity, a), rng=rng)


def lecun_normal_(tensor, *, rng):
    """w ~ N(0, 1 / fan_in) (LeCun et al., 1998; the init SELU networks assume)."""
    fan_in, _ = fans(tensor.shape)
    return normal_(tensor, 0.0, 1.0 / math.sqrt(fan_in), rng=rng)


def default_rng(rng):
    """``rng`` itself, or a fresh unseeded ``numpy.random.default_rng()`` when None
    (then results differ between runs: pass a seeded generator to reproduce them)."""
    return np.random.default_rng() if rng is None else rng
